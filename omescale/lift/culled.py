"""A window of any dask array as a graph of its own, holding only the tasks the window needs.

A streamed write of a user's dask array (``da.zeros``, ``from_zarr(...) + 1``, ``map_blocks``,
xarray's or bioio's arrays) reads each work unit's window as a slice of that array. Slicing
alone keeps the whole input graph under the slice; dask culls it only when the unit is
computed, and ``HighLevelGraph.cull`` then lists the output keys of every layer of the
combined graph whenever one layer holds tasks in dask's legacy tuple form (as omescale's own
hand-built layers do): seconds and hundreds of MiB per unit for a 32 TiB input. Culling the
input graph here, to the blocks the window touches, and handing the unit a plain dict of those
tasks makes the unit's graph proportional to the unit. ``HighLevelGraph.cull`` on the input's
own graph is cheap when its layers are all ``Blockwise`` or task-spec layers. A layer in
dask's legacy form makes it list every layer's keys: :func:`cullable` rewrites the layers that
hold plain data (``da.from_array``'s and ``da.from_zarr``'s source object) in task-spec form
first (``from_zarr(...)`` with ``map_blocks`` and a transpose, 32 TiB in 1 Mi blocks: 28 s and
440 MiB for the first window, 0.06 s after). A graph of legacy tuple tasks still lists its keys
once, on the first window, and dask keeps that set on the graph for later windows.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
from dask.array.utils import meta_from_array
from dask.highlevelgraph import MaterializedLayer

from omescale._internals import data_nodes

__all__ = ["cullable", "culled_window", "holds_chunks"]

Range = tuple[int, int]


def _blocks(chunks: tuple[int, ...], lo: int, hi: int) -> range:
    """Indices of the blocks of one axis that ``[lo, hi)`` touches."""
    edges = list(itertools.accumulate(chunks, initial=0))
    return range(bisect.bisect_right(edges, lo) - 1, bisect.bisect_left(edges, hi))


def cullable(x: da.Array) -> da.Array:
    """``x`` computing the same tasks, its plain-data layers in dask's task-spec form
    (``omescale._internals.data_nodes``), so that culling it never lists every key: make it
    once per input and cut every window from it."""
    graph = data_nodes(x.dask)
    return x if graph is x.dask else da.Array(graph, x.name, x.chunks, meta=meta_from_array(x))


def culled_window(x: da.Array, window: Sequence[Range]) -> da.Array:
    """``x[window]`` (one ``(lo, hi)`` per axis) whose graph holds only the tasks of the blocks
    of ``x`` that ``window`` touches, and what they depend on (``x`` best from
    :func:`cullable`)."""
    ranges = [_blocks(c, lo, hi) for c, (lo, hi) in zip(x.chunks, window, strict=True)]
    keys = [(x.name, *index) for index in itertools.product(*ranges)]
    tasks: dict[Any, Any] = dict(x.dask.cull(keys))
    part = da.Array(tasks, x.name, x.chunks, meta=meta_from_array(x))
    out = part[tuple(slice(lo, hi) for lo, hi in window)]
    # One layer named after the slice: windows of one input then merge into one graph (a layer
    # named after the input would be a different subset of its tasks in each window).
    return da.Array(dict(out.__dask_graph__()), out.name, out.chunks, meta=out._meta)


def holds_chunks(x: da.Array) -> bool:
    """Whether ``x``'s graph holds pixels in memory (``da.from_array`` of a numpy array puts
    its chunks in the graph): such an input is bounded by RAM and is written as one graph."""
    return any(isinstance(value, np.ndarray)
               for layer in x.dask.layers.values()
               if isinstance(layer, MaterializedLayer) for value in layer.values())
