"""Models the round can fit: any scikit-learn classifier with `predict_proba`.

Default `logistic`: standardised features + multinomial logistic regression,
which trains in well under a second on thousands of rows and gives
probabilities calibrated enough for margin-based selection. Sparse input (text
TF-IDF, rows L2-normalised) is not centred (that would densify it) nor scaled
per column (that would blow up rare n-grams): it is multiplied by the square
root of the mean number of non-zeros per row, which puts a typical entry near
1 like a standardised dense feature, so one `C` suits both (unscaled, `C=0.5`
on raw TF-IDF predicts a single class from the few dozen labels of early
rounds; `tests/test_modalities.py::test_text_rounds` runs that loop).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler

from dataprep.errors import UserError

MODELS = ("logistic", "random_forest")


class DenseScaler(TransformerMixin, BaseEstimator):
    """StandardScaler for dense input; sparse input scaled by one factor (see module docstring)."""

    def fit(self, X, y=None):
        self.sparse_ = sp.issparse(X)
        if self.sparse_:
            self.scaler_, self.factor_ = None, float(np.sqrt(max(1.0, X.getnnz(axis=1).mean())))
        else:
            self.scaler_, self.factor_ = StandardScaler().fit(X), 1.0
        return self

    def transform(self, X):
        if sp.issparse(X):
            return X * self.factor_
        return self.scaler_.transform(X) if self.scaler_ is not None else X


def make_model(name: str, params: dict[str, Any] | None = None, random_state: int | None = 0) -> BaseEstimator:
    """A fresh, unfitted classifier named by `select.model`."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    params = dict(params or {})
    try:
        if name == "logistic":
            kw = {"C": 0.5, "max_iter": 2000, **params}
            return make_pipeline(DenseScaler(), LogisticRegression(random_state=random_state, **kw))
        if name == "random_forest":
            kw = {"n_estimators": 200, "n_jobs": 2, **params}
            return RandomForestClassifier(random_state=random_state, **kw)
    except TypeError as exc:
        raise UserError(f"select.model_params: {exc}") from exc
    mod, _, cls_name = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(mod), cls_name) if mod else None
    except ImportError:
        cls = None
    if cls is None:
        raise UserError(f"select.model: unknown model {name!r}; use one of {', '.join(MODELS)} "
                        "or a dotted class path such as sklearn.svm.SVC")
    if "random_state" in inspect.signature(cls).parameters:
        params.setdefault("random_state", random_state)
    try:
        model = cls(**params)
    except TypeError as exc:
        raise UserError(f"select.model_params: {exc}") from exc
    if not hasattr(model, "predict_proba"):
        raise UserError(f"select.model: {name} has no predict_proba; pick a probabilistic classifier")
    return model


def model_version(name: str, params: dict[str, Any], labels: pd.Series) -> str:
    """Hash of the model settings and the training label set (sample id -> label)."""
    h = hashlib.sha1(json.dumps([name, params], sort_keys=True, default=str).encode())
    for sid, lab in sorted(labels.items()):
        h.update(f"{sid}={lab};".encode())
    return h.hexdigest()[:12]
