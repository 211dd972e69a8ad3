"""Apply per-axis ``Taps`` to an input region.

A banded operator of width T followed by decimation is a sum of T strided views of the region,
each scaled by its weight: ``out = w_0 * x[i_0::s] + w_1 * x[i_1::s] + ...``, accumulated in
float64 in tap order. Every output row is therefore computed with the same operations in the
same order whatever region it sits in, which is what makes results bit-identical on any
chunking. Rows whose taps do not advance by a common stride (image borders, non-integer
ratios) read the same taps by gathering. Pure selections (nearest) keep the input dtype.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from scipy import ndimage as ndi

from omescale.kernels.compiled import banded_product
from omescale.kernels.taps import Taps

__all__ = ["apply_taps", "clip_runs", "prefilter_spline", "strided_runs"]

Run = tuple[int, int, int | None]

# More runs than this fraction of the rows: gather every row at once instead.
_MAX_RUN_FRACTION = 1 / 16


def _regular_stride(first: np.ndarray) -> int | None:
    """The common step of ``first`` if it is an arithmetic sequence with step >= 1."""
    if len(first) == 1:
        return 1
    steps = np.diff(first)
    step = int(steps[0])
    if step >= 1 and np.all(steps == step):
        return step
    return None


def strided_runs(index: np.ndarray) -> Iterator[Run]:
    """Split rows into ``(r0, r1, step)``: within a run every tap column advances by ``step``.

    ``step`` is ``None`` for rows read by gathering. When the rows break into many short runs
    (non-integer ratios), one gathering run covers them all.
    """
    rows = len(index)
    if rows == 1:
        yield 0, 1, 1
        return
    steps = np.diff(index, axis=0)
    step = steps[:, 0]
    linked = np.all(steps == step[:, None], axis=1) & (step >= 1)
    # Pair p joins rows p and p + 1; consecutive pairs with one state form a segment.
    state = np.where(linked, step, -1)
    breaks = np.flatnonzero(state[:-1] != state[1:]) + 1
    bounds = [0, *breaks.tolist(), rows - 1]
    if len(bounds) > 2 + rows * _MAX_RUN_FRACTION:
        yield 0, rows, None
        return
    r0 = 0
    for lo, hi in itertools.pairwise(bounds):
        if state[lo] < 0:
            continue
        # Linked pairs lo..hi-1 cover rows lo..hi; a row shared with the run before stays there.
        first = max(lo, r0)
        if r0 < first:
            yield r0, first, None
        yield first, hi + 1, int(state[lo])
        r0 = hi + 1
    if r0 < rows:
        yield r0, rows, None


def _weights(weight: np.ndarray, axis: int, ndim: int) -> np.ndarray | np.float64:
    """One tap's weights for a run, as a scalar when they are all equal."""
    if np.all(weight == weight[0]):
        # A NumPy float64, not a Python float: float32 * (weak) Python float runs in float32.
        return np.float64(weight[0])
    shape = [1] * ndim
    shape[axis] = len(weight)
    return weight.reshape(shape)


def _banded_sum(
    region: np.ndarray, index: np.ndarray, weight: np.ndarray, axis: int,
    step: int | None, out: np.ndarray,
) -> None:
    """``out = sum_t weight[:, t] * region[index[:, t]]`` along ``axis``, in tap order."""
    scratch = np.empty_like(out)
    for t in range(index.shape[1]):
        view = _pick(region, index[:, t], axis, step)
        w = _weights(weight[:, t], axis, region.ndim)
        if t == 0:
            np.multiply(view, w, out=out)
        else:
            np.multiply(view, w, out=scratch)
            out += scratch


def clip_runs(
    runs: list[Run], r0: int, r1: int
) -> list[Run]:
    """``runs`` restricted to rows ``r0..r1-1`` and renumbered from ``r0`` (a sub-run of a
    strided run is strided, so the rows keep their arithmetic)."""
    return [(max(a, r0) - r0, min(b, r1) - r0, s) for a, b, s in runs if a < r1 and b > r0]


def apply_taps(
    region: np.ndarray, taps: Taps, axis: int, start: int,
    runs: list[Run] | None = None,
) -> np.ndarray:
    """``out[..., r, ...] = sum_t taps.weight[r, t] * region[..., taps.index[r, t] - start, ...]``.

    ``region`` holds input indices ``start .. start + region.shape[axis]`` along ``axis``.
    Pure selections keep the input dtype; everything else is accumulated in float64.
    ``runs`` (from ``strided_runs(taps.index)``) may be passed when already known.
    """
    index = taps.index - start
    rows, width = index.shape
    if width == 1 and np.all(taps.weight == 1.0):
        return _pick(region, index[:, 0], axis, _regular_stride(index[:, 0]))
    compiled = banded_product(region, index, taps.weight, axis)
    if compiled is not None:
        return compiled
    shape = list(region.shape)
    shape[axis] = rows
    out = np.empty(shape, dtype=np.float64)
    for r0, r1, step in strided_runs(index) if runs is None else runs:
        sl = [slice(None)] * region.ndim
        sl[axis] = slice(r0, r1)
        _banded_sum(region, index[r0:r1], taps.weight[r0:r1], axis, step, out[tuple(sl)])
    return out


def _pick(region: np.ndarray, index: np.ndarray, axis: int, step: int | None) -> np.ndarray:
    """``region`` at ``index`` along ``axis`` (nearest, or one tap of a banded product): a
    strided view when ``step`` is given, a gather otherwise; keeps the input dtype."""
    if step is None:
        return np.take(region, index, axis=axis)
    sl = [slice(None)] * region.ndim
    first = int(index[0])
    sl[axis] = slice(first, first + step * (len(index) - 1) + 1, step)
    return region[tuple(sl)]


def prefilter_spline(region: np.ndarray, order: int, axis: int, mode: str) -> np.ndarray:
    """B-spline coefficients along ``axis`` (``ndimage.spline_filter1d``) in float64."""
    return ndi.spline_filter1d(region, order, axis=axis, output=np.float64, mode=mode)
