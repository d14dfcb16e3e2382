"""The one place models are named, made and versioned: `select.model`, any scikit-learn
classifier with `predict_proba`. The round fits it to select; validate fits the same recipe
to machine-label the pool (`labeling.auto_labels`), so both speak of one model.

Default `logistic`: scaled features + multinomial logistic regression
(`dataprep.core.linear`, the one recipe every part uses), which trains in well under a
second on thousands of rows and gives probabilities calibrated enough for
margin-based selection; sparse text TF-IDF goes in as it is.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator

from dataprep.core.errors import UserError
from dataprep.core.linear import logistic

MODELS = ("logistic", "random_forest")


def make_model(name: str, params: dict[str, Any] | None = None, random_state: int | None = 0) -> BaseEstimator:
    """A fresh, unfitted classifier named by `select.model`, its parameters checked now (a value
    scikit-learn would refuse at the first fit is one line naming `select.model_params` here)."""
    model = _build(name, dict(params or {}), random_state)
    if not hasattr(model, "predict_proba"):
        raise UserError(f"select.model: {name} has no predict_proba; pick a probabilistic classifier")
    for part in [model, *(step for _, step in getattr(model, "steps", []))]:
        if not hasattr(part, "_parameter_constraints"):        # estimators that declare none (ours)
            continue
        try:
            part._validate_params()                             # scikit-learn's own check, as fit runs it
        except (TypeError, ValueError) as exc:                  # InvalidParameterError is both
            raise UserError(f"select.model_params: {exc}") from None
    return model


def _build(name: str, params: dict[str, Any], random_state: int | None) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier

    try:
        if name == "logistic":
            return logistic(random_state, **params)
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
        return cls(**params)
    except TypeError as exc:
        raise UserError(f"select.model_params: {exc}") from exc


def model_version(name: str, params: dict[str, Any], labels: pd.Series, accepted: pd.Series | None = None) -> str:
    """Hash of the model settings and the training label set (sample id -> label). Where the
    set holds more than the `accepted` labels (samples still waiting, `select.train_on_waiting`):
    the accepted labels' hash, '+' and six characters of the whole set's, so "no accepted label
    changed since" reads off the part before the '+' (`accepted_part`)."""
    if accepted is not None and len(labels) > len(accepted):
        return f"{model_version(name, params, accepted)}+{model_version(name, params, labels)[:6]}"
    h = hashlib.sha1(json.dumps([name, params], sort_keys=True, default=str).encode())
    for sid, lab in sorted(labels.items()):
        h.update(f"{sid}={lab};".encode())
    return h.hexdigest()[:12]


def accepted_part(version: str) -> str:
    """The part of a `model_version` that names the accepted labels it was trained on."""
    return version.split("+")[0]
