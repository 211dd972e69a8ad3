"""Shards assembled from inner chunks encoded one at a time (omescale.ngff.shard_io) equal
zarr's own shards byte for byte, and a streamed sharded write never holds a whole shard."""

from __future__ import annotations

import itertools

import dask
import numpy as np
import pytest
import zarr
from _ngff_util import tree_bytes, zarr_input
from dask.callbacks import Callback
from zarr.codecs import (
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)

import omescale
from omescale.ngff.shard_io import shard_codec, store_shard
from omescale.ngff.tasks import store_block

RNG = np.random.default_rng(5)
# 10x13x7 in shards of 4x8x6 and inner chunks of 2x4x3: shards cut at every far edge, inner
# chunks partly outside the array (kept, padded) and wholly outside it (absent).
SHAPE, SHARDS, INNER = (10, 13, 7), (4, 8, 6), (2, 4, 3)


def _array(path, dtype, *, compressor, inner_crc, index_crc, location, write_empty,
           before=(), shape=SHAPE, shards=SHARDS, inner_chunks=INNER):
    inner = [BytesCodec(), *([compressor] if compressor else []),
             *([Crc32cCodec()] if inner_crc else [])]
    sharding = ShardingCodec(chunk_shape=inner_chunks, codecs=inner, index_location=location,
                             index_codecs=[BytesCodec(), *([Crc32cCodec()] if index_crc else [])])
    return zarr.create(store=zarr.storage.LocalStore(str(path)), shape=shape, chunks=shards,
                       dtype=dtype, fill_value=0, zarr_format=3, codecs=[*before, sharding],
                       config={"write_empty_chunks": write_empty})


def _image(dtype):
    x = RNG.integers(0, 5, SHAPE).astype(dtype)
    x[:2, :4, :3] = 0  # one inner chunk all fill value
    x[8:, 8:, :] = 0  # so is the in-bounds part of a partial shard's corner
    return x


def _shard_regions(shape=SHAPE, shards=SHARDS):
    grid = [-(-n // s) for n, s in zip(shape, shards, strict=True)]
    for index in itertools.product(*map(range, grid)):
        yield index, tuple(slice(i * s, min((i + 1) * s, n))
                           for i, s, n in zip(index, shards, shape, strict=True))


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("write_empty", [True, False])
@pytest.mark.parametrize(("compressor", "inner_crc", "index_crc", "location"), [
    (None, False, True, "end"),
    (ZstdCodec(level=3), False, True, "end"),
    (ZstdCodec(level=1, checksum=True), True, False, "start"),
    (BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"), False, True, "start"),
    (BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle"), True, True, "end"),
])
def test_shards_equal_zarrs_byte_for_byte(tmp_path, dtype, write_empty, compressor, inner_crc,
                                          index_crc, location):
    x = _image(dtype)
    kw = {"compressor": compressor, "inner_crc": inner_crc, "index_crc": index_crc,
          "location": location, "write_empty": write_empty}
    theirs = _array(tmp_path / "zarr.zarr", dtype, **kw)
    theirs[...] = x
    ours = _array(tmp_path / "ours.zarr", dtype, **kw)
    codec = shard_codec(ours)
    assert codec is not None
    for index, region in _shard_regions():
        store_shard(x[region], ours, codec, index)
    expected = tree_bytes(tmp_path / "zarr.zarr")
    assert len(expected) >= 5  # zarr.json and the shards (an all-empty shard is absent)
    assert tree_bytes(tmp_path / "ours.zarr") == expected
    np.testing.assert_array_equal(ours[...], x)


@pytest.mark.parametrize(("shape", "shards", "inner"), [
    ((13, 11, 17), (6, 6, 10), (2, 3, 2)),  # 3x2x5 inner chunks per shard: not powers of two
    ((9, 40), (9, 40), (1, 5)),  # 9x8 per shard, one shard
    ((70,), (32,), (4,)),  # 1-D, 8 per shard
])
def test_morton_layout_of_any_shard_grid_equals_zarrs(tmp_path, shape, shards, inner):
    x = RNG.integers(1, 200, shape).astype("uint16")
    geometry = {"shape": shape, "shards": shards, "inner_chunks": inner}
    kw = {"compressor": ZstdCodec(level=3), "inner_crc": False, "index_crc": True,
          "location": "end", "write_empty": True, **geometry}
    theirs = _array(tmp_path / "zarr.zarr", "uint16", **kw)
    theirs[...] = x
    ours = _array(tmp_path / "ours.zarr", "uint16", **kw)
    codec = shard_codec(ours)
    for index, region in _shard_regions(shape, shards):
        store_shard(x[region], ours, codec, index)
    assert tree_bytes(tmp_path / "ours.zarr") == tree_bytes(tmp_path / "zarr.zarr")


def test_gzip_shards_decode_to_the_same_values(tmp_path):
    # gzip frames carry their write time, so only the values can be compared with zarr's.
    x = _image("uint16")
    ours = _array(tmp_path / "ours.zarr", "uint16", compressor=GzipCodec(level=5),
                  inner_crc=False, index_crc=True, location="end", write_empty=True)
    codec = shard_codec(ours)
    for index, region in _shard_regions():
        store_shard(x[region], ours, codec, index)
    np.testing.assert_array_equal(ours[...], x)


def test_a_shard_with_no_inner_chunk_is_deleted_as_zarr_does(tmp_path):
    ours = _array(tmp_path / "ours.zarr", "uint16", compressor=ZstdCodec(level=3),
                  inner_crc=False, index_crc=True, location="end", write_empty=False)
    codec = shard_codec(ours)
    region = (slice(0, 4), slice(0, 8), slice(0, 6))
    store_shard(np.ones((4, 8, 6), np.uint16), ours, codec, (0, 0, 0))
    assert (tmp_path / "ours.zarr/c/0/0/0").exists()
    store_shard(np.zeros((4, 8, 6), np.uint16), ours, codec, (0, 0, 0))
    assert not (tmp_path / "ours.zarr/c/0/0/0").exists()
    assert not ours[region].any()


@pytest.mark.filterwarnings("ignore:Combining a `sharding_indexed` codec")
def test_a_layout_omescale_does_not_encode_goes_through_zarr(tmp_path):
    x = _image("uint16")
    kw = {"compressor": ZstdCodec(level=3), "inner_crc": False, "index_crc": True,
          "location": "end", "write_empty": True, "before": [TransposeCodec(order=(2, 1, 0))]}
    ours = _array(tmp_path / "ours.zarr", "uint16", **kw)
    assert shard_codec(ours) is None
    for _, region in _shard_regions():
        store_block(x[region], ours, region)
    theirs = _array(tmp_path / "zarr.zarr", "uint16", **kw)
    theirs[...] = x
    assert tree_bytes(tmp_path / "ours.zarr") == tree_bytes(tmp_path / "zarr.zarr")


class _Largest(Callback):
    """The largest numpy array any task returned."""

    def __init__(self):
        super().__init__()
        self.nbytes = 0

    def _posttask(self, key, result, dsk, state, id):
        if isinstance(result, np.ndarray):
            self.nbytes = max(self.nbytes, result.nbytes)


def test_a_streamed_write_never_joins_a_shard(tmp_path):
    image = RNG.integers(0, 60000, size=(4, 192, 160), dtype=np.uint16)
    source = zarr_input(tmp_path / "in.zarr", image, (4, 32, 32))
    kw = {"chunks": (4, 16, 16), "shards": (4, 64, 64), "zarr_format": 3, "method": "resize"}
    largest = _Largest()
    with dask.config.set({"omescale.unit-bytes": 4 * 128 * 128 * 2}), largest:
        job = omescale.write_pyramid(source, tmp_path / "s.zarr", stream=True, compute=False,
                                     **kw)
        assert job.streamed
        job.run()
    # The largest results are the 4x32x32 input chunks read (one task each); everything
    # computed after them is at most one 4x16x16 inner chunk: never a 4x64x64 shard.
    assert 0 < largest.nbytes <= 4 * 32 * 32 * 2
    computed = _Largest()
    with computed:
        omescale.write_pyramid(source, tmp_path / "g.zarr", stream=False, **kw)
    assert computed.nbytes >= 4 * 64 * 64 * 2  # the one graph writes whole shard blocks
    assert tree_bytes(tmp_path / "s.zarr") == tree_bytes(tmp_path / "g.zarr")
    zarr_copy = zarr.open_array(str(tmp_path / "s.zarr" / "1"))
    expected = zarr.create_array(str(tmp_path / "z.zarr"), shape=zarr_copy.shape,
                                 chunks=zarr_copy.chunks, shards=zarr_copy.shards,
                                 dtype=zarr_copy.dtype, compressors=zarr_copy.compressors,
                                 fill_value=zarr_copy.fill_value,
                                 config={"write_empty_chunks": True})
    expected[...] = zarr_copy[...]
    ours = {k: v for k, v in tree_bytes(tmp_path / "s.zarr" / "1").items() if "zarr.json" not in k}
    theirs = {k: v for k, v in tree_bytes(tmp_path / "z.zarr").items() if "zarr.json" not in k}
    assert ours == theirs and len(ours) == 2 * 2  # level 1 is 4x96x80 in 4x64x64 shards
