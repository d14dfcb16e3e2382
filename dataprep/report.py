"""`dataprep report`: one self-contained HTML file (plots and images embedded).

Sections: headline and what it describes (params, dvc.lock, git commit), the
learning curve against a random baseline, the current model's confusion matrix
and per-class accuracy (`reports/test_predictions.csv`, written by select),
labeling cost, label quality and the gate, annotators with verdicts and each
one's whole class map, an issues table (one row per flagged sample, like
Datalab's), galleries of quarantined, duplicate and outlying samples, class
balance and augmentations. Every sample shown carries its id, source path and
Label Studio task link (`dataprep.report_html`). Every section reads the stage
outputs on disk, so the report can be rebuilt at any time.

The random baseline (`active_learning.baseline`, the learning part: the report
trains nothing itself) is the same model trained on random pool samples with
their source labels, at the label counts of the learning curve (3 draws). Its
labels are clean, ours come from (noisy, simulated or real) annotators, so the
comparison favours random.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataprep.core import progress, store
from dataprep.core.atomic import write_text
from dataprep.core.project import Project


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}


def _interval(pair) -> str:
    return f"{pair[0]:.2f}-{pair[1]:.2f}" if pair else "-"


def task_links(project: Project) -> dict[str, str]:
    """sample id -> its Label Studio task page, when the last push went to Label Studio."""
    push = _read_json(project.reports / "push.json")
    url, pid = push.get("url"), push.get("project_id")
    tasks = store.read_table(project.data, "tasks")
    if not url or pid is None or tasks.empty:
        return {}
    t = tasks.dropna(subset=["task_id"])
    return {sid: f"{url.rstrip('/')}/projects/{pid}/data?task={int(tid)}" for sid, tid in zip(t["sample_id"], t["task_id"])}


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.md5(path.read_bytes()).hexdigest()[:12] if path.exists() else "-"


def provenance(project: Project) -> dict[str, str]:
    """What this report describes: the params, the data version (dvc.lock) and the git commit."""
    import subprocess

    out = {"params.yaml": _digest(project.root / "params.yaml"), "dvc.lock": _digest(project.root / "dvc.lock")}
    lock = project.root / "dvc.lock"
    if lock.exists():
        import yaml

        try:
            stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
        except yaml.YAMLError:
            stages = {}
        for stage in ("acquire", "validate"):
            for o in stages.get(stage, {}).get("outs", []):
                if str(o.get("path", "")).endswith(("manifest.parquet", "labels.parquet")):
                    out[Path(o["path"]).name] = str(o.get("md5", "-"))[:12]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project.root, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project.root,
                               capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            out["git commit"] = head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def confusion(pred: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Confusion matrix (rows true, columns predicted) and per-class accuracy of test predictions."""
    classes = sorted(set(pred["label"].astype(str)) | set(pred["prediction"].astype(str)))
    cm = pd.crosstab(pd.Categorical(pred["label"].astype(str), classes),
                     pd.Categorical(pred["prediction"].astype(str), classes), dropna=False)
    cm.index.name, cm.columns.name = "true", "predicted"
    rows = []
    for c in classes:
        support, predicted, correct = int(cm.loc[c].sum()), int(cm[c].sum()), int(cm.loc[c, c])
        recall = correct / support if support else np.nan
        precision = correct / predicted if predicted else np.nan
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
        rows.append({"class": c, "test samples": support, "correct": correct, "accuracy (recall)": recall,
                     "precision": precision, "f1": f1, "most confused with": _most_confused(cm, c)})
    return cm, pd.DataFrame(rows)


def _most_confused(cm: pd.DataFrame, c: str) -> str:
    row = cm.loc[c].drop(c)
    return f"{row.idxmax()} ({int(row.max())})" if len(row) and row.max() > 0 else ""


def annotator_maps(ann: pd.DataFrame, labels: pd.DataFrame, min_share: float = 0.5) -> dict[str, str]:
    """Each annotator's whole class map: for every accepted class, the other label they gave it
    most often when that is at least `min_share` of their answers there (`3->8 (5/6)`)."""
    if ann.empty or labels.empty:
        return {}
    m = ann.merge(labels[["sample_id", "label"]].rename(columns={"label": "accepted"}), on="sample_id")
    out = {}
    for who, g in m.groupby("annotator"):
        parts = []
        for c, h in g.groupby("accepted"):
            counts = h["label"].astype(str).value_counts()
            top = counts.index[0]
            if top != str(c) and counts.iloc[0] / len(h) >= min_share and counts.iloc[0] >= 2:
                parts.append(f"{c}->{top} ({counts.iloc[0]}/{len(h)})")
        out[str(who)] = ", ".join(parts)
    return out


def _triage_kinds(flags, dup_of) -> list[str]:
    """The issue codes of one triage row (near-duplicate first)."""
    kinds = ["near-duplicate"] if isinstance(dup_of, str) else []
    return kinds + [c for c in str(flags or "").split(",") if c]


def issues(project: Project) -> pd.DataFrame:
    """One row per flagged sample and issue, as Datalab lists them: quarantine checks and triage
    findings, with a score where the check has one (higher = worse)."""
    data = project.data
    rows = []
    quar = store.read_table(data, "quarantine")
    # a blocked annotator's annotations are the annotator's issue (the Annotators section), not the samples'
    quar = quar[~((quar["check"] == "blocked_annotator") & quar["annotation_id"].notna())]
    for r in quar.itertuples():
        rows.append({"sample_id": r.sample_id, "issue": f"quarantine: {r.check}", "score": np.nan,
                     "annotator": r.annotator or "", "detail": r.reason})
    for d in _read_json(project.reports / "label_quality.json").get("doubtful_samples", []):
        rows.append({"sample_id": d["sample_id"], "issue": f"doubt (label kept): {d['check']}", "score": np.nan,
                     "annotator": "", "detail": d["reason"]})
    if store.exists(data, "triage"):
        tri = store.read_table(data, "triage")
        for r in tri[tri["triage"] != "keep"].itertuples():
            for kind in _triage_kinds(r.flags, r.dup_of):       # one row per issue, as Datalab lists them
                rows.append({"sample_id": r.sample_id, "issue": f"triage: {kind}",
                             "score": r.outlier_score if kind == "outlier" else np.nan,
                             "annotator": "", "detail": r.reason or ""})
    return pd.DataFrame(rows, columns=["sample_id", "issue", "score", "annotator", "detail"])


VERDICT_COLOURS = {"trusted": "tab:green", "watch": "tab:orange", "blocked": "tab:red"}


def build(project: Project) -> dict[str, Any]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex
    from matplotlib.patches import Patch

    from active_learning.baseline import random_baseline, true_label_accuracy
    from dataprep.core import model_store
    from dataprep.report_html import Samples, key_values, legend, page, png, table, thumb

    rep, data = project.reports, project.data
    parts: list[str] = []
    info: dict[str, Any] = {}
    curve = pd.read_csv(rep / "learning_curve.csv") if (rep / "learning_curve.csv").exists() else pd.DataFrame()
    ann = store.read_table(data, "annotations")
    cur = store.current_annotations(ann) if len(ann) else ann
    labels = store.read_table(data, "labels")
    man = store.read_table(data, "manifest")
    links = task_links(project)
    S = Samples(data, man, links)
    # ---- learning curve
    if len(curve):
        with progress.activity("report: random-sample baseline (the same model on random labels)"):
            base = random_baseline(project, curve["n_labels"].tolist())
        base.to_csv(rep / "baseline_curve.csv", index=False)
        last = curve.iloc[-1]
        info.update({"labels": int(last["n_labels"]), "accuracy": float(last["accuracy"])})
        if len(base):
            b = base.set_index("n_labels")["accuracy"]
            info["random_accuracy"] = float(b.get(int(last["n_labels"]), np.nan))
        waiting = store.read_table(data, "requests") if project.cfg.select.train_on_waiting else None
        train = model_store.training_labels(labels[["sample_id", "label", "method"]], man, waiting) if len(labels) else []
        if len(train) == int(last["n_labels"]):         # the last model's training set, as it stands
            clean = true_label_accuracy(project, train.index)
            if clean is not None:
                info["true_label_accuracy"] = clean
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(curve["n_labels"], curve["accuracy"], "o-", label="dataprep (annotated labels)")
        if len(base):
            ax.plot(base["n_labels"], base["accuracy"], "s--", label="random samples (clean labels)")
        ax.set_xlabel("labels the model learned from")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=.3)
        ax.legend()
        parts.append("<h2>Learning curve</h2>" + png(fig, "learning curve") + table(curve))
    # ---- the current model on the test split
    pred_path = rep / "test_predictions.csv"
    pred = pd.read_csv(pred_path, dtype=str) if pred_path.exists() else pd.DataFrame()
    if len(pred):
        cm, per_class = confusion(pred)
        k = len(cm)
        fig, ax = plt.subplots(figsize=(min(1 + 0.5 * k, 9), min(0.8 + 0.45 * k, 8)))
        im = ax.imshow(cm.to_numpy(), cmap="Blues")
        ax.set_xticks(range(k), cm.columns.astype(str), rotation=45, ha="right")
        ax.set_yticks(range(k), cm.index.astype(str))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (source label)")
        vmax = cm.to_numpy().max() or 1
        for i in range(k):
            for j in range(k):
                v = int(cm.iat[i, j])
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                            color="white" if v > vmax / 2 else "black")
        fig.colorbar(im, ax=ax, label="test samples")
        info["per_class_accuracy"] = {r["class"]: r["accuracy (recall)"] for r in per_class.to_dict("records")}
        parts.append("<h2 id='confusion'>Current model on the test split</h2>"
                     f"<p>The model select trained last, on {len(pred)} held-out samples with source labels: "
                     "rows are the true class, columns the prediction; the colour is the count (scale at the right).</p>"
                     + png(fig, "confusion matrix") + table(per_class, table_id="per-class"))
    # ---- labeling cost
    if len(cur):
        c = cur.assign(lead_time_s=store.counted_lead_time(cur["lead_time_s"]))   # impossible times do not count
        cost = c.groupby("round").agg(annotations=("annotation_id", "size"),
                                      annotator_hours=("lead_time_s", lambda s: s.sum() / 3600)).reset_index()
        if len(curve):
            acc = curve.set_index("round")["accuracy"]
            cost["accuracy_after"] = cost["round"].map(lambda r: acc.get(r + 1, np.nan))
            cost["accuracy_gain_per_hour"] = cost["accuracy_after"].diff() / cost["annotator_hours"]
        info["annotator_hours"] = float(cost["annotator_hours"].sum())
        human = labels[labels["method"] != "auto"]
        info.update(human_annotations=int(len(cur)), human_labels=int(len(human)))
        parts.append("<h2>Labeling cost</h2>" + table(cost))
    auto = labels[labels["method"] == "auto"]
    if len(auto):
        info.update(auto_labels=int(len(auto)), auto_bound=float(auto["bound"].max()))
    # ---- label quality and annotators
    lq = _read_json(rep / "label_quality.json")
    if lq:
        gate = lq.get("gate", {})
        verdict = "passed" if gate.get("passed") else "FAILED: " + "; ".join(gate.get("reasons", []))
        flat = {k: v for k, v in lq.items() if not isinstance(v, (dict, list))}
        flat.update({f"accepted by {k}": v for k, v in (lq.get("methods") or {}).items()})
        flat.update({f"quarantined: {k}": v for k, v in (lq.get("by_check") or {}).items()})
        parts.append(f"<h2>Label quality</h2><p>Gate {html.escape(verdict)} (alpha {gate.get('alpha', float('nan')):.3f}, "
                     f"90% interval {_interval(gate.get('alpha_interval'))}, "
                     f"{gate.get('quarantined_share', 0):.0%} of round {gate.get('round', '-')} quarantined).</p>"
                     + key_values(flat))
        auto = lq.get("auto_accept")
        if auto and not auto.get("auto_labels"):
            # enabled but no threshold passed yet: the headline says so rather than nothing
            info["auto_pending"] = (f"no auto-labels yet: {auto.get('audited', 0)} audited samples bound no "
                                    f"confidence threshold's error under {auto.get('max_error', 0):.0%}")
        if auto:
            parts.append("<h2>Auto-labels</h2><p>" + html.escape(
                f"{auto['auto_labels']} pool samples labeled by the model at confidence >= {auto['threshold']}: "
                f"error rate <= {auto['bound']:.1%} with {auto['confidence']:.0%} confidence "
                f"({auto['audit_errors']} errors in {auto['audit_n']} audited samples; coverage "
                f"{auto['coverage']:.0%} of the unasked pool; model {auto['model_version']})"
                if auto.get("auto_labels") else f"none: {auto.get('note', 'no threshold passed')}")
                + (html.escape(f"; {auto['revoked']} revoked this round") if auto.get("revoked") else "")
                + (html.escape(f"; {auto['sent_to_annotators']} since sent to annotators, whose label replaces "
                               "the model's") if auto.get("sent_to_annotators") else "") + "</p>"
                + table(pd.DataFrame(auto.get("calibration") or [])))
        human = labels[labels["method"] != "auto"] if "method" in labels else labels
        if len(cur) and len(human):
            per_round = (cur.groupby("round").size() / human.assign(round=human["sample_id"].map(
                cur.drop_duplicates("sample_id").set_index("sample_id")["round"])).groupby("round").size())
            parts.append("<p>Human annotations per accepted label, by round: "
                         + html.escape(", ".join(f"round {int(r)}: {v:.2f}" for r, v in per_round.dropna().items()))
                         + "</p>")
    if (rep / "annotators.csv").exists():
        q = pd.read_csv(rep / "annotators.csv", dtype={"class_map": str, "evidence": str})
        if len(q) and "est_accuracy" in q:
            maps = annotator_maps(cur, labels)
            q.insert(q.columns.get_loc("verdict"), "answers vs accepted labels",
                     q["annotator"].astype(str).map(maps).fillna(""))
            fig, ax = plt.subplots(figsize=(6, 3))
            ax.bar(q["annotator"].astype(str), q["est_accuracy"], color=q["verdict"].map(VERDICT_COLOURS).fillna("tab:gray"))
            if {"est_accuracy_low", "est_accuracy_high"} <= set(q.columns):      # the 90% interval a verdict reads
                ax.errorbar(q["annotator"].astype(str), q["est_accuracy"],
                            yerr=[q["est_accuracy"] - q["est_accuracy_low"], q["est_accuracy_high"] - q["est_accuracy"]],
                            fmt="none", ecolor="black", capsize=3, lw=1)
            handles = [Patch(color=c, label=v) for v, c in VERDICT_COLOURS.items()]
            if "est_accuracy_unbiased" in q:        # what a watch reads: answers checked whatever they said
                handles.append(ax.scatter(q["annotator"].astype(str), q["est_accuracy_unbiased"], marker="D",
                                          color="black", s=14, zorder=3, label="checked whatever they said"))
            ax.set_ylabel("estimated accuracy")
            ax.set_ylim(0, 1)
            ax.tick_params(axis="x", rotation=45)
            ax.legend(handles=handles, fontsize=8, loc="lower right")
            parts.append("<h2>Annotators</h2>" + legend({v: to_hex(c) for v, c in VERDICT_COLOURS.items()})
                         + "<p>Bars: estimated accuracy on every checked answer; whiskers: its 90% interval, "
                         "which blocks only when its top is under validate.block_accuracy. Diamonds: the "
                         "estimate on answers checked whatever they said (not a lone answer sent back because "
                         "it looked doubtful); a watch reads its interval, under validate.watch_accuracy and "
                         "under the other annotators' median.</p>"
                         + png(fig, "annotator accuracy") +
                         "<p>'answers vs accepted labels': every class an annotator mostly labels as another "
                         "(count of their answers on that class); class_map is what the blocking rule saw.</p>"
                         + table(q))
    # ---- issues: one row per flagged sample, sortable
    iss = issues(project)
    if len(iss):
        shown = iss.assign(source=iss["sample_id"].map(S.source),
                           task=iss["sample_id"].map(lambda s: S.link(s)))
        shown = shown[["sample_id", "source", "issue", "score", "annotator", "detail", "task"]]
        shown["sample_id"] = shown["sample_id"].map(lambda s: f"<code class='sid'>{html.escape(s)}</code>")
        for col in ("source", "issue", "annotator", "detail"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else html.escape(str(v)))
        parts.append("<h2 id='issues'>Issues</h2><p>Every flagged sample, one row per issue (click a column to "
                     "sort). Quarantined samples and annotations never reach the training set; triage's "
                     "redundant and harmful samples are never selected for labeling.</p>"
                     + table(shown, escape=False, table_id="issues-table"))
    # ---- quarantine gallery
    quar = store.read_table(data, "quarantine")
    if len(quar):
        samples = quar[quar["annotation_id"].isna()].drop_duplicates("sample_id").head(24)
        cells = [S.cell(sid, f"<small>{html.escape(reason)}</small>") for sid, reason in zip(samples["sample_id"], samples["reason"])]
        by = quar.groupby("check").size().rename("n").reset_index()
        parts.append("<h2>Quarantine</h2>" + table(by) + "<div>" + "".join(cells) + "</div>")
    # ---- triage
    if store.exists(data, "triage"):
        tri = store.read_table(data, "triage")
        kinds = tri.assign(kind=[", ".join(_triage_kinds(f, d)) for f, d in zip(tri["flags"], tri["dup_of"])])
        html_t = table(kinds.groupby(["triage", "kind"]).size().rename("n").reset_index())
        groups = tri[tri["dup_of"].notna()].groupby("dup_of", sort=False)["sample_id"].apply(list).head(12)
        cells = []
        for rep_id, members in groups.items():
            cells.append(S.cell(rep_id, f"<small>kept; {len(members)} near-duplicate(s) set aside:</small>", 64))
            cells += [S.cell(d, f"<small>near-duplicate of {html.escape(rep_id[:12])}</small>", 64) for d in members[:5]]
        worst = tri.sort_values("outlier_score", ascending=False).head(12)
        cells += [S.cell(sid, f"<small>{html.escape(r or f'outlier score {o:.1f}')}</small>", 64)
                  for sid, r, o in zip(worst["sample_id"], worst["reason"], worst["outlier_score"])]
        parts.append("<h2>Triage</h2>" + html_t + "<p>Near-duplicate groups, then the most outlying samples.</p>"
                     "<div>" + "".join(cells) + "</div>")
    # ---- detection: the images whose boxes are most in doubt, with the fused boxes drawn
    detection = project.cfg.project.task == "detection"
    if detection and len(cur):
        parts.append(disputed_boxes(project, S))
    # ---- class balance
    if len(labels):
        counts = (pd.Series([b["label"] for v in labels["label"] for b in json.loads(v or "[]")], dtype=object)
                  .value_counts().sort_index() if detection else labels["label"].value_counts().sort_index())
        fig, ax = plt.subplots(figsize=(6, 2.6))
        ax.bar(counts.index.astype(str), counts.values, color="tab:blue", label="accepted labels")
        ax.set_ylabel("accepted labels")
        ax.legend(fontsize=8)
        parts.append("<h2>Class balance</h2>" + png(fig, "class balance"))
    # ---- augmentation: originals beside their copies, each with its id
    aug = store.read_table(data, "augmented")
    if len(aug):
        cells = []
        for pid in list(dict.fromkeys(aug["parent_id"]))[:6]:
            cells.append(S.cell(pid, "<small>original</small>", 80))
            for k in aug[aug["parent_id"] == pid].head(3).itertuples():
                pic = thumb(data / k.path, 80)
                cells.append(f"<div class='g' data-sample-id='{html.escape(k.sample_id)}'>{pic}<br/>"
                             f"<code class='sid' title='{html.escape(k.sample_id)}'>{html.escape(k.sample_id[:12])}</code>"
                             f"<br/><small>copy {k.copy} of {html.escape(pid[:12])}</small></div>")
        parts.append("<h2>Augmentation preview</h2><div>" + "".join(cells) + "</div>")
    prov = provenance(project)
    meta = ("<p class='meta'>Describes " + "; ".join(f"{html.escape(k)} {html.escape(v)}" for k, v in prov.items())
            + ".</p>")
    params = project.root / "params.yaml"
    if params.exists():
        meta += ("<details class='meta'><summary>params.yaml</summary><pre>" + html.escape(params.read_text())
                 + "</pre></details>")
    head = headline(info)
    out = rep / "report.html"
    write_text(out, page("dataprep report", head, meta, parts))
    info.update(path=str(out), headline=head, provenance=prov, issues=int(len(iss)))
    return info


def disputed_boxes(project: Project, S, n: int = 12) -> str:
    """The `n` images answered by kept annotators whose boxes are least certain (the chance the image's boxes are
    not all right, as validation estimates it), each drawn with the box consensus of its kept
    annotators: accepted boxes thick in their class colour with class and score, boxes left out
    thin in magenta; the caption names each doubtful box, who drew it and who did not."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from dataprep.report_html import boxes_thumb
    from labeling.validate import infer

    with progress.activity("report: box consensus of the disputed images"):
        inferred = infer(project)
    res = inferred["res"] if inferred else {}
    cons, p_wrong = res.get("consensus"), res.get("p_wrong")
    if cons is None or p_wrong is None or not len(p_wrong):
        return ""
    quar = store.read_table(project.data, "quarantine")
    why = quar[quar["annotation_id"].isna()].drop_duplicates("sample_id").set_index("sample_id")["reason"]
    man = S.man
    classes = list(cons.classes_)
    palette = {c: to_hex(colormaps["tab10"](k % 10)) for k, c in enumerate(classes)}
    # disputes among the kept annotators (an image only blocked ones answered is no dispute: it is asked again)
    worst = p_wrong[p_wrong.index.isin(set(cons.tasks_))].sort_values(ascending=False, kind="stable").head(n)
    by_task = cons.clusters_.groupby("task")
    cells = []
    for sid, pw in worst.items():
        if sid not in man.index or man["modality"].get(sid) != "image":
            continue
        drawn = []
        if sid in by_task.groups:
            for r in by_task.get_group(sid).itertuples():
                kept = r.p_real >= 0.5
                drawn.append({**r.box, "doubt": not kept, "colour": palette.get(r.label, "#1f77b4"),
                              "tag": f"{r.label} {r.box['score']:.2f}" if kept else f"? {r.p_real:.2f}"})
        pic = boxes_thumb(project.data / man.loc[sid, "path"], (man.loc[sid, "width"], man.loc[sid, "height"]),
                          drawn, 200)
        # the reason validation gave names each doubtful box, who drew it and who did not
        caption = (f"<small>P(boxes not all right) {pw:.2f}<br/>"
                   + (html.escape(str(why[sid])) if sid in why.index else "accepted") + "</small>")
        cells.append(S.cell(sid, caption, 200, picture=pic))
    return ("<h2 id='disputed-boxes'>Disputed boxes</h2><p>The annotated images whose boxes are most in doubt, "
            "with the consensus of the annotators kept: thick boxes are accepted (class and score), thin magenta "
            "ones were left out (with P(real)). Each caption names the doubtful boxes, who drew them and who did not.</p>"
            + "<div>" + "".join(cells) + "</div>")


def headline(info: dict[str, Any]) -> str:
    if "accuracy" in info:
        s = f"Accuracy {info['accuracy']:.1%} with {info['labels']} accepted labels"
        if "true_label_accuracy" in info:         # the baseline reads true labels: so does this
            s += f" ({info['true_label_accuracy']:.1%} had each its true label)"
        if not np.isnan(info.get("random_accuracy", np.nan)):
            s += f" vs {info['random_accuracy']:.1%} for as many random samples with their true labels"
    elif not info.get("human_labels"):
        return "No learning curve yet: run a few rounds."
    else:       # labels, but no test accuracy: no model yet, or no test split with source labels
        s = "No test accuracy (no model yet, or no test samples with a source label)"
    if info.get("annotator_hours"):
        s += f"; {info['annotator_hours']:.1f} annotator hours"
    if info.get("human_labels"):
        # the same labels from a fixed overlap of 3 (three annotators on every task) cost three each
        s += (f"; {info['human_annotations']} human annotations for {info['human_labels']} human labels, "
              f"where a fixed overlap of 3 takes {3 * info['human_labels']}")
    if info.get("auto_labels"):
        s += f"; {info['auto_labels']} auto-labels, error at most {info['auto_bound']:.1%} at the stated confidence"
    elif info.get("auto_pending"):
        s += f"; {info['auto_pending']}"
    return s + "."
