"""Model-based label errors for boxes (`labeling.box_label_errors`) and what they cost in the
validation stage: a detector that earned trust quarantines the image it contradicts, a weak one
only asks for another annotation and never costs a label. Generated detection images and the
simulated box crowd; the detector is a real predictions file (`dataprep.core.detectors`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dataprep.core.config import Annotator, Validate
from dataprep.core.detectors import PredictionsFile
from dataprep.demo.examples import SHAPES, detection_folder, detection_truth
from labeling import boxes as bx
from labeling import checks
from labeling.box_label_errors import detector_f1, find_box_issues, label_quality
from labeling.box_validate import infer_boxes
from labeling.simulate import annotate

CLASSES = list(SHAPES[:4])


def _box(label, x0, y0, x1, y1, **kw):
    return {"label": label, "x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1, **kw}


def test_each_kind_of_box_error_is_found_and_named():
    labels = {"ok": [_box("ring", 10, 10, 50, 50)],
              "missing": [_box("ring", 10, 10, 50, 50)],
              "spurious": [_box("ring", 10, 10, 50, 50), _box("cross", 120, 120, 160, 160)],
              "swap": [_box("square", 10, 10, 50, 50)],
              "shifted": [_box("ring", 30, 10, 70, 50)],
              "unseen": [_box("ring", 10, 10, 50, 50)]}
    sure = _box("ring", 11, 10, 50, 51, score=0.9)
    pred = {"ok": [sure, _box("square", 10, 10, 50, 50, score=0.1)],
            "missing": [sure, _box("triangle", 100, 100, 140, 130, score=0.8)],
            "spurious": [sure, _box("cross", 120, 120, 160, 160, score=0.2)],
            "swap": [sure, _box("square", 10, 10, 50, 50, score=0.2)],
            "shifted": [sure]}
    found = find_box_issues(labels, pred)
    kinds = found.groupby("sample_id")["kind"].agg(list).to_dict()
    assert kinds == {"missing": ["missing"], "spurious": ["spurious"], "swap": ["wrong_class"],
                     "shifted": ["bad_location"]}, found
    why = found.set_index("sample_id")["reason"]
    assert "triangle" in why["missing"] and "cross (120,120)-(160,160)" in why["spurious"]
    assert "'ring'" in why["swap"] and "IoU 0.3" in why["shifted"]
    q = label_quality(found, list(labels))
    assert q["ok"] == 1.0 and q["unseen"] == 1.0 and q["spurious"] == pytest.approx(0.2)
    assert q["missing"] == pytest.approx(0.2) and q["swap"] == pytest.approx(0.1)
    f1, n = detector_f1({"ok": labels["ok"], "swap": [_box("ring", 10, 10, 50, 50)]}, pred)
    assert (f1, n) == (1.0, 2)
    with pytest.raises(ValueError):
        find_box_issues(labels, pred, match_iou=0.1, overlap_iou=0.2)


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    """60 generated images (rgb, EXIF-rotated, alpha, 16-bit), 3 honest annotators each."""
    folder = tmp_path_factory.mktemp("det")
    detection_folder(folder, n_images=60, shapes=CLASSES, seed=5)
    images = detection_truth(folder)
    per = {im["id"]: im["boxes"] for im in images}
    truth = pd.Series({f"img{i}": json.dumps(b) for i, b in per.items()})
    ids = list(truth.index)
    sizes = {f"img{im['id']}": (im["width"], im["height"]) for im in images}
    tasks = pd.DataFrame({"sample_id": ids, "task_id": range(1, len(ids) + 1), "prediction": None, "gold": False})
    people = [Annotator(name=f"h{i}", profile="good", accuracy=a) for i, a in enumerate([.97, .95, .93])]
    ann = annotate(tasks, truth, people, 3, CLASSES, random_state=5, sizes=sizes)
    sz = pd.DataFrame({"sample_id": ids, "width": [sizes[s][0] for s in ids], "height": [sizes[s][1] for s in ids]})
    return ann, tasks, truth, sz, folder


def _run(crowd, detector=None):
    ann, tasks, truth, sz, _ = crowd
    flags = [checks.schema(ann, set(CLASSES), "detection", sz)]
    return infer_boxes(ann, ann, flags, CLASSES, tasks, pd.Series(dtype=object), Validate(), sz, detector)


def _detector(path, boxes: dict[str, list[dict]]) -> PredictionsFile:
    pd.DataFrame({"sample_id": list(boxes), "boxes": [json.dumps(b) for b in boxes.values()]}).to_csv(path, index=False)
    return PredictionsFile(path, pd.DataFrame({"sample_id": list(boxes), "sources": "[]"}))


def test_a_trusted_detector_quarantines_the_image_it_contradicts(crowd, tmp_path):
    ann, tasks, truth, sz, _ = crowd
    plain = _run(crowd)
    accepted = list(plain["labels"]["sample_id"])
    assert len(accepted) >= 20
    # the detector sees the true objects, and one object more on two accepted images
    seen = {s: [{**b, "score": 0.95} for b in bx.parse(truth[s])] for s in truth.index}
    extra = [s for s in accepted if not bx.parse(truth[s])][:1] + [s for s in accepted if bx.parse(truth[s])][:1]
    for s in extra:
        W, H = sz.set_index("sample_id").loc[s, ["width", "height"]]
        far = [b for b in [_box("cross", 1, 1, W / 6, H / 6)] if not bx.parse(truth[s]) or
               bx.iou(bx.to_array([b]), bx.to_array(bx.parse(truth[s]))).max() < 0.1]
        seen[s] = seen[s] + [{**b, "score": 0.9} for b in far]
    res = _run(crowd, _detector(tmp_path / "pred.csv", seen))
    assert res["label_error_model"]["trusted"] and res["label_error_model"]["agreed_items"] >= 10, res["label_error_model"]
    q = res["sample_quarantine"].set_index("sample_id")
    flagged = set(q.index[q["check"] == "label_error"])
    assert flagged and flagged <= set(accepted), q
    assert {s for s in extra if len(seen[s]) > len(bx.parse(truth[s]))} <= flagged
    assert q.loc[sorted(flagged), "reason"].str.contains("the detector disagrees").all()
    assert not flagged & set(res["labels"]["sample_id"])
    # what the trusted detector quarantined is mostly where it saw a box the labels lack, or a
    # label box wrong against the truth: it flags no more than a few right images
    assert len(flagged) <= len(extra) + max(2, len(accepted) // 10), (flagged, extra)


def test_a_weak_detector_costs_no_label(crowd, tmp_path):
    ann, tasks, truth, sz, _ = crowd
    plain = _run(crowd)
    rng = np.random.default_rng(0)
    noise = {}
    for s, (W, H) in zip(sz["sample_id"], zip(sz["width"], sz["height"])):
        x0, y0 = rng.uniform(0, W * 0.6), rng.uniform(0, H * 0.6)
        noise[s] = [_box(CLASSES[int(rng.integers(4))], x0, y0, x0 + W / 3, y0 + H / 3, score=0.9)]
    res = _run(crowd, _detector(tmp_path / "noise.csv", noise))
    assert not res["label_error_model"]["trusted"], res["label_error_model"]
    assert res["label_error_model"]["accuracy"] < 0.5
    # the same labels are accepted as without a detector; its disagreements ask for another annotation
    assert list(res["labels"]["sample_id"]) == list(plain["labels"]["sample_id"])
    assert "label_error" not in set(res["sample_quarantine"]["check"])
    d = res["doubtful"]
    assert len(d) and set(d["check"]) == {"label_error_unconfirmed"}
    assert d["reason"].str.contains("worth another annotation").all() and d["reason"].str.contains("box F1").all()
