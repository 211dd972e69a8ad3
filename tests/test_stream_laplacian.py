"""Streamed laplacian writes: the float Gaussian chain kept in scratch between stages.

Same bytes as one graph, values of the whole-array skimage reference, resume after SIGKILL of
the client (a later stage reading the scratch written before the kill), no scratch left after
a finished write, and an interrupted write's scratch never passing for a whole image.
"""

import io
import math
import os
import signal
import subprocess
import sys
import textwrap

import dask
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, read_levels, tree_bytes, zarr_input
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from references import assert_matches_reference, reference_levels

import omescale
from omescale.cli_info import info
from omescale.ngff.scratch import CHAIN_GROUP
from omescale.ngff.verify import verify
from omescale.plan import plan_pyramid
from omescale.stream.units import stream_plan

RNG = np.random.default_rng(161)
# Units of 2x32x32 pixels and 16x16 chunks: 150 and 167 leave partial units (and partial
# chunks) at the far edge of every axis, 3 a partial unit along z.
IMAGE = RNG.integers(0, 60000, size=(3, 150, 167), dtype=np.uint16)
SMALL_UNITS = {"omescale.unit-bytes": 5_000}
KW = {"chunks": (2, 16, 16), "scale_factors": [2, 4, 8], "method": "laplacian"}
V3, V2, SHARDED = {"zarr_format": 3}, {"zarr_format": 2}, {"zarr_format": 3, "shards": (2, 32, 32)}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return zarr_input(tmp_path_factory.mktemp("lap") / "in.zarr", IMAGE, (2, 32, 32))


def _streamed(source, out, **kw):
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, out, stream=True, compute=False, **KW, **kw)
        stages = job.plan.stages
        assert job.streamed and len(stages) == 3  # two stage borders: G_1 and G_2 in scratch
        assert all(n % s for n, s in zip(IMAGE.shape, stages[0].size, strict=True))
        assert job.run() == job.plan.total_objects  # scratch objects are not counted
    return job


def _image(dtype):
    """``IMAGE`` in ``dtype``: int32 values as large as 2**31 (not exact in float32, the
    output dtype: the chain must start from the input's own values, never a cast of them)."""
    if np.dtype(dtype) == np.uint16:
        return IMAGE
    return (IMAGE.astype(np.int64) * 30011 - 2**30).astype(dtype)


@pytest.mark.parametrize(("layout", "dtype"), [
    (V3, np.uint16), (V2, np.uint16), (SHARDED, np.uint16), (V3, np.int32),
])
def test_streamed_laplacian_equals_one_graph_bit_for_bit(tmp_path, layout, dtype):
    src = zarr_input(tmp_path / "in.zarr", _image(dtype), (2, 32, 32))
    _streamed(src, tmp_path / "s.zarr", **layout)
    omescale.write_pyramid(src, tmp_path / "g.zarr", stream=False, **KW, **layout)
    streamed, graph = tree_bytes(tmp_path / "s.zarr"), tree_bytes(tmp_path / "g.zarr")
    assert streamed.keys() == graph.keys() and len(graph) > 30
    assert [k for k in graph if streamed[k] != graph[k]] == []
    assert is_complete(tmp_path / "s.zarr") and not (tmp_path / "s.zarr" / CHAIN_GROUP).exists()


@pytest.mark.parametrize("dtype", [np.uint16, np.float64])
def test_streamed_laplacian_equals_the_skimage_reference(tmp_path, dtype):
    """Levels read back through ome-zarr-py's reader against the whole-array reference
    (skimage ``pyramid_reduce`` chain; float64 input keeps float64 levels)."""
    image = _image(dtype)
    src = zarr_input(tmp_path / "in.zarr", image, (2, 32, 32))
    _streamed(src, tmp_path / "s.zarr", **SHARDED)
    ours = read_levels(tmp_path / "s.zarr")
    refs = reference_levels("laplacian", image, [(1, 2, 2)] * 3)
    assert len(ours) == len(refs) == 4
    for k, (level, ref) in enumerate(zip(ours, refs, strict=True)):
        assert level.dtype == ref.dtype == (np.float64 if dtype == np.float64 else np.float32)
        assert_matches_reference(level, ref, "laplacian", source=image, what=f"level {k}")


_KILLED_CLIENT = textwrap.dedent("""
    import dask, omescale
    def progress(p):
        print(p.units_done, flush=True)
    with dask.config.set({{"omescale.unit-bytes": 5_000, "num_workers": 1}}):
        job = omescale.write_pyramid({src!r}, {out!r}, stream=True, compute=False, **{kw!r})
        first = job.plan.stages[0].units
        print("first", first, flush=True)
        job.run(progress=progress)
    print("finished", flush=True)
""")


def _kill_in_second_stage(source, out, kw):
    """Run the write in a child process and SIGKILL it once some units of stage 1 (which
    read the chain G_1 from scratch) are done."""
    code = _KILLED_CLIENT.format(src=str(source), out=str(out), kw=kw)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout is not None
    first = None
    for line in proc.stdout:
        if line.startswith("first"):
            first = int(line.split()[1])
        elif first is not None and line.strip().isdigit() and int(line) >= first + 4:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_resume_after_sigkill_reads_the_scratch_and_equals_a_clean_write(tmp_path, source):
    out = tmp_path / "out.zarr"
    _kill_in_second_stage(source, out, {**KW, **SHARDED})
    # Stage 1 had stored some of G_2 from the G_1 of stage 0.
    assert (out / CHAIN_GROUP / "2" / "c").exists() and not is_complete(out)
    # The scratch left by the kill never passes for a whole image.
    report = verify(str(out))
    assert not report.ok and any("incomplete" in p.what for p in report.problems)
    text = io.StringIO()
    info(str(out), out=text)
    assert "INCOMPLETE" in text.getvalue() and CHAIN_GROUP not in text.getvalue()
    assert list(Reader(parse_url(str(out)))()) == []  # ome-zarr-py finds no image
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, out, stream=True, resume=True, compute=False,
                                     **KW, **SHARDED)
        written = job.run()
    assert 0 < written < job.plan.total_objects  # stage 0's units were skipped
    omescale.write_pyramid(source, tmp_path / "clean.zarr", stream=False, **KW, **SHARDED)
    assert tree_bytes(out) == tree_bytes(tmp_path / "clean.zarr")
    assert not (out / CHAIN_GROUP).exists() and verify(str(out)).ok


def test_resume_after_the_scratch_was_deleted_recomputes_the_chain(tmp_path, source):
    """A kill between the finish step's deletion of the scratch and its metadata write: the
    image is still marked incomplete, the resume recomputes the chain stage by stage from the
    input (writing only scratch) and finishes with the same bytes."""
    out = tmp_path / "out.zarr"
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, out, stream=True, compute=False, **KW, **V2)
    marker = dict(zarr.open_group(str(out), mode="r").attrs)
    with dask.config.set(SMALL_UNITS):
        job.run()
    finished = tree_bytes(out)
    zarr.open_group(str(out), mode="r+").attrs.put(marker)
    assert not is_complete(out) and not verify(str(out)).ok
    with dask.config.set(SMALL_UNITS):
        written = omescale.write_pyramid(source, out, stream=True, resume=True, compute=False,
                                         **KW, **V2).run()
    assert written == 0  # every level's object was there; only the chain was recomputed
    assert tree_bytes(out) == finished and not (out / CHAIN_GROUP).exists()


def test_later_stages_budget_the_float64_chain_they_read():
    """A stage after the first reads G_first as float64: its unit is budgeted at 8 bytes a
    pixel (the 8 GiB benchmark volume's stage 1 is 16x1024x2048, not 16x2048x2048)."""
    plan = plan_pyramid((64, 8192, 8192), np.uint16, chunks=(16, 512, 512), method="laplacian")
    splan = stream_plan(plan, [lv.chunks for lv in plan.levels], budget=256 * 2**20)
    assert [(st.first, st.last) for st in splan.stages] == [(0, 2), (2, 3), (3, 5)]
    assert splan.stages[1].size == (16, 1024, 2048)
    for st in splan.stages[1:]:
        shape = plan.levels[st.first].shape
        assert math.prod(min(s, n) for s, n in zip(st.size, shape, strict=True)) * 8 \
            <= 256 * 2**20
