"""Recompute a few stored chunks of a level from the level below and compare.

A level of a pyramid omescale wrote is its method applied to the level below (SPEC section 3),
and the engine gives the same answer on any chunking (SPEC section 4). So one stored chunk of
level k can be checked on its own: ``omescale.downsample`` of level k-1 (read lazily from the
store) sliced to that chunk reads and computes only the input region the chunk needs. This
catches a level written by another method, a mix of two runs, or values that decoded silently
wrong. ``laplacian`` levels are band-pass images of the Gaussian chain, not a function of the
stored level below, and are not recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
import zarr
from dask.delayed import Delayed

from omescale.api import downsample
from omescale.inputs.source import from_zarr_array
from omescale.methods import Methods
from omescale.ngff.chunk_check import object_key

__all__ = ["RECOMPUTABLE", "RecomputeCheck", "pick_chunks", "recompute_checks"]

RECOMPUTABLE = frozenset(Methods) - {Methods.LAPLACIAN}


class _Held:
    """A lazy chunk passed to a task as a value (dask would otherwise compute it first, and a
    failed read of the level below would then fail the whole verification)."""

    def __init__(self, block: da.Array) -> None:
        self.block = block


def pick_chunks(grid: Sequence[int], k: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``k`` distinct chunk indices of a chunk ``grid`` (all of them when it has fewer)."""
    total = math.prod(grid)
    flat = rng.choice(total, size=min(k, total), replace=False)
    return [tuple(int(i) for i in np.unravel_index(f, tuple(grid))) for f in sorted(flat)]


def _difference(found: np.ndarray, expected: np.ndarray, ulps: int) -> str | None:
    """How ``found`` differs from ``expected`` beyond the SPEC tolerance, or None."""
    if found.dtype.kind == "f":
        rtol = 1e-12 if found.dtype == np.float64 else 1e-6
        scale = float(np.nanmax(np.abs(expected))) if expected.size else 0.0
        bad = ~np.isclose(found, expected, rtol=rtol, atol=rtol * scale, equal_nan=True)
    else:
        bad = np.abs(found.astype(np.float64) - expected.astype(np.float64)) > ulps
    if not bad.any():
        return None
    delta = np.abs(found.astype(np.float64) - expected.astype(np.float64))[bad]
    return f"{int(bad.sum())} of {bad.size} values differ (largest difference {delta.max():g})"


def _compare(held: _Held, array: zarr.Array, region: tuple[slice, ...], what: str,
             ulps: int) -> str | None:
    """One recompute task: the chunk from the level below against the stored chunk."""
    try:
        expected = held.block.compute(scheduler="sync")
    except Exception as exc:
        return f"not recomputed: the level below cannot be read ({type(exc).__name__}: {exc})"
    try:
        found = np.asarray(array[region])
    except Exception as exc:
        return f"not recomputed: the chunk cannot be read ({type(exc).__name__}: {exc})"
    difference = _difference(found, expected, ulps)
    return None if difference is None else f"differs from {what}: {difference}"


@dataclass(frozen=True)
class RecomputeCheck:
    """One pending comparison: the chunk's label (key, or shard key and inner chunk) and its
    task, whose value is a problem or None."""

    key: str
    task: Delayed


def _chunk_label(array: zarr.Array, index: tuple[int, ...]) -> str:
    prefix = f"{array.path}/" if array.path else ""
    if array.shards is None:
        return object_key(array, index).removeprefix(prefix)
    per = tuple(s // c for s, c in zip(array.shards, array.chunks, strict=True))
    shard = tuple(i // p for i, p in zip(index, per, strict=True))
    inner = tuple(i % p for i, p in zip(index, per, strict=True))
    return f"{object_key(array, shard).removeprefix(prefix)} (inner chunk {inner})"


def recompute_checks(
    below: zarr.Array, level: zarr.Array, *, method: Methods, order: int | None,
    factors: Sequence[int], k: int, rng: np.random.Generator, where: str,
) -> list[RecomputeCheck]:
    """``k`` random chunks of ``level`` recomputed from ``below`` and compared, lazily.

    Returns one check per chunk; integers must match exactly (zoom with spline order > 1:
    within one unit), floats within the SPEC tolerance (1e-6 relative, 1e-12 for float64).
    """
    source = from_zarr_array(below, where)
    lazy = downsample(source, tuple(factors), method=method, order=order,
                      chunks=tuple(level.chunks))
    assert isinstance(lazy, da.Array)
    if lazy.dtype != level.dtype or lazy.shape != level.shape:
        return []  # the level checks report the mismatch
    ulps = 1 if method == Methods.ZOOM and (order or 1) > 1 else 0
    what = f"{method.value} of the level below"
    if order is not None:
        what = f"{method.value} (order {order}) of the level below"
    grid = tuple(len(c) for c in lazy.chunks)
    checks = []
    for index in pick_chunks(grid, k, rng):
        (block,) = dask.optimize(lazy.blocks[index])
        region = tuple(slice(i * c, min((i + 1) * c, n))
                       for i, c, n in zip(index, level.chunks, level.shape, strict=True))
        task = dask.delayed(_compare, pure=False)(_Held(block), level, region, what, ulps)
        checks.append(RecomputeCheck(_chunk_label(level, index), task))
    return checks

