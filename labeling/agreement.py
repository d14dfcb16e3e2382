"""Agreement between annotators: Krippendorff's alpha for nominal labels, with a bootstrap
interval over items, computed from per-item label counts (no pairwise loops)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
