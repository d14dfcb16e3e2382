"""The one place models are trained, versioned and stored.

`select` fits the round's model here, and the ML backend (`labeling.ml_backend`) retrains
here on validated labels and serves what this folder holds: both speak of one artifact.

A model is stored as `.dataprep/models/<version>.joblib` (the fitted estimator, its
classes, the label count, who trained it and when), written atomically; `current.json`
names the version to serve and is replaced in one `os.replace`, so a reader sees the old
model or the new one, never half of either. The version is `dataprep.core.models.
model_version`: a hash of the model settings and the training labels, so the same labels
give the same version wherever they were trained. The newest `KEEP` models stay on disk;
a restart serves the last one that was made current.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from dataprep.core import store
from dataprep.core.atomic import atomic_path, write_json
from dataprep.core.features import rows_of, take
from dataprep.core.ids import among
from dataprep.core.models import make_model, model_version
from dataprep.core.project import Project

FOLDER = "models"
CURRENT = "current.json"
KEEP = 5


@dataclass(frozen=True)
class Stored:
    version: str
    model: Any
    classes: list[str]
    n_labels: int
    trained_by: str
    trained_at: float


def folder(project: Project) -> Path:
    return project.work / FOLDER


WAITING_MAX_P_WRONG = 0.5     # a waiting sample teaches the model where its label is more likely right than wrong


def training_labels(labels: pd.DataFrame, manifest: pd.DataFrame, waiting: pd.DataFrame | None = None) -> pd.Series:
    """What a model learns from (sample id -> label): the accepted human and gold labels of
    pool samples, never auto-labels. `select` and the ML backend both train on exactly this.
    `waiting` (validate's `requests`, with `select.train_on_waiting`): samples awaiting another
    annotation join under the label they would get now, where a kept annotator gave it and it is
    more likely right than wrong (`p_wrong` < .5). They teach the loop's model only: the export
    and every label table hold accepted labels alone."""
    labels = labels[labels["method"] != "auto"].set_index("sample_id")["label"]
    if waiting is not None and len(waiting):
        more = waiting[waiting["label"].notna() & (waiting["p_wrong"] < WAITING_MAX_P_WRONG)
                       & ~among(waiting["sample_id"], labels.index)]
        labels = pd.concat([labels, more.drop_duplicates("sample_id").set_index("sample_id")["label"]])
    return labels[among(labels.index, manifest.loc[store.in_split(manifest, "pool"), "sample_id"])]


def learning_sets(labels: pd.DataFrame, manifest: pd.DataFrame,
                  waiting: pd.DataFrame | None = None) -> tuple[pd.Series, pd.Series]:
    """(the accepted training labels, what the model learns from): the second adds the `waiting`
    samples (`training_labels`); without them both are the accepted labels."""
    accepted = training_labels(labels, manifest)
    return accepted, (training_labels(labels, manifest, waiting) if waiting is not None else accepted)


def fit(project: Project, labels: pd.Series, X, index: pd.Index, accepted: pd.Series | None = None) -> tuple[Any, str]:
    """`select.model` fitted on `labels` (sample id -> label) and its version (`accepted`: the
    accepted labels among them, where waiting samples join; see `model_version`)."""
    cfg = project.cfg.select
    model = make_model(cfg.model, cfg.model_params, cfg.random_state)
    model.fit(take(X, rows_of(index, labels.index)), labels.to_numpy().astype(str))
    return model, model_version(cfg.model, cfg.model_params, labels, accepted)


def save(project: Project, model, version: str, n_labels: int, trained_by: str) -> Stored:
    """Store a fitted model under its version and make it the one served."""
    d = folder(project)
    d.mkdir(parents=True, exist_ok=True)
    stored = Stored(version, model, [str(c) for c in model.classes_], int(n_labels), trained_by, time.time())
    path = d / f"{version}.joblib"
    if not path.exists():
        with atomic_path(path) as tmp:
            joblib.dump(stored.__dict__, tmp)
    write_json(d / CURRENT, {"version": version, "n_labels": stored.n_labels, "trained_by": trained_by,
                             "trained_at": stored.trained_at})
    _prune(d, keep={version})
    return stored


def train(project: Project, labels: pd.Series, X, index: pd.Index, trained_by: str,
          accepted: pd.Series | None = None) -> Stored:
    """Fit, version and store: what both `select` and the ML backend call."""
    model, version = fit(project, labels, X, index, accepted)
    return save(project, model, version, len(labels), trained_by)


def current_version(project: Project) -> str | None:
    try:
        return json.loads((folder(project) / CURRENT).read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def load(project: Project, version: str | None = None) -> Stored | None:
    """The stored model `version` (default: the current one), or None when there is none."""
    version = version or current_version(project)
    if version is None:
        return None
    try:
        return Stored(**joblib.load(folder(project) / f"{version}.joblib"))
    except (OSError, EOFError, KeyError, TypeError):
        return None


def versions(project: Project) -> list[str]:
    """Stored versions, newest first."""
    files = sorted(folder(project).glob("*.joblib"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    return [p.stem for p in files]


def _prune(d: Path, keep: set[str]) -> None:
    files = sorted(d.glob("*.joblib"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for p in files[KEEP:]:
        if p.stem not in keep:
            try:
                os.unlink(p)
            except OSError:
                pass


def predict_proba(stored: Stored, X) -> np.ndarray:
    return np.asarray(stored.model.predict_proba(X))
