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

import pandas as pd


def content_id(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def seeded_key(ids: pd.Series, salt: str = "") -> pd.Series:
    """One hex key per id (same index): sort by it for a seeded, order-free ranking."""
    return ids.map(lambda s: hashlib.blake2b(f"{salt}{s}".encode(), digest_size=8).hexdigest())
