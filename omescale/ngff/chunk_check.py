"""Is one storage object whole? Present where it must be, and decodable.

A storage object is a chunk, or a shard when the array is sharded (what one write task of
omescale writes). ``object_problem`` reads the object once through the store and says what is
wrong with it, or ``None``:

- plain chunks that ``omescale.ngff.chunk_io`` reads are decoded with the same numcodecs codec
  it uses (a blosc frame whose header disagrees with its length or the chunk size is refused);
- shards: the index (zarr-python checks its crc32c) and every inner chunk are decoded through
  zarr, and the index must list every inner chunk that lies inside the array when the array
  writes empty chunks;
- anything else is decoded through zarr.

A codec without a checksum (blosc, zstd as zarr writes them) can decode a flipped data byte
into wrong values without an error: that is not detectable here (``gzip`` and the shard index
carry checksums; ``omescale verify --recompute`` compares derived levels with a recomputation).

A missing object is a problem only when ``required``: zarr leaves out objects equal to the fill
value unless the array writes empty chunks (omescale always does; see ``omescale.ngff.verify``).
"""

from __future__ import annotations

import math

import numpy as np
import zarr
from zarr.codecs import ShardingCodec

from omescale._internals import default_buffer_prototype, sync
from omescale.ngff.chunk_io import chunk_codec, decode_chunk, object_key
from omescale.ngff.shard_io import index_layout
from omescale.ngff.store import atomic_writes

__all__ = [
    "object_done", "object_index", "object_is_whole", "object_key", "object_problem",
    "object_region", "object_status",
]

_EMPTY = np.uint64(2**64 - 1)  # offset and length of an inner chunk a shard does not hold


def object_index(array: zarr.Array, key: str) -> tuple[int, ...]:
    """Block index of the storage object at store ``key`` (the inverse of ``object_key``).

    Raises
    ------
    ValueError
        ``key`` is not the key of a storage object of ``array``.
    """
    prefix = f"{array.path}/" if array.path else ""
    rest = key[len(prefix):] if key.startswith(prefix) else None
    metadata = array.metadata
    if metadata.zarr_format == 3:
        separator = getattr(metadata.chunk_key_encoding, "separator", "/")
        if rest is not None and getattr(metadata.chunk_key_encoding, "name", "") == "default":
            rest = rest.removeprefix("c").removeprefix(separator)
    else:
        separator = metadata.dimension_separator
    try:
        index = tuple(int(p) for p in rest.split(separator)) if rest else ()
    except (AttributeError, ValueError):
        index = None
    if index is None or len(index) != array.ndim or object_key(array, index) != key:
        raise ValueError(f"{key!r} is not a storage object key of array {array.path!r}")
    return index


def object_region(array: zarr.Array, index: tuple[int, ...]) -> tuple[slice, ...]:
    """The region of the array the storage object at ``index`` holds (cut at the array end)."""
    block = array.shards or array.chunks
    return tuple(slice(i * b, min((i + 1) * b, n))
                 for i, b, n in zip(index, block, array.shape, strict=True))


def _get(array: zarr.Array, key: str) -> np.ndarray | None:
    buffer = sync(array.store.get(key, prototype=default_buffer_prototype()))
    return None if buffer is None else buffer.as_numpy_array()


def _error(exc: BaseException) -> str:
    return f"cannot be decoded ({type(exc).__name__}: {' '.join(str(exc).split())})"


def _shard_entries(raw: np.ndarray, codec: ShardingCodec,
                   per_shard: tuple[int, ...]) -> np.ndarray | str | None:
    """The (offset, length) of every inner chunk (shape ``per_shard + (2,)``), a problem when
    the shard cannot hold its index, or None when the index layout is not one omescale
    parses."""
    layout = index_layout(codec)
    if layout is None:
        return None
    location, checksum = layout
    size = 16 * math.prod(per_shard) + checksum
    if raw.size < size:
        return f"shard of {raw.size} bytes is shorter than its index ({size} bytes)"
    if location == "start":
        body = raw[:size - checksum]
    else:
        body = raw[raw.size - size:raw.size - checksum]
    return np.frombuffer(body.tobytes(), dtype="<u8").astype(np.uint64).reshape(*per_shard, 2)


def _inner_chunks_inside(origin: tuple[int, ...], chunks: tuple[int, ...],
                         shape: tuple[int, ...], per_shard: tuple[int, ...]) -> np.ndarray:
    """Which inner chunks of the shard starting at ``origin`` start inside the array (zarr
    writes only those)."""
    inside = np.ones(per_shard, dtype=bool)
    for axis, (o, c, n, p) in enumerate(zip(origin, chunks, shape, per_shard, strict=True)):
        starts = o + c * np.arange(p)
        grid = [1] * len(per_shard)
        grid[axis] = p
        inside &= (starts < n).reshape(grid)
    return inside


def _shard_problem(array: zarr.Array, index: tuple[int, ...], raw: np.ndarray,
                   required: bool) -> str | None:
    codec = array.metadata.codecs[0]  # type: ignore[union-attr]
    assert isinstance(codec, ShardingCodec) and array.shards is not None
    region = object_region(array, index)
    try:  # zarr checks the index checksum and decodes every inner chunk
        np.asarray(array[region])
    except Exception as exc:
        return _error(exc)
    per_shard = tuple(s // c for s, c in zip(array.shards, array.chunks, strict=True))
    entries = _shard_entries(raw, codec, per_shard)
    if entries is None or isinstance(entries, str):
        return entries
    offsets, lengths = entries[..., 0], entries[..., 1]
    held = offsets != _EMPTY
    if np.any(held & ((offsets > raw.size) | (lengths > raw.size - offsets))):
        return "shard index points past the end of the shard"
    origin = tuple(r.start for r in region)
    missing = _inner_chunks_inside(origin, array.chunks, array.shape, per_shard) & ~held
    if required and missing.any():
        first = tuple(int(i) for i in np.argwhere(missing)[0])
        return (f"shard lacks {int(missing.sum())} inner chunk(s) (first: inner chunk "
                f"{first}) that the array writes")
    return None


def object_status(array: zarr.Array, index: tuple[int, ...], *,
                  required: bool = True) -> tuple[bool, str | None]:
    """Whether the storage object at block ``index`` of ``array`` exists, and what is wrong
    with it (None when it is whole).

    Parameters
    ----------
    array
        A zarr array (format 2 or 3, sharded or not) on any store.
    index
        Block index of the object: of the shard when sharded, else of the chunk.
    required
        Whether the object must exist (the array writes empty chunks); otherwise a missing
        object stands for the fill value and is whole.

    Returns
    -------
    (bool, str or None)
        Presence, and ``"missing"``, ``"cannot be decoded (...)"``, a shard-index problem, or
        None.
    """
    raw = _get(array, object_key(array, index))
    if raw is None:
        return False, "missing" if required else None
    if array.shards is not None:
        return True, _shard_problem(array, index, raw, required)
    codec = chunk_codec(array)
    try:
        if codec is not None:
            decode_chunk(raw, codec)
        else:
            np.asarray(array[object_region(array, index)])
    except Exception as exc:
        return True, _error(exc)
    return True, None


def object_problem(array: zarr.Array, index: tuple[int, ...], *,
                   required: bool = True) -> str | None:
    """What is wrong with the storage object at block ``index`` of ``array``, or None (see
    ``object_status``)."""
    return object_status(array, index, required=required)[1]


def object_is_whole(array: zarr.Array, key: str) -> bool:
    """Whether the storage object at store ``key`` exists and decodes (shards: with every
    inner chunk inside the array, as omescale writes them)."""
    return object_problem(array, object_index(array, key), required=True) is None



def object_done(array: zarr.Array, key: str) -> bool:
    """Whether a resume may skip the storage object at store ``key``: it exists and, on a store
    whose writes are not atomic (``omescale.ngff.store.atomic_writes``), it decodes whole (a
    torn object is rewritten)."""
    if not sync(array.store.exists(key)):
        return False
    return atomic_writes(array.store) or object_is_whole(array, key)
