"""The label validation gate: from the annotation log to accepted labels and quarantine.

Order matters and is deliberate:
1. schema and provenance checks quarantine single annotations;
2. Dawid-Skene on what is left estimates every annotator's confusion matrix;
   annotators judged blocked (low skill, failed gold, a systematic class map,
   accepting wrong pre-annotations, or listed in params) are quarantined whole;
3. Dawid-Skene again on the remaining annotations, now with the model's
   out-of-sample probabilities as a per-item prior;
4. singly-labeled samples go through confident learning (cleanlab);
5. samples whose accepted label is not confident enough are quarantined and
   listed for another annotation instead of being silently accepted;
6. the gate: the share of the latest batch quarantined and Krippendorff's alpha
   against params. A failed gate writes the reports and quarantine (to look
   at) but keeps the previous `labels.parquet`, and exits 1.

Nothing is deleted: quarantined annotations stay in `annotations.parquet`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dataprep import store
from dataprep.atomic import write_json, write_text
from dataprep.errors import GateFailed, UserError
from dataprep.features import load_features, rows_of
from dataprep.project import Project
from labeling import checks
from labeling.aggregate import DawidSkene


def label_set(project: Project, manifest: pd.DataFrame, annotations: pd.DataFrame) -> list[str]:
    if project.cfg.project.labels:
        return list(project.cfg.project.labels)
    known = manifest["source_label"].dropna().unique().tolist()
    return sorted(map(str, known)) if known else sorted(annotations["label"].dropna().astype(str).unique())


def _aggregate(ann: pd.DataFrame, classes: list[str], prior: np.ndarray | None = None) -> DawidSkene:
    long = pd.DataFrame({"task": ann["sample_id"].to_numpy(), "worker": ann["annotator"].to_numpy(),
                         "label": ann["label"].to_numpy()})
    return DawidSkene().fit(long, classes, prior)


def _model_prior(project: Project, ds: DawidSkene, classes: list[str]) -> np.ndarray | None:
    """Out-of-sample class probabilities per task (columns in `classes` order)."""
    X, index = load_features(project)
    y = np.asarray(ds.predict().to_numpy(), dtype=str)
    proba = checks.out_of_sample_proba(np.asarray(X[rows_of(index, ds.tasks_)]), y,
                                       project.cfg.validation.cv_folds, project.cfg.project.seed)
    if proba is None:
        return None
    present = sorted(set(y))
    full = np.full((len(y), len(classes)), 1e-3)
    for j, c in enumerate(present):
        full[:, classes.index(c)] = proba[:, j]
    return full / full.sum(1, keepdims=True)


def validate(project: Project) -> dict[str, Any]:
    cfg = project.cfg.validation
    data, reports = project.data, project.reports
    manifest = store.read_table(data, "manifest")
    tasks = store.read_table(data, "tasks")
    log = store.read_table(data, "annotations")
    ann = log[log["status"] == "active"].copy()
    if ann.empty:
        raise UserError(f"{data / 'annotations.parquet'}: no active annotations to validate; run `dataprep label pull`")
    classes = label_set(project, manifest, ann)
    task_type = project.cfg.project.task

    flags = [checks.schema(ann, set(classes), task_type, manifest[["sample_id", "width", "height"]]),
             checks.provenance(ann)]
    bad_ids = set(pd.concat(flags)["annotation_id"])
    usable = ann[~ann["annotation_id"].isin(bad_ids)]
    if task_type == "detection":
        raise UserError("project.task: detection labels are schema-checked, but aggregation of boxes is not "
                        "supported yet; use classification")

    gold_tasks = tasks.loc[tasks["gold"], "sample_id"]
    gold_truth = manifest.set_index("sample_id")["source_label"].reindex(gold_tasks).dropna().astype(str)

    # pass 1: who can be trusted?
    ds1 = _aggregate(usable, classes)
    quality = checks.annotator_quality(usable, ds1.predict(), ds1, tasks, gold_truth, cfg)
    blocked = set(quality.loc[quality["verdict"] == "blocked", "annotator"]) | set(cfg.blocked_annotators)
    blocked_ann = usable[usable["annotator"].isin(blocked)]
    ev = quality.set_index("annotator")["evidence"]
    flags.append(checks._flags(blocked_ann, "blocked_annotator",
                               [f"annotator {a} blocked: {ev.get(a, 'listed in params')}" for a in blocked_ann["annotator"]]))
    kept = usable[~usable["annotator"].isin(blocked)]

    # pass 2: truth with a model prior
    labels = pd.DataFrame(columns=list(store.SCHEMAS["labels"]))
    sample_flags = []
    if not kept.empty:
        ds0 = _aggregate(kept, classes)
        prior = _model_prior(project, ds0, classes)
        ds = _aggregate(kept, classes, prior) if prior is not None else ds0
        pred, conf = ds.predict(), ds.confidence()
        n = kept.groupby("sample_id").size()
        unanimous = kept.groupby("sample_id")["label"].nunique() == 1
        method = np.where(n.loc[pred.index] == 1, "single",
                          np.where(unanimous.loc[pred.index], "agreement", "dawid_skene"))
        labels = pd.DataFrame({"sample_id": pred.index, "label": pred.to_numpy(), "confidence": conf.to_numpy(),
                               "method": method, "n_annotations": n.loc[pred.index].to_numpy()})
        # singly-labeled samples: confident learning against the model
        single = labels[labels["method"] == "single"]
        if len(single) and prior is not None:
            pos = pd.Index(ds.tasks_).get_indexer(single["sample_id"])
            sample_flags.append(checks.label_errors(single["sample_id"].to_numpy(), single["label"].to_numpy(),
                                                    prior[pos], classes))
        low = labels[labels["confidence"] < cfg.min_confidence]
        sample_flags.append(checks._flags(low.assign(annotation_id=None, annotator=None), "low_agreement",
                                          [f"accepted label {l!r} has confidence {c:.2f} < {cfg.min_confidence}: "
                                           "send for another annotation" for l, c in zip(low["label"], low["confidence"])]))
    # gold tasks: the known label is the accepted label
    gold_rows = gold_truth[gold_truth.index.isin(ann["sample_id"])]
    labels = labels[~labels["sample_id"].isin(gold_rows.index)]
    labels = pd.concat([labels, pd.DataFrame({"sample_id": gold_rows.index, "label": gold_rows.to_numpy(),
                        "confidence": 1.0, "method": "gold", "n_annotations": ann.groupby("sample_id").size()
                        .reindex(gold_rows.index).to_numpy()})], ignore_index=True)
    # samples with no usable annotation left
    orphan = sorted(set(ann["sample_id"]) - set(labels["sample_id"]))
    sample_flags.append(checks._flags(pd.DataFrame({"sample_id": orphan, "annotation_id": None, "annotator": None}),
                                      "no_usable_annotation", ["every annotation was quarantined"] * len(orphan)))
    sample_q = pd.concat([f for f in sample_flags if len(f)] or [checks.no_flags()], ignore_index=True)
    sample_q = sample_q.drop_duplicates("sample_id")
    sample_q = sample_q[~sample_q["sample_id"].isin(gold_rows.index)]
    accepted = labels[~labels["sample_id"].isin(sample_q["sample_id"])].sort_values("sample_id")
    quarantine = pd.concat([f for f in flags + [sample_q] if len(f)] or [checks.no_flags()], ignore_index=True)

    # gate on the latest batch
    latest = int(ann["round"].max())
    batch = set(ann.loc[ann["round"] == latest, "sample_id"])
    q_share = len(batch & set(sample_q["sample_id"])) / max(1, len(batch))
    agree = checks.agreement(kept) if not kept.empty else {"alpha": float("nan"), "alpha_per_class": {}}
    alpha = agree["alpha"]
    reasons = []
    if q_share > cfg.max_quarantined_share:
        reasons.append(f"{q_share:.0%} of round {latest}'s {len(batch)} samples quarantined (max {cfg.max_quarantined_share:.0%})")
    if not np.isnan(alpha) and alpha < cfg.min_agreement:
        reasons.append(f"Krippendorff's alpha {alpha:.2f} < {cfg.min_agreement}")
    gate = {"passed": not reasons, "reasons": reasons, "round": latest, "batch_samples": len(batch),
            "quarantined_share": round(q_share, 4), "alpha": alpha,
            "thresholds": {"max_quarantined_share": cfg.max_quarantined_share, "min_agreement": cfg.min_agreement}}
    summary = {
        "annotations": int(len(ann)), "samples_annotated": int(ann["sample_id"].nunique()),
        "accepted": int(len(accepted)), "quarantined_samples": int(sample_q["sample_id"].nunique()),
        "quarantined_annotations": int(quarantine["annotation_id"].notna().sum()),
        "by_check": quarantine.groupby("check").size().to_dict(),
        "methods": accepted["method"].value_counts().to_dict(),
        "mean_confidence": float(accepted["confidence"].mean()) if len(accepted) else None,
        "blocked_annotators": sorted(blocked),
        "watch_annotators": sorted(quality.loc[quality["verdict"] == "watch", "annotator"]),
        "agreement": agree, "gate": gate,
    }
    truth = manifest.set_index("sample_id")["source_label"]
    if truth.notna().any() and len(accepted):
        t = accepted["sample_id"].map(truth)
        summary["accuracy_vs_source_labels"] = float((accepted["label"] == t).mean())
    store.write_table(data, "quarantine", quarantine.astype({"annotation_id": "Int64"}))
    write_text(reports / "annotators.csv", quality.to_csv(index=False))
    write_json(reports / "label_quality.json", summary)
    if not gate["passed"]:
        raise GateFailed("validation gate failed: " + "; ".join(reasons) +
                         f" (labels.parquet left as it was; see {reports / 'label_quality.json'})")
    store.write_table(data, "labels", accepted)
    return summary
