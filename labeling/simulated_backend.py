"""The simulated labeling backend: annotators with noise models instead of people.

It keeps its "server" in the git-ignored work folder (`.dataprep/simulated/`):
pushed tasks and the annotations its annotators made. Annotators answer every
pushed task the next time the backend is pulled (unless `simulate.active` is
false: annotators on a break), like a team that works between two rounds. An
annotator blocked by validation is taken off the work at the next push
(`label.remove_blocked`) and answers nothing after it, like one removed from the team.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from dataprep.core import store
from dataprep.core.errors import UserError
from dataprep.core.features import load_features, rows_of
from dataprep.core.project import Project
from dataprep.core.atomic import write_json
from labeling.mirror import batch_to_push, blocked_annotators, mirror, reannotation_to_push, tasks_to_withdraw
from labeling.simulate import SIM_EPOCH, annotate, similarity_confusion


def _sim_dir(project: Project):
    return project.work / "simulated"


def _sim_tasks(project: Project) -> pd.DataFrame:
    return store.read_table(_sim_dir(project), "tasks")


def _overlap_path(project: Project):
    return _sim_dir(project) / "overlap.json"


def task_overlap(project: Project) -> dict[int, int]:
    """Per-task overlap raised by re-annotation requests (task_id -> distinct annotators wanted),
    like Label Studio's per-task `overlap`; other tasks want `label.overlap`."""
    path = _overlap_path(project)
    return {int(k): int(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else {}


def _removed_path(project: Project):
    return _sim_dir(project) / "removed.json"


def removed_annotators(project: Project) -> set[str]:
    """Annotators taken off the work (`label.remove_blocked`): once removed, never asked again."""
    path = _removed_path(project)
    return set(json.loads(path.read_text())) if path.exists() else set()


def remove_blocked(project: Project) -> list[str]:
    """Take the annotators validation blocked off the work; returns those removed now."""
    if not project.cfg.label.remove_blocked:
        return []
    gone = removed_annotators(project)
    now = sorted(blocked_annotators(project) - gone)
    if now:
        write_json(_removed_path(project), sorted(gone | set(now)))
    return now


def require_truth(manifest: pd.DataFrame, sample_ids, detection: bool = False) -> None:
    """Simulated annotators answer from the source label: every sample they get needs one."""
    rows = manifest.set_index("sample_id").reindex(list(sample_ids))
    unlabeled = rows[rows["source_label"].isna()]
    if len(unlabeled) and detection:
        raise UserError(f"label.backend: simulated annotators draw the true boxes of acquire.boxes (a COCO file); "
                        f"{len(unlabeled)} of these {len(rows)} images have none (e.g. {unlabeled['source'].iloc[0]}): "
                        "set acquire.boxes, or use label.backend: studio")
    if len(unlabeled):
        fix = ("put them in class folders (an image directly in acquire.source comes unlabeled)"
               if "modality" in unlabeled and (unlabeled["modality"] == "image").all() else "check acquire.label_column (an empty label is none)")
        raise UserError(f"label.backend: simulated annotators need a source label (the truth); {len(unlabeled)} of "
                        f"these {len(rows)} samples have none (e.g. {unlabeled['source'].iloc[0]}): {fix}, "
                        "or use label.backend: studio")


def withdraw(project: Project) -> int:
    """Take the unanswered tasks of samples gone from the source off the simulated crowd."""
    d, out = _sim_dir(project), tasks_to_withdraw(project)
    tasks = _sim_tasks(project)
    answered = set(store.read_table(d, "annotations", ["task_id"])["task_id"])
    drop = tasks["task_id"].isin(out["task_id"]) & ~tasks["task_id"].isin(answered)
    if drop.any():
        # the highest id ever given, so a new task never takes a withdrawn one's (as on a server)
        write_json(_last_id_path(project), {"last_task_id": max(_last_task_id(project), int(tasks["task_id"].max()))})
        store.write_table(d, "tasks", tasks[~drop])
    return int(drop.sum())


def _last_id_path(project: Project):
    return _sim_dir(project) / "last_task_id.json"


def _last_task_id(project: Project) -> int:
    path = _last_id_path(project)
    return int(json.loads(path.read_text())["last_task_id"]) if path.exists() else 0


def push(project: Project) -> dict[str, Any]:
    removed = remove_blocked(project)
    withdrawn = withdraw(project)
    batch = batch_to_push(project, set(_sim_tasks(project)["sample_id"]))
    require_truth(store.read_table(project.data, "manifest"), batch["sample_id"],    # now, not a round later
                  project.cfg.project.task == "detection")
    ids = pd.concat([_sim_tasks(project)["task_id"], store.read_table(project.data, "tasks", ["task_id"])["task_id"]])
    start = max(int(ids.max()) if len(ids) else 0, _last_task_id(project)) + 1     # never the id of a withdrawn task
    now = SIM_EPOCH + pd.Timedelta(days=int(batch["round"].max()) if len(batch) else 0)
    new = pd.DataFrame({"sample_id": batch["sample_id"], "task_id": np.arange(start, start + len(batch)),
                        "created_at": now, "gold": batch["gold"].astype(bool), "prediction": batch["prediction"],
                        "audit": batch["audit"].astype(bool),
                        "round": batch["round"],
                        "overlap": batch["overlap"]})
    if len(new):
        store.append_table(_sim_dir(project), "tasks", new)
    again = reannotation_to_push(project)
    calibrate = new.assign(n_wanted=batch["n_wanted"].to_numpy()).dropna(subset=["n_wanted"])
    if len(again) or len(calibrate):
        want = task_overlap(project)
        for tid, n in zip(list(again["task_id"]) + list(calibrate["task_id"]),
                          list(again["n_wanted"]) + list(calibrate["n_wanted"])):
            want[int(tid)] = max(int(n), want.get(int(tid), 0))
        write_json(_overlap_path(project), {str(k): v for k, v in sorted(want.items())})
    return {"backend": "simulated", "pushed": int(len(new)), "gold": int(new["gold"].sum()),
            "reannotate": int(len(again)), "removed_annotators": removed, "withdrawn": withdrawn, "sample_ids": batch["sample_id"].tolist()}


def simulated_answers(project: Project, todo: pd.DataFrame, start_id: int, n_per_task=None,
                      exclude=None) -> pd.DataFrame:
    """What the simulated annotators (params `simulate`) answer on `todo` (sample_id, task_id,
    prediction, round): rows of the annotation schema, `label.overlap` distinct annotators per
    task (or `n_per_task`, none of `exclude`: the annotators who already answered it). Used by
    both backends: the simulated one keeps them, `dataprep demo --studio` posts them to Label
    Studio as each annotator."""

    man = store.read_table(project.data, "manifest")
    detection = project.cfg.project.task == "detection"
    require_truth(man, todo["sample_id"], detection)
    truth = man.set_index("sample_id")["source_label"]
    if detection and not project.cfg.project.labels:
        raise UserError("project.task: detection needs its classes listed in project.labels")
    classes = list(project.cfg.project.labels) or sorted(truth.dropna().astype(str).unique())
    # boxes: mistakes go to any other class; classes: to similar ones
    conf = similarity_confusion(classes, None if detection else _class_centroids(project, man, classes))
    sizes = ({s: (w, h) for s, w, h in zip(man["sample_id"], man["width"], man["height"])} if detection else None)
    sim = project.cfg.simulate
    rnd = int(todo["round"].max())
    return annotate(todo, truth.astype(str), sim.annotators, project.cfg.label.overlap, classes, conf,
                    random_state=sim.seed * 1000 + rnd, start_id=start_id,
                    start_time=SIM_EPOCH + pd.Timedelta(days=rnd, hours=1), round_=rnd,
                    n_per_task=n_per_task, exclude=exclude, sizes=sizes)


def _sim_answer(project: Project) -> int:
    """Let the simulated annotators answer every task they have not answered yet."""
    d = _sim_dir(project)
    tasks = _sim_tasks(project)
    done = store.read_table(d, "annotations")
    who = done.groupby("task_id")["annotator"].agg(set) if len(done) else pd.Series(dtype=object)
    want = task_overlap(project)
    have = tasks["task_id"].map(lambda t: len(who.get(t, ())))
    wanted = tasks["task_id"].map(lambda t: want.get(int(t), project.cfg.label.overlap))
    todo = tasks[have < wanted]
    if todo.empty or not project.cfg.simulate.active:
        return 0
    gone = removed_annotators(project)
    ann = simulated_answers(project, todo, int(done["annotation_id"].max()) + 1 if len(done) else 1,
                            n_per_task=(wanted - have)[todo.index].to_numpy(),
                            exclude=[set(who.get(t, set())) | gone for t in todo["task_id"]])
    if ann.empty:               # every annotator free to answer is blocked and taken off the work
        return 0
    store.append_table(d, "annotations", ann)
    return len(ann)


def _class_centroids(project: Project, man: pd.DataFrame, classes: list[str]) -> np.ndarray | None:

    X, index = load_features(project, man)
    lab = man.dropna(subset=["source_label"])
    rows = [rows_of(index, lab.loc[lab["source_label"].astype(str) == c, "sample_id"]) for c in classes]
    # a class no sample carries (listed in project.labels only) has no centroid: NaN, see similarity_confusion
    return np.stack([np.asarray(X[r]).mean(0) if len(r) else np.full(X.shape[1], np.nan) for r in rows])


def pull(project: Project) -> dict[str, Any]:
    tasks = _sim_tasks(project)
    if len(tasks) and not project.cfg.simulate.annotators:     # push does not read `simulate` (dvc.yaml)
        raise UserError(f"simulate.annotators is empty: nobody answers the {len(tasks)} tasks pushed; list "
                        "simulated annotators there, or use label.backend: studio")
    answered = _sim_answer(project)
    remote_tasks, remote_ann = _sim_tasks(project), store.read_table(_sim_dir(project), "annotations")
    return mirror(project, remote_tasks, remote_ann, present=set(remote_tasks["task_id"])) | {
        "backend": "simulated", "answered_now": answered}
