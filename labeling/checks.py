"""Label checks: each a small function returning flags with a reason string.

Flags are rows of (sample_id, annotation_id, annotator, check, reason); an
`annotation_id` of None flags the whole sample. The validation stage
(`labeling.validate`) runs them and turns flags into quarantine entries.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dataprep.core import linear, store

FLAG_COLUMNS = ["sample_id", "annotation_id", "annotator", "check", "reason"]


def _flags(df: pd.DataFrame, check: str, reasons) -> pd.DataFrame:
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
        if label is None or (isinstance(label, float) and np.isnan(label)) or str(label).strip() in ("", "[]"):
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
    return _flags(annotations[mask], "schema", [r for r in reasons if r is not None])


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
    bad = annotations[~annotations["sample_id"].isin(known)]
    return _flags(bad, "unknown_sample", [f"sample {s!r} is not in the dataset (manifest)" for s in bad["sample_id"]])


def conflicting_versions(log: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Current annotations whose id and time were mirrored twice with different content: the
    backend reused an id, or changed an annotation without a new timestamp."""
    if log.empty:
        return no_flags()
    n = log.groupby(["annotation_id", "updated_at", "status"], dropna=False)["label"].nunique(dropna=False)
    ids = set(n[n > 1].index.get_level_values(0))
    bad = current[current["annotation_id"].isin(ids)]
    return _flags(bad, "conflicting_versions",
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
    return _flags(bad, "provenance",
                  [f"created by {c!r} but recorded as completed by {a!r}" for c, a in zip(bad["created_by"], bad["annotator"])])


# ------------------------------------------------------------------ agreement
def _pairable(items: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per item with two or more labels: its total m, the within-item matching pairs term
    sum_c C_ic (C_ic - 1) / (m - 1), and its label counts C_i. Alpha is a ratio of sums of these,
    which makes the bootstrap a weighted sum."""
    _, i_idx = np.unique(items, return_inverse=True)
    cls, l_idx = np.unique(labels, return_inverse=True)
    C = np.zeros((i_idx.max() + 1 if len(i_idx) else 0, len(cls)))
    np.add.at(C, (i_idx, l_idx), 1)
    m = C.sum(1)
    C, m = C[m >= 2], m[m >= 2]
    match = (C * (C - 1)).sum(1) / np.maximum(m - 1, 1)
    return np.c_[m, match], C, len(cls)


def _alpha_from_sums(n: np.ndarray, match: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    expected = n * n - (n_c ** 2).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1 - (n - 1) * (n - match) / expected, 1.0)


def krippendorff_alpha(items: np.ndarray, labels: np.ndarray) -> float:
    """Nominal Krippendorff's alpha from (item, label) pairs; items with one label are ignored."""
    S, C, k = _pairable(items, labels)
    if len(C) == 0 or k < 2:
        return float("nan")
    return float(_alpha_from_sums(S[:, 0].sum(), S[:, 1].sum(), C.sum(0)))


def alpha_interval(items: np.ndarray, labels: np.ndarray, level: float = 0.9, n_boot: int = 2000,
                   seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval of alpha over items (Hayes & Krippendorff 2007): a batch of 20 tasks
    measures agreement to about +-0.1, and a gate should not stop the line on that noise."""
    S, C, k = _pairable(items, labels)
    if len(C) < 2 or k < 2:
        return float("nan"), float("nan")
    w = np.random.default_rng(seed).multinomial(len(C), np.full(len(C), 1 / len(C)), size=n_boot).astype(float)
    a = _alpha_from_sums(w @ S[:, 0], w @ S[:, 1], w @ C)
    lo, hi = np.quantile(a, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def agreement(annotations: pd.DataFrame) -> dict:
    """Krippendorff's alpha overall (with its 90% bootstrap interval) and per class (class vs rest)."""
    items, labels = annotations["sample_id"].to_numpy(), annotations["label"].astype(str).to_numpy()
    per_class = {c: krippendorff_alpha(items, np.where(labels == c, c, "\0other")) for c in np.unique(labels)}
    return {"alpha": krippendorff_alpha(items, labels), "alpha_interval": alpha_interval(items, labels),
            "alpha_per_class": per_class}


# ------------------------------------------------------------------ annotators
def annotator_quality(annotations: pd.DataFrame, consensus: pd.Series, ds, tasks: pd.DataFrame,
                      gold_truth: pd.Series, cfg) -> pd.DataFrame:
    """Per annotator: estimated accuracy and confusion, gold accuracy, agreement with
    consensus, speed, pre-annotation acceptance, and a verdict with the evidence."""
    a = annotations.merge(tasks[["sample_id", "prediction", "gold"]].drop_duplicates("sample_id"), on="sample_id", how="left")
    a["consensus"] = a["sample_id"].map(consensus)
    a["lead_time_s"] = store.counted_lead_time(a["lead_time_s"])
    crowd_lead = float(a["lead_time_s"].median()) if a["lead_time_s"].notna().any() else np.nan
    rows = []
    classes = list(ds.classes_)
    for name, g in a.groupby("annotator"):
        est = float(ds.skill_.get(name, np.nan))
        agree = float((g["label"] == g["consensus"]).mean())
        gold = g[g["sample_id"].isin(gold_truth.index)]
        gold_acc = float((gold["label"] == gold["sample_id"].map(gold_truth)).mean()) if len(gold) else np.nan
        lead = float(g["lead_time_s"].median()) if g["lead_time_s"].notna().any() else np.nan
        with_pred = g[g["prediction"].notna() & (g["prediction"] != g["consensus"])]
        accept_wrong = float((with_pred["label"] == with_pred["prediction"]).mean()) if len(with_pred) >= 5 else np.nan
        maps = []
        if name in set(ds.workers_):
            conf = ds.confusion_[list(ds.workers_).index(name)]
            support = g.groupby("consensus").size()
            for k, c in enumerate(classes):
                j = int(np.argmax(conf[k]))
                if j != k and conf[k, j] > 0.6 and support.get(c, 0) >= 8:
                    maps.append(f"{c}->{classes[j]}")
        evidence, verdict = [], "trusted"
        if name in cfg.blocked_annotators:
            verdict, evidence = "blocked", ["listed in validate.blocked_annotators"]
        # block only when even an optimistic bound (90%) on the accuracy is too low: a good
        # annotator with a handful of unlucky annotations is watched, not blocked
        upper = est + 1.28 * np.sqrt(max(est * (1 - est), 0.01) / len(g))
        if upper < cfg.block_accuracy:
            verdict = "blocked"
            evidence.append(f"estimated accuracy {est:.2f} (at most {upper:.2f}) < {cfg.block_accuracy}")
        elif est < cfg.watch_accuracy:
            verdict = "watch" if verdict == "trusted" else verdict
            evidence.append(f"estimated accuracy {est:.2f} < {cfg.watch_accuracy}")
        if len(gold) >= 5 and gold_acc < cfg.block_accuracy:
            verdict = "blocked"
            evidence.append(f"gold accuracy {gold_acc:.2f} on {len(gold)} gold tasks")
        if maps:
            verdict = "blocked"
            evidence.append("systematically maps " + ", ".join(maps))
        if not np.isnan(accept_wrong) and accept_wrong > 0.8:
            verdict = "blocked"
            evidence.append(f"accepts the pre-annotation even when it is wrong ({accept_wrong:.0%})")
        if crowd_lead and not np.isnan(lead) and lead < 0.3 * crowd_lead:
            verdict = "watch" if verdict == "trusted" else verdict
            evidence.append(f"median lead time {lead:.1f}s vs crowd {crowd_lead:.1f}s")
        rows.append({"annotator": name, "n_annotations": len(g), "est_accuracy": round(est, 4),
                     "consensus_agreement": round(agree, 4), "gold_accuracy": gold_acc, "n_gold": len(gold),
                     "median_lead_time_s": round(lead, 2), "accepts_wrong_preannotation": accept_wrong,
                     "class_map": ", ".join(maps), "verdict": verdict, "evidence": "; ".join(evidence)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ model-based
KNN_MAX_ROWS = 50_000


def _proba_model(random_state: int = 0, n_rows: int = 0, sparse: bool = False):
    """Logistic regression soft-voted with 15-NN. The k-NN vote is robust to label noise
    (one wrong neighbour moves p by 1/15) and the linear model is smooth where k-NN is
    coarse; together they flagged noise better than either on image, tabular and small
    data in `benchmarks/label_validation.py`. k-NN is dropped above KNN_MAX_ROWS (cost).
    Sparse text TF-IDF goes in as it is (cosine k-NN), like the selection model reads it."""
    from sklearn.ensemble import VotingClassifier

    lr = linear.logistic(random_state)
    if n_rows > KNN_MAX_ROWS or n_rows < 30:
        return lr
    return VotingClassifier([("lr", lr), ("knn", linear.knn(15, sparse))], voting="soft")


def fit_proba(X: np.ndarray, y: np.ndarray, X_new: np.ndarray, random_state: int = 0) -> np.ndarray:
    """Probabilities for X_new from the same model fit on all of (X, y)."""
    return _proba_model(random_state, X.shape[0], sp.issparse(X)).fit(X, y).predict_proba(X_new)


def out_of_sample_proba(X: np.ndarray, y: np.ndarray, folds: int = 5, random_state: int = 0) -> np.ndarray | None:
    """Cross-validated class probabilities (columns in sorted label order), or None if too few labels."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    counts = pd.Series(y).value_counts()
    if len(counts) < 2 or counts.min() < 2:
        return None
    k = int(min(folds, counts.min()))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    return cross_val_predict(_proba_model(random_state, X.shape[0], sp.issparse(X)), X, y, cv=cv, method="predict_proba", n_jobs=min(k, 2))


def label_errors(sample_ids: np.ndarray, labels: np.ndarray, pred_probs: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Confident learning (cleanlab `find_label_issues`) on out-of-sample probabilities.

    cleanlab (Apache-2.0 since 2.9) implements the confident-joint estimate and
    its filters well; we use its `prune_by_class` filter. What we add is better
    probabilities (see `_proba_model`).
    """
    from cleanlab.filter import find_label_issues

    lookup = {c: i for i, c in enumerate(classes)}
    y = np.array([lookup[v] for v in labels])
    import warnings

    with warnings.catch_warnings():     # "too few examples in class" is expected early in a loop
        warnings.simplefilter("ignore")
        issues = find_label_issues(y, pred_probs, filter_by="prune_by_class")
    guess = np.asarray(classes, dtype=object)[pred_probs.argmax(1)]
    df = pd.DataFrame({"sample_id": sample_ids[issues], "annotation_id": None, "annotator": None})
    reasons = [f"label {labels[i]!r} looks wrong: model (out-of-sample) says {guess[i]!r} "
               f"with p={pred_probs[i].max():.2f}" for i in np.flatnonzero(issues)]
    return _flags(df, "label_error", reasons)
