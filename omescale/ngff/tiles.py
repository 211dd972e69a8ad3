"""Independent tiles written one after another, inside one graph.

Axes that no level downsamples and no kernel reaches across (channels, time, and z when only y
and x shrink) cut the image into tiles whose pyramids share nothing. Left to itself, dask's
ordering interleaves the tiles and holds the partial work of all of them at once (measured on
a 4-slab volume: 118 blocks held instead of 80 for one slab, see docs/decisions.md). Here the
reads of tile ``p`` wait on a gate task that depends on every write of tile ``p - 1``, so one
tile is in flight at a time while each tile still offers many independent blocks.

Only inputs read by omescale itself (zarr, OME-Zarr, TIFF, ``.npy``) are gated: a gate can hold
back a read task it builds, not an arbitrary upstream dask graph.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize

from omescale._internals import normalize_chunks
from omescale.api import level_kernel
from omescale.lift.layers import new_layer
from omescale.lift.regions import chunk_offsets
from omescale.methods import Methods
from omescale.plan import PyramidPlan

__all__ = ["gate_steps", "gate_total", "gated_reads", "read_after", "tile_axes", "window_reads"]


def _independent(plan: PyramidPlan, blocks: Sequence[Sequence[int]], axis: int) -> bool:
    """True when no level shrinks ``axis`` and no kernel reaches across its blocks."""
    if axis in plan.shrunk_axes:
        return False
    if any(b[axis] != blocks[0][axis] for b in blocks):
        return False
    n, step = plan.levels[0].shape[axis], blocks[0][axis]
    ranges = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
    for prev, lv in itertools.pairwise(plan.levels):
        kernel = level_kernel(plan.method, prev.shape, lv.factors, plan.dtype, plan.order)
        if any(tuple(kernel.reach(axis, lo, hi)) != (lo, hi) for lo, hi in ranges):
            return False
    return True


def tile_axes(plan: PyramidPlan, blocks: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """Axes along which the pyramid splits into independent tiles (empty: no tiling)."""
    if Methods(plan.method) == Methods.LAPLACIAN or len(plan.levels) < 2:
        return ()
    shape = plan.levels[0].shape
    # Only axes before the first downsampled one: blocks are chained along the first axis a
    # kernel reaches across (omescale.lift.sweep), and that chain must not cross a tile.
    first_shrunk = plan.shrunk_axes[0] if plan.shrunk_axes else len(shape)
    return tuple(
        a for a in range(first_shrunk)
        if -(-shape[a] // blocks[0][a]) > 1 and _independent(plan, blocks, a)
    )


def read_after(source: Any, region: tuple[slice, ...], gate: Any) -> np.ndarray:
    """Read one block; ``gate`` is only there to order this task after the previous tile."""
    del gate
    return source[region]


def _tiles(numblocks: Sequence[int], axes: Sequence[int]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(numblocks[a]) for a in axes)))


def window_reads(
    source: Any, starts: Sequence[int], chunks: tuple[tuple[int, ...], ...],
    axes: Sequence[int], gate_of: Callable[[tuple[int, ...]], Any], name: str,
) -> da.Array:
    """``source`` read from ``starts`` on, in blocks of ``chunks``; the read of a block waits
    for the key ``gate_of(tile)`` (its index on ``axes``), none when that is ``None``.

    The gate keys are added later by :func:`gate_steps` (the graph is only complete then).
    """
    layer = {}
    edges = [chunk_offsets(c) for c in chunks]
    for idx in itertools.product(*(range(len(c)) for c in chunks)):
        region = tuple(slice(e[i] + s, e[i + 1] + s)
                       for e, i, s in zip(edges, idx, starts, strict=True))
        layer[(name, *idx)] = (read_after, source, region, gate_of(tuple(idx[a] for a in axes)))
    graph = new_layer(name, layer)
    return da.Array(graph, name, chunks=chunks, dtype=source.dtype,
                    meta=np.empty((0,) * len(chunks), dtype=source.dtype))


def gated_reads(
    source: Any, chunks: Sequence[int], axes: Sequence[int], gate_name: str
) -> da.Array:
    """Level 0 read from ``source`` in blocks of ``chunks``; tile ``p``'s reads need gate p-1."""
    normal = normalize_chunks(tuple(chunks), source.shape)
    order = {tile: p for p, tile in enumerate(_tiles([len(c) for c in normal], axes))}

    def gate_of(tile: tuple[int, ...]) -> Any:
        return (gate_name, order[tile] - 1) if order[tile] else None

    name = "omescale-gated-read-" + tokenize(source, normal, axes)
    return window_reads(source, (0,) * len(normal), normal, axes, gate_of, name)


def _add(*counts: np.ndarray) -> np.ndarray:
    return np.array([sum(int(np.sum(c)) for c in counts)], dtype=np.int64)


def gate_steps(
    counts: Sequence[da.Array], step_of: Sequence[Callable[[tuple[int, ...]], int]],
    steps: int, gate_name: str,
) -> da.Array:
    """One gate task per step summing the write counts of that step (``step_of[i](index)`` is
    the step of block ``index`` of ``counts[i]``); the result is the number of blocks written.
    """
    keys: list[list] = [[] for _ in range(steps)]
    for c, step in zip(counts, step_of, strict=True):
        for idx in itertools.product(*map(range, c.numblocks)):
            keys[step(idx)].append((c.name, *idx))
    layer = {(gate_name, p): (_add, *keys[p]) for p in range(steps)}
    graph = new_layer(gate_name, layer, counts)
    gates = da.Array(graph, gate_name, chunks=((1,) * steps,), dtype=np.int64,
                     meta=np.empty((0,), dtype=np.int64))
    return gates.sum()


def gate_total(counts: Sequence[da.Array], axes: Sequence[int], gate_name: str) -> da.Array:
    """One gate task per tile summing that tile's write counts (block grids, one per level);
    the result is the total number of blocks written."""
    tiles = _tiles(counts[0].numblocks, axes)
    order = {tile: p for p, tile in enumerate(tiles)}
    step = lambda idx: order[tuple(idx[a] for a in axes)]  # noqa: E731
    return gate_steps(counts, [step] * len(counts), len(tiles), gate_name)
