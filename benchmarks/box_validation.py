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
- `ours_all` (information, not the product): the same consensus on every usable annotation,
  blocked annotators' included, each weighed by the skill the EM learned for them. The product
  keeps a blocked annotator's work out of the labels (quarantined), whatever its weight.
Ours and WBF both rank per-class hypotheses: WBF fuses per class, ours emits each class a
cluster may be with P(real) x P(class).
mAP@0.5 and mAP@0.5:0.95 (pycocotools' COCOeval) against the true boxes, gold images excluded.
Bad annotators caught: blocked among the four bad ones, and honest ones blocked.

Part `issues`: model-based label-error detection for boxes. The true boxes of the generated
images are corrupted on 25% of the images, one error each: a box dropped (missing), a random
box added (spurious), a class swapped (wrong class) or a box shifted to IoU .25-.45 with the
object (bad location). A simulated detector sees the true objects (strong: recall .92,
class right .93, jitter 4%, 0.4 false boxes per image; weak: .85, .85, 7%, 0.8), each box
with a score drawn high for what it got right and low for what it got wrong, plus a low-score
box of a second class. On the same labels and predictions: ours (`labeling.box_label_errors`,
min_score .5 fixed before any run: no threshold tuned) and cleanlab's
`object_detection.filter.find_label_issues` (its defaults), scored per image (an image has an
issue when any of its boxes was corrupted): precision, recall, F1, the area under the ROC curve
of each one's per-image label quality (threshold-free), and ours' recall per kind;
`cleanlab_same_count` flags cleanlab's lowest-quality images, as many as ours flags.

    python benchmarks/box_validation.py [--seeds 5] [--first-seed 0] [--images 240] [--parts consensus,issues]

Choices made while watching seeds 0-4 (the per-class ranking of ours; the box consensus
priors before it) are reported on seeds 5-9 too: `--first-seed 5`.
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
from dataprep.demo.examples import SHAPES, detection_folder, detection_truth  # noqa: E402
from labeling import boxes as bx                              # noqa: E402
from labeling import checks                                   # noqa: E402
from labeling.box_label_errors import find_box_issues, label_quality  # noqa: E402
from labeling.box_validate import _consensus, infer_boxes     # noqa: E402
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
    images = detection_truth(folder)
    truth = pd.Series({f"img{im['id']:04d}": json.dumps(im["boxes"]) for im in images})
    sizes = {f"img{im['id']:04d}": (im["width"], im["height"]) for im in images}
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
    everyone = _consensus(usable, CLASSES, {s: bx.parse(truth[s]) for s in gold_ids})
    for name, pred in (("iou_majority", iou_majority(ann)), ("wbf", wbf(ann, sizes)),
                       ("wbf_kept", wbf(kept, sizes)), ("ours", ours), ("ours_all", everyone.scored_boxes_)):
        m50, m = coco_map(pred, truth, sizes, scored)
        rows.append({"seed": seed, "method": name, "map50": m50, "map50_95": m})
    blocked = set(res["blocked"])
    q = res["quality"].set_index("annotator")
    verdicts = {"seed": seed, "bad_blocked": len(blocked & BAD), "honest_blocked": len(blocked - BAD),
                "accepted_images": int(len(res["labels"])),
                "evidence": {a: q.loc[a, "evidence"] for a in sorted(q.index)}}
    return rows, verdicts


# ---------------------------------------------------------------- part: label issues
DETECTORS = {"strong": {"recall": .92, "class_right": .93, "jitter": .04, "false_boxes": .4},
             "weak": {"recall": .85, "class_right": .85, "jitter": .07, "false_boxes": .8}}
KINDS = ("missing", "spurious", "wrong_class", "bad_location")


def _box(x0, y0, x1, y1, W, H, **extra) -> dict | None:
    x0, x1 = sorted((float(np.clip(x0, 0, W)), float(np.clip(x1, 0, W))))
    y0, y1 = sorted((float(np.clip(y0, 0, H)), float(np.clip(y1, 0, H))))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return {**extra, "x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1}


def _random_box(W, H, label, rng) -> dict:
    bw, bh = rng.uniform(0.08, 0.3) * W, rng.uniform(0.08, 0.3) * H
    x0, y0 = rng.uniform(0, W - bw), rng.uniform(0, H - bh)
    return _box(x0, y0, x0 + bw, y0 + bh, W, H, label=label)


def corrupt(truth: pd.Series, sizes: dict, rng, share: float = 0.25) -> tuple[dict, dict]:
    """Given labels: the true boxes, one error on `share` of the images; and the kind per image."""
    given, kinds = {}, {}
    for sid, label in truth.items():
        boxes = [dict(b) for b in bx.parse(label)]
        W, H = sizes[sid]
        if rng.random() < share:
            kind = KINDS[rng.integers(len(KINDS))] if boxes else "spurious"
            if kind == "spurious":
                boxes.append(_random_box(W, H, CLASSES[rng.integers(len(CLASSES))], rng))
            else:
                k = int(rng.integers(len(boxes)))
                b = boxes[k]
                if kind == "missing":
                    boxes.pop(k)
                elif kind == "wrong_class":
                    b["label"] = CLASSES[rng.choice([i for i, c in enumerate(CLASSES) if c != b["label"]])]
                else:                   # shift along x or y until the IoU with the object is .25-.45
                    w, h = b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]
                    target = rng.uniform(0.25, 0.45)
                    d = (1 - target) / (1 + target)          # IoU of a box shifted by d of its side
                    dx, dy = (d * w, 0.0) if rng.random() < 0.5 else (0.0, d * h)
                    sgn = 1 if rng.random() < 0.5 else -1
                    moved = _box(b["x_min"] + sgn * dx, b["y_min"] + sgn * dy, b["x_max"] + sgn * dx,
                                 b["y_max"] + sgn * dy, W, H, label=b["label"])
                    if moved is None or bx.iou(bx.to_array([moved]), bx.to_array([b]))[0, 0] >= 0.5:
                        kind = "missing"
                        boxes.pop(k)
                    else:
                        boxes[k] = moved
            kinds[sid] = kind
        given[sid] = [b for b in boxes if b is not None]
    return given, kinds


def detector(truth: pd.Series, sizes: dict, rng, q: dict) -> dict:
    """A simulated detector's boxes with scores for every image (see the module docstring)."""
    out = {}
    for sid, label in truth.items():
        W, H = sizes[sid]
        pred = []
        for b in bx.parse(label):
            if rng.random() > q["recall"]:
                continue
            w, h = b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]
            j = rng.normal(0, q["jitter"], 4) * np.r_[w, h, w, h]
            right = rng.random() < q["class_right"]
            cls = b["label"] if right else CLASSES[rng.choice([i for i, c in enumerate(CLASSES) if c != b["label"]])]
            box = _box(*(np.r_[b["x_min"], b["y_min"], b["x_max"], b["y_max"]] + j), W, H, label=cls,
                       score=float(rng.beta(6, 1.5) if right else rng.beta(2.5, 2.5)))
            if box is None:
                continue
            pred.append(box)
            second = b["label"] if not right else CLASSES[rng.choice([i for i, c in enumerate(CLASSES) if c != cls])]
            pred.append({**box, "label": second, "score": float(rng.beta(2.5, 2.5) if not right else rng.uniform(0, .2))})
        for _ in range(rng.poisson(q["false_boxes"])):
            fb = _random_box(W, H, CLASSES[rng.integers(len(CLASSES))], rng)
            if fb is not None:
                pred.append({**fb, "score": float(rng.beta(1.5, 5))})
        out[sid] = pred
    return out


def cleanlab_issues(given: dict, pred: dict, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's flags (find_label_issues, defaults) and label quality scores per image."""
    from cleanlab.object_detection.filter import find_label_issues
    from cleanlab.object_detection.rank import get_label_quality_scores
    labels = [{"bboxes": bx.to_array(given[s]), "labels": np.array([CLASSES.index(b["label"]) for b in given[s]], int),
               "image_name": s} for s in ids]
    preds = []
    for s in ids:
        per = []
        for c in CLASSES:
            mine = [p for p in pred[s] if p["label"] == c]
            per.append(np.array([[p["x_min"], p["y_min"], p["x_max"], p["y_max"], p["score"]] for p in mine],
                                dtype=np.float32).reshape(-1, 5))
        preds.append(per)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return np.asarray(find_label_issues(labels, preds), bool), np.asarray(get_label_quality_scores(labels, preds))


def _auroc(quality: np.ndarray, true: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(true, -np.asarray(quality, float)))


def _prf(flag: np.ndarray, true: np.ndarray) -> dict:
    tp = int((flag & true).sum())
    p = tp / flag.sum() if flag.sum() else float("nan")
    r = tp / true.sum() if true.sum() else float("nan")
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if (p + r) else 0.0, "flagged": int(flag.sum())}


def run_issues(seed: int, n_images: int) -> list[dict]:
    rng = np.random.default_rng(1000 + seed)
    with tempfile.TemporaryDirectory() as d:
        truth, sizes = dataset(n_images, 1000 + seed, Path(d))
    ids = list(truth.index)
    given, kinds = corrupt(truth, sizes, rng)
    true = np.array([s in kinds for s in ids])
    rows = []
    for dname, q in DETECTORS.items():
        pred = detector(truth, sizes, rng, q)
        found = find_box_issues(given, pred)
        ours = np.array([s in set(found["sample_id"]) for s in ids])
        q_ours = label_quality(found, ids).to_numpy()
        row = {"seed": seed, "detector": dname, "method": "ours", **_prf(ours, true), "auroc": _auroc(q_ours, true)}
        for k in KINDS:
            hit = [s for s, v in kinds.items() if v == k]
            row[f"recall_{k}"] = float(np.mean([s in set(found["sample_id"]) for s in hit])) if hit else float("nan")
        rows.append(row)
        flags, q_cl = cleanlab_issues(given, pred, ids)
        rows.append({"seed": seed, "detector": dname, "method": "cleanlab", **_prf(flags, true), "auroc": _auroc(q_cl, true)})
        # cleanlab's ranking given as many flags as ours raised: its lowest-quality images
        top = np.zeros(len(ids), bool)
        top[np.argsort(q_cl, kind="stable")[:int(ours.sum())]] = True
        rows.append({"seed": seed, "detector": dname, "method": "cleanlab_same_count", **_prf(top, true),
                     "auroc": _auroc(q_cl, true)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--parts", default="consensus,issues")
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "issues" in parts:
        rows = [r for seed in range(args.first_seed, args.first_seed + args.seeds) for r in run_issues(seed, args.images)]
        df = pd.DataFrame(rows)
        print("Label issues per image (25% of images corrupted, one error each), mean over seeds")
        cols = ["precision", "recall", "f1", "flagged", "auroc"] + [f"recall_{k}" for k in KINDS]
        print(df.groupby(["detector", "method"])[cols].mean().round(3).to_string())
        print()
    if "consensus" not in parts:
        return
    rows, verdicts = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
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
