"""Inputs in any axis order: RGB/RGBA TIFF (series axes YXS), numpy with axes="yxc", TIFF
series axes (TZCYX, QYX), lazy transpose with one task per block, channels never downsampled."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr
from references import assert_matches_reference, expected

import omescale
from omescale.axes import ngff_permutation, validate_axes, validate_input_axes
from omescale.errors import InvalidAxesError
from omescale.inputs import open_input
from omescale.inputs.tiff import ngff_letters


def _rgb(samples, shape=(67, 45), seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (*shape, samples), dtype=np.uint8)


def _written(path):
    g = zarr.open_group(str(path), mode="r")
    ms = g.attrs.asdict()["ome"]["multiscales"][0]
    return [a["name"] for a in ms["axes"]], [g[d["path"]][:] for d in ms["datasets"]]


def _check_levels(axes, levels, image_yxc, method="resize"):
    """Level 0 is the image with its channels moved first; each level k+1 is the whole-array
    reference of level k with factor 1 on c (channels never downsampled)."""
    assert axes == ["c", "y", "x"]
    np.testing.assert_array_equal(levels[0], np.moveaxis(image_yxc, -1, 0))
    for k in range(1, len(levels)):
        prev = levels[k - 1]
        assert levels[k].shape[0] == image_yxc.shape[-1]
        pairs = zip(prev.shape, levels[k].shape, strict=True)
        factors = tuple(int(np.ceil(p / n)) for p, n in pairs)
        assert factors[0] == 1
        assert_matches_reference(levels[k], expected(method, prev, factors), method)


@pytest.mark.parametrize("samples", [3, 4])
def test_rgb_and_rgba_tiff_give_cyx(tmp_path, samples):
    image = _rgb(samples)
    extra = {"extrasamples": ["unassalpha"]} if samples == 4 else {}
    tifffile.imwrite(tmp_path / "rgb.tif", image, photometric="rgb", **extra)
    src = open_input(tmp_path / "rgb.tif")
    assert src.axes == "yxc" and src.data.shape == image.shape
    omescale.write_pyramid(tmp_path / "rgb.tif", tmp_path / "out.zarr", scale_factors=[2, 4])
    axes, levels = _written(tmp_path / "out.zarr")
    assert [lv.shape for lv in levels] == [(samples, 67, 45), (samples, 34, 23), (samples, 17, 12)]
    _check_levels(axes, levels, image)


@pytest.mark.parametrize("samples", [3, 4])
@pytest.mark.parametrize("lazy", [False, True])
def test_numpy_and_dask_with_axes_yxc(tmp_path, samples, lazy):
    image = _rgb(samples, seed=samples)
    data = da.from_array(image, chunks=(20, 16, samples)) if lazy else image
    omescale.write_pyramid(data, tmp_path / "out.zarr", axes="yxc", scale_factors=[2, 4],
                           method="local_mean")
    axes, levels = _written(tmp_path / "out.zarr")
    _check_levels(axes, levels, image, method="local_mean")


def test_pyramid_levels_are_in_ngff_order():
    image = _rgb(3)
    levels = omescale.pyramid(image, [2], axes="yxc", method="nearest")
    np.testing.assert_array_equal(levels[0], np.moveaxis(image, -1, 0))
    assert levels[1].shape == (3, 34, 23)
    lazy = omescale.pyramid(da.from_array(image, chunks=(16, 16, 3)), [2], axes="yxc",
                            method="nearest")
    np.testing.assert_array_equal(lazy[1].compute(), levels[1])


def test_zcyx_input_is_written_czyx_with_sizes_by_name(tmp_path):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 4000, (6, 2, 40, 30), dtype=np.uint16)  # z, c, y, x
    omescale.write_pyramid(image, tmp_path / "out.zarr", axes="zcyx", scale_factors=[2],
                           physical_sizes={"z": 2.0, "y": 0.5, "x": 0.25}, method="nearest")
    g = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")
    ms = g.attrs.asdict()["ome"]["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["c", "z", "y", "x"]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [1.0, 2.0, 0.5, 0.25]
    np.testing.assert_array_equal(g["0"][:], np.transpose(image, (1, 0, 2, 3)))


def test_transpose_adds_one_task_per_input_block_and_no_rechunk(tmp_path):
    """The yxc write graph is the cyx one plus exactly one transpose task per input block."""
    from omescale.cli_report import _write_tasks
    from omescale.inputs.order import in_ngff_order
    from omescale.ngff.job import storage_layout
    from omescale.plan import plan_pyramid

    image = _rgb(3, shape=(300, 200))
    counts = []
    for data, axes in ((da.from_array(image, chunks=(64, 64, 3)), "yxc"),
                       (da.from_array(np.moveaxis(image, -1, 0).copy(), chunks=(3, 64, 64)),
                        "cyx")):
        src = in_ngff_order(open_input(data), axes)
        assert src.data.chunks == ((3,), (64,) * 4 + (44,), (64,) * 3 + (8,))
        plan = plan_pyramid(src.data.shape, src.data.dtype, axes=src.axes, chunks=64)
        counts.append(_write_tasks(src.data, plan, storage_layout(plan, None, 3, "none"), 3))
    assert counts[0] == counts[1] + 5 * 4


@pytest.mark.parametrize("series_axes, shape, letters, dropped", [
    ("YXS", (4, 5, 3), "yxc", ()),
    ("TZCYX", (2, 3, 4, 5, 6), "tzcyx", ()),
    ("ZYX", (3, 5, 6), "zyx", ()),
    ("QYX", (7, 5, 6), "zyx", ()),
    ("IYX", (7, 5, 6), "zyx", ()),
    ("ZIYX", (2, 7, 5, 6), "ztyx", ()),
    ("CYXS", (1, 5, 6, 3), "yxc", (0,)),
    ("TZCYXS", (1, 3, 2, 5, 6, 1), "zcyx", (0, 5)),
])
def test_tiff_series_axes(series_axes, shape, letters, dropped):
    assert ngff_letters(series_axes, shape) == (letters, dropped)


def test_tiff_series_axes_without_meaning_are_refused():
    with pytest.raises(InvalidAxesError, match="'S' of length 3"):
        ngff_letters("CYXS", (2, 5, 6, 3))


def test_imagej_hyperstack_keeps_its_axes(tmp_path):
    image = np.arange(2 * 3 * 4 * 8 * 9, dtype=np.uint16).reshape(2, 3, 4, 8, 9)
    tifffile.imwrite(tmp_path / "h.tif", image, imagej=True, metadata={"axes": "TZCYX"})
    src = open_input(tmp_path / "h.tif")
    assert src.axes == "tzcyx"
    omescale.write_pyramid(tmp_path / "h.tif", tmp_path / "out.zarr", scale_factors=[2],
                           method="nearest")
    axes, levels = _written(tmp_path / "out.zarr")
    assert axes == list("tczyx")
    np.testing.assert_array_equal(levels[0], np.transpose(image, (0, 2, 1, 3, 4)))


@pytest.mark.parametrize("axes, words", [
    ("yxq", "unknown letters"), ("yyx", "repeats"), ("yx", "letters"), ("zcy", "'y' and 'x'"),
])
def test_bad_input_axes(axes, words):
    with pytest.raises(InvalidAxesError, match=words):
        validate_input_axes(axes, 3)
    with pytest.raises(InvalidAxesError, match=words):
        omescale.write_pyramid(np.zeros((4, 5, 6), np.uint8), "memory://never.zarr", axes=axes)


def test_any_order_is_valid_input_but_ngff_order_is_required_inside():
    assert ngff_permutation("xcyz") == ("czyx", (1, 3, 2, 0))
    assert validate_input_axes("xy", 2) == "xy"
    with pytest.raises(InvalidAxesError, match="out of order"):
        validate_axes("xy", 2)


def test_cli_axes_between_input_and_output_and_dry_run_says_where_axes_came_from(
        tmp_path, capsys):
    from omescale.cli import main

    np.save(tmp_path / "rgb.npy", _rgb(3))
    assert main([str(tmp_path / "rgb.npy"), str(tmp_path / "o.zarr"), "--dry-run"]) == 0
    assert "axes zyx (inferred from 3 dimensions" in capsys.readouterr().out
    argv = [str(tmp_path / "rgb.npy"), "--axes", "yxc", str(tmp_path / "o.zarr"), "--levels", "2"]
    assert main([*argv, "--dry-run"]) == 0
    assert "axes cyx (given, input order yxc)" in capsys.readouterr().out
    assert main(argv) == 0
    axes, levels = _written(tmp_path / "o.zarr")
    _check_levels(axes, levels, _rgb(3))
