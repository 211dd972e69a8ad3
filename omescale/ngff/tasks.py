"""Write tasks: one task per storage object (chunk, or shard when sharding), no locks.

A level's dask blocks equal its storage objects, so each task computes one block and stores it
with one ``set`` on the store (plain chunks encoded by ``omescale.ngff.chunk_io``, everything
else by zarr). LocalStore writes every object to a temporary file and renames
it into place, so an object either exists complete or not at all; object stores (S3, GCS)
give the same guarantee per PUT. Each task returns ``1``; the counts are summed in a tree so
the metadata step depends on every write while no pixel data passes through the client.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import partial

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize

from omescale.lift.layers import new_layer
from omescale.lift.regions import chunk_offsets
from omescale.ngff.chunk_check import object_is_whole
from omescale.ngff.chunk_io import ChunkCodec, chunk_codec, chunk_index, write_chunk
from omescale.ngff.retry import retried
from omescale.ngff.shard_io import ShardCodec, shard_codec, store_shard
from omescale.ngff.store import atomic_writes, list_keys

__all__ = ["block_keys", "missing_blocks", "object_codec", "store_block", "write_all",
           "write_blocks", "write_counts", "write_pieces"]


ObjectCodec = ChunkCodec | ShardCodec


def object_codec(target: zarr.Array) -> ObjectCodec | None:
    """How omescale itself encodes ``target``'s storage objects (None: through zarr)."""
    return chunk_codec(target) if target.shards is None else shard_codec(target)


def store_block(block: np.ndarray, target: zarr.Array, region: tuple[slice, ...]) -> np.ndarray:
    """Write one block to its region; return a one-element count."""
    return _store(block, target, region, object_codec(target))


def _store(block: np.ndarray, target: zarr.Array, region: tuple[slice, ...],
           codec: ObjectCodec | None) -> np.ndarray:
    """``store_block`` with the target's ``object_codec`` given (found once per level)."""
    if isinstance(codec, ShardCodec):
        index = chunk_index(region, codec.shards, target.shape)
        if index is not None and block.dtype == codec.inner.dtype:
            store_shard(block, target, codec, index)  # its store call retries itself
            return np.ones((1,) * block.ndim, dtype=np.int64)
        codec = None
    index = None if codec is None else chunk_index(region, codec.chunks, target.shape)
    if codec is not None and index is not None and block.dtype == codec.dtype:
        write_chunk(target, codec, index, block)  # retries each store call itself
    else:
        retried(lambda: target.__setitem__(region, block),
                f"write of {target.path or 'array'}{[(r.start, r.stop) for r in region]}")
    return np.ones((1,) * block.ndim, dtype=np.int64)


def _write_mapped(block: np.ndarray, target: zarr.Array, offsets: Sequence[Sequence[int]],
                  codec: ObjectCodec | None, block_id: tuple[int, ...] = ()) -> np.ndarray:
    """Write block ``block_id`` (its region from the level's chunk ``offsets``)."""
    region = tuple(slice(o[i], o[i + 1]) for o, i in zip(offsets, block_id, strict=True))
    return _store(block, target, region, codec)


def _check_blocks(level: da.Array, target: zarr.Array) -> None:
    storage = target.shards or target.chunks
    if level.shape != target.shape:
        raise ValueError(f"level shape {level.shape} differs from array {target.shape}")
    for axis, (sizes, size) in enumerate(zip(level.chunks, storage, strict=True)):
        if any(c != size for c in sizes[:-1]) or sizes[-1] > size:
            raise ValueError(
                f"dask blocks {level.chunks} do not match storage objects {storage} on axis {axis}"
            )


def write_counts(level: da.Array, target: zarr.Array) -> da.Array:
    """Lazily write every block of ``level``; a count (1) per block, in the block grid."""
    _check_blocks(level, target)
    # The target and the offsets travel in the function (a partial), and each task gets only
    # its block index: dask walks every task's arguments when it builds the graph, and a
    # ``block_info`` dict per task (or a zarr array as a keyword) is ~50 objects to walk.
    offsets = tuple(tuple(chunk_offsets(c)) for c in level.chunks)
    return da.map_blocks(
        partial(_write_mapped, target=target, offsets=offsets, codec=object_codec(target)),
        level, dtype=np.int64,
        chunks=tuple((1,) * n for n in level.numblocks),
        name="omescale-write-" + tokenize(level.name, target.store_path),
        meta=np.empty((0,) * level.ndim, dtype=np.int64),
    )


def write_all(level: da.Array, target: zarr.Array) -> da.Array:
    """Lazily write every block of ``level``; the result is the number of blocks written."""
    return write_counts(level, target).sum()


def write_blocks(
    level: da.Array, target: zarr.Array, blocks: Sequence[tuple[int, ...]]
) -> da.Array:
    """Lazily write only ``blocks`` (block indices) of ``level``; dask culls the rest."""
    _check_blocks(level, target)
    if not blocks:
        return da.zeros((), dtype=np.int64)
    offsets = [chunk_offsets(c) for c in level.chunks]
    pieces = [(idx, tuple(slice(o[j], o[j + 1]) for o, j in zip(offsets, idx, strict=True)))
              for idx in blocks]
    name = "omescale-resume-" + tokenize(level.name, target.store_path, list(blocks))
    return write_pieces(level, target, pieces, name).sum()


def write_pieces(
    blocks: da.Array, target: zarr.Array,
    pieces: Sequence[tuple[tuple[int, ...], tuple[slice, ...]]], name: str,
) -> da.Array:
    """Lazily write block ``index`` of ``blocks`` to ``region`` of ``target`` for each
    ``(index, region)`` of ``pieces``: one task per piece, straight on the block's key (no
    slicing or joining layer in between); a count (1) per piece, along the first axis.

    Each region must be exactly one storage object of ``target`` (chunk, or shard when
    sharding; cut at the array's end), so no two tasks touch one object.
    """
    storage = target.shards or target.chunks
    layer = {}
    zeros = (0,) * (blocks.ndim - 1)
    for i, (idx, region) in enumerate(pieces):
        for r, c, n in zip(region, storage, target.shape, strict=True):
            if r.start % c or r.stop != min(r.start + c, n):
                raise ValueError(f"region {region} is not one storage object {storage}")
        layer[(name, i, *zeros)] = (store_block, (blocks.name, *idx), target, region)
    graph = new_layer(name, layer, [blocks])
    return da.Array(graph, name, chunks=((1,) * len(pieces), *[(1,)] * len(zeros)),
                    dtype=np.int64, meta=np.empty((0,) * blocks.ndim, dtype=np.int64))


def block_keys(target: zarr.Array) -> dict[str, tuple[int, ...]]:
    """Store key (relative to the store root) of every storage object, by block index."""
    grid = [-(-n // c) for n, c in zip(target.shape, target.shards or target.chunks, strict=True)]
    prefix = f"{target.path}/" if target.path else ""
    encode = target.metadata.encode_chunk_key
    return {prefix + encode(idx): idx for idx in itertools.product(*map(range, grid))}


def missing_blocks(target: zarr.Array) -> list[tuple[int, ...]]:
    """Block indices whose storage object does not exist yet (listed from the store).

    The writer stores every chunk, all-fill ones too (``write_empty_chunks``, set where
    ``omescale.ngff.job`` opens the arrays), so a missing object is one never written. An array
    opened without that setting skips all-fill chunks; those count as missing and are
    recomputed: correct, only a little extra work. On a store whose writes are not atomic
    (fsspec's local file system ...) every present object is decoded, and a torn one counts as
    missing.
    """
    prefix = f"{target.path}/" if target.path else ""
    present = set(retried(lambda: list_keys(target.store, prefix), f"listing of {prefix}"))
    keys = block_keys(target)
    if not atomic_writes(target.store):  # a killed write may have left a torn object
        present = {key for key in present if key in keys and object_is_whole(target, key)}
    return [idx for key, idx in keys.items() if key not in present]
