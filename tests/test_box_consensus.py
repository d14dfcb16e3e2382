"""Box consensus and box annotator verdicts, on generated detection images and the simulated
box crowd (`labeling.simulate`): what the validation stage decides for a detection project."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dataprep.core.config import Annotator, Validate
from dataprep.demo.examples import SHAPES, detection_folder, detection_truth
from labeling import boxes as bx
from labeling import checks
from labeling.box_consensus import BoxConsensus
from labeling.box_validate import f1_of, infer_boxes
from labeling.simulate import annotate

CLASSES = list(SHAPES[:4])


def _box(label, x0, y0, x1, y1):
    return {"label": label, "x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1}


def _long(rows):
    return pd.DataFrame([{"task": t, "worker": w, "label": json.dumps(b)} for t, w, b in rows])


def test_geometry():
    a = bx.to_array([_box("ring", 0, 0, 10, 10)])
    b = bx.to_array([_box("ring", 5, 0, 15, 10), _box("ring", 0, 0, 10, 10)])
    assert bx.iou(a, b)[0].tolist() == pytest.approx([50 / 150, 1.0])
    assert bx.match(a, b, 0.5) == [(0, 1, 1.0)]
    tp, fp, fn = bx.f1_against([_box("ring", 0, 0, 10, 10), _box("cross", 20, 20, 30, 30)],
                               [_box("ring", 1, 0, 10, 10), _box("square", 20, 20, 30, 30)])
    assert (tp, fp, fn) == (1, 1, 1)          # the second box is in place but of another class


def test_consensus_fuses_and_rates_annotators():
    """Three careful annotators and a spammer on 30 images of two objects: the fused boxes are
    the true ones, the spammer's boxes are left out and his recall is the lowest."""
    rng = np.random.default_rng(0)
    rows, truth = [], {}
    for t in range(30):
        true = [_box("ring", 10, 10, 50, 50), _box("cross", 60, 60, 110, 100)]
        truth[f"t{t}"] = true
        for w in ("a", "b", "c"):
            rows.append((f"t{t}", w, [{**b, **{k: b[k] + float(rng.normal(0, 1.5)) for k in bx.CORNERS}}
                                      for b in true]))
        x0, y0 = rng.uniform(0, 150, 2)
        rows.append((f"t{t}", "spam", [_box("square", x0, y0, x0 + 30, y0 + 30)]))
    model = BoxConsensus().fit(_long(rows), classes=CLASSES)
    assert f1_of([json.dumps(model.boxes_[t]) for t in truth], [json.dumps(truth[t]) for t in truth]) == 1.0
    table = model.worker_table(_long(rows)).set_index("annotator")
    assert table.loc["spam", "recall"] < 0.2 < table.loc[["a", "b", "c"], "recall"].min()
    # fused corners are closer to the truth than a single annotator's
    fused = bx.to_array(model.boxes_["t0"])
    assert np.abs(fused - bx.to_array(truth["t0"])).mean() < 1.5


def test_consensus_rejects_bad_input():
    with pytest.raises(ValueError, match="iou_threshold"):
        BoxConsensus(iou_threshold=1.5).fit(_long([]), classes=CLASSES)


@pytest.fixture(scope="module")
def crowd_result(tmp_path_factory):
    """90 generated images (rgb, EXIF-rotated, alpha, 16-bit), 3 answers each from 5 honest
    annotators and 4 bad ones, as the validation stage sees them."""
    folder = tmp_path_factory.mktemp("det")
    detection_folder(folder, n_images=90, shapes=CLASSES, seed=3)
    images = detection_truth(folder)
    per = {im["id"]: im["boxes"] for im in images}
    ids = [f"img{i}" for i in per]
    truth = pd.Series({f"img{i}": json.dumps(b) for i, b in per.items()})
    sizes = {f"img{im['id']}": (im["width"], im["height"]) for im in images}
    rng = np.random.default_rng(3)
    gold = set(rng.choice(ids, 8, replace=False))
    # the pre-annotation is the truth with one box dropped where there are two or more: a copier is wrong there
    pre = {s: json.dumps(bx.parse(truth[s])[1:] if len(bx.parse(truth[s])) > 1 else bx.parse(truth[s])) for s in ids}
    tasks = pd.DataFrame({"sample_id": ids, "task_id": range(1, len(ids) + 1), "prediction": [pre[s] for s in ids],
                          "gold": [s in gold for s in ids]})
    crowd = [Annotator(name=f"honest{i}", profile="good", accuracy=a) for i, a in enumerate([.95, .9, .85, .8, .8])]
    crowd += [Annotator(name="spammer", profile="spammer"), Annotator(name="coverer", profile="lazy_majority"),
              Annotator(name="adversary", profile="adversarial", accuracy=.95,
                        class_map={"ring": "square", "square": "ring"}),
              Annotator(name="copier", profile="lazy_accept")]
    ann = annotate(tasks, truth, crowd, 3, CLASSES, random_state=3, sizes=sizes)
    sz = pd.DataFrame({"sample_id": ids, "width": [sizes[s][0] for s in ids], "height": [sizes[s][1] for s in ids]})
    flags = [checks.schema(ann, set(CLASSES), "detection", sz)]
    usable = ann[~ann["annotation_id"].isin(set(flags[0]["annotation_id"]))]
    res = infer_boxes(ann, usable, flags, CLASSES, tasks, truth[sorted(gold)], Validate(), sz)
    return res, ann, truth, gold


def test_bad_box_drawers_blocked_honest_kept(crowd_result):
    res, ann, _, _ = crowd_result
    blocked = set(res["blocked"])
    assert {"spammer", "coverer", "adversary"} <= blocked, res["quality"]
    assert not {f"honest{i}" for i in range(5)} & blocked, res["quality"]
    q = res["quality"].set_index("annotator")
    reasons = " ".join(q.loc[sorted(blocked), "evidence"].astype(str))
    assert "ring" in reasons and "square" in reasons          # the class swap is named


def test_accepted_boxes_beat_majority(crowd_result):
    """The accepted images' boxes are right more often than a plain IoU majority of the same
    answers (the bad annotators drag the majority down, not the consensus)."""
    res, ann, truth, gold = crowd_result
    acc = res["labels"]
    acc = acc[~acc["sample_id"].isin(gold)]
    assert len(acc) >= 30
    ours = f1_of(acc["label"], truth[acc["sample_id"]])
    from collections import Counter
    maj = []
    for s in acc["sample_id"]:
        g = ann[ann["sample_id"] == s]
        keys = Counter()
        for lab in g["label"]:
            for b in bx.parse(lab):
                keys[(b["label"], *(round(b[k] / 8) for k in bx.CORNERS))] += 1
        maj.append(json.dumps([_box(k[0], *(8 * v for v in k[1:])) for k, n in keys.items() if n >= 2]))
    maj = f1_of(maj, truth[acc["sample_id"]])
    assert ours > 0.9 and ours > maj, (ours, maj)
    # every accepted box names who drew it
    for lab in acc["label"]:
        assert all(b.get("annotators") for b in bx.parse(lab))


def test_doubtful_images_go_back_with_the_box_named(crowd_result):
    res, *_ = crowd_result
    q = res["sample_quarantine"]
    assert len(q)
    assert set(q["check"]) <= {"unconfirmed", "tie", "low_agreement", "blocked_only", "no_usable_annotation"}
    doubt = q[q["check"].isin(["tie", "low_agreement"])]
    assert len(doubt) and doubt["reason"].str.contains("drawn by|none of its").all(), doubt["reason"].tolist()
    assert doubt["reason"].str.endswith("send for another annotation").all()


def test_tie_goes_back():
    """Two annotators, one draws a box the other does not: another annotation decides."""
    rows = [("t0", "a", [_box("ring", 10, 10, 50, 50)]), ("t0", "b", [])]
    ann = pd.DataFrame({"sample_id": "t0", "annotator": ["a", "b"], "label": [json.dumps(r[2]) for r in rows],
                        "annotation_id": [1, 2], "task_id": 1, "lead_time_s": 10.0, "round": 1,
                        "created_at": pd.Timestamp("2026-01-01", tz="UTC"), "status": "active"})
    tasks = pd.DataFrame({"sample_id": ["t0"], "task_id": [1], "prediction": [None], "gold": [False]})
    sz = pd.DataFrame({"sample_id": ["t0"], "width": [200], "height": [200]})
    res = infer_boxes(ann, ann, [], CLASSES, tasks, pd.Series(dtype=object), Validate(), sz)
    assert res["labels"].empty
    q = res["sample_quarantine"]
    assert q["check"].tolist() == ["tie"], q
    assert "drawn by a, missed by b" in q["reason"].iloc[0]
