"""A lazy row subset of a feature matrix that another process can read without a copy.

`Rows(X, rows)[key]` is `X[rows[key]]` as an in-memory matrix (`take`), and `X` is never
copied whole. When `X` is a memory-mapped `.npy` (the features cache), a `Rows` sent to a
worker process or a Dask worker travels as the file's path, offset and shape and is mapped
again there, so each worker reads only the rows its task asks for; pickling the memory map
itself would ship the whole pool (numpy pickles a memmap as an ordinary array).
Rows of such a file are read with plain reads (pread), never through a mapping, so a
reader's resident memory is only the rows it holds: a worker that checks candidates
scattered over the whole pool does not end up with the whole file's pages counted as its
own (at 10M x 64 that was 1.2 GB of a worker's peak).
"""

from __future__ import annotations

import mmap
import os

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

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if self.file is not None:
            if self.rows is not None:
                rows = self.rows[key]
            else:
                rows = np.arange(*key.indices(self.shape[0])) if isinstance(key, slice) else np.asarray(key)
                if rows.dtype == bool:                  # a mask selects rows, as numpy's indexing does
                    rows = np.flatnonzero(rows)
                rows = np.where(rows < 0, rows + self.shape[0], rows)     # and -1 is the last row
            return self._read(np.atleast_1d(rows)) if np.ndim(rows) else self._read(np.array([rows]))[0]
        return take(self.X, key if self.rows is None else self.rows[key])

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """Rows `rows` of the file by plain reads (pread), into memory: no page of the file is
        mapped into this process, so its resident memory is only what it holds. A dense set is
        read as one span, a sparse one row by row."""
        name, dtype, offset, shape = self.file
        dt = np.dtype(dtype)
        width = int(np.prod(shape[1:], dtype=np.int64)) * dt.itemsize
        out = np.empty((len(rows),) + tuple(shape[1:]), dt)
        if not len(rows):
            return out
        lo, hi = int(rows.min()), int(rows.max()) + 1
        with open(name, "rb", buffering=0) as fh:
            fd = fh.fileno()
            if hi - lo <= 4 * len(rows):
                span = np.frombuffer(os.pread(fd, (hi - lo) * width, offset + lo * width), dt)
                out[:] = span.reshape((hi - lo,) + tuple(shape[1:]))[rows - lo]
            else:
                flat = out.reshape(len(rows), -1).view(np.uint8)
                for i, r in enumerate(rows.tolist()):
                    flat[i] = np.frombuffer(os.pread(fd, width, offset + r * width), np.uint8)
        return out

    def __array__(self, dtype=None, copy=None):
        if self.file is not None:
            return np.asarray(self[slice(None)], dtype=dtype)
        return np.asarray(self.X if self.rows is None else self.X[self.rows], dtype=dtype)
