"""What a command read from `params.yaml` and which files it wrote, for checking `dvc.yaml`.

With `DATAPREP_TRACE=<file>` in the environment, every `dataprep` command
appends one JSON line: its arguments, the `section.key` settings it read and
the files it wrote. `tests/test_pipeline_contract.py` runs real rounds with it
and checks that each stage declares exactly what its code touches, so the
stage graph cannot drift from the code.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from dataprep.core import atomic, config

ENV = "DATAPREP_TRACE"


def start() -> tuple[set[str], set[str]] | None:
    if not os.environ.get(ENV):
        return None
    return config.trace_reads(), atomic.trace_writes()


def finish(traced: tuple[set[str], set[str]] | None) -> None:
    if traced is None:
        return
    reads, writes = traced
    line = json.dumps({"argv": sys.argv[1:], "cwd": str(Path.cwd()), "reads": sorted(reads),
                       "writes": sorted(writes)})
    with open(os.environ[ENV], "a") as fh:
        fh.write(line + "\n")
