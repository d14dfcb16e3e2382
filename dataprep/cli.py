"""The `dataprep` command: the root typer app that mounts each package's commands.

User errors (`UserError`, exit 2) and failed gates (`GateFailed`, exit 1) become
one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dataprep import console, warning_summary
from dataprep.cli_base import make_app, project_from
from dataprep.core import trace

app = make_app("Data-prep ops: acquire, triage, select, label, validate, augment, export.")


@app.callback()
def _root(
    ctx: typer.Context,
    params: Annotated[Path, typer.Option("--params", "-p", help="the project's params.yaml")] = Path("params.yaml"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print nothing but errors")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="print one JSON document (for scripts)")] = False,
) -> None:
    console.configure(quiet=quiet, json_output=json_output)
    ctx.obj = {"params": params}


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="project folder")] = Path("."),
    set_: Annotated[list[str] | None, typer.Option("--set", "-s", metavar="SECTION.KEY=VALUE",
                                                   help="set a params.yaml value, comments kept (repeatable)")] = None,
    remote: Annotated[str | None, typer.Option(help="a DVC remote for the team's data (a shared folder, s3://, "
                                                    "ssh://...): made the default, so dvc push / dvc pull use it")] = None,
) -> None:
    """Scaffold a project: git, dvc (analytics off), params.yaml, dvc.yaml, .gitignore, and a DVC remote."""
    from dataprep.core.errors import UserError
    from dataprep.init import init_project

    settings = {}
    for item in set_ or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UserError(f"--set {item!r}: expected SECTION.KEY=VALUE (for example acquire.source=images/)")
        settings[key.strip()] = value
    done = init_project(folder, settings, remote)
    if done:
        console.result({"changed": True, "done": done}, *[f"- {d}" for d in done], f"initialised {folder.resolve()}")
    else:
        console.result({"changed": False, "done": []}, f"{folder.resolve()} is already initialised; nothing changed")


@app.command()
def acquire(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="'digits', an image folder, or a CSV/TSV/JSONL/parquet file (.gz, .bz2, .xz too)")] = None,
    kind: Annotated[str | None, typer.Option(help="auto | images | text | tabular")] = None,
    test_fraction: Annotated[float | None, typer.Option(help="held-out stratified test share")] = None,
) -> None:
    """Acquire raw data into the content-addressed dataset folder."""
    from dataprep.core.acquire import acquire as run

    project = project_from(ctx, {"acquire.source": source, "acquire.kind": kind, "acquire.test_fraction": test_fraction})
    s = run(project)
    inputs = {"images": "image files", "text": "text rows", "tabular": "table rows"}.get(s["kind"], "inputs")
    lines = [f"{s['samples']} samples ({s['new_samples']} new) from {s['files_seen']} {inputs}; "
             f"{s['duplicates_collapsed']} exact duplicates collapsed; {s['unreadable']} unreadable skipped"
             + (f"; {s['gone']} no longer in the source" if s.get("gone") else "")]
    lines += [f"  same content: {' = '.join(d['sources'][:3])}" + (" ..." if len(d["sources"]) > 3 else "")
              for d in s["duplicate_files"][:3]]
    if len(s["duplicate_files"]) > 3:
        lines.append(f"  (every group in {project.reports / 'acquire.json'}, duplicate_files)")
    lines += [f"  skipped {b['source']}: {b['error']}" for b in s["unreadable_files"][:5]]
    if s["unreadable"]:
        lines.append(f"  (all listed in {project.reports / 'acquire.json'})")
    lines += [f"warning: {w}" for w in s["warnings"]]
    if not s["changed"]:
        lines.append("manifest unchanged (nothing new)")
    console.result(s, *lines)


@app.command()
def status(ctx: typer.Context) -> None:
    """Counts per state and label, and what to do next."""
    from dataprep.status import show, status as run

    show(run(project_from(ctx, writes=False)))


def _mount() -> None:
    """The commands of every part (`dataprep.commands`)."""
    import importlib

    for name in ("learning", "labeling", "augment", "loop", "demo"):
        app.add_typer(importlib.import_module(f"dataprep.commands.{name}").app)


_mount()


def main() -> None:
    traced = trace.start()
    warning_summary.install()
    try:
        app()
    finally:
        trace.finish(traced)
        command = " ".join(a for a in sys.argv[1:] if not a.startswith("-"))[:80]
        for line in warning_summary.finish(command):
            if not console.quiet():
                console.err.print(f"note: {line}", markup=False, highlight=False)
