"""Stacks: a folder or a glob of TIFF or .npy files is one lazy image in natural order."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import zarr

import omescale
from omescale.errors import InputNotFoundError, InvalidShapeError
from omescale.inputs import open_input
from omescale.inputs.stacks import natural_key

# 12 slices: as text z10, z11 sort before z2 (and z1 before z10)
NAMES = [f"z{i}" for i in range(1, 13)]


def _slices(n=12, shape=(23, 17), dtype=np.uint16):
    rng = np.random.default_rng(5)
    return rng.integers(0, 5000, (n, *shape)).astype(dtype)


def _write(folder, data, suffix=".tif"):
    folder.mkdir(exist_ok=True)
    for name, plane in zip(NAMES, data, strict=True):
        if suffix == ".npy":
            np.save(folder / f"{name}.npy", plane)
        else:
            tifffile.imwrite(folder / f"{name}{suffix}", plane)
    return folder


def test_natural_key():
    assert sorted(NAMES) != NAMES
    assert sorted(reversed(NAMES), key=natural_key) == NAMES
    assert sorted(["a/s10.tif", "a/s9.tif", "a/S1.tif"], key=natural_key) == \
        ["a/S1.tif", "a/s9.tif", "a/s10.tif"]


@pytest.mark.parametrize("suffix", [".tif", ".npy"])
@pytest.mark.parametrize("how", ["folder", "glob"])
def test_stack_is_in_natural_order_one_task_per_file(tmp_path, suffix, how):
    data = _slices()
    folder = _write(tmp_path / "slices", data, suffix)
    (folder / "notes.txt").write_text("not a slice")
    path = folder if how == "folder" else str(folder / f"z*{suffix}")
    src = open_input(path)
    assert src.data.shape == (12, 23, 17) and src.data.chunks[0] == (1,) * 12
    assert src.axes == ("zyx" if suffix == ".tif" else None)
    np.testing.assert_array_equal(src.data.compute(), data)
    omescale.write_pyramid(path, tmp_path / "out.zarr", scale_factors=[2], method="nearest",
                           axes="zyx")
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr" / "0"))[:], data)


def test_rgb_slices_become_czyx_and_axes_override_the_new_axis(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.integers(0, 256, (12, 9, 11, 3), dtype=np.uint8)
    (tmp_path / "rgb").mkdir()
    for name, plane in zip(NAMES, data, strict=True):
        tifffile.imwrite(tmp_path / "rgb" / f"{name}.tif", plane, photometric="rgb")
    src = open_input(tmp_path / "rgb")
    assert src.axes == "zyxc"
    omescale.write_pyramid(tmp_path / "rgb", tmp_path / "out.zarr", scale_factors=[2],
                           method="nearest")
    g = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")
    assert [a["name"] for a in g.attrs.asdict()["ome"]["multiscales"][0]["axes"]] == list("czyx")
    np.testing.assert_array_equal(g["0"][:], np.moveaxis(data, -1, 0))
    omescale.write_pyramid(tmp_path / "rgb", tmp_path / "t.zarr", axes="tyxc",
                           scale_factors=[2], method="nearest")
    g = zarr.open_group(str(tmp_path / "t.zarr"), mode="r")
    assert [a["name"] for a in g.attrs.asdict()["ome"]["multiscales"][0]["axes"]] == list("tcyx")


def test_stack_of_3d_blocks_gets_a_t_axis(tmp_path):
    data = _slices(n=12, shape=(8, 6)).reshape(3, 4, 8, 6)
    (tmp_path / "blocks").mkdir()
    for k, block in enumerate(data):
        tifffile.imwrite(tmp_path / "blocks" / f"t{k}.tif", block, photometric="minisblack",
                         metadata={"axes": "ZYX"})
    src = open_input(tmp_path / "blocks")
    assert src.axes == "tzyx" and src.data.chunks[0] == (1, 1, 1)
    np.testing.assert_array_equal(src.data.compute(), data)


@pytest.mark.parametrize("suffix", [".tif", ".npy"])
@pytest.mark.parametrize("odd", [np.zeros((23, 18), np.uint16), np.zeros((23, 17), np.uint8)])
def test_a_slice_of_another_shape_or_dtype_is_named(tmp_path, suffix, odd):
    folder = _write(tmp_path / "slices", _slices(), suffix)
    bad = folder / f"z7{suffix}"
    bad.unlink()
    np.save(bad, odd) if suffix == ".npy" else tifffile.imwrite(bad, odd)
    with pytest.raises(InvalidShapeError, match=r"z7\.(tif|npy) has shape"):
        open_input(folder)
    assert not (tmp_path / "out.zarr").exists()


def test_glob_matching_nothing_and_mixed_kinds(tmp_path):
    with pytest.raises(InputNotFoundError, match="no file matches"):
        open_input(str(tmp_path / "*.tif"))
    folder = _write(tmp_path / "slices", _slices(n=12))
    np.save(folder / "extra.npy", np.zeros((2, 2)))
    with pytest.raises(InputNotFoundError, match=r"both TIFF and \.npy"):
        open_input(folder)
    assert open_input(str(folder / "*.tif")).data.shape == (12, 23, 17)


def test_cli_writes_a_glob_of_slices(tmp_path):
    from omescale.cli import main

    data = _slices()
    folder = _write(tmp_path / "slices", data)
    assert main([str(folder / "*.tif"), str(tmp_path / "out.zarr"), "--levels", "2",
                 "--method", "nearest"]) == 0
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr" / "0"))[:], data)
