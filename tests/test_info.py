"""``omescale info PATH`` on every input kind, on an OME-Zarr image and on an interrupted
pyramid (objects counted against the files on disk); a missing path exits 2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile
import zarr

import omescale
from omescale.cli import main
from omescale.errors import CorruptInputError
from omescale.inputs.image import Channel
from omescale.inputs.open import open_input

IMAGE = (np.arange(70 * 90, dtype=np.uint32) * 7 % 60000 + 1).astype(np.uint16).reshape(70, 90)


def _info(capsys, *argv):
    assert main(["info", *map(str, argv)]) == 0
    return capsys.readouterr().out


def _lines(text):
    return dict(line.split(": ", 1) for line in text.splitlines()[1:] if ": " in line)


def test_info_rgb_tiff_ome_tiff_and_bioio(tmp_path, capsys):
    rgb = np.zeros((40, 30, 3), np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    out = _info(capsys, tmp_path / "rgb.tif")
    assert "TIFF (tifffile, series axes YXS)" in out
    got = _lines(out)
    assert got["axes"] == "cyx (from the input, input order yxc)"
    assert got["shape"] == "3x40x30" and got["dtype"] == "uint8"
    assert got["channels"] == "3 (unnamed)" and got["physical sizes"].startswith("unknown")
    data = np.zeros((4, 2, 16, 12), np.uint16)
    tifffile.imwrite(tmp_path / "a.ome.tif", data, ome=True, photometric="minisblack",
                     metadata={"axes": "ZCYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25,
                               "PhysicalSizeZ": 1.5, "Channel": {"Name": ["DAPI", "GFP"]}})
    for argv in ([tmp_path / "a.ome.tif"], [tmp_path / "a.ome.tif", "--reader", "bioio"]):
        got = _lines(_info(capsys, *argv))
        assert got["axes"].startswith("czyx") and got["shape"] == "2x4x16x12"
        assert got["physical sizes"] == \
            "z=1.5 micrometer, y=0.25 micrometer, x=0.25 micrometer"
        assert got["channels"] == "2: DAPI, GFP"


@pytest.mark.parametrize("pattern", ["folder", "glob"])
def test_info_stack_npy_and_zarr_array(tmp_path, capsys, pattern):
    (tmp_path / "s").mkdir()
    for i in range(1, 13):
        tifffile.imwrite(tmp_path / "s" / f"z{i}.tif", np.zeros((8, 6), np.uint16))
    out = _info(capsys, tmp_path / "s" if pattern == "folder" else tmp_path / "s" / "*.tif")
    assert "stack of 12 TIFF files, natural order (z1.tif ... z12.tif)" in out
    got = _lines(out)
    assert got["axes"] == "zyx (from the input)" and got["shape"] == "12x8x6"
    assert got["chunks"].startswith("1x8x6 as read (12 read tasks")
    np.save(tmp_path / "rgb.npy", np.zeros((8, 6, 3), np.float32))
    got = _lines(_info(capsys, tmp_path / "rgb.npy"))
    assert got["axes"].startswith("zyx (inferred from 3 dimensions")
    assert got["shape"] == "8x6x3" and got["dtype"] == "float32"
    z = zarr.create_array(str(tmp_path / "a.zarr"), shape=(10, 20), chunks=(5, 5), dtype="u1",
                          dimension_names=["x", "y"])
    got = _lines(_info(capsys, z.store_path.store.root))
    assert got["axes"] == "yx (from the input, input order xy)" and got["shape"] == "20x10"


def test_info_ome_zarr_image(tmp_path, capsys):
    omescale.write_pyramid(IMAGE, tmp_path / "img.zarr", scale_factors=[2], method="nearest",
                           physical_sizes={"y": 0.5, "x": 0.5}, units={"y": "micrometer",
                                                                    "x": "micrometer"})
    out = _info(capsys, tmp_path / "img.zarr")
    assert "OME-Zarr image, NGFF 0.5" in out and "y [micrometer]" in out


@pytest.mark.parametrize("zarr_format", [2, 3])  # NGFF 0.4 omero, 0.5 ome.omero
def test_info_ome_zarr_channels_from_omero(tmp_path, capsys, zarr_format):
    data = np.zeros((2, 32, 24), np.uint16)
    omescale.write_pyramid(data, tmp_path / "c.zarr", axes="cyx", scale_factors=[2],
                           method="nearest", zarr_format=zarr_format,
                           channels=[{"label": "DAPI", "color": "#0000ff"}, "GFP"])
    got = _lines(_info(capsys, tmp_path / "c.zarr"))
    assert got["channels"] == "2: DAPI (#0000FF), GFP (#00FF00)"
    src = open_input(str(tmp_path / "c.zarr"))
    assert src.channels == (Channel("DAPI", "0000FF"), Channel("GFP", "00FF00"))


def test_info_interrupted_pyramid_counts_missing_objects(tmp_path, capsys):
    source = zarr.create_array(str(tmp_path / "in.zarr"), shape=IMAGE.shape, dtype=IMAGE.dtype,
                               chunks=(16, 16))
    source[:] = IMAGE
    chunk = tmp_path / "in.zarr" / "c" / "3" / "1"  # not a block the fingerprint samples
    chunk.write_bytes(b"\x00garbage")  # the write fails when it reads this chunk
    out_path = tmp_path / "out.zarr"
    with pytest.raises(CorruptInputError):
        omescale.write_pyramid(tmp_path / "in.zarr", out_path, chunks=(16, 16),
                               scale_factors=[2, 4], method="nearest")
    text = _info(capsys, out_path)
    assert "INCOMPLETE omescale pyramid" in text
    rows = [line.split() for line in text.splitlines()[2:-1]]
    missing_total = 0
    for row in rows:
        level, shape = row[0], [int(n) for n in row[1].split("x")]
        expected = math.prod(math.ceil(n / 16) for n in shape)  # independent of omescale
        present = sum(1 for p in (out_path / level / "c").rglob("*") if p.is_file()) \
            if (out_path / level / "c").exists() else 0
        assert row[5:8] == [str(expected), str(present), str(expected - present)]
        assert row[8] == ("complete" if present == expected else "incomplete")
        missing_total += expected - present
    assert missing_total > 0
    assert text.splitlines()[-1].endswith(f"{missing_total} of "
                                          f"{sum(int(r[5]) for r in rows)} storage objects "
                                          "missing")


def test_info_missing_path_exits_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nothing.tif")]) == 2
    assert "does not exist" in capsys.readouterr().err
