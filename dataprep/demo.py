"""`dataprep demo`: the whole loop, offline, on the bundled digits data.

Creates a fresh project folder, scaffolds it with `dataprep init`, and runs N
rounds of the real stages through `dvc repro` with simulated annotators (one
spammer, one adversary and one lazy annotator among seven honest ones), then
builds the HTML report. Nothing here is special-cased for the demo: it is the
pipeline a user runs, with a smaller batch so rounds are quick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from dataprep import console
from dataprep.errors import UserError

MARK = ".dataprep-demo"
DEMO_EPOCH = "1767225600"   # 2026-01-01: pins acquisition times so reruns give identical hashes


def dvc_env() -> dict[str, str]:
    """Environment for `dvc repro`: our console scripts on PATH, analytics off, times pinned."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update({"DVC_NO_ANALYTICS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"})
    env.setdefault("SOURCE_DATE_EPOCH", DEMO_EPOCH)
    return env


def repro(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=folder, env=env, capture_output=True, text=True)


def run_demo(folder: Path, rounds: int, studio: bool = False) -> dict[str, Any]:
    from dataprep.init import init_project
    from dataprep.project import open_project
    from dataprep.report import build

    if studio:
        raise UserError("--studio: the Label Studio backend is not wired into the demo yet; run without --studio")
    folder = folder.resolve()
    if folder.exists():
        if not (folder / MARK).exists():
            raise UserError(f"{folder} exists and was not made by `dataprep demo`; pass --dir to another folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARK).write_text("made by `dataprep demo`; safe to delete\n")
    params = folder / "params.yaml"
    from dataprep.config import default_params_yaml
    params.write_text(default_params_yaml().replace("  batch_size: 50", "  batch_size: 40"))
    init_project(folder)
    env = dvc_env()
    console.say(f"demo project: {folder}")
    for r in range(1, rounds + 1):
        res = repro(folder, env)
        if res.returncode != 0:
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-8:])
            raise UserError(f"round {r}: `dvc repro` failed in {folder}:\n{tail}")
        m = json.loads((folder / "reports" / "al_metrics.json").read_text())
        q = json.loads((folder / "reports" / "label_quality.json").read_text())
        acc = f", test accuracy {m['accuracy']:.3f}" if "accuracy" in m else ""
        blocked = ", ".join(q.get("blocked_annotators", [])) or "none"
        console.say(f"round {r}: {m['n_labels']} accepted labels{acc}; blocked annotators: {blocked}; "
                    + (m["skipped"] if m.get("skipped") else f"selected {m['selected']} with {m['strategy']}"))
    info = build(open_project(params))
    return {"headline": info["headline"], "report": info["path"], "rounds": rounds, "folder": str(folder)}
