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
    groups = f" in {s['duplicate_groups']} near-duplicate group(s)" if v.get("redundant", 0) else ""
    console.result(s, f"triage of {s['samples']} samples: {v.get('keep', 0)} keep, {v.get('redundant', 0)} redundant"
                      f"{groups}, {v.get('harmful', 0)} harmful",
                   *[f"warning: {w}" for w in s["warnings"]])


@app.command()
def example(
    kind: Annotated[str, typer.Argument(help="images | text | tabular")],
    dest: Annotated[Path, typer.Argument(help="folder (images) or .csv file (text, tabular) to write")],
    per_class: Annotated[int, typer.Option(help="samples per class")] = 40,
    seed: Annotated[int, typer.Option(help="generator seed (same seed, same bytes)")] = 0,
) -> None:
    """Write a generated example dataset to try dataprep on (the README's tutorials): images of
    five shapes in class folders stored as people have them (transparent icons, EXIF-rotated
    JPEGs, palette GIFs, 16-bit PNGs, CMYK JPEGs), a topic-labelled text CSV, or a tabular CSV."""
    from dataprep import examples
    from dataprep.errors import UserError

    if per_class < 2:
        raise UserError(f"--per-class {per_class}: need at least 2 samples per class")
    if dest.exists() and (dest.is_file() or any(dest.iterdir())):
        raise UserError(f"{dest} exists and is not empty; pick a new path")
    if kind == "images":
        examples.image_folder(dest, n_per_class=per_class, shapes=examples.SHAPES, seed=seed)
        n = per_class * len(examples.SHAPES)
    elif kind in ("text", "tabular"):
        if dest.suffix.lower() != ".csv":
            raise UserError(f"{dest}: a {kind} example is a .csv file")
        (examples.text_csv if kind == "text" else examples.tabular_csv)(dest, n_per_class=per_class, seed=seed)
        n = per_class * (len(examples.TOPICS) if kind == "text" else 3)
    else:
        raise UserError(f"example {kind!r}: expected images, text or tabular")
    console.result({"kind": kind, "path": str(dest), "samples": n}, f"wrote {n} {'images' if kind == 'images' else kind + ' rows'} to {dest}")
