"""NGFF metadata: builders, parsing both versions, and transforms against hand-derived values."""

import numpy as np
import pytest
import zarr
from _ngff_util import validate_image
from ome_zarr_models import v04

import omescale
from omescale.errors import InputNotFoundError, InvalidAxesError
from omescale.ngff.metadata import (
    axes_metadata,
    image_attributes,
    label_attributes,
    labels_group_attributes,
    multiscale_metadata,
    ngff_version,
    read_image_metadata,
)


def _ms(axes="zyx", units=None):
    scales = [[2.0, 0.5, 0.5], [2.0, 1.0, 1.0]]
    translations = [[0.0, 0.0, 0.0], [0.0, 0.25, 0.25]]
    return multiscale_metadata(axes, scales, translations, units=units, method="local_mean",
                               provenance={"function": "f"}, name="img")


def test_axes_types_and_units():
    assert axes_metadata("tczyx", {"t": "second", "x": "micrometer"}) == [
        {"name": "t", "type": "time", "unit": "second"},
        {"name": "c", "type": "channel"},
        {"name": "z", "type": "space"},
        {"name": "y", "type": "space"},
        {"name": "x", "type": "space", "unit": "micrometer"},
    ]


@pytest.mark.parametrize("units, words", [
    ({"x": "micron"}, "micron"),
    ({"q": "meter"}, "not in axes"),
    ({"c": "meter"}, "channel"),
    ({"t": "meter"}, "time unit"),
])
def test_bad_units_are_named(units, words):
    with pytest.raises(InvalidAxesError, match=words):
        axes_metadata("tczyx", units)


def test_versions():
    assert ngff_version(3) == "0.5" and ngff_version(2) == "0.4"
    with pytest.raises(ValueError):
        ngff_version(4)


def test_dataset_transforms_are_scale_then_translation():
    ds = _ms()["datasets"]
    assert [d["path"] for d in ds] == ["0", "1"]
    assert [t["type"] for t in ds[1]["coordinateTransformations"]] == ["scale", "translation"]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_attributes_parse_back(version):
    attrs = {**image_attributes(_ms(units={"z": "micrometer"}), version), "mine": 1}
    meta = read_image_metadata(attrs)
    assert meta.version == version and meta.axes == "zyx" and meta.paths == ("0", "1")
    assert meta.physical_sizes == {"z": 2.0, "y": 0.5, "x": 0.5}
    assert meta.units == {"z": "micrometer"} and meta.method == "local_mean"
    assert meta.user_attributes == {"mine": 1}
    assert meta.translations[1] == (0.0, 0.25, 0.25)


def test_non_image_attributes_are_refused():
    with pytest.raises(InputNotFoundError, match="not an OME-Zarr image"):
        read_image_metadata({"foo": 1}, "g")


def test_label_attributes_validate():
    ms = multiscale_metadata("yx", [[1, 1]], [[0, 0]], method="nearest")
    v5 = label_attributes(ms, "0.5", colors=[{"label-value": 1, "rgba": [255, 0, 0, 255]}])
    assert v5["ome"]["image-label"]["source"] == {"image": "../../"}
    v4 = label_attributes(ms, "0.4")
    assert v4["image-label"]["version"] == "0.4"
    assert labels_group_attributes(["a"], "0.5") == {"ome": {"version": "0.5", "labels": ["a"]}}
    assert labels_group_attributes(["a"], "0.4") == {"labels": ["a"]}


# Hand-derived transforms at odd sizes: N = 11 -> M = 6 on y, N = 9 -> M = 5 on x, f = 2,
# level-0 pixel size s = 0.5:
#   block:  scale s*f = 1.0,        translation s*(f-1)/2 = 0.25
#   resize: scale s*N/M,            translation s*(N/M-1)/2
#   zoom:   scale s*(N-1)/(M-1),    translation 0
HAND = {
    "local_mean": ([1.0, 1.0], [0.25, 0.25]),
    "max": ([1.0, 1.0], [0.25, 0.25]),
    "resize": ([0.5 * 11 / 6, 0.5 * 9 / 5], [0.25 * (11 / 6 - 1), 0.25 * (9 / 5 - 1)]),
    "nearest": ([0.5 * 11 / 6, 0.5 * 9 / 5], [0.25 * (11 / 6 - 1), 0.25 * (9 / 5 - 1)]),
    "zoom": ([0.5 * 10 / 5, 0.5 * 8 / 4], [0.0, 0.0]),
}


@pytest.mark.parametrize("method", sorted(HAND))
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_written_transforms_match_hand_values(tmp_path, method, zarr_format):
    image = np.arange(99, dtype=np.uint16).reshape(11, 9)
    out = tmp_path / "img.zarr"
    omescale.write_pyramid(image, out, scale_factors=[2], method=method, zarr_format=zarr_format,
                           physical_sizes={"y": 0.5, "x": 0.5}, units={"y": "micrometer"})
    model = validate_image(out, ngff_version(zarr_format))
    assert model is not None
    attrs = dict(zarr.open_group(str(out), mode="r").attrs)
    ms = (attrs["ome"] if zarr_format == 3 else attrs)["multiscales"][0]
    t = ms["datasets"][1]["coordinateTransformations"]
    np.testing.assert_allclose(t[0]["scale"], HAND[method][0], rtol=1e-12)
    np.testing.assert_allclose(t[1]["translation"], HAND[method][1], rtol=1e-12, atol=1e-15)
    assert ms["type"] == method
    assert ms["metadata"]["function"] == "omescale.write_pyramid"
    assert ms["metadata"]["version"] == omescale.__version__
    assert ms["metadata"]["args"]["scale_factors"] == [{"y": 2, "x": 2}]
    assert ms["axes"][0] == {"name": "y", "type": "space", "unit": "micrometer"}
    if zarr_format == 2:
        assert ms["version"] == "0.4"
        v04.Image.from_zarr(zarr.open_group(str(out), mode="r"))
