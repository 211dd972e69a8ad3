"""Shards written from their inner chunks, each encoded on its own.

zarr-python writes a shard from the whole shard's array: with 64x2048x2048 uint16 shards a
writer holds the 512 MiB shard joined from its blocks, and zarr's encoding of it, at once.
Here each inner chunk is encoded by itself (``encode_inner``, as soon as its block is
computed), and a shard is assembled from the encoded frames alone (``shard_bytes``), so a
shard's raw pixels are never whole in memory: only its compressed frames are.

The layout is zarr's ``ShardingCodec``'s: the frames of the inner chunks that start inside
the array, in Morton order, then the index (offset and length of every inner chunk as
little-endian uint64, 2**64 - 1 twice for an absent one, then its crc32c when the index codecs
say so), at the end of the shard or at its start. An inner chunk that is all fill value is
absent when the array does not write empty chunks, and a shard with no inner chunk is deleted,
as zarr does. ``tests/test_shard_io.py`` compares every byte with zarr's own writes.

Only the layouts ``shard_codec`` accepts come here (inner chunks: the bytes codec, at most one
compressor that ``omescale.ngff.chunk_io`` handles, an optional crc32c; index: bytes and an
optional crc32c; no codec before the sharding one); anything else goes through zarr.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import google_crc32c
import numpy as np
import zarr
from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec

from omescale.ngff.chunk_io import (
    ChunkCodec,
    encode_chunk,
    fill_value,
    object_key,
    put_object,
    supported_store,
    v3_compressor,
)

__all__ = ["ShardCodec", "encode_inner", "index_layout", "inner_regions", "morton_order",
           "shard_bytes", "shard_codec", "store_shard", "write_shard"]

_ABSENT = np.uint64(2**64 - 1)

Coords = tuple[int, ...]


@dataclass(frozen=True)
class ShardCodec:
    """How one sharded array stores its shards (see the module docstring)."""

    inner: ChunkCodec  # one inner chunk's frame, before its checksum
    inner_checksum: bool
    shape: tuple[int, ...]
    shards: tuple[int, ...]
    index_at_start: bool
    index_checksum: bool

    @property
    def per_shard(self) -> tuple[int, ...]:
        return tuple(s // c for s, c in zip(self.shards, self.inner.chunks, strict=True))


def _checksummed(chain: tuple) -> tuple[tuple, bool]:
    """``chain`` without a trailing crc32c codec, and whether it had one."""
    if chain and isinstance(chain[-1], Crc32cCodec):
        return chain[:-1], True
    return chain, False


def _little_bytes(codec: object) -> bool:
    endian = getattr(codec, "endian", None)
    return isinstance(codec, BytesCodec) and (
        endian is None or str(getattr(endian, "value", endian)) == "little")


def index_layout(sharding: ShardingCodec) -> tuple[str, int] | None:
    """(location, ``"start"`` or ``"end"``; bytes of its crc32c, 0 or 4) of a shard index of
    little-endian uint64 (offset, length) pairs, or None for index codecs other than those."""
    index, checksum = _checksummed(tuple(sharding.index_codecs))
    if len(index) != 1 or not _little_bytes(index[0]):
        return None
    return str(getattr(sharding.index_location, "value", sharding.index_location)), 4 * checksum


def shard_codec(array: zarr.Array) -> ShardCodec | None:
    """How ``array`` stores its shards, if this module can write them, else None."""
    if array.shards is None or not supported_store(array):
        return None
    codecs = tuple(array.metadata.codecs)  # type: ignore[union-attr]
    if len(codecs) != 1 or not isinstance(codecs[0], ShardingCodec):
        return None
    sharding = codecs[0]
    # zarr 3.4 can lay inner chunks out in another order; only its default is written here.
    if str(getattr(sharding, "subchunk_write_order", "morton")) != "morton":
        return None
    inner, inner_checksum = _checksummed(tuple(sharding.codecs))
    ok, compressor = v3_compressor(inner)
    layout = index_layout(sharding)
    if not ok or layout is None:
        return None
    location, checksum = layout
    dtype = np.dtype(array.dtype)
    return ShardCodec(
        inner=ChunkCodec(compressor, False, dtype, tuple(sharding.chunk_shape), fill_value(array),
                         bool(array.config.write_empty_chunks)),
        inner_checksum=inner_checksum, shape=tuple(array.shape), shards=tuple(array.shards),
        index_at_start=location == "start", index_checksum=bool(checksum),
    )


@functools.lru_cache(maxsize=16)
def morton_order(per_shard: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every inner chunk of a shard of ``per_shard`` chunks in Morton (Z) order, as zarr lays
    them out: the code of a chunk interleaves the bits of its coordinates, lowest first, the
    first axis first, skipping an axis once its own bits are used up."""
    bits = [(n - 1).bit_length() for n in per_shard]

    def code(coords: tuple[int, ...]) -> int:
        out, shift = 0, 0
        for bit in range(max(bits, default=0)):
            for axis, b in enumerate(bits):
                if bit < b:
                    out |= ((coords[axis] >> bit) & 1) << shift
                    shift += 1
        return out

    return tuple(sorted(itertools.product(*map(range, per_shard)), key=code))


def _crc(data: bytes) -> bytes:
    return np.array([google_crc32c.value(data)], dtype="<u4").tobytes()


def encode_inner(block: np.ndarray, codec: ShardCodec) -> bytes | None:
    """The frame of one inner chunk holding ``block`` (cut at the array's end), or None when
    the chunk is absent from its shard (all fill value, empty chunks not written)."""
    frame = encode_chunk(block, codec.inner)
    if frame is None:
        return None
    frame = frame if isinstance(frame, bytes) else bytes(frame)
    return frame + _crc(frame) if codec.inner_checksum else frame


def inner_regions(codec: ShardCodec, index: Coords) -> dict[Coords, tuple[slice, ...]]:
    """The inner chunks of shard ``index`` that start inside the array (the ones zarr writes),
    by their coordinates in the shard: their regions of the array, cut at its end."""
    ranges = []
    for i, s, c, n in zip(index, codec.shards, codec.inner.chunks, codec.shape, strict=True):
        lo = i * s
        ranges.append([(j, slice(lo + j * c, min(lo + (j + 1) * c, n)))
                       for j in range(s // c) if lo + j * c < n])
    return {tuple(j for j, _ in picks): tuple(r for _, r in picks)
            for picks in itertools.product(*ranges)}


def _index_bytes(entries: np.ndarray, checksum: bool) -> bytes:
    data = entries.astype("<u8").tobytes()
    return data + _crc(data) if checksum else data


def shard_bytes(codec: ShardCodec, frames: Mapping[Coords, bytes | None]) -> bytes | None:
    """The stored shard holding the inner chunks' ``frames`` (by coordinates in the shard;
    None or missing: absent), or None when it holds none (zarr then deletes the shard)."""
    per_shard = codec.per_shard
    entries = np.full((*per_shard, 2), _ABSENT, dtype=np.uint64)
    held: list[bytes] = []
    offset = 0
    for coords in morton_order(per_shard):
        frame = frames.get(coords)
        if not frame:
            continue
        entries[coords] = (offset, len(frame))
        held.append(frame)
        offset += len(frame)
    if not held:
        return None
    if codec.index_at_start:
        size = 16 * math.prod(per_shard) + 4 * codec.index_checksum
        entries[entries[..., 0] != _ABSENT, 0] += np.uint64(size)
        return b"".join([_index_bytes(entries, codec.index_checksum), *held])
    return b"".join([*held, _index_bytes(entries, codec.index_checksum)])


def write_shard(array: zarr.Array, codec: ShardCodec, index: Coords,
                frames: Mapping[Coords, bytes | None]) -> None:
    """Store shard ``index`` of ``array`` from its inner chunks' ``frames`` (one ``set``), or
    delete it when it holds no inner chunk: what zarr stores for the same values."""
    put_object(array.store, object_key(array, index), shard_bytes(codec, frames))


def store_shard(block: np.ndarray, array: zarr.Array, codec: ShardCodec,
                index: Coords) -> None:
    """Store ``block``, the whole of shard ``index`` (cut at the array's end), encoding its
    inner chunks one by one."""
    origin = tuple(i * s for i, s in zip(index, codec.shards, strict=True))
    frames = {}
    for coords, region in inner_regions(codec, index).items():
        local = tuple(slice(r.start - o, r.stop - o) for r, o in zip(region, origin, strict=True))
        frames[coords] = encode_inner(block[local], codec)
    write_shard(array, codec, index, frames)
