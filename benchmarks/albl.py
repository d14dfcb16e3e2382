"""Choosing the query strategy from the labels as they arrive (after Hsu & Lin 2015,
"Active Learning by Learning"): a baseline row of `al_efficiency.py` (`albl`), measured and
not adopted as the default (see that docstring).

No single query strategy wins everywhere: plain margin is best on small, easy sets, a
diverse batch on large or redundant ones. `StrategyBandit` treats each strategy as an arm
of a bandit and learns, round by round, which one's picks improve the model most:

- every round a small random share of the batch (`probe_share`) is drawn uniformly from
  the pool: the probes. They are labeled like any pick and trained on like any label.
- the rest of the batch comes from one arm, drawn from the bandit's probabilities
  (EXP3: exponential weights on importance-weighted rewards, mixed with `exploration`
  uniform, old rewards discounted by `decay` so the choice can move as the model grows).
- once a round's labels are in, its arm is rewarded by `probe_reward`: refit without the
  probes, with and without that round's arm picks, and count the share of probes whose
  true label became more probable. The two models differ only by that batch, and the
  probes are a random sample neither saw, so the reward is unbiased and paired (far less
  noisy than two accuracies), and it is scale-free, so early and late rounds compare.

The state is the history of `(round, arm, prob, reward)`; the caller persists it.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence

import numpy as np

DEFAULT_ARMS = ("margin_kmeans", "margin", "margin_kcenter", "uncertainty")


class StrategyBandit:
    """EXP3 over query strategies, with random probes for an unbiased reward.

    Parameters follow scikit-learn's convention: stored as given, checked by `_validate`.
    """

    def __init__(self, arms: Sequence[str] = DEFAULT_ARMS, probe_share: float = 0.1, exploration: float = 0.2,
                 learning_rate: float = 2.0, decay: float = 0.9, random_state: int = 0):
        self.arms = arms
        self.probe_share = probe_share
        self.exploration = exploration
        self.learning_rate = learning_rate
        self.decay = decay
        self.random_state = random_state

    def _validate(self) -> None:
        if len(self.arms) < 1 or len(set(self.arms)) != len(self.arms):
            raise ValueError(f"arms must be distinct strategy names, got {list(self.arms)}")
        for name, lo, hi in (("probe_share", 0.0, 1.0), ("exploration", 0.0, 1.0), ("decay", 0.0, 1.0)):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
        if self.learning_rate < 0:
            raise ValueError(f"learning_rate must be >= 0, got {self.learning_rate}")

    def n_probes(self, batch: int) -> int:
        """Probes in a batch of `batch` picks: at least one once the batch has room for an arm too."""
        self._validate()
        if batch < 2 or self.probe_share == 0:
            return 0
        return int(min(batch - 1, max(1, round(self.probe_share * batch))))

    def probabilities(self, history: Sequence[dict]) -> np.ndarray:
        """Each arm's probability, from the rewarded rounds of `history` (oldest first)."""
        self._validate()
        k = len(self.arms)
        score = np.zeros(k)
        done = [h for h in history if h.get("reward") is not None and h["arm"] in self.arms]
        for age, h in enumerate(reversed(done)):
            # importance-weighted, centred so an arm is not favoured merely for being tried early
            score[list(self.arms).index(h["arm"])] += self.decay ** age * (h["reward"] - 0.5) / max(h["prob"], 1e-9)
        w = np.exp(self.learning_rate / k * (score - score.max()))
        return (1 - self.exploration) * w / w.sum() + self.exploration / k

    def choose(self, history: Sequence[dict], rnd: int) -> tuple[str, float]:
        """The arm for round `rnd` and its probability (a seeded draw: the same history and
        round always give the same arm)."""
        p = self.probabilities(history)
        digest = hashlib.blake2b(f"albl{self.random_state}:{rnd}".encode(), digest_size=8).digest()
        u = int.from_bytes(digest, "big") / 2 ** 64
        i = int(min(np.searchsorted(np.cumsum(p), u, side="right"), len(p) - 1))
        return self.arms[i], float(p[i])


def probe_reward(make_model: Callable[[], object], X, y: np.ndarray, base: np.ndarray, batch: np.ndarray,
                 probes: np.ndarray) -> float | None:
    """Share of `probes` whose true label is more probable under a model fit on `base` + `batch`
    than under one fit on `base` alone (ties count half). Rows index `X` and `y`; `base` must
    not contain probes. None when there is nothing to compare (no probes, a batch with no
    labels, or fewer than two classes in `base`)."""
    base, batch, probes = (np.asarray(a, dtype=np.int64) for a in (base, batch, probes))
    if len(probes) == 0 or len(batch) == 0 or len(np.unique(y[base])) < 2:
        return None

    def p_true(rows):
        m = make_model().fit(X[rows], y[rows])
        proba = m.predict_proba(X[probes])
        col = {c: i for i, c in enumerate(m.classes_)}
        idx = np.array([col.get(v, -1) for v in y[probes]])
        return np.where(idx >= 0, proba[np.arange(len(probes)), np.maximum(idx, 0)], 0.0)

    gain = p_true(np.concatenate([base, batch])) - p_true(base)
    tie = np.abs(gain) <= 1e-9
    return float(np.mean(np.where(tie, 0.5, gain > 0)))
