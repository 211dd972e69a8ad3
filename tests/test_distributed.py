"""A real LocalCluster with 2 worker processes: same bytes as threads, survives a killed worker."""

import asyncio
import os
import signal
import sys
import time

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes

import omescale
from omescale.errors import CorruptInputError
from omescale.lift.sweep import parallel_slots, sweep_lag

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need _slow by value

RNG = np.random.default_rng(9)
IMAGE = RNG.integers(1, 60000, size=(2, 96, 112), dtype=np.uint16)
KW = {"chunks": (1, 16, 16), "scale_factors": [2, 4], "method": "resize"}


def _slow(block):
    time.sleep(0.05)
    return block


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "in.zarr"
    z = zarr.create_array(str(path), shape=IMAGE.shape, dtype=IMAGE.dtype, chunks=(1, 16, 16))
    z[:] = IMAGE
    return path


def _clean(source, tmp_path):
    clean = tmp_path / "clean.zarr"
    with dask.config.set(scheduler="threads"):
        omescale.write_pyramid(source, clean, **KW)
    return tree_bytes(clean)


def test_cluster_output_equals_threaded(client, tmp_path, source):
    """The one-graph write on the cluster (a cluster streams units by default)."""
    out = tmp_path / "out.zarr"
    with dask.config.set(scheduler="dask.distributed"):  # conftest pins threads otherwise
        assert parallel_slots() == 2  # the cluster's threads set how many pieces run at once
        omescale.write_pyramid(source, out, stream=False, **KW)
    assert tree_bytes(out) == _clean(source, tmp_path)
    pending = omescale.write_pyramid(source, tmp_path / "b.zarr", shards=(1, 32, 32),
                                     compute=False, stream=False, **KW)
    assert client.compute(pending).result() > 0 and is_complete(tmp_path / "b.zarr")


def test_cluster_strip_write_equals_threaded(client, tmp_path, source):
    """Strips of 2 blocks (4 strips, two stages): workers re-read halos and the stored level."""
    out = tmp_path / "strips.zarr"
    with dask.config.set({"scheduler": "dask.distributed", "omescale.strip-blocks": 2}):
        omescale.write_pyramid(source, out, stream=False, **KW)
    assert tree_bytes(out) == _clean(source, tmp_path)


def test_s3_write_on_the_cluster(client, s3_bucket, monkeypatch):
    """Workers reach the S3 server (moto) only through the options pickled into the tasks."""
    from test_s3 import KW as S3_KW
    from test_s3 import check_pyramid, put_input

    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    source = put_input(s3_bucket)
    job = omescale.write_pyramid(source, f"{s3_bucket.url}/cluster.ome.zarr", **S3_KW,
                                 storage_options=s3_bucket.options, compute=False)
    assert client.compute(job).result() > 0
    check_pyramid(s3_bucket, "cluster.ome.zarr")


def test_killed_worker_does_not_change_the_result(client, tmp_path, source):
    out = tmp_path / "out.zarr"
    slow = da.from_zarr(str(source)).map_blocks(_slow, dtype=IMAGE.dtype)
    future = client.compute(omescale.write_pyramid(slow, out, compute=False, **KW))
    end = time.monotonic() + 60
    while len(list((out / "0" / "c").rglob("*"))) < 20:  # some chunks are written
        assert time.monotonic() < end and not future.done()
        time.sleep(0.01)
    pids = client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    future.result(timeout=120)
    assert is_complete(out)
    assert tree_bytes(out) == _clean(source, tmp_path)


def test_corrupt_chunk_error_crosses_the_cluster(client, tmp_path, source):
    chunk = source / "c" / "1" / "2" / "3"
    chunk.write_bytes(b"garbage")
    with pytest.raises(CorruptInputError, match=r"\(1, 2, 3\)"), \
            dask.config.set(scheduler="dask.distributed"):
        omescale.write_pyramid(source, tmp_path / "out.zarr", **KW)


def test_no_chain_while_a_cluster_has_no_workers_yet():
    """A cluster still scaling up (no workers yet) must not be starved by a lag of one."""
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster), \
            dask.config.set(scheduler="dask.distributed"):
        assert parallel_slots() is None and sweep_lag() is None


def test_an_asynchronous_client_leaves_the_lag_unknown():
    async def slots():
        async with distributed.LocalCluster(n_workers=1, processes=False, asynchronous=True,
                                            dashboard_address=":0", silence_logs=50) as cluster, \
                distributed.Client(cluster, asynchronous=True):
            with dask.config.set(scheduler="dask.distributed"):
                return parallel_slots()

    assert asyncio.run(slots()) is None


def test_verify_runs_on_the_cluster(client, tmp_path, source):
    """verify's object tasks and recompute tasks run on worker processes; same report."""
    out = tmp_path / "out.zarr"
    with dask.config.set(scheduler="threads"):
        omescale.write_pyramid(source, out, **KW)
    (out / "1" / "c" / "1" / "2" / "0").write_bytes(b"garbage")
    with dask.config.set(scheduler="threads"):
        local = omescale.verify(out, recompute=3)
    with dask.config.set(scheduler="dask.distributed"):
        remote = omescale.verify(out, recompute=3)
    assert [str(p) for p in remote.problems] == [str(p) for p in local.problems]
    assert remote.checked == local.checked and remote.checked["recomputed"] == 6
    assert str(remote.problems[0]).startswith("1/c/1/2/0: cannot be decoded")
