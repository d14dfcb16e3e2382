"""Model-based label-error detection for boxes: where the team's detector and the accepted
boxes of an image disagree, and how.

Each accepted box is compared with the detector's boxes (pixels of the displayed image, each
with a score) that overlap it; each confident detector box with the accepted boxes:
- `wrong_class`: the detector is confident (score >= `min_score`) of a box of another class at
  the same place (IoU >= `match_iou`) and not of this class there;
- `bad_location`: the detector is confident of this class only at a place that overlaps the
  box partly (`overlap_iou` <= IoU < `match_iou`);
- `spurious`: no detector box of any class overlaps the accepted box with a score above
  `min_score` (the detector sees nothing there);
- `missing`: a confident detector box overlaps no accepted box at all (IoU < `overlap_iou`).
Each issue has a strength in [0, 1]: the detector's score for what it sees instead (for a
spurious box, 1 - the best score of any detector box over it). An image's label quality is
1 - its strongest issue; an image with any issue is flagged.

What a flag costs is not decided here: `labeling.box_validate` lets a detector that has earned
trust on the labels it can be checked against (gold images, agreed consensus) quarantine the
image, and a weaker one only ask for another annotation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling import boxes as bx

ISSUE_COLUMNS = ["sample_id", "kind", "box", "strength", "reason"]


def _overlaps(label_boxes: list[dict], pred: list[dict]) -> np.ndarray:
    return bx.iou(bx.to_array(label_boxes), bx.to_array(pred)) if label_boxes and pred else \
        np.zeros((len(label_boxes), len(pred)))


def image_issues(sid: str, label_boxes: list[dict], pred: list[dict], min_score: float = 0.5,
                 match_iou: float = 0.5, overlap_iou: float = 0.1) -> list[dict]:
    """The issues of one image (rows of ISSUE_COLUMNS); see the module docstring."""
    out = []
    m = _overlaps(label_boxes, pred)
    scores = np.array([float(p.get("score", 1.0)) for p in pred])
    classes = np.array([p["label"] for p in pred], dtype=object)
    for i, b in enumerate(label_boxes):
        row = m[i] if len(pred) else np.zeros(0)
        same = (classes == b["label"]) if len(pred) else np.zeros(0, bool)
        at = row >= match_iou
        s_same = scores[at & same].max(initial=0.0)
        if s_same >= min_score:
            continue
        other = at & ~same & (scores >= min_score)
        near = same & (row >= overlap_iou) & ~at & (scores >= min_score)
        if other.any():
            k = int(np.flatnonzero(other)[scores[other].argmax()])
            out.append({"kind": "wrong_class", "box": b, "strength": float(scores[k]),
                        "reason": f"{bx.describe(b)}: the detector sees {classes[k]!r} there "
                                  f"(score {scores[k]:.2f}; {b['label']!r} {s_same:.2f})"})
        elif near.any():
            k = int(np.flatnonzero(near)[scores[near].argmax()])
            out.append({"kind": "bad_location", "box": b, "strength": float(scores[k]),
                        "reason": f"{bx.describe(b)}: the detector places it at {bx.describe(pred[k])} "
                                  f"(IoU {row[k]:.2f}, score {scores[k]:.2f})"})
        else:
            over = scores[row >= overlap_iou].max(initial=0.0)
            if over < min_score:
                out.append({"kind": "spurious", "box": b, "strength": float(1.0 - over),
                            "reason": f"{bx.describe(b)}: the detector sees no object there "
                                      f"(best score over it {over:.2f})"})
    covered = (m >= overlap_iou).any(0) if len(label_boxes) else np.zeros(len(pred), bool)
    for k, p in enumerate(pred):
        if scores[k] >= min_score and not covered[k]:
            out.append({"kind": "missing", "box": {key: p[key] for key in ("label", *bx.CORNERS)},
                        "strength": float(scores[k]),
                        "reason": f"no box where the detector sees {bx.describe(p)} (score {scores[k]:.2f})"})
    return [{"sample_id": sid, **r} for r in out]


def find_box_issues(labels: dict[str, list[dict]], predictions: dict[str, list[dict]], min_score: float = 0.5,
                    match_iou: float = 0.5, overlap_iou: float = 0.1) -> pd.DataFrame:
    """Every issue of every image in `labels` (sample id -> boxes) against `predictions`
    (sample id -> the detector's boxes with scores; an image it has no entry for is skipped)."""
    if not 0.0 < overlap_iou < match_iou <= 1.0:
        raise ValueError(f"find_box_issues: need 0 < overlap_iou < match_iou <= 1, got {overlap_iou}, {match_iou}")
    rows = []
    for sid, boxes in labels.items():
        if sid in predictions:
            rows += image_issues(sid, list(boxes), list(predictions[sid]), min_score, match_iou, overlap_iou)
    return pd.DataFrame(rows, columns=ISSUE_COLUMNS)


def label_quality(issues: pd.DataFrame, sample_ids) -> pd.Series:
    """Per image, 1 - its strongest issue (1.0: the detector agrees with every box)."""
    worst = issues.groupby("sample_id")["strength"].max() if len(issues) else pd.Series(dtype=float)
    return 1.0 - worst.reindex(list(sample_ids)).fillna(0.0)


def detector_f1(labels: dict[str, list[dict]], predictions: dict[str, list[dict]], min_score: float = 0.5
                ) -> tuple[float | None, int]:
    """Box F1 (IoU >= 0.5, same class) of the detector's confident boxes against `labels`, over
    the images both have, and how many images that is: how far the detector can be trusted."""
    both = [s for s in labels if s in predictions]
    sure = [[p for p in predictions[s] if float(p.get("score", 1.0)) >= min_score] for s in both]
    return bx.micro_f1(sure, [labels[s] for s in both]), len(both)
