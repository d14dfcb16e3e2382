"""A project on a fresh local Label Studio, for the tests and benchmarks that need both: params
from the defaults with per-section overrides, data acquired and featurised, a server started
on a free loopback port, and `LABEL_STUDIO_URL` / `LABEL_STUDIO_API_KEY` pointing at it.
The caller stops the server (`labeling.studio_server.stop_pid(info["pid"])`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from dataprep.core.acquire import acquire
from dataprep.core.config import default_params_yaml
from dataprep.core.features import build_features
from dataprep.core.project import Project, open_project
from labeling.studio_server import credentials, start_server


def studio_project(root: Path, sections: dict[str, dict[str, Any]]) -> tuple[Project, dict[str, Any], str]:
    """(project, server info, admin token) under `root`; `sections` updates params.yaml's sections."""
    proj = Path(root) / "proj"
    proj.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load(default_params_yaml())
    for section, values in sections.items():
        raw[section].update(values)
    (proj / "params.yaml").write_text(yaml.safe_dump(raw))
    p = open_project(proj / "params.yaml")
    acquire(p)
    build_features(p)
    info = start_server(Path(root) / "server", p.data)
    token = credentials(Path(root) / "server")["token"]
    os.environ.update({"LABEL_STUDIO_URL": info["url"], "LABEL_STUDIO_API_KEY": token})
    return p, info, token
