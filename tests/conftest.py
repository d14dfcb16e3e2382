"""Shared fixtures. Tests run real tools (dvc, git, Label Studio), never mocks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
# The venv's console scripts (dataprep, dvc) must be on PATH for `dvc repro`.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


# The slowest test files, slowest first (`pytest --durations=0` of a full run, per file: 360 s
# down to 90 s). `make test` gives each of its two workers whole files, in collection order
# (`--no-loadscope-reorder`); starting with the longest leaves the short ones to even out the end.
# pytest-xdist's own order (most tests first) left one worker running the studio demo alone for
# the last two and a half minutes.
SLOWEST_FIRST = ("test_studio_postgres", "test_modalities", "test_loop", "test_studio", "test_newcomer",
                 "test_faults", "test_dask", "test_demo", "test_ml_backend", "test_detection", "test_validation",
                 "test_team", "test_studio_detection")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))     # stable: a file keeps its order


@pytest.fixture
def project(tmp_path: Path):
    """A params.yaml-only project in a temp folder; returns a writer for params."""
    import yaml

    def make(**sections) -> Path:
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(sections))
        return tmp_path

    return make


def write_png(path: Path, value: int = 128, size: int = 16, seed: int | None = None) -> Path:
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    if seed is None:
        arr = np.full((size, size), value, np.uint8)
    else:
        arr = np.random.default_rng(seed).integers(0, 255, (size, size), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


def write_params(path: Path, source: str = "digits", init: bool = False, **overrides) -> Path:
    """A project folder whose params.yaml is the defaults with `acquire.source` and
    `section__key=value` overrides (`select__batch_size=20`); `init` also runs `dataprep init`."""
    import yaml

    from dataprep.core.config import default_params_yaml
    from dataprep.init import init_project

    path.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load(default_params_yaml())
    raw["acquire"]["source"] = str(source)
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        raw[section][key] = value
    (path / "params.yaml").write_text(yaml.safe_dump(raw))
    if init:
        init_project(path)
    return path


@pytest.fixture(scope="session")
def studio_template(tmp_path_factory, worker_id):
    """A Label Studio started once (its first start runs the migrations, about a minute) and
    stopped; `$DATAPREP_STUDIO_TEMPLATE` points at it, so each SQLite server the tests start
    afterwards begins from a copy of its database (`labeling.studio_server.from_template`).
    Shared by the xdist workers of one run, under a file lock."""
    from filelock import FileLock

    from labeling.studio_server import DATABASE, TEMPLATE_ENV, start_server, stop_pid

    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "studio-template"
    with FileLock(str(root) + ".lock"):
        if not (root / "data" / DATABASE).exists():
            info = start_server(root, root)
            stop_pid(info["pid"])
    old = os.environ.get(TEMPLATE_ENV)
    os.environ[TEMPLATE_ENV] = str(root)
    yield root
    os.environ.pop(TEMPLATE_ENV) if old is None else os.environ.__setitem__(TEMPLATE_ENV, old)
