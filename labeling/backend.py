"""The labeling backend interface: push tasks, pull the annotation log.

Two implementations behind the same two functions, chosen by `label.backend`:
`studio` (a real Label Studio, `labeling.studio_backend`) and `simulated`
(`labeling.simulated_backend`). The stages call `push` and `pull` and do not
know which one answers; both send with `labeling.mirror.batch_to_push` and
record with `labeling.mirror.mirror`.
"""

from __future__ import annotations

from typing import Any

from dataprep.core.atomic import write_json
from dataprep.core.project import Project


def _implementation(project: Project):
    if project.cfg.label.backend == "studio":
        from labeling import studio_backend          # imported only when used: it needs the SDK
        return studio_backend
    from labeling import simulated_backend
    return simulated_backend


def push(project: Project) -> dict[str, Any]:
    """Send the selected samples (plus gold tasks) with the model's pre-annotations; in Label
    Studio, also show the current auto-labels to reviewers (`labeling.auto_review`)."""
    out = _implementation(project).push(project)
    if project.cfg.label.backend == "studio" and project.cfg.label.auto_accept is not None:
        from labeling import auto_review             # imported only when used: it needs the SDK
        out |= auto_review.sync(project)
    return out


def pull(project: Project) -> dict[str, Any]:
    """Mirror the backend into tasks.parquet and annotations.parquet (append-only)."""
    out = _implementation(project).pull(project)
    state = project.data / "pull_state.json"     # the backend's cursor (Label Studio); always a stage output
    if not state.exists():
        write_json(state, {"backend": project.cfg.label.backend})
    return out
