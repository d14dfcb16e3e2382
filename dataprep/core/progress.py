"""Progress of long work, reported by the core and the parts without knowing who shows it.

The stages call `track` (a bar around an iterable) and `activity` (a line saying
what is under way). The face installs the reporter that shows them
(`dataprep.console`: rich bars and spinners on stderr, hidden under
`--quiet`/`--json` and in CI logs); with none installed, as in a library call
or a test, nothing is shown and the work runs the same. So the core and the
parts never import the face.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator, Protocol, TypeVar

T = TypeVar("T")


class Reporter(Protocol):
    def track(self, items: Iterable[T], total: int | None, description: str) -> Iterator[T]: ...

    def activity(self, text: str) -> contextlib.AbstractContextManager[Callable[[str], None]]: ...


_reporter: list[Reporter] = []


def install(reporter: Reporter) -> None:
    """Show progress through `reporter` from now on (the face calls this once)."""
    _reporter[:] = [reporter]


def track(items: Iterable[T], total: int | None = None, description: str = "working") -> Iterator[T]:
    """`items`, with a progress bar where a reporter is installed."""
    if not _reporter:
        return iter(items)
    return _reporter[0].track(items, total, description)


@contextlib.contextmanager
def activity(text: str) -> Iterator[Callable[[str], None]]:
    """A line saying what is under way; yields a function that changes it."""
    if not _reporter:
        yield lambda _text: None
        return
    with _reporter[0].activity(text) as show:
        yield show
