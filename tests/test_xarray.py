"""xarray in and out: DataArray inputs, ``pyramid(as_xarray=True)`` and ``open_pyramid``.

References are independent of omescale's plan: expected coordinates come from SPEC section 5's
formulas, other writers' pyramids are read with ome-zarr-py's reader or ngff-zarr's own
objects, and multiscale-spatial-image writes our tree with its own ``to_zarr``.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import zarr
from _ngff_util import write_with_ngff_zarr
from dask.callbacks import Callback

import omescale
from omescale.errors import MissingExtraError

xr = pytest.importorskip("xarray")

SIZES = {"z": 2.0, "y": 0.5, "x": 0.75}
ORIGIN = {"z": -3.0, "y": 10.0, "x": 5.5}
UNITS = {"z": "micrometer", "y": "micrometer", "x": "micrometer"}


def _image(shape, chunks=(3, 10, 9), seed=0):
    rng = np.random.default_rng(seed)
    return da.from_array(rng.integers(0, 4000, shape).astype(np.uint16), chunks=chunks)


def _expected_levels(kind, steps, shape0, s0, t0):
    """SPEC section 5, level by level: shapes ceil(N / f) and each level's (scale,
    translation) per axis from the level before (block, resize or zoom geometry)."""
    out = [(tuple(shape0), list(s0), list(t0))]
    for step in steps:
        shape, s, t = out[-1]
        new = tuple(-(-n // f) for n, f in zip(shape, step, strict=True))
        ns, nt = [], []
        for f, n, m, sa, ta in zip(step, shape, new, s, t, strict=True):
            if f == 1:
                ns.append(sa), nt.append(ta)
            elif kind == "block":
                ns.append(sa * f), nt.append(ta + sa * (f - 1) / 2)
            elif kind == "resize":
                ns.append(sa * n / m), nt.append(ta + sa * (n / m - 1) / 2)
            else:  # zoom: corners aligned
                ns.append(sa * (n - 1) / (m - 1)), nt.append(ta)
        out.append((new, ns, nt))
    return out


class Started(Callback):
    """Counts tasks dask starts."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _pretask(self, key, dsk, state):
        self.count += 1


# ---- xarray out ----------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "kind"), [("local_mean", "block"), ("resize", "resize"),
                                              ("zoom", "zoom")])
def test_as_xarray_coordinates_are_the_ngff_transforms(tmp_path, method, kind):
    x = _image((7, 45, 37))
    factors = [{"z": 1, "y": 2, "x": 2}, {"z": 2, "y": 4, "x": 4}, {"z": 2, "y": 8, "x": 8}]
    tree = omescale.pyramid(x, factors, method=method, physical_sizes=SIZES, units=UNITS,
                            translation=ORIGIN, as_xarray=True)
    steps = [(1, 2, 2), (2, 2, 2), (1, 2, 2)]
    expected = _expected_levels(kind, steps, (7, 45, 37), SIZES.values(), ORIGIN.values())
    assert list(tree.children) == ["scale0", "scale1", "scale2", "scale3"]
    for k, (shape, s, t) in enumerate(expected):
        image = tree[f"scale{k}"]["image"]
        assert image.dims == ("z", "y", "x") and image.shape == shape
        for a, n, sa, ta in zip("zyx", shape, s, t, strict=True):
            np.testing.assert_allclose(image[a].values, ta + sa * np.arange(n), rtol=0,
                                       atol=1e-12)
            assert image[a].attrs["units"] == "micrometer"
    omescale.write_pyramid(x, tmp_path / "p.zarr", scale_factors=factors, method=method,
                           physical_sizes=SIZES, units=UNITS, translation=ORIGIN)
    attrs = json.loads((tmp_path / "p.zarr" / "zarr.json").read_text())["attributes"]
    for k, ds in enumerate(attrs["ome"]["multiscales"][0]["datasets"]):
        scale, translation = (c[c["type"]] for c in ds["coordinateTransformations"])
        image = tree[f"scale{k}"]["image"]
        for i, a in enumerate("zyx"):  # the written transforms are the tree's coordinates
            assert image[a].values[0] == translation[i]
            np.testing.assert_allclose(np.diff(image[a].values), scale[i], rtol=1e-14)


def test_as_xarray_keeps_levels_as_they_are():
    x = _image((5, 33, 29))
    levels = omescale.pyramid(x, [2, 4], method="resize")
    tree = omescale.pyramid(x, [2, 4], method="resize", as_xarray=True)
    for k, level in enumerate(levels):
        data = tree[f"scale{k}"]["image"].data
        assert isinstance(data, da.Array) and data.chunks == level.chunks
        np.testing.assert_array_equal(data.compute(), level.compute())
    plain = omescale.pyramid(np.arange(64 * 48, dtype=np.uint8).reshape(64, 48), [2],
                             as_xarray=True)
    assert isinstance(plain["scale1/image"].data, np.ndarray)
    assert plain["scale1/image"].dims == ("y", "x")
    np.testing.assert_array_equal(plain["scale0/image"].x.values, np.arange(48.0))


def test_building_trees_runs_no_task(tmp_path):
    x = _image((7, 45, 37))
    omescale.write_pyramid(x, tmp_path / "p.zarr", scale_factors=[2, 4])
    with Started() as started:
        tree = omescale.pyramid(x, [2, 4], method="gaussian", as_xarray=True)
        opened = omescale.open_pyramid(tmp_path / "p.zarr")
        tree["scale2/image"].sel(x=slice(3.0, 20.0))
        opened["scale1/image"].isel(y=slice(2, 9))
    assert started.count == 0
    with Started() as started:
        opened["scale2/image"][0, :3, :3].compute()
    assert started.count > 0  # the counter does count


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_open_pyramid_equals_as_xarray(tmp_path, zarr_format):
    x = _image((7, 45, 37))
    kwargs = dict(scale_factors=[{"z": 1, "y": 2, "x": 2}, {"z": 2, "y": 4, "x": 4}],
                  method="resize", physical_sizes=SIZES, units=UNITS, translation=ORIGIN)
    omescale.write_pyramid(x, tmp_path / "p.zarr", zarr_format=zarr_format, **kwargs)
    tree = omescale.pyramid(x, as_xarray=True, **kwargs)
    opened = omescale.open_pyramid(str(tmp_path / "p.zarr"))
    xr.testing.assert_identical(opened, tree)  # values, dims, coordinates and their units
    assert isinstance(opened["scale1/image"].data, da.Array)


def _ome_zarr_levels(path):
    """Levels and (scale, translation) per level as ome-zarr-py's reader sees them."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    node = next(iter(Reader(parse_url(str(path)))()))
    out = []
    for data, cts in zip(node.data, node.metadata["coordinateTransformations"],
                         strict=True):
        tr = {c["type"]: c[c["type"]] for c in cts}
        out.append((np.asarray(data), tr["scale"], tr.get("translation", [0.0] * data.ndim)))
    return out, [a["name"] for a in node.metadata["axes"]]


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_open_pyramid_reads_ome_zarr_py_output(tmp_path, version):
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    fmt = FormatV04() if version == "0.4" else FormatV05()
    group = zarr.open_group(tmp_path / "oz.zarr", mode="w",
                            zarr_format=2 if version == "0.4" else 3)
    write_image(_image((5, 33, 47)).compute(), group, axes="zyx", scale_factors=[2, 4],
                fmt=fmt, scale={"z": 2.0, "y": 0.5, "x": 0.5}, axes_units=UNITS)
    tree = omescale.open_pyramid(tmp_path / "oz.zarr")
    reference, axes = _ome_zarr_levels(tmp_path / "oz.zarr")
    assert len(tree.children) == len(reference) == 3
    for k, (data, scale, translation) in enumerate(reference):
        image = tree[f"scale{k}"]["image"]
        assert image.dims == tuple(axes)
        np.testing.assert_array_equal(image.values, data)
        for i, a in enumerate(axes):
            np.testing.assert_allclose(image[a].values,
                                       translation[i] + scale[i] * np.arange(data.shape[i]))
            assert image[a].attrs["units"] == "micrometer"


@pytest.mark.filterwarnings("ignore::FutureWarning")  # ngff-zarr's own call of dask.to_zarr
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_open_pyramid_reads_ngff_zarr_output(tmp_path, version):
    nz = pytest.importorskip("ngff_zarr")
    pytest.importorskip("dask_image")  # ngff-zarr's dask-image methods (no ITK needed)
    image = nz.to_ngff_image(_image((33, 47), chunks=(10, 9)), dims=["y", "x"],
                             scale={"y": 0.5, "x": 2.0}, translation={"y": 1.0, "x": -3.0},
                             axes_units={"y": "micrometer", "x": "micrometer"})
    ms = nz.to_multiscales(image, scale_factors=[2, 4], method=nz.Methods.DASK_IMAGE_GAUSSIAN)
    write_with_ngff_zarr(tmp_path / "nz.zarr", ms, version)
    tree = omescale.open_pyramid(tmp_path / "nz.zarr")
    assert len(tree.children) == len(ms.images) == 3
    for k, level in enumerate(ms.images):
        got = tree[f"scale{k}"]["image"]
        assert got.dims == tuple(level.dims)
        np.testing.assert_array_equal(got.values, np.asarray(level.data))
        for i, a in enumerate(level.dims):
            np.testing.assert_allclose(
                got[a].values, level.translation[a] + level.scale[a] * np.arange(got.shape[i]))
            assert got[a].attrs["units"] == "micrometer"


def test_multiscale_spatial_image_accepts_the_tree(tmp_path):
    msi = pytest.importorskip("multiscale_spatial_image")
    x = _image((7, 45, 37))
    tree = omescale.pyramid(x, [2, 4], method="resize", physical_sizes=SIZES, units=UNITS,
                            translation=ORIGIN, as_xarray=True)
    msi.MultiscaleSpatialImage(tree).to_zarr(str(tmp_path / "msi.zarr"))
    attrs = zarr.open_group(tmp_path / "msi.zarr", mode="r").attrs.asdict()
    ms = attrs["multiscales"][0]
    assert [a.get("unit") for a in ms["axes"]] == ["micrometer"] * 3
    assert [d["path"] for d in ms["datasets"]] == [f"scale{k}/image" for k in range(3)]
    back = omescale.open_pyramid(tmp_path / "msi.zarr")
    for k in range(3):
        ours, theirs = tree[f"scale{k}"]["image"], back[f"scale{k}"]["image"]
        np.testing.assert_array_equal(theirs.values, ours.values)
        for a in "zyx":  # MSI re-derives scale as coords[1] - coords[0]: equal to ~1 ulp
            np.testing.assert_allclose(theirs[a].values, ours[a].values, rtol=1e-13)
    again = xr.open_datatree(tmp_path / "msi.zarr", engine="zarr")
    np.testing.assert_array_equal(again["scale2/image"].values, tree["scale2/image"].values)


def test_missing_xarray_names_the_extra(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_xarray(name, *args, **kwargs):
        if name == "xarray" or name.startswith("xarray."):
            raise ImportError("No module named 'xarray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_xarray)
    x = np.zeros((16, 16), np.uint8)
    assert len(omescale.pyramid(x, [2])) == 2  # the list door needs no xarray
    with pytest.raises(MissingExtraError, match=r"omescale\[xarray\]"):
        omescale.pyramid(x, [2], as_xarray=True)
    with pytest.raises(MissingExtraError, match=r"omescale\[xarray\]"):
        omescale.open_pyramid(Path(tmp_path))


# ---- xarray in -----------------------------------------------------------------------------

def _dataarray(ngff, dims, spacing, origin, chunked, seed=1):
    """A DataArray with ``dims`` (any order) over random data, coordinates origin + spacing * i
    on the space axes, and the same data in NGFF order with its axes, as numpy."""
    shape = {"z": 5, "y": 37, "x": 29, "c": 3}
    ref = np.random.default_rng(seed).integers(0, 60000, [shape[a] for a in ngff])
    ref = ref.astype(np.uint16)
    coords = {a: origin[a] + spacing[a] * np.arange(shape[a]) for a in dims if a in spacing}
    arr = xr.DataArray(ref, dims=tuple(ngff), coords=coords).transpose(*dims)
    if chunked:
        arr = arr.chunk({a: 8 for a in dims})
    return arr, ref


@pytest.mark.parametrize(("dims", "ngff"), [("yx", "yx"), ("xy", "yx"), ("zyx", "zyx"),
                                            ("yxc", "cyx"), ("xzy", "zyx")])
@pytest.mark.parametrize("chunked", [False, True])
def test_dataarray_equals_numpy_with_axes_and_sizes(tmp_path, dims, ngff, chunked):
    spacing = {"z": 2.5, "y": 0.1, "x": 3}
    origin = {"z": -1.0, "y": 100.0, "x": 7}
    arr, ref = _dataarray(ngff, dims, spacing, origin, chunked)
    sizes = {a: float(spacing[a]) for a in ngff if a in spacing}
    shift = {a: float(origin[a]) for a in ngff if a in origin}
    ours = omescale.pyramid(arr, [2, 4], method="resize", as_xarray=True)
    theirs = omescale.pyramid(ref, [2, 4], method="resize", axes=ngff, physical_sizes=sizes,
                              translation=shift, as_xarray=True)
    xr.testing.assert_identical(ours, theirs)
    assert ours["scale0/image"].dims == tuple(ngff)
    assert isinstance(ours["scale1/image"].data, da.Array if chunked else np.ndarray)
    omescale.write_pyramid(arr, tmp_path / "a.zarr", scale_factors=[2, 4])
    omescale.write_pyramid(ref, tmp_path / "n.zarr", scale_factors=[2, 4], axes=ngff,
                           physical_sizes=sizes, translation=shift)
    a, n = (zarr.open_group(tmp_path / p, mode="r") for p in ("a.zarr", "n.zarr"))
    assert a.attrs["ome"]["multiscales"][0]["datasets"] == \
        n.attrs["ome"]["multiscales"][0]["datasets"]
    for k in range(3):
        np.testing.assert_array_equal(a[str(k)][...], n[str(k)][...])


def test_dataarray_units_and_missing_coordinates():
    y = np.arange(20.0) * 0.25
    arr = xr.DataArray(np.zeros((20, 30), np.uint8), dims=("y", "x"),
                       coords={"y": ("y", y, {"units": "µm"})}, attrs={"units": "photons"})
    tree = omescale.pyramid(arr, [2], method="local_mean", as_xarray=True)
    x1 = tree["scale1/image"]
    assert x1["y"].attrs == {"units": "micrometer"} and x1["x"].attrs == {}
    np.testing.assert_array_equal(x1["x"].values, 0.5 + 2.0 * np.arange(15))  # scale 1, t 0
    np.testing.assert_array_equal(x1["y"].values, 0.125 + 0.5 * np.arange(10))
    table = arr.drop_vars("y").assign_attrs(units={"y": "nanometer", "x": "nm"})
    units = omescale.pyramid(table, [2], as_xarray=True)["scale0/image"]
    assert [units[a].attrs["units"] for a in "yx"] == ["nanometer", "nanometer"]


@pytest.mark.parametrize(("coords", "match"), [
    ({"x": np.r_[0.0, 1.0, 2.0, 3.5, 4.0, 5.0]}, "dim 'x' is not uniformly spaced"),
    ({"y": np.arange(8.0)[::-1]}, "dim 'y' does not increase"),
    ({"y": np.array(list("abcdefgh"))}, "dim 'y' holds"),
])
def test_bad_coordinates_are_refused_before_writing(tmp_path, coords, match):
    arr = xr.DataArray(np.zeros((8, 6), np.uint8), dims=("y", "x"), coords=coords)
    with pytest.raises(omescale.OmescaleError, match=match):
        omescale.pyramid(arr, [2])
    with pytest.raises(omescale.OmescaleError, match=match):
        omescale.write_pyramid(arr, tmp_path / "out.zarr", scale_factors=[2])
    assert not (tmp_path / "out.zarr").exists()
    with pytest.raises(omescale.OmescaleError, match="dim 'row' is not an OME-NGFF axis"):
        omescale.pyramid(xr.DataArray(np.zeros((8, 6)), dims=("row", "x")), [2])


def test_write_labels_takes_a_dataarray(tmp_path):
    image = _image((5, 37, 29))
    omescale.write_pyramid(image, tmp_path / "img.zarr", scale_factors=[2, 4],
                           physical_sizes=SIZES)
    labels = (np.arange(37 * 29 * 5).reshape(5, 37, 29) % 7).astype(np.uint8)
    arr = xr.DataArray(labels.transpose(2, 1, 0), dims=("x", "y", "z"))
    omescale.write_labels(arr, tmp_path / "img.zarr", "cells")
    back = omescale.open_pyramid(tmp_path / "img.zarr" / "labels" / "cells")
    img = omescale.open_pyramid(tmp_path / "img.zarr")
    np.testing.assert_array_equal(back["scale0/image"].values, labels)
    for k in range(3):  # label level k overlays image level k: same shape and coordinates
        xr.testing.assert_identical(back[f"scale{k}/image"].coords,
                                    img[f"scale{k}/image"].coords)


def test_ome_zarr_input_keeps_its_translation(tmp_path):
    x = _image((5, 37, 29))
    omescale.write_pyramid(x, tmp_path / "a.zarr", scale_factors=[2], physical_sizes=SIZES,
                           translation=ORIGIN)
    omescale.write_pyramid(tmp_path / "a.zarr", tmp_path / "b.zarr", scale_factors=[2])
    a, b = (omescale.open_pyramid(tmp_path / p) for p in ("a.zarr", "b.zarr"))
    xr.testing.assert_identical(a, b)


def test_add_levels_to_the_image_a_tree_reads(tmp_path):
    x = _image((5, 37, 29))
    omescale.write_pyramid(x, tmp_path / "full.zarr", scale_factors=[2, 4], physical_sizes=SIZES)
    omescale.write_pyramid(x, tmp_path / "one.zarr", max_layer=0, physical_sizes=SIZES)
    tree = omescale.open_pyramid(tmp_path / "one.zarr")
    with pytest.raises(omescale.OmescaleError, match="does not read a stored OME-Zarr image"):
        omescale.add_levels(tree["scale0/image"] + 1, scale_factors=[2, 4])
    omescale.add_levels(tree, scale_factors=[2, 4])
    xr.testing.assert_identical(omescale.open_pyramid(tmp_path / "one.zarr"),
                                omescale.open_pyramid(tmp_path / "full.zarr"))
    with pytest.raises(omescale.OmescaleError, match="reads level '1', not level 0"):
        omescale.add_levels(omescale.open_pyramid(tmp_path / "one.zarr")["scale1/image"])
    again = omescale.open_pyramid(tmp_path / "one.zarr")["scale0/image"]
    omescale.add_levels(again, scale_factors=[2], overwrite=True)
    assert len(omescale.open_pyramid(tmp_path / "one.zarr").children) == 2
