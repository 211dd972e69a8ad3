"""The contenders by name, and one timed run of a job inside the worker process.

Every contender reads the same on-disk OME-Zarr level ``0`` and writes a 5-level pyramid
(factor 2 on y and x per level, z kept) with the same storage chunks and codec, on dask's default
threaded scheduler. A contender function returns the seconds spent on the work itself: the timer
starts after imports and before the input is opened, and stops once the last byte and the
metadata are written.

Names: ``codec_floor``, ``codec_floor_inplace``, ``floor_a``, ``floor_b``, ``floor_inplace``,
``floor_b_direct``, ``floor_inplace_direct`` (method-independent), ``omescale``,
``omescale_inplace``, ``ome-zarr``, ``ngff-zarr``, ``tensorstore``, ``ome-zarr-pyramid`` (each
with a method).

After the timer stops, every output is read back: its multiscales metadata must list the
levels, each level must have the shape of ``[..., ::2**k, ::2**k]`` of the base (or the floor
of the halving) and its last chunk must decode. A contender that wrote something else fails
its run with the reason, so it is reported, not timed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.codec_floor import codec_floor, codec_floor_inplace
from benchmarks.floors import (
    floor_a,
    floor_b,
    floor_b_direct,
    floor_inplace,
    floor_inplace_direct,
)
from benchmarks.job import Job, level_shapes, shard_layout
from benchmarks.ours import omescale_cluster, omescale_inplace, omescale_write
from benchmarks.peers import ngff_zarr_write, ome_zarr_write
from benchmarks.peers_ts import ome_zarr_pyramid_write, tensorstore_write

__all__ = ["CONTENDERS", "Job", "run_job"]

CONTENDERS: dict[str, Callable[[Job], float | tuple[float, float]]] = {
    "codec_floor": codec_floor,
    "codec_floor_inplace": codec_floor_inplace,
    "floor_a": floor_a,
    "floor_b": floor_b,
    "floor_inplace": floor_inplace,
    "floor_b_direct": floor_b_direct,
    "floor_inplace_direct": floor_inplace_direct,
    "omescale": omescale_write,
    "omescale_inplace": omescale_inplace,
    "omescale_cluster": omescale_cluster,
    "ome-zarr": ome_zarr_write,
    "ngff-zarr": ngff_zarr_write,
    "tensorstore": tensorstore_write,
    "ome-zarr-pyramid": ome_zarr_pyramid_write,
}
INPLACE = ("omescale_inplace", "codec_floor_inplace")


class WroteSomethingElse(RuntimeError):
    """The output read back is not the pyramid that was asked for."""


def _level_paths(group: Any, job: Job) -> list[str]:
    """The level paths of the output (the zarr floors write arrays ``0``.. and no metadata)."""
    if job.contender.startswith("floor"):
        return [str(k) for k in range(job.levels)]
    attrs = group.attrs.asdict()
    multiscales = attrs.get("ome", attrs).get("multiscales")
    if not multiscales:
        raise WroteSomethingElse("no multiscales metadata")
    return [d["path"] for d in multiscales[0]["datasets"]]


def check_output(job: Job) -> dict[str, Any]:
    """Read the output back; its level shapes and layout, or ``WroteSomethingElse``."""
    import zarr

    base = zarr.open_array(str(Path(job.input) / "0"), mode="r")
    group = zarr.open_group(job.output, mode="r")
    levels = 1 if job.contender == "floor_a" else job.levels  # floor (a): a copy of level 0
    paths = _level_paths(group, job)[:levels]
    if len(paths) != levels:
        raise WroteSomethingElse(f"{len(paths)} levels, expected {levels}")
    layout = shard_layout(level_shapes(tuple(base.shape), levels), tuple(base.chunks),
                          job.shards)
    same_layout = True
    first = 1 if job.contender in ("floor_inplace", "floor_inplace_direct") else 0
    for k, (path, (shape, chunks, shards)) in enumerate(zip(paths, layout, strict=True)):
        if k < first:
            continue
        arr = group[path]
        floor = (*shape[:-2], *(n // 2**k for n in base.shape[-2:]))
        if tuple(arr.shape) not in (shape, floor):
            raise WroteSomethingElse(f"level {k} has shape {arr.shape}, expected {shape}")
        corner = tuple(slice(max(0, n - c), n) for n, c in zip(arr.shape, arr.chunks, strict=True))
        arr[corner]  # the last chunk decodes
        same_layout &= tuple(arr.chunks) == chunks and arr.shards == shards
    return {"level_shapes": [list(group[p].shape) for p in paths[first:]],
            "same_layout": same_layout}


def run_job(job: Job) -> dict[str, Any]:
    """Run ``job`` and describe it: wall and CPU seconds, bytes written and read."""
    cpu0, io0 = _cpu_seconds(), _io_bytes()
    timed = CONTENDERS[job.contender](job)
    cpu, io1 = _cpu_seconds() - cpu0, _io_bytes()
    # A contender that runs work in other processes (the cluster) measures its own CPU.
    seconds, cpu = timed if isinstance(timed, tuple) else (timed, cpu)
    checked = check_output(job)
    out = Path(job.output)
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    if job.contender in INPLACE:
        base = Path(job.input)
        written -= sum(p.stat().st_size for p in (base / "0").rglob("*") if p.is_file())
    stored = sum(p.stat().st_size for p in (Path(job.input) / "0").rglob("*") if p.is_file())
    return {"seconds": seconds, "cpu_seconds": cpu, "bytes_written": written,
            "bytes_read": io1[0] - io0[0], "input_bytes": stored, **checked}


def _io_bytes() -> tuple[int, int]:
    """Bytes this process passed through read and write system calls (page-cache hits too).

    ``rchar`` of ``/proc/self/io`` counts every byte read, cached or not, so its growth over a
    run divided by the stored input size says how many times the base was read.
    """
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return (0, 0)
    fields = dict(line.split(": ") for line in text.splitlines() if ": " in line)
    return int(fields.get("rchar", 0)), int(fields.get("wchar", 0))


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (robust to a loaded machine)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
