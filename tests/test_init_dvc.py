"""`dataprep init` and a real `dvc repro` in a temp git repo (no mocks)."""

import os
import subprocess
from pathlib import Path

import yaml

from typer.testing import CliRunner

from dataprep.cli import app
from dataprep.core.config import default_params_yaml
from dataprep.core.pipeline import dvc_yaml

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


def test_init_twice(tmp_path):
    first = runner.invoke(app, ["init", str(tmp_path)])
    assert first.exit_code == 0, first.output
    for f in ("params.yaml", "dvc.yaml", ".gitignore", ".dvc/config", ".git"):
        assert (tmp_path / f).exists(), f
    assert "analytics = false" in (tmp_path / ".dvc" / "config").read_text()
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and ".git/" not in str(p)}
    second = runner.invoke(app, ["init", str(tmp_path)])
    assert second.exit_code == 0 and "nothing changed" in second.output
    assert snapshot == {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and ".git/" not in str(p)}


def test_repo_pipeline_matches_init():
    """The repository's own params.yaml / dvc.yaml are what `dataprep init` writes."""
    assert (REPO / "params.yaml").read_text() == default_params_yaml()
    assert (REPO / "dvc.yaml").read_text() == dvc_yaml()


def test_dvc_repro_acquire_then_status_clean(tmp_path):
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    res = subprocess.run(["dvc", "repro", "acquire"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "data" / "manifest.parquet").exists() and (tmp_path / "dvc.lock").exists()
    def outs():
        lock = yaml.safe_load((tmp_path / "dvc.lock").read_text())
        return {o["path"]: o["md5"] for o in lock["stages"]["acquire"]["outs"] if o["path"].startswith("data/")}

    before = outs()
    # acquire is always changed (its source is a parameter); a run with nothing new changes no output,
    # so no stage after it re-runs
    res = subprocess.run(["dvc", "repro", "acquire"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert outs() == before
