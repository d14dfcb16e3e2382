"""Choosing, each round, between an uncertainty strategy and a diversity one by trying both
inside the labeled set (after SelectAL, Hacohen & Weinshall 2023): a row of `al_efficiency.py`
(`selectal`), measured and not (yet) the default.

Uncertainty sampling pays once the model is good enough to know what it does not know; while
it is not, picks that cover the data pay more (TypiClust's low-budget regime). Where that
turn comes depends on the data: on digits after a few dozen labels, on healthtweets (16
outlets, full-pool accuracy .47) not within 2,000, and there our default (margin_kmeans) has
less AULC than random labels while our cold start continued (cold+cold_start) has more
(`python benchmarks/al_efficiency.py --datasets healthtweets ...`, see the closing notes).

`choose_arm` asks the labels so far which regime the project is in: `repeats` times it
splits them in half at random, trains on one half, lets each arm pick `n` of the other half
(`uncertainty`: margin_kmeans with that model; `diversity`: cold_start around the first
half), trains again with each arm's picks and scores both models on the rest of the second
half (the rows neither arm picked). The mean paired gain decides; a tie goes to uncertainty,
the default. Costs 4 fits per repeat per round.

Measured (5 seeds; `python benchmarks/al_efficiency.py --datasets healthtweets --per-class 400
--seeds 5 --batches 50 --budget 2000 --strategies random,ours,selectal --skip-text-baseline`):
on healthtweets it went to diversity in 40-67% of the rounds and reached AULC -.002
[-.008, .003] against random labels (our default -.007 [-.012, -.001]; cold start continued
+.012 at an earlier stop), at 19 times the default's time. Held out (`--datasets
digits,breast_cancer,wine --seeds 5 --batches 10,50 --strategies
random,margin_kmeans,modal_margin,ours,selectal`): on digits it chose uncertainty in most
rounds and cost .002 AULC at batch 10, nothing at 50; on breast_cancer and wine within .001
of the default; on icons (3 seeds, batch 20) -.005 [-.032, .012]. Not above random where it
was meant to be, so not the default.
"""

from __future__ import annotations

import numpy as np

UNCERTAINTY, DIVERSITY = "margin_kmeans", "cold_start"


def arm_picks(arm: str, model, X, G, labeled: np.ndarray, candidates: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` of `candidates` (row numbers) picked by `arm`; `G` is the geometry diversity reads."""
    from active_learning import strategies as S

    if arm == UNCERTAINTY:
        return candidates[S.margin_kmeans(model, X[candidates], n, random_state=seed, X_embed=G[candidates])]
    return candidates[S.cold_start(None, G[candidates], n, random_state=seed, X_labeled=G[labeled])]


def choose_arm(make_model, X, G, y, labeled, batch: int, seed: int, repeats: int = 5) -> tuple[str, float]:
    """The arm for the next round and the mean gain of uncertainty over diversity (accuracy)."""
    lab = np.asarray(labeled)
    rng = np.random.default_rng([seed, len(lab)])
    gains = []
    for r in range(repeats):
        perm = rng.permutation(lab)
        first, second = perm[: len(lab) // 2], perm[len(lab) // 2:]
        if len(np.unique(y[first])) < 2:
            continue
        n = max(1, min(batch, len(second) // 3))
        model = make_model().fit(X[first], y[first])
        picks = {arm: arm_picks(arm, model, X, G, first, second, n, seed + r) for arm in (UNCERTAINTY, DIVERSITY)}
        rest = np.setdiff1d(second, np.concatenate(list(picks.values())))
        acc = {arm: make_model().fit(X[np.r_[first, p]], y[np.r_[first, p]]).score(X[rest], y[rest])
               for arm, p in picks.items()}
        gains.append(acc[UNCERTAINTY] - acc[DIVERSITY])
    gain = float(np.mean(gains)) if gains else 0.0
    return (UNCERTAINTY if gain >= 0 else DIVERSITY), gain
