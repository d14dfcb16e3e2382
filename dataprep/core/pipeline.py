"""The DVC pipeline a project runs: one `dvc.yaml`, the same for every project.

`params.yaml` is the single source of truth. `dvc.yaml` bakes in no value:
paths are interpolated from `params.yaml` (`${project.data_dir}`), and each
stage declares the settings its code reads (a test runs real rounds with
`dataprep.core.trace` and checks the declarations against what the code touched).
Editing `params.yaml` (the source, the labels, any stage's setting) and running
`dvc repro` re-runs exactly the stages that read what changed; no re-init.

Two stages read things outside the graph and so are `always_changed`, with
their own incremental caches inside: `acquire` reads the source (a folder or
file named in params; DVC cannot depend on a path that is itself a parameter)
and skips files whose size and modification time it has seen; `features`
reads a user's embeddings file or encoder and computes rows only for new
samples. Both leave their outputs untouched when nothing changed, so the
stages after them are skipped as usual. `pull` is always changed too: the
labeling backend is outside the graph by nature. One `dvc repro` is one round:

    acquire -> features -> triage --------------------+
    pull (always_changed) -> validate -> select -> push
                              validate -> augment -> export

Outputs that carry history across rounds (the annotation mirror, the
selection log, the learning curve) are `persist: true` so `dvc repro` never
deletes them before a stage runs; so are the accepted labels, which a failed
validation gate must leave as they were. DVC's metrics are the few headline
numbers of `reports/metrics/` (`dataprep.core.stage_metrics`); each stage's full
summary is a plain output beside them. Every report file is `persist: true`
with `cache: false`: a stage that fails leaves the last ones in place (DVC
would otherwise delete them before running it), and git, not the DVC cache,
keeps their history.
"""

from __future__ import annotations

import yaml

D, R = "${project.data_dir}", "${project.reports_dir}"

def dvc_stages() -> dict:
    def persist(cache: bool = True) -> dict:
        return {"persist": True} if cache else {"persist": True, "cache": False}

    def nocache() -> dict:
        # reports: small, for people; git tracks them, and a failed stage leaves the last ones readable
        return {"cache": False, "persist": True}

    return {
        "acquire": {
            "cmd": "dataprep acquire",
            "always_changed": True,
            "params": ["acquire", "project.seed", "project.labels", "project.task"],
            "outs": [{f"{D}/raw": persist()}, {f"{D}/manifest.parquet": persist()}, {f"{R}/acquire.json": nocache()}],
            "metrics": [{f"{R}/metrics/acquire.json": nocache()}],
        },
        "features": {
            "cmd": "dataprep features",
            "always_changed": True,
            "deps": [f"{D}/manifest.parquet", f"{D}/raw"],
            "params": ["features", "acquire.n_jobs", "acquire.max_pixels", "project.seed"],
            "outs": [{f"{D}/features": persist()}],
        },
        "triage": {
            "cmd": "dataprep triage",
            "deps": [f"{D}/manifest.parquet", f"{D}/features"],
            "params": ["triage", "acquire.n_jobs", "acquire.max_pixels", "project.seed"],
            "outs": [f"{D}/triage.parquet", {f"{R}/triage.json": nocache()}],
            "metrics": [{f"{R}/metrics/triage.json": nocache()}],
        },
        "pull": {
            "cmd": "dataprep label pull",
            "always_changed": True,
            "params": ["label", "simulate", "project.labels", "project.task", "project.seed"],
            "outs": [{f"{D}/tasks.parquet": persist()}, {f"{D}/annotations.parquet": persist()},
                     {f"{D}/pull_state.json": persist()}],
        },
        "validate": {
            "cmd": "dataprep validate",
            "deps": [f"{D}/manifest.parquet", f"{D}/features", f"{D}/tasks.parquet", f"{D}/annotations.parquet",
                     f"{D}/triage.parquet"],
            "params": ["project", "validate", "label.max_annotations", "label.reannotate", "label.remove_blocked", "label.rename",
                       "label.auto_accept",
                       "select.model", "select.model_params", "select.random_state", "select.chunk_size",
                       "select.detector", "features.onnx_input_size", "acquire.max_pixels", "triage.keep"],
            # labels persist: DVC must not delete the last accepted labels before a run whose
            # gate may fail (validate writes them, atomically, only when the gate passes)
            "outs": [{f"{D}/labels.parquet": persist()}, f"{D}/quarantine.parquet", f"{D}/requests.parquet",
                     {f"{R}/label_quality.json": nocache()}],
            "metrics": [{f"{R}/metrics/validate.json": nocache()}],
            "plots": [{f"{R}/annotators.csv": nocache()}],
        },
        "select": {
            "cmd": "dataprep select",
            "deps": [f"{D}/manifest.parquet", f"{D}/features", f"{D}/tasks.parquet",
                     f"{D}/labels.parquet", f"{D}/quarantine.parquet", f"{D}/requests.parquet",
                     f"{D}/triage.parquet"],
            "params": ["select", "triage.keep", "label.gold_share", "label.reannotate", "label.auto_accept",
                       "label.overlap", "label.calibration_overlap", "label.check_share", "project.labels", "project.seed",
                       "project.task", "features.onnx_input_size", "acquire.max_pixels"],
            "outs": [{f"{D}/selection.parquet": persist()}, {f"{D}/al_state.json": persist()},
                     {f"{R}/learning_curve.csv": nocache()}, {f"{R}/al_metrics.json": nocache()},
                     {f"{R}/test_predictions.csv": nocache()}],
            "metrics": [{f"{R}/metrics/select.json": nocache()}],
        },
        "push": {
            "cmd": "dataprep label push",
            # labels: the auto-labels shown for review; quarantine: who is blocked (label.remove_blocked)
            "deps": [f"{D}/selection.parquet", f"{D}/labels.parquet", f"{D}/quarantine.parquet"],
            "params": ["label", "project.labels", "project.task"],
            "outs": [{f"{R}/push.json": nocache()}],
        },
        "augment": {
            "cmd": "dataprep augment",
            "deps": [f"{D}/manifest.parquet", f"{D}/labels.parquet"],
            "params": ["augment", "project.task", "acquire.max_pixels"],
            "outs": [f"{D}/augmented", f"{D}/augmented.parquet", {f"{R}/augment_preview.png": nocache()}],
        },
        "export": {
            "cmd": "dataprep export",
            "deps": [f"{D}/labels.parquet", f"{D}/quarantine.parquet", f"{D}/selection.parquet",
                     f"{D}/augmented.parquet"],
            "params": ["export", "project.task", "project.labels"],
            "outs": ["export"],
        },
    }


def dvc_plots() -> list:
    r = R
    return [
        {f"{r}/learning_curve.csv": {"x": "n_labels", "y": "accuracy", "title": "Learning curve"}},
        {f"{r}/annotators.csv": {"x": "annotator", "y": "est_accuracy", "template": "bar_horizontal",
                                 "title": "Annotator estimated accuracy"}},
    ]


def dvc_yaml() -> str:
    header = ("# Written by `dataprep init`; the same for every project: every value comes from params.yaml.\n"
              "# One `dvc repro` = one active-learning round.\n")
    doc = {"stages": dvc_stages(), "plots": dvc_plots()}
    return header + yaml.safe_dump(doc, sort_keys=False, width=100)
