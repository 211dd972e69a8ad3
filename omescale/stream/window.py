"""A bounded window of work units in flight on the active scheduler.

Units are built (their small graphs) only when a slot frees, so what the client and the
scheduler hold is the window, never the image. Two runners share one loop:

- :class:`LocalRunner`: dask's local schedulers. As many units compute at once as their
  working set (``StreamPlan.unit_memory``) fits the memory budget (``omescale.memory-budget``,
  default :data:`MEMORY_BUDGET`), at most ``threads`` and at least one. When ``threads``
  fit, each unit's graph runs on dask's synchronous scheduler in one thread of a pool of
  ``threads`` (the kernels and codecs release the GIL); when fewer fit, those few share the
  threads: each runs on dask's threaded scheduler over one pool of ``threads`` workers. So
  every thread works, and memory follows the budget, not units x threads.
- :class:`ClientRunner`: a ``distributed.Client``: one task per unit (``client.submit``), in
  which a worker runs the unit's graph on the synchronous scheduler, as a local thread does.
  The unit's blocks never travel between workers (computed as a graph on the cluster, the
  level-0 blocks of one level-1 block landed on both workers of a LocalCluster and half the
  base was sent between them), and the scheduler holds one task per unit in the window.

A unit that fails is rebuilt and resubmitted up to ``retries`` times; after that no new unit
is submitted, those in flight are let finish, and the unit's error is raised (everything
written so far stays, and a resume finishes the rest).
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import dask
import dask.base

__all__ = ["MEMORY_BUDGET", "WINDOW_FACTOR", "ClientRunner", "LocalRunner", "Runner",
           "client_threads", "current_client", "memory_budget", "run_window", "runner_for",
           "units_at_once"]

#: Units in flight per unit computing (one computing, one built and waiting).
WINDOW_FACTOR = 2

#: Default bytes that the units computing at once on local threads may hold together
#: (``omescale.memory-budget``).
MEMORY_BUDGET = 2 * 2**30

T = TypeVar("T")


def memory_budget() -> int:
    """The ``omescale.memory-budget`` dask setting (bytes), default :data:`MEMORY_BUDGET`."""
    return max(1, int(dask.config.get("omescale.memory-budget", None) or MEMORY_BUDGET))


def units_at_once(threads: int, unit_memory: int, budget: int) -> int:
    """Units of ``unit_memory`` bytes each that compute at once within ``budget``: at most
    ``threads``, at least one (a unit larger than the budget still runs, alone)."""
    return max(1, min(threads, budget // max(1, unit_memory)))


class Runner(Protocol):
    """Where units run: ``threads`` slots, ``submit`` a dask collection, ``wait`` for some;
    ``fit`` sets how many units of a stage compute at once and returns it."""

    threads: int

    def fit(self, unit_memory: int, budget: int) -> int: ...

    def submit(self, collection: Any) -> Any: ...

    def wait(self, futures: set[Any]) -> set[Any]: ...

    def close(self) -> None: ...


def _compute_sync(collection: Any) -> Any:
    return dask.compute(collection, scheduler="sync")[0]


class LocalRunner:
    """Units computed on local threads: ``threads`` units at once, each on dask's synchronous
    scheduler, or fewer (``fit``) sharing the threads on dask's threaded scheduler."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = max(1, threads or dask.config.get("num_workers", None)
                           or os.cpu_count() or 1)
        self._pool = concurrent.futures.ThreadPoolExecutor(self.threads,
                                                           thread_name_prefix="omescale-unit")
        self._shared: concurrent.futures.ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(self.threads)
        self.at_once = self.threads

    def fit(self, unit_memory: int, budget: int) -> int:
        """Let as many units compute at once as fit ``budget``; call between stages only."""
        self.at_once = units_at_once(self.threads, unit_memory, budget)
        self._slots = threading.BoundedSemaphore(self.at_once)
        if self.at_once < self.threads and self._shared is None:
            self._shared = concurrent.futures.ThreadPoolExecutor(
                self.threads, thread_name_prefix="omescale-unit-task")
        return self.at_once

    def _compute(self, collection: Any, slots: threading.BoundedSemaphore,
                 shared: concurrent.futures.ThreadPoolExecutor | None) -> Any:
        with slots:  # a unit submitted beyond the slots waits here holding its graph only
            if shared is None:
                return _compute_sync(collection)
            return dask.compute(collection, scheduler="threads", pool=shared)[0]

    def submit(self, collection: Any) -> concurrent.futures.Future:
        shared = self._shared if self.at_once < self.threads else None
        return self._pool.submit(self._compute, collection, self._slots, shared)

    def wait(self, futures: set[Any]) -> set[Any]:
        done, _ = concurrent.futures.wait(futures, return_when="FIRST_COMPLETED")
        return set(done)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._shared is not None:
            self._shared.shutdown(wait=True)


class _Carried:
    """A unit's dask collection carried as a plain argument (``client.submit`` must ship the
    graph to one worker, not compute it on the cluster)."""

    __slots__ = ("collection",)

    def __init__(self, collection: Any) -> None:
        self.collection = collection


def _compute_unit(carried: _Carried) -> Any:
    return _compute_sync(carried.collection)


class ClientRunner:
    """Units computed on a ``distributed.Client``'s workers, one task per unit: a worker runs
    the unit's whole graph on dask's synchronous scheduler, so its blocks never travel
    between workers and the scheduler sees one task per unit."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.threads = max(1, sum(client.nthreads().values()))

    def fit(self, unit_memory: int, budget: int) -> int:
        """One unit per worker thread: each worker's own memory limit governs it."""
        del unit_memory, budget
        return self.threads

    def submit(self, collection: Any) -> Any:
        return self.client.submit(_compute_unit, _Carried(collection), pure=False,
                                  key=f"omescale-unit-run-{uuid.uuid4().hex}")

    def wait(self, futures: set[Any]) -> set[Any]:
        from distributed import wait

        wait(list(futures), return_when="FIRST_COMPLETED")
        return {f for f in futures if f.done()}

    def close(self) -> None:
        return None


def current_client() -> Any | None:
    """The ``distributed`` client dask would compute on (the default client, or
    ``scheduler="dask.distributed"``); ``None`` for dask's local schedulers."""
    owner = getattr(dask.base.get_scheduler(), "__self__", None)
    if type(owner).__name__ == "Client" and hasattr(owner, "nthreads"):
        return owner
    return None


def client_threads() -> int | None:
    """Worker threads of :func:`current_client`; ``None`` without one, for an asynchronous
    client (its answer would be an awaitable) or while it has no workers."""
    client = current_client()
    if client is None or getattr(client, "asynchronous", False):
        return None
    return sum(client.nthreads().values()) or None


def runner_for(client: Any = None) -> Runner:
    """``client``'s runner; else the scheduler dask would use: a ``distributed`` client's
    (the default client, or ``scheduler="dask.distributed"``), else a local one (threads
    from dask's ``num_workers`` setting or the CPU count; ``processes`` runs threads too)."""
    client = current_client() if client is None else client
    return LocalRunner() if client is None else ClientRunner(client)


def _result(future: Any) -> Any:
    return future.result()


def _release(future: Any) -> None:
    """Let a finished unit go now: a ``distributed`` future tells the scheduler to forget its
    task before the next unit is submitted (on the same ordered channel), so the scheduler
    holds the window's tasks, not those of units waiting for garbage collection."""
    release = getattr(future, "release", None)
    if callable(release):
        release()


def run_window(
    units: Iterable[T], build: Callable[[T], Any | None], runner: Runner, *,
    window: int, retries: int, done: Callable[[T, Any], None],
) -> None:
    """Run ``build(unit)`` (a dask collection, or ``None`` for nothing to do) for every unit
    with at most ``window`` in flight; ``done(unit, value)`` as each finishes."""
    flight: dict[Any, tuple[T, int]] = {}
    failure: BaseException | None = None
    source = iter(units)
    while True:
        while failure is None and len(flight) < window:
            unit = next(source, None)
            if unit is None:
                break
            pending = build(unit)
            if pending is None:
                done(unit, None)
                continue
            flight[runner.submit(pending)] = (unit, 0)
        if not flight:
            break
        for future in runner.wait(set(flight)):
            unit, tries = flight.pop(future)
            try:
                value = _result(future)
            except Exception as exc:  # the unit failed: rebuild it, or stop
                _release(future)
                if tries < retries and failure is None:
                    again = build(unit)
                    if again is None:
                        done(unit, None)
                    else:
                        flight[runner.submit(again)] = (unit, tries + 1)
                    continue
                if failure is None:
                    exc.add_note(f"omescale: work unit {unit} failed {tries + 1} times; the "
                                 "job stopped, resume=True finishes it")
                    failure = exc
                continue
            _release(future)
            done(unit, value)
    if failure is not None:
        raise failure
