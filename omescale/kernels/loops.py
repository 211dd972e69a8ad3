"""The numba loops behind ``omescale.kernels.compiled`` (imported only when numba is used).

Each function is compiled on first call, cached on disk and releases the GIL. The arithmetic
is the NumPy path's (``omescale.kernels.apply``): taps summed in order, in float64, without
fused multiply-adds, so both paths give bit-identical results.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["inner", "last", "mean_2x2", "rows_then_columns"]

_jit = numba.njit(cache=True, nogil=True)
# The column steps of the two-axis pass are inlined into it (numba IR inlining); its first
# pass stays written out in it: as a helper, even inlined, a 16x512x512 uint16 resize block
# took 3.8-4.2 ms instead of 3.2-3.3 ms (best of 100, measured side by side).
_step = numba.njit(cache=True, nogil=True, inline="always")


@_jit
def inner(x, index, weight, out):  # pragma: no cover - compiled
    """x (P, N, Q) -> out (P, R, Q): the taps run along the middle axis, Q is contiguous."""
    p_count, q_count = x.shape[0], x.shape[2]
    rows, width = index.shape
    for p in range(p_count):
        for r in range(rows):
            i, w = index[r, 0], weight[r, 0]
            for q in range(q_count):
                out[p, r, q] = w * x[p, i, q]
            for t in range(1, width):
                i, w = index[r, t], weight[r, t]
                for q in range(q_count):
                    out[p, r, q] += w * x[p, i, q]


@_jit
def last(x, index, weight, out):  # pragma: no cover - compiled
    """x (P, N) -> out (P, R): the taps run along the last axis."""
    rows, width = index.shape
    for p in range(x.shape[0]):
        for r in range(rows):
            acc = weight[r, 0] * x[p, index[r, 0]]
            for t in range(1, width):
                acc += weight[r, t] * x[p, index[r, t]]
            out[p, r] = acc


@_jit
def mean_2x2(x, out, plane_stride, row_stride):  # pragma: no cover - compiled
    """x (P, 2R, 2C) integers -> out (P, R, C): each 2x2 sum (int64, exact) over 4, rounded
    half to even with shifts (floor and remainder, also for negative sums). ``out`` is flat
    (out[p, r, c] is out[p * plane_stride + r * row_stride + c]): a slice of a block is
    written in place with contiguous rows, which the compiler vectorizes."""
    for p in range(x.shape[0]):
        for r in range(x.shape[1] // 2):
            a = x[p, 2 * r]
            b = x[p, 2 * r + 1]
            o0 = p * plane_stride + r * row_stride
            o = out[o0:o0 + x.shape[2] // 2]
            for c in range(x.shape[2] // 2):
                total = (np.int64(a[2 * c]) + np.int64(a[2 * c + 1])
                         + np.int64(b[2 * c]) + np.int64(b[2 * c + 1]))
                q = total >> 2
                rem = total & 3
                o[c] = q + ((rem > 2) | ((rem == 2) & (q & 1)))


# --- the two-axis pass, one output row at a time ---------------------------------------------


@_step
def _columns(row, x_index, x_weight, acc, c0, c1):  # pragma: no cover - compiled
    """Output columns ``c0..c1-1`` of ``row``, each tap gathered on its own."""
    for c in range(c0, c1):
        a = x_weight[c, 0] * row[x_index[c, 0]]
        for t in range(1, x_index.shape[1]):
            a += x_weight[c, t] * row[x_index[c, t]]
        acc[c] = a


@_step
def _split_phases(row, phases, step):  # pragma: no cover - compiled
    """``phases[j] = row[j::step]``: each tap of a strided run becomes a contiguous slice."""
    width = row.shape[0]
    if step == 2:
        # Both phases in one loop: the form the compiler vectorizes (3x faster than the
        # general loop below for this, the common, step).
        even, odd = phases[0], phases[1]
        for u in range(width // 2):
            even[u] = row[2 * u]
            odd[u] = row[2 * u + 1]
        if width % 2:
            even[width // 2] = row[width - 1]
        return
    for j in range(step):
        for u in range((width - j + step - 1) // step):
            phases[j, u] = row[j + step * u]


@_step
def _strided_run(phases, x_index, x_weight, acc, c0, c1, step):  # pragma: no cover - compiled
    """Output columns ``c0..c1-1`` whose taps advance by ``step`` with equal weights: one
    contiguous multiply-add per tap over the phases."""
    run = acc[c0:c1]
    n = c1 - c0
    for t in range(x_index.shape[1]):
        i0 = x_index[c0, t]
        part = phases[i0 % step, i0 // step:i0 // step + n]
        w = x_weight[c0, t]
        if t == 0:
            for u in range(n):
                run[u] = w * part[u]
        else:
            for u in range(n):
                run[u] += w * part[u]


@_step
def _store(acc, target, integer, lo, hi):  # pragma: no cover - compiled
    """``cast_output``: integers rounded half to even and clipped, floats cast."""
    if integer:
        for c in range(acc.shape[0]):
            target[c] = min(max(np.rint(acc[c]), lo), hi)
    else:
        for c in range(acc.shape[0]):
            target[c] = acc[c]


@_jit
def rows_then_columns(parts, strides, row_part, row_local, col_cuts, y_index, y_weight,
                      x_index, x_weight, runs, out, lo, hi,
                      integer):  # pragma: no cover - compiled
    """A region (P, H, W) held as a grid of parts -> out (P, R, C): taps along H, then W.

    Region row ``i`` is row ``row_local[i]`` of row band ``row_part[i]``; column band ``j``
    starts at ``col_cuts[j]``; each part is flat from its first element with its plane and row
    strides (in elements), so its rows are contiguous slices the compiler vectorizes. Per
    output the same operations in the same order as ``inner`` then ``last``; the row of the
    first pass stays in cache and never becomes a whole float64 array, and the region is never
    copied together. ``runs`` rows ``(c0, c1, step)`` are columns whose taps advance by
    ``step`` with equal weights (``_strided_run``); the others are gathered (``_columns``).
    """
    bands = col_cuts.shape[0] - 1
    width = col_cuts[bands]
    row = np.empty(width, dtype=np.float64)
    acc = np.empty(out.shape[2], dtype=np.float64)
    longest = 1
    for k in range(runs.shape[0]):
        longest = max(longest, runs[k, 2])
    phases = np.empty((longest, width), dtype=np.float64)  # row[j::step] for each j
    for p in range(out.shape[0]):
        for r in range(y_index.shape[0]):
            for t in range(y_index.shape[1]):
                i = y_index[r, t]
                w = y_weight[r, t]
                for j in range(bands):
                    k = row_part[i] * bands + j
                    dst = row[col_cuts[j]:col_cuts[j + 1]]
                    o = p * strides[k, 0] + row_local[i] * strides[k, 1]
                    src = parts[k][o:o + dst.shape[0]]
                    if t == 0:
                        for q in range(dst.shape[0]):
                            dst[q] = w * src[q]
                    else:
                        for q in range(dst.shape[0]):
                            dst[q] += w * src[q]
            split = 0
            done = 0
            for k in range(runs.shape[0]):
                c0, c1, step = runs[k, 0], runs[k, 1], runs[k, 2]
                _columns(row, x_index, x_weight, acc, done, c0)
                if split != step:
                    _split_phases(row, phases, step)
                    split = step
                _strided_run(phases, x_index, x_weight, acc, c0, c1, step)
                done = c1
            _columns(row, x_index, x_weight, acc, done, acc.shape[0])
            _store(acc, out[p, r], integer, lo, hi)
