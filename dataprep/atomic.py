"""Atomic file writes: a crash mid-write leaves the previous file readable.

Write to a temp file in the same folder (same filesystem, so rename is atomic),
fsync, then `os.replace` over the target.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

_written: set[str] | None = None


def trace_writes() -> set[str]:
    """Start recording every path written through this module (see `dataprep.trace`)."""
    global _written
    _written = set()
    return _written


def record_write(target: str | os.PathLike) -> None:
    """Note a write made outside `atomic_path` (content-addressed files, renamed folders)."""
    if _written is not None:
        _written.add(str(Path(target).resolve()))


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success it replaces `target`."""
    target = Path(target)
    record_write(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)      # mkstemp makes 0600; a data file should look like any other
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | os.PathLike, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike, obj) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
