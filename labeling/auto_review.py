"""Auto-labels shown to reviewers in Label Studio (`label.auto_accept`, backend `studio`).

Auto-labels are pool samples no human was asked about, so they have no task in the labeling
project, and must not get one: the labeling stream would serve them to annotators, and a task
there would take the sample out of the audit's random draw. They go to a second project
instead, `<label.project_title> · auto-labels`, one task per auto-label with the model's label
as a prediction (its `score` the model's probability; `data.bound` the stated error bound,
`data.model_version` the model). A reviewer opens it in Label Studio to see exactly what the
machine labelled. Nothing is pulled from it: what a human answers counts only in the labeling
project, where the audit draws.

Each push brings the review project in line with `labels.parquet`: new auto-labels are
imported, revoked ones deleted, and any whose label or model changed are replaced.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dataprep.core import store
from dataprep.core.project import Project
from labeling.studio_backend import ensure_project, find_project, push_items, table_rows, task_payload
from labeling.studio_client import NO_RETRY, client, explained


def review_title(project: Project) -> str:
    return f"{project.cfg.label.project_title} · auto-labels"


def _shown(ls, pid: int) -> dict[str, tuple[int, str, str]]:
    """sample_id -> (task id, label shown, model version) of the review project."""
    out = {}
    for t in ls.tasks.list(project=pid, fields="task_only", include="id,data", page_size=1000):
        d = t.data or {}
        if d.get("sample_id"):
            out[d["sample_id"]] = (t.id, str(d.get("auto_label")), str(d.get("model_version")))
    return out


def sync(project: Project) -> dict[str, Any]:
    """Make the review project show exactly the current auto-labels (see module docstring)."""
    ls, url = client(project)
    labels = store.read_table(project.data, "labels")
    auto = labels[labels["method"] == "auto"]
    title = review_title(project)
    with explained(url, f"finding project {title!r}"):
        found = find_project(ls, title)
    if found is None and auto.empty:
        return {"auto_shown": 0, "auto_added": 0, "auto_withdrawn": 0}
    man = store.read_table(project.data, "manifest").set_index("sample_id")
    modality = man["modality"].iloc[0]
    proj = ensure_project(ls, url, project, modality, title=title, maximum_annotations=1)
    with explained(url, f"listing tasks of project {title!r}"):
        shown = _shown(ls, proj.id)
    want = {r.sample_id: (str(r.label), str(r.model_version)) for r in auto.itertuples()}
    stale = [tid for sid, (tid, lab, ver) in shown.items() if want.get(sid) != (lab, ver)]
    for tid in stale:            # revoked, relabelled, or from another model
        with explained(url, f"withdrawing auto-label task {tid}"):
            ls.tasks.delete(tid, request_options=NO_RETRY)
    keep = {sid for sid, (tid, lab, ver) in shown.items() if tid not in stale}
    todo = auto[~auto["sample_id"].isin(keep)]
    rows = pd.DataFrame({"sample_id": todo["sample_id"].to_numpy(), "round": 0, "gold": False, "audit": False,
                         "prediction": todo["label"].astype(str).to_numpy(),
                         "confidence": todo["confidence"].to_numpy(),
                         "model_version": todo["model_version"].astype(str).to_numpy()})
    values = table_rows(project, todo["sample_id"]) if modality == "tabular" else {}
    items = []
    for r, b in zip(rows.itertuples(), todo["bound"].to_numpy()):
        item = task_payload(r, man.loc[r.sample_id], modality, project.cfg.project.task, values.get(r.sample_id))
        item["data"] |= {"auto_label": r.prediction, "model_version": r.model_version, "bound": float(b)}
        item["meta"]["dataprep_auto"] = True
        items.append(item)
    out = push_items(ls, url, proj.id, items, project.work / "auto_push_in_progress.json")
    return {"auto_shown": len(keep) + out["pushed"], "auto_added": out["pushed"], "auto_withdrawn": len(stale),
            "auto_project_id": proj.id}
