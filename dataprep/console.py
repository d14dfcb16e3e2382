"""Terminal output shared by every command: results, progress bars, --quiet/--json.

Human text goes to stdout, progress bars to stderr, and with `--json` stdout
carries exactly one JSON document so scripts can parse it.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any, Callable, Iterable, Iterator, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dataprep.core import progress

T = TypeVar("T")

_state = {"quiet": False, "json": False}
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def configure(quiet: bool = False, json_output: bool = False) -> None:
    _state["quiet"] = quiet
    _state["json"] = json_output


def quiet() -> bool:
    return _state["quiet"] or _state["json"]


def say(*lines: str) -> None:
    """Human output; silent under --quiet and --json."""
    if not quiet():
        for line in lines:
            out.print(line, markup=False)     # lines carry user strings (paths, labels): never markup


def result(data: dict[str, Any], *lines: str) -> None:
    """A command's result: JSON under --json, else the human lines."""
    if _state["json"]:
        sys.stdout.write(json.dumps(data, default=str, sort_keys=True) + "\n")
    else:
        say(*lines)


def track(items: Iterable[T], total: int | None = None, description: str = "working") -> Iterator[T]:
    """A progress bar on stderr around `items` (hidden under --quiet/--json and when stderr is
    not a terminal)."""
    if quiet() or not err.is_terminal:
        yield from items
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(escape(description), total=total)
        for item in items:
            yield item
            bar.advance(task)


@contextlib.contextmanager
def activity(text: str) -> Iterator[Callable[[str], None]]:
    """A one-line spinner on stderr saying what is under way; yields a function that changes the
    text. Hidden under --quiet/--json and when stderr is not a terminal (CI logs)."""
    if quiet() or not err.is_terminal:
        yield lambda _text: None
        return
    with err.status(escape(text)) as st:
        yield lambda new: st.update(escape(new))


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A rich table on stdout (silent under --quiet/--json)."""
    if quiet():
        return
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(title))
    for i, c in enumerate(columns):
        t.add_column(Text(c), justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*[Text(str(v)) for v in r])
    out.print(t)


class _Rich:
    """The reporter the core's `progress` calls go to while the CLI runs."""

    track = staticmethod(track)
    activity = staticmethod(activity)


progress.install(_Rich())
