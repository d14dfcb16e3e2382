"""The heavy stages on a real Dask cluster (`compute.scheduler` / DATAPREP_SCHEDULER): a
`dask.distributed.LocalCluster` of two worker processes on loopback runs the batches of
acquire, features and triage, and the outputs are the same as on this machine's processes.
Generated images of every kind the decoder handles (alpha, EXIF-rotated, palette, 16-bit,
CMYK) with an exact and a resized duplicate."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from PIL import Image

from conftest import write_params
from dataprep.demo.examples import image_folder
from dataprep.demo.run import dvc_env


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc, Client(lc.scheduler_address) as c:
        yield lc.scheduler_address, c


def _stages(path, env):
    for stage in ("acquire", "features", "triage"):
        res = subprocess.run([sys.executable, "-m", "dataprep", stage], cwd=path, env=env, capture_output=True, text=True)
        assert res.returncode == 0, (stage, res.stdout[-2000:], res.stderr[-2000:])


def _digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_heavy_stages_give_the_same_outputs_on_a_dask_cluster(cluster, tmp_path):
    address, client = cluster
    src = image_folder(tmp_path / "src", n_per_class=90, seed=4)
    first = sorted((src / "ring").glob("*.png"))[0]
    shutil.copy(first, src / "ring" / "copy_of_first.png")                       # an exact duplicate
    with Image.open(first) as im:
        im.resize((im.width * 2, im.height * 2)).save(src / "ring" / "bigger_first.png")   # a near-duplicate
    env = {k: v for k, v in dvc_env().items() if k != "DATAPREP_SCHEDULER"}     # times pinned
    local = write_params(tmp_path / "local", str(src), init=True)
    on_dask = write_params(tmp_path / "dask", str(src), init=True)
    _stages(local, env)
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    _stages(on_dask, {**env, "DATAPREP_SCHEDULER": address})
    after = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    assert after - before >= 3 * 4, (before, after)        # each stage's batches went through the scheduler
    for table in ("manifest", "triage"):
        a = pd.read_parquet(local / "data" / f"{table}.parquet")
        b = pd.read_parquet(on_dask / "data" / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b)
    assert _digests(local / "data" / "features") == _digests(on_dask / "data" / "features")
    assert _digests(local / "data" / "raw") == _digests(on_dask / "data" / "raw")
    tri = pd.read_parquet(on_dask / "data" / "triage.parquet")
    assert tri["is_near_duplicate"].sum() >= 1                  # the resized copy (the exact one merged at acquire)


def test_a_scheduler_nobody_runs_is_one_line(tmp_path):
    src = image_folder(tmp_path / "src", n_per_class=2)
    path = write_params(tmp_path / "p", str(src), init=True)
    env = {**os.environ, "DATAPREP_SCHEDULER": "tcp://127.0.0.1:1"}
    res = subprocess.run([sys.executable, "-m", "dataprep", "acquire"], cwd=path, env=env, capture_output=True, text=True)
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "tcp://127.0.0.1:1" in err[0] and "Dask scheduler" in err[0], res.stderr
