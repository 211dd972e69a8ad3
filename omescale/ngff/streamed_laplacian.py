"""A streamed ``laplacian`` write: each unit computes its stage's band levels and float chain.

``laplacian`` stores band-pass levels (``omescale.levels``): level 0 is ``x - smooth(x)`` and
level ``k`` is ``laplacian_kernel(G_{k-1})``, where ``G_0 = x`` and ``G_k =
gaussian_kernel(G_{k-1})`` in float64, a chain that is never quantized and never a level. A
unit of a stage reads its window of ``G_first`` once (stage 0: the input itself), computes on
it the chain ``G_first+1 .. G_last`` over the window the stage's cone needs and the band
levels over its own boxes, with the whole-image kernels seen through the window (so every
value is the one-graph write's, bit for bit). A stage that is not the last also stores
``G_last`` in a scratch array (``omescale.ngff.scratch``), which the next stage reads back as
its ``G_first``; the job deletes the scratch before it marks the image whole.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import zarr
from dask.delayed import Delayed

from omescale.kernels import build
from omescale.lift import lift_kernel
from omescale.lift.shifted import ShiftedKernel
from omescale.lift.sweep import sweep_lag
from omescale.methods import Methods
from omescale.ngff.job import LevelLayout
from omescale.ngff.scratch import CHAIN_DTYPE, Chain, chain_path, open_chain
from omescale.ngff.streamed import (
    Box,
    ObjectId,
    StreamedWrite,
    Target,
    _gates,
    _sweep_axis,
)
from omescale.ngff.strips import window_grid
from omescale.plan import PyramidPlan
from omescale.stream.units import Stage, StreamPlan, Unit, own_box, unit_windows

__all__ = ["LaplacianWrite", "chain_levels", "streamed_work"]

Range = tuple[int, int]


@dataclass(frozen=True)
class _Either:
    """The reach of two kernels reading the same level (a band and the chain's next step)."""

    first: Any
    second: Any

    def reach(self, axis: int, o0: int, o1: int) -> Range:
        a, b = self.first.reach(axis, o0, o1), self.second.reach(axis, o0, o1)
        return min(a[0], b[0]), max(a[1], b[1])


def chain_levels(splan: StreamPlan) -> list[int]:
    """The levels ``k`` whose chain ``G_k`` is stored: the first level of every stage but the
    first (the stage before ends there and writes it)."""
    return [stage.first for stage in splan.stages[1:]]


def _starts(box: Box) -> tuple[int, ...]:
    return tuple(lo for lo, _ in box)


def _shape(box: Box) -> tuple[int, ...]:
    return tuple(hi - lo for lo, hi in box)


def _widened(window: Box, kernel: Any, box: Box) -> Box:
    """``window`` grown to hold what ``kernel`` reads for its outputs ``box``."""
    out = []
    for a, ((lo, hi), (o0, o1)) in enumerate(zip(window, box, strict=True)):
        r0, r1 = kernel.reach(a, o0, o1)
        out.append((min(lo, r0), max(hi, r1)))
    return tuple(out)


@dataclass
class LaplacianWrite(StreamedWrite):
    """The per-unit graphs of a streamed laplacian write; ``chain[k]`` is the scratch array
    of ``G_k`` for each level of :func:`chain_levels`."""

    chain: Mapping[int, zarr.Array] = field(default_factory=dict)
    steps: list[Any] = field(init=False)
    band0: Any = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        plan = self.splan.plan
        # steps[k]: G_{k-1} -> G_k, float64 (the one-graph write's gaussian chain).
        self.steps = [None] + [build.gaussian_kernel(prev.shape, lv.factors, CHAIN_DTYPE)
                               for prev, lv in itertools.pairwise(plan.levels)]
        first = plan.levels[1].factors if len(plan.levels) > 1 else (1,) * len(plan.axes)
        self.band0 = build.bandpass_kernel(plan.levels[0].shape, first, plan.dtype)

    @property
    def scratch(self) -> list[zarr.Array]:
        """The scratch arrays this job writes (the stored chain)."""
        return list(self.chain.values())

    def _stored_chain(self, stage: int) -> int | None:
        """The level whose chain the units of ``stage`` store (``None``: the last stage)."""
        return self.splan.stages[stage].last if stage + 1 < len(self.splan.stages) else None

    def targets(self, stage: int) -> list[Target]:
        """The levels the units of ``stage`` write, and the chain they store for the next."""
        stored = self._stored_chain(stage)
        return [*super().targets(stage), *(() if stored is None else (Chain(stored),))]

    def _array(self, target: Target) -> zarr.Array:
        if isinstance(target, Chain):
            return self.chain[target.level]
        return super()._array(target)

    def _stored(self, level: int) -> tuple[zarr.Array, str]:
        return self.chain[level], f"laplacian chain G_{level} ({chain_path(level)})"

    def _windows(self, stage: Stage, unit: Unit) -> dict[int, Box]:
        """Per level, the range the unit computes: the cone of both the bands and the chain
        (computed backwards from the last level), and at level 0 also what the band-pass of
        its own box of level 0 reads."""
        plan = self.splan.plan
        either = [None] + [_Either(b, g) for b, g in zip(self.kernels[1:], self.steps[1:],
                                                          strict=True)]
        windows = unit_windows(plan, either, stage, unit)
        if 0 in self.splan.written(unit.stage):
            windows[0] = _widened(windows[0], self.band0, own_box(plan, stage, 0, unit))
        return windows

    def _lift(self, x: da.Array, kernel: Any, window: Box, out: Box, level: int, dtype: Any,
              name: str, lag: int | None, marks: dict[int, Any] | None = None) -> da.Array:
        """``kernel`` over ``x`` (a window ``window`` of the level before) to the range ``out``
        of level ``level``, in that level's storage chunks; halo kernels sweep with ``lag``."""
        grid = window_grid(out, self.splan.plan.levels[level].chunks)
        return lift_kernel(x, ShiftedKernel(kernel, _starts(window), _starts(out)), _shape(out),
                           grid, dtype, name=f"{name}-{level}", lag=lag, marks=marks)

    def graph(self, unit: Unit, only: set[ObjectId] | None = None) -> Delayed:
        """One Delayed computing ``unit`` (band levels and chain) and writing its objects
        (``only`` those, if given); its value is the number of objects written."""
        plan, stage = self.splan.plan, self.splan.stages[unit.stage]
        first, last, stored = stage.first, stage.last, self._stored_chain(unit.stage)
        windows, token = self._windows(stage, unit), uuid.uuid4().hex
        boxes = {k: own_box(plan, stage, k, unit) for k in range(first, last + 1)}
        lag = None if only is not None else sweep_lag()
        chained = {k for k in range(first + 1, last + 1) if k < last or k == stored}
        grid = window_grid(windows[first], plan.levels[first].chunks)
        axis = None
        if only is None and last > first:  # the sweep the reads are gated on: the widest one
            kernels = self.steps if first + 1 in chained else self.kernels
            out = windows[first + 1] if first + 1 in chained else boxes[first + 1]
            axis = _sweep_axis(ShiftedKernel(kernels[first + 1], _starts(windows[first]),
                                             _starts(out)), out,
                               plan.levels[first + 1].chunks, grid)
        g, gated = self._read(first, windows[first], tuple(plan.levels[first].chunks), token,
                              axis)
        parts: list[tuple[Target, da.Array, Box]] = []
        marks: dict[int, Any] = {}
        if first in self.splan.written(unit.stage):  # level 0: the band-pass of the input
            band = self._lift(g, self.band0, windows[0], boxes[0], 0, plan.dtype,
                              f"omescale-unit-band-{token}", lag)
            parts.append((0, self._part(0, band, boxes[0], boxes[0]), boxes[0]))
        for k in range(first + 1, last + 1):
            lead = k == first + 1
            band = self._lift(g, self.kernels[k], windows[k - 1], boxes[k], k, plan.dtype,
                              f"omescale-unit-band-{token}", lag,
                              marks if lead and k not in chained else None)
            parts.append((k, self._part(k, band, boxes[k], boxes[k]), boxes[k]))
            if k in chained:
                g = self._lift(g, self.steps[k], windows[k - 1], windows[k], k, CHAIN_DTYPE,
                               f"omescale-unit-chain-{token}", lag,
                               marks if lead else None)
        if stored is not None:
            parts.append((Chain(stored), self._part(Chain(stored), g, windows[stored],
                                                    boxes[stored]), boxes[stored]))
        return self._writes(parts, only, token, _gates(token, grid, axis if gated else None,
                                                       marks))


def streamed_work(splan: StreamPlan, source: da.Array, arrays: Sequence[zarr.Array | None],
                  group: zarr.Group, layouts: Sequence[LevelLayout], *, resume: bool,
                  where: str) -> StreamedWrite:
    """The unit work of a streamed write of ``splan``: a laplacian write also opens (on resume:
    reopens) the scratch arrays of its chain in ``group``."""
    plan: PyramidPlan = splan.plan
    if Methods(plan.method) != Methods.LAPLACIAN:
        return StreamedWrite(splan, source, arrays)
    chain = open_chain(group, plan, layouts, chain_levels(splan), resume=resume, where=where)
    return LaplacianWrite(splan, source, arrays, chain)
