"""One lock per project, taken by every command that writes.

`dvc repro` serialises its own stages, but nothing stopped a `dataprep label pull`
typed by hand while another ran: both read the annotation mirror, both appended
the same rows. Every writing command now holds an exclusive `flock` on
`.dataprep/lock` from start to end, so each reads what the previous one wrote.

The kernel drops a `flock` when its holder dies, `kill -9` included, so a stale
lock cannot exist; the holder's PID, command and start time sit beside it in
`.dataprep/lock.json`, only to say who is holding it. A command that finds the
lock taken waits (`DATAPREP_LOCK_TIMEOUT` seconds, default 600) and then stops with
one line naming the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from dataprep.core.errors import UserError

DEFAULT_TIMEOUT = 600.0
POLL = 0.1


def _holder(info: Path) -> str:
    try:
        h = json.loads(info.read_text())
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(h["since"]))
        return f"PID {h['pid']}, `{h['command']}`, since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def timeout_from_env() -> float:
    raw = os.environ.get("DATAPREP_LOCK_TIMEOUT", "")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise UserError(f"DATAPREP_LOCK_TIMEOUT: expected seconds, got {raw!r}") from None


@contextlib.contextmanager
def project_lock(work: Path, command: str | None = None, timeout: float | None = None,
                 on_wait=None) -> Iterator[None]:
    """Hold the project's lock (`work` is the project's `.dataprep/` folder)."""
    work.mkdir(parents=True, exist_ok=True)
    path, info = work / "lock", work / "lock.json"
    timeout = timeout_from_env() if timeout is None else timeout
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline, told = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(f"another dataprep command is running on this project ({_holder(info)}); "
                                    f"waited {timeout:.0f} s: run this again when it ends, or wait longer with "
                                    "DATAPREP_LOCK_TIMEOUT=<seconds>") from None
                if not told and on_wait is not None:
                    on_wait(f"waiting for another dataprep command on this project ({_holder(info)})")
                    told = True
                time.sleep(POLL)
        cmd = command or " ".join(["dataprep", *sys.argv[1:]])
        tmp = work / f".lock.json.{os.getpid()}"
        tmp.write_text(json.dumps({"pid": os.getpid(), "command": cmd, "since": time.time()}))
        os.replace(tmp, info)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                info.unlink()
    finally:
        os.close(fd)        # releases the flock
