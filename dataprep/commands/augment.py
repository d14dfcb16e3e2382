"""`dataprep augment` (the DVC stage `augment` runs the same)."""

from __future__ import annotations

import typer

from dataprep import console
from dataprep.cli_base import make_app, project_from

app = make_app("Augmentation.")


@app.command()
def augment(ctx: typer.Context) -> None:
    """Augment the accepted training images with the pipeline in params.yaml (reproducible, with lineage)."""
    from augment.run import augment as run

    s = run(project_from(ctx))
    console.result(s, f"augmented {s['parents']} images into {s['augmented']} copies with pipeline {s['pipeline']}"
                      + (f"; {s['boxes_dropped']} boxes left the image and were dropped" if s["boxes_dropped"] else ""))
