"""The random-sample baseline of the learning curve: the same model on random pool samples with
their source labels, at the same label counts (what the report draws beside ours)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataprep.core.models import make_model
from dataprep.core import store
from dataprep.core.features import model_features, rows_of, take
from dataprep.core.project import Project


def split_scorer(project: Project):
    """(pool samples with a source label, fit-and-score): `fit_score(ids, labels=None)` fits
    `select.model` on the samples `ids` with `labels` (their source labels when None) and scores it
    on the test split's source labels; None where there is nothing to score on."""
    man = store.read_table(project.data, "manifest")
    pool = man[store.in_split(man, "pool") & man["source_label"].notna()]
    test = man[store.in_split(man, "test") & man["source_label"].notna()]
    if pool.empty or test.empty:
        return pool, None
    X, index = model_features(project, man)
    Xt, yt = take(X, rows_of(index, test["sample_id"])), test["source_label"].astype(str).to_numpy()
    cfg = project.cfg.select
    truth = pool.set_index("sample_id")["source_label"].astype(str)

    def fit_score(ids, labels=None) -> float | None:
        y = truth.loc[list(ids)].to_numpy() if labels is None else np.asarray(labels).astype(str)
        if len(set(y)) < 2:
            return None
        m = make_model(cfg.model, cfg.model_params, cfg.random_state).fit(take(X, rows_of(index, ids)), y)
        return float(m.score(Xt, yt))

    return pool, fit_score


def random_baseline(project: Project, counts: list[int], draws: int = 3) -> pd.DataFrame:
    """Accuracy of the model on random pool samples with source labels, per label count."""
    pool, fit_score = split_scorer(project)
    rows = []
    if fit_score is None:
        return pd.DataFrame(columns=["n_labels", "accuracy"])
    for n in sorted(set(counts)):
        accs = [a for d in range(draws) if (a := fit_score(
            pool.sample(min(n, len(pool)), random_state=project.cfg.select.random_state + d)["sample_id"])) is not None]
        if accs:
            rows.append({"n_labels": n, "accuracy": float(np.mean(accs))})
    return pd.DataFrame(rows)


def true_label_accuracy(project: Project, sample_ids) -> float | None:
    """The model's accuracy had `sample_ids` (the training set) every one its source label: beside
    the accuracy on the labels accepted, what annotation errors cost; the random baseline reads
    source labels too. None unless every one of them has a source label."""
    pool, fit_score = split_scorer(project)
    ids = list(sample_ids)
    if fit_score is None or not ids or not set(ids) <= set(pool["sample_id"]):
        return None
    return fit_score(ids)
