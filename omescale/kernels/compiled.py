"""The banded product compiled with numba: one pass, accumulators in registers.

Same arithmetic as the NumPy path in ``omescale.kernels.apply`` — each output row starts from
``weight[r, 0] * x[index[r, 0]]`` and adds ``weight[r, t] * x[index[r, t]]`` in tap order, in
float64, without fused multiply-adds — so both paths give bit-identical results (the tests
check it). numba is optional at run time: without it (or with ``OMESCALE_NUMBA=0``) the NumPy
path runs. The loops live in ``omescale.kernels.loops`` (imported on first use, so importing
omescale does not import numba); they are compiled on first use, cached on disk and release the
GIL, so the threaded scheduler runs them in parallel.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np

__all__ = [
    "banded_product",
    "compiled_available",
    "rounded_window_mean",
    "last_two_pass",
    "MAX_PARTS",
]

# Dtypes the compiled path reads directly; anything else takes the NumPy path.
_DTYPES = frozenset(np.dtype(t) for t in (
    np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64,
))


@cache
def _kernels() -> dict[str, Any] | None:
    """The compiled loops (``omescale.kernels.loops``), or None without numba."""
    if os.environ.get("OMESCALE_NUMBA", "1") == "0":
        return None
    try:
        from omescale.kernels import loops
    except ImportError:  # pragma: no cover - numba is a dependency; this guards odd installs
        return None
    return {"inner": loops.inner, "last": loops.last, "mean_2x2": loops.mean_2x2,
            "rows_then_columns": loops.rows_then_columns}


def compiled_available() -> bool:
    """True when the compiled path is in use."""
    return _kernels() is not None


def banded_product(
    region: np.ndarray, index: np.ndarray, weight: np.ndarray, axis: int
) -> np.ndarray | None:
    """``out[.., r, ..] = sum_t weight[r, t] * region[.., index[r, t], ..]`` in float64, or
    ``None`` when the compiled path is unavailable for this input."""
    kernels = _kernels()
    if kernels is None or region.dtype not in _DTYPES:
        return None
    before = region.shape[:axis]
    after = region.shape[axis + 1 :]
    n = region.shape[axis]
    rows = index.shape[0]
    p_count = int(np.prod(before, dtype=np.int64))
    q_count = int(np.prod(after, dtype=np.int64))
    index = np.ascontiguousarray(index, dtype=np.int64)
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    x: np.ndarray
    out: np.ndarray
    if q_count == 1:
        x = region.reshape(p_count, n)
        out = np.empty((p_count, rows), dtype=np.float64)
        kernels["last"](x, index, weight, out)
    else:
        x = region.reshape(p_count, n, q_count)
        out = np.empty((p_count, rows, q_count), dtype=np.float64)
        kernels["inner"](x, index, weight, out)
    return out.reshape(*before, rows, *after)


# Integer dtypes the 2x2 mean reads (a sum of four always fits its int64 accumulator).
_MEAN_DTYPES = frozenset(np.dtype(t) for t in (
    np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32,
))


def rounded_window_mean(x: np.ndarray, factors: tuple[int, ...],
                        out: np.ndarray | None = None) -> np.ndarray | None:
    """The mean of each 2x2 window of the last two axes, rounded half to even, in ``x``'s
    integer dtype; ``None`` when the compiled path does not apply (other factors, partial
    windows, floats): the NumPy path then gives the same values.

    One pass instead of int32 sums, a float64 division, rounding, clipping and a cast: about
    2-7x faster on a 16x512x512 uint16 chunk (the pyramids' factor-2 step is the common case).
    ``out`` (any strides, ``x``'s dtype) receives the means and is returned; without it a new
    array is.
    """
    kernels = _kernels()
    if kernels is None or x.dtype not in _MEAN_DTYPES or x.ndim < 2:
        return None
    if any(f != 1 for f in factors[:-2]) or tuple(factors[-2:]) != (2, 2):
        return None
    if x.shape[-2] % 2 or x.shape[-1] % 2:
        return None
    p_count = int(np.prod(x.shape[:-2], dtype=np.int64))
    x3 = x.reshape(p_count, *x.shape[-2:])
    shape = (*x.shape[:-2], x.shape[-2] // 2, x.shape[-1] // 2)
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    elif out.shape != shape or out.dtype != x.dtype:
        raise ValueError(f"out must be {shape} {x.dtype}, not {out.shape} {out.dtype}")
    planes = out.reshape(p_count, *shape[-2:])  # a view unless out's planes cannot merge
    flat, (plane_stride, row_stride) = _flat_rows(planes)
    kernels["mean_2x2"](x3, flat, plane_stride, row_stride)
    if not np.may_share_memory(flat, out):  # a copy was written: out's rows or planes
        out[...] = flat[:planes.size].reshape(shape)  # are not evenly strided
    return out


# Parts of a region the two-axis pass reads in place, as a fixed-length tuple (padded with
# empty arrays): one signature per dtype, compiled once and cached on disk. A numba typed list
# would cost ~0.4 s of compiling in every new process (its methods are not cached).
MAX_PARTS = 16

# Output dtypes the fused two-axis pass writes (integers are rounded and clipped in the pass).
_OUT_DTYPES = frozenset(np.dtype(t) for t in (
    np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32, np.float32, np.float64,
))


def _uniform_runs(index: np.ndarray, weight: np.ndarray, runs) -> np.ndarray:
    """``(c0, c1, step)`` for the strided runs whose weights are equal along the run."""
    kept = [
        (c0, c1, step) for c0, c1, step in runs
        if step is not None and c1 - c0 > 1 and np.all(weight[c0:c1] == weight[c0])
    ]
    return np.array(kept, dtype=np.int64).reshape(-1, 3)


def last_two_pass(y_taps, x_taps, x_runs, starts: tuple[int, int], in_dtype: np.dtype,
                  out_dtype: np.dtype):
    """A compiled pass of taps along the second-to-last axis, then the last, cast to
    ``out_dtype``; ``None`` when the compiled path does not apply.

    ``x_runs`` are the strided runs of ``x_taps`` (``omescale.kernels.apply.strided_runs``);
    ``starts`` are the input indices of the region's first row and column. The values are
    those of ``apply_taps`` along each axis followed by ``cast_output``, bit for bit, without
    the float64 intermediate of the whole block. The returned ``run(parts, row_cuts, col_cuts,
    out)`` reads a region held as a row-major grid of 3-D parts ``(planes, rows, columns)``
    (band ``b`` holds region rows ``row_cuts[b]..row_cuts[b+1]-1``, likewise columns) and
    writes ``out`` ``(planes, R, C)``.
    """
    kernels = _kernels()
    out_dtype = np.dtype(out_dtype)
    if kernels is None or np.dtype(in_dtype) not in _DTYPES or out_dtype not in _OUT_DTYPES:
        return None
    compiled = kernels["rows_then_columns"]
    y_index = np.ascontiguousarray(y_taps.index - starts[0], dtype=np.int64)
    y_weight = np.ascontiguousarray(y_taps.weight, dtype=np.float64)
    x_index = np.ascontiguousarray(x_taps.index - starts[1], dtype=np.int64)
    x_weight = np.ascontiguousarray(x_taps.weight, dtype=np.float64)
    runs = _uniform_runs(x_index, x_weight, x_runs)
    integer = out_dtype.kind in "iu"
    lo, hi = (float(np.iinfo(out_dtype).min), float(np.iinfo(out_dtype).max)) if integer \
        else (0.0, 0.0)
    padding = _read_only(np.empty(0, dtype=in_dtype))

    def run(parts, row_cuts, col_cuts, out: np.ndarray) -> None:
        if len(parts) > MAX_PARTS:
            raise ValueError(f"{len(parts)} parts; join them first (at most {MAX_PARTS})")
        held = [padding] * MAX_PARTS
        strides = np.zeros((MAX_PARTS, 2), dtype=np.int64)
        for k, part in enumerate(parts):
            flat, strides[k] = _flat_rows(part)
            held[k] = _read_only(flat)
        row_cuts = np.asarray(row_cuts, dtype=np.int64)
        sizes = np.diff(row_cuts)
        row_part = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        row_local = np.arange(row_cuts[-1], dtype=np.int64) - np.repeat(row_cuts[:-1], sizes)
        compiled(tuple(held), strides, row_part, row_local,
                 np.asarray(col_cuts, dtype=np.int64), y_index, y_weight, x_index, x_weight,
                 runs, out, lo, hi, integer)

    return run


def _flat_rows(part: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A 3-D ``part`` as a flat array from its first element, and its plane and row strides in
    elements (copied first unless its rows are contiguous and its strides non-negative)."""
    size = part.itemsize
    if part.strides[-1] != size or min(part.strides) < 0 or any(s % size for s in part.strides):
        part = np.ascontiguousarray(part)
    extent = sum((n - 1) * s for n, s in zip(part.shape, part.strides, strict=True)) // size + 1
    flat = np.lib.stride_tricks.as_strided(part, shape=(max(extent, 0),), strides=(size,))
    return flat, (part.strides[0] // size, part.strides[1] // size)


def _read_only(flat: np.ndarray) -> np.ndarray:
    """A read-only view of ``flat``: the parts tuple holds one array type (dask may hand over
    read-only blocks, e.g. deserialized on a worker), so one compiled signature per dtype."""
    view = flat.view()
    view.flags.writeable = False
    return view
