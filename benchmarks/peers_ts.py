"""The tensorstore-based peers: tensorstore's ``downsample`` driver and ome-zarr-pyramid.

tensorstore (C++): each level is a ``ts.downsample`` view (``mean`` or ``stride``) of the level
written just before it, written into a zarr 3 array with the same chunks (and shards) and codec,
one level at a time; data copy and file I/O are limited to the CPU count, like omescale's
threads. ome-zarr-pyramid: its own deferred ``downscale`` (``mean`` or ``simple``, one read of
level 0) and ``write_pyramid``, with ``max_threads`` the CPU count. Imported only inside the
worker that runs them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.job import Job, axes_of, level_chunks, ome_attrs, open_base

__all__ = ["ome_zarr_pyramid_write", "tensorstore_write"]


def _compressor(codec: str, itemsize: int) -> list[dict[str, Any]]:
    """The zarr 3 codec chain (bytes -> compressor) of benchmark codec ``codec``."""
    chain: list[dict[str, Any]] = [{"name": "bytes", "configuration": {"endian": "little"}}]
    if codec.startswith("zstd-"):
        level = int(codec.split("-")[1])
        chain.append({"name": "zstd", "configuration": {"level": level, "checksum": False}})
    elif codec == "blosc-lz4":
        chain.append({"name": "blosc", "configuration": {
            "cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": itemsize,
            "blocksize": 0}})
    elif codec != "none":
        raise ValueError(f"tensorstore peer: codec {codec!r} not mapped")
    return chain


def _ts_metadata(shape: tuple[int, ...], dtype: str, chunks: tuple[int, ...],
                 shards: tuple[int, ...] | None, codec: str, itemsize: int,
                 axes: str) -> dict[str, Any]:
    chain = _compressor(codec, itemsize)
    grid = list(chunks)
    if shards is not None:
        chain = [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(chunks), "codecs": chain, "index_location": "end",
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                             {"name": "crc32c"}]}}]
        grid = list(shards)
    return {"shape": list(shape), "data_type": dtype, "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": grid}},
            "codecs": chain, "dimension_names": list(axes)}


def tensorstore_write(job: Job) -> float:
    """tensorstore: levels chained through ``ts.downsample(previous level, method)``."""
    import tensorstore as ts

    from benchmarks.job import level_shapes, shard_layout

    n = os.cpu_count() or 1
    ctx = ts.Context({"data_copy_concurrency": {"limit": n}, "file_io_concurrency": {"limit": n}})
    t0 = time.perf_counter()
    base = open_base(job)
    axes = axes_of(base)
    itemsize = base.dtype.itemsize
    src = ts.open({"driver": "zarr3", "kvstore": {"driver": "file",
                                                   "path": str(Path(job.input) / "0")}},
                  context=ctx, read=True).result()
    factors = [1] * (base.ndim - 2) + [2, 2]
    layout = shard_layout(level_shapes(tuple(base.shape), job.levels), tuple(base.chunks),
                          job.shards)
    prev = src
    for k, (shape, chunks, shards) in enumerate(layout):
        view = prev if k == 0 else ts.downsample(prev, factors, method=job.method)
        if tuple(view.shape) != shape:
            raise RuntimeError(f"tensorstore level {k} has shape {view.shape}, not {shape}")
        spec = {"driver": "zarr3",
                "kvstore": {"driver": "file", "path": str(Path(job.output) / str(k))},
                "metadata": _ts_metadata(shape, str(base.dtype), level_chunks(chunks, shape),
                                         shards, job.codec, itemsize, axes)}
        dst = ts.open(spec, context=ctx, create=True, delete_existing=True).result()
        dst.write(view).result()
        prev = dst
    group = {"zarr_format": 3, "node_type": "group",
             "attributes": ome_attrs(axes, job.levels)}
    (Path(job.output) / "zarr.json").write_text(json.dumps(group))
    return time.perf_counter() - t0


def ome_zarr_pyramid_write(job: Job) -> float:
    """ome-zarr-pyramid: ``read_pyramid(...).downscale(...)`` then ``io.write_pyramid``."""
    from ome_zarr_pyramid import io

    n = os.cpu_count() or 1
    t0 = time.perf_counter()
    base = open_base(job)
    if job.codec.startswith("zstd-"):
        comp, params = "zstd", {"level": int(job.codec.split("-")[1])}
    else:
        comp, params = "blosc", {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}
    pyr = io.read_pyramid(job.input)
    full = pyr.downscale(n_layers=job.levels, scale_factor=[1] * (base.ndim - 2) + [2, 2],
                         downscale_method=job.method)
    options: dict[str, Any] = {}
    if job.shards is not None:
        options["shard_coefficients"] = tuple(
            s // c for s, c in zip(job.shards, base.chunks, strict=True))
    io.write_pyramid(full, job.output, overwrite=True, compressor=comp,
                     compressor_params=params, chunk_shape=tuple(base.chunks), max_threads=n,
                     **options)
    return time.perf_counter() - t0
