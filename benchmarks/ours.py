"""omescale as a contender: ``write_pyramid`` and ``add_levels`` (levels added in place)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.job import Job, axes_of, hardlink_copy, open_base

__all__ = ["omescale_cluster", "omescale_inplace", "omescale_write"]


#: benchmark codec name -> omescale's ``codec=`` name for the same codec and settings.
OMESCALE_CODECS = {"blosc-lz4": "blosc-lz4", "blosc-zstd-1": "blosc-zstd", "zstd-3": "zstd",
                   "none": "none"}


def _takes_codec(job: Job, func: Callable[..., Any]) -> bool:
    """True when ``func`` has a ``codec=`` option naming the job's codec."""
    import inspect

    return "codec" in inspect.signature(func).parameters and job.codec in OMESCALE_CODECS


def _omescale_kwargs(job: Job, base: Any, func: Callable[..., Any]) -> dict[str, Any]:
    """Arguments for ``func`` (write_pyramid or add_levels), with the codec if it takes one."""
    kwargs: dict[str, Any] = {
        "scale_factors": job.factors,
        "method": job.method,
        "chunks": tuple(base.chunks),
        "overwrite": True,
    }
    if job.shards is not None:
        kwargs["shards"] = job.shards
    if _takes_codec(job, func):
        kwargs["codec"] = OMESCALE_CODECS[job.codec]
    return kwargs


@contextmanager
def _codec_shim(job: Job, func: Callable[..., Any]) -> Iterator[None]:
    """Make ``zarr.Group.create_array`` default to the job's codec while omescale writes.

    Only when ``func`` cannot name the job's codec itself (omescale before its ``codec=``
    option, or a codec omescale does not offer): otherwise omescale would write another codec
    and the comparison would no longer use one codec for all.
    """
    import zarr

    from benchmarks.codecs import compressors

    if _takes_codec(job, func):
        yield
        return
    original = zarr.Group.create_array
    codecs = compressors(job.codec)

    def create_array(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["compressors"] = codecs
        return original(self, *args, **kwargs)

    zarr.Group.create_array = create_array  # type: ignore[method-assign]
    try:
        yield
    finally:
        zarr.Group.create_array = original  # type: ignore[method-assign]


@contextmanager
def _scheduler(job: Job) -> Iterator[None]:
    """dask's threaded scheduler, or a LocalCluster of 2 workers x 1 thread (``cluster``).

    The cluster is started and warmed up before the timer, as the threaded run's process is
    (``benchmarks.worker.warm_up`` writes a tiny pyramid in it first, which also starts dask's
    thread pool): each worker imports omescale and runs the job's method once, then a tiny
    pyramid of the same dtype, axes, codec and method is written through the cluster (every
    code path of a write loaded in the workers): a cluster that already serves, as a user's
    would. Neither the cluster's start-up nor the thread pool's is timed.
    """
    if job.scheduler != "cluster":
        yield
        return
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(_warm_worker, job.method)
        _warm_write(job)
        yield


def _warm_worker(method: str) -> None:
    """Import omescale's writer and run ``method`` once on a small image (in a worker)."""
    import numpy as np

    import omescale
    import omescale.ngff.writer

    omescale.downsample(np.zeros((4, 64, 64), np.uint16), (1, 2, 2), method=method)


def _warm_write(job: Job) -> None:
    """Write a tiny pyramid like the job's (same dtype, axes, codec, method) and delete it."""
    import tempfile

    import omescale
    from benchmarks.workloads import tiny_input

    src = tiny_input(job.input, job.codec)
    tiny = dataclasses.replace(job, input=str(src), shards=None)
    base = open_base(tiny)
    with tempfile.TemporaryDirectory(prefix="omescale-bench-warm-") as tmp:
        omescale.write_pyramid(base, f"{tmp}/out.zarr", axes=axes_of(base),
                               **_omescale_kwargs(tiny, base, omescale.write_pyramid))


def tree_cpu() -> float:
    """User + system CPU seconds of this process and its live descendants (a LocalCluster's
    nannies and workers), all threads."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def omescale_write(job: Job) -> tuple[float, float]:
    """omescale.write_pyramid from the zarr array of level 0 into a fresh OME-Zarr; wall and
    CPU seconds of the timed write (CPU of the process tree: the cluster's workers too)."""
    import omescale

    func = omescale.write_pyramid
    with _scheduler(job):
        cpu0, t0 = tree_cpu(), time.perf_counter()
        base = open_base(job)
        with _codec_shim(job, func):
            func(base, job.output, axes=axes_of(base), **_omescale_kwargs(job, base, func))
        return time.perf_counter() - t0, tree_cpu() - cpu0


def omescale_cluster(job: Job) -> tuple[float, float]:
    """omescale.write_pyramid on a LocalCluster of 2 workers x 1 thread."""
    return omescale_write(dataclasses.replace(job, scheduler="cluster"))


def omescale_inplace(job: Job) -> float:
    """omescale ``add_levels`` on a one-level OME-Zarr (a hard-linked copy of the input)."""
    from omescale.ngff import add_levels

    hardlink_copy(Path(job.input), Path(job.output))
    t0 = time.perf_counter()
    base = open_base(job)
    with _codec_shim(job, add_levels):
        add_levels(job.output, **_omescale_kwargs(job, base, add_levels))
    return time.perf_counter() - t0
