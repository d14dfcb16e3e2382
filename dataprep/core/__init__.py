"""The core every part stands on: the data model and its atomic store, config and project,
the project lock, acquisition, the one image decoder, features, the one linear model recipe,
triage, export, the DVC stage graph, progress reporting and the stage metrics. It imports no
part (labeling, active_learning, augment) and nothing of the face (`dataprep`'s CLI, report,
status, demo)."""
