"""A streamed write through a separately started ``dask scheduler`` + ``dask worker`` pair (the
command-line entry points, as on a cluster): the same bytes as the threaded scheduler, and the
scheduler, watched by a plugin of its own, never holds more than the window's tasks, and a
unit's result (all a client receives of it) is a small int."""

import json
import os
import subprocess
import sys
import time

import cloudpickle
import dask
import numpy as np
import pytest
import zarr
from _ngff_util import tree_bytes

import omescale
from omescale.stream.window import WINDOW_FACTOR

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the plugin class travels

IMAGE = np.random.default_rng(7).integers(0, 60000, size=(3, 150, 167), dtype=np.uint16)
KW = {"chunks": (2, 16, 16), "scale_factors": [2, 4, 8], "method": "resize"}
UNITS = {"omescale.unit-bytes": 10_000}  # 46 units
THREADS = 2  # the worker's threads


UNIT = "omescale-unit-run-"  # the key of a unit's task (omescale.stream.window.ClientRunner)


class MostTasks(distributed.diagnostics.plugin.SchedulerPlugin):
    """Runs in the scheduler: the most unit tasks it held at once (any state), how many it
    was given, and the largest result one of them left on a worker (the scheduler's own
    ``nbytes``: what a client fetching it would receive). The write's other computations
    (e.g. the job record's fingerprint of a few input chunks) run before the stream on the
    same cluster and are not counted."""

    name = "omescale-most-tasks"

    def __init__(self):
        self.most, self.units, self.result, self.scheduler = 0, 0, 0, None

    async def start(self, scheduler):
        self.scheduler = scheduler

    def _look(self):
        held = sum(str(k).startswith(UNIT) for k in self.scheduler.tasks)
        self.most = max(self.most, held)

    def update_graph(self, scheduler, *, keys, **kwargs):
        self.units += sum(str(k).startswith(UNIT) for k in keys)
        self._look()

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "memory" and str(key).startswith(UNIT):
            self.result = max(self.result, self.scheduler.tasks[key].nbytes)
        self._look()


def _start(args, env, log):
    return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """The address of a ``dask scheduler`` on a free port (``--port 0``, read back from its
    scheduler file) with one ``dask worker`` of 2 threads; both stopped after the module."""
    where = tmp_path_factory.mktemp("remote-cluster")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    file = where / "scheduler.json"
    with open(where / "log", "w") as log:
        scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", "0",
                            "--no-dashboard", "--scheduler-file", str(file)], env, log)
        worker = None
        try:
            end = time.monotonic() + 120
            address = None
            while address is None:
                assert scheduler.poll() is None and time.monotonic() < end, \
                    (where / "log").read_text()
                time.sleep(0.1)
                try:
                    address = json.loads(file.read_text())["address"]
                except (FileNotFoundError, ValueError, KeyError):
                    continue
            worker = _start(["worker", address, "--nworkers", "1", "--nthreads", str(THREADS),
                             "--no-dashboard", "--local-directory", str(where)], env, log)
            yield address
        finally:
            if worker is not None:
                _stop(worker)
            _stop(scheduler)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream-remote") / "in.zarr"
    zarr.create_array(str(path), data=IMAGE, chunks=(2, 32, 32))
    return path


def test_streamed_write_on_a_separate_scheduler_and_worker(remote, source, tmp_path):
    threaded, out = tmp_path / "threaded.zarr", tmp_path / "remote.zarr"
    with dask.config.set({**UNITS, "scheduler": "threads"}):
        omescale.write_pyramid(source, threaded, stream=True, **KW)
    with distributed.Client(remote, timeout="60s") as client:
        client.wait_for_workers(1, timeout=120)
        assert sum(client.nthreads().values()) == THREADS
        client.register_plugin(MostTasks())
        with dask.config.set(UNITS):
            job = omescale.write_pyramid(source, out, stream=True, compute=False, **KW)
            assert job.run(client) == job.plan.total_objects
        most, units, result = client.run_on_scheduler(
            lambda dask_scheduler: (dask_scheduler.plugins[MostTasks.name].most,
                                    dask_scheduler.plugins[MostTasks.name].units,
                                    dask_scheduler.plugins[MostTasks.name].result))
    window = THREADS * WINDOW_FACTOR
    assert job.plan.units > 5 * window and units == job.plan.units  # one task per unit
    # Each finished unit is released before the next is submitted, on the same ordered
    # channel: the scheduler holds the window's units, never more (it held 5-6 of a window of
    # 4 while releases waited for garbage collection).
    assert most == window, (most, window)
    # No data passes through the client: a unit's value is the count of objects it wrote.
    assert 0 < result <= 64
    stored, reference = tree_bytes(out), tree_bytes(threaded)
    assert stored.keys() == reference.keys() and len(reference) > 100
    assert [k for k in reference if stored[k] != reference[k]] == []
