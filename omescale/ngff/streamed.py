"""What one work unit of a streamed write reads, computes and writes: a small graph of its own.

A unit (``omescale.stream.units``) reads its window of its stage's first level once (level 0
from the input: omescale's own read, or a user's dask array culled to the window; later levels
back from the store), computes the stage's levels on it with the
whole-image kernels seen through the window (``omescale.lift.shifted``, so the values are
those of the single-graph write, bit for bit; halo levels in sweep pieces, row by row, as the
single-graph write computes them), and writes the storage objects of its own box
of every level, one task per object. On resume only the objects that are missing are written
(one listing of each key directory the unit's objects lie in, on the client:
``omescale.ngff.present``).
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import dask
import dask.array as da
import numpy as np
import zarr
from dask.delayed import Delayed

from omescale.errors import InvalidOptionError
from omescale.inputs.source import checked_source, from_zarr_array
from omescale.levels import level_kernels
from omescale.lift import lift_kernel
from omescale.lift.culled import cullable, culled_window, holds_chunks
from omescale.lift.layers import new_layer
from omescale.lift.shifted import ShiftedKernel
from omescale.lift.sweep import sweep_axis, sweep_lag
from omescale.methods import Methods
from omescale.ngff.present import objects_done
from omescale.ngff.scratch import Chain
from omescale.ngff.shard_io import ShardCodec, encode_inner, shard_codec, write_shard
from omescale.ngff.strips import window_grid
from omescale.ngff.tasks import store_block
from omescale.ngff.tiles import window_reads
from omescale.plan import PyramidPlan
from omescale.stream.units import StreamPlan, Unit, own_box, unit_windows
from omescale.stream.window import client_threads

__all__ = ["STREAM_OBJECTS", "StreamedWrite", "choose_stream", "stream_obstacle"]

#: Storage objects above which a write streams by default (``omescale.stream-objects``).
STREAM_OBJECTS = 4096
#: laplacian streams above this share of that: its one graph holds the float chain, so its
#: memory grows with the image (1.1-1.2 GiB at 2 GiB, 1.8 GiB at 8 GiB; streamed 1.0-1.1 GiB).
#: The 2 GiB benchmark volume (341 objects) stays one graph, where streaming is no faster.
LAPLACIAN_SHARE = 8

Box = tuple[tuple[int, int], ...]
#: What a unit stores into: level ``k`` of the pyramid, or (laplacian) a scratch array.
Target = int | Chain
ObjectId = tuple[Target, tuple[int, ...]]


def stream_obstacle(src: Any, plan: PyramidPlan) -> str | None:
    """Why the write of ``plan`` from ``src`` cannot stream (``None``: it can)."""
    if checked_source(src) is None and holds_chunks(src):
        return ("a numpy array (a graph holding its chunks in memory) is bounded by RAM and is "
                "written as one graph")
    return None


def choose_stream(src: Any, plan: PyramidPlan, layouts: Sequence[Any], *,
                  stream: bool | None, splan: StreamPlan) -> bool:
    """Whether to stream: as asked, else when the pyramid has more storage objects than the
    ``omescale.stream-objects`` setting (default :data:`STREAM_OBJECTS`; laplacian: a
    :data:`LAPLACIAN_SHARE` th of it) and can stream, else
    on a ``distributed`` client when the first stage of ``splan`` has a unit for every worker
    thread (a unit is one task there: its blocks never travel between workers; see
    docs/decisions.md, "A cluster runs units").

    The count takes every level of ``plan``, also a stored level 0 that levels are added to:
    one graph would hold a read task per object of it.
    """
    obstacle = stream_obstacle(src, plan)
    if stream and obstacle is not None:
        raise InvalidOptionError(f"stream=True: {obstacle}")
    if stream is not None:
        return bool(stream)
    if obstacle is not None:
        return False
    limit = int(dask.config.get("omescale.stream-objects", None) or STREAM_OBJECTS)
    if Methods(plan.method) == Methods.LAPLACIAN:
        limit = max(1, limit // LAPLACIAN_SHARE)
    objects = sum(math.prod(-(-n // b) for n, b in zip(lv.shape, lt.block, strict=True))
                  for lv, lt in zip(plan.levels, layouts, strict=True))
    if objects > limit:
        return True
    threads = client_threads()
    return threads is not None and splan.stages[0].units >= threads


def _sweep_axis(kernel: Any, window: Sequence[tuple[int, int]], chunks: Sequence[int],
                grid: tuple[tuple[int, ...], ...]) -> int | None:
    """The axis along which ``kernel`` sweeps the unit's read ``grid`` (``None``: it does
    not, as for window methods)."""
    found = sweep_axis(kernel.reach, window_grid(window, chunks), grid)
    return None if found is None else found[0]


def _gate_name(token: str) -> str:
    return f"omescale-unit-gate-{token}"


def _gate_of(gate_name: str, tile: tuple[int, ...]) -> Any:
    """The gate of read row ``tile[0]`` along the sweep axis (row 0 is not gated)."""
    return (gate_name, tile[0]) if tile and tile[0] > 0 else None


def _opened(mark: Any) -> None:
    """A read gate: open once the sweep finished its first piece ending in the row before
    (``None`` when no such mark exists: open at once)."""
    del mark


def level_of(target: Target) -> int:
    """The pyramid level a storage target has the shape, chunks and shards of."""
    return target.level if isinstance(target, Chain) else target


def _gates(token: str, grid: tuple[tuple[int, ...], ...], axis: int | None,
           marks: dict[int, Any]) -> dict[Any, Any]:
    """The gate tasks of a unit whose reads along ``axis`` (of its read ``grid``) are gated
    (``None``: none are): row ``r``'s opens on the sweep's mark of row ``r - 1``."""
    rows = len(grid[axis]) if axis is not None else 0
    return {(_gate_name(token), r): (_opened, marks.get(r - 1)) for r in range(1, rows)}


def _uncounted(*counts: Any) -> int:
    """Scratch objects are written, and not counted among the image's."""
    del counts
    return 0


def _total(*counts: np.ndarray) -> int:
    return int(sum(int(np.sum(c)) for c in counts))


@dataclass
class StreamedWrite:
    """The per-unit graphs of one streamed pyramid write (picklable, small).

    ``source`` is the level the first stage computes from: level 0 from ``open_input``
    (omescale's own read, or a user's dask array), or the stored level 0 that ``add_levels``
    adds levels to;
    ``arrays[k]`` the opened output array of level ``k`` (``None`` below ``splan.first``).
    """

    splan: StreamPlan
    source: da.Array
    arrays: Sequence[zarr.Array | None]
    kernels: list[Any] = field(init=False)
    _input: da.Array | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.kernels = level_kernels(self.splan.plan)
        # A user's dask array, prepared once for the windows cut from it.
        self._input = None if checked_source(self.source) is not None else cullable(self.source)

    def _read(self, level: int, window: Box, chunks: tuple[int, ...], token: str,
              axis: int | None) -> tuple[da.Array, bool]:
        """Level ``level`` over ``window``, in blocks of ``chunks`` cut at its storage grid,
        and whether its reads of each row along ``axis`` (the sweep's) wait for their gate.

        The first stage's level is the input: omescale's own read (in the input's storage
        objects, each decoded once) or a user's dask array culled to the window
        (``omescale.lift.culled``); a later stage's is read back from the store. Reads are
        gated where they are omescale's, in the blocks the sweep goes through.
        """
        grid = window_grid(window, chunks)
        if level != self.splan.stages[0].first:
            reader = checked_source(from_zarr_array(*self._stored(level)))
            read = chunks
        else:
            reader = checked_source(self.source)
            if reader is None:
                assert self._input is not None
                part = culled_window(self._input, window)
                return (part if part.chunks == grid else part.rechunk(grid)), False
            read = tuple(reader.chunks)
        gates = (axis,) if axis is not None and read == chunks else ()
        out = window_reads(reader, tuple(lo for lo, _ in window), window_grid(window, read),
                           gates, partial(_gate_of, _gate_name(token)),
                           f"omescale-unit-read-{token}")
        return (out if read == chunks else out.rechunk(grid)), bool(gates)

    @property
    def scratch(self) -> list[zarr.Array]:
        """The scratch arrays this job writes besides its levels (none here)."""
        return []

    def targets(self, stage: int) -> list[Target]:
        """What the units of ``stage`` store into: the levels they write."""
        return list(self.splan.written(stage))

    def objects(self, unit: Unit) -> list[ObjectId]:
        """``(target, block index)`` of every storage object ``unit`` writes (a target is a
        level number, or a scratch array: :meth:`targets`)."""
        stage = self.splan.stages[unit.stage]
        out: list[ObjectId] = []
        for target in self.targets(unit.stage):
            k = level_of(target)
            box, block = own_box(self.splan.plan, stage, k, unit), self.splan.blocks[k]
            ranges = [range(lo // b, -(-hi // b)) for (lo, hi), b in zip(box, block, strict=True)]
            out.extend((target, idx) for idx in itertools.product(*ranges))
        return out

    def _array(self, target: Target) -> zarr.Array:
        assert not isinstance(target, Chain), "a scratch array of another job"
        array = self.arrays[target]
        assert array is not None, f"level {target} is not written by this job"
        return array

    def _stored(self, level: int) -> tuple[zarr.Array, str]:
        """The stored array a later stage reads its first level ``level`` from, and its name
        in errors."""
        return self._array(level), f"level {level}"

    def missing(self, unit: Unit) -> set[ObjectId]:
        """The objects of ``unit`` not in the store yet, or torn on a store whose writes are
        not atomic: one listing per key directory of the unit's objects, not one call per
        object (``omescale.ngff.present.objects_done``)."""
        levels: dict[Target, list[tuple[int, ...]]] = {}
        for k, idx in self.objects(unit):
            levels.setdefault(k, []).append(idx)
        out: set[ObjectId] = set()
        for k, indices in levels.items():
            done = objects_done(self._array(k), indices)
            out.update((k, idx) for idx in indices if idx not in done)
        return out

    def graph(self, unit: Unit, only: set[ObjectId] | None = None) -> Delayed:
        """One Delayed computing ``unit`` and writing its objects (``only`` those, if given);
        its value is the number of objects written."""
        plan, stage = self.splan.plan, self.splan.stages[unit.stage]
        windows = unit_windows(plan, self.kernels, stage, unit)
        # A fresh token per build: a retried unit must not meet its failed keys on a scheduler
        # (a user's dask input keeps its own keys).
        token = uuid.uuid4().hex
        # Levels are computed in storage chunks (a shard's worth of input is never one task's
        # region) and joined into the storage objects (shards) only to be written.
        chunks = [tuple(lv.chunks) for lv in plan.levels]
        kernels = {k: ShiftedKernel(self.kernels[k], tuple(lo for lo, _ in windows[k - 1]),
                                    tuple(lo for lo, _ in windows[k]))
                   for k in range(stage.first + 1, stage.last + 1)}
        grid, axis = window_grid(windows[stage.first], chunks[stage.first]), None
        if only is None and stage.last > stage.first:  # the sweep the reads are gated on
            axis = _sweep_axis(kernels[stage.first + 1], windows[stage.first + 1],
                               chunks[stage.first + 1], grid)
        window, gated = self._read(stage.first, windows[stage.first], chunks[stage.first],
                                   token, axis)
        if window.dtype != plan.dtype:
            window = window.astype(plan.dtype)
        parts: list[tuple[Target, da.Array, Box]] = []
        marks: dict[int, Any] = {}
        for k in range(stage.first, stage.last + 1):
            if k > stage.first:
                # Halo levels sweep in row order, as the one-graph writer's (a widened resize
                # unit of the 2 GiB volume held 210 MiB at its peak unswept, 111 MiB swept); a
                # resume keeps independent blocks (the chain would compute every piece). The
                # first level's sweep marks the rows it is past: the reads' gates open on them.
                window = lift_kernel(window, kernels[k], tuple(hi - lo for lo, hi in windows[k]),
                                     window_grid(windows[k], chunks[k]), plan.dtype,
                                     name=f"omescale-unit-{plan.method}-{k}-{token}",
                                     lag=None if only is not None else sweep_lag(),
                                     marks=marks if k == stage.first + 1 else None)
            if k in self.splan.written(unit.stage):
                box = own_box(plan, stage, k, unit)
                parts.append((k, self._part(k, window, windows[k], box), box))
        return self._writes(parts, only, token, _gates(token, grid, axis if gated else None,
                                                       marks))

    def _part(self, target: Target, level: da.Array, window: Box, box: Box) -> da.Array:
        """The part of ``level`` (computed over ``window``, in storage chunks) in ``box``, in
        the blocks its writes take: inner chunks when shards are written from them, else
        storage objects."""
        k = level_of(target)
        chunks, block = tuple(self.splan.plan.levels[k].chunks), self.splan.blocks[k]
        own = tuple(slice(lo - w0, hi - w0) for (lo, hi), (w0, _) in zip(box, window, strict=True))
        part = level[own]
        if self._frames_of(target) is not None:  # shards from inner chunks, one by one
            grid = window_grid(box, chunks)
            return part if part.chunks == grid else part.rechunk(grid)
        if chunks != block:
            return part.rechunk(window_grid(box, block))
        return part

    def _frames_of(self, target: Target) -> ShardCodec | None:
        """The shard codec of ``target`` when its shards are written from inner chunks
        encoded one at a time (``omescale.ngff.shard_io``): a shard's pixels are then never
        joined whole (a 64x2048x2048 uint16 shard is 512 MiB)."""
        array = self._array(target)
        codec = shard_codec(array)
        chunks = tuple(self.splan.plan.levels[level_of(target)].chunks)
        return codec if codec is not None and codec.inner.chunks == chunks else None

    def _writes(self, parts: Sequence[tuple[Target, da.Array, Box]], only: set[ObjectId] | None,
                token: str, gates: dict[Any, Any]) -> Delayed:
        """The unit's final task, after the writes of ``parts``; its value counts the objects
        of levels written (scratch objects are written but not counted)."""
        name = f"omescale-unit-write-{token}"
        layer: dict[Any, Any] = {}
        writes: list[Any] = []
        scratch: list[Any] = []
        for n, (k, part, box) in enumerate(parts):
            keys = self._part_writes(layer, f"{name}-{n}", k, part, box, only)
            (scratch if isinstance(k, Chain) else writes).extend(keys)
        final = f"omescale-unit-{token}"
        if scratch:
            layer[f"{final}-scratch"] = (_uncounted, *scratch)
            writes.append(f"{final}-scratch")
        layer[final] = (_total, *writes)
        layer.update(gates)
        return Delayed(final, new_layer(final, layer, [p for _, p, _ in parts]))

    def _part_writes(self, layer: dict[Any, Any], name: str, k: Target, part: da.Array,
                     box: Box, only: set[ObjectId] | None) -> list[Any]:
        """Add to ``layer`` the tasks writing ``part`` (the unit's ``box`` of target ``k``),
        only the objects in ``only`` if given; return the keys of the tasks that store."""
        block = self.splan.blocks[level_of(k)]
        first = tuple(lo // b for (lo, _), b in zip(box, block, strict=True))
        codec = self._frames_of(k)
        if codec is not None:
            return _shard_writes(layer, part, self._array(k), codec, first,
                                 [i for kk, i in only or () if kk == k]
                                 if only is not None else None, name)
        offsets = [list(itertools.accumulate(c, initial=lo))
                   for c, (lo, _) in zip(part.chunks, box, strict=True)]
        keys = []
        for idx in itertools.product(*(range(n) for n in part.numblocks)):
            index = tuple(f + i for f, i in zip(first, idx, strict=True))
            if only is not None and (k, index) not in only:
                continue
            region = tuple(slice(o[i], o[i + 1]) for o, i in zip(offsets, idx, strict=True))
            layer[(name, *index)] = (store_block, (part.name, *idx), self._array(k), region)
            keys.append((name, *index))
        return keys


def _write_frames(array: zarr.Array, codec: ShardCodec, index: tuple[int, ...],
                  coords: Sequence[tuple[int, ...]], *frames: bytes | None) -> int:
    write_shard(array, codec, index, dict(zip(coords, frames, strict=True)))
    return 1


def _shard_writes(layer: dict[Any, Any], part: da.Array, array: zarr.Array, codec: ShardCodec,
                  first: tuple[int, ...], only: Sequence[tuple[int, ...]] | None,
                  name: str) -> list[Any]:
    """Add to ``layer`` the tasks writing the shards of ``part`` (in inner-chunk blocks, its
    first block at the start of shard ``first``; only shards ``only``, if given): a task per
    inner chunk encoding its block as soon as it is computed, then one per shard storing the
    frames. Return the shard tasks' keys."""
    per = codec.per_shard
    shards = [range(-(-n // p)) for n, p in zip(part.numblocks, per, strict=True)]
    wanted = None if only is None else set(only)
    keys = []
    for local in itertools.product(*shards):
        index = tuple(f + s for f, s in zip(first, local, strict=True))
        if wanted is not None and index not in wanted:
            continue
        coords, frames = [], []
        for inner in itertools.product(*(range(min(p, n - s * p)) for p, n, s
                                         in zip(per, part.numblocks, local, strict=True))):
            idx = tuple(s * p + c for s, p, c in zip(local, per, inner, strict=True))
            layer[(f"{name}-frame", *idx)] = (encode_inner, (part.name, *idx), codec)
            coords.append(inner)
            frames.append((f"{name}-frame", *idx))
        layer[(name, *index)] = (_write_frames, array, codec, index, coords, *frames)
        keys.append((name, *index))
    return keys
