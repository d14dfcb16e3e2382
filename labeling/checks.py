"""Annotation checks: each a small function returning flags with a reason string.

Flags are rows of (sample_id, annotation_id, annotator, check, reason); an
`annotation_id` of None flags the whole sample. The validation stage
(`labeling.validate`) runs them and turns flags into quarantine entries. Beside
them: `agreement` (Krippendorff's alpha and its interval), `annotators` (each
annotator's estimates and verdict) and `label_errors` (the model-based check).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dataprep.core import store
from dataprep.core.ids import among

FLAG_COLUMNS = ["sample_id", "annotation_id", "annotator", "check", "reason"]


def flags_of(df: pd.DataFrame, check: str, reasons) -> pd.DataFrame:
    out = df[["sample_id", "annotation_id", "annotator"]].copy()
    out["check"], out["reason"] = check, list(reasons)
    return out[FLAG_COLUMNS]


def no_flags() -> pd.DataFrame:
    return pd.DataFrame(columns=FLAG_COLUMNS)


# ------------------------------------------------------------------ schema
def box_problem(box: dict, width: float | None, height: float | None, label_set: set[str]) -> str | None:
    """Why a pixel box {x_min, y_min, x_max, y_max, label} is invalid, or None."""
    try:
        x0, y0, x1, y1 = (float(box[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
    except (KeyError, TypeError, ValueError):
        return "box without x_min/y_min/x_max/y_max"
    if box.get("label") not in label_set:
        return f"box label {box.get('label')!r} not in the label set"
    if x1 < x0 or y1 < y0:
        return f"inverted corners ({x0},{y0})-({x1},{y1})"
    if x1 == x0 or y1 == y0:
        return "zero-area box"
    if width is not None and height is not None and (x0 < 0 or y0 < 0 or x1 > width or y1 > height):
        return f"box ({x0},{y0})-({x1},{y1}) outside the {int(width)}x{int(height)} image"
    return None


def schema(annotations: pd.DataFrame, label_set: set[str], task: str = "classification",
           sizes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Labels outside the set, empty results, and (detection) bad boxes."""
    reasons = []
    wh = sizes.set_index("sample_id")[["width", "height"]] if sizes is not None else None
    for row in annotations.itertuples(index=False):
        label = row.label
        empty = ("",) if task == "detection" else ("", "[]")     # no box is an answer: nothing to see
        if label is None or (isinstance(label, float) and np.isnan(label)) or str(label).strip() in empty:
            reasons.append("empty result")
            continue
        if task == "classification":
            reasons.append(None if label in label_set else _not_a_class(str(label)))
            continue
        try:
            boxes = json.loads(label)
        except json.JSONDecodeError:
            reasons.append("detection label is not a JSON list of boxes")
            continue
        w, h = (wh.loc[row.sample_id].tolist() if wh is not None and row.sample_id in wh.index else (None, None))
        problems = [p for b in boxes if (p := box_problem(b, w, h, label_set))]
        reasons.append("; ".join(problems) if problems else None)
    mask = pd.Series([r is not None for r in reasons], index=annotations.index, dtype=bool)
    return flags_of(annotations[mask], "schema", [r for r in reasons if r is not None])


def _not_a_class(label: str) -> str:
    """The reason for a classification label outside the set; the mirror encodes results that
    hold no single choice as JSON (see `labeling.studio_backend.result_to_label`)."""
    try:
        parsed = json.loads(label)
    except (json.JSONDecodeError, TypeError):
        parsed = None
    if isinstance(parsed, list):
        return f"{len(parsed)} choices ({', '.join(map(str, parsed))}) on a single-choice task"
    if isinstance(parsed, dict) and "no_choice" in parsed:
        return f"result has no choice, only {', '.join(parsed['no_choice']) or 'other fields'}"
    return f"label {label!r} is not in the label set"


def unknown_samples(annotations: pd.DataFrame, known: set[str]) -> pd.DataFrame:
    """Annotations on samples the dataset does not have (a task edited or made by hand)."""
    bad = annotations[~among(annotations["sample_id"], known)]
    return flags_of(bad, "unknown_sample", [f"sample {s!r} is not in the dataset (manifest)" for s in bad["sample_id"]])


def conflicting_versions(log: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Current annotations whose id and time were mirrored twice with different content: the
    backend reused an id, or changed an annotation without a new timestamp."""
    if log.empty:
        return no_flags()
    n = log.groupby(["annotation_id", "updated_at", "status"], dropna=False)["label"].nunique(dropna=False)
    ids = set(n[n > 1].index.get_level_values(0))
    bad = current[current["annotation_id"].isin(ids)]
    return flags_of(bad, "conflicting_versions",
                  [f"annotation {i} was received with different content under one id and time" for i in bad["annotation_id"]])


def lead_times(annotations: pd.DataFrame) -> dict[str, str]:
    """{annotation_id: why its lead time does not count} (excluded from cost, not quarantined)."""
    out = {}
    for aid, v in zip(annotations["annotation_id"], annotations["lead_time_s"]):
        why = store.lead_time_problem(v)
        if why is not None:
            out[str(aid)] = why
    return out


# ------------------------------------------------------------------ provenance
def provenance(annotations: pd.DataFrame) -> pd.DataFrame:
    """Annotations recorded as created by one user but `completed_by` another."""
    known = annotations["created_by"].notna()
    bad = annotations[known & (annotations["created_by"] != annotations["annotator"])]
    return flags_of(bad, "provenance",
                  [f"created by {c!r} but recorded as completed by {a!r}" for c, a in zip(bad["created_by"], bad["annotator"])])


def split_blocked(usable: pd.DataFrame, quality: pd.DataFrame, listed) -> tuple[set, pd.DataFrame, pd.DataFrame]:
    """The annotators blocked by their verdict or listed in `validate.blocked_annotators`, one
    `blocked_annotator` flag per annotation of theirs (with the evidence), and the kept rest."""
    blocked = set(quality.loc[quality["verdict"] == "blocked", "annotator"]) | set(listed)
    mine = usable[usable["annotator"].isin(blocked)]
    ev = quality.set_index("annotator")["evidence"]
    flags = flags_of(mine, "blocked_annotator",
                     [f"annotator {a} blocked: {ev.get(a, 'listed in params')}" for a in mine["annotator"]])
    return blocked, flags, usable[~usable["annotator"].isin(blocked)]
