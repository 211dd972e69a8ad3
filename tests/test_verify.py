"""``omescale verify`` / ``omescale.verify``: whole pyramids pass, damaged ones name the damage.

Pyramids are written by omescale, ome-zarr-py and ngff-zarr into real directories and then
damaged by hand (truncated, deleted or corrupted objects, a level swapped for another method's,
a wrong shape, a leftover marker); the expected counts come from the files on disk.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import zarr
from _ngff_util import write_with_ngff_zarr

import omescale
from omescale.cli import main
from omescale.errors import InputNotFoundError, InvalidOptionError
from omescale.ngff.chunk_check import object_index, object_is_whole, object_key
from omescale.ngff.verify import verify_job

IMAGE_SHAPE = (12, 100, 90)
CHUNKS = (4, 32, 32)


def _image() -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 1000, IMAGE_SHAPE).astype(np.uint16)
    x[:, 30:60, 25:70] += 3000
    return x


def _write(path: Path, **options) -> Path:
    options = {"chunks": CHUNKS, "scale_factors": [2, 4], **options}
    omescale.write_pyramid(_image(), str(path), **options)
    return path


def _objects_on_disk(path: Path) -> int:
    """Chunk or shard files under ``path`` (everything but metadata and locks)."""
    skip = {"zarr.json", ".zarray", ".zgroup", ".zattrs", ".omescale-lock"}
    return sum(1 for _, _, files in os.walk(path) for f in files if f not in skip)


def _flip(file: Path, position: int) -> None:
    data = bytearray(file.read_bytes())
    data[position] ^= 0xFF
    file.write_bytes(bytes(data))


def _problems(report) -> list[str]:
    return [str(p) for p in report.problems]


# --- whole pyramids pass ------------------------------------------------------------------------


@pytest.mark.parametrize(("zarr_format", "shards"), [(3, None), (3, (8, 64, 64)), (2, None)])
def test_omescale_pyramid_with_labels_is_whole(tmp_path, zarr_format, shards):
    path = _write(tmp_path / "img.ome.zarr", zarr_format=zarr_format, shards=shards,
                  method="gaussian")
    labels = (_image() > 2000).astype(np.uint8)
    omescale.write_labels(labels, str(path), "cells", method="mode")
    report = omescale.verify(str(path), recompute=2)
    assert report.ok, _problems(report)
    assert report.checked["images"] == 2 and report.checked["levels"] == 6
    assert report.checked["objects"] == _objects_on_disk(path)
    assert report.checked["absent"] == 0
    group = zarr.open_group(str(path), mode="r")
    chunks = [math.prod(math.ceil(n / c) for n, c in zip(a.shape, a.chunks, strict=True))
              for a in (group[p] for p in ("1", "2", "labels/cells/1", "labels/cells/2"))]
    assert report.checked["recomputed"] == sum(min(2, n) for n in chunks)
    assert report.notes == []


def test_add_levels_keeps_the_users_level0_rules(tmp_path):
    """Level 0 of add_levels is the user's array: a fill-value chunk zarr left out is fine."""
    path = tmp_path / "user.ome.zarr"
    x = _image()
    x[:4, :32, :32] = 0  # one all-zero chunk that zarr does not write by default
    group = zarr.open_group(str(path), mode="w")
    group.create_array("0", data=x, chunks=CHUNKS)
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "axes": [{"name": a, "type": "space"} for a in "zyx"],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, 1.0, 1.0]}]}]}]}
    omescale.add_levels(str(path), scale_factors=[2], method="local_mean")
    report = omescale.verify(str(path), recompute=3)
    assert report.ok, _problems(report)
    assert report.checked["absent"] == 1 and report.checked["recomputed"] == 3


def test_ome_zarr_py_output_is_whole_and_not_recomputed(tmp_path):
    from ome_zarr.format import FormatV04
    from ome_zarr.scale import Methods
    from ome_zarr.writer import write_image, write_labels

    x = _image()
    x[:, :40, :] = 0  # chunks of zeros: ome-zarr-py (zarr's default) does not write them
    for fmt, zarr_format in ((None, 3), (FormatV04(), 2)):
        path = tmp_path / f"oz{zarr_format}.zarr"
        group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
        write_image(x, group, axes="zyx", fmt=fmt, scale_factors=[2, 4],
                    method=Methods.NEAREST, storage_options={"chunks": CHUNKS})
        write_labels((x > 2000).astype(np.uint8), group, "cells", axes="zyx", fmt=fmt,
                     scale_factors=[2, 4], storage_options={"chunks": CHUNKS})
        report = omescale.verify(str(path), recompute=2)
        assert report.ok, _problems(report)
        assert report.checked["absent"] > 0
        assert report.checked["objects"] == _objects_on_disk(path)
        assert report.checked["recomputed"] == 0
        assert ".: method unknown, not recomputed" in report.notes


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ngff_zarr_output_is_whole(tmp_path, version):
    nz = pytest.importorskip("ngff_zarr", reason="ngff-zarr is not installed")
    image = nz.to_ngff_image(_image(), dims=["z", "y", "x"])
    multiscales = nz.to_multiscales(image, scale_factors=[2, 4], chunks=32,
                                    method=nz.Methods.ITKWASM_BIN_SHRINK)
    path = tmp_path / f"nz{version}.ome.zarr"
    write_with_ngff_zarr(path, multiscales, version)
    report = omescale.verify(str(path), recompute=1)
    assert report.ok, _problems(report)
    assert report.checked["levels"] == 3 and report.checked["objects"] > 0
    assert "method unknown, not recomputed" in report.notes[0]


# --- damage is named ----------------------------------------------------------------------------


def test_truncated_chunk_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr")
    chunk = path / "1" / "c" / "1" / "0" / "1"
    chunk.write_bytes(chunk.read_bytes()[:100])
    report = omescale.verify(str(path))
    assert not report.ok
    assert [(p.array, p.key) for p in report.problems] == [("1", "c/1/0/1")]
    assert "cannot be decoded" in report.problems[0].what


def test_deleted_chunk_is_named_zarr2(tmp_path):
    path = _write(tmp_path / "img.ome.zarr", zarr_format=2)
    os.remove(path / "0" / "2" / "1" / "0")
    report = omescale.verify(str(path))
    assert _problems(report) == ["0/2/1/0: missing"]


def test_corrupted_header_byte_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr")
    _flip(path / "0" / "c" / "0" / "0" / "0", 5)  # the blosc frame's decoded size
    report = omescale.verify(str(path))
    assert [(p.array, p.key) for p in report.problems] == [("0", "c/0/0/0")]


def test_corrupted_data_byte_of_a_level_is_caught_by_recompute(tmp_path):
    """blosc has no checksum: a flipped data byte may decode, into wrong values; recomputing
    every chunk of the level names it either way."""
    path = _write(tmp_path / "img.ome.zarr", method="local_mean")
    chunk = path / "1" / "c" / "1" / "1" / "0"
    _flip(chunk, chunk.stat().st_size // 2)
    report = omescale.verify(str(path), recompute=1000)
    named = {(p.array, p.key.split(" ")[0]) for p in report.problems}
    assert ("1", "c/1/1/0") in named and not report.ok


def test_corrupted_shard_index_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr", shards=(8, 64, 64))
    _flip(path / "0" / "c" / "1" / "0" / "1", -10)  # inside the crc32c-checked index
    report = omescale.verify(str(path))
    assert [(p.array, p.key) for p in report.problems] == [("0", "c/1/0/1")]


def test_shard_missing_an_inner_chunk_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr", shards=(8, 64, 64))
    array = zarr.open_array(str(path / "0"), mode="r+")  # default config: leaves out zeros
    array[:4, :32, :32] = 0
    report = omescale.verify(str(path))
    assert [(p.array, p.key) for p in report.problems] == [("0", "c/0/0/0")]
    assert "lacks 1 inner chunk" in report.problems[0].what


def test_level_swapped_for_another_methods_level_is_caught_by_recompute(tmp_path):
    path = _write(tmp_path / "img.ome.zarr", method="gaussian")
    other = _write(tmp_path / "other.ome.zarr", method="local_mean")
    shutil.rmtree(path / "1")
    shutil.copytree(other / "1", path / "1")
    assert omescale.verify(str(path)).ok  # same shapes and codecs: only values differ
    report = omescale.verify(str(path), recompute=2, seed=3)
    level1 = [p for p in report.problems if p.array == "1"]
    assert len(level1) == 2
    assert all("differs from gaussian of the level below" in p.what for p in level1)
    assert all(p.key.startswith("c/") for p in level1)


def test_wrong_shape_in_the_metadata_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr")
    meta = json.loads((path / "1" / "zarr.json").read_text())
    meta["shape"][1] = 49
    (path / "1" / "zarr.json").write_text(json.dumps(meta))
    report = omescale.verify(str(path))
    assert report.problems[0].array == "1" and report.problems[0].key is None
    assert "ceil(100 / 2) = 50" in report.problems[0].what


def test_leftover_incomplete_marker_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr")
    group = zarr.open_group(str(path), mode="r+")
    group.attrs["omescale"] = {"status": "incomplete"}
    report = omescale.verify(str(path))
    assert len(report.problems) == 1 and "'incomplete' marker" in report.problems[0].what


def test_interrupted_write_without_metadata_is_not_whole(tmp_path):
    path = _write(tmp_path / "img.ome.zarr")
    group = zarr.open_group(str(path), mode="r+")
    group.attrs.put({"omescale": {"status": "incomplete"}})
    report = omescale.verify(str(path))
    assert {p.what.split(" ")[0] for p in report.problems} == {"carries", "no"}


def test_labels_of_another_image_are_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr")
    small = tmp_path / "small.ome.zarr"
    omescale.write_pyramid(_image()[:, :50], str(small), chunks=CHUNKS, scale_factors=[2])
    omescale.write_labels(np.ones((12, 50, 90), np.uint8), str(small), "cells")
    shutil.copytree(small / "labels", path / "labels")
    report = omescale.verify(str(path))
    assert [(p.array, p.key) for p in report.problems] == [("labels/cells", None)]
    assert "does not match the image's level 0" in report.problems[0].what


def test_unlisted_label_image_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr")
    omescale.write_labels(np.ones(IMAGE_SHAPE, np.uint8), str(path), "cells")
    labels = zarr.open_group(str(path / "labels"), mode="r+")
    labels.attrs.put({"ome": {"version": "0.5", "labels": []}})
    report = omescale.verify(str(path))
    assert [p.array for p in report.problems] == ["labels/cells"]


# --- API details --------------------------------------------------------------------------------


def test_bad_usage_raises(tmp_path):
    with pytest.raises(InputNotFoundError, match="does not exist"):
        omescale.verify(str(tmp_path / "nothing"))
    zarr.create_array(str(tmp_path / "array.zarr"), shape=(4, 4), dtype="u1")
    with pytest.raises(InputNotFoundError, match="zarr array"):
        omescale.verify(str(tmp_path / "array.zarr"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputNotFoundError, match="not a zarr group"):
        omescale.verify(str(tmp_path / "plain"))
    path = _write(tmp_path / "img.ome.zarr")
    with pytest.raises(InvalidOptionError, match="recompute"):
        omescale.verify(str(path), recompute=-1)


def test_one_task_per_storage_object(tmp_path):
    path = _write(tmp_path / "img.ome.zarr", shards=(8, 64, 64))
    job = verify_job(str(path))
    for scan in job.scans:
        grid = [math.ceil(n / s) for n, s in zip(scan.array.shape, scan.array.shards,
                                                 strict=True)]
        assert len(scan.results.__dask_graph__()) == math.prod(grid)


@pytest.mark.parametrize(("zarr_format", "shards"), [(3, None), (3, (8, 64, 64)), (2, None)])
def test_object_keys_round_trip_and_whole_objects(tmp_path, zarr_format, shards):
    path = _write(tmp_path / "img.ome.zarr", zarr_format=zarr_format, shards=shards)
    array = zarr.open_group(str(path), mode="r")["1"]
    key = object_key(array, (1, 0, 0))
    assert object_index(array, key) == (1, 0, 0)
    assert (path / key).is_file() and object_is_whole(array, key)
    (path / key).unlink()
    assert not object_is_whole(array, key)
    for wrong in ("1/zarr.json", key.rsplit("/", 1)[0], "0/" + key.split("/", 1)[1]):
        with pytest.raises(ValueError, match="not a storage object key"):
            object_index(array, wrong)


# --- command line -------------------------------------------------------------------------------


def test_cli_exit_codes_in_process(tmp_path, capsys):
    path = _write(tmp_path / "img.ome.zarr", method="nearest")
    assert main(["verify", str(path), "--recompute", "1", "--scheduler", "synchronous"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith(f"{path.resolve()}: whole") and "2 chunks recomputed" in out[-1]
    os.remove(path / "2" / "c" / "0" / "0" / "0")
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "2/c/0/0/0: missing" and "NOT whole, 1 problem(s)" in out[-1]
    assert main(["verify", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["verify", str(path), "--recompute", "x"]) == 2


def test_cli_entry_point_exit_code(tmp_path):
    exe = shutil.which("omescale")
    if exe is None:
        pytest.fail("the omescale entry point is not installed: python3 -m pip install -e .")
    path = _write(tmp_path / "img.ome.zarr")
    (path / "1" / "c" / "0" / "0" / "0").write_bytes(b"")
    ran = subprocess.run([exe, "verify", str(path)], capture_output=True, text=True)
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout.startswith("1/c/0/0/0: cannot be decoded")
    assert "NOT whole, 1 problem(s)" in ran.stdout.splitlines()[-1]


# --- level rules (pure) -------------------------------------------------------------------------


def _levels(shapes, scales, translations=None):
    from omescale.ngff.consistency import LevelInfo

    translations = translations or [None] * len(shapes)
    return [LevelInfo(str(k), s, np.dtype("uint16"), sc, t)
            for k, (s, sc, t) in enumerate(zip(shapes, scales, translations, strict=True))]


def test_unknown_writer_rules_accept_floor_ceil_and_each_geometry():
    from omescale.ngff.consistency import level_problems

    shapes = [(70, 90), (35, 45), (17, 22)]
    nominal = _levels(shapes, [(1.0, 1.0), (2.0, 2.0), (4.0, 4.0)],
                      [(0.0, 0.0), (0.5, 0.5), (1.5, 1.5)])  # ngff-zarr: floor, block
    resize = _levels(shapes, [(1.0, 1.0), (2.0, 2.0), (70 / 17, 90 / 22)])  # ome-zarr-py
    assert level_problems("yx", nominal) == [] and level_problems("yx", resize) == []


def test_unknown_writer_rules_name_what_no_writer_does():
    from omescale.ngff.consistency import level_problems

    shrinking = _levels([(64, 64), (32, 32)], [(1.0, 1.0), (0.5, 2.0)])
    assert level_problems("yx", shrinking) == [
        ("1", "axis y: scale 0.5 is finer than the previous level's 1")]
    odd_ratio = _levels([(64, 64), (32, 32)], [(1.0, 1.0), (2.5, 2.0)])
    assert "neither an integer nor the size ratio" in level_problems("yx", odd_ratio)[0][1]
    wrong_size = _levels([(64, 64), (20, 32)], [(1.0, 1.0), (2.0, 2.0)])
    assert "does not fit scale ratio 2" in level_problems("yx", wrong_size)[0][1]
    shifted = _levels([(64, 64), (32, 32)], [(1.0, 1.0), (2.0, 2.0)],
                      [(0.0, 0.0), (0.5, 0.7)])
    assert level_problems("yx", shifted)[0][1].startswith("axis x: translation 0.7")


def test_wrong_transform_of_an_omescale_level_is_named(tmp_path):
    path = _write(tmp_path / "img.ome.zarr", method="local_mean")
    group = zarr.open_group(str(path), mode="r+")
    attrs = group.attrs.asdict()
    transforms = attrs["ome"]["multiscales"][0]["datasets"][2]["coordinateTransformations"]
    transforms[0]["scale"] = [1.0, 4.0, 4.5]  # block geometry: 4 (and translation 1.5)
    group.attrs.put(attrs)
    report = omescale.verify(str(path))
    assert _problems(report) == [
        "2: axis x: scale 4.5 translation 1.5, but the block geometry of 45 -> 23 pixels gives "
        "scale 4 translation 1.5"]
