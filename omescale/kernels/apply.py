"""Apply per-axis ``Taps`` to an input region.

Rows whose taps start on a regular stride read strided views (no copies): a filter of width T
followed by decimation costs T multiply-adds per output pixel. Other rows gather with ``take``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

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


def _contiguous(index: np.ndarray) -> bool:
    return bool(np.all(np.diff(index, axis=1) == 1)) if index.shape[1] > 1 else True


def apply_taps(region: np.ndarray, taps: Taps, axis: int, start: int) -> np.ndarray:
    """``out[..., r, ...] = sum_t taps.weight[r, t] * region[..., taps.index[r, t] - start, ...]``.

    ``region`` holds input indices ``start .. start + region.shape[axis]`` along ``axis``;
    the result is float64 (float32 inputs stay float32 only through ``region``).
    """
    index = taps.index - start
    rows, width = index.shape
    shape = [1] * region.ndim
    shape[axis] = rows
    step = _regular_stride(index[:, 0])
    if width == 1 and np.all(taps.weight == 1.0):
        return _pick(region, index[:, 0], axis, step)
    out = None
    if step is not None and _contiguous(index):
        first = int(index[0, 0])
        for t in range(width):
            lo = first + t
            sl = [slice(None)] * region.ndim
            sl[axis] = slice(lo, lo + step * (rows - 1) + 1, step)
            term = region[tuple(sl)] * taps.weight[:, t].reshape(shape)
            out = term if out is None else np.add(out, term, out=out)
        return out
    for t in range(width):
        term = np.take(region, index[:, t], axis=axis) * taps.weight[:, t].reshape(shape)
        out = term if out is None else np.add(out, term, out=out)
    return out


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
