"""A detection project against a real Label Studio: the detector's boxes go out as RectangleLabels
pre-annotations (pixels -> percent of the image as shown, EXIF-rotated images included), three
annotator accounts draw boxes with their own tokens, and pull + validate + export turn them into
one fused set whose every box names who drew it. Its own server: Label Studio serves local files
from one document root, this project's data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from label_studio_sdk import LabelStudio

from dataprep.core import store
from dataprep.core.config import default_params_yaml
from dataprep.demo.examples import SHAPES, detection_folder, detection_truth
from dataprep.demo.studio_users import annotator_token
from labeling import boxes as bx
from labeling.box_validate import f1_of
from labeling.studio_backend import result_to_label
from labeling.studio_client import field
from labeling.studio_server import credentials, start_server, stop_pid

CLASSES = list(SHAPES[:4])
DRAWERS = ["box.a@example.org", "box.b@example.org", "box.c@example.org"]
TITLE = "dataprep-boxes"


def _cli(path, env, *args):
    res = subprocess.run([sys.executable, "-m", "dataprep", *args], cwd=path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, f"dataprep {' '.join(args)}: {res.stdout[-3000:]}{res.stderr[-3000:]}"
    assert "Traceback" not in res.stderr
    return res


@pytest.fixture(scope="module")
def boxes_server(tmp_path_factory, studio_template):
    root = tmp_path_factory.mktemp("studio_boxes")
    src = detection_folder(root / "src", n_images=16, shapes=CLASSES, seed=5, max_objects=3)
    truth = {im["file_name"]: im["boxes"] for im in detection_truth(src)}
    rng = np.random.default_rng(5)
    pred = pd.DataFrame({"source": list(truth), "boxes": [json.dumps([{**b, "score": float(rng.uniform(.5, .99))}
                                                                      for b in bs]) for bs in truth.values()]})
    pred.to_parquet(root / "predictions_r1.parquet", index=False)
    proj = root / "proj"
    proj.mkdir()
    raw = yaml.safe_load(default_params_yaml())
    raw["project"].update({"task": "detection", "labels": CLASSES})
    raw["acquire"].update({"source": str(src / "images"), "boxes": str(src / "annotations.json")})
    raw["label"].update({"backend": "studio", "project_title": TITLE, "gold_share": 0.0, "overlap": 3,
                         "calibration_overlap": 3})
    raw["select"].update({"batch_size": 10, "detector": str(root / "predictions_r1.parquet")})
    raw["export"]["format"] = "coco"
    (proj / "params.yaml").write_text(yaml.safe_dump(raw))
    env = {**os.environ}
    _cli(proj, env, "acquire")
    info = start_server(root / "server", proj / "data")
    token = credentials(root / "server")["token"]
    env.update({"LABEL_STUDIO_URL": info["url"], "LABEL_STUDIO_API_KEY": token})
    yield {"url": info["url"], "token": token, "path": proj, "env": env, "truth": truth}
    stop_pid(info["pid"])


def _draw(truth_boxes, W, H, who):
    """What an annotator's browser sends: percent of the shown image. a is exact, b off by a
    pixel or two, c misses the last object of an image holding two or more."""
    rng = np.random.default_rng(abs(hash(who)) % 2 ** 32)
    boxes = truth_boxes[:-1] if who == DRAWERS[2] and len(truth_boxes) >= 2 else truth_boxes
    out = []
    for b in boxes:
        j = rng.uniform(-1.5, 1.5, 4) if who == DRAWERS[1] else np.zeros(4)
        x0, y0, x1, y1 = (b["x_min"] + j[0], b["y_min"] + j[1], b["x_max"] + j[2], b["y_max"] + j[3])
        out.append({"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": W,
                    "original_height": H, "value": {"x": 100 * x0 / W, "y": 100 * y0 / H, "width": 100 * (x1 - x0) / W,
                                                    "height": 100 * (y1 - y0) / H, "rotation": 0,
                                                    "rectanglelabels": [b["label"]]}})
    return out


def test_boxes_drawn_by_three_accounts_are_fused_and_exported(boxes_server):
    s = boxes_server
    path, env, url = s["path"], s["env"], s["url"]
    for cmd in (["features"], ["triage"], ["select"], ["label", "push"]):
        _cli(path, env, *cmd)
    man = store.read_table(path / "data", "manifest").set_index("sample_id")
    name_of = {sid: os.path.basename(json.loads(srcs)[0]) for sid, srcs in man["sources"].items()}
    admin = LabelStudio(base_url=url, api_key=s["token"])
    proj = next(p for p in admin.projects.list() if p.title == TITLE)
    tasks = list(admin.tasks.list(project=proj.id, fields="all"))
    sel = store.read_table(path / "data", "selection")
    assert len(tasks) == len(sel) > 0
    # pre-annotations: the detector's boxes, back in pixels as they went out
    exif_seen = False
    for t in tasks:
        sid = t.data["sample_id"]
        assert t.predictions, f"task {t.id} has no pre-annotation"
        res = field(t.predictions[0], "result")
        assert {r["type"] for r in res} == {"rectanglelabels"}
        W, H = man.loc[sid, ["width", "height"]]
        assert all(r["original_width"] == W and r["original_height"] == H for r in res)
        back = json.loads(result_to_label(res, "detection"))
        want = s["truth"][name_of[sid]]
        assert len(back) == len(want)
        for b, w in zip(back, want):
            assert b["label"] == w["label"] and all(abs(b[k] - w[k]) < 0.02 for k in bx.CORNERS), (b, w)
        exif_seen |= name_of[sid].startswith("exif")
    assert exif_seen, "no EXIF-rotated image in the batch: the orientation case went untested"
    # three accounts draw, each with their own token
    for email in DRAWERS:
        ls = LabelStudio(base_url=url, api_key=annotator_token(url, s["token"], email, "pw-Annot8tor!"))
        for t in tasks:
            sid = t.data["sample_id"]
            W, H = (int(v) for v in man.loc[sid, ["width", "height"]])
            ls.annotations.create(id=t.id, result=_draw(s["truth"][name_of[sid]], W, H, email), lead_time=8.0)
    for cmd in (["label", "pull"], ["validate"], ["augment"], ["export"]):
        _cli(path, env, *cmd)
    ann = store.read_table(path / "data", "annotations")
    assert set(ann["annotator"]) == set(DRAWERS) and (ann.groupby("sample_id").size() == 3).all()
    labels = store.read_table(path / "data", "labels")
    assert len(labels) >= len(tasks) - 2, labels
    truth = [json.dumps(s["truth"][name_of[sid]]) for sid in labels["sample_id"]]
    assert f1_of(labels["label"], truth) == 1.0
    q = json.loads((path / "reports" / "label_quality.json").read_text())
    assert not q["blocked_annotators"], q["blocked_annotators"]
    coco = json.loads((path / "export" / "annotations.json").read_text())
    originals = {im["id"] for im in coco["images"] if "parent_id" not in im}
    boxes = [a for a in coco["annotations"] if a["image_id"] in originals]
    assert len(boxes) == sum(len(bx.parse(v)) for v in labels["label"]) > 0
    for a in boxes:
        assert set(a["annotators"]) <= set(DRAWERS) and len(a["annotators"]) >= 2 and a["round"] == 1, a
