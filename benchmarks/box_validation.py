"""Box validation: consensus of several annotators' boxes, and catching bad box-drawers.

Generated detection data (`dataprep.demo.examples.detection_folder`: four shapes on textured
backgrounds, 0-4 objects per image at three sizes, images 160-420 px) and a simulated crowd
(`labeling.simulate`, the product's box annotators): five honest annotators (accuracy .95 to
.75: the lower, the more misses, wrong classes, corner jitter and spurious boxes), a spammer
drawing random boxes, an adversary swapping ring <-> square, a lazy one copying a noisy
pre-annotation unchanged, and one drawing a single box over the whole image. Every image is
answered by 3 of the 9; 8% of the images are gold (their true boxes known to the stage). 5 seeds.

Rows, each on the same annotations:
- `iou_majority`: boxes matched across annotators (IoU >= 0.5, same class); a cluster drawn by
  more than half of the image's annotators is kept, corners averaged; score = share who drew it;
- `wbf`: Weighted Boxes Fusion (the `ensemble-boxes` package, iou_thr 0.55, every annotator a
  "model" of weight 1, score 1 per box);
- `wbf_kept`: WBF on the annotators our stage kept (the verdicts are ours: this row gives WBF
  the information ours has);
- `ours`: the validation stage's detection path (`labeling.box_validate.infer_boxes`): box
  consensus, verdicts, consensus again on the kept annotators; every fused box with its score.
mAP@0.5 and mAP@0.5:0.95 (pycocotools' COCOeval) against the true boxes, gold images excluded.
Bad annotators caught: blocked among the four bad ones, and honest ones blocked.

    python benchmarks/box_validation.py [--seeds 5] [--images 240]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataprep.core.config import Annotator, Validate          # noqa: E402
from dataprep.demo.examples import SHAPES, detection_folder   # noqa: E402
from labeling import boxes as bx                              # noqa: E402
from labeling import checks                                   # noqa: E402
from labeling.box_validate import infer_boxes                 # noqa: E402
from labeling.simulate import annotate                        # noqa: E402

CLASSES = list(SHAPES[:4])
BAD = {"spammer", "adversary", "copier", "coverer"}


def crowd() -> list[Annotator]:
    honest = [Annotator(name=f"honest{i}", profile="good", accuracy=a) for i, a in enumerate([.95, .9, .85, .8, .75])]
    return honest + [Annotator(name="spammer", profile="spammer"),
                     Annotator(name="adversary", profile="adversarial", accuracy=.9,
                               class_map={"ring": "square", "square": "ring"}),
                     Annotator(name="copier", profile="lazy_accept"),
                     Annotator(name="coverer", profile="lazy_majority")]


def dataset(n_images: int, seed: int, folder: Path) -> tuple[pd.Series, dict]:
    """True boxes per image (JSON labels) and sizes, from the generated COCO file."""
    detection_folder(folder, n_images=n_images, shapes=CLASSES, seed=seed)
    coco = json.loads((folder / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    boxes = {im["id"]: [] for im in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        boxes[a["image_id"]].append({"label": names[a["category_id"]], "x_min": x, "y_min": y,
                                     "x_max": x + w, "y_max": y + h})
    truth = pd.Series({f"img{im['id']:04d}": json.dumps(boxes[im["id"]]) for im in coco["images"]})
    sizes = {f"img{im['id']:04d}": (im["width"], im["height"]) for im in coco["images"]}
    return truth, sizes


def noisy_detector(truth: pd.Series, sizes: dict, rng: np.random.Generator) -> pd.Series:
    """A weak model's pre-annotations: 25% of objects missed, 10% mislabelled, corners jittered
    by 12% of the box, 0.3 spurious boxes per image."""
    out = {}
    for sid, label in truth.items():
        W, H = sizes[sid]
        res = []
        for b in bx.parse(label):
            if rng.random() < 0.25:
                continue
            w, h = b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]
            j = rng.normal(0, 0.12, 4) * np.r_[w, h, w, h]
            x0, y0, x1, y1 = np.r_[b["x_min"], b["y_min"], b["x_max"], b["y_max"]] + j
            lab = b["label"] if rng.random() > 0.1 else CLASSES[rng.integers(len(CLASSES))]
            x0, x1 = sorted((float(np.clip(x0, 0, W)), float(np.clip(x1, 0, W))))
            y0, y1 = sorted((float(np.clip(y0, 0, H)), float(np.clip(y1, 0, H))))
            if x1 - x0 > 1 and y1 - y0 > 1:
                res.append({"label": lab, "x_min": round(x0, 1), "y_min": round(y0, 1), "x_max": round(x1, 1),
                            "y_max": round(y1, 1)})
        for _ in range(rng.poisson(0.3)):
            bw, bh = rng.uniform(0.05, 0.3) * W, rng.uniform(0.05, 0.3) * H
            x0, y0 = rng.uniform(0, W - bw), rng.uniform(0, H - bh)
            res.append({"label": CLASSES[rng.integers(len(CLASSES))], "x_min": round(x0, 1), "y_min": round(y0, 1),
                        "x_max": round(x0 + bw, 1), "y_max": round(y0 + bh, 1)})
        out[sid] = json.dumps(res)
    return pd.Series(out)


def iou_majority(ann: pd.DataFrame) -> dict[str, list[dict]]:
    out = {}
    for sid, g in ann.groupby("sample_id"):
        clusters: list[dict] = []
        for label in g["label"]:
            mine = bx.parse(label)
            for cls in {b["label"] for b in mine}:
                arr = bx.to_array([b for b in mine if b["label"] == cls])
                cand = [c for c in clusters if c["label"] == cls]
                centers = np.array([np.mean(c["coords"], 0) for c in cand]).reshape(-1, 4)
                hit = set()
                for i, j, _ in bx.match(arr, centers, 0.5):
                    cand[j]["coords"].append(arr[i])
                    hit.add(i)
                clusters += [{"label": cls, "coords": [arr[i]]} for i in range(len(arr)) if i not in hit]
        k = g["annotator"].nunique()
        out[sid] = [{"label": c["label"], **dict(zip(bx.CORNERS, np.mean(c["coords"], 0).tolist())),
                     "score": len(c["coords"]) / k} for c in clusters if len(c["coords"]) > k / 2]
    return out


def wbf(ann: pd.DataFrame, sizes: dict) -> dict[str, list[dict]]:
    from ensemble_boxes import weighted_boxes_fusion
    out = {}
    for sid, g in ann.groupby("sample_id"):
        W, H = sizes[sid]
        bl, sl, ll = [], [], []
        for label in g["label"]:
            b = bx.parse(label)
            arr = bx.to_array(b) / np.r_[W, H, W, H] if b else np.zeros((0, 4))
            bl.append(np.clip(arr, 0, 1).tolist())
            sl.append([1.0] * len(b))
            ll.append([CLASSES.index(x["label"]) if x["label"] in CLASSES else 0 for x in b])
        if not any(bl):
            out[sid] = []
            continue
        boxes, scores, labels = weighted_boxes_fusion(bl, sl, ll, iou_thr=0.55, skip_box_thr=0.0)
        out[sid] = [{"label": CLASSES[int(lab)], **dict(zip(bx.CORNERS, (b * np.r_[W, H, W, H]).tolist())),
                     "score": float(s)} for b, s, lab in zip(boxes, scores, labels)]
    return out


def coco_map(pred: dict[str, list[dict]], truth: pd.Series, sizes: dict, ids: list[str]) -> tuple[float, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    images = [{"id": k + 1, "width": sizes[s][0], "height": sizes[s][1]} for k, s in enumerate(ids)]
    gts, dts = [], []
    for k, s in enumerate(ids):
        for b in bx.parse(truth[s]):
            w, h = b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]
            gts.append({"id": len(gts) + 1, "image_id": k + 1, "category_id": CLASSES.index(b["label"]) + 1,
                        "bbox": [b["x_min"], b["y_min"], w, h], "area": w * h, "iscrowd": 0})
        for b in pred.get(s, []):
            if b["label"] not in CLASSES:
                continue
            dts.append({"image_id": k + 1, "category_id": CLASSES.index(b["label"]) + 1, "score": float(b["score"]),
                        "bbox": [b["x_min"], b["y_min"], b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]]})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": gts,
                      "categories": [{"id": k + 1, "name": c} for k, c in enumerate(CLASSES)]}
        gt.createIndex()
        dt = gt.loadRes(dts) if dts else COCO()
        if not dts:
            return 0.0, 0.0
        ev = COCOeval(gt, dt, "bbox")
        ev.params.imgIds = [im["id"] for im in images]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[1]), float(ev.stats[0])


def run_seed(seed: int, n_images: int) -> tuple[list[dict], dict]:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as d:
        truth, sizes = dataset(n_images, seed, Path(d))
    ids = list(truth.index)
    gold_ids = set(rng.choice(ids, size=max(3, int(0.08 * len(ids))), replace=False))
    pre = noisy_detector(truth, sizes, rng)
    tasks = pd.DataFrame({"sample_id": ids, "task_id": np.arange(1, len(ids) + 1), "prediction": pre[ids].to_numpy(),
                          "gold": [s in gold_ids for s in ids]})
    ann = annotate(tasks, truth, crowd(), 3, CLASSES, random_state=seed, sizes=sizes)
    cfg = Validate()
    sz = pd.DataFrame({"sample_id": ids, "width": [sizes[s][0] for s in ids], "height": [sizes[s][1] for s in ids]})
    flags = [checks.schema(ann, set(CLASSES), "detection", sz)]
    usable = ann[~ann["annotation_id"].isin(set(flags[0]["annotation_id"]))]
    res = infer_boxes(ann, usable, flags, CLASSES, tasks, truth[list(gold_ids)], cfg, sz)
    ours = res["consensus"].scored_boxes_
    kept = ann[~ann["annotator"].isin(res["blocked"])]
    scored = [s for s in ids if s not in gold_ids]
    rows = []
    for name, pred in (("iou_majority", iou_majority(ann)), ("wbf", wbf(ann, sizes)),
                       ("wbf_kept", wbf(kept, sizes)), ("ours", ours)):
        m50, m = coco_map(pred, truth, sizes, scored)
        rows.append({"seed": seed, "method": name, "map50": m50, "map50_95": m})
    blocked = set(res["blocked"])
    q = res["quality"].set_index("annotator")
    verdicts = {"seed": seed, "bad_blocked": len(blocked & BAD), "honest_blocked": len(blocked - BAD),
                "accepted_images": int(len(res["labels"])),
                "evidence": {a: q.loc[a, "evidence"] for a in sorted(q.index)}}
    return rows, verdicts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--images", type=int, default=240)
    args = ap.parse_args()
    rows, verdicts = [], []
    for seed in range(args.seeds):
        r, v = run_seed(seed, args.images)
        rows += r
        verdicts.append(v)
        print(f"seed {seed}: " + ", ".join(f"{x['method']} {x['map50']:.3f}/{x['map50_95']:.3f}" for x in r)
              + f"; bad blocked {v['bad_blocked']}/4, honest blocked {v['honest_blocked']}", flush=True)
    df = pd.DataFrame(rows)
    table = df.groupby("method")[["map50", "map50_95"]].agg(["mean", "std"]).round(3)
    print("\nConsensus against the true boxes (gold images excluded), mean and std over seeds")
    print(table.to_string())
    v = pd.DataFrame(verdicts)
    print(f"\nBad annotators blocked: {v['bad_blocked'].sum()} of {4 * len(v)}; honest blocked: {v['honest_blocked'].sum()}")
    print("Evidence, last seed:")
    for a, e in verdicts[-1]["evidence"].items():
        print(f"  {a}: {e or '-'}")


if __name__ == "__main__":
    main()
