"""Deterministic synthetic inputs, generated out-of-core and cached on disk.

An input is smooth structure plus noise, like a microscope image (constant images compress to
nothing and would flatter every writer): a low-rank separable field of smooth random profiles,
radial waves, and shot-like noise (sigma = sqrt(signal)) whose seed is the chunk's start. Every
value depends only on the global coordinates and the seed, and a cached input is reused as long
as its shape, chunks and codec match.

The cache is an OME-Zarr image (NGFF 0.5, zarr v3) with level ``0`` only, so a writer that adds
levels in place can be pointed at a copy of it.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MATRIX_ORDER", "Workload", "ensure_input", "make_block", "tiny_input", "workloads"]

SEED = 20240607
RANK = 4
#: name -> (shape, chunks, dtype, axes), as the speed issue states them.
FULL: dict[str, tuple[tuple[int, ...], tuple[int, ...], str, str]] = {
    "volume": ((64, 4096, 4096), (16, 512, 512), "uint16", "zyx"),
    "plane": ((16384, 16384), (512, 512), "uint16", "yx"),
    "slide": ((3, 32768, 32768), (1, 1024, 1024), "uint8", "cyx"),
    "time-lapse": ((4, 3, 32, 1024, 1024), (1, 1, 16, 512, 512), "uint16", "tczyx"),
    "em": ((1024, 1024, 1024), (64, 64, 64), "uint8", "zyx"),
}
QUICK = {
    "volume": ((16, 1024, 1024), (16, 256, 256), "uint16", "zyx"),
    "plane": ((2048, 2048), (256, 256), "uint16", "yx"),
    "slide": ((3, 2048, 2048), (1, 512, 512), "uint8", "cyx"),
    "time-lapse": ((2, 2, 16, 512, 512), (1, 1, 16, 256, 256), "uint16", "tczyx"),
    "em": ((128, 512, 512), (64, 64, 64), "uint8", "zyx"),
}
#: The matrix at sizes that fit a shared 2-core machine (each cell a few minutes): the
#: issue's chunks and dtypes, fewer pixels (stated in docs/benchmarks.md).
MATRIX = {
    "volume": ((32, 1024, 1024), (16, 512, 512), "uint16", "zyx"),
    "plane": ((6144, 6144), (512, 512), "uint16", "yx"),
    "slide": ((3, 4096, 4096), (1, 1024, 1024), "uint8", "cyx"),
    "time-lapse": ((2, 2, 16, 1024, 1024), (1, 1, 16, 512, 512), "uint16", "tczyx"),
    "em": ((64, 1024, 1024), (64, 64, 64), "uint8", "zyx"),
}
#: Variants of the volume: what changes is the write, not the input.
VARIANTS = {
    "sharded": {"shards": (16, 2048, 2048)},
    "cluster": {"scheduler": "cluster"},
    "inplace": {"inplace": True},
}
MATRIX_ORDER = ("volume", "plane", "slide", "time-lapse", "em", "sharded", "cluster", "inplace")


@dataclass(frozen=True)
class Workload:
    """One input image (shape, chunks, dtype, axes) and how the pyramid is written."""

    name: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str = "uint16"
    axes: str = ""
    shards: tuple[int, ...] | None = None
    scheduler: str = "threads"
    inplace: bool = False

    def __post_init__(self) -> None:
        if not self.axes:
            object.__setattr__(self, "axes", "zyx"[-len(self.shape):])

    @property
    def nbytes(self) -> int:
        """Uncompressed size of the base."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def key(self, codec: str) -> str:
        """File name of the cached input for ``codec`` (variants of one input share it)."""
        dims = "x".join(map(str, self.shape))
        chunks = "x".join(map(str, self.chunks))
        return f"{self.axes}-{dims}-c{chunks}-{self.dtype}-{codec}.ome.zarr"


def workloads(names: list[str], *, quick: bool = False, size: float = 1.0,
              matrix: bool = False) -> list[Workload]:
    """The workloads ``names``; ``size`` scales the pixel count (y and x grow by sqrt(size)).

    y and x are rounded to whole chunks (at least one chunk), so ``--size 4`` on the volume is
    64 x 8192 x 8192 and ``--size 0.25`` is 64 x 2048 x 2048. ``sharded``, ``cluster`` and
    ``inplace`` are the volume written with shards, on a LocalCluster, or levels 1.. in place.
    """
    table = QUICK if quick else MATRIX if matrix else FULL
    out = []
    for name in names:
        variant = VARIANTS.get(name, {})
        base = "volume" if variant else name
        if base not in table:
            raise ValueError(f"unknown workload {name!r}; choose from "
                             f"{sorted(table) + sorted(VARIANTS)}")
        shape, chunks, dtype, axes = table[base]
        grow = math.sqrt(size)
        scaled = list(shape)
        for ax in (-2, -1):
            scaled[ax] = max(chunks[ax], round(shape[ax] * grow / chunks[ax]) * chunks[ax])
        out.append(Workload(name, tuple(scaled), chunks, dtype, axes, **variant))
    return out


def _profiles(n: int, axis: int) -> np.ndarray:
    """``RANK`` smooth random profiles of length ``n`` in [0, 1], one per row."""
    from scipy.ndimage import gaussian_filter1d

    rng = np.random.default_rng([SEED, axis, n])
    raw = rng.standard_normal((RANK, n))
    sigma = max(2.0, n / 24)
    smooth = gaussian_filter1d(raw, sigma, axis=1, mode="wrap")
    lo = smooth.min(axis=1, keepdims=True)
    hi = smooth.max(axis=1, keepdims=True)
    return ((smooth - lo) / (hi - lo)).astype(np.float32)


def make_block(shape: tuple[int, ...], start: tuple[int, ...], stop: tuple[int, ...],
               profiles: list[np.ndarray] | None = None, dtype: str = "uint16") -> np.ndarray:
    """The image on the box ``[start, stop)`` of an image of ``shape`` (uint16, or uint8 at
    1/256 of the uint16 values)."""
    if profiles is None:
        profiles = [_profiles(n, ax) for ax, n in enumerate(shape)]
    cuts = [p[:, a:b] for p, a, b in zip(profiles, start, stop, strict=True)]
    field = np.zeros(tuple(b - a for a, b in zip(start, stop, strict=True)), np.float32)
    for r in range(RANK):
        term = cuts[0][r]
        for c in cuts[1:]:
            term = np.multiply.outer(term, c[r])
        field += term
    yy = np.arange(start[-2], stop[-2], dtype=np.float32)[:, None] - shape[-2] / 2
    xx = np.arange(start[-1], stop[-1], dtype=np.float32)[None, :] - shape[-1] / 2
    waves = np.cos(np.sqrt(yy * yy + xx * xx) * np.float32(2 * np.pi / 97.0))
    rng = np.random.default_rng([SEED, *start])
    noise = rng.standard_normal(field.shape, dtype=np.float32)
    signal = 300 + 6000 * (field / RANK) * (1 + np.float32(0.15) * waves)
    img = signal + np.sqrt(signal) * noise  # shot noise: sigma = sqrt(signal), as on a camera
    if dtype == "uint8":
        return np.clip(np.rint(img / 32), 0, 255).astype(np.uint8)
    return np.clip(np.rint(img), 0, 65535).astype(np.uint16)


def _lazy_image(w: Workload) -> Any:
    import dask.array as da

    profiles = [_profiles(n, ax) for ax, n in enumerate(w.shape)]

    def block(block_info: Any = None) -> np.ndarray:
        loc = block_info[None]["array-location"]
        return make_block(w.shape, tuple(a for a, _ in loc), tuple(b for _, b in loc), profiles,
                          w.dtype)

    return da.map_blocks(block, chunks=da.core.normalize_chunks(w.chunks, w.shape),
                         dtype=w.dtype, meta=np.empty((0,) * len(w.shape), w.dtype))


def ensure_input(w: Workload, codec: str, root: Path, *, log: Any = print) -> Path:
    """Path of the cached input of ``w`` stored with ``codec`` under ``root``; build if missing."""
    import dask
    import zarr

    from benchmarks.codecs import compressors
    from benchmarks.job import ome_attrs

    path = root / w.key(codec)
    done = path / ".complete"
    if done.exists():
        return path
    if path.exists():
        shutil.rmtree(path)
    log(f"generating {path} ({w.nbytes / 2**30:.2f} GiB) ...")
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    arr = group.create_array("0", shape=w.shape, chunks=w.chunks, dtype=w.dtype,
                             compressors=compressors(codec, w.dtype),
                             dimension_names=list(w.axes))
    with dask.config.set(scheduler="threads"):
        _lazy_image(w).store(arr, lock=False)
    group.attrs.update(ome_attrs(w.axes, 1, w.name))
    done.write_text(json.dumps({"shape": w.shape, "chunks": w.chunks, "codec": codec}))
    return path


def tiny_input(source: str, codec: str) -> Path:
    """A tiny input like ``source`` (same dtype, axes and codec) for warming a contender up;
    cached next to ``source`` (made once per dtype, axes and codec)."""
    import zarr

    from benchmarks.job import axes_of

    arr = zarr.open_array(str(Path(source) / "0"), mode="r")
    axes = axes_of(arr)
    shape = tuple(2 if a in "tc" else 4 if a == "z" else 128 for a in axes)
    chunks = tuple(1 if a in "tc" else 4 if a == "z" else 32 for a in axes)
    tiny = Workload("warmup", shape, chunks, str(arr.dtype), axes)
    return ensure_input(tiny, codec, Path(source).parent / "warmup", log=lambda *_: None)

