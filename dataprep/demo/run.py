"""`dataprep demo`: the whole loop, offline, on the bundled digits data.

Creates a fresh project folder, scaffolds it with `dataprep init`, and runs N
rounds of the real stages through `dvc repro` with simulated annotators (one
spammer, one adversary and one lazy annotator among seven honest ones), then
builds the HTML report. Nothing here is special-cased for the demo: it is the
pipeline a user runs, with a smaller batch so rounds are quick.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from dataprep import console
from dataprep.core.errors import UserError
from labeling.simulate import SIM_EPOCH

MARK = ".dataprep-demo"
STAGE_DOING = {"acquire": "acquiring the digits", "features": "computing features", "triage": "triage",
               "pull": "pulling the annotators' answers", "validate": "validating labels",
               "select": "training the model and selecting the next batch", "push": "sending the batch",
               "augment": "augmenting accepted images", "export": "exporting the training set"}
DEMO_EPOCH = str(int(SIM_EPOCH.timestamp()))   # pins acquisition times so reruns give identical hashes


def dvc_env() -> dict[str, str]:
    """Environment for `dvc repro`: our console scripts on PATH, analytics off, times pinned."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update({"DVC_NO_ANALYTICS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"})
    env.setdefault("SOURCE_DATE_EPOCH", DEMO_EPOCH)
    return env


def repro(folder: Path, env: dict[str, str], on_stage: Callable[[str], None] | None = None
          ) -> subprocess.CompletedProcess:
    """`dvc repro` in `folder`, its output captured; `on_stage(name)` as each stage starts."""
    proc = subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=folder, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        m = re.match(r"Running stage '([^']+)'", line)
        if m and on_stage:
            on_stage(m.group(1))
    proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), "")


def _fresh_folder(folder: Path, params_text: str) -> Path:
    """(Re)create the demo folder as its own git + DVC repo; inside another checkout (this one,
    say) DVC would refuse a git-ignored subdir."""
    from dataprep.init import init_project
    from dataprep.core.project import open_project

    if folder.exists():
        if not (folder / MARK).exists():
            raise UserError(f"{folder} exists and was not made by `dataprep demo`; pass --dir to another folder")
        if (folder / "params.yaml").exists():          # a server left running by an earlier --studio demo
            from labeling.studio_server import stop
            stop(open_project(folder / "params.yaml"))
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARK).write_text("made by `dataprep demo`; safe to delete\n")
    (folder / "params.yaml").write_text(params_text)
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    init_project(folder)
    return folder / "params.yaml"


@contextlib.contextmanager
def _own_server_only(env: dict[str, str]) -> Iterator[None]:
    """The --studio demo talks to its own local server, whatever LABEL_STUDIO_URL says."""
    keys = ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY")
    saved = {k: os.environ.pop(k) for k in keys if k in os.environ}
    for k in keys:
        env.pop(k, None)
    try:
        yield
    finally:
        os.environ.update(saved)


def _say_round(folder: Path, r: int) -> None:
    m = json.loads((folder / "reports" / "al_metrics.json").read_text())
    q = json.loads((folder / "reports" / "label_quality.json").read_text())
    acc = f", test accuracy {m['accuracy']:.3f}" if "accuracy" in m else ""
    blocked = ", ".join(q.get("blocked_annotators", [])) or "none"
    console.say(f"round {r}: {m['n_labels']} accepted labels{acc}; blocked annotators: {blocked}; "
                + (m["skipped"] if m.get("skipped") else f"selected {m['selected']} with {m['strategy']}"))


def run_demo(folder: Path, rounds: int, studio: bool = False, answer_last: bool = True) -> dict[str, Any]:
    """N rounds of `dvc repro` in a fresh project. With `studio`, each round's batch goes to a local
    Label Studio and the simulated annotators answer there between rounds (not after the last
    round when `answer_last` is false: its tasks wait for a person, as `make ui-check` needs)."""
    from dataprep.core.config import default_params_yaml, edit_params_text
    from dataprep.core.project import open_project
    from dataprep.report import build

    folder = folder.resolve()
    # adaptive redundancy (the default: one annotation a task, more where it settles something)
    # and auto-labels with a stated bound (off by default: the user chooses the error they accept)
    settings = {"select.batch_size": 40,
                "label.auto_accept": {"max_error": 0.05, "confidence": 0.95, "audit_share": 0.5}}
    if studio:
        settings |= {"label.backend": "studio", "label.project_title": "dataprep-demo"}
    text = edit_params_text(default_params_yaml(), settings)      # the documented file, comments kept
    params = _fresh_folder(folder, text)
    project = open_project(params)
    env = dvc_env()
    console.say(f"demo project: {folder}")
    out: dict[str, Any] = {"rounds": rounds, "folder": str(folder)}
    with _own_server_only(env) if studio else contextlib.nullcontext():
        if studio:
            from labeling.studio_server import start
            server = start(project)
            console.say(f"Label Studio is up at {server['url']} (log in as {server['username']}; "
                        f"password in {server['credentials']})")
            out["studio"] = {"url": server["url"], "credentials": server["credentials"],
                             "stop": f"dataprep --params {params} studio stop"}
        for r in range(1, rounds + 1):
            with console.activity(f"round {r}/{rounds}: dvc repro") as show:
                res = repro(folder, env, on_stage=lambda name, r=r: show(f"round {r}/{rounds}: {STAGE_DOING.get(name, name)}"))
            if res.returncode != 0:
                tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-8:])
                raise UserError(f"round {r}: `dvc repro` failed in {folder}:\n{tail}")
            _say_round(folder, r)
            if studio and (answer_last or r < rounds):   # the team works between rounds
                from dataprep.demo.studio_sim import answer_in_studio
                a = answer_in_studio(project)
                console.say(f"round {r}: {a['answered']} annotations made in Label Studio on {a['tasks']} tasks")
    info = build(project)
    return out | {"headline": info["headline"], "report": info["path"]}
