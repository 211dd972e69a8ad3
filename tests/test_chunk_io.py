"""Direct chunk I/O stores the bytes zarr stores and reads what zarr reads.

Each test writes the same data once through zarr (``array[region] = block``) and once through
``write_chunk`` into a second array with the same metadata, then compares the stores byte for
byte, and reads every chunk back with both.
"""

from __future__ import annotations

import itertools

import numcodecs
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, TransposeCodec, ZstdCodec
from zarr.storage import LocalStore, MemoryStore

from omescale.ngff.chunk_io import chunk_codec, chunk_index, read_chunk, write_chunk
from omescale.ngff.codecs import CODEC_NAMES, compressors

DTYPES = ["uint8", "uint16", "int32", "float32", "float64", "bool"]


def _grid(shape, chunks):
    return itertools.product(*(range(-(-n // c)) for n, c in zip(shape, chunks, strict=True)))


def _region(index, chunks, shape):
    return tuple(slice(i * c, min((i + 1) * c, n))
                 for i, c, n in zip(index, chunks, shape, strict=True))


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 200, size=shape)
    values[..., :1] = 0  # some zero runs, as in real images
    return values.astype(dtype)


def _pair(store_a, store_b, path, **kwargs):
    """Two arrays with the same metadata, at ``path`` inside a group of each store."""
    zarr_format = kwargs.pop("zarr_format")
    return [zarr.open_group(s, mode="w", zarr_format=zarr_format).create_array(path, **kwargs)
            for s in (store_a, store_b)]


def _stored(store) -> dict[str, bytes]:
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    async def items():
        return {k: (await store.get(k, prototype=default_buffer_prototype())).to_bytes()
                async for k in store.list() if "zarr.json" not in k and not k.endswith(
                    (".zarray", ".zattrs", ".zgroup"))}
    return sync(items())


def _write_both(by_zarr, direct, data):
    codec = chunk_codec(direct)
    assert codec is not None
    for index in _grid(data.shape, codec.chunks):
        region = _region(index, codec.chunks, data.shape)
        by_zarr[region] = data[region]
        write_chunk(direct, codec, index, data[region])
    return codec


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("codec_name", CODEC_NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_same_bytes_as_zarr_for_every_codec(tmp_path, zarr_format, codec_name, dtype):
    shape, chunks = (5, 37, 50), (2, 16, 24)  # edge chunks on every axis
    data = _data(shape, dtype)
    by_zarr, direct = _pair(LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b"), "0",
                            shape=shape, chunks=chunks, dtype=dtype, zarr_format=zarr_format,
                            compressors=compressors(codec_name, zarr_format, np.dtype(dtype)))
    codec = _write_both(by_zarr, direct, data)
    stored = _stored(direct.store)
    assert stored == _stored(by_zarr.store)
    assert len(stored) == 3 * 3 * 3
    np.testing.assert_array_equal(direct[...], data)
    for index in _grid(shape, chunks):
        chunk = read_chunk(by_zarr, codec, index)
        assert chunk.flags.writeable and chunk.flags.c_contiguous
        np.testing.assert_array_equal(chunk, data[_region(index, chunks, shape)])


@pytest.mark.parametrize(("zarr_format", "dtype", "compressor"), [
    (3, "uint16", ZstdCodec(level=1, checksum=True)),
    (3, "uint16", GzipCodec(level=4)),
    (3, "uint16", BloscCodec(cname="zstd", clevel=2, shuffle="bitshuffle", typesize=2)),
    (3, "uint16", BloscCodec(cname="lz4", clevel=5, shuffle="noshuffle", typesize=2,
                             blocksize=4096)),
    (2, "int16", numcodecs.GZip(level=3)),
    (2, "int16", numcodecs.Zlib(level=2)),
    (2, "int16", numcodecs.Blosc(cname="zstd", shuffle=2)),
])
def test_same_bytes_for_other_compressors(zarr_format, dtype, compressor):
    shape, chunks = (30, 41), (16, 16)
    data = _data(shape, dtype, seed=zarr_format)
    by_zarr, direct = _pair(MemoryStore(), MemoryStore(), "a/b", shape=shape, chunks=chunks,
                            dtype=dtype, zarr_format=zarr_format, compressors=compressor)
    _write_both(by_zarr, direct, data)
    assert _without_gzip_mtime(_stored(by_zarr.store)) == _without_gzip_mtime(
        _stored(direct.store))


def _without_gzip_mtime(objects: dict[str, bytes]) -> dict[str, bytes]:
    """The objects with a gzip member's MTIME (bytes 4-7 of its header, RFC 1952) zeroed:
    numcodecs' GZip stamps the current second, so two writes a second apart differ there."""
    return {k: v[:4] + bytes(4) + v[8:] if v[:2] == b"\x1f\x8b" else v
            for k, v in objects.items()}


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_fill_value_chunks_are_not_stored_and_read_back_as_fill(tmp_path, zarr_format, local):
    shape, chunks = (20, 20), (8, 8)
    data = np.full(shape, 7, np.uint16)
    data[:8, :8] = np.arange(64).reshape(8, 8)
    stores = ((LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b")) if local
              else (MemoryStore(), MemoryStore()))
    by_zarr, direct = _pair(*stores, "0", shape=shape, chunks=chunks,
                            dtype="uint16", zarr_format=zarr_format, fill_value=7)
    codec = _write_both(by_zarr, direct, data)
    assert _stored(by_zarr.store) == _stored(direct.store)
    assert len(_stored(direct.store)) == 1
    # A chunk that becomes all fill value is deleted, as zarr does.
    write_chunk(direct, codec, (0, 0), np.full((8, 8), 7, np.uint16))
    assert _stored(direct.store) == {}
    for index in _grid(shape, chunks):
        region = _region(index, chunks, shape)
        expected = np.full(tuple(r.stop - r.start for r in region), 7, np.uint16)
        np.testing.assert_array_equal(read_chunk(direct, codec, index), expected)


def test_nan_fill_value_float_chunks():
    by_zarr, direct = _pair(MemoryStore(), MemoryStore(), "0", shape=(4, 4), chunks=(2, 2),
                            dtype="float32", zarr_format=3, fill_value=float("nan"))
    data = np.full((4, 4), np.nan, np.float32)
    data[0, 0] = 1.5
    _write_both(by_zarr, direct, data)
    assert _stored(by_zarr.store) == _stored(direct.store)
    assert len(_stored(direct.store)) == 1


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip_on_random_shapes_and_chunkings(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 13), min_size=ndim, max_size=ndim)))
    chunks = tuple(data.draw(st.integers(1, n + 2)) for n in shape)
    zarr_format = data.draw(st.sampled_from([2, 3]))
    codec_name = data.draw(st.sampled_from(CODEC_NAMES))
    values = _data(shape, "uint16", seed=data.draw(st.integers(0, 9)))
    by_zarr, direct = _pair(MemoryStore(), MemoryStore(), "0", shape=shape, chunks=chunks,
                            dtype="uint16", zarr_format=zarr_format,
                            compressors=compressors(codec_name, zarr_format, np.dtype("u2")))
    codec = _write_both(by_zarr, direct, values)
    assert _stored(by_zarr.store) == _stored(direct.store)
    for index in _grid(shape, chunks):
        np.testing.assert_array_equal(read_chunk(by_zarr, codec, index),
                                      values[_region(index, chunks, shape)])


@pytest.mark.parametrize("kwargs", [
    {"zarr_format": 3, "shards": (8, 8)},
    {"zarr_format": 3, "filters": [TransposeCodec(order=(1, 0))]},
    {"zarr_format": 3, "serializer": BytesCodec(endian="big")},
    {"zarr_format": 2, "filters": [numcodecs.Delta(dtype="u2")]},
    {"zarr_format": 2, "order": "F"},
])
def test_other_layouts_go_through_zarr(kwargs):
    array = zarr.create_array(MemoryStore(), shape=(16, 16), chunks=(4, 4), dtype="uint16",
                              **kwargs)
    assert chunk_codec(array) is None


def test_big_endian_format2_goes_through_zarr():
    array = zarr.create_array(MemoryStore(), shape=(4,), chunks=(2,), dtype=">u2", zarr_format=2)
    assert chunk_codec(array) is None


def test_corrupt_chunks_raise():
    array = zarr.create_array(MemoryStore(), shape=(8, 8), chunks=(8, 8), dtype="uint16",
                              zarr_format=3, compressors=compressors("blosc-lz4", 3, np.uint16))
    codec = chunk_codec(array)
    write_chunk(array, codec, (0, 0), _data((8, 8), "uint16"))
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync
    frame = sync(array.store.get("c/0/0", prototype=default_buffer_prototype())).to_bytes()
    for bad in (frame[:-3], frame[:10], b"", frame[:4] + (10).to_bytes(4, "little") + frame[8:]):
        sync(array.store.set("c/0/0", default_buffer_prototype().buffer.from_bytes(bad)))
        with pytest.raises(ValueError, match="blosc frame"):
            read_chunk(array, codec, (0, 0))


def test_wrong_size_uncompressed_chunk_raises():
    array = zarr.create_array(MemoryStore(), shape=(8,), chunks=(8,), dtype="uint16",
                              zarr_format=2, compressors=None)
    codec = chunk_codec(array)
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync
    sync(array.store.set("0", default_buffer_prototype().buffer.from_bytes(b"\0" * 15)))
    with pytest.raises(ValueError, match="decodes to 15 bytes"):
        read_chunk(array, codec, (0,))


@pytest.mark.parametrize(("region", "expected"), [
    ((slice(0, 4), slice(4, 8)), (0, 1)),
    ((slice(8, 10), slice(8, 10)), (2, 2)),       # cut at the array's end
    ((slice(8, None), slice(8, 10)), (2, 2)),
    ((slice(0, 3), slice(0, 4)), None),           # part of a chunk
    ((slice(0, 8), slice(0, 4)), None),           # two chunks
    ((slice(2, 6), slice(0, 4)), None),           # across a border
    ((slice(0, 4, 2), slice(0, 4)), None),        # strided
])
def test_chunk_index(region, expected):
    assert chunk_index(region, (4, 4), (10, 10)) == expected


def test_a_chunk_differing_only_at_its_end_is_stored():
    """The all-fill check runs in slices; a value past the first slices still counts."""
    array = zarr.create_array(MemoryStore(), shape=(300, 300), chunks=(300, 300), dtype="uint16",
                              zarr_format=3)
    codec = chunk_codec(array)
    block = np.zeros((300, 300), np.uint16)
    block[-1, -1] = 1
    write_chunk(array, codec, (0, 0), block)
    assert len(_stored(array.store)) == 1
    np.testing.assert_array_equal(array[...], block)
    write_chunk(array, codec, (0, 0), np.zeros((300, 300), np.uint16))
    assert _stored(array.store) == {}


def test_fsspec_store_same_bytes_as_zarr():
    from zarr.storage import FsspecStore

    stores = [FsspecStore.from_url(f"memory://omescale-chunk-io/{name}") for name in "ab"]
    shape, chunks = (20, 30), (8, 16)
    data = _data(shape, "uint16", seed=3)
    by_zarr, direct = _pair(*stores, "0", shape=shape, chunks=chunks, dtype="uint16",
                            zarr_format=3, compressors=compressors("blosc-lz4", 3, np.uint16))
    codec = _write_both(by_zarr, direct, data)
    assert _stored(by_zarr.store) == _stored(direct.store)
    assert len(_stored(direct.store)) == 6
    for index in _grid(shape, chunks):
        np.testing.assert_array_equal(read_chunk(direct, codec, index),
                                      data[_region(index, chunks, shape)])


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("codec_name", CODEC_NAMES)
def test_the_writers_arrays_take_the_direct_path(tmp_path, zarr_format, codec_name):
    """Every level omescale writes unsharded is one it reads and writes itself (and reads back
    the same as zarr does); sharded levels go through zarr."""
    import omescale

    image = _data((40, 50), "uint16", seed=4)
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(image, out, scale_factors=[2, 4], axes="yx", chunks=(16, 16),
                           codec=codec_name, zarr_format=zarr_format)
    group = zarr.open_group(out, mode="r")
    for path in ("0", "1", "2"):
        level = group[path]
        codec = chunk_codec(level)
        assert codec is not None
        for index in _grid(level.shape, codec.chunks):
            region = _region(index, codec.chunks, level.shape)
            np.testing.assert_array_equal(read_chunk(level, codec, index), level[region])
    sharded = tmp_path / "sharded.zarr"
    omescale.write_pyramid(image, sharded, scale_factors=[2], axes="yx", chunks=(8, 8),
                           shards=(16, 16), codec=codec_name)
    assert chunk_codec(zarr.open_group(sharded, mode="r")["0"]) is None


def _file_calls_here(call) -> list[str]:
    """Names of zarr LocalStore's file functions (``_get``, ``_put``) that ``call()`` ran in
    the calling thread (``sys.setprofile`` sees this thread only)."""
    import sys

    seen = []

    def profile(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename.endswith("_local.py") and code.co_name in (
                "_get", "_put"):
            seen.append(code.co_name)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return seen


def test_a_local_store_chunk_is_read_and_written_in_the_calling_thread(tmp_path):
    """A plain LocalStore: the file I/O runs in the task's own thread (no hand-off to zarr's
    event loop and its I/O threads); a subclass, which may override the async methods, keeps
    zarr's async path, and the bytes are the same on both."""

    class Subclass(LocalStore):
        pass

    data = _data((20, 30), "uint16", seed=6)
    stored = []
    for name, make in (("plain", LocalStore), ("sub", Subclass)):
        array = zarr.create_array(make(str(tmp_path / name)), shape=(20, 30), chunks=(8, 16),
                                  dtype="uint16", compressors=compressors("zstd", 3, np.uint16))
        codec = chunk_codec(array)
        here = _file_calls_here(lambda a=array, c=codec: [
            write_chunk(a, c, index, data[_region(index, (8, 16), (20, 30))])
            for index in _grid((20, 30), (8, 16))])
        assert here == (["_put"] * 6 if name == "plain" else []), name
        read = _file_calls_here(lambda a=array, c=codec: np.testing.assert_array_equal(
            read_chunk(a, c, (2, 1)), data[16:, 16:]))
        assert read == (["_get"] if name == "plain" else []), name
        stored.append(_stored(array.store))
    assert stored[0] == stored[1]
