"""The random-sample baseline of the learning curve: the same model on random pool samples with
their source labels, at the same label counts (what the report draws beside ours)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataprep.core.models import make_model
from dataprep.core import store
from dataprep.core.features import model_features, rows_of, take
from dataprep.core.project import Project


def random_baseline(project: Project, counts: list[int], draws: int = 3) -> pd.DataFrame:
    """Accuracy of the model on random pool samples with source labels, per label count."""
    man = store.read_table(project.data, "manifest")
    pool = man[(man["split"] == "pool") & man["source_label"].notna()]
    test = man[(man["split"] == "test") & man["source_label"].notna()]
    if pool.empty or test.empty:
        return pd.DataFrame(columns=["n_labels", "accuracy"])
    X, index = model_features(project, man)
    Xt, yt = take(X, rows_of(index, test["sample_id"])), test["source_label"].astype(str).to_numpy()
    cfg = project.cfg.select
    rows = []
    for n in sorted(set(counts)):
        accs = []
        for d in range(draws):
            pick = pool.sample(min(n, len(pool)), random_state=cfg.random_state + d)
            y = pick["source_label"].astype(str).to_numpy()
            if len(set(y)) < 2:
                continue
            m = make_model(cfg.model, cfg.model_params, cfg.random_state).fit(take(X, rows_of(index, pick["sample_id"])), y)
            accs.append(float(m.score(Xt, yt)))
        if accs:
            rows.append({"n_labels": n, "accuracy": float(np.mean(accs))})
    return pd.DataFrame(rows)
