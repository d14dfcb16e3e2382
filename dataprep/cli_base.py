"""What every package's `cli.py` builds on: the app factory and the project of the root options.

Kept apart from `dataprep.cli` (which mounts every package's commands) so that a
package's cli imports on its own without an import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from dataprep import console
from dataprep.errors import GateFailed, UserError
from dataprep.project import Project, open_project


class _Group(TyperGroup):
    """Turns our exceptions into exit codes for every command, nested ones included."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (UserError, GateFailed) as exc:
            console.err.print(f"[red]error:[/red] {exc}" if isinstance(exc, UserError) else f"[yellow]gate:[/yellow] {exc}")
            raise typer.Exit(exc.exit_code) from None


def make_app(help: str) -> typer.Typer:
    return typer.Typer(cls=_Group, help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)


def project_from(ctx: typer.Context, overrides: dict[str, Any] | None = None) -> Project:
    """The project of the root `--params`, with this command's flag overrides."""
    root = ctx.find_root()
    params = (root.obj or {}).get("params", Path("params.yaml"))
    return open_project(params, overrides)
