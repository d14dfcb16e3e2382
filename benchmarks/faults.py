"""Fault injection: `kill -9` in every stage, and concurrent writers.

A generated text project (600 samples, simulated annotators) runs the loop stage by
stage. For each of `--kills` iterations, every stage command is started, killed with
SIGKILL after a random delay (seeded; 30-100% of that stage's clean run time), and run
again to completion. `kills` counts the runs the signal caught before they ended. After each re-run:

- rows lost: annotations the simulated backend holds that the mirror lacks after a pull;
- rows duplicated: repeated rows in the annotation mirror, the backend's log, tasks or
  the manifest;
- temp files left: `*.tmp` anywhere in the project, or a half-swapped export;
- unreadable: a table that no longer parses.

Then 2, 3 and 4 concurrent writers (`label pull`, `validate`, `select` at once, as
processes) and the same counts. Goal: 0 everywhere.

    python benchmarks/faults.py [--kills 20] [--seed 0] [--dir /tmp/faults]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dataprep.core import store  # noqa: E402
from dataprep.core.config import default_params_yaml  # noqa: E402
from dataprep.demo.examples import text_csv  # noqa: E402

DATAPREP = str(Path(sys.executable).parent / "dataprep")
STAGES = [["acquire"], ["features"], ["triage"], ["select"], ["label", "push"], ["label", "pull"],
          ["validate"], ["augment"], ["export"], ["report"]]
OK_REFUSALS = ("no pool sample left", "gate")       # a finished pool or a failed gate is an answer, not a fault


def run(path: Path, cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([DATAPREP, *cmd], cwd=path, capture_output=True, text=True, timeout=900)


def setup(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    text_csv(folder / "t.csv", n_per_class=150)
    raw = yaml.safe_load(default_params_yaml())
    raw["acquire"]["source"] = "t.csv"
    raw["select"]["batch_size"] = 10
    (folder / "params.yaml").write_text(yaml.safe_dump(raw))
    return folder


def check(path: Path) -> dict[str, int]:
    """Counts of what went wrong, as the files stand now."""
    data = path / "data"
    out = {"lost": 0, "duplicated": 0, "temp_left": 0, "unreadable": 0}
    tables = {}
    for name in ("manifest", "tasks", "annotations", "labels", "selection"):
        try:
            tables[name] = store.read_table(data, name)
        except Exception:
            out["unreadable"] += 1
            tables[name] = store.empty(name)
    sim_log = next((path / ".dataprep").rglob("simulated/annotations.parquet"), None)
    sim = pd.read_parquet(sim_log) if sim_log else store.empty("annotations")
    mirror = tables["annotations"]
    out["duplicated"] += int(mirror.duplicated(["annotation_id", "updated_at", "status", "label"]).sum())
    out["duplicated"] += int(sim.duplicated(["annotation_id"]).sum())
    out["duplicated"] += int(tables["tasks"].duplicated(["task_id"]).sum())
    out["duplicated"] += int(tables["manifest"].duplicated(["sample_id"]).sum())
    out["lost"] = int(len(set(sim["annotation_id"]) - set(mirror["annotation_id"])))
    out["temp_left"] = sum(1 for p in path.rglob("*.tmp") if ".dataprep/tmp" not in str(p))
    out["temp_left"] += int((path / ".export.old").exists() or (path / ".export.tmp").exists())
    return out


def settle(path: Path) -> None:
    """After a fault: the pull that brings the mirror level with the backend."""
    run(path, ["label", "pull"])


def kills(path: Path, n: int, rng: random.Random, took: dict[str, float]) -> pd.DataFrame:
    """`took`: how long each stage's clean run took; the kill lands between 30% and 100% of
    that (the first second or so is Python importing, which holds nothing worth testing)."""
    rows = []
    for it in range(n):
        for cmd in STAGES:
            t0 = time.perf_counter()
            proc = subprocess.Popen([DATAPREP, *cmd], cwd=path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 1.0) * took[" ".join(cmd)])
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            res = run(path, cmd)
            survived = res.returncode == 0 or (res.returncode in (1, 2) and any(r in res.stderr for r in OK_REFUSALS))
            traceback = "Traceback" in res.stderr or "unexpected" in res.stderr
            settle(path)
            rows.append({"iteration": it, "stage": " ".join(cmd), "killed": killed, "survived": survived and not traceback,
                         "secs": time.perf_counter() - t0, **check(path),
                         "error": "" if survived else res.stderr.strip()[-200:]})
            print(f"kill {it} {' '.join(cmd)}: killed={killed} {rows[-1]}", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def concurrent(path: Path, rng: random.Random) -> pd.DataFrame:
    rows = []
    writers = [["label", "pull"], ["label", "pull"], ["validate"], ["select"]]
    for k in (2, 3, 4):
        run(path, ["select"])
        run(path, ["label", "push"])
        cmds = list(writers[:k])
        rng.shuffle(cmds)
        procs = [subprocess.Popen([DATAPREP, *c], cwd=path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in cmds]
        results = [p.communicate(timeout=900) for p in procs]
        bad = [e for p, (_, e) in zip(procs, results)
               if p.returncode not in (0,) and not any(r in e for r in OK_REFUSALS)]
        settle(path)
        rows.append({"writers": k, "commands": "; ".join(" ".join(c) for c in cmds), "failed": len(bad), **check(path)})
        print(f"concurrent {k}: {rows[-1]}", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20, help="kill -9 iterations per stage")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", type=Path, default=None, help="project folder (default: a temp folder)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    folder = a.dir or Path(tempfile.mkdtemp(prefix="dataprep-faults-")) / "p"
    path = setup(folder)
    os.environ["DATAPREP_LOCK_TIMEOUT"] = "900"
    took = {}
    for cmd in STAGES:          # one clean pass first, so every stage has its inputs; time each
        t0 = time.perf_counter()
        run(path, cmd)
        took[" ".join(cmd)] = time.perf_counter() - t0
    k = kills(path, a.kills, rng, took)
    c = concurrent(path, rng)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    k.to_csv(out / "faults_kills.csv", index=False)
    c.to_csv(out / "faults_concurrent.csv", index=False)
    pd.set_option("display.width", 200)
    summary = k.groupby("stage", sort=False).agg(kills=("killed", "sum"), runs=("killed", "size"),
                                                 survived=("survived", "sum"), rows_lost=("lost", "max"),
                                                 rows_duplicated=("duplicated", "max"), temp_left=("temp_left", "max"),
                                                 unreadable=("unreadable", "max"))
    print(f"== kill -9 at a random moment, then the same command again ({a.kills} per stage, seed {a.seed})")
    print(summary.to_string())
    print("== concurrent writers (processes)")
    print(c.to_string(index=False))
    failures = k[~k["survived"]]
    if len(failures):
        print("== runs that did not survive")
        print(failures[["iteration", "stage", "error"]].to_string(index=False))


if __name__ == "__main__":
    main()
