"""What each contender does, run inside a fresh worker process (``benchmarks.worker``).

Every contender reads the same on-disk OME-Zarr level ``0`` and writes a 5-level pyramid
(factor 2 on y and x per level, z kept) with the same storage chunks and codec, on dask's default
threaded scheduler. A contender function returns the seconds spent on the work itself: the timer
starts after imports and before the input is opened, and stops once the last byte and the
metadata are written.

Names: ``floor_a``, ``floor_b``, ``floor_inplace`` (method-independent), ``omescale``,
``omescale_inplace``, ``ome-zarr``, ``ngff-zarr`` (each with a method).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CONTENDERS", "Job", "run_job"]


@dataclass(frozen=True)
class Job:
    """One timed run: who, which method (the contender's own name for it), where."""

    contender: str
    method: str
    input: str
    output: str
    codec: str
    levels: int = 5

    @property
    def factors(self) -> list[int]:
        """Cumulative y/x factors of levels 1.. (2, 4, 8, 16 for 5 levels)."""
        return [2**k for k in range(1, self.levels)]


def _open_base(job: Job) -> Any:
    import zarr

    return zarr.open_array(str(Path(job.input) / "0"), mode="r")


def _axes(arr: Any) -> str:
    return "zyx"[-arr.ndim:]


def _level_chunks(chunks: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))


def _strided_levels(base: Any, levels: int) -> list[Any]:
    """Level k+1 = level k[..., ::2, ::2], rechunked to the storage chunks (one writer each)."""
    import dask.array as da

    x = da.from_zarr(base)
    out = [x]
    for _ in range(1, levels):
        x = x[..., ::2, ::2]
        x = x.rechunk(_level_chunks(base.chunks, x.shape))
        out.append(x)
    return out


def _store_levels(job: Job, base: Any, arrays: list[Any], first: int) -> None:
    """Write ``arrays`` as levels ``first..`` of a fresh group, in one ``da.store`` call."""
    import dask.array as da
    import zarr

    from benchmarks.codecs import compressors

    group = zarr.open_group(job.output, mode="w", zarr_format=3)
    targets = [
        group.create_array(str(first + k), shape=a.shape, dtype=a.dtype,
                           chunks=_level_chunks(base.chunks, a.shape),
                           compressors=compressors(job.codec),
                           dimension_names=list(_axes(base)))
        for k, a in enumerate(arrays)
    ]
    da.store(arrays, targets, lock=False)


def floor_a(job: Job) -> float:
    """Floor (a): read level 0 and write a copy, same chunks and codec, no downsampling."""
    t0 = time.perf_counter()
    base = _open_base(job)
    _store_levels(job, base, _strided_levels(base, 1), 0)
    return time.perf_counter() - t0


def floor_b(job: Job) -> float:
    """Floor (b): the whole pyramid, levels by plain striding, written in one store call."""
    t0 = time.perf_counter()
    base = _open_base(job)
    _store_levels(job, base, _strided_levels(base, job.levels), 0)
    return time.perf_counter() - t0


def floor_inplace(job: Job) -> float:
    """In-place floor: floor (b) without rewriting level 0 (levels 1.. only)."""
    t0 = time.perf_counter()
    base = _open_base(job)
    _store_levels(job, base, _strided_levels(base, job.levels)[1:], 1)
    return time.perf_counter() - t0


def _omescale_kwargs(job: Job, base: Any, func: Callable[..., Any]) -> dict[str, Any]:
    """Arguments for ``func`` (write_pyramid or add_levels), with the codec if it takes one."""
    import inspect

    from benchmarks.codecs import compressors

    kwargs: dict[str, Any] = {
        "scale_factors": job.factors,
        "method": job.method,
        "chunks": tuple(base.chunks),
        "overwrite": True,
    }
    params = inspect.signature(func).parameters
    if "compressors" in params:
        kwargs["compressors"] = compressors(job.codec)
    return kwargs


@contextmanager
def _codec_shim(job: Job, func: Callable[..., Any]) -> Iterator[None]:
    """Make ``zarr.Group.create_array`` default to the job's codec while omescale writes.

    Only while ``func`` has no codec option of its own: without this omescale would write with
    zarr's default (zstd level 3), and the comparison would no longer use one codec for all.
    """
    import inspect

    import zarr

    from benchmarks.codecs import compressors

    if "compressors" in inspect.signature(func).parameters:
        yield
        return
    original = zarr.Group.create_array
    codecs = compressors(job.codec)

    def create_array(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("compressors") in (None, "auto"):
            kwargs["compressors"] = codecs
        return original(self, *args, **kwargs)

    zarr.Group.create_array = create_array  # type: ignore[method-assign]
    try:
        yield
    finally:
        zarr.Group.create_array = original  # type: ignore[method-assign]


def omescale_write(job: Job) -> float:
    """omescale.write_pyramid from the zarr array of level 0 into a fresh OME-Zarr."""
    import omescale

    func = omescale.write_pyramid
    t0 = time.perf_counter()
    base = _open_base(job)
    with _codec_shim(job, func):
        func(base, job.output, axes=_axes(base), **_omescale_kwargs(job, base, func))
    return time.perf_counter() - t0


def omescale_inplace(job: Job) -> float:
    """omescale ``add_levels`` on a one-level OME-Zarr (a hard-linked copy of the input)."""
    from omescale.ngff import add_levels

    _hardlink_copy(Path(job.input), Path(job.output))
    t0 = time.perf_counter()
    base = _open_base(job)
    with _codec_shim(job, add_levels):
        add_levels(job.output, **_omescale_kwargs(job, base, add_levels))
    return time.perf_counter() - t0


def _hardlink_copy(src: Path, dst: Path) -> None:
    """Copy an OME-Zarr by hard-linking its chunk files; metadata files are real copies.

    Adding levels never rewrites level 0's chunks, so sharing their inodes is safe and free.
    """
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, copy_function=_link_or_copy)


def _link_or_copy(src: str, dst: str) -> None:
    if src.endswith(".json") or src.endswith(".complete"):
        shutil.copy2(src, dst)
    else:
        Path(dst).hardlink_to(src)


def ome_zarr_write(job: Job) -> float:
    """ome-zarr-py ``write_image(scale_factors=..., method=...)`` of the dask level 0."""
    import dask.array as da
    import zarr
    from ome_zarr.scale import Methods
    from ome_zarr.writer import write_image

    from benchmarks.codecs import compressors

    t0 = time.perf_counter()
    base = _open_base(job)
    image = da.from_zarr(base)
    group = zarr.open_group(job.output, mode="w", zarr_format=3)
    options: dict[str, Any] = {"chunks": tuple(base.chunks)}
    codecs = compressors(job.codec)
    options["compressor"] = codecs
    write_image(image, group, scale_factors=job.factors, method=Methods(job.method),
                axes=_axes(base), storage_options=options)
    return time.perf_counter() - t0


def ngff_zarr_write(job: Job) -> float:
    """ngff-zarr ``to_multiscales(method=...)`` then ``to_ngff_zarr`` of the dask level 0."""
    import dask.array as da
    import ngff_zarr as nz

    from benchmarks.codecs import compressors

    t0 = time.perf_counter()
    base = _open_base(job)
    axes = _axes(base)
    image = nz.to_ngff_image(da.from_zarr(base), dims=list(axes))
    factors = [{a: (f if a in "yx" else 1) for a in axes} for f in job.factors]
    chunks = dict(zip(axes, base.chunks, strict=True))
    multiscales = nz.to_multiscales(image, scale_factors=factors,
                                    method=nz.Methods(job.method), chunks=chunks)
    nz.to_ngff_zarr(job.output, multiscales, compressors=compressors(job.codec))
    return time.perf_counter() - t0


CONTENDERS: dict[str, Callable[[Job], float]] = {
    "floor_a": floor_a,
    "floor_b": floor_b,
    "floor_inplace": floor_inplace,
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
