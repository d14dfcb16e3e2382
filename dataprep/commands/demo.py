"""`dataprep demo` (the whole loop on digits) and `dataprep example` (generated data to try it on)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataprep import console
from dataprep.cli_base import make_app

app = make_app("Demo and examples.")


@app.command()
def demo(
    rounds: Annotated[int, typer.Option(help="active-learning rounds (dvc repro runs)")] = 16,
    folder: Annotated[Path, typer.Option("--dir", help="demo project folder (recreated)")] = Path("demo-project"),
    studio: Annotated[bool, typer.Option(help="label through a local Label Studio instead of offline")] = False,
) -> None:
    """Run the whole loop offline on the bundled digits data with simulated annotators
    (with --studio: through a local Label Studio, where the run can be browsed)."""
    from dataprep.demo.run import run_demo

    s = run_demo(folder, rounds, studio)
    extra = ([f"Label Studio: {s['studio']['url']} (admin password in {s['studio']['credentials']}); "
              f"stop it with `{s['studio']['stop']}`"] if studio else [])
    console.result(s, s["headline"], f"report: {s['report']}", *extra)


@app.command()
def example(
    kind: Annotated[str, typer.Argument(help="images | text | tabular")],
    dest: Annotated[Path, typer.Argument(help="folder (images) or .csv file (text, tabular) to write")],
    per_class: Annotated[int, typer.Option(help="samples per class")] = 40,
    seed: Annotated[int, typer.Option(help="generator seed (same seed, same bytes)")] = 0,
) -> None:
    """Write a generated example dataset to try dataprep on (the README's tutorials): images of
    five shapes in class folders stored as people have them (transparent icons, EXIF-rotated
    JPEGs, palette GIFs, 16-bit PNGs, CMYK JPEGs, HEIC photos), a topic-labelled text CSV, or a tabular CSV (one column written as money, $1,234.56)."""
    from dataprep.demo import examples
    from dataprep.core.errors import UserError

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
        if kind == "text":
            examples.text_csv(dest, n_per_class=per_class, seed=seed)
        else:
            examples.tabular_csv(dest, n_per_class=per_class, seed=seed, written=True)
        n = per_class * (len(examples.TOPICS) if kind == "text" else 3)
    else:
        raise UserError(f"example {kind!r}: expected images, text or tabular")
    console.result({"kind": kind, "path": str(dest), "samples": n}, f"wrote {n} {'images' if kind == 'images' else kind + ' rows'} to {dest}")
