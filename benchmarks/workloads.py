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

__all__ = ["Workload", "ensure_input", "make_block", "workloads"]

SEED = 20240607
RANK = 4
FULL = {
    "volume": ((64, 4096, 4096), (16, 512, 512)),
    "plane": ((16384, 16384), (512, 512)),
}
QUICK = {
    "volume": ((16, 1024, 1024), (16, 256, 256)),
    "plane": ((2048, 2048), (256, 256)),
}


@dataclass(frozen=True)
class Workload:
    """One input image: its name, shape, chunks and axes."""

    name: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]

    @property
    def axes(self) -> str:
        """NGFF axes: ``zyx`` or ``yx``."""
        return "zyx"[-len(self.shape):]

    @property
    def nbytes(self) -> int:
        """Uncompressed size of the base (uint16)."""
        return math.prod(self.shape) * 2

    def key(self, codec: str) -> str:
        """File name of the cached input for ``codec``."""
        dims = "x".join(map(str, self.shape))
        chunks = "x".join(map(str, self.chunks))
        return f"{self.name}-{dims}-c{chunks}-{codec}.ome.zarr"


def workloads(names: list[str], *, quick: bool = False, size: float = 1.0) -> list[Workload]:
    """The workloads ``names``; ``size`` scales the pixel count (y and x grow by sqrt(size)).

    y and x are rounded to whole chunks (at least one chunk), so ``--size 4`` on the volume is
    64 x 8192 x 8192 and ``--size 0.25`` is 64 x 2048 x 2048.
    """
    table = QUICK if quick else FULL
    out = []
    for name in names:
        if name not in table:
            raise ValueError(f"unknown workload {name!r}; choose from {sorted(table)}")
        shape, chunks = table[name]
        grow = math.sqrt(size)
        scaled = list(shape)
        for ax in (-2, -1):
            scaled[ax] = max(chunks[ax], round(shape[ax] * grow / chunks[ax]) * chunks[ax])
        out.append(Workload(name, tuple(scaled), chunks))
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
               profiles: list[np.ndarray] | None = None) -> np.ndarray:
    """The uint16 image on the box ``[start, stop)`` of an image of ``shape``."""
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
    return np.clip(np.rint(img), 0, 65535).astype(np.uint16)


def _lazy_image(w: Workload) -> Any:
    import dask.array as da

    profiles = [_profiles(n, ax) for ax, n in enumerate(w.shape)]

    def block(block_info: Any = None) -> np.ndarray:
        loc = block_info[None]["array-location"]
        return make_block(w.shape, tuple(a for a, _ in loc), tuple(b for _, b in loc), profiles)

    return da.map_blocks(block, chunks=da.core.normalize_chunks(w.chunks, w.shape),
                         dtype=np.uint16, meta=np.empty((0,) * len(w.shape), np.uint16))


def _ome_attrs(w: Workload) -> dict[str, Any]:
    axes = [{"name": a, "type": "space"} for a in w.axes]
    scale = {"type": "scale", "scale": [1.0] * len(w.shape)}
    dataset = {"path": "0", "coordinateTransformations": [scale]}
    return {"ome": {"version": "0.5",
                    "multiscales": [{"name": w.name, "axes": axes, "datasets": [dataset]}]}}


def ensure_input(w: Workload, codec: str, root: Path, *, log: Any = print) -> Path:
    """Path of the cached input of ``w`` stored with ``codec`` under ``root``; build if missing."""
    import dask
    import zarr

    from benchmarks.codecs import compressors

    path = root / w.key(codec)
    done = path / ".complete"
    if done.exists():
        return path
    if path.exists():
        shutil.rmtree(path)
    log(f"generating {path} ({w.nbytes / 2**30:.2f} GiB) ...")
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    arr = group.create_array("0", shape=w.shape, chunks=w.chunks, dtype="uint16",
                             compressors=compressors(codec), dimension_names=list(w.axes))
    with dask.config.set(scheduler="threads"):
        _lazy_image(w).store(arr, lock=False)
    group.attrs.update(_ome_attrs(w))
    done.write_text(json.dumps({"shape": w.shape, "chunks": w.chunks, "codec": codec}))
    return path
