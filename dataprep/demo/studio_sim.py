"""Simulated annotators answering through a real Label Studio, each as their own user.

For `dataprep demo --studio` and `make ui-check`: the same answers the simulated
backend would give (`labeling.backend.simulated_answers`), posted with each
annotator's own token, so the run shows up in the UI exactly as a team's would
and `dataprep label pull` mirrors it like any other.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from dataprep import console
from dataprep.core import store
from dataprep.core.errors import UserError
from dataprep.core.project import Project
from labeling import label_config
from labeling.studio_backend import REMOVED_MEMBER, find_project, result_to_label
from labeling.studio_client import NO_RETRY, client, connection, explained, field


def annotator_email(name: str) -> str:
    return f"{name}@dataprep.local"


def annotator_password(admin_token: str, name: str) -> str:
    """Derived from the admin token, never stored: only whoever holds the token can log in as them."""
    return hashlib.blake2b(f"{name}:{admin_token}".encode(), digest_size=12).hexdigest() + "-Aa1"


def unanswered(ls, pid: int) -> pd.DataFrame:
    """Tasks that want more annotators than they have (`overlap`, raised by re-annotation
    requests): sample_id, task_id, prediction, round, `missing` (how many more) and `answered`
    (the simulated annotators who already did: they are not asked again)."""

    users = {u.id: (u.email or "").split("@")[0] for u in ls.users.list()}
    rows = []
    for t in ls.tasks.list(project=pid, fields="all", page_size=500):
        if not (t.data or {}).get("sample_id"):
            continue
        ids = {field(a, "completed_by") for a in (t.annotations or [])}   # by id: the removed all read 'Deleted'
        who = {users.get(i, "") for i in ids}
        missing = int(t.overlap or 1) - len(ids)
        if missing <= 0:
            continue
        preds = [field(p, "result") for p in (t.predictions or [])]
        rows.append({"sample_id": t.data["sample_id"], "task_id": int(t.id), "round": int(t.data.get("round", 0)),
                     "prediction": result_to_label(preds[-1], "classification") if preds else None,
                     "missing": missing, "answered": who})
    return pd.DataFrame(rows, columns=["sample_id", "task_id", "round", "prediction", "missing", "answered"])


def answer_in_studio(project: Project) -> dict[str, Any]:
    """Every task of the project gets simulated annotations up to its overlap (`label.overlap`,
    or more where another annotation was requested), each from an annotator new to it and still
    in the organization."""
    from label_studio_sdk import LabelStudio

    from labeling.simulated_backend import simulated_answers
    from dataprep.demo.studio_users import annotator_token

    if not project.cfg.simulate.active:
        return {"answered": 0, "tasks": 0}
    if project.cfg.project.task != "classification":
        raise UserError("project.task: simulated annotators in Label Studio answer classification tasks only; "
                        "use label.backend: simulated for other tasks")
    ls, url = client(project)
    admin_token = connection(project)[1]
    title = project.cfg.label.project_title
    with explained(url, f"finding project {title!r}"):
        proj = find_project(ls, title)
        if proj is None:
            return {"answered": 0, "tasks": 0}
        todo = unanswered(ls, proj.id)
    if todo.empty:
        return {"answered": 0, "tasks": 0}
    clients: dict[str, Any] = {}

    def as_user(name: str):
        if name not in clients:
            tok = annotator_token(url, admin_token, annotator_email(name), annotator_password(admin_token, name))
            clients[name] = LabelStudio(base_url=url, api_key=tok, timeout=60)
        return clients[name]

    # who was taken off the work (`label.remove_blocked`: removed from the organization) answers
    # nothing more: the server lists them as 'Deleted'; the pulls' own record has their names
    state = project.data / "pull_state.json"
    seen = json.loads(state.read_text()).get("users", {}) if state.exists() else {}
    with explained(url, "checking which simulated annotators are still in the organization"):
        gone = {seen[str(u.id)] for u in ls.users.list() if u.email == REMOVED_MEMBER and str(u.id) in seen}
    removed = {a.name for a in project.cfg.simulate.annotators if annotator_email(a.name) in gone}
    ann = simulated_answers(project, todo, start_id=1, n_per_task=todo["missing"].to_numpy(),
                            exclude=[set(w) | removed for w in todo["answered"]])
    modality = store.read_table(project.data, "manifest", ["modality"])["modality"].iloc[0]
    to = label_config.to_name(modality)
    for row in console.track(list(ann.itertuples()), total=len(ann), description="simulated annotators"):
        result = [{"from_name": label_config.FROM_NAME, "to_name": to, "type": "choices",
                   "value": {"choices": [row.label]}}]
        with explained(url, f"annotating task {row.task_id} as {row.annotator}"):
            as_user(row.annotator).annotations.create(id=int(row.task_id), result=result,
                                                      lead_time=float(row.lead_time_s), request_options=NO_RETRY)
    return {"answered": int(len(ann)), "tasks": int(len(todo)),
            "annotators": sorted(set(ann["annotator"])) if len(ann) else [],
            "removed": sorted(removed)}
