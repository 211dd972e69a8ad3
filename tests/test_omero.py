"""omero rendering metadata: kept from an OME-Zarr input, built from channel names, or set by
the user; windows from the coarsest level; valid under ome-zarr-models for NGFF 0.4 and 0.5."""

from __future__ import annotations

import copy
import math

import dask.array as da
import numpy as np
import pytest
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from ome_zarr_models import v04, v05
from ome_zarr_models.common.omero import Omero

import omescale
from omescale.cli import main
from omescale.errors import InvalidOptionError
from omescale.inputs import Channel, InputImage
from omescale.ngff import add_levels
from omescale.ngff.omero import window_of

RNG = np.random.default_rng(3)
CYX = RNG.integers(100, 50000, (3, 300, 280), dtype=np.uint16)
INPUT_OMERO = {
    "name": "cells",
    "channels": [
        {"label": "DAPI", "color": "0000FF", "active": True,
         "window": {"start": 120, "end": 3000, "min": 0, "max": 65535}},
        {"label": "GFP", "color": "00FF00", "active": False,
         "window": {"start": 200, "end": 9000, "min": 0, "max": 65535}},
        {"label": "RFP", "color": "FF0000", "active": True,
         "window": {"start": 50, "end": 700, "min": 0, "max": 65535}},
    ],
    "rdefs": {"model": "color", "defaultZ": 0},
}


def omero_of(path):
    """The image's omero and its group, validated by ome-zarr-models for its NGFF version."""
    group = zarr.open_group(str(path), mode="r")
    attrs = dict(group.attrs)
    if "ome" in attrs:
        v05.Image.from_zarr(group)
        omero = attrs["ome"]["omero"]
        assert "version" not in omero
    else:
        v04.Image.from_zarr(group)
        omero = attrs["omero"]
        assert omero["version"] == "0.4"
    Omero.model_validate(omero)
    return omero, group


def reference_window(level, dtype):
    """Independent of omescale's sampling: NumPy percentiles of the whole stored level."""
    lo, hi = np.percentile(np.asarray(level, np.float64), [0.1, 99.9])
    if np.dtype(dtype).kind == "f":
        return {"start": lo, "end": hi, "min": float(level.min()), "max": float(level.max())}
    info = np.iinfo(dtype)
    return {"start": math.floor(lo), "end": math.ceil(hi), "min": info.min, "max": info.max}


def write_input(path, zarr_format, omero=INPUT_OMERO):
    omescale.write_pyramid(CYX, path, zarr_format=zarr_format, max_layer=0, axes="cyx")
    group = zarr.open_group(str(path), mode="r+")
    attrs = dict(group.attrs)
    if zarr_format == 3:
        attrs["ome"] = {**attrs["ome"], "omero": copy.deepcopy(omero)}
    else:
        attrs["omero"] = {**copy.deepcopy(omero), "version": "0.4"}
    group.attrs.put(attrs)


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_set_by_the_user_with_windows_from_the_coarsest_level(tmp_path, zarr_format):
    out = tmp_path / "out.zarr"
    channels = ["DAPI", {"label": "GFP", "color": "#00ff00"},
                {"window": {"start": 10, "end": 100}}]
    pending = omescale.write_pyramid(CYX, out, channels=channels, zarr_format=zarr_format,
                                     axes="cyx", compute=False)
    assert "omero" not in str(dict(zarr.open_group(str(out), mode="r").attrs))  # data first
    pending.compute()
    omero, group = omero_of(out)
    coarsest = group[str(len(group) - 1)][:]
    assert coarsest.shape == (3, 150, 140)  # the default levels: down to <= 256 px
    labels = [c.get("label") for c in omero["channels"]]
    assert labels == ["DAPI", "GFP", None]
    assert [c["color"] for c in omero["channels"]] == ["FF0000", "00FF00", "0000FF"]
    for i in (0, 1):
        assert omero["channels"][i]["window"] == reference_window(coarsest[i], CYX.dtype)
    assert omero["channels"][2]["window"] == {"start": 10, "end": 100, "min": 0, "max": 65535}


@pytest.mark.parametrize(("source_format", "target_format"), [(2, 3), (3, 2), (3, 3)])
def test_kept_from_an_ome_zarr_input_across_versions(tmp_path, source_format, target_format):
    source = tmp_path / "in.zarr"
    write_input(source, source_format)
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(source, out, zarr_format=target_format)
    omero, _ = omero_of(out)
    assert omero["name"] == "cells" and omero["rdefs"] == INPUT_OMERO["rdefs"]
    for ours, theirs in zip(omero["channels"], INPUT_OMERO["channels"], strict=True):
        assert {k: ours[k] for k in theirs} == theirs
    # The user overrides what the input says, field by field.
    again = tmp_path / "again.zarr"
    omescale.write_pyramid(source, again, zarr_format=target_format,
                           channels=[{"label": "nuclei"}, {"color": "FFFFFF"}, "cy3"])
    omero, _ = omero_of(again)
    assert [c["label"] for c in omero["channels"]] == ["nuclei", "GFP", "cy3"]
    assert [c["color"] for c in omero["channels"]] == ["0000FF", "FFFFFF", "FF0000"]
    assert omero["channels"][1]["window"] == INPUT_OMERO["channels"][1]["window"]


def test_built_from_the_input_channels_and_read_by_ome_zarr_py(tmp_path):
    src = InputImage(da.from_array(CYX, chunks=(1, 128, 128)), "test input", axes="cyx",
                     channels=(Channel("DAPI", "0000FF"), Channel("GFP", "00ff00"),
                               Channel("far red")))
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(src, out, max_layer=2)
    omero, group = omero_of(out)
    assert [(c["label"], c["color"]) for c in omero["channels"]] == [
        ("DAPI", "0000FF"), ("GFP", "00FF00"), ("far red", "0000FF")]
    node = next(iter(Reader(parse_url(str(out)))()))
    assert node.metadata["channel_names"] == ["DAPI", "GFP", "far red"]
    coarsest = group["2"][:]
    assert node.metadata["contrast_limits"] == [
        [reference_window(coarsest[i], CYX.dtype)[k] for k in ("start", "end")]
        for i in range(3)]


def test_one_channel_float_image_gets_a_white_data_range_window(tmp_path):
    x = RNG.normal(5.0, 2.0, (200, 180)).astype(np.float32)
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(x, out, max_layer=1)
    omero, group = omero_of(out)
    (channel,) = omero["channels"]
    assert channel["color"] == "FFFFFF" and omero["rdefs"]["model"] == "greyscale"
    ref = reference_window(group["1"][:], np.float32)
    assert channel["window"] == pytest.approx(ref, rel=1e-6)


def test_window_of_samples_large_levels_only():
    # A level larger than the sample: the centred 512 x 512 of at most 4 planes.
    values = np.arange(10 * 600 * 600, dtype=np.int32).reshape(10, 600, 600)
    window = window_of(values[:, 44:556, 44:556], np.int32)
    assert window["min"] == np.iinfo(np.int32).min and window["max"] == np.iinfo(np.int32).max
    assert window_of(np.zeros(0, np.float32), np.float32) == {
        "start": 0.0, "end": 1.0, "min": 0.0, "max": 1.0}
    assert window_of(np.array([True, False]), np.bool_)["max"] == 1.0


@pytest.mark.parametrize(("channels", "words"), [
    (["a", "b"], "lists 2 entries but the image has 3"),
    ([{"color": "red"}, {}, {}], "colour 'red'"),
    ([{"window": {"start": "low"}}, {}, {}], "window"),
    ("DAPI,GFP,RFP", "must be a list"),
])
def test_bad_channels_are_refused_before_anything_is_written(tmp_path, channels, words):
    out = tmp_path / "out.zarr"
    with pytest.raises(InvalidOptionError, match=words):
        omescale.write_pyramid(CYX, out, channels=channels, axes="cyx")
    assert not out.exists()


def test_command_line_names_and_colours(tmp_path, capsys):
    npy = tmp_path / "cyx.npy"
    np.save(npy, CYX)
    out = tmp_path / "out.zarr"
    assert main([str(npy), str(out), "--axes", "cyx", "--channel-names", "DAPI,GFP,RFP",
                 "--channel-colors", "0000FF,00FF00,FF0000", "--levels", "2"]) == 0
    omero, _ = omero_of(out)
    assert [(c["label"], c["color"]) for c in omero["channels"]] == [
        ("DAPI", "0000FF"), ("GFP", "00FF00"), ("RFP", "FF0000")]
    assert main([str(npy), str(tmp_path / "bad.zarr"), "--axes", "cyx",
                 "--channel-names", "a,b"]) == 2
    assert "lists 2 entries but the image has 3" in capsys.readouterr().err
    assert main([str(npy), str(tmp_path / "bad.zarr"), "--channel-names", "a,b,c",
                 "--channel-colors", "FF0000"]) == 2
    assert not (tmp_path / "bad.zarr").exists()


def test_add_levels_keeps_the_image_omero_and_takes_new_labels(tmp_path):
    image = tmp_path / "image.zarr"
    write_input(image, 3)
    add_levels(image, max_layer=2, channels=[{}, {"label": "EGFP"}, {}])
    omero, group = omero_of(image)
    assert [c["label"] for c in omero["channels"]] == ["DAPI", "EGFP", "RFP"]
    assert [c["window"] for c in omero["channels"]] == [
        c["window"] for c in INPUT_OMERO["channels"]]
    assert len(group) == 3


def test_scaler_copy_metadata_keeps_the_input_omero(tmp_path):
    source = tmp_path / "in.zarr"
    write_input(source, 2)
    out = tmp_path / "out.zarr"
    omescale.Scaler(max_layer=1, copy_metadata=True).scale(str(source), str(out))
    omero, _ = omero_of(out)
    assert [c["label"] for c in omero["channels"]] == ["DAPI", "GFP", "RFP"]
    plain = tmp_path / "plain.zarr"
    omescale.Scaler(max_layer=1).scale(str(source), str(plain))
    assert "omero" not in dict(zarr.open_group(str(plain), mode="r").attrs)["ome"]
    # In place, the image keeps its own omero.
    omescale.Scaler(max_layer=1, in_place=True).scale(str(source))
    omero, _ = omero_of(source)
    assert omero["channels"][0]["window"] == INPUT_OMERO["channels"][0]["window"]


@pytest.mark.parametrize("reader", [None, "bioio"])
def test_built_from_ome_tiff_channel_names(tmp_path, reader):
    import tifffile

    data = RNG.integers(0, 4000, (3, 2, 40, 36), dtype=np.uint16)  # Z C Y X
    tif = tmp_path / "cells.ome.tif"
    tifffile.imwrite(tif, data, ome=True, photometric="minisblack",
                     metadata={"axes": "ZCYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(tif, out, scale_factors=[2], reader=reader,
                           channels=[{}, {"color": "00FF00"}])
    omero, group = omero_of(out)
    assert [(c["label"], c["color"]) for c in omero["channels"]] == [
        ("DAPI", "FF0000"), ("GFP", "00FF00")]
    coarsest = group["1"][:]  # c z y x
    for i in range(2):
        assert omero["channels"][i]["window"] == reference_window(coarsest[i], data.dtype)


def test_window_sample_read_chunk_by_chunk_holds_the_orthogonal_selection(tmp_path):
    from omescale.ngff.omero import _read_sample, _sample_index

    data = np.random.default_rng(3).integers(0, 1000, (2, 9, 700, 530), dtype=np.uint16)
    array = zarr.create_array(tmp_path / "a.zarr", shape=data.shape, dtype=data.dtype,
                              chunks=(1, 2, 128, 100))
    array[:] = data
    for channel in range(2):
        index = _sample_index("czyx", data.shape, channel)
        got = _read_sample(array, index, "a")
        expected = array.get_orthogonal_selection(index).ravel()
        assert got.size == expected.size > 0
        np.testing.assert_array_equal(np.sort(got), np.sort(expected))
