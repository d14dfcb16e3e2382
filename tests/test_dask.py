"""The heavy stages on a real Dask cluster (`compute.scheduler` / DATAPREP_SCHEDULER): a
`dask.distributed.LocalCluster` of two worker processes on loopback runs the batches of
acquire, features and triage and the EM of truth inference, and two `dvc repro` rounds give
the same outputs as on this machine's processes (data, features, triage, inferred labels,
picks); Dawid-Skene cut into many task ranges infers the same labels as in one piece.
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
from dataprep.demo.run import dvc_env, repro


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc, Client(lc.scheduler_address) as c:
        yield lc.scheduler_address, c


def _rounds(path, env, n=2):
    for _ in range(n):
        res = repro(path, env)
        assert res.returncode == 0, res.stdout[-3000:]


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
    _rounds(local, env)
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    _rounds(on_dask, {**env, "DATAPREP_SCHEDULER": address})
    after = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    assert after - before >= 3 * 4, (before, after)        # each stage's batches went through the scheduler
    # two whole rounds: the same data, features, triage, inferred labels and picks
    for table in ("manifest", "triage", "annotations", "labels", "quarantine", "selection"):
        a = pd.read_parquet(local / "data" / f"{table}.parquet")
        b = pd.read_parquet(on_dask / "data" / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b)
    assert _digests(local / "data" / "features") == _digests(on_dask / "data" / "features")
    assert _digests(local / "data" / "raw") == _digests(on_dask / "data" / "raw")
    tri = pd.read_parquet(on_dask / "data" / "triage.parquet")
    assert tri["is_near_duplicate"].sum() >= 1                  # the resized copy (the exact one merged at acquire)


def _pid_after(batch, seconds):
    import time

    time.sleep(seconds)
    return os.getpid()


def test_batches_stay_in_this_process_unless_workers_pay_for_their_start(monkeypatch):
    from dataprep.core import parallel

    monkeypatch.delenv(parallel.ENV, raising=False)
    quick = list(parallel.map_batches(_pid_after, list(range(4)), 1, 2, "quick", 0.0))
    assert quick == [os.getpid()] * 4                # starting workers would cost more than the work
    monkeypatch.setattr(parallel, "SPAWN_S", 0.0)    # workers that cost nothing to start
    slow = list(parallel.map_batches(_pid_after, list(range(5)), 1, 2, "slow", 0.2))
    assert slow[0] == os.getpid() and os.getpid() not in slow[1:]


def test_a_scheduler_nobody_runs_is_one_line(tmp_path):
    src = image_folder(tmp_path / "src", n_per_class=2)
    path = write_params(tmp_path / "p", str(src), init=True)
    env = {**os.environ, "DATAPREP_SCHEDULER": "tcp://127.0.0.1:1"}
    res = subprocess.run([sys.executable, "-m", "dataprep", "acquire"], cwd=path, env=env, capture_output=True, text=True)
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "tcp://127.0.0.1:1" in err[0] and "Dask scheduler" in err[0], res.stderr


def test_dawid_skene_in_task_ranges_on_the_cluster_infers_the_same(cluster, monkeypatch):
    """3,000 tasks, 3 of 6 annotators each (one a spammer), a model prior: cut into ranges of
    400 tasks on the cluster, the same labels and, to float32 rounding, the same posteriors,
    confusions and class prior as in one piece in this process."""
    import numpy as np

    from labeling.aggregate import DawidSkene

    address, client = cluster
    rng = np.random.default_rng(0)
    K, N = 6, 3000
    truth = rng.integers(0, K, N)
    acc = [.9, .85, .8, .75, .7, 1 / K]
    rows = []
    for t in range(N):
        for w in rng.choice(len(acc), 3, replace=False):
            lab = truth[t] if rng.random() < acc[w] else rng.integers(0, K)
            rows.append((f"t{t:05d}", f"w{w}", str(lab)))
    X = pd.DataFrame(rows, columns=["task", "worker", "label"])
    prior = rng.dirichlet(np.ones(K), N) * 0.5 + np.eye(K)[truth] * 0.5
    classes = [str(k) for k in range(K)]
    tasks = np.array(sorted(X["task"].unique()))
    monkeypatch.delenv("DATAPREP_SCHEDULER", raising=False)
    here = DawidSkene(partition_size=400).fit(X, classes=classes, prior=prior, tasks=tasks)
    monkeypatch.setenv("DATAPREP_SCHEDULER", address)
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    there = DawidSkene(partition_size=400).fit(X, classes=classes, prior=prior, tasks=tasks)
    after = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    assert after - before >= 8 * 2, (before, after)          # 8 ranges, each step on the workers
    assert (here.labels_ == there.labels_).all()
    assert np.allclose(here.posterior_, there.posterior_, atol=1e-4)
    assert np.allclose(here.confusion_, there.confusion_, atol=1e-4)
    assert np.allclose(here.class_prior_, there.class_prior_, atol=1e-5)
    assert (here.labels_.astype(int).to_numpy() == truth).mean() > 0.9


def test_selection_scoring_and_the_near_duplicate_search_run_as_cluster_tasks(cluster, tmp_path, monkeypatch):
    """On a features file the workers map themselves: the shortlist of `margin_kmeans` scored as
    one task per row range, and the rare-class reserve, give the same picks as in this process, and the near-duplicate search
    by cells (ranges and buckets as tasks) the same pairs as the one index, planted copies included."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from active_learning import strategies
    from active_learning.round import reserve_rare
    from dataprep.core.near_duplicates import near_duplicate_pairs, sharded_pairs, unit
    from dataprep.core.rows import Rows

    address, client = cluster
    rng = np.random.default_rng(7)
    X = rng.normal(size=(12_000, 16)).astype(np.float32)
    copies = rng.choice(6000, 40, replace=False)
    X[6000 + copies] = X[copies] * 1.001 + rng.normal(0, 1e-3, (40, 16)).astype(np.float32)
    np.save(tmp_path / "pool.npy", X)
    pool = Rows(np.load(tmp_path / "pool.npy", mmap_mode="r"), np.arange(1, 12_000))     # a row subset, as select's
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X[:300], y[:300])

    def transitions():
        return client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)

    here = strategies.margin_kmeans(model, pool, 30, chunk_size=500)
    rare_here = reserve_rare(model, pool, here, 10, chunk_size=500)
    pairs_here = near_duplicate_pairs(unit(X)[:, None, :], 0.015)
    monkeypatch.setenv("DATAPREP_SCHEDULER", address)
    before = transitions()
    there = strategies.margin_kmeans(model, pool, 30, chunk_size=500)       # 5 ranges of 2,500 rows
    rare_there = reserve_rare(model, pool, there, 10, chunk_size=500)
    middle = transitions()
    pairs_there = sharded_pairs(Rows(np.load(tmp_path / "pool.npy", mmap_mode="r")), 1, 0.015, tmp_path, part=3000,
                                cell=60)      # 200 cells: 14 top cells, 8 probed
    after = transitions()
    assert middle - before >= 10 and after - middle >= 8, (before, middle, after)
    np.testing.assert_array_equal(here, there)
    np.testing.assert_array_equal(rare_here, rare_there)
    np.testing.assert_array_equal(pairs_here, pairs_there)
    planted = {(int(c), 6000 + int(c)) for c in copies}
    assert planted <= set(map(tuple, pairs_there.tolist()))
    assert not list(tmp_path.glob(".near-duplicates-*"))


def test_dawid_skene_reads_its_ranges_from_files_on_the_workers(cluster, tmp_path, monkeypatch):
    """Annotations kept as one parquet file per range of tasks: each worker builds its own range
    from its file, and infers what the table in one piece infers; files out of task order are
    refused, naming the file."""
    import numpy as np

    from labeling.aggregate import AnnotationFiles, DawidSkene

    address, client = cluster
    rng = np.random.default_rng(1)
    K, N = 4, 2400
    truth = rng.integers(0, K, N)
    acc = np.array([.9, .8, .75, .7, 1 / K])
    who = np.stack([rng.choice(len(acc), 3, replace=False) for _ in range(N)]).ravel()
    right = rng.random(3 * N) < acc[who]
    label = np.where(right, np.repeat(truth, 3), rng.integers(0, K, 3 * N))
    X = pd.DataFrame({"task": np.repeat(np.arange(N), 3), "worker": who, "label": label})
    paths = []
    for i, a in enumerate(range(0, N, 500)):
        paths.append(tmp_path / f"annotations-{i}.parquet")
        X[(X["task"] >= a) & (X["task"] < a + 500)].sample(frac=1.0, random_state=i).to_parquet(paths[-1])
    monkeypatch.delenv("DATAPREP_SCHEDULER", raising=False)
    whole = DawidSkene().fit(X, classes=list(range(K)))
    here = DawidSkene().fit(AnnotationFiles(paths), classes=list(range(K)))
    monkeypatch.setenv("DATAPREP_SCHEDULER", address)
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    there = DawidSkene().fit(AnnotationFiles(paths), classes=list(range(K)))
    after = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    assert after - before >= 5 * 3, (before, after)             # 5 files read and kept on the workers
    for est in (here, there):
        assert (est.labels_ == whole.labels_).all() and (est.tasks_ == whole.tasks_).all()
        assert np.allclose(est.confusion_, whole.confusion_, atol=1e-4)
    assert (there.labels_.to_numpy() == truth).mean() > 0.9
    with pytest.raises(ValueError, match="annotations-0.parquet"):
        DawidSkene().fit(AnnotationFiles([paths[1], paths[0]]), classes=list(range(K)))
