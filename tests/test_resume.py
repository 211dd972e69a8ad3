"""resume=True: only missing storage objects are recomputed; the result equals a clean write."""

import json

import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes
from dask.callbacks import Callback

import omescale
from omescale.errors import OutputExistsError
from omescale.ngff import add_levels
from omescale.ngff.job import marker

RNG = np.random.default_rng(11)
IMAGE = RNG.integers(1, 60000, size=(70, 90), dtype=np.uint16)  # no all-zero chunk
METADATA = {"zarr.json", ".zarray", ".zattrs", ".zgroup"}
KW = {"chunks": (16, 16), "scale_factors": [2, 4], "method": "resize"}


def _interrupt(out, drop):
    """Make ``out`` look like a write killed before ``drop`` of its chunk files were written."""
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in METADATA)
    for p in files[:drop]:
        p.unlink()
    zarr.open_group(str(out), mode="r+").attrs.put(marker())
    return len(files)


@pytest.mark.parametrize("zarr_format, shards", [(3, None), (3, (32, 32)), (2, None)])
def test_resume_writes_only_missing_objects(tmp_path, zarr_format, shards):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, zarr_format=zarr_format, shards=shards, **KW)
    omescale.write_pyramid(IMAGE, out, zarr_format=zarr_format, shards=shards, **KW)
    total = _interrupt(out, 5)
    assert not is_complete(out)
    pending = omescale.write_pyramid(IMAGE, out, resume=True, compute=False,
                                     zarr_format=zarr_format, shards=shards, **KW)
    assert pending.compute() == 5 < total
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_resume_computes_only_what_the_missing_objects_need(tmp_path):
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, out, **KW)
    level1 = sorted(p for p in (out / "1").rglob("*") if p.is_file() and p.name not in METADATA)
    level1[-1].unlink()  # the last chunk of level 1: everything before it is on disk
    zarr.open_group(str(out), mode="r+").attrs.put(marker())
    pending = omescale.write_pyramid(IMAGE, out, resume=True, compute=False, **KW)
    executed: list = []
    with Callback(pretask=lambda key, dsk, state: executed.append(key)):
        assert pending.compute() == 1
    kernels = [k for k in executed if isinstance(k, tuple) and str(k[0]).startswith("resize-1")]
    assert len(kernels) <= 12, kernels  # that block's own task and halo copies


def test_resume_ignores_and_removes_partial_files(tmp_path):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, **KW)
    omescale.write_pyramid(IMAGE, out, **KW)
    _interrupt(out, 0)
    chunk = out / "1" / "c" / "0" / "1"
    half = chunk.read_bytes()[:7]
    chunk.unlink()
    # what LocalStore leaves when killed mid-write: a temporary file next to the chunk
    (chunk.parent / "1.deadbeef.partial").write_bytes(half)
    assert omescale.write_pyramid(IMAGE, out, resume=True, compute=False, **KW).compute() == 1
    assert not list(out.rglob("*.partial"))
    assert tree_bytes(out) == tree_bytes(clean)


def test_resume_of_complete_pyramid_writes_nothing(tmp_path):
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, out, **KW)
    before = tree_bytes(out)
    assert omescale.write_pyramid(IMAGE, out, resume=True, compute=False, **KW).compute() == 0
    assert tree_bytes(out) == before


def test_resume_on_empty_target_is_a_fresh_write(tmp_path):
    omescale.write_pyramid(IMAGE, tmp_path / "new.zarr", resume=True, **KW)
    assert is_complete(tmp_path / "new.zarr")


def test_resume_refuses_a_different_plan(tmp_path):
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, out, **KW)
    _interrupt(out, 3)
    with pytest.raises(OutputExistsError, match="cannot resume"):
        omescale.write_pyramid(IMAGE, out, resume=True, **{**KW, "chunks": (32, 32)})
    with pytest.raises(OutputExistsError, match="zarr format"):
        omescale.write_pyramid(IMAGE, out, resume=True, zarr_format=2, **KW)


def test_resume_refuses_foreign_groups(tmp_path):
    out = tmp_path / "foreign.zarr"
    zarr.create_group(str(out), attributes={"something": "else"})
    with pytest.raises(OutputExistsError, match="not a pyramid omescale started"):
        omescale.write_pyramid(IMAGE, out, resume=True, **KW)
    assert json.loads((out / "zarr.json").read_text())["attributes"] == {"something": "else"}


def test_resume_add_levels(tmp_path):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    for path in (clean, out):
        omescale.write_pyramid(IMAGE, path, max_layer=0, chunks=(16, 16))
    add_levels(clean, scale_factors=[2, 4])
    add_levels(out, scale_factors=[2, 4])
    level0 = (out / "0" / "c" / "0" / "0").read_bytes()
    attrs = dict(zarr.open_group(str(out)).attrs)
    for p in (out / "2" / "c").rglob("*"):
        if p.is_file():
            p.unlink()
    # the state add_levels leaves while writing: level 0 listed alone, plus the marker
    ms = attrs["ome"]["multiscales"][0]
    zarr.open_group(str(out), mode="r+").attrs.put(
        {"ome": {**attrs["ome"], "multiscales": [{**ms, "datasets": ms["datasets"][:1]}]},
         **marker()})
    add_levels(out, scale_factors=[2, 4], resume=True)
    assert (out / "0" / "c" / "0" / "0").read_bytes() == level0
    assert tree_bytes(out) == tree_bytes(clean)
