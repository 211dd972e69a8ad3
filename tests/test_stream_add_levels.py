"""Streamed add_levels: the first stage reads the stored level 0 back; same bytes, job record,
resume and final metadata as the one-graph add_levels."""

import shutil

import dask
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes

import omescale
from omescale.errors import ResumeMismatchError

RNG = np.random.default_rng(1616)
# As in test_stream.py: units of 2x32x32 pixels leave partial units (and chunks) at the far
# edge of every axis.
IMAGE = RNG.integers(0, 60000, size=(3, 150, 167), dtype=np.uint16)
SMALL_UNITS = {"omescale.unit-bytes": 5_000}
FACTORS = {"scale_factors": [2, 4, 8]}

V3, V2 = {"zarr_format": 3}, {"zarr_format": 2}
SHARDED = {"zarr_format": 3, "shards": (2, 32, 32)}


def _image(path, layout, chunks=(2, 16, 16)):
    """A one-level OME-Zarr image (level 0 only), as the user's existing image."""
    omescale.write_pyramid(IMAGE, path, max_layer=0, chunks=chunks, **layout)
    return path


def _pair(tmp_path, layout, chunks=(2, 16, 16)):
    base = _image(tmp_path / "base.zarr", layout, chunks)
    streamed, graph = tmp_path / "s.zarr", tmp_path / "g.zarr"
    shutil.copytree(base, streamed)
    shutil.copytree(base, graph)
    return base, streamed, graph


def _level0(path):
    return {k: v for k, v in tree_bytes(path).items() if k.startswith("0/")}


@pytest.mark.parametrize(("method", "layout", "stored"), [
    ("local_mean", V2, (2, 16, 16)), ("local_mean", SHARDED, (2, 16, 16)),  # a window method
    ("resize", V3, (2, 32, 32)),  # halo methods; here level 0 is stored in other chunks
    ("gaussian", SHARDED, (2, 16, 16)),
])
def test_streamed_add_levels_equals_one_graph_bit_for_bit(tmp_path, method, layout, stored):
    base, streamed, graph = _pair(tmp_path, layout, stored)
    kw = {**FACTORS, "method": method, "chunks": (2, 16, 16), "shards": layout.get("shards")}
    with dask.config.set(SMALL_UNITS):
        job = omescale.add_levels(streamed, stream=True, compute=False, **kw)
        assert job.streamed and len(job.plan.stages) > 1
        first = job.plan.stages[0]
        assert first.first == 0 and job.plan.first == 1
        # Units are partial at the far edge of every axis of the first stage.
        assert all(n % s for n, s in zip(IMAGE.shape, first.size, strict=True))
        written = job.run()
    one = omescale.add_levels(graph, stream=False, compute=False, **kw)
    assert not one.streamed
    assert one.compute() == written == job.plan.total_objects == one.plan.total_objects
    s, g = tree_bytes(streamed), tree_bytes(graph)
    assert s.keys() == g.keys() and len(g) > 30
    assert [k for k in g if s[k] != g[k]] == []
    assert _level0(streamed) == _level0(base)  # level 0 never touched
    assert not any(k.startswith("0/") for k in set(s) - set(tree_bytes(base)))
    assert is_complete(streamed)


def _job(path):
    job = dict(zarr.open_group(str(path)).attrs)["omescale"]["job"]
    return {**job, "input": {k: v for k, v in job["input"].items() if k != "location"}}


def test_streamed_add_levels_is_chosen_by_size_and_reports_progress(tmp_path):
    _, streamed, graph = _pair(tmp_path, V3)
    seen = []
    with dask.config.set({**SMALL_UNITS, "omescale.stream-objects": 10}):
        job = omescale.add_levels(streamed, compute=False, method="resize", **FACTORS)
        assert job.streamed
        started = _job(streamed)
        job.run(progress=seen.append)
    one = omescale.add_levels(graph, compute=False, method="resize", **FACTORS)
    assert not one.streamed  # 100-odd objects: one graph
    assert _job(graph) == started  # both record the same job
    one.compute()
    assert tree_bytes(streamed) == tree_bytes(graph)
    last = seen[-1]
    assert last.units_done == last.units_total == job.plan.units
    assert last.bytes_done == last.bytes_total
    assert [p.units_done for p in seen] == list(range(1, job.plan.units + 1))


def test_streamed_resume_finishes_an_interrupted_one_graph_add_levels(tmp_path):
    """Started as one graph, interrupted, resumed as a stream: equal to a clean write."""
    _, out, clean = _pair(tmp_path, SHARDED)
    kw = {**FACTORS, "method": "gaussian", "shards": (2, 32, 32)}
    omescale.add_levels(clean, **kw)
    pending = omescale.add_levels(out, stream=False, compute=False, **kw)
    writing = dict(zarr.open_group(str(out)).attrs)  # level 0 alone, plus the marker
    pending.compute()
    for level in ("1", "3"):
        for chunk in sorted((out / level / "c").rglob("*"))[::2]:
            if chunk.is_file():
                chunk.unlink()
    zarr.open_group(str(out), mode="r+").attrs.put(writing)
    assert not is_complete(out)
    with dask.config.set(SMALL_UNITS):
        with pytest.raises(ResumeMismatchError, match="method"):
            omescale.add_levels(out, resume=True, stream=True, **{**kw, "method": "resize"})
        job = omescale.add_levels(out, resume=True, stream=True, compute=False, **kw)
        written = job.run()
    assert 0 < written < job.plan.total_objects  # only the missing objects
    assert tree_bytes(out) == tree_bytes(clean)


def test_cli_in_place_streams(tmp_path):
    from omescale.cli import main

    _, streamed, graph = _pair(tmp_path, V2)
    args = ["--in-place", "--scale-factors", "2", "4", "8", "--method", "nearest"]
    with dask.config.set(SMALL_UNITS):
        assert main([str(streamed), *args, "--stream", "yes"]) == 0
    assert main([str(graph), *args, "--stream", "no"]) == 0
    assert tree_bytes(streamed) == tree_bytes(graph)
