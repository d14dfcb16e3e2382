"""Commands that tie the stages together: features, export, report, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataprep import console
from dataprep.cli_base import make_app, project_from

app = make_app("The loop.")


@app.command()
def features(ctx: typer.Context) -> None:
    """Compute (or update) the cached feature matrix of every sample."""
    from dataprep.features import build_features

    X, index = build_features(project_from(ctx))
    console.result({"rows": int(X.shape[0]), "dims": int(X.shape[1])}, f"features: {X.shape[0]} x {X.shape[1]}")


@app.command()
def export(ctx: typer.Context) -> None:
    """Write the training set (accepted labels + augmentations) and lineage.parquet to export/."""
    from dataprep.export import export as run

    s = run(project_from(ctx))
    console.result(s, f"exported {s['rows']} rows ({s['augmented']} augmented) to {s['path']}")


@app.command()
def report(ctx: typer.Context) -> None:
    """Build the self-contained HTML report."""
    from dataprep.report import build

    s = build(project_from(ctx))
    console.result(s, s["headline"], f"report: {s['path']}")


@app.command()
def demo(
    rounds: Annotated[int, typer.Option(help="active-learning rounds (dvc repro runs)")] = 6,
    folder: Annotated[Path, typer.Option("--dir", help="demo project folder (recreated)")] = Path("demo-project"),
    studio: Annotated[bool, typer.Option(help="label through a local Label Studio instead of offline")] = False,
) -> None:
    """Run the whole loop offline on the bundled digits data with simulated annotators
    (with --studio: through a local Label Studio, where the run can be browsed)."""
    from dataprep.demo import run_demo

    s = run_demo(folder, rounds, studio)
    extra = ([f"Label Studio: {s['studio']['url']} (admin password in {s['studio']['credentials']}); "
              f"stop it with `{s['studio']['stop']}`"] if studio else [])
    console.result(s, s["headline"], f"report: {s['report']}", *extra)


@app.command()
def triage(ctx: typer.Context) -> None:
    """Near-duplicates, junk and outliers: a keep / redundant / harmful verdict per sample."""
    from dataprep.triage import triage as run

    s = run(project_from(ctx))
    v = s["verdicts"]
    console.result(s, f"triage of {s['samples']} samples: {v.get('keep', 0)} keep, {v.get('redundant', 0)} redundant "
                      f"({s['duplicate_groups']} groups), {v.get('harmful', 0)} harmful",
                   *[f"warning: {w}" for w in s["warnings"]])
