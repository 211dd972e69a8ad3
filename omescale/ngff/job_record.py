"""The record of one write job, kept in the "incomplete" marker so that a resume finishes the
same job or refuses (SPEC §5, issue 14).

A record is a plain JSON-able function of the pyramid plan, the storage layouts and the input:
omescale version, method, spline order, axes, units, every level's shape, chunks, shards and
transforms, codec, zarr format, the multiscale name, and the input's identity (location,
shape, dtype, chunk shape and a content fingerprint). The fingerprint hashes a fixed sample of
input blocks -- the first, the middle and the last of the block grid, each up to 16 MiB --
read through the input's dask array (omescale's own reads: straight from their source, as a
slice of a dask array of millions of blocks costs a pass over all its keys to compute): those
blocks only, never the whole array, so a different image of the same shape and dtype is caught
at the cost of three block reads when a write starts; ``write_pyramid`` then takes those
blocks from its source instead of reading them again (``keep``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np

from omescale._version import __version__
from omescale.inputs.source import checked_source
from omescale.lift.culled import cullable, culled_window

__all__ = ["SAMPLE_BYTES", "differences", "fingerprint", "job_record", "sample_blocks"]

SAMPLE_BYTES = 16 << 20  # most bytes hashed of one sampled block


def sample_blocks(numblocks: Sequence[int]) -> list[tuple[int, ...]]:
    """Block indices of the fingerprint sample: first, middle and last (without repeats)."""
    picks = [tuple(0 for _ in numblocks), tuple(n // 2 for n in numblocks),
             tuple(n - 1 for n in numblocks)]
    return list(dict.fromkeys(picks))


def _sample_box(data: da.Array, index: tuple[int, ...]) -> tuple[slice, ...]:
    """Block ``index`` of ``data``, cut on its leading axes to at most ``SAMPLE_BYTES``."""
    starts = [sum(c[:i]) for c, i in zip(data.chunks, index, strict=True)]
    lengths = [c[i] for c, i in zip(data.chunks, index, strict=True)]
    limit = max(1, SAMPLE_BYTES // np.dtype(data.dtype).itemsize)
    for axis in range(len(lengths)):
        if math.prod(lengths) <= limit:
            break
        lengths[axis] = max(1, limit // math.prod(lengths[axis + 1:]))
    return tuple(slice(s, s + n) for s, n in zip(starts, lengths, strict=True))


def _sample_values(data: da.Array, boxes: Sequence[tuple[slice, ...]],
                   keep: bool = False) -> list[Any]:
    """The values of ``data`` in ``boxes``: read from omescale's own source where ``data`` is
    one (a 128 TiB input of 4 Mi blocks: 3 reads instead of 15 s and 500 MiB of culling),
    else computed with dask from the input's graph culled to those blocks
    (``omescale.lift.culled``, as a streamed unit reads it)."""
    source = checked_source(data)
    if source is not None:
        return [source.keep(box) if keep else source[box] for box in boxes]
    windows = [[(b.start, b.stop) for b in box] for box in boxes]
    data = cullable(data)
    return list(dask.compute(*[culled_window(data, window) for window in windows]))


def fingerprint(data: da.Array, *, keep: bool = False) -> str:
    """SHA-256 of the input's shape, dtype and the sampled blocks' values (C order).

    Each sampled block is hashed whole up to ``SAMPLE_BYTES`` (larger blocks: their leading
    part of that size); only those blocks are computed. ``keep``: an omescale source keeps
    the sampled storage chunks for the write's own read of them
    (``omescale.inputs.source.CheckedSource.keep``; pass a ``private_reads`` array).
    """
    picks = sample_blocks(data.numblocks)
    boxes = [_sample_box(data, idx) for idx in picks]
    values = _sample_values(data, boxes, keep)
    digest = hashlib.sha256(f"{data.shape}|{np.dtype(data.dtype).str}".encode())
    for box, value in zip(boxes, values, strict=True):
        digest.update(repr([(b.start, b.stop) for b in box]).encode())
        # The array's own buffer (C order): the bytes ``tobytes()`` would copy out first.
        digest.update(np.ascontiguousarray(value).data)
    return digest.hexdigest()


def _level(lv: Any, layout: Any) -> dict[str, Any]:
    return {"shape": list(lv.shape), "chunks": list(layout.chunks),
            "shards": None if layout.shards is None else list(layout.shards),
            "scale": list(lv.scale), "translation": list(lv.translation)}


def job_record(
    plan: Any, layouts: Sequence[Any], data: da.Array, *, location: str | None,
    zarr_format: int, name: str | None = None, keep: bool = False,
) -> dict[str, Any]:
    """What a write job is, as plain JSON values (see the module docstring).

    Parameters
    ----------
    plan
        The ``PyramidPlan`` of the job.
    layouts
        One ``LevelLayout`` (chunks, shards, codec) per level of ``plan``.
    data
        The input as a dask array (what the writer reads).
    location
        Path or URL of the input, ``None`` for an in-memory array.
    zarr_format, name
        The output's zarr format and multiscale name.
    keep
        Let the write read the fingerprint's samples from ``data``'s source instead of
        reading them again (see :func:`fingerprint`).
    """
    codecs = sorted({layout.codec for layout in layouts})
    record = {
        "version": __version__,
        "method": str(plan.method),
        "order": plan.order,
        "axes": plan.axes,
        "units": dict(plan.units),
        "codec": codecs[0] if len(codecs) == 1 else codecs,
        "zarr_format": int(zarr_format),
        "name": name,
        "levels": [_level(lv, lt) for lv, lt in zip(plan.levels, layouts, strict=True)],
        "input": {"location": location, "shape": list(data.shape),
                  "dtype": np.dtype(data.dtype).str, "chunks": list(data.chunksize),
                  "fingerprint": fingerprint(data, keep=keep)},
    }
    return json.loads(json.dumps(record))  # exactly what reading it back from JSON gives


def _flat(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flat(item, f"{path} {key}".strip(), out)
    elif isinstance(value, list) and value and isinstance(value[0], Mapping):
        out[f"{path} count"] = len(value)
        for i, item in enumerate(value):
            _flat(item, f"{path[:-1] if path.endswith('s') else path} {i}", out)
    else:
        out[path] = value


def differences(started: Mapping[str, Any], asked: Mapping[str, Any]) -> list[str]:
    """Each difference between two job records, as ``"method: gaussian was started, nearest
    asked"`` (``levels`` entries as ``"level 1 shape: ..."``)."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    _flat(started, "", old)
    _flat(asked, "", new)
    missing = object()

    def show(value: Any) -> str:
        if value is missing:
            return "nothing"
        return value if isinstance(value, str) else json.dumps(value)

    out = []
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key, missing), new.get(key, missing)
        if a != b:
            out.append(f"{key}: {show(a)} was started, {show(b)} asked")
    return out
