"""`dataprep status`: counts per state and per label, and the next step."""

from __future__ import annotations

from typing import Any

from dataprep import console
from dataprep.core import store
from dataprep.core.project import FAILURE_FILE, Project


def status(project: Project) -> dict[str, Any]:
    data = project.data
    if not store.exists(data, "manifest"):
        return {"samples": 0, "states": {}, "labels": {}, "next": "dataprep acquire"}
    st = store.sample_states(data, pushed_ids(project))
    pool = st[store.in_split(st, "pool")]
    states = {s: int((pool["state"] == s).sum()) for s in store.STATES}
    label = pool["label"].where(pool["label"].notna(), pool["source_label"])
    by_label = pool.assign(label=label.fillna("(none)")).groupby(["label", "state"]).size().unstack(fill_value=0)
    info: dict[str, Any] = {
        "samples": int(store.in_source(st).sum()),
        "test": int(store.in_split(st, "test").sum()),
        "gone": int((~store.in_source(st)).sum()),
        "states": states,
        "labels": {str(k): {c: int(v) for c, v in row.items()} for k, row in by_label.iterrows()},
    }
    if store.exists(data, "triage"):
        tri = store.read_table(data, "triage", ["sample_id", "triage"])
        info["triage"] = tri.loc[tri["sample_id"].isin(store.in_source_ids(st)),
                                 "triage"].value_counts().to_dict()
    info["notes"] = notes(project)
    info["next"] = next_step(project, states)
    return info


def pushed_ids(project: Project) -> list[str]:
    """The samples the last push sent (`reports/push.json`): queued before a pull mirrors them."""
    import json

    path = project.reports / "push.json"
    try:
        return list(json.loads(path.read_text()).get("sample_ids", [])) if path.exists() else []
    except (OSError, ValueError):
        return []


def notes(project: Project) -> list[str]:
    """What the last validation and selection said that a person should see."""
    import json

    out = []
    lq = project.reports / "label_quality.json"
    if lq.exists():
        q = json.loads(lq.read_text())
        if q.get("annotations"):
            out.append(f"validation: {q['accepted']} accepted, {q['quarantined_samples']} samples quarantined; "
                       f"blocked annotators: {', '.join(q.get('blocked_annotators', [])) or 'none'}; "
                       f"gate {'passed' if q['gate']['passed'] else 'FAILED'}")
    m = select_summary(project)             # select's own verdict: status never recomputes it
    if m.get("n_waiting") is not None:
        out.append(f"model: learned from {m['n_labels']} labels, {m['n_waiting']} of them from samples still awaiting "
                   "another annotation (select.train_on_waiting; never exported)")
    if m.get("model_warning"):
        out.append(f"warning: {m['model_warning']}")
    if m.get("stop_agreement") is not None:
        out.append(f"stopping: consecutive models agree on {m['stop_agreement']:.1%} of the stop set"
                   + (" -> predictions have stabilised; more labels are unlikely to help" if m.get("should_stop") else
                      f", but {m['stop_blocked']}" if m.get("stop_blocked") else
                      f" (stop at {project.cfg.select.stop_agreement:.0%})"))
    return out


def last_failure(project: Project) -> dict[str, Any] | None:
    """The last writing command that failed and has not succeeded since (see `cli_base`)."""
    import json


    path = project.work / FAILURE_FILE
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (OSError, ValueError):
        return None


def select_summary(project: Project) -> dict[str, Any]:
    """select's last summary (`reports/al_metrics.json`), empty when there is none."""
    import json

    path = project.reports / "al_metrics.json"
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}


def stop_suggested(project: Project) -> bool:
    """select's verdict: consecutive models agree and the model beats the trivial baseline."""
    return bool(select_summary(project).get("should_stop"))


def next_step(project: Project, states: dict[str, int]) -> str:
    """One next step, true to what is on disk: a failure first, then the loop's position."""
    data = project.data
    repro = (project.root / "dvc.yaml").exists()
    failed = last_failure(project)
    if failed:
        again = "dvc repro" if repro else f"dataprep {failed['command']}"
        return f"`dataprep {failed['command']}` failed ({failed['error']}); fix that, then {again}"
    if not store.exists(data, "selection"):
        return "dvc repro (round 1: pick the first batch to label)" if repro else \
            "dataprep select (pick the first batch to label)"
    queued = states.get("queued", 0)
    if queued:
        lab = project.cfg.label
        if lab.backend == "simulated" and not project.cfg.simulate.active:
            return f"{queued} tasks wait for the simulated annotators, who are on a break (simulate.active: false)"
        who = "the simulated annotators answer them at its pull" if lab.backend == "simulated" else None
        then = "dvc repro" if repro else "dataprep label pull"
        if who:
            return f"{then} ({queued} tasks are queued; {who})"
        return f"annotate the {queued} queued tasks in Label Studio, then {then}"
    if states.get("annotated", 0):
        return "dvc repro (validate the annotated samples)" if repro else "dataprep validate"
    if select_summary(project).get("exhausted"):
        return ("dataprep report, then train on export/: labeling is complete, every pool sample has been "
                "sent (acquire more data for another round)")
    if stop_suggested(project):
        return ("dataprep report, then train on export/: predictions have stabilised, so more labels are "
                "unlikely to help (dvc repro for another round all the same)")
    return "dvc repro (next round)" if repro else "dataprep select (next round)"


def show(info: dict[str, Any]) -> None:
    """Print the status table and notes (or the JSON document)."""
    states = list(store.STATES)
    if info.get("states"):
        rows = [[label, *[row.get(s, 0) for s in states]] for label, row in sorted(info["labels"].items())]
        rows.append(["total", *[info["states"][s] for s in states]])
        console.table("pool by label and state", ["label", *states], rows)
    lines = [f"{info['samples']} samples ({info.get('test', 0)} held out for test)"
             + (f"; {info['gone']} more no longer in the source (out of the pool, test and export; "
                "their annotations kept)" if info.get("gone") else "")]
    lines += [f"triage {k}: {v}" for k, v in info.get("triage", {}).items()]
    lines += info.get("notes", [])
    lines.append(f"next: {info['next']}")
    console.result(info, *lines)
