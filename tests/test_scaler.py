"""``omescale.Scaler`` against ome-zarr-py's ``Scaler``: equal where it is right, else fixed."""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.transform as skt
import zarr
from references import assert_matches_reference, assert_within_spec, cast_like

from omescale import Methods, OmescaleError, Scaler, downsample
from omescale.errors import InvalidMethodError, LabelValuesError, OutputExistsError

ome_scale = pytest.importorskip("ome_zarr.scale")


def ome_scaler(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ome-zarr deprecated its Scaler
        return ome_scale.Scaler(**kwargs)


def smooth_image(shape, dtype="uint16", seed=0):
    """A realistic-ish image: smooth structure plus noise, spanning much of the dtype."""
    rng = np.random.default_rng(seed)
    x = ndi.gaussian_filter(rng.random(shape), sigma=2) * 4 + rng.random(shape) * 0.2
    x = (x - x.min()) / (x.max() - x.min())
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return (x * min(np.iinfo(dtype).max, 60000)).astype(dtype)
    return (x * 1000).astype(dtype)


def assert_rounds_what_ome_zarr_truncates(ours, theirs):
    """ome-zarr casts its float result with ``astype`` (truncation); omescale rounds it
    half-to-even (SPEC section 2). On non-negative images ours is theirs or theirs + 1."""
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    step = ours.astype(np.int64) - theirs.astype(np.int64)
    assert set(np.unique(step)) <= {0, 1}, np.unique(step)


def never_compute(*args, **kwargs):
    raise AssertionError("a Scaler method computed a dask array while building it")


# --- the surface ---------------------------------------------------------------------------------


def test_methods_and_attributes_match_ome_zarr():
    assert list(Scaler.methods()) == list(ome_scale.Scaler.methods())
    ours = {f.name: f.default for f in dataclasses.fields(Scaler)}
    theirs = {f.name: f.default for f in dataclasses.fields(ome_scale.Scaler)}
    assert theirs.items() <= ours.items()


def test_unknown_method_is_an_omescale_error():
    with pytest.raises(InvalidMethodError, match="choose one of"):
        Scaler(method="bilinear").func  # noqa: B018


# --- where ome-zarr is right: same shapes, same values (it truncates what we round) -------------


@pytest.mark.parametrize("shape", [(64, 64), (67, 101), (3, 45, 38), (1, 2, 1, 33, 20)])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_nearest_equals_ome_zarr(shape, dtype):
    x = smooth_image(shape, dtype)
    ours, theirs = Scaler(max_layer=3).nearest(x), ome_scaler(max_layer=3).nearest(x)
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def _floor_resize(x, order):
    """ome-zarr's ``resize_image`` before its cast: skimage on the whole float array."""
    shape = (*x.shape[:-2], x.shape[-2] // 2, x.shape[-1] // 2)
    return skt.resize(x.astype(np.float64), shape, order=order, mode="reflect",
                      anti_aliasing=False)


@pytest.mark.parametrize("order", [0, 1, 3])
@pytest.mark.parametrize("shape", [(64, 64), (67, 101), (2, 31, 46)])
def test_resize_image_is_ome_zarr_rounded(shape, order):
    x = smooth_image(shape)
    ours = Scaler(order=order).resize_image(x)
    theirs = ome_scaler(order=order).resize_image(x)
    assert ours.shape == theirs.shape == (*shape[:-2], shape[-2] // 2, shape[-1] // 2)
    raw = _floor_resize(x, order)
    assert_within_spec(ours, cast_like(raw, x.dtype), exact=order == 0, raw=raw,
                       what=f"resize_image order {order}")
    assert_rounds_what_ome_zarr_truncates(ours, theirs)


def test_resize_image_float_equals_ome_zarr():
    x = smooth_image((67, 101), "float64")
    theirs = ome_scaler().resize_image(x)
    assert_within_spec(Scaler().resize_image(x), theirs, what="resize_image float64")


def test_local_mean_rounds_each_level_where_windows_fit():
    x = smooth_image((3, 64, 96))
    ours, theirs = Scaler(max_layer=3).local_mean(x), ome_scaler(max_layer=3).local_mean(x)
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    # Each level is the exact window mean of the reference's own level before, rounded.
    ref = x
    for k, level in enumerate(ours[1:], start=1):
        ref = cast_like(skt.downscale_local_mean(ref.astype(np.float64), (1, 2, 2)), x.dtype)
        assert_matches_reference(level, ref, "local_mean", what=f"local_mean level {k}")
    # Per step ome-zarr truncates what we round (chained, the gap grows: docs/migration.md).
    for prev, level in itertools.pairwise(theirs):
        assert_rounds_what_ome_zarr_truncates(Scaler(max_layer=1).local_mean(prev)[1], level)


def test_local_mean_partial_windows_average_existing_pixels():
    # ome-zarr (skimage) pads with zeros and darkens the last row and column; we do not.
    x = np.full((5, 7), 100, np.uint16)
    ours = Scaler(max_layer=1).local_mean(x)[1]
    theirs = ome_scaler(max_layer=1).local_mean(x)[1]
    assert ours.shape == theirs.shape == (3, 4)
    assert (ours == 100).all()
    assert theirs[-1, -1] < 100


@pytest.mark.parametrize("shape", [(64, 64), (45, 38)])
def test_gaussian_and_laplacian_equal_ome_zarr_on_float_planes(shape):
    # On float64 ome-zarr's result is skimage's, uncast: SPEC's float64 figure applies.
    x = smooth_image(shape, "float64")
    for method in ("gaussian", "laplacian"):
        ours = getattr(Scaler(max_layer=3), method)(x)
        theirs = getattr(ome_scaler(max_layer=3), method)(x)
        assert [a.shape for a in ours] == [b.shape for b in theirs]
        for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_matches_reference(a, b, method, source=x, what=f"{method} level {k}")


# --- where ome-zarr is wrong: the fixes ---------------------------------------------------------


def test_gaussian_on_integers_is_not_zero():
    x = smooth_image((64, 80))
    theirs = ome_scaler(max_layer=2).gaussian(x)
    assert all(int(b.max()) <= 1 for b in theirs)  # ome-zarr: image rescaled to [0, 1], cast
    ours = Scaler(max_layer=2).gaussian(x)
    np.testing.assert_array_equal(ours[0], x)
    ref = x
    for k, level in enumerate(ours[1:], start=1):
        ref = cast_like(skt.pyramid_reduce(ref, downscale=2, preserve_range=True), x.dtype)
        assert_matches_reference(level, ref, "gaussian", what=f"gaussian level {k}")


def test_laplacian_on_integers_is_a_signed_band_pass():
    x = smooth_image((64, 80))
    ours = Scaler(max_layer=2).laplacian(x)
    ref = list(skt.pyramid_laplacian(x.astype(np.float64), max_layer=2, downscale=2))
    assert [a.dtype for a in ours] == [np.dtype(np.float32)] * 3
    for k, (a, b) in enumerate(zip(ours, ref, strict=True)):
        assert a.min() < 0 < a.max()
        assert_matches_reference(a, b.astype(np.float32), "laplacian", source=x,
                                 what=f"laplacian level {k}")


def test_zoom_downsamples_level_zero_first():
    x = smooth_image((2, 45, 64))
    theirs = ome_scaler(max_layer=2).zoom(x)
    assert theirs[0].size > x.size  # ome-zarr zooms *up* and reverses the list
    ours = Scaler(max_layer=2).zoom(x)
    assert [a.shape for a in ours] == [(2, 45, 64), (2, 23, 32), (2, 12, 16)]
    np.testing.assert_array_equal(ours[0], x)
    ref = x
    for k, level in enumerate(ours[1:], start=1):
        n, m = ref.shape[-2:], level.shape[-2:]
        ref = cast_like(ndi.zoom(ref.astype(np.float64), (1, m[0] / n[0], m[1] / n[1]),
                                 order=1, mode="reflect", grid_mode=False), x.dtype)
        assert_matches_reference(level, ref, "zoom", what=f"zoom level {k}")


def test_levels_stop_like_skimage_pyramids():
    x = smooth_image((8, 8))
    assert [a.shape for a in Scaler(max_layer=6).gaussian(x)] == [(8, 8), (4, 4), (2, 2),
                                                                  (1, 1)]
    with pytest.raises(OmescaleError, match="leaves no pixel"):
        Scaler(max_layer=4).nearest(x)


@pytest.mark.parametrize("method", list(Scaler.methods()))
def test_dask_in_lazy_dask_out_equal_on_any_chunking(method):
    x = smooth_image((3, 45, 62))
    scaler = Scaler(method=method, max_layer=2)
    eager = scaler.resize_image(x) if method == "resize_image" else scaler.func(x)
    lazy_in = da.from_array(x, chunks=(2, 7, 16))
    with dask.config.set(scheduler=never_compute):
        lazy = scaler.resize_image(lazy_in) if method == "resize_image" else scaler.func(lazy_in)
    if method == "resize_image":
        eager, lazy = [eager], [lazy]
    assert all(isinstance(a, da.Array) for a in lazy)
    assert all(isinstance(a, np.ndarray) for a in eager)
    for a, b in zip(lazy, eager, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a.compute(), b)


# --- scale(): a real OME-Zarr -------------------------------------------------------------------


@pytest.fixture
def zarr_input(tmp_path):
    x = smooth_image((2, 67, 90))
    path = tmp_path / "in.zarr"
    z = zarr.create_array(path, shape=x.shape, dtype=x.dtype, chunks=(1, 32, 32))
    z[:] = x
    z.attrs["acquisition"] = {"objective": "40x"}
    return str(path), x


def read_with_ome_zarr(path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    nodes = list(Reader(parse_url(str(path)))())
    return [np.asarray(level) for level in nodes[0].data]


def test_scale_writes_a_valid_ome_zarr(zarr_input, tmp_path):
    from ome_zarr_models import open_ome_zarr

    path, x = zarr_input
    out = tmp_path / "out.zarr"
    Scaler(max_layer=3, copy_metadata=True).scale(path, str(out))
    group = zarr.open_group(out, mode="r")
    assert group.metadata.zarr_format == 3
    assert group.attrs["acquisition"] == {"objective": "40x"}
    ms = group.attrs["ome"]["multiscales"][0]
    assert [d["path"] for d in ms["datasets"]] == ["0", "1", "2", "3"]
    assert type(open_ome_zarr(group)).__module__.startswith("ome_zarr_models.v05")
    levels = read_with_ome_zarr(out)
    expected = Scaler(max_layer=3).nearest(x)
    assert [a.shape for a in levels] == [b.shape for b in expected]
    for a, b in zip(levels, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    # pixel centres of nearest at floor shapes: scale N/M, translation (N/M - 1)/2
    t1 = ms["datasets"][1]["coordinateTransformations"]
    assert t1[0]["scale"][1] == pytest.approx(67 / 33)
    assert t1[1]["translation"][1] == pytest.approx((67 / 33 - 1) / 2)


def test_scale_refuses_an_existing_output(zarr_input, tmp_path):
    path, _ = zarr_input
    out = tmp_path / "out.zarr"
    Scaler(max_layer=1).scale(path, str(out))
    with pytest.raises(OutputExistsError):
        Scaler(max_layer=1).scale(path, str(out))
    Scaler(max_layer=2, overwrite=True).scale(path, str(out))
    assert "2" in zarr.open_group(out, mode="r")


def test_labeled_names_the_new_values_and_writes_nothing(tmp_path):
    labels = np.zeros((32, 32), np.uint8)
    labels[:, 15:] = 10  # a window straddling the edge averages 0 and 10 into 5
    path = tmp_path / "labels.zarr"
    zarr.create_array(path, data=labels, chunks=(16, 16))
    out = tmp_path / "out.zarr"
    with pytest.raises(LabelValuesError, match=r"not in the input labels: 5") as err:
        Scaler(method="local_mean", labeled=True, max_layer=1).scale(str(path), str(out))
    assert isinstance(err.value, OmescaleError)
    assert not out.exists()
    Scaler(method="nearest", labeled=True, max_layer=2).scale(str(path), str(out))
    assert set(np.unique(read_with_ome_zarr(out)[2])) <= {0, 10}


def test_in_place_adds_levels_to_an_existing_image(zarr_input, tmp_path):
    from ome_zarr_models import open_ome_zarr

    path, x = zarr_input
    image = tmp_path / "image.zarr"
    Scaler(max_layer=0).scale(path, str(image))
    Scaler(in_place=True, method="local_mean", max_layer=2).scale(str(image))
    levels = read_with_ome_zarr(image)
    assert [a.shape for a in levels] == [(2, 67, 90), (2, 34, 45), (2, 17, 23)]
    np.testing.assert_array_equal(levels[0], x)
    np.testing.assert_array_equal(levels[2], Scaler(max_layer=2).local_mean(x)[2])
    open_ome_zarr(zarr.open_group(image, mode="r"))
    with pytest.raises(OutputExistsError, match="overwrite"):
        Scaler(in_place=True, max_layer=1).scale(str(image))
    Scaler(in_place=True, max_layer=1, overwrite=True).scale(str(image))
    group = zarr.open_group(image, mode="r")
    assert sorted(group.keys()) == ["0", "1"]
    assert math.isclose(
        group.attrs["ome"]["multiscales"][0]["datasets"][1]["coordinateTransformations"][0][
            "scale"][1], 67 / 33)


def test_ome_zarr_methods_are_accepted():
    # Code migrating from ome-zarr-py passes its enum members; their values are our names.
    assert [Methods(m) for m in ome_scale.Methods] == [Methods(m.value) for m in ome_scale.Methods]
    assert Methods(ome_scale.Methods.RESIZE) is Methods.RESIZE
    x = smooth_image((20, 30))
    np.testing.assert_array_equal(downsample(x, (2, 2), method=ome_scale.Methods.LOCAL_MEAN),
                                  downsample(x, (2, 2), method="local_mean"))
    with pytest.raises(ValueError):
        Methods(7)
