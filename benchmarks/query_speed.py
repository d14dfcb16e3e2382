"""Selection speed and memory at pool scale: ours vs modAL ranked batch, on equal terms.

Pools of 100k and 1M rows x 64 float32 features, 10 classes, logistic
regression fit on 1,000 labels before the clock starts, for every method: the
timing is the query alone (modAL's learner is built around the already fitted
model, with its labeled set assigned, so its clock holds no refit). Every
method is asked for the same number of picks (`--picks`, default 1,000); a
method that does not finish within its timeout is reported as such, never
measured at fewer picks. Each measurement runs in its own process;
"extra memory" is the peak of memory allocated during selection (tracemalloc,
which numpy reports to), i.e. beyond the feature matrix already in memory.
Tracing slows numpy-heavy code a little, so times are slightly pessimistic.

    python benchmarks/query_speed.py [--sizes 100000,1000000] [--picks 1000] [--modal-timeout 300]
    (--methods margin_kmeans,margin_kcenter,cold_start,modal_ranked_batch)
    python benchmarks/query_speed.py --kmeans   (k-means++ vs mini-batch seeding for 1,000 centres)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"


def make_pool(n: int, path: Path) -> None:
    if path.exists():
        return
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(0)
    X, y = make_classification(n_samples=min(n, 200_000), n_features=64, n_informative=32, n_classes=10,
                               n_clusters_per_class=2, random_state=0)
    reps = int(np.ceil(n / len(X)))
    X = np.concatenate([X + rng.normal(0, 0.05, X.shape) for _ in range(reps)])[:n].astype(np.float32)
    y = np.tile(y, reps)[:n]
    np.save(path, X)
    np.save(path.with_suffix(".y.npy"), y)


def child(method: str, path: str, picks: int) -> None:
    sys.path.insert(0, str(ROOT))
    import warnings
    warnings.filterwarnings("ignore")
    from active_learning import strategies as S
    from dataprep.core.models import make_model

    X = np.load(path)
    y = np.load(Path(path).with_suffix(".y.npy"))
    lab = np.random.default_rng(0).choice(len(X), 1000, replace=False)
    model = make_model("logistic").fit(X[lab], y[lab])
    pool = np.ones(len(X), bool)
    pool[lab] = False
    Xp = X[pool]
    if method == "modal_ranked_batch":      # built before the clock: no refit inside the timing
        from modAL.models import ActiveLearner
        learner = ActiveLearner(estimator=model)
        learner.X_training, learner.y_training = X[lab], y[lab]
    import tracemalloc
    tracemalloc.start()
    t0 = time.perf_counter()
    if method == "modal_ranked_batch":
        from modAL.batch import uncertainty_batch_sampling
        idx = S.modal_indices(uncertainty_batch_sampling(learner, Xp, n_instances=picks))
    else:
        idx = S.query(S.STRATEGIES[method], model, Xp, picks, {
            "chunk_size": S.DEFAULT_CHUNK, "shortlist_factor": 10, "random_state": 0, "X_labeled": X[lab],
            "X_embed": None})
    secs = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20     # Python + numpy allocations during selection
    print(json.dumps({"secs": secs, "extra_mb": peak, "picks": int(len(set(idx.tolist())))}))


def kmeans_seeding(m: int = 10_000, k: int = 1_000, d: int = 64) -> list[dict]:
    """What `active_learning.strategies._kmeans` chooses between, on a shortlist of m candidates
    for k centres: Lloyd k-means with k-means++ seeding vs mini-batch k-means from a random init."""
    sys.path.insert(0, str(ROOT))
    from active_learning.strategies import KMEANS_SWITCH, kmeans_for

    X = np.random.default_rng(0).normal(size=(m, d)).astype(np.float32)
    rows = []
    # the two estimators the strategy builds, on either side of its switch
    for name, km in (("kmeans++ (Lloyd)", kmeans_for(KMEANS_SWITCH // k, k, 0)),
                     ("mini-batch, random init", kmeans_for(KMEANS_SWITCH // k + 1, k, 0))):
        t0 = time.perf_counter()
        km.fit(X)
        rows.append({"method": name, "candidates": m, "centres": k, "secs": time.perf_counter() - t0})
        print(f"k-means seeding: {name:<24} {m} x {d} -> {k} centres: {rows[-1]['secs']:.2f} s", flush=True)
    return rows


def measure(method, path, picks, timeout):
    cmd = [sys.executable, __file__, "--child", method, str(path), str(picks)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return json.loads(res.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        return {"secs": float("nan"), "extra_mb": float("nan"), "picks": 0, "note": f"did not finish in {timeout}s"}
    except (json.JSONDecodeError, IndexError):
        return {"secs": float("nan"), "extra_mb": float("nan"), "picks": 0, "note": res.stderr.strip()[-200:]}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--picks", type=int, default=1000)
    ap.add_argument("--methods", default="margin_kmeans,margin_kcenter,cold_start,modal_ranked_batch")
    ap.add_argument("--modal-timeout", type=int, default=300)
    ap.add_argument("--kmeans", action="store_true", help="only time the two k-means the diversity step chooses between")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if a.kmeans:
        (OUT / "kmeans_seeding.json").write_text(json.dumps(kmeans_seeding(), indent=2))
        return
    rows = []
    for n in map(int, a.sizes.split(",")):
        path = OUT / f"pool_{n}.npy"
        make_pool(n, path)
        for method in a.methods.split(","):
            picks = a.picks
            r = measure(method, path, picks, a.modal_timeout if method == "modal_ranked_batch" else 600)
            rows.append({"pool": n, "method": method, "picks_asked": picks, **r})
            print(f"{n:>9} {method:<20} picks={picks:<5} {r['secs']:8.2f} s  extra {r['extra_mb']:7.1f} MB "
                  f"{r.get('note', '')}", flush=True)
    (OUT / "query_speed.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
