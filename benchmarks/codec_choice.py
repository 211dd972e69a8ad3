"""Measure the candidate codecs on a piece of the benchmark volume: time and size side by side.

``python -m benchmarks.codec_choice [--shape 16,2048,2048] [--repeat 2]`` generates the region
(the same generator as the volume workload), then for each codec writes it to a zarr v3 array in
the volume's chunks and reads it back, both with dask's threaded scheduler, and prints write
MB/s, read MB/s and the compression ratio. The default codec in ``benchmarks.codecs`` was chosen
from this table (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.codecs import CODECS, compressors
from benchmarks.workloads import FULL, make_block

__all__ = ["main"]


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure_codec(name: str, data: np.ndarray, chunks: tuple[int, ...], root: Path,
                  repeat: int) -> dict[str, float]:
    """Write and read ``data`` with codec ``name``; seconds and stored bytes."""
    import dask
    import dask.array as da
    import zarr

    path = root / f"{name}.zarr"
    src = da.from_array(data, chunks=chunks)

    def write() -> None:
        shutil.rmtree(path, ignore_errors=True)
        arr = zarr.create_array(str(path), shape=data.shape, chunks=chunks, dtype=data.dtype,
                                compressors=compressors(name))
        src.store(arr, lock=False)

    with dask.config.set(scheduler="threads"):
        t_write = _best(write, repeat)
        arr = zarr.open_array(str(path), mode="r")
        t_read = _best(lambda: da.from_zarr(arr).sum().compute(), repeat)
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    shutil.rmtree(path, ignore_errors=True)
    return {"write_s": t_write, "read_s": t_read, "bytes": size}


def main(argv: list[str] | None = None) -> int:
    """Print the codec table for a region of the volume workload."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.codec_choice")
    p.add_argument("--shape", default="16,2048,2048", help="region of the 2 GiB volume")
    p.add_argument("--codecs", default=",".join(CODECS))
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args(argv)
    shape = tuple(int(s) for s in args.shape.split(","))
    full_shape, chunks = FULL["volume"]
    data = make_block(full_shape, (0, 0, 0), shape)
    mb = data.nbytes / 1e6
    print(f"region {shape} of the volume, chunks {chunks}, {mb:.0f} MB uncompressed")
    print(f"{'codec':14s} {'write MB/s':>10s} {'read MB/s':>10s} {'ratio':>6s} {'MB stored':>9s}")
    with tempfile.TemporaryDirectory(prefix="omescale-codecs-") as tmp:
        for name in args.codecs.split(","):
            r = measure_codec(name, data, chunks, Path(tmp), args.repeat)
            print(f"{name:14s} {mb / r['write_s']:10.0f} {mb / r['read_s']:10.0f}"
                  f" {data.nbytes / r['bytes']:6.2f} {r['bytes'] / 1e6:9.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
