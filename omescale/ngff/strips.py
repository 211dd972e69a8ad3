"""Strips: pyramids written strip by strip, so memory does not grow with the image.

A level-k block needs a whole group of level-(k-1) blocks, and a halo method (resize, gaussian,
zoom) a few rows and columns of their neighbours too. Over a whole image, whatever order the
blocks run in keeps a front of partial work as long as the image is wide: the halo methods'
sweep (``omescale.lift.sweep``) holds one row of partial output blocks per level, and window
methods (local_mean, nearest, ...) left to dask's ordering held 108-114 chunks on an image 32
chunks wide against 13 at 16 chunks (sync scheduler). Here the image is cut along every
downsampled axis but the first into strips of ``omescale.strip-blocks`` storage blocks (default
8). Each strip is computed on its own window: the strip plus the cone its levels reach into the
neighbouring strips (empty for window methods), which is read again instead of being held.
Strips run one after another (gated like independent tiles, ``omescale.ngff.tiles``), so what
is held is about one row of one strip.

A strip must be whole storage blocks at every level it writes, and a level's block covers
twice as many base pixels per level, so a *stage* covers only the levels whose blocks fit in a
strip. The next stage reads its first level back from the store once the stage before has
written it all (a 2x2 pyramid re-reads 1/64 of the base after three levels), in strips again.
The values are those of the whole-image kernels: every window is computed with whole-image
coordinates (``omescale.lift.shifted``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import zarr
from dask.base import tokenize

from omescale.inputs.source import checked_source, from_zarr_array
from omescale.levels import level_kernels
from omescale.lift import lift_kernel
from omescale.lift.regions import chunk_offsets, cone_windows
from omescale.lift.shifted import ShiftedKernel
from omescale.lift.sweep import sweep_lag
from omescale.methods import Methods
from omescale.ngff.tasks import write_pieces
from omescale.ngff.tiles import gate_steps, window_reads
from omescale.plan import PyramidPlan

__all__ = ["STRIP_BLOCKS", "Stage", "plan_stages", "strip_writes", "window_grid"]

#: Default strip width in storage blocks of a stage's first level (``omescale.strip-blocks``).
STRIP_BLOCKS = 8

Range = tuple[int, int]


@dataclass(frozen=True)
class Stage:
    """Levels ``first + 1 .. last`` computed from level ``first``, in strips.

    ``size[a]`` is the strip width along strip axis ``a`` in pixels of level ``first``,
    ``count[a]`` the number of strips along it.
    """

    first: int
    last: int
    size: dict[int, int]
    count: dict[int, int]

    def index(self, strip: Sequence[int], axis: int) -> int:
        """Position of ``strip`` along strip axis ``axis``."""
        return strip[list(self.size).index(axis)]

    def strips(self) -> list[tuple[int, ...]]:
        return list(itertools.product(*(range(n) for n in self.count.values())))


def strip_axes(plan: PyramidPlan) -> tuple[int, ...]:
    """Downsampled axes but the first (that one is the sweep axis, or simply the rows)."""
    return plan.shrunk_axes[1:]


def strip_blocks() -> int:
    """Strip width in storage blocks: the ``omescale.strip-blocks`` dask setting, default 8."""
    return max(1, int(dask.config.get("omescale.strip-blocks", None) or STRIP_BLOCKS))


def plan_stages(
    plan: PyramidPlan, blocks: Sequence[Sequence[int]], width: int | None = None
) -> list[Stage] | None:
    """The stages of a strip-wise write, or ``None`` when strips are not needed (only one axis
    is downsampled, the image is one strip wide, laplacian's float chain) or do not fit."""
    if Methods(plan.method) == Methods.LAPLACIAN or len(plan.levels) < 2:
        return None
    axes = strip_axes(plan)
    if not axes:
        return None
    width = strip_blocks() if width is None else width
    levels = plan.levels
    stages, first = [], 0
    while first < len(levels) - 1:
        last, size = first, {}
        for k in range(first + 1, len(levels)):
            sizes = {}
            for a in axes:
                unit = math.lcm(*(blocks[j][a] * (levels[j].cumulative[a]
                                                  // levels[first].cumulative[a])
                                  for j in range(first, k + 1)))
                limit = width * blocks[first][a]
                if unit > limit:
                    break
                sizes[a] = limit // unit * unit
            else:
                last, size = k, sizes
                continue
            break
        if last == first:
            return None  # a strip cannot hold even one level's block: sweep whole levels
        count = {a: -(-levels[first].shape[a] // size[a]) for a in axes}
        stages.append(Stage(first, last, size, count))
        first = last
    if all(n == 1 for n in stages[0].count.values()):
        return None
    return stages


def _step(plan: PyramidPlan, stage: Stage, k: int, axis: int) -> int:
    """Strip width along ``axis`` in pixels of level ``k``."""
    ratio = plan.levels[k].cumulative[axis] // plan.levels[stage.first].cumulative[axis]
    return stage.size[axis] // ratio


def _proper(plan: PyramidPlan, stage: Stage, k: int, axis: int, m: int) -> Range:
    """Range of level ``k`` along ``axis`` that strip ``m`` of ``stage`` writes."""
    step = _step(plan, stage, k, axis)
    n = plan.levels[k].shape[axis]
    return m * step, (n if m == stage.count[axis] - 1 else min((m + 1) * step, n))


def _windows(plan: PyramidPlan, kernels, stage: Stage, strip: Sequence[int]) -> dict:
    """``windows[k]``: per axis, the range of level ``k`` the strip computes (its own part
    plus the cone later levels of the stage reach into its neighbours; whole along the axes
    that are not cut in strips)."""

    def own(k: int) -> list[Range]:
        return [(0, n) if a not in stage.size else
                _proper(plan, stage, k, a, stage.index(strip, a))
                for a, n in enumerate(plan.levels[k].shape)]

    return cone_windows(kernels, stage.first, stage.last, own)


def window_grid(window: Sequence[Range], block: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Chunks of a window cut at the storage grid of its level."""
    chunks = []
    for (lo, hi), c in zip(window, block, strict=True):
        cuts = [lo, *range((lo // c + 1) * c, hi, c), hi]
        chunks.append(tuple(b - a for a, b in itertools.pairwise(cuts)))
    return tuple(chunks)


def _own_pieces(
    plan: PyramidPlan, stage: Stage, strip: Sequence[int], k: int, window: Sequence[Range],
    chunks: tuple[tuple[int, ...], ...],
) -> list[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """``(block index in the window, region of level k)`` of every block of the strip's window
    of level ``k`` that lies in the strip's own part (the rest is the cone it shares with its
    neighbours, which write it themselves). The window is cut at the storage grid, and a
    strip's own part is whole storage objects, so each block is one object."""
    per_axis = []
    for a, ((lo, _), sizes) in enumerate(zip(window, chunks, strict=True)):
        own = _proper(plan, stage, k, a, stage.index(strip, a)) if a in stage.size else None
        cuts = chunk_offsets(sizes)
        per_axis.append([
            (j, slice(lo + c0, lo + c1)) for j, (c0, c1) in enumerate(itertools.pairwise(cuts))
            if own is None or own[0] <= lo + c0 < own[1]
        ])
    return [(tuple(j for j, _ in combo), tuple(r for _, r in combo))
            for combo in itertools.product(*per_axis)]


def _steps(stages: Sequence[Stage], tiles: Sequence[tuple[int, ...]]) -> dict:
    """Position of every (stage, independent tile, strip) step in the order they run."""
    order = ((s, tile, strip) for s, st in enumerate(stages) for tile in tiles
             for strip in st.strips())
    return {step: n for n, step in enumerate(order)}


def strip_writes(
    src: da.Array, plan: PyramidPlan, blocks: Sequence[Sequence[int]],
    arrays: Sequence[zarr.Array | None], stages: Sequence[Stage], tile_axes: Sequence[int],
) -> list[da.Array]:
    """The lazy write of a whole pyramid, strip by strip and stage by stage (one total count).

    ``src`` is omescale's own read of level 0 in blocks of ``blocks[0]``; the later stages read
    their first level from ``arrays``.
    """
    kernels = level_kernels(plan)
    lag = sweep_lag()
    # Blocks without a halo are chained in row order along the first downsampled axis too:
    # left to dask's ordering, a strip was read a column at a time (a column of chunks held).
    rows = plan.shrunk_axes[0]
    numblocks = [-(-n // c) for n, c in zip(plan.levels[0].shape, blocks[0], strict=True)]
    tiles = list(itertools.product(*(range(numblocks[a]) for a in tile_axes)))
    steps = _steps(stages, tiles)
    gate_name = "omescale-strip-gate-" + tokenize(
        src.name, blocks, [a.store_path for a in arrays if a is not None])
    counts: list[da.Array] = []
    step_of: list[Any] = []
    for s, stage in enumerate(stages):
        if s == 0:
            source = checked_source(src)
        else:  # a later stage reads back the level the one before it wrote
            stored = arrays[stage.first]
            assert stored is not None, "a later stage starts on a level this job writes"
            source = checked_source(from_zarr_array(stored, f"level {stage.first}"))
        for strip in stage.strips():
            windows = _windows(plan, kernels, stage, strip)

            def gate_of(tile, s=s, strip=strip):
                n = steps[s, tile, strip]
                return (gate_name, n - 1) if n else None

            name = "omescale-strip-read-" + tokenize(source, windows[stage.first], gate_name)
            window = window_reads(source, tuple(lo for lo, _ in windows[stage.first]),
                                  window_grid(windows[stage.first], blocks[stage.first]), tile_axes,
                                  gate_of, name)
            for k in range(stage.first, stage.last + 1):
                if k > stage.first:
                    prev = windows[k - 1]
                    kernel = ShiftedKernel(kernels[k], tuple(lo for lo, _ in prev),
                                           tuple(lo for lo, _ in windows[k]))
                    window = lift_kernel(
                        window, kernel, tuple(hi - lo for lo, hi in windows[k]),
                        window_grid(windows[k], blocks[k]), plan.dtype,
                        name=f"{plan.method}-{k}-strip", lag=lag, order_axis=rows)
                target = arrays[k]
                if (k > stage.first or k == 0) and target is not None:
                    # The strip's own blocks are written straight from the window's blocks.
                    pieces = _own_pieces(plan, stage, strip, k, windows[k], window.chunks)
                    tiles_of = [steps[s, tuple(r[a].start // blocks[k][a] for a in tile_axes),
                                      strip] for _, r in pieces]
                    name = f"omescale-write-{k}-" + tokenize(window.name, strip, gate_name)
                    counts.append(write_pieces(window, target, pieces, name))
                    step_of.append(lambda idx, table=tiles_of: table[idx[0]])
    return [gate_steps(counts, step_of, len(steps), gate_name)]
