"""Sample ids and orderings of them that depend on nothing but the ids.

`content_id`: the BLAKE2b-128 of a sample's bytes, so the same content is the
same sample on every machine. `seeded_key`: a BLAKE2b-64 key per id under a
salt (a seed and a purpose: the test split, gold tasks, the stop set, the
order tasks are sent in), so a ranking is fixed by the seed and the ids alone,
never by file or row order, and two purposes never pick the same samples
because they share a seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd


def content_id(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def seeded_key(ids: pd.Series, salt: str = "") -> pd.Series:
    """One hex key per id (same index): sort by it for a seeded, order-free ranking."""
    return ids.map(lambda s: hashlib.blake2b(f"{salt}{s}".encode(), digest_size=8).hexdigest())


def among(ids: Iterable, values: Iterable) -> np.ndarray:
    """Which of `ids` are among `values` (a boolean array): `ids.isin(values)` through a Python
    set. pandas 3's `isin` reads the values one by one when the ids are its default string
    dtype (a million values: 10-20 s a call, whatever the number of ids); a set of them takes
    under a second (`benchmarks/id_lookup.py`). The stages test ids against the manifest."""
    # as object arrays first: iterating pandas' string dtype boxes each value (4 s a million)
    s = values if isinstance(values, (set, frozenset)) else set(np.asarray(values, dtype=object))
    ids = np.asarray(ids, dtype=object)
    return np.fromiter((x in s for x in ids), bool, len(ids))
