"""The contenders by name, and one timed run of a job inside the worker process.

Every contender reads the same on-disk OME-Zarr level ``0`` and writes a 5-level pyramid
(factor 2 on y and x per level, z kept) with the same storage chunks and codec, on dask's default
threaded scheduler. A contender function returns the seconds spent on the work itself: the timer
starts after imports and before the input is opened, and stops once the last byte and the
metadata are written.

Names: ``floor_a``, ``floor_b``, ``floor_inplace``, ``floor_b_direct``,
``floor_inplace_direct`` (method-independent), ``omescale``,
``omescale_inplace``, ``ome-zarr``, ``ngff-zarr`` (each with a method).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.floors import (
    floor_a,
    floor_b,
    floor_b_direct,
    floor_inplace,
    floor_inplace_direct,
)
from benchmarks.job import Job
from benchmarks.ours import omescale_inplace, omescale_write
from benchmarks.peers import ngff_zarr_write, ome_zarr_write

__all__ = ["CONTENDERS", "Job", "run_job"]

CONTENDERS: dict[str, Callable[[Job], float]] = {
    "floor_a": floor_a,
    "floor_b": floor_b,
    "floor_inplace": floor_inplace,
    "floor_b_direct": floor_b_direct,
    "floor_inplace_direct": floor_inplace_direct,
    "omescale": omescale_write,
    "omescale_inplace": omescale_inplace,
    "ome-zarr": ome_zarr_write,
    "ngff-zarr": ngff_zarr_write,
}


def run_job(job: Job) -> dict[str, Any]:
    """Run ``job`` and describe it: wall and CPU seconds, bytes written and read."""
    cpu0, io0 = _cpu_seconds(), _io_bytes()
    seconds = CONTENDERS[job.contender](job)
    cpu, io1 = _cpu_seconds() - cpu0, _io_bytes()
    out = Path(job.output)
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    if job.contender == "omescale_inplace":
        base = Path(job.input)
        written -= sum(p.stat().st_size for p in (base / "0").rglob("*") if p.is_file())
    stored = sum(p.stat().st_size for p in (Path(job.input) / "0").rglob("*") if p.is_file())
    return {"seconds": seconds, "cpu_seconds": cpu, "bytes_written": written,
            "bytes_read": io1[0] - io0[0], "input_bytes": stored}


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
