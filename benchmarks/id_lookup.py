"""Id lookup: which sample ids are among a set of others, as the stages ask it of the manifest.

    python benchmarks/id_lookup.py [--sizes 10000,100000,1000000] [--ids 5000]

For each size N: N sample ids (32 hex characters, as `content_id` makes them) in pandas'
default string dtype, as `store.read_table` returns them, and `--ids` of them to look up.
Rows: `pandas_isin` (`ids.isin(values)`), `pandas_isin_object` (both as object arrays first),
`among` (`dataprep.core.ids.among`, the stages' way: a Python set), each given the same ids and
values; the seconds of one call, the best of 3. Same answer checked for every row.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dataprep.core.ids import among  # noqa: E402


def best(f, n=3) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(n):
        t = time.perf_counter()
        out = np.asarray(f())
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--ids", type=int, default=5000)
    a = ap.parse_args()
    rows = []
    for n in map(int, a.sizes.split(",")):
        values = pd.Series([f"{i:032x}" for i in range(n)])
        ids = pd.concat([values.iloc[: a.ids // 2], pd.Series([f"x{i:031x}" for i in range(a.ids - a.ids // 2)])],
                        ignore_index=True)
        ways = {"pandas_isin": lambda: ids.isin(values).to_numpy(),
                "pandas_isin_object": lambda: ids.astype(object).isin(values.astype(object)).to_numpy(),
                "among": lambda: among(ids, values)}
        truth = None
        for name, f in ways.items():
            s, out = best(f)
            truth = out if truth is None else truth
            rows.append({"values": n, "ids": len(ids), "way": name, "seconds": round(s, 4),
                         "same": bool((out == truth).all())})
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
