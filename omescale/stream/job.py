"""The job object of a pyramid write: one dask graph for small images, a stream of units else.

``write_pyramid(..., compute=False)`` returns a :class:`PyramidJob`. It is a dask ``Delayed``
either way (``dask.compute(job)``, ``client.compute(job)``): a small image's job is the one
graph of the whole write; a streamed job's graph is one task that runs the stream from where
it runs (a distributed worker submits the units through ``worker_client``). ``job.run()`` runs
either on the client, with a progress callback; ``job.plan`` is the arithmetic plan and
``job.units`` the streamed job's units, generated lazily.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import dask
from dask.delayed import Delayed

from omescale.stream.units import StreamPlan, Unit, iter_units, own_box, stage_units
from omescale.stream.window import WINDOW_FACTOR, memory_budget, run_window, runner_for

__all__ = ["Progress", "PyramidJob", "StreamJob", "UnitWork"]


@dataclass(frozen=True)
class Progress:
    """How far a streamed job is: units and bytes (of each stage's first level) done."""

    units_done: int
    units_total: int
    bytes_done: int
    bytes_total: int
    seconds: float

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (``None`` before the first byte)."""
        if not self.bytes_done:
            return None
        return self.seconds * (self.bytes_total - self.bytes_done) / self.bytes_done


class UnitWork(Protocol):
    """What a stream needs of the storage side (``omescale.ngff.streamed.StreamedWrite``)."""

    def graph(self, unit: Unit, only: Any = None) -> Any: ...

    def missing(self, unit: Unit) -> set[Any]: ...


class StreamJob:
    """Every unit of ``splan``, stage after stage, through a bounded window; then ``finish``.

    ``release`` runs when the job stops on a failure (the image stays marked incomplete and a
    resume finishes it); ``resume`` writes only the objects each unit is missing.
    """

    def __init__(self, splan: StreamPlan, work: UnitWork, *, resume: bool,
                 finish: Callable[[], None], release: Callable[[], None]) -> None:
        self.plan, self.work, self.resume = splan, work, resume
        self.finish, self.release = finish, release

    @property
    def units(self) -> Iterator[Unit]:
        """The units in stream order, generated lazily."""
        return iter_units(self.plan.stages)

    def unit_nbytes(self, unit: Unit) -> int:
        """Bytes of the stage's first level in ``unit``'s own box."""
        stage = self.plan.stages[unit.stage]
        box = own_box(self.plan.plan, stage, stage.first, unit)
        size = 1
        for lo, hi in box:
            size *= hi - lo
        return size * self.plan.plan.dtype.itemsize

    def _build(self, unit: Unit) -> Any:
        if not self.resume:
            return self.work.graph(unit)
        missing = self.work.missing(unit)
        return self.work.graph(unit, missing) if missing else None

    def run(self, client: Any = None, progress: Callable[[Progress], None] | None = None, *,
            retries: int = 2, window: int | None = None) -> int:
        """Run the stream on ``client`` (default: the current distributed client, else dask's
        local threads); return the number of storage objects written."""
        runner, budget = runner_for(client), memory_budget()
        plan, start = self.plan, time.perf_counter()
        totals = {"units": 0, "bytes": 0, "objects": 0}
        bytes_total = sum(plan.plan.nbytes(st.first) for st in plan.stages)

        def done(unit: Unit, value: Any) -> None:
            totals["units"] += 1
            totals["bytes"] += self.unit_nbytes(unit)
            totals["objects"] += int(value or 0)
            if progress is not None:
                progress(Progress(totals["units"], plan.units, totals["bytes"], bytes_total,
                                  time.perf_counter() - start))

        try:
            for s in range(len(plan.stages)):  # a stage reads what the stage before wrote
                at_once = runner.fit(plan.unit_memory(s), budget)
                run_window(stage_units(plan.stages, s), self._build, runner,
                           window=window or at_once * WINDOW_FACTOR, retries=retries,
                           done=done)
        except BaseException:
            self.release()
            raise
        finally:
            runner.close()
        self.finish()
        return totals["objects"]


def _run_inside(stream: StreamJob) -> int:
    """The one task of a streamed job computed as a Delayed: run the stream from here."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        return stream.run()
    with worker_client() as client:
        return stream.run(client=client)


class PyramidJob(Delayed):
    """A pending pyramid write (``compute=False``): a dask ``Delayed`` with ``.plan``,
    ``.run(client=None, progress=None)`` and, when streamed, ``.units``.

    Its value is the number of storage objects written.
    """

    def __init__(self, plan: StreamPlan, *, graph: Delayed | None = None,
                 stream: StreamJob | None = None,
                 release: Callable[[], None] | None = None) -> None:
        if (graph is None) == (stream is None):
            raise ValueError("a job is either one graph or a stream")
        if graph is None:
            key = "omescale-stream-" + uuid.uuid4().hex
            super().__init__(key, {key: (_run_inside, stream)})
        else:
            super().__init__(graph.key, graph.dask)
        self.plan, self.stream, self._release = plan, stream, release

    @property
    def streamed(self) -> bool:
        """Whether the job streams units (else it is one graph)."""
        return self.stream is not None

    @property
    def units(self) -> Iterator[Unit]:
        """The units of a streamed job in stream order (lazily); a one-graph job has none."""
        return self.stream.units if self.stream is not None else iter(())

    def run(self, client: Any = None, progress: Callable[[Progress], None] | None = None,
            **options: Any) -> int:
        """Run the job on ``client`` (a ``distributed.Client``) or dask's local scheduler."""
        if self.stream is not None:
            return self.stream.run(client, progress, **options)
        try:
            if client is not None:
                return int(client.compute(Delayed(self.key, self.dask)).result())
            return int(dask.compute(Delayed(self.key, self.dask))[0])
        finally:
            if self._release is not None:
                self._release()
