"""Simulated annotators: the second labeling backend (demo, tests, benchmarks).

Given the true label of each task, produce annotations the way Label Studio
would report them (annotator id, lead time, timestamps), from profiles:

- good: correct with probability `accuracy`; mistakes go to *similar* classes
  (a confusion matrix from class-centroid distances when features are given);
- careful: like good but slow (give it a high `accuracy`);
- spammer: uniform random label, very fast;
- adversarial: answers like a good annotator except it maps the classes of
  `class_map` systematically (3 -> 8);
- lazy_majority: always the most common label; lazy_accept: always accepts
  the pre-annotation (the model's guess), falling back to the most common label.

Boxes (`sizes` given: detection) follow the same profiles: a good annotator misses a share
of objects, mislabels a share, jitters the corners in proportion to the box and adds a few
spurious boxes, all growing with (1 - accuracy); a spammer draws random boxes; an adversary
swaps classes by `class_map`; lazy_accept copies the pre-annotation unchanged; lazy_majority
draws one box over the whole image.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dataprep.core.config import Annotator

# median lead time (s) and lognormal sigma per profile
LEAD = {"good": (9.0, 0.5), "careful": (25.0, 0.4), "spammer": (1.2, 0.3), "adversarial": (8.0, 0.5),
        "lazy_majority": (1.8, 0.3), "lazy_accept": (1.6, 0.3)}


# The simulated clock: every simulated annotation is stamped from here (round r on day r), so
# reruns give identical tables and hashes. The demo pins acquisition times to it too.
SIM_EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


def similarity_confusion(classes: list[str], centroids: np.ndarray | None, temperature: float = 0.5) -> np.ndarray:
    """Row k: where a mistake on class k goes (zero diagonal). Closer centroids = likelier; a class
    without a centroid (no sample carries it: a name listed in project.labels only) is as near to
    every other as their median pair. With one class a mistake has nowhere else to go: the answer
    stays."""
    K = len(classes)
    if K < 2:
        return np.ones((K, K))
    if centroids is None or K < 3:
        m = np.ones((K, K))
    else:
        d = np.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(-1))
        known = np.isfinite(d) & (d > 0)
        d = np.where(np.isfinite(d), d / (np.median(d[known]) + 1e-9) if known.any() else 1.0, 1.0)
        m = np.exp(-d / temperature)
    np.fill_diagonal(m, 0)
    return m / m.sum(1, keepdims=True)


def annotate(tasks: pd.DataFrame, truth: pd.Series, annotators: list[Annotator], overlap: int,
             classes: list[str], confusion: np.ndarray | None = None, random_state: int = 0,
             start_id: int = 1, start_time: pd.Timestamp | None = None, round_: int = 1,
             n_per_task=None, exclude=None, sizes: dict | None = None) -> pd.DataFrame:
    """Annotations (schema `annotations`) for `tasks` (sample_id, task_id, prediction).

    Each task gets `overlap` (or its `n_per_task`) distinct annotators drawn uniformly from
    those not in its `exclude` set (who answered it before). An annotation is stamped with its
    task's `round` when `tasks` has one (a re-annotation belongs to the task's round, as in
    Label Studio), else `round_`. With `sizes` ({sample_id: (width, height)}) the task is
    detection: truths, pre-annotations and answers are JSON lists of pixel boxes.
    """
    rng = np.random.default_rng(random_state)
    K = len(classes)
    cidx = {c: i for i, c in enumerate(classes)}
    conf = confusion if confusion is not None else similarity_confusion(classes, None)
    majority = truth.loc[tasks["sample_id"]].mode().iloc[0] if len(tasks) else classes[0]
    t0 = start_time if start_time is not None else SIM_EPOCH
    overlap = min(overlap, len(annotators))
    rows = []
    clock = 0.0
    aid = start_id
    preds = tasks["prediction"] if "prediction" in tasks else pd.Series(None, index=tasks.index)
    for i, ((_, task), pred) in enumerate(zip(tasks.iterrows(), preds)):
        true = str(truth.loc[task["sample_id"]])
        free = np.arange(len(annotators))
        if exclude is not None and exclude[i]:
            free = free[[a.name not in exclude[i] for a in annotators]]
        k = min(overlap if n_per_task is None else int(n_per_task[i]), len(free))
        task_round = int(task["round"]) if "round" in task.index and pd.notna(task["round"]) else round_
        for a in rng.choice(free, size=k, replace=False):
            ann = annotators[a]
            label = (_boxes(ann, true, pred, sizes[task["sample_id"]], classes, rng) if sizes is not None
                     else _answer(ann, true, pred, majority, classes, cidx, conf, rng, K))
            med, sig = LEAD[ann.profile]
            lead = float(med * np.exp(rng.normal(0, sig)))
            clock += lead + rng.exponential(5.0)
            ts = t0 + pd.Timedelta(seconds=clock)
            rows.append({"annotation_id": aid, "sample_id": task["sample_id"], "task_id": int(task["task_id"]),
                         "annotator": ann.name, "created_by": ann.name, "label": label, "lead_time_s": round(lead, 3),
                         "created_at": ts, "updated_at": ts, "round": task_round, "status": "active"})
            aid += 1
    return pd.DataFrame(rows, columns=["annotation_id", "sample_id", "task_id", "annotator", "created_by", "label",
                                       "lead_time_s", "created_at", "updated_at", "round", "status"])


def _answer(ann: Annotator, true: str, pred, majority: str, classes, cidx, conf, rng, K) -> str:
    p = ann.profile
    if p == "spammer":
        return classes[rng.integers(K)]
    if p == "lazy_majority":
        return majority
    if p == "lazy_accept":
        return str(pred) if isinstance(pred, str) and pred in cidx else majority
    if p == "adversarial" and true in ann.class_map:
        return ann.class_map[true]
    if true not in cidx or rng.random() < ann.accuracy:
        return true
    return classes[rng.choice(K, p=conf[cidx[true]])]


def _random_box(W: float, H: float, rng: np.random.Generator, label: str) -> dict:
    bw, bh = rng.uniform(0.05, 0.4) * W, rng.uniform(0.05, 0.4) * H
    x0, y0 = rng.uniform(0, W - bw), rng.uniform(0, H - bh)
    return {"label": label, "x_min": round(x0, 1), "y_min": round(y0, 1), "x_max": round(x0 + bw, 1),
            "y_max": round(y0 + bh, 1)}


def _boxes(ann: Annotator, true: str, pred, size: tuple[float, float], classes: list[str],
           rng: np.random.Generator) -> str:
    """One annotator's boxes for an image whose true boxes are `true` (see module docstring)."""
    W, H = float(size[0]), float(size[1])
    p = ann.profile
    if p == "spammer":
        return json.dumps([_random_box(W, H, rng, classes[rng.integers(len(classes))])
                           for _ in range(int(rng.integers(1, 5)))])
    if p == "lazy_majority":
        m = rng.uniform(0, 2, 4)
        return json.dumps([{"label": classes[0], "x_min": round(m[0], 1), "y_min": round(m[1], 1),
                            "x_max": round(W - m[2], 1), "y_max": round(H - m[3], 1)}])
    if p == "lazy_accept":
        boxes = json.loads(pred) if isinstance(pred, str) and pred.startswith("[") else []
        return json.dumps([{k: b[k] for k in ("label", "x_min", "y_min", "x_max", "y_max")} for b in boxes])
    err = 1.0 - ann.accuracy
    out = []
    for b in json.loads(true):
        if rng.random() < 0.5 * err:                    # missed
            continue
        label = b["label"]
        if p == "adversarial" and label in ann.class_map:
            label = ann.class_map[label]
        elif rng.random() < 0.5 * err and len(classes) > 1:
            label = classes[rng.choice([k for k, c in enumerate(classes) if c != label])]
        w, h = b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]
        sd = 0.03 + 0.15 * err
        x0, x1 = b["x_min"] + rng.normal(0, sd) * w, b["x_max"] + rng.normal(0, sd) * w
        y0, y1 = b["y_min"] + rng.normal(0, sd) * h, b["y_max"] + rng.normal(0, sd) * h
        x0, x1 = sorted((float(np.clip(x0, 0, W)), float(np.clip(x1, 0, W))))
        y0, y1 = sorted((float(np.clip(y0, 0, H)), float(np.clip(y1, 0, H))))
        if x1 - x0 >= 1 and y1 - y0 >= 1:
            out.append({"label": label, "x_min": round(x0, 1), "y_min": round(y0, 1), "x_max": round(x1, 1),
                        "y_max": round(y1, 1)})
    for _ in range(int(rng.poisson(0.6 * err))):        # spurious boxes
        out.append(_random_box(W, H, rng, classes[rng.integers(len(classes))]))
    return json.dumps(out)
