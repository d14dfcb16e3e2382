"""What every package's `cli.py` builds on: the app factory and the project of the root options.

Kept apart from `dataprep.cli` (which mounts every package's commands) so that a
package's cli imports on its own without an import cycle.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
import typer
from rich.markup import escape
from typer.core import TyperGroup

from dataprep import console, warning_summary
from dataprep.core import parallel
from dataprep.core.errors import GateFailed, UserError, printable
from dataprep.core.atomic import use_temp_dir, write_json
from dataprep.core.lock import project_lock
from dataprep.core.project import FAILURE_FILE, Project, open_project


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame in our own code."""
    tb, here = exc.__traceback__, ""
    ours = ("dataprep", "labeling", "active_learning", "augment")
    while tb is not None:
        f = tb.tb_frame.f_code.co_filename
        if any(f"/{p}/" in f for p in ours):
            here = f"{Path(f).parent.name}/{Path(f).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return here


_opened: dict[str, Any] = {}      # the project and command this process opened for writing


def _record_outcome(exc: BaseException | None) -> None:
    """`.dataprep/last_failure.json`: the last writing command that failed, and why, until that
    command succeeds, so `dataprep status` never points past a failure."""
    if not _opened:
        return
    path = _opened["work"] / FAILURE_FILE
    if exc is None:
        try:
            if path.exists() and json.loads(path.read_text()).get("command") == _opened["command"]:
                path.unlink()
        except (OSError, ValueError):
            pass
    elif _opened["work"].is_dir():
        write_json(path, {"command": _opened["command"], "error": printable(str(exc)).splitlines()[0][:300],
                          "exit_code": getattr(exc, "exit_code", 2),
                          "time": datetime.now(timezone.utc).isoformat(timespec="seconds")})


class _Group(TyperGroup):
    """Turns our exceptions into exit codes for every command, nested ones included: a
    failed gate is exit 1, everything else one line and exit 2, never a traceback
    (DATAPREP_DEBUG=1 shows it)."""

    def invoke(self, ctx):
        try:
            out = super().invoke(ctx)
            _record_outcome(None)
            return out
        except (UserError, GateFailed) as exc:
            _record_outcome(exc)
            text = escape(printable(str(exc)))      # user strings (paths, labels) may hold rich markup such as "[/"
            console.err.print(f"[red]error:[/red] {text}" if isinstance(exc, UserError) else f"[yellow]gate:[/yellow] {text}")
            raise typer.Exit(exc.exit_code) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            _record_outcome(exc)
            if os.environ.get("DATAPREP_DEBUG"):
                raise
            console.err.print(escape(printable(f"unexpected {type(exc).__name__}: {exc} (at {_where(exc)}; "
                                               "run with DATAPREP_DEBUG=1 for the traceback and please report it)")),
                              style="red")
            raise typer.Exit(2) from None


def make_app(help: str) -> typer.Typer:
    return typer.Typer(cls=_Group, help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)


def project_from(ctx: typer.Context, overrides: dict[str, Any] | None = None, writes: bool = True) -> Project:
    """The project of the root `--params`, with this command's flag overrides. A command that
    `writes` holds the project lock (`dataprep.core.lock`) until it ends."""
    root = ctx.find_root()
    params = (root.obj or {}).get("params", Path("params.yaml"))
    project = open_project(params, overrides)
    parallel.use(project.cfg.compute.scheduler)         # where the heavy work runs (DATAPREP_SCHEDULER wins)
    warning_summary.log_to(project.work)
    if writes:
        ctx.with_resource(project_lock(project.work, on_wait=lambda line: console.err.print(escape(line))))
        # recorded once the lock is held: a command that never got it says nothing about the project
        _opened.update(work=project.work, command=ctx.command_path.removeprefix(ctx.find_root().info_name or "").strip())
        data = project.data
        use_temp_dir(project.work / "tmp", [data, data / "raw", data / "augmented"])
    return project
