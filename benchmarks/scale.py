"""Scale: how time and memory grow with the pool, on one process and on a Dask cluster.

    python benchmarks/scale.py [--sizes 1000000,3000000,10000000] [--parts ds,select,neardup,outliers]
                               [--workers 2] [--no-single]

Parts (each size runs in a fresh process, so peak memory is that run's own):
- `ds`: Dawid-Skene (`labeling.aggregate.DawidSkene`, the stage's estimator) on N tasks x 3
  annotations from 10 annotators (accuracy .65-.95, 10 classes), in this process, and on a
  `LocalCluster` of `--workers` worker processes from one parquet file per 250,000 tasks
  (`AnnotationFiles`: each worker reads and keeps its ranges; the client never holds the
  table). Time to fit, the client's peak RSS, each worker's peak RSS, and agreement of the
  two label sets.
- `select`: 1,000 diverse picks (`margin_kmeans`, the default strategy) from an N x 64 float32
  pool (a `.npy` file, as the features cache is) with a logistic model fit on 1,000 labels, in
  this process and with the scoring as tasks on the cluster (one per 250,000-row range, each
  worker mapping the file itself). Time, peak RSS of the client and of each worker, and whether
  the picks are the same.
- `neardup`: the same kind of pool with `N / 1000` planted near-duplicates (a row plus noise;
  those within the .015 cosine-distance threshold, nearly all, are the truth), found by the
  one index in this process (`near_duplicate_pairs`, what triage uses up to 2M items) and by cells on the cluster
  (`sharded_pairs`). Time, peak RSS, recall and precision against the planted pairs, and the
  cells' recall over the one index's.
- `outliers`: triage's per-sample pass over the same kind of pool (`dataprep.core.triage._scan`:
  distance to the k nearest of 500 reference rows, k-means cluster fit on 100,000 rows, row
  hash), in this process and one task per 250,000 rows on the cluster; time, peak RSS, and
  whether scores, clusters and the distinct count are the same.
The machine here has 2 cores: the cluster's workers share them with the client. Peak RSS is
the run's own: the mark is reset (Linux clear_refs) once its inputs are built.
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


def reset_peak() -> None:
    """Start this process's peak-memory mark again from its current size (Linux clear_refs 5), so
    what was built for a run (a pool, a table) does not count as the run's own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def run_ds(n: int, workers: int) -> dict:
    import tempfile

    from labeling.aggregate import AnnotationFiles, DawidSkene

    classes = list(range(10))
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        X, truth = annotations(n)
        paths = []
        for a in range(0, n, 250_000):                      # one file per range of 250,000 tasks
            paths.append(Path(tmp) / f"annotations-{a // 250_000:05d}.parquet")
            X.iloc[3 * a:3 * min(n, a + 250_000)].to_parquet(paths[-1])
        del X
        reset_peak()
        lc, c = _cluster(workers)
        with lc, c:
            os.environ["DATAPREP_SCHEDULER"] = lc.scheduler_address
            t0 = time.perf_counter()
            there = DawidSkene().fit(AnnotationFiles(paths), classes=classes)
            t_cluster = time.perf_counter() - t0
            worker_peaks = c.run(peak_mb)
            del os.environ["DATAPREP_SCHEDULER"]
        client_peak = peak_mb()
    X, truth = annotations(n)
    reset_peak()
    t0 = time.perf_counter()
    here = DawidSkene().fit(X, classes=classes)
    t_local = time.perf_counter() - t0
    local_peak = peak_mb()
    return {"part": "ds", "n": n, "annotations": 3 * n, "local_s": round(t_local, 2), "local_peak_mb": round(local_peak),
            "cluster_s": round(t_cluster, 2), "client_peak_mb": round(client_peak),
            "worker_peak_mb": round(max(worker_peaks.values())), "iterations": int(here.n_iter_),
            "same_labels": float((here.labels_.to_numpy() == there.labels_.to_numpy()).mean()),
            "accuracy": float((here.labels_.to_numpy() == truth).mean())}


def pool_file(n: int, folder: Path, planted: int = 0, seed: int = 0) -> tuple[Path, np.ndarray, np.ndarray]:
    """An N x 64 float32 pool of 10 Gaussian classes written to `folder/pool.npy` a million rows at
    a time (never whole in memory), its labels, and `planted` (original, copy) row pairs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (10, 64)).astype(np.float32)
    y = rng.integers(0, 10, n)
    path = folder / "pool.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 64))
    for s in range(0, n, 1_000_000):
        X[s:s + 1_000_000] = centers[y[s:s + 1_000_000]] + rng.normal(0, 2, (min(1_000_000, n - s), 64)).astype(np.float32)
    rows = rng.choice(n, 2 * planted, replace=False)
    pairs = np.c_[rows[:planted], rows[planted:]]
    noise = rng.uniform(0.05, 0.5, (planted, 1)).astype(np.float32)
    X[pairs[:, 1]] = X[pairs[:, 0]] + noise * rng.normal(0, 1, (planted, 64)).astype(np.float32)
    a, b = X[pairs[:, 0]], X[pairs[:, 1]]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    X.flush()
    del X
    return path, y, np.sort(pairs[1.0 - cos <= 0.015], axis=1)


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    lc = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit=0)
    return lc, Client(lc.scheduler_address)


def here_and_there(local, on_cluster, workers: int) -> tuple[object, object, dict]:
    """`local()` in this process, then `on_cluster()` with DATAPREP_SCHEDULER naming a fresh
    LocalCluster: both results, and each one's time and peak RSS (the workers' highest)."""
    reset_peak()
    t0 = time.perf_counter()
    here = local()
    stats = {"local_s": round(time.perf_counter() - t0, 2), "local_peak_mb": round(peak_mb())}
    reset_peak()
    lc, c = _cluster(workers)
    with lc, c:
        os.environ["DATAPREP_SCHEDULER"] = lc.scheduler_address
        t0 = time.perf_counter()
        there = on_cluster()
        stats["cluster_s"] = round(time.perf_counter() - t0, 2)
        stats["worker_peak_mb"] = round(max(c.run(peak_mb).values()))
        del os.environ["DATAPREP_SCHEDULER"]
    stats["client_peak_mb"] = round(peak_mb())
    return here, there, stats


def run_select(n: int, workers: int) -> dict:
    import tempfile

    from sklearn.linear_model import LogisticRegression

    from active_learning.strategies import margin_kmeans
    from dataprep.core.rows import Rows

    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        path, y, _ = pool_file(n, Path(tmp))
        reset_peak()
        X = Rows(np.load(path, mmap_mode="r"))
        lab = np.random.default_rng(1).choice(n, 1000, replace=False)
        model = LogisticRegression(max_iter=500).fit(X[np.sort(lab)], y[np.sort(lab)])
        pick = lambda: margin_kmeans(model, X, 1000)      # noqa: E731
        here, there, stats = here_and_there(pick, pick, workers)
    return {"part": "select", "n": n, **stats, "picked": int(len(set(there.tolist()))),
            "same_picks": bool(np.array_equal(here, there))}


def run_outliers(n: int, workers: int) -> dict:
    """Triage's per-sample pass (outlier distance to the reference sample, k-means cluster, row
    hash) over the pool file, in this process and as one task per 250,000 rows on the cluster."""
    import tempfile

    from dataprep.core.config import Triage
    from dataprep.core.rows import Rows
    from dataprep.core.triage import _scan

    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        path, _, _ = pool_file(n, Path(tmp))
        reset_peak()
        X = Rows(np.load(path, mmap_mode="r"))
        here, there, stats = here_and_there(lambda: _scan(X, Triage(), 0, 1), lambda: _scan(X, Triage(), 0, workers),
                                            workers)
    return {"part": "outliers", "n": n, **stats,
            "same_scores": bool(np.array_equal(here[0], there[0]) and np.array_equal(here[1], there[1])
                                and here[2] == there[2])}


def _recall_precision(found: np.ndarray, planted: np.ndarray) -> tuple[float, float, set]:
    got = set(map(tuple, found.tolist()))
    truth = set(map(tuple, planted.tolist()))
    hit = got & truth
    return len(hit) / max(1, len(truth)), len(hit) / max(1, len(got)), hit


def run_neardup(n: int, workers: int, single: bool = True) -> dict:
    import tempfile

    from dataprep.core.near_duplicates import near_duplicate_pairs, sharded_pairs, unit
    from dataprep.core.rows import Rows

    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        path, _, planted = pool_file(n, Path(tmp), planted=n // 1000)
        reset_peak()
        row: dict = {"part": "neardup", "n": n, "planted": len(planted)}
        single_hit: set = set()
        if single:
            t0 = time.perf_counter()
            V = unit(np.load(path))[:, None, :]
            found = near_duplicate_pairs(V, 0.015)
            del V
            row["local_s"] = round(time.perf_counter() - t0, 2)
            row["local_peak_mb"] = round(peak_mb())
            row["local_recall"], row["local_precision"], single_hit = _recall_precision(found, planted)
            reset_peak()
        lc, c = _cluster(workers)
        with lc, c:
            os.environ["DATAPREP_SCHEDULER"] = lc.scheduler_address
            t0 = time.perf_counter()
            found = sharded_pairs(Rows(np.load(path, mmap_mode="r")), 1, 0.015, tmp)
            row["cluster_s"] = round(time.perf_counter() - t0, 2)
            row["worker_peak_mb"] = round(max(c.run(peak_mb).values()))
            del os.environ["DATAPREP_SCHEDULER"]
        row["client_peak_mb"] = round(peak_mb())
        row["cluster_recall"], row["cluster_precision"], hit = _recall_precision(found, planted)
        if single:
            row["cluster_over_local_recall"] = round(row["cluster_recall"] / max(1e-9, row["local_recall"]), 4)
            row["found_by_local_only"] = len(single_hit - hit)
    return row


def main() -> None:
    OUT.mkdir(exist_ok=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,3000000,10000000")
    ap.add_argument("--parts", default="ds,select,neardup")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-single", action="store_true", help="neardup: skip the one-index run (slow past 3M)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        part, n, workers = a.one[0], int(a.one[1]), int(a.one[2])
        run = {"ds": run_ds, "select": run_select, "outliers": run_outliers,
               "neardup": lambda n, w: run_neardup(n, w, single=not a.no_single)}[part]
        print(json.dumps(run(n, workers)))
        return
    rows = []
    for part in a.parts.split(","):
        for n in map(int, a.sizes.split(",")):
            res = subprocess.run([sys.executable, __file__, "--one", part, str(n), str(a.workers)]
                                 + (["--no-single"] if a.no_single else []), capture_output=True, text=True)
            if res.returncode != 0:
                print(res.stderr[-3000:], file=sys.stderr)
                continue
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    old = OUT / "scale.csv"
    kept = pd.read_csv(old) if old.exists() else pd.DataFrame(columns=["part", "n"])
    ran = pd.MultiIndex.from_frame(df[["part", "n"]].astype({"n": int}))
    kept = kept[~pd.MultiIndex.from_frame(kept[["part", "n"]].astype({"n": int})).isin(ran)]   # other runs stay on record
    pd.concat([kept, df], ignore_index=True).to_csv(old, index=False)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(df.astype(object).fillna("").to_string(index=False))
    for part, g in df.groupby("part"):
        g = g.sort_values("n")
        for col, where in (("local_s", "this process"), ("cluster_s", "cluster")):
            t = g[col].dropna() if col in g else []
            if len(t) > 1:
                print(f"{part}: time at {g['n'].iloc[-1]:,} / time at {g['n'].iloc[0]:,} = {t.iloc[-1] / t.iloc[0]:.1f}x "
                      f"for {g['n'].iloc[-1] / g['n'].iloc[0]:.1f}x the rows ({where})")


if __name__ == "__main__":
    main()
