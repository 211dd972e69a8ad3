"""Apply per-axis ``Taps`` to an input region.

A banded operator is applied as a sparse matrix product along the axis (a filter of width T
followed by decimation costs T multiply-adds per output pixel, in one pass); pure selections
(nearest) read strided views or ``take`` and keep the dtype.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import csr_matrix

from omescale.kernels.taps import Taps

__all__ = ["apply_taps", "prefilter_spline"]


def _regular_stride(first: np.ndarray) -> int | None:
    """The common step of ``first`` if it is an arithmetic sequence with step >= 1."""
    if len(first) == 1:
        return 1
    steps = np.diff(first)
    step = int(steps[0])
    if step >= 1 and np.all(steps == step):
        return step
    return None


def _matrix(taps: Taps, start: int, n: int) -> csr_matrix:
    """The banded operator as a CSR matrix over a region of ``n`` pixels starting at ``start``."""
    rows, width = taps.index.shape
    indptr = np.arange(0, rows * width + 1, width)
    return csr_matrix(
        (taps.weight.ravel(), (taps.index - start).ravel(), indptr), shape=(rows, n)
    )


def apply_taps(region: np.ndarray, taps: Taps, axis: int, start: int) -> np.ndarray:
    """``out[..., r, ...] = sum_t taps.weight[r, t] * region[..., taps.index[r, t] - start, ...]``.

    ``region`` holds input indices ``start .. start + region.shape[axis]`` along ``axis``.
    Pure selections keep the input dtype; everything else is a sparse banded product in
    float64, one pass over the region, each row accumulated in the same order on any chunking.
    """
    index = taps.index - start
    rows, width = index.shape
    if width == 1 and np.all(taps.weight == 1.0):
        return _pick(region, index[:, 0], axis, _regular_stride(index[:, 0]))
    n = region.shape[axis]
    matrix = _matrix(taps, start, n)
    before = region.shape[:axis]
    after = region.shape[axis + 1 :]
    if not after:
        flat = region.reshape(-1, n)
        out = (matrix @ flat.T).T
        return np.ascontiguousarray(out).reshape(*before, rows)
    slabs = region.reshape(-1, n, int(np.prod(after)))
    out = np.empty((slabs.shape[0], rows, slabs.shape[2]), dtype=np.float64)
    for p in range(slabs.shape[0]):
        out[p] = matrix @ slabs[p]
    return out.reshape(*before, rows, *after)


def _pick(region: np.ndarray, index: np.ndarray, axis: int, step: int | None) -> np.ndarray:
    """Pure selection (nearest): keeps the input dtype, strided view when regular."""
    if step is None:
        return np.take(region, index, axis=axis)
    sl = [slice(None)] * region.ndim
    first = int(index[0])
    sl[axis] = slice(first, first + step * (len(index) - 1) + 1, step)
    return region[tuple(sl)]


def prefilter_spline(region: np.ndarray, order: int, axis: int, mode: str) -> np.ndarray:
    """B-spline coefficients along ``axis`` (``ndimage.spline_filter1d``) in float64."""
    return ndi.spline_filter1d(region, order, axis=axis, output=np.float64, mode=mode)
