"""Streamed writes (omescale.stream): same bytes as one graph, bounded window, arithmetic plan,
resume after SIGKILL of the client, a failing unit."""

import io
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import tracemalloc

import dask
import numpy as np
import pytest
import zarr
from _ngff_util import CountingStore, is_complete, tree_bytes, zarr_input
from dask.callbacks import Callback

import omescale
from omescale.cli_report import dry_run
from omescale.errors import CorruptInputError, InvalidOptionError
from omescale.ngff.store import LOCK_KEY
from omescale.plan import plan_pyramid
from omescale.stream.units import iter_units, stream_plan
from omescale.stream.window import MEMORY_BUDGET, units_at_once

RNG = np.random.default_rng(16)
# Units of 2x32x32 pixels and 16x16 chunks: 150 and 167 leave partial units (and partial
# chunks) at the far edge of every axis, 3 a partial unit along z.
IMAGE = RNG.integers(0, 60000, size=(3, 150, 167), dtype=np.uint16)
SMALL_UNITS = {"omescale.unit-bytes": 5_000}
KW = {"chunks": (2, 16, 16), "scale_factors": [2, 4, 8]}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return zarr_input(tmp_path_factory.mktemp("stream") / "in.zarr", IMAGE, (2, 32, 32))


V3, V2, SHARDED = {"zarr_format": 3}, {"zarr_format": 2}, {"zarr_format": 3, "shards": (2, 32, 32)}


@pytest.mark.parametrize(("method", "layout"), [
    ("local_mean", V3), ("local_mean", SHARDED), ("local_mean", V2),  # a window method
    ("resize", SHARDED), ("resize", V2), ("gaussian", V3),  # halo methods
])
def test_streamed_equals_one_graph_bit_for_bit(tmp_path, source, method, layout):
    kw = {**KW, **layout, "method": method}
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, tmp_path / "s.zarr", stream=True, compute=False,
                                     **kw)
        stages = job.plan.stages
        assert job.streamed and len(stages) > 1
        # Units are partial at the far edge of every axis of the first stage.
        assert all(n % s for n, s in zip(IMAGE.shape, stages[0].size, strict=True))
        assert job.run() == job.plan.total_objects
    one = omescale.write_pyramid(source, tmp_path / "g.zarr", stream=False, compute=False, **kw)
    assert not one.streamed
    one.compute()
    streamed, graph = tree_bytes(tmp_path / "s.zarr"), tree_bytes(tmp_path / "g.zarr")
    assert streamed.keys() == graph.keys() and len(graph) > 30
    assert [k for k in graph if streamed[k] != graph[k]] == []
    assert is_complete(tmp_path / "s.zarr")


@pytest.mark.parametrize(("method", "layout"), [("resize", V3), ("gaussian", V2)])
def test_widened_units_equal_one_graph_bit_for_bit(tmp_path, source, method, layout):
    """Halo methods' units are widened along x within the budget (2x32x64, not 2x32x32), still
    partial at every far edge; the bytes are those of one graph."""
    kw = {**KW, **layout, "method": method}
    with dask.config.set({"omescale.unit-bytes": 10_000}):
        job = omescale.write_pyramid(source, tmp_path / "s.zarr", stream=True, compute=False,
                                     **kw)
        assert job.plan.stages[0].size == (2, 32, 64)
        assert all(n % s for n, s in zip(IMAGE.shape, job.plan.stages[0].size, strict=True))
        assert job.run() == job.plan.total_objects
    omescale.write_pyramid(source, tmp_path / "g.zarr", stream=False, **kw)
    streamed, graph = tree_bytes(tmp_path / "s.zarr"), tree_bytes(tmp_path / "g.zarr")
    assert streamed.keys() == graph.keys() and len(graph) > 30
    assert [k for k in graph if streamed[k] != graph[k]] == []


@pytest.mark.parametrize(("method", "widened"), [
    ("resize", True), ("gaussian", True), ("local_mean", False), ("nearest", False),
])
def test_units_widen_only_across_a_halo_and_within_the_budget(method, widened):
    plan = plan_pyramid((64, 4096, 4096), np.uint16, chunks=(16, 512, 512), method=method)
    splan = stream_plan(plan, [lv.chunks for lv in plan.levels], budget=256 * 2**20)
    first = splan.stages[0]
    assert (first.first, first.last) == (0, 2)
    assert first.size == ((16, 2048, 4096) if widened else (16, 2048, 2048))
    assert all(splan.unit_nbytes(s) <= 256 * 2**20 for s in range(len(splan.stages)))


def test_unit_grid_is_arithmetic_and_lazy():
    plan = plan_pyramid((64, 1000, 1000), np.uint16, chunks=(16, 128, 128))
    splan = stream_plan(plan, [lv.chunks for lv in plan.levels], budget=2**20)
    units = list(iter_units(splan.stages))
    assert len(units) == splan.units == sum(math.prod(s.count) for s in splan.stages)
    assert units[0].stage == 0 and units[-1].stage == len(splan.stages) - 1


def test_dry_run_of_a_petabyte_is_arithmetic(tmp_path):
    """1 PiB of uint16 with no chunk stored: the plan is small and its making takes little."""
    path = tmp_path / "virtual.zarr"
    zarr.create_array(str(path), shape=(16384, 131072, 262144), chunks=(64, 512, 512),
                      dtype="uint16", fill_value=0)
    out = io.StringIO()
    tracemalloc.start()
    try:
        dry_run(str(path), str(tmp_path / "out.zarr"), {}, shards=(64, 2048, 2048),
                zarr_format=3, out=out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20
    text = out.getvalue()
    assert "1024.0 TiB" in text and "streamed:" in text and "units" in text
    plan = plan_pyramid((16384, 131072, 262144), np.uint16, input_chunks=(64, 512, 512))
    splan = stream_plan(plan, [(64, 2048, 2048)] * len(plan.levels))
    assert splan.total_objects > 10**6 and len(pickle.dumps(splan)) < 2**20
    assert not (tmp_path / "out.zarr").exists()


class _Concurrent(Callback):
    """Counts unit graphs computing at once and the tasks each holds (dask's own hooks)."""

    def __init__(self):
        super().__init__()
        self.lock, self.now, self.most, self.tasks = threading.Lock(), 0, 0, 0

    def _start_state(self, dsk, state):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.tasks = max(self.tasks, len(dsk))

    def _finish(self, dsk, state, errored):
        with self.lock:
            self.now -= 1


def test_local_window_is_bounded(tmp_path, source):
    counter = _Concurrent()
    with dask.config.set({**SMALL_UNITS, "num_workers": 2}), counter:
        job = omescale.write_pyramid(source, tmp_path / "s.zarr", stream=True, compute=False,
                                     method="resize", **KW)
        job.run()
    assert job.plan.units > 20
    assert 1 <= counter.most <= 2  # one unit per thread, whatever the image
    # A unit's graph is its own few blocks (halo levels in sweep pieces, chained and joined,
    # and the gates of their reads).
    assert counter.tasks < 80


class _Running(Callback):
    """The most tasks one computation had running at once (1 on the synchronous scheduler)."""

    def __init__(self):
        super().__init__()
        self.most = 0

    def _pretask(self, key, dsk, state):
        self.most = max(self.most, len(state["running"]))


def test_memory_budget_bounds_units_at_once_and_a_unit_then_shares_the_threads(tmp_path,
                                                                              source):
    written = {}
    for budget in (None, 1):  # the default fits two units at once; one byte fits one
        counter, running = _Concurrent(), _Running()
        config = {**SMALL_UNITS, "num_workers": 2, "omescale.memory-budget": budget}
        with dask.config.set(config), counter, running:
            job = omescale.write_pyramid(source, tmp_path / f"{budget}.zarr", stream=True,
                                         compute=False, method="resize", **KW)
            job.run()
        written[budget] = tree_bytes(tmp_path / f"{budget}.zarr")
        # Two units at most, each on the synchronous scheduler; or one unit at a time on the
        # threaded scheduler over both threads.
        assert counter.most <= (2 if budget is None else 1)
        assert running.most == (1 if budget is None else 2)
    assert written[1] == written[None]


def test_unit_memory_counts_the_objects_a_unit_assembles():
    # The 128 TiB benchmark input with 64x2048x2048 shards: a unit of stage 0 reads 2 GiB of
    # level 0, computes the 512 MiB shard of level 1 it writes, and joins one 512 MiB shard.
    plan = plan_pyramid((4096, 131072, 131072), np.uint16, chunks=(64, 512, 512))
    splan = stream_plan(plan, [(64, 2048, 2048)] * 7 + [lv.chunks for lv in plan.levels[7:]])
    assert splan.stages[0].size == (64, 4096, 4096)
    assert splan.unit_memory(0) == (2048 + 512 + 512) * 2**20
    assert units_at_once(2, splan.unit_memory(0), MEMORY_BUDGET) == 1
    assert units_at_once(2, splan.unit_memory(len(splan.stages) - 1), MEMORY_BUDGET) == 2


def test_compute_false_streamed_job_is_one_delayed(tmp_path, source):
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, tmp_path / "s.zarr", stream=True, compute=False,
                                     method="local_mean", **KW)
        assert len(dict(job.__dask_graph__())) == 1  # the stream runs inside one task
        units = job.units
        assert next(units).index == (0, 0, 0)
        (count,) = dask.compute(job)
    assert count == job.plan.total_objects and is_complete(tmp_path / "s.zarr")


def test_stream_refused_where_it_cannot_apply(tmp_path):
    with pytest.raises(InvalidOptionError, match="stream=True"):
        omescale.write_pyramid(IMAGE, tmp_path / "s.zarr", stream=True, **KW)
    assert not (tmp_path / "s.zarr").exists() or not any((tmp_path / "s.zarr").iterdir()) \
        or not is_complete(tmp_path / "s.zarr")


def test_failing_unit_is_retried_then_stops_resumably(tmp_path, source):
    broken = tmp_path / "in.zarr"
    z = zarr.create_array(str(broken), shape=IMAGE.shape, dtype=IMAGE.dtype, chunks=(2, 32, 32))
    z[:] = IMAGE
    # Not (1, 2, 3): the job record's fingerprint reads that middle block before anything is
    # written, so it would stop the write before the first unit.
    chunk = broken / "c" / "1" / "2" / "4"
    good = chunk.read_bytes()
    chunk.write_bytes(b"garbage")
    out = tmp_path / "out.zarr"
    with dask.config.set(SMALL_UNITS), pytest.raises(CorruptInputError, match=r"\(1, 2, 4\)"):
        omescale.write_pyramid(broken, out, stream=True, method="resize", **KW)
    assert not is_complete(out) and not (out / LOCK_KEY).exists()
    chunk.write_bytes(good)
    with dask.config.set(SMALL_UNITS):
        omescale.write_pyramid(broken, out, stream=True, resume=True, method="resize", **KW)
    omescale.write_pyramid(source, tmp_path / "clean.zarr", stream=False, method="resize", **KW)
    assert tree_bytes(out) == tree_bytes(tmp_path / "clean.zarr")


_KILLED_CLIENT = textwrap.dedent("""
    import sys, dask, omescale
    def progress(p):
        print(p.units_done, flush=True)
    with dask.config.set({{"omescale.unit-bytes": 5_000, "num_workers": 1}}):
        job = omescale.write_pyramid({src!r}, {out!r}, stream=True, compute=False,
                                     method="gaussian", **{kw!r})
        job.run(progress=progress)
    print("finished", flush=True)
""")


def test_resume_after_sigkill_of_the_client_equals_a_clean_write(tmp_path, source):
    out = tmp_path / "out.zarr"
    code = _KILLED_CLIENT.format(src=str(source), out=str(out), kw=KW)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout is not None
    for line in proc.stdout:  # kill it mid-stream, some units written
        if line.strip().isdigit() and int(line) >= 12:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not is_complete(out)
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, out, stream=True, resume=True, compute=False,
                                     method="gaussian", **KW)
        written = job.run()
    assert 0 < written < job.plan.total_objects  # complete units were skipped
    omescale.write_pyramid(source, tmp_path / "clean.zarr", stream=False, method="gaussian",
                           **KW)
    assert tree_bytes(out) == tree_bytes(tmp_path / "clean.zarr")


def test_cli_stream_option_and_dry_run(tmp_path, source, capsys):
    from omescale.cli import main

    args = [str(source), "--chunks", "2,16,16", "--scale-factors", "2", "4", "8", "--method",
            "nearest"]
    with dask.config.set(SMALL_UNITS):
        assert main([*args, str(tmp_path / "dry.zarr"), "--stream", "yes", "--dry-run"]) == 0
        text = capsys.readouterr().out
        assert "streamed:" in text and "tasks/unit" in text and "units" in text
        assert main([*args, str(tmp_path / "s.zarr"), "--stream", "yes"]) == 0
    assert main([*args, str(tmp_path / "g.zarr"), "--stream", "no"]) == 0
    assert tree_bytes(tmp_path / "s.zarr") == tree_bytes(tmp_path / "g.zarr")
    assert not (tmp_path / "dry.zarr").exists()


def test_streaming_is_chosen_by_size(tmp_path, source):
    def job(image, name, **kw):
        return omescale.write_pyramid(image, tmp_path / name, compute=False, **KW, **kw)

    assert not job(source, "a.zarr").streamed  # 100-odd objects: one graph
    with dask.config.set({"omescale.stream-objects": 10}):
        assert job(source, "b.zarr").streamed
        assert not job(IMAGE, "c.zarr").streamed  # numpy: omescale does not read it itself
        assert job(source, "d.zarr", method="laplacian").streamed  # its chain in scratch
    # laplacian's one graph holds its float chain and grows with the image: it streams from
    # an eighth of the objects the other methods do.
    objects = job(source, "e.zarr").plan.total_objects
    with dask.config.set({"omescale.stream-objects": 8 * (objects - 1)}):
        assert job(source, "f.zarr", method="laplacian").streamed
        assert not job(source, "g.zarr", method="resize").streamed
    with dask.config.set({"omescale.stream-objects": 8 * objects}):
        assert not job(source, "h.zarr", method="laplacian").streamed


def test_a_window_method_streams_each_input_chunk_once(tmp_path, source):
    """Input chunks (2x32x32) differ from the output's (2x16x16): still one read each."""
    CountingStore.reads = {}
    base = zarr.open_array(CountingStore(str(source), read_only=True), mode="r")
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(base, tmp_path / "out.zarr", stream=True, compute=False,
                                     method="local_mean", **KW)
        assert job.plan.stages[0].units > 10
        job.run()
    chunks = math.prod(-(-n // c) for n, c in zip(IMAGE.shape, (2, 32, 32), strict=True))
    assert len(CountingStore.reads) == chunks
    # The job record's fingerprint reads a few sampled chunks once more, nothing else does.
    assert sorted(CountingStore.reads.values())[-4] == 1
    assert max(CountingStore.reads.values()) <= 2
