"""The graph layer: one task per output block.

Aligned case (every region is exactly one input chunk, as for window methods on chunks that are
multiples of the factor): a ``map_blocks`` over the input, no copies. Otherwise each task
assembles its region from the parts of the input chunks it overlaps and runs the kernel there,
unless the kernel offers ``run_parts(views, targets, starts, out)`` and can work part by part,
or only crops small boxes from its region (``crops_region``): then it gets a ``PartedRegion``
and each box is copied from the parts it touches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize

from omescale._internals import normalize_chunks
from omescale.kernels.parted import PartedRegion
from omescale.lift.layers import new_layer
from omescale.lift.regions import AxisBlock, chunk_offsets, plan_axis
from omescale.lift.sweep import chain, sweep_axis, sweep_order

__all__ = ["lift_kernel", "output_chunks"]


def output_chunks(
    in_chunks: Sequence[Sequence[int]],
    out_shape: Sequence[int],
    factors: Sequence[int],
    chunks: Sequence[int] | None = None,
) -> tuple[tuple[int, ...], ...]:
    """Output chunking: ``chunks`` if given, else the input's first chunk size over the factor."""
    if chunks is None:
        chunks = tuple(
            max(1, math.ceil(c[0] / f)) for c, f in zip(in_chunks, factors, strict=True)
        )
    return normalize_chunks(tuple(chunks), tuple(out_shape))


@dataclass(frozen=True)
class RegionSpec:
    """What one task needs besides the input blocks: where its region is and its parts.

    ``sources[k]`` cuts part ``k`` from its input block, or, an ``int``, picks it from the
    tuple of halo copies of that block's input chunk.
    """

    shape: tuple[int, ...]
    starts: tuple[int, ...]
    out: tuple[tuple[int, int], ...]
    sources: tuple[tuple[slice, ...] | int, ...]
    targets: tuple[tuple[slice, ...], ...]


def _assemble(blocks: list[np.ndarray], spec: RegionSpec) -> np.ndarray:
    if len(blocks) == 1:
        return blocks[0][spec.sources[0]]
    region = np.empty(spec.shape, dtype=blocks[0][spec.sources[0]].dtype)
    for block, src, dst in zip(blocks, spec.sources, spec.targets, strict=True):
        region[dst] = block[src]
    return region


def _add_after(task: tuple, key: Any) -> tuple:
    """``task`` (a ``_run_region`` task) made to wait for ``key`` as well."""
    return (*task, key)


def _run_region(
    kernel: Any, blocks: list[np.ndarray], spec: RegionSpec, after: Any = None
) -> np.ndarray:
    """The kernel on one region; ``after`` only orders this task (see ``_add_after``)."""
    if len(blocks) == 1:
        return kernel(_assemble(blocks, spec), spec.starts, spec.out)
    views = [b[src] for b, src in zip(blocks, spec.sources, strict=True)]
    if hasattr(kernel, "run_parts"):
        # Kernels that can work part by part (window reductions on window-aligned parts, pure
        # selections) skip copying the whole region together first.
        result = kernel.run_parts(views, spec.targets, spec.starts, spec.out)
        if result is not None:
            return result
    if getattr(kernel, "crops_region", False):
        return kernel(PartedRegion(tuple(views), spec.targets, spec.shape), spec.starts, spec.out)
    return kernel(_assemble(blocks, spec), spec.starts, spec.out)


def _run_aligned(block: np.ndarray, kernel: Any, starts: Sequence[Sequence[int]],
                 ends: Sequence[Sequence[int]], block_id: tuple[int, ...] = ()) -> np.ndarray:
    """The kernel on input block ``block_id``: its start from the input's chunk offsets
    ``starts``, its output range from the output's offsets ``ends``."""
    first = tuple(s[i] for s, i in zip(starts, block_id, strict=True))
    out = tuple((e[i], e[i + 1]) for e, i in zip(ends, block_id, strict=True))
    return kernel(block, first, out)


def lift_kernel(
    x: da.Array,
    kernel: Any,
    out_shape: Sequence[int],
    out_chunks: tuple[tuple[int, ...], ...],
    dtype: np.dtype,
    name: str = "omescale",
    lag: int | None = None,
    order_axis: int | None = None,
    marks: dict[int, Any] | None = None,
) -> da.Array:
    """A lazy array of ``out_shape``: block ``b`` is ``kernel`` on the input region it reaches.

    With ``lag``, blocks of a kernel that reaches across chunk borders are computed as sweep
    pieces in row order, at most ``lag`` at a time, and joined back into ``out_chunks``
    (``omescale.lift.sweep``: memory stays flat in the image width); the values are the same.
    Other kernels' blocks are chained in row order along ``order_axis`` when it is given.
    ``marks``, when given, receives for each input chunk row ``r`` along the sweep axis the key
    of a task that is done once the sweep finished its first piece ending in row ``r`` (for
    reads that should wait for the sweep, e.g. read row ``r + 1`` after ``marks[r]``).
    """
    if lag is None:
        return _lift(x, kernel, out_chunks, dtype, name, None)
    found = sweep_axis(kernel.reach, out_chunks, x.chunks)
    if found is None:
        sweep = None if order_axis is None else (order_axis, lag)
        return _lift(x, kernel, out_chunks, dtype, name, sweep)
    axis, pieces = found
    pieced = (*out_chunks[:axis], pieces, *out_chunks[axis + 1:])
    return _lift(x, kernel, pieced, dtype, name, (axis, lag), marks).rechunk(out_chunks)


def _lift(
    x: da.Array, kernel: Any, out_chunks: tuple[tuple[int, ...], ...], dtype: np.dtype,
    name: str, sweep: tuple[int, int] | None, marks: dict[int, Any] | None = None,
) -> da.Array:
    """The graph of ``lift_kernel``; ``sweep = (axis, lag)`` chains the blocks in row order."""
    axes = [
        plan_axis(partial(kernel.reach, a), out_chunks[a], x.chunks[a])
        for a in range(x.ndim)
    ]
    token = f"{name}-{tokenize(x, kernel, out_chunks)}"
    if all(b.whole_chunk and b.parts[0][0] == i for ax in axes for i, b in enumerate(ax)) and all(
        len(ax) == len(c) for ax, c in zip(axes, x.chunks, strict=True)
    ):
        # Everything but the block index travels in the function: dask walks each task's
        # arguments when it builds the graph (a ``block_info`` dict per task is ~50 objects).
        run = partial(_run_aligned, kernel=kernel,
                      starts=tuple(tuple(chunk_offsets(c)) for c in x.chunks),
                      ends=tuple(tuple(chunk_offsets(c)) for c in out_chunks))
        return da.map_blocks(
            run, x, chunks=out_chunks, dtype=dtype, name=token,
            meta=np.empty((0,) * x.ndim, dtype=dtype),
        )
    halos: dict = {}
    graph: dict[tuple[Any, ...], Any] = {
        (token, *index): _task(x, kernel, [ax[i] for ax, i in zip(axes, index, strict=True)],
                               halos, f"{token}-halo")
        for index in product(*(range(len(ax)) for ax in axes))
    }
    if sweep is not None:
        axis, lag = sweep
        order = sorted(graph, key=lambda key: sweep_order(key[1:], axis, axes[axis]))
        graph.update(chain(graph, order, lag, f"{token}-done", add_after=_add_after))
        if marks is not None:  # chain's token n stands for order[n] done
            for n, key in enumerate(order[:max(0, len(order) - lag)]):
                marks.setdefault(axes[axis][key[1 + axis]].parts[-1][0], (f"{token}-done", n))
    graph.update(_halo_tasks(x, halos))
    layer = new_layer(token, graph, [x])
    return da.Array(layer, token, chunks=out_chunks, dtype=dtype,
                    meta=np.empty((0,) * x.ndim, dtype=dtype))


# A part at most this fraction of its input chunk is copied out by a task of its own.
HALO_FRACTION = 0.25


def _copy_parts(block: np.ndarray, sources: tuple[tuple[slice, ...], ...]) -> tuple:
    """Copies of the small parts of one input chunk that other blocks need (its halos)."""
    return tuple(block[src].copy() for src in sources)


def _halo_tasks(x: da.Array, halos: dict) -> dict:
    """One copy task per input chunk with halo parts, its parts in the order blocks index."""
    return {key: (_copy_parts, (x.name, *index),
                  tuple(tuple(slice(a, b) for a, b in bounds) for bounds in parts))
            for index, (key, parts) in halos.items()}


def _task(x: da.Array, kernel: Any, blocks: list[AxisBlock], halos: dict, halo_name: str):
    """The task of one output block; small parts of input chunks (halos) are copied out by one
    task per input chunk, so an input chunk is released as soon as the block that mostly needs
    it ran, instead of staying in memory until every neighbour that needs a few of its rows has
    run (that kept whole rows of chunks alive: memory grew with image width). The block reads
    its part of such a copy task's tuple by position (an ``int`` source)."""
    keys, sources, targets = [], [], []
    for parts in product(*(b.parts for b in blocks)):
        index = tuple(p[0] for p in parts)
        cut = tuple(p[1] for p in parts)
        src: tuple[slice, ...] | int = cut
        chunk = [x.chunks[a][i] for a, i in enumerate(index)]
        bounds = tuple(sl.indices(n)[:2] for sl, n in zip(cut, chunk, strict=True))
        size = [b - a for a, b in bounds]
        if size != chunk and math.prod(size) <= HALO_FRACTION * math.prod(chunk):
            bundle = halos.setdefault(index, ((halo_name, len(halos)), {}))
            src = bundle[1].setdefault(bounds, len(bundle[1]))
            keys.append(bundle[0])
        else:
            keys.append((x.name, *index))
        sources.append(src)
        targets.append(tuple(p[2] for p in parts))
    spec = RegionSpec(
        shape=tuple(b.region[1] - b.region[0] for b in blocks),
        starts=tuple(b.region[0] for b in blocks),
        out=tuple(b.out for b in blocks),
        sources=tuple(sources),
        targets=tuple(targets),
    )
    return (_run_region, kernel, keys, spec)
