"""Direct chunk I/O: one storage chunk read or written by its key, decoded or encoded with
numcodecs in the calling thread.

zarr-python 3 moves every chunk through an asyncio codec pipeline and copies it between its
buffers (a 16x512x512 uint16 blosc-lz4 chunk: 6.4 ms to read through zarr, 4.1 ms here; on 2
threads the whole 2 GiB benchmark volume reads ~1.5x faster here). For the plain layouts
omescale writes and usually reads (one chunk per storage object; the bytes codec then at most
one compressor in format 3, or a compressor without filters in format 2) a stored chunk is one
compressor frame of the C-order chunk. This module reads and writes those frames itself with
the same numcodecs codec zarr would call, through zarr's own store API, so the stored bytes are
the ones zarr writes (tested against zarr for both formats and every codec this module
accepts) and every zarr reader reads them.

zstd's own frame checksum (``ZstdCodec(checksum=True)``) is handled here: numcodecs' Zstd
writes and verifies it. Anything else (sharding, filters, transposes, checksum codecs such as
format 3's ``crc32c``, Fortran order, non-native byte order, object dtypes, stores other than
local, fsspec and memory) returns ``None`` from ``chunk_codec`` and the caller goes through
zarr.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ZstdCodec
from zarr.storage import FsspecStore, LocalStore, MemoryStore

from omescale._internals import blocking_local_store, default_buffer_prototype, sync
from omescale.ngff.retry import retried

__all__ = [
    "ChunkCodec", "all_fill", "chunk_codec", "chunk_index", "decode_chunk", "encode_chunk",
    "fill_value", "object_key", "put_object", "read_chunk", "supported_store", "v3_compressor",
    "write_chunk",
]

_STORES = (LocalStore, FsspecStore, MemoryStore)
_BLOSC_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
_BLOSC_HEADER = 16
_FILL_SLICE = 1 << 16  # values per step of the all-fill check


@dataclass(frozen=True)
class ChunkCodec:
    """How one array's chunks are stored: the compressor (``None``: raw bytes) and whether it
    is handed the chunk's typed values (format 2) or its bytes (format 3)."""

    compressor: Any
    typed: bool
    dtype: np.dtype
    chunks: tuple[int, ...]
    fill_value: Any
    write_empty_chunks: bool


def _name(option: Any) -> str:
    """A codec option's name: zarr 3.1 holds enums, later versions strings."""
    return str(getattr(option, "value", option))


def v3_compressor(codecs: tuple) -> tuple[bool, Any]:
    """(supported, numcodecs compressor or None) for a format-3 codec chain."""
    if not codecs or not isinstance(codecs[0], BytesCodec) or len(codecs) > 2:
        return False, None
    if codecs[0].endian is not None and _name(codecs[0].endian) != sys.byteorder:
        return False, None
    if len(codecs) == 1:
        return True, None
    codec = codecs[1]
    if isinstance(codec, BloscCodec) and codec.typesize is not None:
        return True, numcodecs.Blosc.from_config({
            "cname": _name(codec.cname), "clevel": codec.clevel,
            "shuffle": _BLOSC_SHUFFLE[_name(codec.shuffle)], "blocksize": codec.blocksize,
            "typesize": codec.typesize,
        })
    if isinstance(codec, ZstdCodec):
        return True, numcodecs.Zstd.from_config({"level": codec.level, "checksum": codec.checksum})
    if isinstance(codec, GzipCodec):
        return True, numcodecs.GZip(level=codec.level)
    return False, None


def _v2_compressor(metadata: Any) -> tuple[bool, Any]:
    if metadata.filters or metadata.order != "C":
        return False, None
    compressor = metadata.compressor
    if compressor is None or isinstance(compressor, numcodecs.Blosc | numcodecs.Zstd |
                                        numcodecs.GZip | numcodecs.Zlib):
        return True, compressor
    return False, None


def supported_store(array: zarr.Array) -> bool:
    """Whether ``array``'s store and dtype are ones this module reads and writes objects of."""
    dtype = np.dtype(array.dtype)
    return isinstance(array.store, _STORES) and dtype.kind in "biuf" and dtype.isnative


def chunk_codec(array: zarr.Array) -> ChunkCodec | None:
    """How ``array`` stores its chunks, if this module can read and write them, else None."""
    if array.shards is not None or not supported_store(array):
        return None
    dtype = np.dtype(array.dtype)
    metadata = array.metadata
    if metadata.zarr_format == 3:
        ok, compressor = v3_compressor(tuple(metadata.codecs))
    else:
        ok, compressor = _v2_compressor(metadata)
    if not ok:
        return None
    return ChunkCodec(compressor, metadata.zarr_format == 2, dtype, tuple(array.chunks),
                      fill_value(array), bool(array.config.write_empty_chunks))


def fill_value(array: zarr.Array) -> Any:
    """``array``'s fill value as a scalar of its dtype (0 when it has none)."""
    fill = array.metadata.fill_value
    return np.asarray(fill if fill is not None else 0, np.dtype(array.dtype))[()]


def chunk_index(
    region: tuple[slice, ...], chunks: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[int, ...] | None:
    """The index of the chunk ``region`` covers exactly (cut at the array's end), else None."""
    index = []
    for s, c, n in zip(region, chunks, shape, strict=True):
        start, stop = s.start or 0, n if s.stop is None else s.stop
        if s.step not in (None, 1) or start % c or stop != min(start + c, n) or start >= n:
            return None
        index.append(start // c)
    return tuple(index)


def object_key(array: zarr.Array, index: tuple[int, ...]) -> str:
    """Store key (from the store root) of the storage object at block ``index``."""
    key = array.metadata.encode_chunk_key(tuple(index))
    return f"{array.path}/{key}" if array.path else key


def _cropped(chunk: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if chunk.shape == shape:
        return chunk
    return np.ascontiguousarray(chunk[tuple(slice(0, n) for n in shape)])


def decode_chunk(raw: np.ndarray, codec: ChunkCodec) -> np.ndarray:
    """The chunk in ``raw`` (a stored frame) as a writable C-order array of the chunk shape."""
    nbytes = math.prod(codec.chunks) * codec.dtype.itemsize
    if isinstance(codec.compressor, numcodecs.Blosc):
        # The blosc header says how many bytes the frame holds and decodes to: check both, as
        # decoding into a larger buffer would leave its tail unset without an error.
        head = raw[:_BLOSC_HEADER].tobytes()
        if len(head) < _BLOSC_HEADER or int.from_bytes(head[4:8], "little") != nbytes or (
                int.from_bytes(head[12:16], "little") != raw.nbytes):
            raise ValueError(f"blosc frame of {raw.nbytes} bytes does not hold {nbytes} bytes")
        out = np.empty(codec.chunks, codec.dtype)
        codec.compressor.decode(raw, out=out)
        return out
    data = raw if codec.compressor is None else codec.compressor.decode(raw)
    flat = np.frombuffer(data, dtype=np.uint8)
    if flat.nbytes != nbytes:
        raise ValueError(f"chunk decodes to {flat.nbytes} bytes, not {nbytes}")
    return flat.view(codec.dtype).reshape(codec.chunks).copy()


def read_chunk(
    array: zarr.Array, codec: ChunkCodec, index: tuple[int, ...]
) -> np.ndarray:
    """Chunk ``index`` of ``array``, cut at the array's end; the fill value where not stored."""
    shape = tuple(min(c, n - i * c)
                  for i, c, n in zip(index, codec.chunks, array.shape, strict=True))
    key = object_key(array, index)
    buffer = retried(lambda: _get(array.store, key), f"get of {key}")
    if buffer is None:
        return np.full(shape, codec.fill_value, codec.dtype)
    return _cropped(decode_chunk(buffer.as_numpy_array(), codec), shape)


def all_fill(chunk: np.ndarray, fill: Any) -> bool:
    """True when every value of ``chunk`` is ``fill`` (NaN matching NaN), checked in slices so
    that the usual chunk, which differs early, costs one slice instead of a full pass."""
    flat = chunk.reshape(-1)
    nan = chunk.dtype.kind == "f" and bool(np.isnan(fill))
    for start in range(0, flat.size, _FILL_SLICE):
        part = flat[start:start + _FILL_SLICE]
        if not (np.isnan(part) if nan else part == fill).all():
            return False
    return True


def encode_chunk(block: np.ndarray, codec: ChunkCodec) -> bytes | None:
    """The stored frame of ``block`` as one chunk of ``codec`` (padded with the fill value at
    the array's end), or None when it is all fill value and empty chunks are not written."""
    chunk = np.ascontiguousarray(block, dtype=codec.dtype)
    if chunk.shape != codec.chunks:
        padded = np.full(codec.chunks, codec.fill_value, codec.dtype)
        padded[tuple(slice(0, n) for n in chunk.shape)] = chunk
        chunk = padded
    if not codec.write_empty_chunks and all_fill(chunk, codec.fill_value):
        return None
    data = chunk if codec.typed else chunk.reshape(-1).view(np.uint8)
    return data.tobytes() if codec.compressor is None else codec.compressor.encode(data)


def write_chunk(
    array: zarr.Array, codec: ChunkCodec, index: tuple[int, ...], block: np.ndarray
) -> None:
    """Store ``block`` as chunk ``index`` of ``array`` (padded with the fill value at the
    array's end), or delete the chunk when it is all fill value and empty chunks are not
    written: what ``array[region] = block`` stores."""
    put_object(array.store, object_key(array, index), encode_chunk(block, codec))


def put_object(store: Any, key: str, frame: bytes | None) -> None:
    """Store ``frame`` at ``key``, or delete ``key`` when ``frame`` is None (retried)."""
    if frame is None:
        retried(lambda: _delete(store, key), f"delete of {key}")
        return
    buffer = default_buffer_prototype().buffer.from_bytes(frame)
    retried(lambda: _set(store, key, buffer), f"set of {key}")


# The three store calls. A plain LocalStore's blocking methods do the file I/O in the calling
# (dask) thread, writes still through a temporary file renamed into place; its async methods
# would hand every chunk to zarr's event-loop thread and on to a file-I/O thread (a socket
# wake-up and two hand-offs per chunk: ~10 % of the CPU of a nearest write of the 6144^2
# plane, docs/benchmarks.md). Every other store, LocalStore subclasses and wrappers included
# (they may override the async methods), goes through zarr's event loop. Either way the call
# is one whole operation on one object, retried by the caller.


def _get(store: Any, key: str) -> Any:
    local = blocking_local_store(store)
    if local is not None:
        return local.get_sync(key, prototype=default_buffer_prototype())
    return sync(store.get(key, prototype=default_buffer_prototype()))


def _set(store: Any, key: str, value: Any) -> None:
    local = blocking_local_store(store)
    if local is not None:
        local.set_sync(key, value)
    else:
        sync(store.set(key, value))


def _delete(store: Any, key: str) -> None:
    local = blocking_local_store(store)
    if local is not None:
        local.delete_sync(key)
    else:
        sync(store.delete(key))
