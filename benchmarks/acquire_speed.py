"""Acquisition speed: 20,000 small PNGs (digits-derived, all distinct) -> images/s and peak memory.

    python benchmarks/acquire_speed.py [--n 20000] [--jobs 1,2]

Each run acquires into a fresh dataset folder in its own process; peak memory
is the max RSS of that process and its workers.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"


def make_images(folder: Path, n: int) -> None:
    if folder.exists() and len(list(folder.rglob("*.png"))) >= n:
        return
    sys.path.insert(0, str(ROOT))
    from sklearn.datasets import load_digits
    from dataprep.core.sources import digit_image

    d = load_digits()
    rng = np.random.default_rng(0)
    for i in range(n):
        img = d.images[i % len(d.images)].copy()
        img[rng.integers(8), rng.integers(8)] = rng.integers(17)     # make every file distinct
        path = folder / str(d.target[i % len(d.target)]) / f"{i:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        digit_image(img).save(path)


def child(src: str, work: str, jobs: int) -> None:
    sys.path.insert(0, str(ROOT))
    import yaml
    from dataprep.core.acquire import acquire
    from dataprep.core.project import open_project

    w = Path(work)
    shutil.rmtree(w, ignore_errors=True)
    w.mkdir(parents=True)
    (w / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": src, "n_jobs": jobs}}))
    t0 = time.perf_counter()
    s = acquire(open_project(w / "params.yaml"))
    secs = time.perf_counter() - t0
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"jobs": jobs, "images": s["samples"], "secs": secs, "images_per_s": s["samples"] / secs,
                      "peak_mb_self_plus_largest_child": peak}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--jobs", default="1,2")
    a = ap.parse_args()
    src = OUT / f"acquire_src_{a.n}"
    make_images(src, a.n)
    for jobs in map(int, a.jobs.split(",")):
        res = subprocess.run([sys.executable, __file__, "--child", str(src), str(OUT / "acquire_work"), str(jobs)],
                             capture_output=True, text=True)
        print(res.stdout.strip() or res.stderr[-800:], flush=True)
    shutil.rmtree(OUT / "acquire_work", ignore_errors=True)


if __name__ == "__main__":
    main()
