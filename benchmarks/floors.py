"""The floors: what writing a pyramid costs in I/O alone, with no downsampling maths.

(a) copy level 0; (b) the whole pyramid with levels made by plain striding ``[..., ::2, ::2]``,
all levels in one ``da.store`` call; in place: (b) without rewriting level 0.

``floor_b_direct`` and ``floor_inplace_direct`` are (b) and in place with the chunk I/O omescale
itself uses (``omescale.ngff.chunk_io``: each chunk decoded into or encoded from its block by
numcodecs, skipping zarr-python's per-chunk pipeline). The targets are set against the plain
zarr floors; these two say how much of omescale's time is downsampling rather than I/O.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.job import Job, axes_of, level_chunks, open_base

__all__ = ["floor_a", "floor_b", "floor_b_direct", "floor_inplace", "floor_inplace_direct"]


def _strided_levels(base: Any, levels: int, direct: bool = False) -> list[Any]:
    """Level k+1 = level k[..., ::2, ::2], rechunked to the storage chunks (one writer each)."""
    import dask.array as da

    from omescale.inputs.source import from_zarr_array

    x = from_zarr_array(base, "base") if direct else da.from_zarr(base)
    out = [x]
    for _ in range(1, levels):
        x = x[..., ::2, ::2]
        x = x.rechunk(level_chunks(base.chunks, x.shape))
        out.append(x)
    return out


def _store_levels(job: Job, base: Any, arrays: list[Any], first: int,
                  direct: bool = False) -> None:
    """Write ``arrays`` as levels ``first..`` of a fresh group, in one ``da.store`` call (or
    one compute of omescale's write tasks, ``direct``)."""
    import dask
    import dask.array as da
    import zarr

    from benchmarks.codecs import compressors
    from omescale.ngff.tasks import write_all

    group = zarr.open_group(job.output, mode="w", zarr_format=3)
    targets = [
        group.create_array(str(first + k), shape=a.shape, dtype=a.dtype,
                           chunks=level_chunks(base.chunks, a.shape),
                           compressors=compressors(job.codec, base.dtype),
                           dimension_names=list(axes_of(base)))
        for k, a in enumerate(arrays)
    ]
    if direct:
        dask.compute(*[write_all(a, t) for a, t in zip(arrays, targets, strict=True)])
    else:
        da.store(arrays, targets, lock=False)


def floor_a(job: Job) -> float:
    """Floor (a): read level 0 and write a copy, same chunks and codec, no downsampling."""
    t0 = time.perf_counter()
    base = open_base(job)
    _store_levels(job, base, _strided_levels(base, 1), 0)
    return time.perf_counter() - t0


def floor_b(job: Job) -> float:
    """Floor (b): the whole pyramid, levels by plain striding, written in one store call."""
    t0 = time.perf_counter()
    base = open_base(job)
    _store_levels(job, base, _strided_levels(base, job.levels), 0)
    return time.perf_counter() - t0


def floor_inplace(job: Job) -> float:
    """In-place floor: floor (b) without rewriting level 0 (levels 1.. only)."""
    t0 = time.perf_counter()
    base = open_base(job)
    _store_levels(job, base, _strided_levels(base, job.levels)[1:], 1)
    return time.perf_counter() - t0


def floor_b_direct(job: Job) -> float:
    """Floor (b) with omescale's chunk I/O instead of zarr's."""
    t0 = time.perf_counter()
    base = open_base(job)
    _store_levels(job, base, _strided_levels(base, job.levels, True), 0, True)
    return time.perf_counter() - t0


def floor_inplace_direct(job: Job) -> float:
    """The in-place floor with omescale's chunk I/O instead of zarr's."""
    t0 = time.perf_counter()
    base = open_base(job)
    _store_levels(job, base, _strided_levels(base, job.levels, True)[1:], 1, True)
    return time.perf_counter() - t0
