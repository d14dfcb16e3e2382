"""The source changes under a running loop: files deleted, rows removed or edited, then put back.

A sample its source no longer holds leaves the pool, the test split and the export, and is
asked about no more; its annotations stay in the append-only log, and put back it returns.
Found before under another `acquire.source`, it is never judged by this one.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml

from active_learning.round import run_round, selectable
from dataprep.core import model_store, store
from dataprep.core.acquire import acquire
from dataprep.core.errors import GateFailed
from dataprep.core.export import export, lineage
from dataprep.core.features import build_features
from dataprep.core.project import open_project
from dataprep.demo.examples import image_folder, tabular_csv, text_csv
from dataprep.status import status
from labeling.backend import pull, push
from labeling.validate import validate


def _round(p):
    pull(p)
    try:
        validate(p)
    except GateFailed:
        pass
    run_round(p)
    push(p)


def _looped(tmp_path, src, rounds: int):
    """A project on `src` after `rounds` rounds of four honest simulated annotators."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "acquire": {"source": str(src)}, "select": {"batch_size": 20, "cold_start_min_labels": 10},
        "label": {"gold_share": 0.0},
        "simulate": {"annotators": [{"name": f"h{i}", "profile": "good", "accuracy": 0.95} for i in range(4)]}}))
    p = open_project(tmp_path / "params.yaml")
    acquire(p)
    build_features(p)
    for _ in range(rounds):
        _round(p)
    return p


def _take_out(src, man: pd.DataFrame, gone: pd.DataFrame, kind: str, edit: str | None = None) -> None:
    """Delete the files of `gone` (images) or their rows (tables); `edit`: one row's new text."""
    if kind == "images":
        for source in gone["source"]:
            (src.parent / source).unlink()
        return
    rows = {int(s.rsplit(":", 1)[1]) - 1 for s in gone["source"]}
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    if edit is not None:                  # an edited row: its old text is gone, the new one is a new sample
        first = min(rows)
        df.loc[first, "text"] = edit
        rows -= {first}
    df.drop(index=sorted(rows)).to_csv(src, index=False)


@pytest.mark.parametrize("kind", ["images", "text", "table"])
def test_a_sample_gone_from_the_source_leaves_pool_test_and_export_and_comes_back(tmp_path, kind):
    src = {"images": lambda: image_folder(tmp_path / "img", n_per_class=30),
           "text": lambda: text_csv(tmp_path / "t.csv", n_per_class=30),
           "table": lambda: tabular_csv(tmp_path / "t.csv", n_per_class=30)}[kind]()
    p = _looped(tmp_path, src, rounds=3)
    resting = open_project(tmp_path / "params.yaml", {"simulate.active": False})   # annotators on a break
    pull(resting)                         # the mirror knows round 3's tasks; nobody has answered them
    validate(p)
    export(p)
    kept_copy = tmp_path / "copy"
    shutil.copytree(src, kept_copy) if src.is_dir() else shutil.copy(src, kept_copy)
    man = store.read_table(p.data, "manifest")
    labels = store.read_table(p.data, "labels")
    labeled = man[man["sample_id"].isin(labels["sample_id"])].head(4)
    tested = man[man["split"] == "test"].head(2)
    fresh = man[store.in_split(man, "pool")].set_index("sample_id").loc[list(selectable(p, man))].reset_index().head(2)
    tasks = store.read_table(p.data, "tasks")
    open_task = tasks[~tasks["task_id"].isin(store.read_table(p.data, "annotations")["task_id"])].sort_values(
        "task_id").iloc[-1]
    assert open_task["task_id"] == tasks["task_id"].max()     # the newest task: its id must never be given again
    queued = man[man["sample_id"] == open_task["sample_id"]]
    gone = pd.concat([labeled, tested, fresh, queued])
    before = store.read_table(p.data, "annotations")
    assert set(labeled["sample_id"]) <= set(lineage(p)["sample_id"])

    _take_out(src, man, gone, kind, edit="an edited text about nothing in particular" if kind == "text" else None)
    s = acquire(p)
    man = store.read_table(p.data, "manifest")
    out = set(man.loc[man["gone_at"].notna(), "sample_id"])
    assert out == set(gone["sample_id"]), (s, gone)
    assert s["gone"] == len(gone) and s["samples"] == len(man) - len(gone)
    assert any(f"{len(gone)} samples are no longer in the source" in w for w in s["warnings"]), s["warnings"]
    if kind == "text":                    # the edited row is a new sample
        assert s["new_samples"] == 1 and (man["text"] == "an edited text about nothing in particular").any()

    build_features(p)
    pull(resting)
    validate(p)
    # its unanswered task is taken off the work: no annotator spends time on, or sees, a deleted file
    withdrew = push(p)                    # the last selection again: nothing new to send
    assert withdrew["withdrawn"] == 1 and withdrew["pushed"] == 0, withdrew
    assert open_task["task_id"] not in set(store.read_table(p.work / "simulated", "tasks")["task_id"])
    assert pull(resting)["withdrawn_tasks"] == 1      # the backend no longer holds it: it leaves the mirror
    run_round(p)
    push(p)                               # new tasks: none takes the withdrawn (highest) task's id
    assert open_task["task_id"] not in set(store.read_table(p.work / "simulated", "tasks")["task_id"])
    pull(p)
    assert open_task["task_id"] not in set(store.read_table(p.data, "annotations")["task_id"])
    validate(p)
    export(p)
    # asked about no more, learned from no more, scored no more, exported no more
    assert not out & set(selectable(p, man))
    sel = store.read_table(p.data, "selection")
    assert not out & set(sel.loc[sel["round"] == sel["round"].max(), "sample_id"])
    assert not out & set(store.read_table(p.data, "requests")["sample_id"])
    labels = store.read_table(p.data, "labels")
    assert not out & set(model_store.training_labels(labels, man, store.read_table(p.data, "requests")).index)
    assert not out & set(pd.read_csv(p.reports / "test_predictions.csv")["sample_id"])
    assert not out & set(pd.read_parquet(tmp_path / "export" / "lineage.parquet")["sample_id"])
    # nothing is lost: their annotations stay in the log, and status says where they went
    after = store.read_table(p.data, "annotations")
    assert set(before["annotation_id"]) <= set(after["annotation_id"])
    info = status(p)
    assert info["gone"] == len(gone) and info["samples"] == len(man) - len(gone)
    assert sum(info["states"].values()) == int(store.in_split(man, "pool").sum())

    # put back, they return, with their labels, to the split they had
    shutil.rmtree(src) if src.is_dir() else src.unlink()
    shutil.copytree(kept_copy, src) if kept_copy.is_dir() else shutil.copy(kept_copy, src)
    s = acquire(p)
    again = store.read_table(p.data, "manifest")
    assert again.loc[again["sample_id"].isin(out), "gone_at"].isna().all() and s["back"] == len(gone), s
    # the edited text is now what the source no longer holds
    assert again["gone_at"].notna().sum() == (kind == "text") == s["gone"]
    assert again.set_index("sample_id").loc[list(out), "split"].tolist() == gone["split"].tolist()
    assert set(labeled["sample_id"]) <= set(lineage(p)["sample_id"])
    # the sample whose open task was withdrawn left the mirror's tasks at the pull after: back, it
    # is an unlabeled pool sample that can be picked and sent again, on a task of a new id
    assert open_task["sample_id"] not in set(store.read_table(p.data, "tasks")["sample_id"])
    assert open_task["sample_id"] in set(selectable(p, again))
    states = store.sample_states(p.data).set_index("sample_id")["state"]
    assert states[open_task["sample_id"]] == "unlabeled"


def test_another_source_does_not_judge_what_an_earlier_one_brought(tmp_path):
    """Pointing acquire.source at a new folder adds its images; the old ones stay in."""
    first = image_folder(tmp_path / "week1", n_per_class=10)
    second = image_folder(tmp_path / "week2", n_per_class=10, seed=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(first)}}))
    acquire(open_project(tmp_path / "params.yaml"))
    s = acquire(open_project(tmp_path / "params.yaml", {"acquire.source": str(second)}))
    man = store.read_table(tmp_path / "data", "manifest")
    assert s["gone"] == 0 and man["gone_at"].isna().all() and s["new_samples"] > 0, s
    # week 2 does not hold week 1's images: judged by week 2, they would all be gone
    firsts = man.loc[man["source"].str.startswith("week1"), "sources"].map(json.loads)
    assert len(firsts) and not any(any(p.startswith("week2") for p in srcs) for srcs in firsts)


def test_a_changed_test_fraction_is_said_to_split_only_new_samples(tmp_path):
    """acquire.test_fraction raised mid-loop changed nothing without a word: the acquired samples
    keep their split (moving a test sample into training would inflate the score)."""
    src = text_csv(tmp_path / "t.csv", n_per_class=20)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(src), "test_fraction": 0.3}}))
    first = acquire(open_project(tmp_path / "params.yaml"))
    split = store.read_table(tmp_path / "data", "manifest")["split"]
    assert not any("test_fraction" in w for w in first["warnings"])
    s = acquire(open_project(tmp_path / "params.yaml", {"acquire.test_fraction": 0.5}))
    assert any(w.startswith("acquire.test_fraction changed from 0.3 to 0.5: it splits the samples acquired from "
                            "now on; the 80 acquired before keep their split") for w in s["warnings"]), s["warnings"]
    assert store.read_table(tmp_path / "data", "manifest")["split"].equals(split)
    again = acquire(open_project(tmp_path / "params.yaml", {"acquire.test_fraction": 0.5}))
    assert not any("test_fraction" in w for w in again["warnings"])        # said once, at the change


def test_a_class_renamed_in_the_source_keeps_the_labels_given_under_label_rename(tmp_path):
    """A class folder renamed mid-loop (bar -> bars): the labels people gave under the old name
    became unknown labels, quarantined. acquire now names the rename and label.rename keeps them;
    the annotation log keeps what was given."""
    src = image_folder(tmp_path / "img", n_per_class=20)
    p = _looped(tmp_path, src, rounds=2)
    pull(p)
    validate(p)
    old = sorted(d.name for d in src.iterdir())[0]
    before = store.read_table(p.data, "labels")
    n_old = int((before["label"] == old).sum())
    assert n_old > 0
    (src / old).rename(src / f"{old}s")
    s = acquire(p)
    assert any(f"every {old!r} is now '{old}s': if the class was renamed, set label.rename: {{{old}: {old}s}}" in w
               for w in s["warnings"]), s["warnings"]
    validate(p)
    quar = store.read_table(p.data, "quarantine")
    assert len(store.read_table(p.data, "labels")) < len(before) and len(quar[quar["check"] == "schema"])
    p = open_project(tmp_path / "params.yaml", {"label.rename": {old: f"{old}s"}})
    validate(p)
    after = store.read_table(p.data, "labels").set_index("sample_id")["label"]
    assert not (after == old).any() and int((after == f"{old}s").sum()) >= n_old
    assert before["sample_id"].isin(after.index).all()
    assert (store.read_table(p.data, "annotations")["label"] == old).any()      # the log keeps what was given


def test_a_rename_chain_is_refused(tmp_path):
    from dataprep.core.errors import UserError

    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"label": {"rename": {"a": "b", "b": "c"}}}))
    with pytest.raises(UserError, match="label.rename"):
        open_project(tmp_path / "params.yaml")


def test_classes_listed_in_any_order_validate_alike(tmp_path):
    """project.labels in the order a person writes them (here with a class added at the end):
    validation indexed its classes as if sorted, and crashed ('index 6 is out of bounds') or,
    worse, read one class for another."""
    src = tabular_csv(tmp_path / "t.csv", n_per_class=30)
    p = _looped(tmp_path, src, rounds=2)
    pull(p)
    listed = ["class_2", "class_0", "class_1", "zz_other"]
    results = []
    for order in (listed, sorted(listed)):
        validate(open_project(tmp_path / "params.yaml", {"project.labels": order}))
        results.append(store.read_table(p.data, "labels"))
    pd.testing.assert_frame_equal(*results)
    assert len(results[0]) > 20
