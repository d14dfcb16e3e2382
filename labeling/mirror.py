"""The local side of every labeling backend: which tasks to send, and the mirror of what
came back (`data/tasks.parquet`, the append-only `data/annotations.parquet`).

Both backends (`labeling.studio_backend`, `labeling.simulated_backend`) use these two
functions, so they send and record the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataprep.core import store
from dataprep.core.errors import UserError
from dataprep.core.ids import among, seeded_key
from dataprep.core.project import Project


def batch_to_push(project: Project, also_sent: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """This round's tasks: the latest selection (picks and gold tasks, shuffled together
    deterministically so gold tasks are not all at the end), minus anything already sent
    (mirrored in tasks.parquet, or `also_sent` by the backend's own record)."""
    sel = store.read_table(project.data, "selection")
    sel = sel[sel["round"] == sel["round"].max()] if len(sel) else sel
    if sel.empty:
        raise UserError(f"{store.table_path(project.data, 'selection')}: nothing selected; run `dataprep select`")
    sent = set(store.read_table(project.data, "tasks", ["sample_id"])["sample_id"])
    sent |= set(also_sent)
    man = store.read_table(project.data, "manifest", ["sample_id", "gone_at"])
    sent |= set(store.in_source_ids(man, gone=True))      # gone from the source since select: not sent
    # `overlap`: the annotators the task first asks for (a cold-start or check pick's n_wanted, else
    # label.overlap); both backends record it with the task (validation reads it back)
    out = sel.assign(gold=sel["strategy"] == "gold", audit=sel["strategy"] == "audit",
                     overlap=sel["n_wanted"].fillna(project.cfg.label.overlap).astype("int64"))
    order = seeded_key(out["sample_id"])
    out = out.loc[order.sort_values().index].reset_index(drop=True)
    return out[~among(out["sample_id"], sent)].reset_index(drop=True)


def tasks_to_withdraw(project: Project) -> pd.DataFrame:
    """Tasks (`task_id`, `sample_id`) of samples gone from the source that no annotation in the
    mirror answers: push takes them off the backend, so nobody spends time on, or is shown, a
    file its owner deleted. Answered ones stay (their annotations are history); the backend
    checks its own count too, for an answer given since the last pull."""
    man = store.read_table(project.data, "manifest", ["sample_id", "gone_at"])
    tasks = store.read_table(project.data, "tasks", ["sample_id", "task_id"])
    answered = store.current_annotations(store.read_table(project.data, "annotations"))["task_id"]
    out = tasks[among(tasks["sample_id"], store.in_source_ids(man, gone=True)) & ~tasks["task_id"].isin(answered)]
    return out.drop_duplicates("task_id").reset_index(drop=True)


def blocked_annotators(project: Project) -> set[str]:
    """The annotators validation blocked last (`blocked_annotator` rows of quarantine.parquet):
    who `label.remove_blocked` takes off the work at the next push."""
    q = store.read_table(project.data, "quarantine", ["annotator", "check"])
    return set(q.loc[q["check"] == "blocked_annotator", "annotator"].dropna().astype(str))


def reannotation_to_push(project: Project) -> pd.DataFrame:
    """This round's requests for another annotation on a task already sent: sample_id,
    task_id (the sample's latest task) and n_wanted (the distinct annotators it should reach)."""
    sel = store.read_table(project.data, "selection")
    sel = sel[(sel["round"] == sel["round"].max()) & (sel["strategy"] == "reannotate")] if len(sel) else sel
    if sel.empty:
        return pd.DataFrame({"sample_id": pd.Series(dtype=str), "task_id": pd.Series(dtype="int64"),
                             "n_wanted": pd.Series(dtype="int64")})
    tasks = store.read_table(project.data, "tasks", ["sample_id", "task_id"]).drop_duplicates("sample_id", keep="last")
    out = sel[["sample_id", "n_wanted"]].merge(tasks, on="sample_id", how="inner")
    return out[["sample_id", "task_id", "n_wanted"]].astype({"task_id": "int64", "n_wanted": "int64"})


def mirror(project: Project, tasks: pd.DataFrame, annotations: pd.DataFrame,
           present: set[int] | None = None) -> dict[str, Any]:
    """Write the backend's state locally; unchanged state rewrites nothing (so DVC sees no change).

    The annotation log only grows: rows already mirrored are kept as they were. `present`: every
    task id the backend holds now, where the backend said (a full read, or a count that showed
    tasks missing); a mirrored task it no longer holds and nobody answered (push withdrew it:
    its sample left the source) leaves the mirror, so its sample is not "sent" for ever: put
    back, it can be picked and sent again. A task with an answer stays (the answer is history).
    """
    data = project.data
    old_tasks = store.read_table(data, "tasks")
    old_ann = store.read_table(data, "annotations")
    key = ["annotation_id", "updated_at", "status", "label"]    # new content under an old id and time is kept too
    seen = set(map(tuple, old_ann[key].astype(str).to_numpy())) if len(old_ann) else set()
    fresh = annotations[np.array([tuple(r) not in seen for r in annotations[key].astype(str).to_numpy()], dtype=bool)]
    dropped = 0
    if present is not None and len(old_tasks):
        answered = set(old_ann["task_id"]) | set(annotations["task_id"])
        away = ~old_tasks["task_id"].isin(set(present) | answered)
        dropped = int(away.sum())
        old_tasks = old_tasks[~away].reset_index(drop=True)
    known = set(zip(old_tasks["task_id"], old_tasks["sample_id"]))
    new_tasks = tasks[np.array([k not in known for k in zip(tasks["task_id"], tasks["sample_id"])], dtype=bool)]
    if len(new_tasks) or dropped or not store.exists(data, "tasks"):
        store.write_table(data, "tasks", pd.concat([old_tasks, new_tasks], ignore_index=True) if len(old_tasks) else new_tasks)
    if len(fresh) or not store.exists(data, "annotations"):
        store.append_table(data, "annotations", fresh) if len(old_ann) else store.write_table(data, "annotations", fresh)
    return {"new_tasks": int(len(new_tasks)), "new_annotations": int(len(fresh)), "withdrawn_tasks": dropped,
            "tasks": int(len(old_tasks) + len(new_tasks)), "annotations": int(len(old_ann) + len(fresh))}
