"""Scale: how time and memory grow with the pool, on one process and on a Dask cluster.

    python benchmarks/scale.py [--sizes 1000000,3000000,10000000] [--parts ds,select] [--workers 2]

Parts (each size runs in a fresh process, so peak memory is that run's own):
- `ds`: Dawid-Skene (`labeling.aggregate.DawidSkene`, the stage's estimator) on N tasks x 3
  annotations from 10 annotators (accuracy .65-.95, 10 classes), in this process, and on a
  `LocalCluster` of `--workers` worker processes (task ranges of 250,000 kept on the
  workers). Time to fit, the client's peak RSS, each worker's peak RSS, and agreement of the
  two label sets.
- `select`: 1,000 diverse picks (`margin_kmeans`, the default strategy) from an N x 64 float32
  pool with a logistic model fit on 1,000 labels, in this process (selection scoring does not
  run on a cluster yet). Time and peak RSS.
The machine here has 2 cores: the cluster's workers share them with the client.
Prints a table and writes benchmarks/out/scale.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: its own address space's high-water mark;
    ru_maxrss would carry a forked parent's peak into a worker)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def annotations(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    K, W = 10, 10
    truth = rng.integers(0, K, n).astype(np.int32)
    acc = np.linspace(.65, .95, W)
    workers = np.stack([rng.permutation(W)[:3] for _ in range(min(n, 1000))])       # 1,000 patterns, reused
    who = workers[rng.integers(0, len(workers), n)].ravel()
    task = np.repeat(np.arange(n, dtype=np.int64), 3)
    right = rng.random(3 * n) < acc[who]
    label = np.where(right, np.repeat(truth, 3), rng.integers(0, K, 3 * n)).astype(np.int32)
    return pd.DataFrame({"task": task, "worker": who.astype(np.int32), "label": label}), truth


def run_ds(n: int, workers: int) -> dict:
    from labeling.aggregate import DawidSkene

    X, truth = annotations(n)
    classes = list(range(10))
    t0 = time.perf_counter()
    here = DawidSkene().fit(X, classes=classes)
    t_local = time.perf_counter() - t0
    local_peak = peak_mb()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit=0) as lc, Client(lc.scheduler_address) as c:
        os.environ["DATAPREP_SCHEDULER"] = lc.scheduler_address
        t0 = time.perf_counter()
        there = DawidSkene().fit(X, classes=classes)
        t_cluster = time.perf_counter() - t0
        worker_peaks = c.run(peak_mb)
        del os.environ["DATAPREP_SCHEDULER"]
    return {"part": "ds", "n": n, "annotations": 3 * n, "local_s": round(t_local, 2), "local_peak_mb": round(local_peak),
            "cluster_s": round(t_cluster, 2), "client_peak_mb": round(peak_mb()),
            "worker_peak_mb": round(max(worker_peaks.values())), "iterations": int(here.n_iter_),
            "same_labels": float((here.labels_.to_numpy() == there.labels_.to_numpy()).mean()),
            "accuracy": float((here.labels_.to_numpy() == truth).mean())}


def run_select(n: int) -> dict:
    from sklearn.linear_model import LogisticRegression

    from active_learning.strategies import margin_kmeans

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (10, 64)).astype(np.float32)
    y = rng.integers(0, 10, n)
    X = np.empty((n, 64), np.float32)
    for s in range(0, n, 1_000_000):
        X[s:s + 1_000_000] = centers[y[s:s + 1_000_000]] + rng.normal(0, 2, (min(1_000_000, n - s), 64)).astype(np.float32)
    lab = rng.choice(n, 1000, replace=False)
    model = LogisticRegression(max_iter=500).fit(X[lab], y[lab])
    t0 = time.perf_counter()
    picked = margin_kmeans(model, X, 1000)
    t = time.perf_counter() - t0
    return {"part": "select", "n": n, "local_s": round(t, 2), "local_peak_mb": round(peak_mb()),
            "picked": int(len(set(picked.tolist())))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,3000000,10000000")
    ap.add_argument("--parts", default="ds,select")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        part, n, workers = a.one[0], int(a.one[1]), int(a.one[2])
        print(json.dumps(run_ds(n, workers) if part == "ds" else run_select(n)))
        return
    rows = []
    for part in a.parts.split(","):
        for n in map(int, a.sizes.split(",")):
            res = subprocess.run([sys.executable, __file__, "--one", part, str(n), str(a.workers)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                print(res.stderr[-3000:], file=sys.stderr)
                continue
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    df.to_csv(OUT / "scale.csv", index=False)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(df.astype(object).fillna("").to_string(index=False))
    for part, g in df.groupby("part"):
        g = g.sort_values("n")
        if len(g) > 1:
            r = g["local_s"].iloc[-1] / g["local_s"].iloc[0]
            print(f"{part}: time at {g['n'].iloc[-1]:,} / time at {g['n'].iloc[0]:,} = {r:.1f}x "
                  f"for {g['n'].iloc[-1] / g['n'].iloc[0]:.0f}x the rows (this process)")


if __name__ == "__main__":
    main()
