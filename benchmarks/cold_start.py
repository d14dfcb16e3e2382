"""Cold start against random labels of the same size: the first model's test accuracy.

Protocol: stratified 70/30 split per seed (5 seeds), the default model (scaler + logistic
regression) on the picks' true labels. Every row gets the same pool, geometry (the
features stage's dense matrix; standardised columns for tables) and number of labels:

- `random`: uniform picks (3 draws per seed, averaged).
- `typical`: TypiClust's most typical member of each cluster (`select.cold_start: typical`).
- `stratified` (default): a random member of each cluster.
- at 2 x 10 labels (two cold-start rounds of 10, as `select.batch_size: 10` gives):
  `typical_unaware` is the typical pick whose second round ignores the first
  (what select did before clusters covered by a label were skipped).

Datasets: scikit-learn's digits, breast_cancer, wine; `broad_compact` (generated: the two
commonest of 9 classes broad around seven compact ones, the shape of a real image set on
which typical picks missed the commonest classes); the generated transparent `icons` and
the real `newsarticles` text through the product's acquire + features stages.

    python benchmarks/cold_start.py [--datasets digits,breast_cancer,wine,broad_compact,icons,newsarticles]

Prints accuracy and classes covered per dataset, row and label count; writes
benchmarks/out/cold_start.csv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from active_learning.strategies import cold_start  # noqa: E402
from bench_data import load  # noqa: E402
from dataprep.core.models import make_model  # noqa: E402

OUT = Path(__file__).parent / "out"


def picks(method: str, G: np.ndarray, sizes: list[int], seed: int) -> np.ndarray:
    """Row indices after rounds of `sizes` picks each."""
    rng = np.random.default_rng(seed)
    chosen = np.zeros(0, np.int64)
    for r, n in enumerate(sizes):
        rest = np.setdiff1d(np.arange(len(G)), chosen)
        if method == "random":
            new = rng.choice(rest, n, replace=False)
        else:
            pick = "stratified" if method == "stratified" else "typical"
            labeled = None if method == "typical_unaware" else G[chosen]
            new = rest[cold_start(None, G[rest], n, random_state=seed + r, X_labeled=labeled, pick=pick)]
        chosen = np.concatenate([chosen, new])
    return chosen


def accuracy(X, y, Xt, yt, rows, seed) -> float:
    if len(set(y[rows])) < 2:
        return float(np.mean(yt == y[rows][0]))
    return float(make_model("logistic", random_state=seed).fit(X[rows], y[rows]).score(Xt, yt))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="digits,breast_cancer,wine,broad_compact,icons,newsarticles")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--per-class", type=int, default=0, help="as in al_efficiency.py")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    rows = []
    for ds in a.datasets.split(","):
        X, G, y, _ = load(ds, a.per_class)
        for seed in range(a.seeds):
            pool, test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed)
            Gp = np.asarray(G[pool], dtype=np.float32)
            for sizes, methods in (([20], ["random", "typical", "stratified"]),
                                   ([10, 10], ["random", "typical_unaware", "typical", "stratified"])):
                for method in methods:
                    draws = 3 if method == "random" else 1
                    for d in range(draws):
                        r = picks(method, Gp, sizes, seed * 10 + d)
                        rows.append({"dataset": ds, "labels": "+".join(map(str, sizes)), "method": method,
                                     "seed": seed, "accuracy": accuracy(X[pool], y[pool], X[test], y[test], r, seed),
                                     "classes": len(set(y[pool][r])), "n_classes": len(set(y))})
        print(f"{ds} done", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(OUT / "cold_start.csv", index=False)
    t = df.groupby(["dataset", "labels", "method"], sort=False).agg(
        accuracy=("accuracy", "mean"), sd=("accuracy", "std"), classes=("classes", "mean"), of=("n_classes", "first"))
    rand = t.xs("random", level="method")["accuracy"]
    t["vs_random"] = t["accuracy"] - rand.reindex(t.index.droplevel("method")).to_numpy()
    pd.set_option("display.width", 200)
    print(t.round(3).to_string())


if __name__ == "__main__":
    main()
