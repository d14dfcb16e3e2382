"""Atomic file writes: a crash mid-write leaves the previous file readable.

Write to a temp file, fsync, then `os.replace` over the target. A command run from
the CLI keeps its temp files in the project's `.dataprep/tmp/` (`use_temp_dir`,
passed to worker processes through `DATAPREP_TMPDIR`), outside every DVC-tracked
folder, and empties it when it starts, so a killed command leaves nothing behind in
`data/`. Where that folder is on another filesystem than the target (rename would
not be atomic), or outside a command, the temp file sits beside the target.

`swap_dir` puts a new folder in place of an old one in one step (Linux
`renameat2(RENAME_EXCHANGE)`), so a kill never leaves neither.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

_written: set[str] | None = None


def trace_writes() -> set[str]:
    """Start recording every path written through this module (see `dataprep.core.trace`)."""
    global _written
    _written = set()
    return _written


def record_write(target: str | os.PathLike) -> None:
    """Note a write made outside `atomic_path` (content-addressed files, renamed folders)."""
    if _written is not None:
        _written.add(str(Path(target).resolve()))


TMP_ENV = "DATAPREP_TMPDIR"


def use_temp_dir(folder: Path, stale_beside: list[Path] = ()) -> None:
    """Send this process's (and its workers') temp files to `folder`, emptied first (the
    caller holds the project lock, so nothing there is in use), and remove the temp files
    that older versions left beside their targets in `stale_beside` folders."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[TMP_ENV] = str(folder)
    for where in stale_beside:
        if where.is_dir():
            for f in where.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    f.unlink()


def temp_dir_for(target: Path) -> Path:
    root = os.environ.get(TMP_ENV)
    if root:
        with contextlib.suppress(OSError):
            r = Path(root)
            r.mkdir(parents=True, exist_ok=True)
            if r.stat().st_dev == target.parent.stat().st_dev:
                return r
    return target.parent


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, fsync: bool = True) -> Iterator[Path]:
    """Yield a temp path (see module docstring); on success it replaces `target`."""
    target = Path(target)
    record_write(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=temp_dir_for(target))
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)      # mkstemp makes 0600; a data file should look like any other
    try:
        yield tmp_path
        if fsync:
            with open(tmp_path, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(target: str | os.PathLike, data: bytes, fsync: bool = True) -> None:
    with atomic_path(target, fsync) as tmp:
        tmp.write_bytes(data)


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the call is not available."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):      # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_dir(new: Path, dest: Path) -> None:
    """Put folder `new` at `dest` in one step; the old `dest` is removed afterwards."""
    record_write(dest)
    old = dest.with_name(f".{dest.name}.old")
    if not dest.exists() and old.exists():      # an earlier run killed between its two renames
        old.rename(dest)
    if not dest.exists():
        os.rename(new, dest)
    elif _exchange(new, dest):
        shutil.rmtree(new, ignore_errors=True)      # `new` now holds the old folder
    else:                                             # two renames; a kill between them is undone by the next run
        shutil.rmtree(old, ignore_errors=True)
        dest.rename(old)
        new.rename(dest)
        shutil.rmtree(old, ignore_errors=True)


def write_text(target: str | os.PathLike, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike, obj) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
