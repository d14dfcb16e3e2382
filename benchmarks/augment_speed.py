"""Augmentation throughput: the stage's code vs a plain albumentations loop, same files, same run.

5,000 images of 256x256 through the `medium` preset (1 copy each). The plain
loop reads each file, applies the pipeline and writes a PNG, nothing else; the
stage also seeds per copy, records the replay, content-hashes and writes
lineage rows.

    python benchmarks/augment_speed.py [--n 5000] [--jobs 1,2]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from augment.pipelines import load  # noqa: E402
from augment.run import augment_items  # noqa: E402

OUT = Path(__file__).parent / "out"


def make(folder: Path, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    (folder / "imgs").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        p = folder / "imgs" / f"{i:05d}.png"
        if not p.exists():
            small = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(small).resize((256, 256), Image.BICUBIC).save(p)
        rows.append({"sample_id": f"s{i:05d}", "path": f"imgs/{i:05d}.png", "label": str(i % 10)})
    return pd.DataFrame(rows)


def plain(folder: Path, items: pd.DataFrame) -> float:
    comp = load("medium")
    out = folder / "plain"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    t0 = time.perf_counter()
    for r in items.itertuples():
        img = np.asarray(Image.open(folder / r.path).convert("RGB"))
        res = comp(image=img)["image"]
        buf = io.BytesIO()
        Image.fromarray(res).save(buf, format="PNG", optimize=False)
        (out / f"{r.sample_id}.png").write_bytes(buf.getvalue())
    return len(items) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--jobs", default="1,2")
    a = ap.parse_args()
    folder = OUT / "augment_bench"
    items = make(folder, a.n)
    base = plain(folder, items)
    print(f"plain albumentations loop: {base:8.1f} images/s")
    for jobs in map(int, a.jobs.split(",")):
        shutil.rmtree(folder / "augmented", ignore_errors=True)
        t0 = time.perf_counter()
        df, s = augment_items(items, folder, "medium", copies=1, n_jobs=jobs)
        rate = len(items) / (time.perf_counter() - t0)
        print(f"stage, {jobs} worker(s):      {rate:8.1f} images/s  ({rate / base:.2f}x the plain loop; "
              f"{s['augmented']} written)")


if __name__ == "__main__":
    main()
