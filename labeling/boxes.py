"""Box geometry shared by box consensus, box checks and detection rounds.

A detection label is a JSON list of boxes in pixels of the image as displayed
(EXIF orientation applied): `{"label", "x_min", "y_min", "x_max", "y_max"}`,
plus, on fused boxes, `score` and `annotators`. An empty list is a valid answer:
the annotator saw no object.
"""

from __future__ import annotations

import json

import numpy as np
from scipy.optimize import linear_sum_assignment

CORNERS = ("x_min", "y_min", "x_max", "y_max")


def parse(label) -> list[dict]:
    """The boxes of a detection label (a JSON string or an already parsed list); [] for none."""
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return []
    boxes = json.loads(label) if isinstance(label, str) else label
    return list(boxes)


def to_array(boxes: list[dict]) -> np.ndarray:
    """(n, 4) float array of x_min, y_min, x_max, y_max."""
    return np.array([[float(b[k]) for k in CORNERS] for b in boxes], dtype=float).reshape(-1, 4)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of two sets of xyxy boxes."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one matching of boxes a to boxes b maximising total IoU (Hungarian), keeping
    pairs with IoU >= threshold: [(i, j, iou)]."""
    if len(a) == 0 or len(b) == 0:
        return []
    m = iou(a, b)
    rows, cols = linear_sum_assignment(-m)
    return [(int(i), int(j), float(m[i, j])) for i, j in zip(rows, cols) if m[i, j] >= threshold]


def f1_against(boxes: list[dict], truth: list[dict], threshold: float = 0.5) -> tuple[int, int, int]:
    """(true positives, false positives, misses) of `boxes` against `truth`: a box counts
    when it overlaps a true box of the same class with IoU >= threshold (one-to-one)."""
    a, t = to_array(boxes), to_array(truth)
    if len(a) and len(t):
        same = np.array([[x["label"] == y["label"] for y in truth] for x in boxes])
        m = np.where(same, iou(a, t), 0.0)
        rows, cols = linear_sum_assignment(-m)
        tp = int((m[rows, cols] >= threshold).sum())
    else:
        tp = 0
    return tp, len(boxes) - tp, len(truth) - tp


def micro_f1(labels, truth) -> float | None:
    """Micro box F1 of box labels (JSON or lists) against true boxes, paired in order (IoU >= 0.5,
    same class); None when neither holds a box."""
    tp = fp = fn = 0
    for a, t in zip(labels, truth):
        x, y, z = f1_against(parse(a), parse(t))
        tp, fp, fn = tp + x, fp + y, fn + z
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else None


def describe(box: dict) -> str:
    """A box as people read it in a reason: 'car (12,30)-(80,96)'."""
    return f"{box.get('label')} ({box['x_min']:.0f},{box['y_min']:.0f})-({box['x_max']:.0f},{box['y_max']:.0f})"
