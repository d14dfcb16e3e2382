"""A team's data on a DVC remote: `dataprep init --remote` makes it the default, `dvc push`
sends every stage's outputs there, and a fresh `git clone` + `dvc pull` gets the same data
back and recomputes the round's stages to the same results (a local-folder remote; generated
tabular data)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from conftest import write_params
from dataprep.demo.examples import tabular_csv
from dataprep.demo.run import dvc_env, repro

GIT_ID = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
          "GIT_COMMITTER_EMAIL": "t@example.org"}


def _run(cmd, cwd, env):
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, (cmd, res.stdout[-3000:], res.stderr[-3000:])
    return res.stdout


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_clone_pulls_the_data_and_reproduces_the_round(tmp_path):
    env = {**dvc_env(), **GIT_ID}
    dp = [sys.executable, "-m", "dataprep"]
    dvc = [sys.executable, "-m", "dvc"]
    src = tabular_csv(tmp_path / "table.csv", n_per_class=40)
    proj = write_params(tmp_path / "team", str(src), select__batch_size=20)
    remote = tmp_path / "shared" / "dvc-store"
    out = _run(dp + ["init", str(proj), "--remote", str(remote)], tmp_path, env)
    assert "dvc remote storage" in out, out
    # idempotent: the same remote again changes nothing
    assert "nothing changed" in _run(dp + ["init", str(proj), "--remote", str(remote)], tmp_path, env)
    assert _run(dvc + ["remote", "default"], proj, env).strip() == "storage"
    for _ in range(2):
        res = repro(proj, env)
        assert res.returncode == 0, res.stdout[-4000:]
    _run(["git", "add", "-A"], proj, env)
    _run(["git", "commit", "-qm", "two rounds"], proj, env)
    _run(dvc + ["push"], proj, env)
    assert any(p.is_file() for p in remote.rglob("*"))

    clone = tmp_path / "teammate"
    _run(["git", "clone", "-q", str(proj), str(clone)], tmp_path, env)
    assert not list((clone / "data").glob("*.parquet"))     # git holds no data (its .gitignore only): the remote does
    _run(dvc + ["pull"], clone, env)
    theirs, mine = _digests(clone / "data"), _digests(proj / "data")
    assert theirs == mine, sorted(set(theirs.items()) ^ set(mine.items()))[:6]
    labels = pd.read_parquet(clone / "data" / "labels.parquet")
    assert len(labels) > 0
    # the clone recomputes the round's validation and selection to the same results
    for stage in ("validate", "select"):
        for where in (proj, clone):
            _run(dvc + ["repro", "--single-item", "--force", stage], where, env)
    for table in ("labels", "quarantine", "requests", "selection"):
        a = pd.read_parquet(proj / "data" / f"{table}.parquet")
        b = pd.read_parquet(clone / "data" / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b, check_like=False)
    sel = pd.read_parquet(clone / "data" / "selection.parquet")
    assert set(sel["round"]) == {1, 2}        # round 2 is still out with the annotators: select names the same batch


def test_remote_must_be_named(tmp_path):
    env = {**os.environ, **GIT_ID}
    res = subprocess.run([sys.executable, "-m", "dataprep", "init", str(tmp_path / "p"), "--remote", " "],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--remote" in res.stderr, res.stderr
