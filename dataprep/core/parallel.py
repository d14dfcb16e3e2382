"""One way to fan work out: consecutive batches of items through worker processes.

Every stage that decodes files (acquire, features, triage, augment) calls
`map_batches`: results come back in batch order, one progress bar counts
batches, and a single batch runs in this process. The scheduler is chosen here
and nowhere else:
- by default, joblib's worker processes on this machine (`n_jobs`), once they
  pay: the first batch runs in this process, timed, and the rest stay here
  when they would take less than starting the workers costs (`SPAWN_S`; a
  digits-sized project's stages spent more time starting workers than working);
- with a Dask scheduler address (`compute.scheduler` in params.yaml, set by the
  face through `use`, or `DATAPREP_SCHEDULER`, which wins), each batch is a task
  on that `dask.distributed` cluster. The batch and the function are the same,
  so the outputs are too. The workers need dataprep installed and must see the
  project's files at the same paths (shared storage).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterator, Sequence

from joblib import Parallel, delayed

from dataprep.core import progress
from dataprep.core.errors import UserError

ENV = "DATAPREP_SCHEDULER"
_configured: str | None = None
_clients: dict[str, Any] = {}


def use(address: str | None) -> None:
    """The scheduler the params name (`compute.scheduler`); DATAPREP_SCHEDULER still wins."""
    global _configured
    _configured = address or None


def scheduler() -> str | None:
    return os.environ.get(ENV) or _configured


def client(address: str):
    """A `distributed.Client` connected to `address`, one per process and address."""
    if address not in _clients:
        try:
            from distributed import Client
        except ImportError:
            raise UserError(f"compute.scheduler {address}: needs dask.distributed (pip install 'dataprep[cluster]')") from None
        try:
            _clients[address] = Client(address, timeout="15s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(f"compute.scheduler {address}: cannot reach the Dask scheduler ({exc})") from None
    return _clients[address]


SPAWN_S = 2.5      # seconds joblib's worker processes take to start here (loky, measured 2.5-3 s)


def batches_of(items: Sequence, size: int) -> list[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _in_order(c, fn, batches: list, shared: list) -> Iterator[Any]:
    """Each batch's result, in order, with at most twice the cluster's threads of batches
    submitted and not yet taken: a result is released on the worker as soon as it is taken,
    so a slow consumer (a stage writing rows to disk) never piles the pool up on the workers."""
    window = max(4, 2 * sum(c.nthreads().values()))
    pending = [c.submit(fn, b, *shared, pure=False) for b in batches[:window]]
    for i in range(len(batches)):
        if i + window < len(batches):
            pending.append(c.submit(fn, batches[i + window], *shared, pure=False))
        future = pending.pop(0)
        result = future.result()
        del future
        yield result


def map_batches(fn: Callable[..., Any], items: Sequence, batch_size: int, n_jobs: int, description: str,
                *args: Any) -> Iterator[Any]:
    """`fn(batch, *args)` for each batch of `batch_size` items, in order, on up to `n_jobs`
    worker processes, or as tasks on the Dask cluster `scheduler()` names (`fn` must be
    importable: a module-level function)."""
    batches = batches_of(items, max(1, batch_size))
    if not batches:
        return iter(())
    address = scheduler()
    if address:
        c = client(address)
        shared = c.scatter(list(args), broadcast=True, hash=False) if args else []   # fresh keys: never one being released
        return progress.track(_in_order(c, fn, batches, shared), total=len(batches),
                              description=f"{description} (cluster {address})")
    return progress.track(_here_or_workers(fn, batches, args, n_jobs), total=len(batches), description=description)


def _here_or_workers(fn: Callable[..., Any], batches: list, args: tuple, n_jobs: int) -> Iterator[Any]:
    """The first batch here, timed; the rest here too unless, by that time, they would take longer
    than starting `n_jobs` workers and sharing the rest among them."""
    start = time.perf_counter()
    first = fn(batches[0], *args)
    serial = (time.perf_counter() - start) * (len(batches) - 1)     # the batch alone, not what the caller does with it
    yield first
    del first
    rest, jobs = batches[1:], max(1, min(n_jobs, len(batches) - 1))
    if jobs == 1 or serial < SPAWN_S + serial / jobs:
        for b in rest:
            yield fn(b, *args)
        return
    yield from Parallel(n_jobs=jobs, return_as="generator")(delayed(fn)(b, *args) for b in rest)
