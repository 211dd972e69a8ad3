"""Work units of a streamed pyramid write, computed arithmetically and generated lazily.

A *stage* computes levels ``first + 1 .. last`` from level ``first`` (stage 0 of a new image
also copies level 0, the input; when levels are added to a stored image, stage 0 reads its
stored level 0 and writes none of it). Its *units* tile level ``first`` in boxes of ``size``
pixels, a multiple along every axis of the storage object (shard or chunk) of every level of the
stage, scaled to level ``first``: a unit therefore writes whole storage objects of each of its
levels (only the image's far edge clips them), and no two units write the same object. A unit
computes its levels from one read of its window of level ``first``: its own box plus the cone
that the stage's kernels reach into its neighbours (nothing for window methods; a few pixels per
level for halo methods, which are read again by the neighbour). Levels whose storage object
would make a unit larger than the unit budget start a new stage, which reads its first level
back from the store once the stage before has written it (the streamed form of
``omescale.ngff.strips``' stages).

Everything here is arithmetic on the plan: the number of units, objects and bytes never needs
the units themselves, and :func:`iter_units` yields them one at a time in stream order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dask

from omescale.levels import level_kernels
from omescale.lift.regions import cone_windows
from omescale.methods import Methods
from omescale.plan import PyramidPlan

__all__ = ["UNIT_BYTES", "Stage", "StreamPlan", "Unit", "iter_units", "own_box", "own_range",
           "plan_stages", "stage_units", "stream_plan", "unit_bytes", "unit_windows"]

#: Default budget of one unit's box of level ``first``, in bytes (``omescale.unit-bytes``).
UNIT_BYTES = 256 * 2**20

Range = tuple[int, int]


@dataclass(frozen=True)
class Stage:
    """Levels ``first + 1 .. last`` computed from level ``first`` in units of ``size`` pixels
    of level ``first`` (one entry per axis); ``count`` units along each axis."""

    first: int
    last: int
    size: tuple[int, ...]
    count: tuple[int, ...]

    @property
    def units(self) -> int:
        """Number of units of this stage."""
        return math.prod(self.count)


@dataclass(frozen=True)
class Unit:
    """Unit ``index`` (one integer per axis) of stage ``stage``."""

    stage: int
    index: tuple[int, ...]


def unit_bytes() -> int:
    """The unit budget: the ``omescale.unit-bytes`` dask setting, default :data:`UNIT_BYTES`."""
    return max(1, int(dask.config.get("omescale.unit-bytes", None) or UNIT_BYTES))


def _ratio(plan: PyramidPlan, k: int, first: int, axis: int) -> int:
    return plan.levels[k].cumulative[axis] // plan.levels[first].cumulative[axis]


def _box(plan: PyramidPlan, blocks: Sequence[Sequence[int]], first: int, last: int):
    """Smallest unit of level ``first`` whole in storage objects of levels first..last."""
    return tuple(
        math.lcm(*(blocks[j][a] * _ratio(plan, j, first, a) for j in range(first, last + 1)))
        for a in range(len(plan.axes))
    )


def _nbytes(plan: PyramidPlan, first: int, size: Sequence[int]) -> int:
    shape = plan.levels[first].shape
    return math.prod(min(s, n) for s, n in zip(size, shape, strict=True)) * plan.dtype.itemsize


def _held(plan: PyramidPlan, first: int, size: Sequence[int]) -> int:
    """Bytes of a unit's box ``size`` of level ``first`` as the unit reads it: in the output
    dtype, but a laplacian stage after the first reads the float64 Gaussian chain back
    (``omescale.ngff.scratch``)."""
    n = _nbytes(plan, first, size)
    if first > 0 and Methods(plan.method) == Methods.LAPLACIAN:
        return n * 8 // plan.dtype.itemsize
    return n


def plan_stages(
    plan: PyramidPlan, blocks: Sequence[Sequence[int]], budget: int | None = None,
    start: int = 0,
) -> tuple[Stage, ...]:
    """The stages of a streamed write of ``plan`` with storage objects ``blocks[k]``, the
    first one computing from level ``start`` (0, or the last level already stored when levels
    are added to an existing image).

    Each stage takes as many levels as fit a unit within ``budget`` bytes of level ``first``
    (as the unit reads it: :func:`_held`), and at least one; the unit is the smallest box
    whole in every one of its levels' objects, then widened by whole boxes within the budget
    (:func:`_widen`).
    """
    budget = unit_bytes() if budget is None else budget
    levels, stages, first = plan.levels, [], start
    kernels = level_kernels(plan)
    if len(levels) == start + 1:
        size = tuple(blocks[start])
        return (Stage(start, start, size, _count(levels[start].shape, size)),)
    while first < len(levels) - 1:
        last = first + 1
        while last + 1 < len(levels) and _held(plan, first, _box(plan, blocks, first,
                                                                 last + 1)) <= budget:
            last += 1
        box = _box(plan, blocks, first, last)
        size = _widen(plan, first, box, budget, _reaching_axes(plan, kernels, first, last, box))
        stages.append(Stage(first, last, size, _count(levels[first].shape, size)))
        first = last
    return tuple(stages)


def _reaching_axes(plan: PyramidPlan, kernels: Sequence[Any], first: int, last: int,
                   box: Sequence[int]) -> list[int]:
    """Axes along which a unit of ``box`` (levels ``first + 1 .. last``) reads past its own
    box of level ``first`` (a halo), at any of its borders along that axis."""
    trial = Stage(first, last, tuple(box), _count(plan.levels[first].shape, box))
    axes = []
    for a in range(len(plan.axes)):
        for m in range(trial.count[a]):
            index = tuple(m if b == a else 0 for b in range(len(plan.axes)))
            window = unit_windows(plan, kernels, trial, Unit(0, index))[first][a]
            if window != own_range(plan, trial, first, a, m):
                axes.append(a)
                break
    return axes


def _widen(plan: PyramidPlan, first: int, box: Sequence[int], budget: int,
           axes: Sequence[int]) -> tuple[int, ...]:
    """``box`` grown by whole multiples along the last of ``axes``, then the one before, ...
    while the unit stays within ``budget`` bytes of level ``first`` (units of one axis even).

    Along an axis that a kernel reaches across, a unit reads its neighbours' border chunks
    again (zarr decodes whole chunks): the wider the unit, the fewer borders. On the 2 GiB
    64x4096x4096 volume in 16x512x512 chunks a resize unit of 16x2048x2048 read 25 chunks for
    its 16; at 16x2048x4096, 20 for 16. Other axes are not widened (nothing is read twice
    there, and more units keep more threads busy).
    """
    shape, size = plan.levels[first].shape, list(box)
    for a in reversed(axes):
        count = -(-shape[a] // size[a])
        if count == 1:
            continue
        across = _held(plan, first, size) // min(size[a], shape[a])
        most = budget // (across * size[a])
        if most < 2:
            break
        size[a] *= -(-count // -(-count // most))
    return tuple(size)


def _count(shape: Sequence[int], size: Sequence[int]) -> tuple[int, ...]:
    return tuple(-(-n // s) for n, s in zip(shape, size, strict=True))


def stage_units(stages: Sequence[Stage], s: int) -> Iterator[Unit]:
    """The units of stage ``s`` in row-major order (lazily)."""
    for index in itertools.product(*(range(n) for n in stages[s].count)):
        yield Unit(s, tuple(index))


def iter_units(stages: Sequence[Stage]) -> Iterator[Unit]:
    """Every unit, stage after stage, each stage in row-major order (lazily)."""
    for s in range(len(stages)):
        yield from stage_units(stages, s)


def own_range(plan: PyramidPlan, stage: Stage, k: int, axis: int, m: int) -> Range:
    """Range of level ``k`` along ``axis`` that unit ``m`` (along that axis) writes."""
    step = stage.size[axis] // _ratio(plan, k, stage.first, axis)
    n = plan.levels[k].shape[axis]
    return min(m * step, n), min((m + 1) * step, n)


def unit_windows(
    plan: PyramidPlan, kernels: Sequence[Any], stage: Stage, unit: Unit
) -> dict[int, tuple[Range, ...]]:
    """``windows[k]``: per axis, the range of level ``k`` the unit computes (its own part
    plus the cone that later levels of the stage reach into its neighbours)."""
    return cone_windows(kernels, stage.first, stage.last,
                        lambda k: own_box(plan, stage, k, unit))


def own_box(plan: PyramidPlan, stage: Stage, k: int, unit: Unit) -> tuple[Range, ...]:
    """The box of level ``k`` that ``unit`` writes."""
    return tuple(own_range(plan, stage, k, a, m) for a, m in enumerate(unit.index))


@dataclass(frozen=True)
class StreamPlan:
    """A pyramid plan, its storage objects and its units: what a dry run prints.

    ``blocks[k]`` is the storage object (shard, else chunk) of level ``k``; levels ``first``
    onwards are written (``first`` is 1 when levels are added to a stored level 0, which the
    first stage reads). Small whatever the image: every figure is computed from the shapes,
    none by enumerating.
    """

    plan: PyramidPlan
    blocks: tuple[tuple[int, ...], ...]
    stages: tuple[Stage, ...]
    first: int = 0

    def objects(self, k: int) -> int:
        """Storage objects of level ``k``."""
        return math.prod(_count(self.plan.levels[k].shape, self.blocks[k]))

    @property
    def total_objects(self) -> int:
        """Storage objects written (levels ``first`` onwards)."""
        return sum(self.objects(k) for k in range(self.first, len(self.plan.levels)))

    def written(self, stage: int) -> range:
        """The levels whose objects the units of ``stage`` write: ``first + 1 .. last``, and
        the stage's first level too when it is the input copied as level 0."""
        st = self.stages[stage]
        copied = st.first == 0 and self.first == 0
        return range(st.first if copied else st.first + 1, st.last + 1)

    @property
    def units(self) -> int:
        """Units of all stages."""
        return sum(stage.units for stage in self.stages)

    def unit_nbytes(self, stage: int) -> int:
        """Bytes of level ``first`` in one whole unit of ``stage`` (halo not counted)."""
        st = self.stages[stage]
        return _nbytes(self.plan, st.first, st.size)

    def unit_memory(self, stage: int) -> int:
        """Bytes one whole unit of ``stage`` may hold at once (its working set).

        Its box of level ``first`` (read once, each block kept until the blocks of the next
        level it feeds are computed), its box of every later level of the stage (computed
        blocks wait until their storage object is whole) and one more copy of the largest
        object it writes (an object joined from its blocks while it is written); halos and
        kernel temporaries, a few pixels and one block per thread, are not counted. A
        laplacian unit also holds the float64 Gaussian chain beside each level's band.
        """
        st = self.stages[stage]
        boxes = sum(_nbytes(self.plan, k, [-(-n // _ratio(self.plan, k, st.first, a))
                                           for a, n in enumerate(st.size)])
                    for k in range(st.first, st.last + 1))
        if Methods(self.plan.method) == Methods.LAPLACIAN:
            boxes += boxes * 8 // self.plan.dtype.itemsize
        return boxes + max(_nbytes(self.plan, k, self.blocks[k]) for k in self.written(stage))

    def objects_per_unit(self, stage: int) -> int:
        """Storage objects one whole unit of ``stage`` writes (at most)."""
        st = self.stages[stage]
        return sum(math.prod(-(-st.size[a] // _ratio(self.plan, k, st.first, a))
                             // self.blocks[k][a] for a in range(len(st.size)))
                   for k in self.written(stage))


def stream_plan(
    plan: PyramidPlan, blocks: Sequence[Sequence[int]], budget: int | None = None,
    first: int = 0,
) -> StreamPlan:
    """The :class:`StreamPlan` of ``plan`` stored in objects ``blocks``, writing levels
    ``first`` onwards (the first stage computes from level ``first - 1`` when ``first > 0``)."""
    objects = tuple(tuple(int(b) for b in bl) for bl in blocks)
    return StreamPlan(plan, objects, plan_stages(plan, objects, budget, max(first - 1, 0)),
                      first)
