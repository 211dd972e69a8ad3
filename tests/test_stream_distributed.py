"""A streamed write on a real LocalCluster (2 worker processes): the scheduler holds only the
window's tasks, a killed worker loses nothing, the bytes equal the threaded scheduler's."""

import os
import signal
import sys
import threading
import time

import cloudpickle
import dask
import numpy as np
import pytest
from _ngff_util import is_complete, tree_bytes, zarr_input

import omescale
from omescale.stream.window import WINDOW_FACTOR

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow
cloudpickle.register_pickle_by_value(sys.modules[__name__])

IMAGE = np.random.default_rng(5).integers(0, 60000, size=(3, 150, 167), dtype=np.uint16)
KW = {"chunks": (2, 16, 16), "scale_factors": [2, 4, 8], "method": "resize"}
SMALL_UNITS = {"omescale.unit-bytes": 20_000}  # 20 units (widened along x)
TINY_UNITS = {"omescale.unit-bytes": 5_000}  # 86 units


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return zarr_input(tmp_path_factory.mktemp("stream-dist") / "in.zarr", IMAGE, (2, 32, 32))


@pytest.fixture(scope="module")
def threaded(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("stream-threads") / "clean.zarr"
    with dask.config.set({**SMALL_UNITS, "scheduler": "threads"}):
        omescale.write_pyramid(source, out, stream=True, **KW)
    return tree_bytes(out)


def _poll(client, stop, seen):
    while not stop.is_set():
        seen.append(client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)))
        time.sleep(0.03)


def test_scheduler_holds_only_the_window(client, source, threaded, tmp_path):
    out = tmp_path / "out.zarr"
    with dask.config.set(TINY_UNITS):
        job = omescale.write_pyramid(source, out, stream=True, compute=False, **KW)
        unit_tasks = max(len(dict(job.stream.work.graph(u).__dask_graph__()))
                         for u in list(job.units)[:40])
        stop, seen = threading.Event(), []
        poller = threading.Thread(target=_poll, args=(client, stop, seen))
        poller.start()
        try:
            job.run(client)
        finally:
            stop.set()
            poller.join()
    window = 2 * WINDOW_FACTOR  # two worker threads
    assert job.plan.units > 5 * window and len(seen) > 5
    # The window's units, plus those finished whose release has not reached the scheduler
    # yet (the client tells it in batches): never the stream's thousands of tasks.
    assert 0 < max(seen) <= 2 * window * unit_tasks < job.plan.units * unit_tasks / 4
    assert tree_bytes(out) == threaded


def test_a_streamed_job_computes_as_one_delayed_on_the_cluster(client, source, threaded,
                                                               tmp_path):
    out = tmp_path / "out.zarr"
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, out, stream=True, compute=False, **KW)
    assert client.compute(job).result() == job.plan.total_objects  # units via worker_client
    assert tree_bytes(out) == threaded


def test_killed_worker_mid_unit_loses_nothing(client, source, threaded, tmp_path):
    out = tmp_path / "out.zarr"
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, out, stream=True, compute=False, **KW)
    done = []
    runner = threading.Thread(target=lambda: done.append(job.run(client)))
    runner.start()
    end = time.monotonic() + 60
    while len(list((out / "0" / "c").rglob("*"))) < 10:  # some units are written
        assert time.monotonic() < end and runner.is_alive()
        time.sleep(0.005)
    pids = client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    runner.join(timeout=120)
    assert done == [job.plan.total_objects] and is_complete(out)
    assert tree_bytes(out) == threaded


def _transfers(client):
    """Data transfers between workers so far (every worker's incoming count)."""
    counts = client.run(lambda dask_worker: dask_worker.state.transfer_incoming_count_total)
    return sum(counts.values())


def test_a_cluster_streams_a_unit_per_task_by_default(client, source, threaded, tmp_path):
    """On a distributed client a write with a unit for every worker thread streams (no
    ``stream=``), each unit one task: no block travels between workers; same bytes."""
    out = tmp_path / "out.zarr"
    with dask.config.set({**SMALL_UNITS, "scheduler": "dask.distributed"}):
        job = omescale.write_pyramid(source, out, compute=False, **KW)
        assert job.streamed and job.plan.stages[0].units >= 2
        before = _transfers(client)
        assert job.run() == job.plan.total_objects
    assert _transfers(client) == before
    assert tree_bytes(out) == threaded


def test_a_cluster_keeps_one_graph_with_fewer_units_than_threads(client, source, tmp_path):
    """One unit for two worker threads: one graph, so both workers compute."""
    with dask.config.set(scheduler="dask.distributed"):
        job = omescale.write_pyramid(source, tmp_path / "one.zarr", compute=False,
                                     chunks=(4, 16, 16), scale_factors=[2, 4, 8, 16])
        assert job.plan.stages[0].units == 1 and not job.streamed
        assert job.run(client) > 0 and is_complete(tmp_path / "one.zarr")


def test_a_users_dask_array_streams_on_the_cluster(client, source, threaded, tmp_path):
    """A computed dask array (not read by omescale itself): each unit, one task, computes its
    window from the user's graph culled to it; nothing travels; same bytes."""
    import dask.array as da

    computed = da.from_zarr(str(source)).map_blocks(np.add, np.uint16(0), dtype=np.uint16)
    out = tmp_path / "out.zarr"
    with dask.config.set({**SMALL_UNITS, "scheduler": "dask.distributed"}):
        job = omescale.write_pyramid(computed, out, compute=False, **KW)
        assert job.streamed
        before = _transfers(client)
        assert job.run() == job.plan.total_objects
    assert _transfers(client) == before
    assert tree_bytes(out) == threaded
