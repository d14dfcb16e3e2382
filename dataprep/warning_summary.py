"""Third-party warnings, caught for every command so a default run prints one clean line per stage.

Library warnings (scikit-learn's `ConvergenceWarning`, numpy's `RuntimeWarning`,
pandas' `FutureWarning`, ...) never reach the console as Python prints them.
Those that say something about the user's data are turned into one line that
names the likely cause (`RULES`, printed once per command on stderr, silent
under `--quiet`/`--json`); the rest are silenced. Every warning, translated or
not, is appended with its origin to `.dataprep/warnings.log` of the project the
command opened, so nothing is lost for whoever debugs. `DATAPREP_DEBUG=1` shows
them as Python would. Worker processes (joblib's loky) inherit
`PYTHONWARNINGS=ignore`: what they would print cannot be caught here.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from pathlib import Path

# (category name, message pattern, the line a person reads; {0}, {1}... are the pattern's groups)
RULES: list[tuple[str, str, str]] = [
    ("ConvergenceWarning", r"Number of distinct clusters \((\d+)\) found smaller than n_clusters \((\d+)\)",
     "k-means found {0} distinct cluster(s) where {1} were asked: the features look nearly constant "
     "(features.embedding returning one vector? images blank after decoding? the wrong acquire.text_column?)"),
]

_seen: list[tuple[str, str, str]] = []        # (category, message, origin)
_log_dir: list[Path] = []


def install() -> None:
    """Catch every warning of this process from now on (and silence worker processes)."""
    if os.environ.get("DATAPREP_DEBUG"):
        return
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    warnings.simplefilter("default")

    def hook(message, category, filename, lineno, file=None, line=None):
        _seen.append((category.__name__, str(message), f"{filename}:{lineno}"))

    warnings.showwarning = hook


def log_to(work_dir: Path) -> None:
    """Write this command's warnings to `work_dir/warnings.log` when it ends."""
    _log_dir[:] = [work_dir]


def translated() -> list[str]:
    """The lines that matter, each once, for the warnings seen so far."""
    lines: list[str] = []
    for cat, msg, _ in _seen:
        for rule_cat, pattern, text in RULES:
            m = re.search(pattern, msg)
            if cat == rule_cat and m and text:
                line = text.format(*m.groups())
                if line not in lines:
                    lines.append(line)
    return lines


def finish(command: str) -> list[str]:
    """Log what was caught; return the translated lines for the console."""
    if _seen and _log_dir and _log_dir[0].is_dir():
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        counts: dict[tuple[str, str, str], int] = {}
        for w in _seen:
            counts[w] = counts.get(w, 0) + 1
        with open(_log_dir[0] / "warnings.log", "a", encoding="utf-8") as f:
            for (cat, msg, origin), n in counts.items():
                f.write(f"{stamp}\t{command}\t{cat}\t{origin}\t{n}x\t{msg.splitlines()[0] if msg else ''}\n")
    lines = translated()
    _seen.clear()
    return lines
