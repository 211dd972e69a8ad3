"""Inputs: numpy, dask, zarr, OME-Zarr, TIFF (lazy), .npy (memory-mapped), URLs, bad paths."""

import pickle
import shutil

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

import omescale
from omescale.errors import CorruptInputError, InputNotFoundError
from omescale.inputs import InputImage, open_input

IMAGE = (np.arange(37 * 45, dtype=np.uint16) * 7).reshape(37, 45)


def _zarr(path, data=IMAGE, chunks=(10, 16), **kwargs):
    z = zarr.create_array(str(path), shape=data.shape, dtype=data.dtype, chunks=chunks, **kwargs)
    z[:] = data
    return z


def test_numpy_and_dask():
    im = open_input(IMAGE)
    assert isinstance(im, InputImage) and not im.native_chunks
    np.testing.assert_array_equal(im.data.compute(), IMAGE)
    lazy = da.from_array(IMAGE, chunks=(8, 9))
    assert open_input(lazy).data is lazy
    assert open_input(im) is im


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_array_path_and_object(tmp_path, zarr_format):
    z = _zarr(tmp_path / "a.zarr", zarr_format=zarr_format)
    for source in (tmp_path / "a.zarr", str(tmp_path / "a.zarr"), z):
        im = open_input(source)
        assert im.data.chunks[0][:3] == (10, 10, 10)
        np.testing.assert_array_equal(im.data.compute(), IMAGE)
        assert im.location == str((tmp_path / "a.zarr").resolve())


def test_dimension_names_become_axes(tmp_path):
    _zarr(tmp_path / "a.zarr", dimension_names=["y", "x"])
    assert open_input(tmp_path / "a.zarr").axes == "yx"


def test_sharded_zarr_is_read_one_shard_per_task(tmp_path):
    _zarr(tmp_path / "s.zarr", chunks=(5, 8), shards=(20, 32))
    im = open_input(tmp_path / "s.zarr")
    assert im.data.chunks == ((20, 17), (32, 13))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_zarr_image_gives_level0_axes_sizes_and_attributes(tmp_path, zarr_format):
    out = tmp_path / "img.zarr"
    data = np.stack([IMAGE, IMAGE + 1])
    omescale.write_pyramid(data, out, axes="cyx", zarr_format=zarr_format, scale_factors=[2],
                           physical_sizes={"y": 0.25, "x": 0.5}, units={"x": "micrometer"})
    g = zarr.open_group(str(out), mode="r+")
    g.attrs.update({"acquisition": {"date": "today"}})
    im = open_input(out)
    assert im.axes == "cyx"
    assert im.physical_sizes == {"y": 0.25, "x": 0.5}
    assert im.units == {"x": "micrometer"}
    assert im.attributes == {"acquisition": {"date": "today"}}
    np.testing.assert_array_equal(im.data.compute(), data)
    assert open_input(g).axes == "cyx"


def test_tiff_is_lazy_and_out_of_core(tmp_path):
    path = tmp_path / "a.ome.tif"
    stack = np.stack([IMAGE] * 3)
    tifffile.imwrite(path, stack, tile=(16, 16), metadata={"axes": "ZYX"})
    im = open_input(path)
    assert im.axes == "zyx"
    # the graph holds the file name, not the pixels
    assert len(pickle.dumps(im.data)) < stack.nbytes
    np.testing.assert_array_equal(im.data.compute(), stack)
    np.testing.assert_array_equal(im.data[1, 5:9, 30:40].compute(), stack[1, 5:9, 30:40])


def test_npy_is_memory_mapped(tmp_path):
    path = tmp_path / "a.npy"
    big = np.zeros((600, 700), np.float32)
    big[5, 7] = 3
    np.save(path, big)
    im = open_input(path)
    assert len(pickle.dumps(im.data)) < big.nbytes // 10
    assert im.data[5, 7].compute() == 3
    np.testing.assert_array_equal(im.data.compute(), big)


def test_fsspec_url(tmp_path):
    url = "memory://readers/a.zarr"
    z = zarr.create_array(zarr.storage.FsspecStore.from_url(url), shape=IMAGE.shape,
                          dtype=IMAGE.dtype, chunks=(16, 16))
    z[:] = IMAGE
    im = open_input(url)
    np.testing.assert_array_equal(im.data.compute(), IMAGE)
    assert im.location == "memory://readers/a.zarr"
    file_url = "file://" + str(tmp_path / "b.zarr")
    _zarr(tmp_path / "b.zarr")
    np.testing.assert_array_equal(open_input(file_url).data.compute(), IMAGE)


@pytest.mark.parametrize("make, words", [
    (lambda p: p / "missing.zarr", "does not exist"),
    (lambda p: p, "not a zarr array"),
    (lambda p: p / "missing.tif", "does not exist"),
    (lambda p: [1, 2, 3], "not an array"),
])
def test_missing_or_not_an_array(tmp_path, make, words):
    with pytest.raises(InputNotFoundError, match=words):
        open_input(make(tmp_path))


@pytest.mark.parametrize("damage, words", [
    (lambda level: shutil.rmtree(level), "is listed in the metadata but missing"),
    (lambda level: (shutil.rmtree(level), zarr.create_group(str(level))), "is not an array"),
])
def test_image_whose_level_is_gone_or_a_group(tmp_path, damage, words):
    """Every door that opens an image's levels names the broken one."""
    image = tmp_path / "image.zarr"
    omescale.write_pyramid(IMAGE, image, scale_factors=[2], method="nearest", axes="yx")
    labels = np.zeros(IMAGE.shape, np.uint8)
    damage(image / "0")
    for door in (lambda: open_input(image),
                 lambda: omescale.add_levels(image, scale_factors=[2, 4]),
                 lambda: omescale.write_labels(labels, image, "cells")):
        with pytest.raises(InputNotFoundError, match=f"image.zarr/0 {words}"):
            door()


def test_plain_group_is_not_an_image(tmp_path):
    zarr.create_group(str(tmp_path / "g.zarr"))
    with pytest.raises(InputNotFoundError, match="not an OME-Zarr image"):
        open_input(tmp_path / "g.zarr")


@pytest.mark.parametrize("damage", [
    lambda b: b[: len(b) // 2],   # truncated
    lambda b: b"\x00garbage" * 5,  # garbage
])
def test_corrupt_chunk_names_array_and_chunk(tmp_path, damage):
    _zarr(tmp_path / "in.zarr")
    chunk = tmp_path / "in.zarr" / "c" / "2" / "1"
    chunk.write_bytes(damage(chunk.read_bytes()))
    im = open_input(tmp_path / "in.zarr")
    np.testing.assert_array_equal(im.data[:10].compute(), IMAGE[:10])  # healthy chunks read
    with pytest.raises(CorruptInputError) as info:
        im.data.compute()
    message = str(info.value)
    assert "in.zarr" in message and "(2, 1)" in message and "20:30, 16:32" in message


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_a_file_rewritten_in_the_same_process_is_read_afresh(tmp_path, suffix):
    # The opened-file caches are keyed by path, size and mtime: a rewrite is not served stale.
    path = str(tmp_path / f"image{suffix}")

    def write(data):
        if suffix == ".npy":
            np.save(path, data)
        else:
            tifffile.imwrite(path, data)

    first = np.arange(24 * 30, dtype=np.uint16).reshape(24, 30)
    write(first)
    np.testing.assert_array_equal(open_input(path).data.compute(), first)
    for second in (first[::-1].copy(), np.ones((12, 30), np.uint16)):  # same size, then smaller
        write(second)
        image = open_input(path)
        assert image.data.shape == second.shape
        np.testing.assert_array_equal(image.data.compute(), second)
