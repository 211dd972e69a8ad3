"""The peers: ome-zarr-py ``write_image`` and ngff-zarr ``to_multiscales`` + ``to_ngff_zarr``.

Imported only inside the worker that runs them, so a missing peer costs nothing elsewhere.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.job import Job, axes_of, open_base

__all__ = ["ngff_zarr_write", "ome_zarr_write"]


def ome_zarr_write(job: Job) -> float:
    """ome-zarr-py ``write_image(scale_factors=..., method=...)`` of the dask level 0."""
    import dask.array as da
    import zarr
    from ome_zarr.scale import Methods
    from ome_zarr.writer import write_image

    from benchmarks.codecs import compressors

    t0 = time.perf_counter()
    base = open_base(job)
    image = da.from_zarr(base)
    group = zarr.open_group(job.output, mode="w", zarr_format=3)
    options: dict[str, Any] = {"chunks": tuple(base.chunks)}
    codecs = compressors(job.codec, base.dtype)
    options["compressor"] = codecs
    write_image(image, group, scale_factors=job.factors, method=Methods(job.method),
                axes=axes_of(base), storage_options=options)
    return time.perf_counter() - t0


def ngff_zarr_write(job: Job) -> float:
    """ngff-zarr ``to_multiscales(method=...)`` then ``to_ngff_zarr`` of the dask level 0."""
    import dask.array as da
    import ngff_zarr as nz

    from benchmarks.codecs import compressors

    t0 = time.perf_counter()
    base = open_base(job)
    axes = axes_of(base)
    image = nz.to_ngff_image(da.from_zarr(base), dims=list(axes))
    factors = [{a: (f if a in "yx" else 1) for a in axes} for f in job.factors]
    chunks = dict(zip(axes, base.chunks, strict=True))
    multiscales = nz.to_multiscales(image, scale_factors=factors,
                                    method=nz.Methods(job.method), chunks=chunks)
    nz.to_ngff_zarr(job.output, multiscales, compressors=compressors(job.codec, base.dtype))
    return time.perf_counter() - t0
