"""The Label Studio backend: push tasks with pre-annotations, pull the annotation log.

Push is idempotent without trusting the network: before importing, it lists
the `sample_id`s the project already holds and sends only the others, in
batches, with the SDK's retries turned off for the import POST (a retried
POST can import twice). A push killed half way and re-run therefore creates
no duplicates.

A first pull reads a snapshot export (the fastest way to read a whole
project). Later pulls are incremental: a cursor (the largest task `updated_at` seen, in the
server's own clock) is kept in `data/pull_state.json`; only tasks updated
after it, less `CURSOR_OVERLAP_S`, are fetched (creating or updating an
annotation bumps the task). The overlap is for commit order: a task's
`updated_at` is stamped before its transaction commits, so with writers at
once (PostgreSQL lets them) a pull can see a later stamp commit first and move
the cursor past an earlier one that commits a moment after; without the
overlap that annotation is never fetched (`benchmarks/studio_sync.py`, part
`concurrent`, lost 1 of 200 on PostgreSQL). Re-read annotations are already in
the log and the mirror keeps them once. A pull that fails part way writes
nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataprep.core import progress, store
from dataprep.core.acquire import TABULAR_FILE
from dataprep.core.atomic import write_json
from dataprep.core.errors import UserError
from dataprep.core.images import view_path
from dataprep.core.project import Project
from labeling import label_config
from labeling.mirror import batch_to_push, blocked_annotators, mirror, reannotation_to_push, tasks_to_withdraw
from labeling.studio_client import NO_RETRY, client, explained, field

BATCH = 1000     # tasks per import request: larger requests amortise the server's per-request work
CURSOR_OVERLAP_S = 120.0    # incremental pulls re-read this much before the cursor (commit order, above)


def labels_of(project: Project) -> list[str]:
    if project.cfg.project.labels:
        return list(project.cfg.project.labels)
    man = store.read_table(project.data, "manifest", ["source_label"])
    return sorted(map(str, man["source_label"].dropna().unique()))


def config_xml(project: Project, modality: str) -> str:
    labels = labels_of(project)
    if project.cfg.label.label_config:
        from pathlib import Path
        path = Path(project.cfg.label.label_config)
        return label_config.check_user_config(path if path.is_absolute() else project.root / path, labels,
                                              project.cfg.project.task)
    return label_config.generate(project.cfg.project.task, modality, labels)


def find_project(ls, title: str):
    for p in ls.projects.list(title=title):
        if p.title == title:
            return p
    return None


def ensure_project(ls, url: str, project: Project, modality: str, title: str | None = None,
                   maximum_annotations: int | None = None):
    """The labeling project (or the one named `title`), created if missing, with the raw folder
    as its local storage for images."""
    title = title or project.cfg.label.project_title
    xml = config_xml(project, modality)
    with explained(url, f"finding project {title!r}"):
        found = find_project(ls, title)
        if found is None:
            found = ls.projects.create(title=title, label_config=xml,
                                       maximum_annotations=maximum_annotations or project.cfg.label.overlap,
                                       show_collab_predictions=True, request_options=NO_RETRY)
        if modality == "image":
            raw = str((project.data / "raw").resolve())
            have = [s for s in ls.import_storage.local.list(project=found.id) if s.path == raw]
            if not have:
                ls.import_storage.local.create(project=found.id, path=raw, title="dataprep raw",
                                               request_options=NO_RETRY)
    return found


def existing_sample_ids(ls, pid: int) -> dict[str, int]:
    """sample_id -> task id. Asking for only these fields is faster than `task_only`, which
    still computes every Data Manager column (`benchmarks/studio_sync.py` times both)."""
    out = {}
    for t in ls.tasks.list(project=pid, fields="task_only", include="id,data", page_size=1000):
        sid = (t.data or {}).get("sample_id")
        if sid:
            out[sid] = t.id
    return out


def task_payload(row, man_row, modality: str, task: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """One task to import; its meta says what validation needs back: a gold task, an audit task,
    and the annotators it first asks for (`mirror.batch_to_push`'s `overlap`; the task's own
    `overlap` is raised by later requests, and the snapshot export leaves it out). A table row
    goes as `values` ({column: value}, shown by the Table tag)."""
    wanted = int(getattr(row, "overlap", 1))
    data: dict[str, Any] = {"sample_id": row.sample_id, "round": int(row.round)}
    if modality == "image":
        data["image"] = f"/data/local-files/?d={view_path(man_row['path'])}"     # a TIFF goes as its PNG view
    elif modality == "tabular":
        data["row"] = values or {}
    else:
        data["text"] = man_row["text"]
    item: dict[str, Any] = {"data": data, "meta": {"dataprep_gold": bool(row.gold),
                                                   "dataprep_audit": bool(getattr(row, "audit", False)),
                                                   "dataprep_overlap": wanted}}
    if isinstance(row.prediction, str):
        to = label_config.to_name(modality)
        result = ([{"from_name": label_config.FROM_NAME, "to_name": to, "type": "choices",
                    "value": {"choices": [row.prediction]}}] if task == "classification"
                  else boxes_to_result(row.prediction, man_row["width"], man_row["height"], to))
        item["predictions"] = [{"model_version": str(row.model_version),
                                # Label Studio shows `score` as the model's confidence in this prediction
                                "score": float(row.confidence) if pd.notna(row.confidence) else 0.0,
                                "result": result}]
    return item


def boxes_to_result(label: str, width, height, to_name: str = "image") -> list[dict]:
    """Our JSON pixel boxes -> Label Studio RectangleLabels results. Label Studio places a
    rectangle in percent of the image as the browser shows it (EXIF orientation applied), which
    is the size `acquire` records; `result_to_label` is the inverse."""
    W, H = float(width), float(height)
    out = []
    for k, b in enumerate(json.loads(label)):
        x0, x1 = sorted((min(max(float(b["x_min"]), 0.0), W), min(max(float(b["x_max"]), 0.0), W)))
        y0, y1 = sorted((min(max(float(b["y_min"]), 0.0), H), min(max(float(b["y_max"]), 0.0), H)))
        out.append({"id": f"p{k}", "from_name": label_config.FROM_NAME, "to_name": to_name, "type": "rectanglelabels",
                    "original_width": int(W), "original_height": int(H), "image_rotation": 0,
                    **({"score": float(b["score"])} if "score" in b else {}),
                    "value": {"x": 100 * x0 / W, "y": 100 * y0 / H, "width": 100 * (x1 - x0) / W,
                              "height": 100 * (y1 - y0) / H, "rotation": 0, "rectanglelabels": [str(b["label"])]}})
    return out


def remove_duplicates(ls, pid: int) -> int:
    """Delete tasks whose sample_id an older task already carries (unannotated ones only). Needed
    only after an interrupted push: the server may finish an import whose client was killed after
    the re-run listed the project."""
    by_sid: dict[str, list] = {}
    for t in ls.tasks.list(project=pid, fields="task_only", include="id,data,total_annotations", page_size=1000):
        sid = (t.data or {}).get("sample_id")
        if sid:
            by_sid.setdefault(sid, []).append(t)
    removed = 0
    for group in by_sid.values():
        for t in sorted(group, key=lambda t: t.id)[1:]:
            if not t.total_annotations:
                ls.tasks.delete(t.id)
                removed += 1
    return removed


def push_items(ls, url: str, pid: int, items: list[dict], marker: Path, batch: int = BATCH) -> dict[str, int]:
    """Import `items` (task dicts carrying data.sample_id) that the project does not hold yet.

    Idempotent: existing sample_ids are listed first and skipped; imports are never retried by the
    SDK. `marker` exists while a push runs: if a push finds one, the last push was interrupted, so
    it waits for the server to finish any orphaned import and removes duplicates at the end."""
    import time

    interrupted = marker.exists()
    if interrupted:
        time.sleep(2.0)
    write_json(marker, {"project_id": pid, "items": len(items)})
    with explained(url, f"listing tasks of project {pid}"):
        there = existing_sample_ids(ls, pid)
    todo = [it for it in items if it["data"]["sample_id"] not in there]
    chunks = [todo[i:i + batch] for i in range(0, len(todo), batch)]
    for chunk in progress.track(chunks, total=len(chunks), description="push to Label Studio"):
        with explained(url, f"importing {len(chunk)} tasks into project {pid}"):
            ls.projects.import_tasks(id=pid, request=chunk, return_task_ids=False, request_options=NO_RETRY)
    removed = 0
    if interrupted:
        with explained(url, f"checking project {pid} for duplicate tasks"):
            removed = remove_duplicates(ls, pid)
    marker.unlink()
    return {"pushed": len(todo), "already_there": len(items) - len(todo), "duplicates_removed": removed,
            "sent_ids": [it["data"]["sample_id"] for it in todo]}


def table_rows(project: Project, ids) -> dict[str, dict[str, Any]]:
    """{sample id: {column: value}} of table rows, missing values left out (JSON has no NaN)."""
    table = pd.read_parquet(project.data / TABULAR_FILE).set_index("sample_id").loc[list(ids)]
    return {sid: {c: (v.item() if hasattr(v, "item") else v) for c, v in r.items() if not pd.isna(v)}
            for sid, r in zip(table.index, table.to_dict("records"))}


def push(project: Project) -> dict[str, Any]:
    batch = batch_to_push(project)
    man = store.read_table(project.data, "manifest").set_index("sample_id")
    modality = man["modality"].iloc[0]
    ls, url = client(project)
    proj = ensure_project(ls, url, project, modality)
    rows = table_rows(project, batch["sample_id"]) if modality == "tabular" else {}
    items = [task_payload(r, man.loc[r.sample_id], modality, project.cfg.project.task, rows.get(r.sample_id))
             for r in batch.itertuples()]
    out = push_items(ls, url, proj.id, items, project.work / "push_in_progress.json")
    sent = out.pop("sent_ids")
    out["removed_annotators"] = remove_blocked(ls, url, project) if project.cfg.label.remove_blocked else []
    out["withdrawn"] = withdraw(ls, url, tasks_to_withdraw(project))
    out["reannotate"] = request_more(ls, url, reannotation_to_push(project))
    # cold-start tasks want more annotators than the project's default; raised for the whole
    # batch, not only what this push imported, so a re-run after an interrupted push finishes it
    calibrate = batch[batch["n_wanted"].notna()]
    if len(calibrate):
        with explained(url, f"listing tasks of project {proj.id}"):
            ids = existing_sample_ids(ls, proj.id)
        out["calibration_tasks"] = request_more(ls, url, calibrate.assign(
            task_id=calibrate["sample_id"].map(ids)).dropna(subset=["task_id"]))
    return {"backend": "studio", "project_id": proj.id, **out,
            "gold": int(batch.set_index("sample_id").loc[sent, "gold"].sum()) if sent else 0, "url": url,
            "sample_ids": batch["sample_id"].tolist()}


def remove_blocked(ls, url: str, project: Project) -> list[str]:
    """Take the annotators validation blocked off the work (`label.remove_blocked`): Label
    Studio's open-source edition has no per-project membership, so they are removed from the
    organization (a soft delete: their annotations stay; a manager undoes it by inviting them
    again). Never the account whose token this is. Returns those removed now (or, where the
    token may not remove members, why not); one already removed is left alone."""
    from label_studio_sdk.core.api_error import ApiError

    blocked = blocked_annotators(project)
    if not blocked:
        return []
    with explained(url, "listing the organization's users"):
        me = ls.users.whoami()
        users = {name: uid for uid, name in user_names(ls, {}).items()}     # the removed read 'Deleted'
    removed = []
    for name in sorted(blocked):
        uid = users.get(name)
        if uid is None or uid == me.id:
            continue
        with explained(url, f"removing blocked annotator {name} from organization {me.active_organization}"):
            try:
                ls.organizations.members.delete(id=me.active_organization, user_pk=uid)
            except ApiError as exc:
                if exc.status_code == 404:
                    continue             # removed before: nothing to do
                if exc.status_code == 403:   # a token that may not manage members: say so, push on
                    removed.append(f"{name} (not removed: this token may not manage the organization's "
                                   "members; remove them yourself, or set label.remove_blocked: false)")
                    continue
                raise
        removed.append(name)
    return removed


def withdraw(ls, url: str, tasks: pd.DataFrame) -> int:
    """Delete the `tasks` (`mirror.tasks_to_withdraw`) that the server, too, says nobody has
    answered; one deleted before (404) is left alone."""
    from label_studio_sdk.core.api_error import ApiError

    deleted = 0
    for tid in tasks["task_id"]:
        with explained(url, f"withdrawing task {tid} of a sample gone from the source"):
            try:
                if ls.tasks.get(int(tid)).total_annotations:
                    continue
                ls.tasks.delete(int(tid))
            except ApiError as exc:
                if exc.status_code == 404:
                    continue
                raise
        deleted += 1
    return deleted


def request_more(ls, url: str, again: pd.DataFrame) -> int:
    """Ask for another annotation on tasks already in the project: raise the task's own
    `overlap` (the distinct annotators Label Studio wants on it) and mark it unlabeled, so the
    labeling stream offers it again, and only to annotators who have not answered it (Label
    Studio never serves a user a task they annotated). Idempotent: the overlap is set, not added
    to, and never lowered."""
    done = 0
    for row in again.itertuples():
        with explained(url, f"requesting another annotation on task {row.task_id}"):
            task = ls.tasks.get(int(row.task_id))
            if int(getattr(task, "overlap", 1) or 1) >= int(row.n_wanted):
                continue
            ls.tasks.update(str(int(row.task_id)), overlap=max(int(row.n_wanted), int(getattr(task, "overlap", 1) or 1)),
                            is_labeled=False)
            done += 1
    return done


# ------------------------------------------------------------------ pull
def result_to_label(result: list[dict], task: str) -> str | None:
    """Label Studio result -> our label: the class name, or a JSON list of pixel boxes."""
    if not result:
        return None
    if task == "classification":
        # one choice -> its name; anything else is kept, as JSON, for validation to name
        # the problem (several choices, or only a text area) instead of a silent pick
        choices = [str(c) for r in result for c in ((r.get("value") or {}).get("choices") or [])]
        if len(set(choices)) == 1:
            return choices[0]
        if choices:
            return json.dumps(sorted(set(choices)))
        return json.dumps({"no_choice": sorted({str(r.get("type")) for r in result})})
    boxes = []
    for r in result:
        v = r.get("value") or {}
        if "rectanglelabels" not in v:
            continue
        W, H = float(r.get("original_width") or 0), float(r.get("original_height") or 0)
        x, y, w, h = (float(v.get(k, 0)) for k in ("x", "y", "width", "height"))
        boxes.append({"label": (v["rectanglelabels"] or [None])[0], "x_min": round(x / 100 * W, 2),
                      "y_min": round(y / 100 * H, 2), "x_max": round((x + w) / 100 * W, 2),
                      "y_max": round((y + h) / 100 * H, 2)})
    return json.dumps(boxes)


def _filter_after(cursor: str | None, overlap_s: float = CURSOR_OVERLAP_S) -> str | None:
    """The Data Manager filter for tasks updated after `cursor` less `overlap_s` seconds."""
    if not cursor:
        return None
    since = (pd.Timestamp(cursor) - pd.Timedelta(seconds=overlap_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps({"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": since}]}})


def _user_id(v):
    return v.get("id") if isinstance(v, dict) else v


def snapshot_tasks(ls, pid: int, poll_s: float = 0.25, timeout_s: float = 3600) -> list[dict]:
    """Every task of the project with its annotations and predictions, through a snapshot export:
    the server builds one file in the background, 3-4x faster than paging `tasks.list(fields="all")`
    and faster than the synchronous export. The snapshot is deleted once read."""
    import time

    ex = ls.projects.exports.create(pid, title="dataprep pull", request_options=NO_RETRY)
    deadline = time.monotonic() + timeout_s
    while True:
        e = ls.projects.exports.get(pid, ex.id)
        if e.status == "completed":
            break
        if e.status == "failed" or time.monotonic() > deadline:
            raise UserError(f"Label Studio could not export project {pid} (snapshot {ex.id} {e.status}): "
                            "see the server's log")
        time.sleep(poll_s)
    try:
        return json.loads(b"".join(ls.projects.exports.download(pid, ex.id, export_type="JSON")))
    finally:
        ls.projects.exports.delete(pid, ex.id)


def held_if_fewer(ls, pid: int, data) -> set[int] | None:
    """Every task id of the project, when the server holds fewer tasks than the mirror (push
    withdrew some, or someone deleted them); None when it holds as many or more (one request)."""
    mirrored = len(store.read_table(data, "tasks", ["task_id"]))
    if (ls.projects.get(pid).task_number or 0) >= mirrored:
        return None
    return {int(t.id) for t in ls.tasks.list(project=pid, fields="task_only", include="id", page_size=1000)}


def fetch_tasks(ls, pid: int, cursor: str | None) -> list[dict]:
    """Tasks changed since `cursor` (server time), or all of them. A first pull reads a snapshot
    export; later pulls ask the Data Manager for tasks updated after the cursor only."""
    if not cursor:
        return snapshot_tasks(ls, pid)
    return [t.model_dump() for t in ls.tasks.list(project=pid, fields="all", page_size=500, query=_filter_after(cursor))]


def _utc(values) -> pd.Series:
    """ISO strings from the server (any offset) -> UTC timestamps, in one pass."""
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")


def mirror_rows(tasks: list[dict], users: dict[int, str], task_type: str, old_ann: pd.DataFrame,
                cursor: str | None) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """Label Studio tasks (dicts) -> rows of tasks.parquet and annotations.parquet, and the new cursor.
    Annotations we mirrored that a fetched task no longer has are recorded as deleted."""
    task_rows, ann_rows, task_updated = [], [], []
    for t in tasks:
        d = t.get("data") or {}
        sid = d.get("sample_id")
        if not sid:
            continue
        rnd = int(d.get("round", 0))
        pred = None
        for p in (t.get("predictions") or []):
            pred = result_to_label(field(p, "result") or [], "classification")
        tid = int(t["id"])
        task_rows.append({"sample_id": sid, "task_id": tid, "created_at": t["created_at"],
                          "gold": bool((t.get("meta") or {}).get("dataprep_gold", False)), "prediction": pred,
                          "round": rnd, "audit": bool((t.get("meta") or {}).get("dataprep_audit", False)),
                          "overlap": (t.get("meta") or {}).get("dataprep_overlap")})
        task_updated.append(t["updated_at"])
        for a in (t.get("annotations") or []):
            who = _user_id(a.get("completed_by"))
            ann_rows.append({
                "annotation_id": int(a["id"]), "sample_id": sid, "task_id": tid,
                "annotator": users.get(who, str(who)),
                "created_by": users.get(_user_id(a.get("updated_by"))) if a.get("updated_by") else None,
                "label": result_to_label(a.get("result") or [], task_type),
                "lead_time_s": float(a["lead_time"]) if a.get("lead_time") is not None else np.nan,
                "created_at": a["created_at"], "updated_at": a["updated_at"], "round": rnd,
                "status": "cancelled" if a.get("was_cancelled") else "active"})
    task_df = pd.DataFrame(task_rows, columns=list(store.SCHEMAS["tasks"]))
    ann_df = pd.DataFrame(ann_rows, columns=list(store.SCHEMAS["annotations"]))
    task_df["created_at"] = _utc(task_df["created_at"])
    for c in ("created_at", "updated_at"):
        ann_df[c] = _utc(ann_df[c])
    updated = _utc(task_updated)
    # annotations we mirrored on a fetched task that the server no longer has: deleted, recorded, never dropped
    if len(old_ann) and len(task_df):
        fetched = pd.Series(updated.array, index=pd.MultiIndex.from_frame(task_df[["task_id", "sample_id"]]))
        fetched = fetched[~fetched.index.duplicated()]
        on_fetched = pd.MultiIndex.from_frame(old_ann[["task_id", "sample_id"]]).isin(fetched.index)
        gone = old_ann[on_fetched & ~old_ann["annotation_id"].isin(ann_df["annotation_id"])].copy()
        if len(gone):
            gone["updated_at"] = fetched.reindex(pd.MultiIndex.from_frame(gone[["task_id", "sample_id"]])).array
            gone["status"] = "deleted"
            gone = gone[list(store.SCHEMAS["annotations"])]
            ann_df = pd.concat([ann_df, gone], ignore_index=True) if len(ann_df) else gone.reset_index(drop=True)
    if len(updated):
        stamp = updated.max().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        cursor = max(cursor or stamp, stamp)
    return task_df, ann_df, cursor


# what the server lists as the email of a member removed from the organization (`remove_blocked`)
REMOVED_MEMBER = "Deleted"


def user_names(ls, known: dict[str, str]) -> dict[int, str]:
    """Each user's name in the annotation log (email, else username, else id). A member removed
    from the organization (`remove_blocked`) is listed by the server as 'Deleted': the name it had
    when last seen (`known`, kept in pull_state.json) stands, so their earlier work stays theirs;
    never seen before (a first pull after the removal), `removed-user-<id>`, so two removed
    annotators never merge into one."""
    out = {}
    for u in ls.users.list():
        name = u.email or u.username or str(u.id)
        out[u.id] = known.get(str(u.id), f"removed-user-{u.id}") if name == REMOVED_MEMBER else name
    return out


def pull(project: Project) -> dict[str, Any]:
    data = project.data
    state_path = data / "pull_state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    ls, url = client(project)
    title = project.cfg.label.project_title
    with explained(url, f"finding project {title!r}"):
        proj = find_project(ls, title)
    if proj is None and store.read_table(data, "tasks").empty:     # first round: nothing pushed yet
        return mirror(project, store.empty("tasks"), store.empty("annotations")) | {
            "backend": "studio", "fetched_tasks": 0, "incremental": False}
    if proj is None:
        raise UserError(f"Label Studio at {url} has no project {title!r}: was it deleted, or nothing pushed yet? "
                        "check label.project_title; `dataprep label push` creates it")
    cursor = state.get("cursor") if state.get("project_id") == proj.id else None
    with explained(url, f"reading tasks of project {proj.id}"):
        users = user_names(ls, state.get("users", {}))
        tasks = fetch_tasks(ls, proj.id, cursor)
        present = held_if_fewer(ls, proj.id, data)
    old_ann = store.current_annotations(store.read_table(data, "annotations"))
    tasks_df, ann_df, new_cursor = mirror_rows(tasks, users, project.cfg.project.task, old_ann, cursor)
    out = mirror(project, tasks_df, ann_df, present)
    names = {str(k): v for k, v in sorted(users.items())}
    if new_cursor != cursor or not state_path.exists() or names != state.get("users"):
        write_json(state_path, {"project_id": proj.id, "cursor": new_cursor, "users": names})
    return out | {"backend": "studio", "fetched_tasks": len(tasks), "incremental": cursor is not None}
