"""`dataprep init`: scaffold a project that `dvc repro` can run.

Idempotent: every step checks before it writes, so a second run changes
nothing and says so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dataprep.atomic import write_text
from dataprep.config import default_params_yaml, load_config
from dataprep.errors import UserError
from dataprep.pipeline import dvc_yaml

GITIGNORE_LINES = ["/.dataprep/", "/reports/*.html", "__pycache__/", ".venv/"]


def _run(cmd: list[str], cwd: Path) -> str:
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise UserError(f"`{cmd[0]}` not found on PATH; install it (git and dvc are required)") from exc
    except subprocess.CalledProcessError as exc:
        raise UserError(f"`{' '.join(cmd)}` failed in {cwd}: {exc.stderr.strip() or exc.stdout.strip()}") from exc
    return res.stdout


def init_project(folder: Path) -> list[str]:
    """Create what is missing; return what was done (empty: nothing changed)."""
    folder.mkdir(parents=True, exist_ok=True)
    done: list[str] = []
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=folder,
                            capture_output=True, text=True).returncode == 0
    if not inside:
        _run(["git", "init", "-q"], folder)
        done.append("git init")
    if not (folder / ".dvc").exists():
        top = _run(["git", "rev-parse", "--show-toplevel"], folder).strip()
        args = [sys.executable, "-m", "dvc", "init", "-q"] + ([] if Path(top).resolve() == folder.resolve() else ["--subdir"])
        _run(args, folder)
        _run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], folder)
        done.append("dvc init (analytics off)")
    params = folder / "params.yaml"
    if not params.exists():
        write_text(params, default_params_yaml())
        done.append("wrote params.yaml")
    cfg = load_config(params)
    dvc_file = folder / "dvc.yaml"
    if not dvc_file.exists():
        write_text(dvc_file, dvc_yaml(cfg))
        done.append("wrote dvc.yaml")
    gi = folder / ".gitignore"
    have = gi.read_text().splitlines() if gi.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in have]
    if missing:
        write_text(gi, "\n".join(have + missing) + "\n")
        done.append(".gitignore: " + ", ".join(missing))
    return done
