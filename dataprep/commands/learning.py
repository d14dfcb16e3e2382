"""`dataprep select`: one active-learning round (the DVC stage `select` runs the same)."""

from __future__ import annotations

from typing import Annotated

import typer

from dataprep import console
from dataprep.cli_base import make_app, project_from

app = make_app("Active learning.")


@app.command()
def select(
    ctx: typer.Context,
    strategy: Annotated[str | None, typer.Option(help="query strategy (see params.yaml)")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", "-n", help="samples to select")] = None,
    model: Annotated[str | None, typer.Option(help="logistic | random_forest | dotted sklearn class")] = None,
) -> None:
    """Fit on accepted labels, score the pool and write the next batch to label."""
    from active_learning.detection import run_detection_round
    from active_learning.round import run_round

    project = project_from(ctx, {"select.strategy": strategy, "select.batch_size": batch_size, "select.model": model})
    m = (run_detection_round if project.cfg.project.task == "detection" else run_round)(project)
    if m.get("skipped"):
        return console.result(m, f"nothing selected: {m['skipped']}")
    if m.get("exhausted"):
        lines = [f"round {m['round']}: nothing left to select ({m['n_labels']} labels, model {m['model_version']}): "
                 + m["note"].removeprefix("no pool sample left to select ")]
    else:
        lines = [f"round {m['round']}: selected {m['selected']} of {m['selectable']} selectable samples "
                 f"with {m['strategy']} ({m['n_labels']} labels, model {m['model_version']})"]
    if "accuracy" in m:
        lines.append(f"test accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}")
    if m.get("model_warning"):
        lines.append(f"warning: {m['model_warning']}")
    if "stop_agreement" in m:
        lines.append(f"stop set agreement with the previous model {m['stop_agreement']:.3f}"
                     + (" -> predictions have stabilised; consider stopping" if m["should_stop"] else
                        f", but {m['stop_blocked']}" if m.get("stop_blocked") else ""))
    console.result(m, *lines)
