"""Separable linear operators along one axis, as per-output-row taps.

A ``Taps`` holds, for output rows ``o0..o1-1`` of one axis, the global input indices each row
reads and their weights. Interpolation, anti-aliasing blur and post-smoothing compose into one
``Taps``; boundary modes are applied by folding indices at the true image border only, so a
chunk's taps are exactly the whole array's taps for the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omescale.modes import fold_indices

__all__ = [
    "Taps",
    "blur_taps",
    "compact_taps",
    "gaussian_kernel",
    "linear_taps",
    "nearest_taps",
    "smooth_rows",
    "spline_taps",
]


@dataclass(frozen=True)
class Taps:
    """Rows of a banded matrix: ``out[r] = sum_t weight[r, t] * x[index[r, t]]``."""

    index: np.ndarray
    weight: np.ndarray

    @property
    def lo(self) -> int:
        """First input index any row reads."""
        return int(self.index.min())

    @property
    def hi(self) -> int:
        """One past the last input index any row reads."""
        return int(self.index.max()) + 1


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The normalised 1-D Gaussian ``scipy.ndimage.gaussian_filter1d`` correlates with."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / (sigma * sigma) * x * x)
    return phi / phi.sum()


def nearest_taps(c: np.ndarray, n: int) -> Taps:
    """Order-0 sampling as ndimage rounds it: index ``floor(c + 0.5)``."""
    index = np.floor(c + 0.5).astype(np.int64)
    index = fold_indices(index, n, "mirror")
    return Taps(index[:, None], np.ones((len(c), 1)))


def linear_taps(c: np.ndarray, n: int, mode: str) -> Taps:
    """Order-1 interpolation at coordinates ``c``: weights ``1-t`` and ``t``."""
    start = np.floor(c)
    t = c - start
    start = start.astype(np.int64)
    index = np.stack([start, start + 1], axis=1)
    weight = np.stack([1.0 - t, t], axis=1)
    return Taps(fold_indices(index, n, mode), weight)


def _bspline(x: np.ndarray, order: int) -> np.ndarray:
    """Centred cardinal B-spline of ``order`` (closed form as a sum of truncated powers)."""
    from math import comb, factorial

    out = np.zeros_like(x)
    half = (order + 1) / 2
    for i in range(order + 2):
        out += (-1) ** i * comb(order + 1, i) * np.maximum(0.0, x + half - i) ** order
    return out / factorial(order)


def spline_taps(c: np.ndarray, n: int, order: int, mode: str) -> Taps:
    """B-spline interpolation of prefiltered coefficients at ``c`` (orders 2-5)."""
    if order % 2:
        start = np.floor(c).astype(np.int64) - order // 2
    else:
        start = np.floor(c + 0.5).astype(np.int64) - order // 2
    index = start[:, None] + np.arange(order + 1)
    weight = _bspline(c[:, None] - index, order)
    return Taps(fold_indices(index, n, mode), weight)


def blur_taps(taps: Taps, n: int, sigma: float, mode: str) -> Taps:
    """Taps of ``sample(gaussian_filter1d(x, sigma, mode))``: a blur before sampling."""
    if sigma <= 1e-15:
        return taps
    kernel = gaussian_kernel(sigma)
    radius = len(kernel) // 2
    offsets = np.arange(-radius, radius + 1)
    index = fold_indices(taps.index[:, :, None] + offsets, n, mode)
    weight = taps.weight[:, :, None] * kernel
    rows = len(taps.index)
    return compact_taps(Taps(index.reshape(rows, -1), weight.reshape(rows, -1)))


def smooth_rows(row_taps, o0: int, o1: int, m: int, sigma: float, mode: str) -> Taps:
    """Taps of ``gaussian_filter1d(y, sigma, mode)[o0:o1]`` where row ``r`` of ``y`` has
    taps ``row_taps(r0, r1)``: a blur applied *after* sampling, on the output grid of size m."""
    if sigma <= 1e-15:
        return row_taps(o0, o1)
    kernel = gaussian_kernel(sigma)
    radius = len(kernel) // 2
    rows = fold_indices(np.arange(o0, o1)[:, None] + np.arange(-radius, radius + 1), m, mode)
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    inner = row_taps(r0, r1)
    index = inner.index[rows - r0]
    weight = inner.weight[rows - r0] * kernel[None, :, None]
    count = o1 - o0
    return compact_taps(Taps(index.reshape(count, -1), weight.reshape(count, -1)))


def compact_taps(taps: Taps) -> Taps:
    """Merge repeated indices so each row reads a contiguous band once."""
    base = taps.index.min(axis=1)
    width = int((taps.index.max(axis=1) - base).max()) + 1
    rows = np.arange(len(base))[:, None]
    dense = np.zeros((len(base), width))
    np.add.at(dense, (np.broadcast_to(rows, taps.index.shape), taps.index - base[:, None]),
              taps.weight)
    # Rows narrower than the band read their own last index with weight 0 past their end,
    # so no row reaches outside the input.
    index = np.minimum(base[:, None] + np.arange(width), taps.index.max(axis=1)[:, None])
    return Taps(index, dense)
