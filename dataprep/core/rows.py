"""A lazy row subset of a feature matrix that another process can read without a copy.

`Rows(X, rows)[key]` is `X[rows[key]]` as an in-memory matrix (`take`), and `X` is never
copied whole. When `X` is a memory-mapped `.npy` (the features cache), a `Rows` sent to a
worker process or a Dask worker travels as the file's path, offset and shape and is mapped
again there, so each worker reads only the rows its task asks for; pickling the memory map
itself would ship the whole pool (numpy pickles a memmap as an ordinary array).
Such a file is mapped afresh for each read and unmapped after it, so the pages one read
touched leave the reader's resident memory with it: a worker that scores a tenth of the
pool never holds more than the range it is reading.
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
        if _mapped_file(X):
            self.file, self.X = (X.filename, X.dtype.str, X.offset, tuple(X.shape)), None
        else:
            self.file, self.X = None, X
        self.rows = None if rows is None else np.asarray(rows)       # None: every row (no index array of N)
        self.shape = (X.shape[0] if rows is None else len(self.rows), X.shape[1])

    @classmethod
    def of(cls, X) -> "Rows":
        """`X` itself if it is a `Rows`, else all its rows."""
        return X if isinstance(X, Rows) else cls(X)

    def _matrix(self):
        if self.file is None:
            return self.X
        name, dtype, offset, shape = self.file
        return np.memmap(name, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        X = self._matrix()
        if self.rows is None and isinstance(key, slice) and isinstance(X, np.memmap):
            return np.array(X[key])                  # a copy in memory, as `take` gives for row numbers
        return take(X, key if self.rows is None else self.rows[key])

    def __array__(self, dtype=None, copy=None):
        X = self._matrix()
        return np.asarray(X if self.rows is None else X[self.rows], dtype=dtype)
