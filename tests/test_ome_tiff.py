"""OME-TIFF through tifffile (default) and through bioio (reader="bioio"); vendor files
without a bioio plugin are a clear error naming the extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tifffile
import zarr

import omescale
from omescale.errors import MissingExtraError
from omescale.inputs import Channel, open_input

SIZES = {"z": 2.0, "y": 0.5, "x": 0.25}


def _ome_tiff(path, channels=2):
    rng = np.random.default_rng(4)
    data = rng.integers(0, 4000, (5, channels, 24, 20), dtype=np.uint16)  # Z C Y X
    metadata = {"axes": "ZCYX", "PhysicalSizeX": SIZES["x"], "PhysicalSizeY": SIZES["y"],
                "PhysicalSizeZ": SIZES["z"], "PhysicalSizeXUnit": "µm",
                "PhysicalSizeYUnit": "µm", "PhysicalSizeZUnit": "µm",
                "Channel": {"Name": ["DAPI", "GFP"][:channels]}}
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", metadata=metadata)
    return data


@pytest.mark.parametrize("reader", [None, "bioio"])
def test_ome_tiff_sizes_units_and_channels(tmp_path, reader):
    data = _ome_tiff(tmp_path / "a.ome.tif")
    src = open_input(tmp_path / "a.ome.tif", reader=reader)
    assert src.physical_sizes == SIZES
    assert src.units == {a: "micrometer" for a in "zyx"}
    assert [c.label for c in src.channels] == ["DAPI", "GFP"]
    assert sorted(src.axes) == sorted("czyx")
    omescale.write_pyramid(tmp_path / "a.ome.tif", tmp_path / "out.zarr", scale_factors=[2],
                           method="nearest", reader=reader)
    g = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")
    ms = g.attrs.asdict()["ome"]["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == list("czyx")
    assert [a.get("unit") for a in ms["axes"]] == [None, *["micrometer"] * 3]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [1.0, 2.0, 0.5, 0.25]
    np.testing.assert_array_equal(g["0"][:], np.moveaxis(data, 1, 0))


def test_ome_xml_units_and_colours(tmp_path):
    from omescale.inputs.ome_xml import ngff_unit, parse_ome_xml

    xml = ('<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0">'
           '<Pixels ID="Pixels:0" PhysicalSizeX="120" PhysicalSizeXUnit="nm" PhysicalSizeY="120"'
           ' PhysicalSizeYUnit="nm" PhysicalSizeZ="3" TimeIncrement="2.5" '
           'TimeIncrementUnit="min"><Channel ID="Channel:0:0" Name="mCherry" Color="-16776961"/>'
           '<Channel ID="Channel:0:1" Color="16711935"/></Pixels></Image></OME>')
    ome = parse_ome_xml(xml)
    assert ome.physical_sizes == {"x": 120.0, "y": 120.0, "z": 3.0, "t": 2.5}
    assert ome.units == {"x": "nanometer", "y": "nanometer", "z": "micrometer", "t": "minute"}
    assert ome.channels == (Channel("mCherry", "FF0000"), Channel("channel 1", "00FF00"))
    assert [ngff_unit(u) for u in ("µm", "μm", "Å", "ms", "pixel")] == \
        ["micrometer", "micrometer", "angstrom", "millisecond", None]


def test_vendor_file_without_plugin_names_the_extra(tmp_path, capsys):
    from omescale.cli import main

    czi = tmp_path / "scan.czi"
    czi.write_bytes(b"ZISRAWFILE" + bytes(200))
    with pytest.raises(MissingExtraError, match=r'pip install "omescale\[formats\]"'):
        omescale.write_pyramid(czi, tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()
    assert main([str(czi), str(tmp_path / "out.zarr")]) == 2
    assert "omescale[formats]" in capsys.readouterr().err


def test_missing_bioio_names_the_extra(tmp_path, monkeypatch):
    czi = tmp_path / "scan.czi"
    czi.write_bytes(b"ZISRAWFILE" + bytes(200))
    monkeypatch.setitem(sys.modules, "bioio", None)  # as if bioio were not installed
    with pytest.raises(MissingExtraError, match="needs bioio"):
        open_input(czi)
