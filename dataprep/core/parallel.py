"""One way to fan work out: consecutive batches of items through joblib's worker processes.

Every stage that decodes files (acquire, features, triage, augment) calls
`map_batches`: results come back in batch order, one progress bar counts
batches, and a single batch runs in this process. So the scheduler is chosen
in one place (a Dask backend later is a change here, not in four stages).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from joblib import Parallel, delayed

from dataprep.core import progress


def batches_of(items: Sequence, size: int) -> list[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def map_batches(fn: Callable[..., Any], items: Sequence, batch_size: int, n_jobs: int, description: str,
                *args: Any) -> Iterator[Any]:
    """`fn(batch, *args)` for each batch of `batch_size` items, in order, on up to `n_jobs`
    worker processes (`fn` must be importable: a module-level function)."""
    batches = batches_of(items, max(1, batch_size))
    if not batches:
        return iter(())
    runner = Parallel(n_jobs=max(1, min(n_jobs, len(batches))), return_as="generator")
    return progress.track(runner(delayed(fn)(b, *args) for b in batches), total=len(batches),
                          description=description)
