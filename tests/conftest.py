import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import dask
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

DTYPES = ["uint8", "uint16", "int16", "int32", "float32", "float64"]


def make_image(shape, dtype, seed=0):
    """Random test data spanning much of the dtype's range (exercises rounding and clipping)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.4
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -(2**20)), min(info.max, 2**20)
        return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    return rng.normal(0.0, 100.0, size=shape).astype(dtype)


@pytest.fixture(autouse=True)
def _threaded_scheduler():
    with dask.config.set(scheduler="threads"):
        yield


# --- a real S3 API: moto in server mode ----------------------------------------------------------


@dataclass(frozen=True)
class S3Bucket:
    """A fresh bucket on the moto server: its ``s3://`` URL and the fsspec options to reach it."""

    url: str
    options: dict
    fs: object  # an s3fs.S3FileSystem on that server (no instance cache)

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` (relative to the bucket), fresh from the server."""
        self.fs.invalidate_cache()
        root = self.url.removeprefix("s3://")
        return sorted(k.removeprefix(root + "/") for k in self.fs.find(f"{root}/{prefix}"))


@pytest.fixture(scope="session")
def s3_endpoint():
    """The URL of a moto S3 server on a free local port, stopped after the session."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint):
    """A new empty bucket for one test (the server and its other buckets are shared)."""
    import s3fs

    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing"}
    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    name = f"omescale-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    return S3Bucket(f"s3://{name}", options, fs)


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster of 2 worker processes x 1 thread, one per test module that asks."""
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50) as cluster, \
            distributed.Client(cluster) as c:
        yield c
