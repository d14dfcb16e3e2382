"""Machine labels with a stated error bound (`label.auto_accept`).

A model label is accepted without a human only where an upper confidence bound on the error
rate of such labels stays below `max_error`. The bound comes from the *audit*: each round,
`select` sends a random share of the pool (strategy `audit`, drawn whatever the model says of
the samples) to annotators like any other task. Once humans have settled them, their
out-of-sample model prediction (cross-validated: the model never saw the audited label) is
compared with the accepted human label.

For a threshold t, the audited samples with confidence >= t (read now, out of sample) are a
random sample of the would-be auto-labels at t (a sample the model became sure of lately is as
likely to be audited as one it was always sure of); their errors give a one-sided Clopper-Pearson upper bound at
`confidence`. Thresholds are tested from the strictest down (fixed-sequence testing, which
needs no correction for testing several: the first failure stops) and the loosest one that
passes is used. A threshold is skipped, not failed, when it has fewer audited samples than
even zero errors would need to pass (that count depends on the confidences only, never on the
errors, so skipping keeps the guarantee). With probability >= `confidence`, the error rate of
the accepted auto-labels is <= `max_error`, assuming the audited and the auto-labeled samples
are exchangeable (both from the pool, the audit drawn at random; human labels taken as truth).

Every validate run recomputes it from the whole audit, so a model that gets worse, or an audit
that finds more errors, revokes the auto-labels (`revoked` in `label_quality.json`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta

from dataprep.core.models import make_model, model_version

# the confidence thresholds tested, strictest first
THRESHOLDS = (0.999, 0.995, 0.99, 0.98, 0.97, 0.95, 0.9, 0.85, 0.8)


def upper_bound(errors: int, n: int, confidence: float) -> float:
    """One-sided Clopper-Pearson upper bound on an error rate seen as errors / n."""
    if n <= 0:
        return 1.0
    if errors >= n:
        return 1.0
    return float(beta.ppf(confidence, errors + 1, n - errors))


def min_audit(max_error: float, confidence: float) -> int:
    """Audited samples needed for zero errors to bound the rate below max_error."""
    return int(math.ceil(math.log(1 - confidence) / math.log(1 - max_error)))


def calibrate(conf: np.ndarray, wrong: np.ndarray, max_error: float, confidence: float) -> dict[str, Any]:
    """The loosest threshold whose bound passes, by fixed-sequence testing (module docstring)."""
    need = min_audit(max_error, confidence)
    tested, chosen = [], None
    for t in THRESHOLDS:
        m = conf >= t
        n, e = int(m.sum()), int(wrong[m].sum())
        if n < need:
            tested.append({"threshold": t, "audited": n, "errors": e, "bound": None, "passed": None})
            continue
        u = upper_bound(e, n, confidence)
        tested.append({"threshold": t, "audited": n, "errors": e, "bound": round(u, 4), "passed": u <= max_error})
        if u > max_error:
            break
        chosen = {"threshold": t, "audited": n, "errors": e, "bound": u}
    return {"chosen": chosen, "tested": tested, "min_audit": need}


def out_of_sample(model_factory, X, y: np.ndarray, rows: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Probabilities for `rows` of X from models that never saw their labels (K folds over rows)."""
    from sklearn.model_selection import KFold

    proba = np.zeros((len(rows), len(np.unique(y))))
    classes = np.unique(y)
    if len(rows) < 2:
        return proba
    k = int(min(folds, len(rows)))
    everyone = np.arange(X.shape[0])
    for train_r, test_r in KFold(k, shuffle=True, random_state=seed).split(rows):
        held = rows[test_r]
        keep = np.setdiff1d(everyone, held)
        m = model_factory().fit(X[keep], y[keep])
        p = m.predict_proba(X[held])
        cols = np.searchsorted(classes, m.classes_)
        proba[np.ix_(test_r, cols)] = p
    return proba


def auto_labels(project, human: pd.DataFrame, audited: set[str], pool_ids: np.ndarray, X_of) -> tuple[pd.DataFrame, dict]:
    """Auto-labels (rows of `labels`, method `auto`) for `pool_ids` and the audit summary.

    `human`: accepted human labels (sample_id, label); `audited`: ids selected as audit;
    `X_of(ids)`: feature rows of those ids (what the selection model reads)."""
    cfg = project.cfg.label.auto_accept
    sel = project.cfg.select
    empty = human.iloc[:0].assign(method="auto")
    summary: dict[str, Any] = {"enabled": True, "max_error": cfg.max_error, "confidence": cfg.confidence,
                               "auto_labels": 0}
    human = human.sort_values("sample_id").reset_index(drop=True)
    y = human["label"].astype(str).to_numpy()
    if len(human) < 20 or len(np.unique(y)) < 2:
        return empty, summary | {"note": "too few human labels for a model"}
    X = X_of(human["sample_id"].to_numpy())

    def factory():
        return make_model(sel.model, sel.model_params, sel.random_state)

    rows = np.flatnonzero(human["sample_id"].isin(audited).to_numpy())
    summary["audited"] = int(len(rows))
    cal = {"chosen": None, "tested": [], "min_audit": min_audit(cfg.max_error, cfg.confidence)}
    if len(rows) >= 2:
        p = out_of_sample(factory, X, y, rows, project.cfg.validation.cv_folds, project.cfg.project.seed)
        classes = np.unique(y)
        conf, wrong = p.max(1), classes[p.argmax(1)] != y[rows]
        cal = calibrate(conf, wrong, cfg.max_error, cfg.confidence)
    summary.update(calibration=cal["tested"], min_audit=cal["min_audit"])
    chosen = cal["chosen"]
    if chosen is None or len(pool_ids) == 0:
        return empty, summary | {"note": f"no threshold passed: {summary['audited']} audited samples, and a bound "
                                         f"of {cfg.max_error:.0%} at {cfg.confidence:.0%} needs {cal['min_audit']} "
                                         "with no error (more with errors); label more rounds, or raise "
                                         "label.auto_accept.audit_share or max_error"}
    model = factory().fit(X, y)
    version = model_version(sel.model, sel.model_params, human.set_index("sample_id")["label"])
    out = []
    step = max(1000, sel.chunk_size)
    for start in range(0, len(pool_ids), step):
        ids = pool_ids[start:start + step]
        p = model.predict_proba(X_of(ids))
        keep = p.max(1) >= chosen["threshold"]
        out.append(pd.DataFrame({"sample_id": ids[keep], "label": np.asarray(model.classes_)[p.argmax(1)][keep].astype(str),
                                 "confidence": p.max(1)[keep]}))
    auto = pd.concat(out, ignore_index=True) if out else empty
    auto = auto.assign(method="auto", n_annotations=0, bound=chosen["bound"], model_version=version)
    summary.update(auto_labels=int(len(auto)), threshold=chosen["threshold"], bound=round(chosen["bound"], 4),
                   audit_errors=chosen["errors"], audit_n=chosen["audited"], model_version=version,
                   coverage=round(len(auto) / max(1, len(pool_ids)), 4))
    return auto, summary
