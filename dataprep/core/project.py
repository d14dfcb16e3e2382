"""Where a project's files live, resolved from its `params.yaml`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataprep.core.config import Config, load_config


@dataclass(frozen=True)
class Project:
    root: Path          # the folder holding params.yaml
    cfg: Config

    @property
    def data(self) -> Path:
        return self.root / self.cfg.project.data_dir

    @property
    def reports(self) -> Path:
        return self.root / self.cfg.project.reports_dir

    @property
    def work(self) -> Path:
        """Git-ignored scratch: caches, bundled sources, the local server's data."""
        return self.root / ".dataprep"


def open_project(params: str | Path = "params.yaml", overrides: dict[str, Any] | None = None) -> Project:
    params = Path(params).resolve()
    return Project(root=params.parent, cfg=load_config(params, overrides))


FAILURE_FILE = "last_failure.json"     # in `Project.work`: the last writing command that failed, and why
