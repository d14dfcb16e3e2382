"""The whole loop through real `dvc repro` in temp git repos, simulated annotators."""

import json

import pandas as pd
import pytest
import yaml

from dataprep.core import store
from conftest import write_params
from dataprep.demo.run import dvc_env, repro


def _project(path, **overrides):
    # a round-1 batch of 20 keeps ~12-15 labels once ties and labels nobody gave await another
    # annotation; 10 labels end the cold start so round 3 is the model's second point on the curve
    return write_params(path, init=True, **{"select__batch_size": 20, "select__cold_start_min_labels": 10, **overrides})


def _run(path):
    res = repro(path, dvc_env())
    return res.returncode, res.stdout + res.stderr


def _lock_outs(path):
    lock = yaml.safe_load((path / "dvc.lock").read_text())
    return {o["path"]: o.get("md5") for st in lock["stages"].values() for o in st.get("outs", [])}


@pytest.fixture(scope="module")
def looped(tmp_path_factory):
    """Three rounds; per round: accepted labels, selections and the queued set before it."""
    path = _project(tmp_path_factory.mktemp("loop") / "p")
    history = []
    for _ in range(3):
        queued_before = set(store.read_table(path / "data", "tasks")["sample_id"])
        code, out = _run(path)
        assert code == 0, out
        sel = store.read_table(path / "data", "selection")
        history.append({"labels": len(store.read_table(path / "data", "labels")),
                        # new picks only: a re-annotation request goes back to a sample already sent
                        "picked": set(sel.loc[(sel["round"] == sel["round"].max())
                                              & (sel["strategy"] != "reannotate"), "sample_id"]),
                        "queued_before": queued_before, "outs": _lock_outs(path)})
    return path, history


def test_rounds_grow_labels_and_never_reselect(looped):
    path, h = looped
    assert h[0]["labels"] == 0 < h[1]["labels"] < h[2]["labels"]
    for r in h:
        assert not r["picked"] & r["queued_before"]
    curve = pd.read_csv(path / "reports" / "learning_curve.csv")
    assert len(curve) == 2 and curve["n_labels"].is_monotonic_increasing


def test_fourth_repro_with_nothing_new_is_a_noop(looped):
    path, _ = looped
    raw = yaml.safe_load((path / "params.yaml").read_text())
    raw["simulate"]["active"] = False           # the annotators take a break
    (path / "params.yaml").write_text(yaml.safe_dump(raw))
    code, out = _run(path)                       # pull sees the param change, finds nothing new
    assert code == 0, out
    before = _lock_outs(path)
    code, out = _run(path)
    assert code == 0, out
    ran = [line for line in out.splitlines() if line.startswith("Running stage")]
    # the stages that read outside the graph always run; nothing downstream of them changed
    assert ran == ["Running stage 'acquire':", "Running stage 'features':", "Running stage 'pull':"], out
    assert _lock_outs(path) == before


def test_lineage_resolves(looped):
    path, _ = looped
    lin = pd.read_parquet(path / "export" / "lineage.parquet")
    ann = store.read_table(path / "data", "annotations")
    labels = store.read_table(path / "data", "labels")
    originals, copies = lin[lin["parent_id"].isna()], lin[lin["parent_id"].notna()]
    assert len(originals) == len(labels) and len(copies) > 0          # augmented copies ride along
    assert set(copies["parent_id"]) <= set(labels["sample_id"])
    for row in lin.itertuples():
        assert (path / "data" / row.raw_path).exists() and (path / "export" / row.export_path).exists()
        ids = json.loads(row.annotation_ids)
        assert (ids or row.method == "gold") and set(ids) <= set(ann["annotation_id"])
        assert row.round >= 1 and row.strategy in ("cold_start", "margin_kmeans", "gold")
        assert row.gold == (row.strategy == "gold")


def test_same_seeds_same_hashes(looped, tmp_path):
    """A second project with the same seeds, two rounds: every output hash equals the first's."""
    _, history = looped
    b = _project(tmp_path / "b")
    for _ in range(2):
        code, out = _run(b)
        assert code == 0, out
    assert _lock_outs(b) == history[1]["outs"]


def test_strict_gate_stops_the_round(tmp_path):
    spam = [{"name": f"s{i}", "profile": "spammer"} for i in range(3)]
    path = _project(tmp_path / "g", simulate__annotators=spam, validate__max_quarantined_share=0.05)
    assert _run(path)[0] == 0                   # round 1: nothing to validate yet
    code, out = _run(path)                       # round 2: the spammers' batch comes back
    assert code != 0 and "validation gate failed" in out
    assert len(store.read_table(path / "data", "labels")) == 0
    assert json.loads((path / "reports" / "label_quality.json").read_text())["gate"]["passed"] is False


def test_status_reports_states_validation_and_stopping(looped):
    from typer.testing import CliRunner

    from dataprep.cli import app

    path, _ = looped
    res = CliRunner().invoke(app, ["--params", str(path / "params.yaml"), "--json", "status"])
    info = json.loads(res.output)
    assert info["states"]["accepted"] > 0 and "triage" in info
    assert any(n.startswith("validation:") and "blocked annotators:" in n for n in info["notes"])
    assert any(n.startswith("stopping:") for n in info["notes"])
    # what the model learned from, the samples still waiting apart (they never reach the export)
    m = json.loads((path / "reports" / "al_metrics.json").read_text())
    assert f"model: learned from {m['n_labels']} labels, {m['n_waiting']} of them" in " ".join(info["notes"])
