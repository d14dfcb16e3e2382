"""Model-based label-error detection: out-of-sample class probabilities (logistic regression
and, below KNN_MAX_ROWS, a k-NN vote) and cleanlab's filter over them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dataprep.core import linear
from labeling.checks import flags_of

KNN_MAX_ROWS = 50_000


def _proba_model(random_state: int = 0, n_rows: int = 0, sparse: bool = False):
    """Logistic regression soft-voted with 15-NN on dense features. The k-NN vote is robust
    to label noise (one wrong neighbour moves p by 1/15) and the linear model is smooth where
    k-NN is coarse; together they flagged noise better than either on digits in
    `benchmarks/label_validation.py`. On sparse text TF-IDF, logistic regression alone: the
    cosine 15-NN vote lowered F1 on newsarticles under all three noises at 20% (that script at
    commit 48b6b6b, 5 seeds: `ours` .812/.649/.584, `cleanlab_lr_prune_by_class` .827/.664/.639).
    k-NN is dropped above KNN_MAX_ROWS (cost) and under 30 rows."""
    from sklearn.ensemble import VotingClassifier

    lr = linear.logistic(random_state)
    if sparse or n_rows > KNN_MAX_ROWS or n_rows < 30:
        return lr
    return VotingClassifier([("lr", lr), ("knn", linear.knn(15, sparse))], voting="soft")


PARALLEL_FROM = 4000    # labels from which the folds run in two processes


def fit_proba(X: np.ndarray, y: np.ndarray, X_new: np.ndarray, random_state: int = 0) -> np.ndarray:
    """Probabilities for X_new from the same model fit on all of (X, y)."""
    return _proba_model(random_state, X.shape[0], sp.issparse(X)).fit(X, y).predict_proba(X_new)


def out_of_sample_proba(X: np.ndarray, y: np.ndarray, folds: int = 5, random_state: int = 0,
                        exclude: np.ndarray | None = None, model=None, clean: bool = False) -> np.ndarray | None:
    """Cross-validated class probabilities (columns in sorted label order), or None if too few labels.
    `exclude` (a boolean per row): rows no fold's model trains on, though every row is predicted;
    a fold whose training rows of a class are all excluded keeps them (`_emptied`).
    `clean`: two passes; the second's folds train without the labels the first pass's
    probabilities flag (`flagged`), so a wrong label does not teach the model that judges it.
    `model`: an unfitted classifier in place of ours (`_proba_model`);
    `benchmarks/label_validation.py` gives its baselines plain LR this way."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    counts = pd.Series(y).value_counts()
    if len(counts) < 2 or counts.min() < 2:
        return None
    k = int(min(folds, counts.min()))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    ours = model is None
    if ours:
        model = _proba_model(random_state, X.shape[0], sp.issparse(X))
    if clean:
        first = out_of_sample_proba(X, y, folds, random_state, exclude, None if ours else model)
        drop = flagged(y, first, exclude)
        if not drop.any() or (exclude is not None and (drop == exclude).all()):
            return first
        return out_of_sample_proba(X, y, folds, random_state, drop, None if ours else model)
    if exclude is None:
        # two processes only where the folds outweigh starting them (about 2.5 s): serial 5-fold LR+kNN
        # on 800 columns took 0.6 s at 60 labels, 1.6 s at 2,000, 5.8 s at 5,000 (2.3 s on two warm ones)
        return cross_val_predict(model, X, y, cv=cv, method="predict_proba",
                                 n_jobs=min(k, 2) if len(y) >= PARALLEL_FROM else 1)
    classes = np.unique(y)
    proba = np.zeros((len(y), len(classes)))
    for train, test in cv.split(np.zeros(len(y)), y):
        keep = train[~exclude[train] | _emptied(y[train], exclude[train])]
        # ours is chosen by the rows it trains on: k-NN needs 15 of them
        fit = (_proba_model(random_state, len(keep), sp.issparse(X)) if ours else clone(model)).fit(X[keep], y[keep])
        proba[np.ix_(test, np.searchsorted(classes, fit.classes_))] = fit.predict_proba(X[test])
    return proba


def _issues(codes: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """cleanlab's `prune_by_class` filter: a boolean per row."""
    from cleanlab.filter import find_label_issues

    with warnings.catch_warnings():     # "too few examples in class" is expected early in a loop
        warnings.simplefilter("ignore")
        # n_jobs=1: cleanlab's pool shares its inputs through globals a forked child inherits;
        # under `spawn` (the ML backend's trainer) they are missing, and the work is small
        return find_label_issues(codes, pred_probs, filter_by="prune_by_class", n_jobs=1)


def _emptied(y: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """The rows of the classes `exclude` would take every row of (as `flagged` keeps a class whose
    rows are mostly flagged: the model cannot judge a class it never sees). Per fold, with few
    labels, the class's other rows may all be in the held-out part."""
    lost = np.setdiff1d(y, y[~exclude])
    return np.isin(y, lost)


def flagged(y: np.ndarray, pred_probs: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """The rows whose label the out-of-sample probabilities flag (`_issues`), for a second
    pass to leave out of training, with `exclude` (rows left out already). A class is never
    emptied: where more than half of a class's rows are flagged, the model has not learned
    that class, and none of them are left out."""
    classes = np.unique(y)
    out = np.zeros(len(y), bool) if exclude is None else exclude.copy()
    if len(classes) < 2:
        return out
    hit = _issues(np.searchsorted(classes, y), pred_probs)
    share = pd.Series(hit).groupby(y).transform("mean").to_numpy()
    return out | (hit & (share <= 0.5))


def label_errors(sample_ids: np.ndarray, labels: np.ndarray, pred_probs: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Confident learning (cleanlab `find_label_issues`) on out-of-sample probabilities.

    cleanlab (Apache-2.0 since 2.9) implements the confident-joint estimate and
    its filters well; we use its `prune_by_class` filter. What we add is better
    probabilities (see `_proba_model`, and `out_of_sample_proba(clean=True)`).
    """
    if len(set(labels)) < 2:     # cleanlab needs two classes among the labels it checks (one new single label)
        return flags_of(pd.DataFrame({"sample_id": [], "annotation_id": [], "annotator": []}), "label_error", [])
    lookup = {c: i for i, c in enumerate(classes)}
    issues = _issues(np.array([lookup[v] for v in labels]), pred_probs)
    guess = np.asarray(classes, dtype=object)[pred_probs.argmax(1)]
    df = pd.DataFrame({"sample_id": sample_ids[issues], "annotation_id": None, "annotator": None})
    reasons = [f"label {labels[i]!r} looks wrong: model (out-of-sample) says {guess[i]!r} "
               f"with p={pred_probs[i].max():.2f}" for i in np.flatnonzero(issues)]
    return flags_of(df, "label_error", reasons)
