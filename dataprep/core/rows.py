"""A lazy row subset of a feature matrix that another process can read without a copy.

`Rows(X, rows)[key]` is `X[rows[key]]` as an in-memory matrix (`take`), and `X` is never
copied whole. When `X` is a memory-mapped `.npy` (the features cache), a `Rows` sent to a
worker process or a Dask worker travels as the file's path, offset and shape and is mapped
again there, so each worker reads only the rows its task asks for; pickling the memory map
itself would ship the whole pool (numpy pickles a memmap as an ordinary array).
"""

from __future__ import annotations

import mmap

import numpy as np

from dataprep.core.features import take


def _mapped_file(X) -> bool:
    """A whole `.npy` memory map (np.load(mmap_mode='r')), not a slice of one: its offset and
    shape describe the file, so it can be mapped again elsewhere."""
    return (isinstance(X, np.memmap) and isinstance(X.base, mmap.mmap) and X.filename is not None
            and X.flags.c_contiguous)


class Rows:
    """Rows `rows` of `X` (all rows if None), read lazily."""

    def __init__(self, X, rows: np.ndarray | None = None):
        self.X = X
        self.rows = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
        self.shape = (len(self.rows), X.shape[1])

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key):
        return take(self.X, self.rows[key])

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.X[self.rows], dtype=dtype)

    def __getstate__(self):
        if _mapped_file(self.X):
            X = self.X
            return {"file": (X.filename, X.dtype.str, X.offset, X.shape), "rows": self.rows}
        return {"X": self.X, "rows": self.rows}

    def __setstate__(self, state):
        if "file" in state:
            name, dtype, offset, shape = state["file"]
            X = np.memmap(name, dtype=np.dtype(dtype), mode="r", offset=offset, shape=tuple(shape))
        else:
            X = state["X"]
        self.__init__(X, state["rows"])
