"""The core's stages as commands (features, triage, export) and the report."""

from __future__ import annotations


import typer

from dataprep import console
from dataprep.cli_base import make_app, project_from

app = make_app("The loop.")


@app.command()
def features(ctx: typer.Context) -> None:
    """Compute (or update) the cached feature matrix of every sample."""
    from dataprep.core.features import build_features

    X, index = build_features(project_from(ctx))
    console.result({"rows": int(X.shape[0]), "dims": int(X.shape[1])}, f"features: {X.shape[0]} x {X.shape[1]}")


@app.command()
def export(ctx: typer.Context) -> None:
    """Write the training set (accepted labels + augmentations) and lineage.parquet to export/."""
    from dataprep.core.export import export as run

    s = run(project_from(ctx))
    console.result(s, f"exported {s['rows']} rows ({s['augmented']} augmented) to {s['path']}")


@app.command()
def report(ctx: typer.Context) -> None:
    """Build the self-contained HTML report."""
    from dataprep.report import build

    s = build(project_from(ctx))
    console.result(s, s["headline"], f"report: {s['path']}")


@app.command()
def triage(ctx: typer.Context) -> None:
    """Near-duplicates, junk and outliers: a keep / redundant / harmful verdict per sample."""
    from dataprep.core.triage import triage as run

    s = run(project_from(ctx))
    v = s["verdicts"]
    groups = f" in {s['duplicate_groups']} near-duplicate group(s)" if v.get("redundant", 0) else ""
    console.result(s, f"triage of {s['samples']} samples: {v.get('keep', 0)} keep, {v.get('redundant', 0)} redundant"
                      f"{groups}, {v.get('harmful', 0)} harmful",
                   *[f"warning: {w}" for w in s["warnings"]])
