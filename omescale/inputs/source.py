"""Chunk-by-chunk lazy reads whose failures name the array and the chunk.

Every omescale read of a stored array goes through :class:`CheckedSource`: each dask task
reads one region (one storage chunk or shard where possible) and a region that cannot be
decoded raises :class:`CorruptInputError` naming the array, the chunk and its bounds.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize

from omescale._internals import array_source
from omescale.errors import CorruptInputError
from omescale.ngff.chunk_io import ChunkCodec, chunk_codec, chunk_index, read_chunk

__all__ = ["CheckedSource", "checked_source", "file_version", "from_zarr_array", "lazy_read",
           "private_reads"]

_PREFIX = "omescale-read-"


class CheckedSource:
    """Array-like over a zarr (or numpy) array whose reads name the chunk that failed.

    ``opener`` is a picklable callable returning the array; workers call it, so the graph
    holds a path, never the pixels.
    """

    def __init__(self, opener: Any, name: str, shape: tuple[int, ...], dtype: np.dtype,
                 chunks: tuple[int, ...]) -> None:
        self.opener, self.name = opener, name
        self.shape, self.dtype, self.ndim, self.chunks = shape, dtype, len(shape), chunks
        self._kept: dict[tuple, np.ndarray] = {}
        self._found: tuple[zarr.Array, ChunkCodec | None] | None = None

    def __dask_tokenize__(self) -> str:
        return tokenize(self.name, self.shape, str(self.dtype), self.chunks)

    def __getstate__(self) -> dict[str, Any]:
        # Kept chunks stay in this process: a worker reads its own.
        return {**self.__dict__, "_kept": {}, "_found": None}

    def keep(self, region: tuple[slice, ...]) -> np.ndarray:
        """Read ``region``; when it is one whole storage chunk, hand the same values to the
        next read of it (once) instead of reading and decoding it again.

        The job record's fingerprint samples a few chunks before the write starts; the write
        then reads them from here. At most those few chunks are held until read (or until the
        write's graph, which holds this source, is dropped).
        """
        values = self[region]
        if self._whole_chunk(region):
            self._kept[_region_key(region)] = values
        return values

    def _whole_chunk(self, region: tuple[slice, ...]) -> bool:
        return all(s.step in (None, 1) and s.start % c == 0 and s.stop == min(s.start + c, n)
                   for s, c, n in zip(region, self.chunks, self.shape, strict=True))

    def _codec(self, array: zarr.Array) -> ChunkCodec | None:
        """``chunk_codec(array)``, found once per opened array (not once per read)."""
        found = self._found
        if found is None or found[0] is not array:
            found = self._found = (array, chunk_codec(array))
        return found[1]

    def __getitem__(self, region: tuple[slice, ...]) -> np.ndarray:
        if self._kept:
            kept = self._kept.pop(_region_key(region), None)
            if kept is not None:
                return kept
        try:
            array = self.opener()
            if isinstance(array, zarr.Array):
                codec = self._codec(array)
                index = None if codec is None else chunk_index(region, codec.chunks, self.shape)
                if codec is not None and index is not None:
                    return read_chunk(array, codec, index)
            return np.asarray(array[region])
        except Exception as exc:
            chunk = tuple(s.start // c for s, c in zip(region, self.chunks, strict=True))
            bounds = ", ".join(f"{s.start}:{s.stop}" for s in region)
            raise CorruptInputError(
                f"cannot read chunk {chunk} (region [{bounds}]) of input array {self.name}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def _region_key(region: tuple[slice, ...]) -> tuple:
    return tuple((s.start, s.stop, s.step) for s in region)


class _Fixed:
    """A picklable opener returning an already-open (picklable) zarr array."""

    def __init__(self, array: zarr.Array) -> None:
        self.array = array

    def __call__(self) -> zarr.Array:
        return self.array


def lazy_read(source: CheckedSource, chunks: Any = None) -> da.Array:
    """``source`` as a dask array of ``chunks`` (default its own), one read per block."""
    chunks = source.chunks if chunks is None else chunks
    name = _PREFIX + tokenize(source)
    return da.from_array(source, chunks=chunks, name=name, asarray=False, fancy=False,
                         meta=np.empty((0,) * source.ndim, source.dtype))


def checked_source(x: Any) -> CheckedSource | None:
    """The source omescale reads ``x`` from, if ``x`` is one of its own lazy reads, else None."""
    if not isinstance(x, da.Array) or not x.name.startswith(_PREFIX):
        return None
    source = array_source(x)
    return source if isinstance(source, CheckedSource) else None


def private_reads(x: Any) -> Any:
    """``x`` with a source object of its own when ``x`` is one of omescale's lazy reads (same
    name, keys and chunks), else ``x``: what one write keeps in its source
    (:meth:`CheckedSource.keep`) is then dropped with that write's graph, never handed to
    another computation of ``x``."""
    source = checked_source(x)
    if source is None:
        return x
    own = copy.copy(source)
    own._kept, own._found = {}, None
    return lazy_read(own, chunks=x.chunks)


def from_zarr_array(array: zarr.Array, name: str) -> da.Array:
    """``array`` read lazily, one task per storage object (shard when sharded, else chunk)."""
    storage = array.shards or array.chunks
    source = CheckedSource(_Fixed(array), name, array.shape, array.dtype, storage)
    return lazy_read(source)


def file_version(path: str) -> tuple[int, int]:
    """``(size, mtime_ns)`` of the file at ``path``: with the path, the key of a per-process
    cache of opened files that a rewrite of the file invalidates."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
