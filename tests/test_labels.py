"""write_labels: label-safe methods, image-label metadata, levels aligned with the image."""

import re

import numpy as np
import pytest
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from ome_zarr_models import v04, v05

import omescale
from omescale.errors import (
    InputNotFoundError,
    InvalidMethodError,
    InvalidOptionError,
    InvalidShapeError,
    LabelShapeError,
    OutputExistsError,
    UnsupportedDtypeError,
)

RNG = np.random.default_rng(3)
IMAGE = RNG.integers(0, 255, size=(2, 41, 50), dtype=np.uint8)
LABELS = RNG.choice(np.array([0, 3, 7, 1000]), size=(41, 50)).astype(np.uint32)


@pytest.fixture(params=[3, 2], ids=["ngff05", "ngff04"])
def image(tmp_path, request):
    out = tmp_path / "img.zarr"
    omescale.write_pyramid(IMAGE, out, axes="cyx", chunks=(1, 16, 16), scale_factors=[2, 4],
                           zarr_format=request.param, physical_sizes={"y": 0.5, "x": 0.5})
    return out, request.param


@pytest.mark.parametrize("method", ["nearest", "mode", "min", "max"])
def test_label_pyramid_follows_image_levels(image, method):
    out, zarr_format = image
    omescale.write_labels(LABELS, out, "cells", method=method)
    group = zarr.open_group(str(out), mode="r")
    label = group["labels/cells"]
    models = v05 if zarr_format == 3 else v04
    models.ImageLabel.from_zarr(label)
    models.Labels.from_zarr(group["labels"])
    expected = omescale.pyramid(LABELS, [2, 4], method=method)
    values = set(np.unique(LABELS))
    for k, ref in enumerate(expected):
        level = label[str(k)][:]
        np.testing.assert_array_equal(level, np.asarray(ref))
        assert set(np.unique(level)) <= values
        assert level.shape == group[str(k)].shape[1:]
    attrs = dict(label.attrs)
    ms = (attrs["ome"] if zarr_format == 3 else attrs)["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["y", "x"]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [0.5, 0.5]


def test_ome_zarr_reader_finds_labels(image):
    out, _ = image
    omescale.write_labels(LABELS, out, "a")
    omescale.write_labels(LABELS > 3, out, "b", method="mode")
    group = zarr.open_group(str(out), mode="r")
    names = dict(group["labels"].attrs)
    assert (names.get("ome") or names)["labels"] == ["a", "b"]
    nodes = list(Reader(parse_url(str(out)))())  # the image, the labels group, each label
    found = [np.asarray(n.data[0]) for n in nodes if n.data and n.data[0].shape == LABELS.shape]
    assert len(found) == 2
    np.testing.assert_array_equal(found[0], LABELS)
    np.testing.assert_array_equal(found[1], LABELS > 3)


def test_colors_and_overwrite(image):
    out, _ = image
    colors = [{"label-value": 3, "rgba": [255, 0, 0, 255]}]
    omescale.write_labels(LABELS, out, "a", colors=colors)
    with pytest.raises(OutputExistsError):
        omescale.write_labels(LABELS, out, "a")
    omescale.write_labels(LABELS // 2, out, "a", overwrite=True)
    np.testing.assert_array_equal(zarr.open_group(str(out))["labels/a/0"][:], LABELS // 2)


@pytest.mark.parametrize("kwargs, labels, error", [
    ({"method": "resize"}, LABELS, InvalidMethodError),
    ({"method": "local_mean"}, LABELS, InvalidMethodError),
    ({}, LABELS.astype(np.float32), UnsupportedDtypeError),
    ({}, LABELS[:40], InvalidShapeError),
    ({"name": "a/b"}, LABELS, InvalidOptionError),
])
def test_bad_labels_write_nothing(image, kwargs, labels, error):
    out, _ = image
    kwargs = {"name": "cells", **kwargs}
    with pytest.raises(error):
        omescale.write_labels(labels, out, **kwargs)
    assert not (out / "labels").exists()


def test_labels_need_an_image(tmp_path):
    with pytest.raises(InputNotFoundError):
        omescale.write_labels(LABELS, tmp_path / "missing.zarr", "a")
    assert not (tmp_path / "missing.zarr").exists()


def test_labels_that_do_not_match_the_image_are_refused(tmp_path):
    """Issue 14 item 4: shape and axes are checked against level 0, before anything is written."""
    out = tmp_path / "img.zarr"
    volume = RNG.integers(0, 255, size=(6, 300, 280), dtype=np.uint8)  # axes zyx
    omescale.write_pyramid(volume, out, chunks=(6, 128, 128), scale_factors=[2])
    before = sorted(p.name for p in out.iterdir())
    cases = [
        (np.ones((10, 10), np.uint8), {}, "do not match the image"),
        (np.ones((300, 280), np.uint8), {}, "with or without the channel axis c"),
        (np.ones((300, 280), np.uint8), {"axes": "yx"}, "axes 'yx'"),
        (np.ones((6, 300, 279), np.uint8), {}, "expected (6, 300, 280)"),
        (np.ones((6, 300, 280), np.uint8), {"axes": "cyx"}, "axes 'cyx'"),
    ]
    for labels, kwargs, words in cases:
        with pytest.raises(LabelShapeError, match=re.escape(words)):
            omescale.write_labels(labels, out, "cells", **kwargs)
        assert sorted(p.name for p in out.iterdir()) == before
        assert not (out / "labels").exists()
    assert issubclass(LabelShapeError, InvalidShapeError)
    omescale.write_labels(np.ones((6, 300, 280), np.uint8), out, "cells")  # matching: written
    assert zarr.open_array(out / "labels" / "cells" / "1").shape == (6, 150, 140)


def test_labels_may_leave_out_the_channel_axis_only(image):
    out, _ = image  # axes cyx, level 0 (2, 41, 50)
    omescale.write_labels(np.stack([LABELS, LABELS]), out, "both", axes="cyx")
    omescale.write_labels(LABELS, out, "plane", axes="yx")
    with pytest.raises(LabelShapeError, match="expected"):
        omescale.write_labels(np.stack([LABELS] * 3), out, "three")
