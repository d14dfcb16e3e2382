"""Id lookup: which sample ids are among a set of others, as the stages ask it of the manifest.

    python benchmarks/id_lookup.py [--sizes 10000,100000,1000000] [--ids 5000]

For each size N: N sample ids (32 hex characters, as `content_id` makes them) in pandas'
default string dtype, as `store.read_table` returns them, and `--ids` ids (half of them among
the N) to look up. Direction `few_in_many`: the few ids looked up among the N (validate's known
samples, training labels in the pool); `many_in_few`: the N looked up among the few (the pool
against this round's tasks). Rows: `pandas_isin` (`ids.isin(values)`), `pandas_isin_object`
(both converted to object arrays inside the timed call), `among` (`dataprep.core.ids.among`, the
stages' way: a Python set), each given the same ids and values; seconds of one call, the best
of 3. Same answer checked for every row. Then `merge_manifest` (acquire's merge) on an N-row
manifest of which 1,000 rows are no longer found: the seconds of one call.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dataprep.core.acquire import merge_manifest  # noqa: E402
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
    rows, merged = [], []
    for n in map(int, a.sizes.split(",")):
        values = pd.Series([f"{i:032x}" for i in range(n)])
        ids = pd.concat([values.iloc[: a.ids // 2], pd.Series([f"x{i:031x}" for i in range(a.ids - a.ids // 2)])],
                        ignore_index=True)
        for direction, (x, v) in {"few_in_many": (ids, values), "many_in_few": (values, ids)}.items():
            ways = {"pandas_isin": lambda: x.isin(v).to_numpy(),
                    "pandas_isin_object": lambda: x.astype(object).isin(v.astype(object)).to_numpy(),
                    "among": lambda: among(x, v)}
            truth = None
            for name, f in ways.items():
                s, out = best(f)
                truth = out if truth is None else truth
                rows.append({"N": n, "direction": direction, "way": name, "seconds": round(s, 4),
                             "same": bool((out == truth).all())})
        merged.append({"N": n, "merge_manifest_seconds": round(time_merge(values), 2)})
    print(pd.DataFrame(rows).to_string(index=False))
    print()
    print(pd.DataFrame(merged).to_string(index=False))


def time_merge(ids: pd.Series) -> float:
    """acquire's merge of an N-row manifest with what a new read found: all but 1,000 rows."""
    n = len(ids)
    old = pd.DataFrame({"sample_id": ids, "modality": "text", "path": None, "text": "x",
                        "source": [f"t.csv:{i}" for i in range(n)],
                        "sources": [json.dumps([f"t.csv:{i}"]) for i in range(n)], "source_label": "a",
                        "split": "pool", "width": None, "height": None,
                        "acquired_at": pd.Timestamp("2026-01-01", tz="UTC"),
                        "gone_at": pd.Series([None] * n, dtype="datetime64[us, UTC]")})
    found = old.drop(columns=["split", "acquired_at", "gone_at"]).iloc[: max(0, n - 1000)]
    t = time.perf_counter()
    merge_manifest(old, found, 0.3, 0, [], "t.csv", [])
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
