"""Reductions over non-overlapping f-windows that start at index 0.

A trailing partial window reduces only the pixels that exist (scikit-image pads with zeros and
darkens the last row; we do not). Regions handed to these kernels start on a window boundary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["window_max", "window_mean", "window_median", "window_min", "window_mode"]


def _window_sizes(n: int, f: int) -> np.ndarray:
    starts = np.arange(0, n, f)
    return np.minimum(starts + f, n) - starts


def _strided_reduce(ufunc: np.ufunc, x: np.ndarray, factors: Sequence[int], dtype) -> np.ndarray:
    """Combine the f strided views of each axis with ``ufunc``; a trailing partial window
    combines only the views that reach it. One vectorised pass per view, no reduceat."""
    for axis, f in enumerate(factors):
        if f == 1:
            continue
        n = x.shape[axis]
        first = [slice(None)] * x.ndim
        first[axis] = slice(0, None, f)
        out = x[tuple(first)].astype(dtype, copy=True)
        for j in range(1, min(f, n)):
            view = [slice(None)] * x.ndim
            view[axis] = slice(j, None, f)
            part = x[tuple(view)]
            target = [slice(None)] * x.ndim
            target[axis] = slice(0, part.shape[axis])
            ufunc(out[tuple(target)], part, out=out[tuple(target)])
        x = out
    return x


def _sum_dtype(dtype: np.dtype, factors: Sequence[int]) -> np.dtype:
    """An accumulator that holds every window sum exactly (integers) or float64."""
    if dtype.kind in "iub" and dtype.itemsize <= 2:
        bound = (
            max(abs(int(np.iinfo(dtype).min)), int(np.iinfo(dtype).max)) if dtype.kind != "b" else 1
        )
        if bound * int(np.prod(factors)) < 2**31:
            return np.dtype(np.int32)
    if dtype.kind in "iu":
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def window_mean(x: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Mean of each window (float64; exact sums for integer input)."""
    sums = _strided_reduce(np.add, x, factors, _sum_dtype(x.dtype, factors))
    counts: np.ndarray | float = 1.0
    for axis, f in enumerate(factors):
        if f > 1:
            sizes = _window_sizes(x.shape[axis], f)
            if np.all(sizes == f):
                counts = counts * float(f)
            else:
                shape = [1] * x.ndim
                shape[axis] = -1
                counts = counts * sizes.reshape(shape).astype(np.float64)
    return np.true_divide(sums, counts, dtype=np.float64)


def window_min(x: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Minimum of each window, in the input dtype."""
    return _strided_reduce(np.minimum, x, factors, x.dtype)


def window_max(x: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Maximum of each window, in the input dtype."""
    return _strided_reduce(np.maximum, x, factors, x.dtype)


def _windows_last(x: np.ndarray, factors: Sequence[int], fill) -> tuple[np.ndarray, np.ndarray]:
    """Pad to whole windows with ``fill`` and return ``(values, valid)`` shaped (..., K)."""
    pad = [(0, -n % f) for n, f in zip(x.shape, factors, strict=True)]
    valid = np.ones(x.shape, dtype=bool)
    if any(p for _, p in pad):
        x = np.pad(x, pad, constant_values=fill)
        valid = np.pad(valid, pad, constant_values=False)
    split = []
    for n, f in zip(x.shape, factors, strict=True):
        split += [n // f, f]
    order = list(range(0, 2 * x.ndim, 2)) + list(range(1, 2 * x.ndim, 2))
    outer = tuple(n // f for n, f in zip(x.shape, factors, strict=True))

    def to_windows(a: np.ndarray) -> np.ndarray:
        return a.reshape(split).transpose(order).reshape(*outer, -1)

    return to_windows(x), to_windows(valid)


def window_median(x: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Median of each window (float64; mean of the two middle values for even counts)."""
    values, valid = _windows_last(x.astype(np.float64, copy=False), factors, np.nan)
    ordered = np.sort(values, axis=-1)  # NaN padding sorts last
    count = valid.sum(axis=-1)[..., None]
    low = np.take_along_axis(ordered, (count - 1) // 2, axis=-1)
    high = np.take_along_axis(ordered, count // 2, axis=-1)
    return ((low + high) / 2)[..., 0]


def window_mode(x: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Most frequent value of each window; ties go to the smallest value. Input dtype kept."""
    native = x.dtype
    if native == np.bool_:
        x = x.view(np.uint8)
    top = np.iinfo(x.dtype).max if x.dtype.kind in "iu" else np.inf
    values, valid = _windows_last(x, factors, top)
    invalid_count = (~valid).sum(axis=-1)
    values = np.sort(values, axis=-1)  # padding (== top) sorts last
    k = values.shape[-1]
    position = np.arange(k)
    new_run = np.ones(values.shape, dtype=bool)
    new_run[..., 1:] = values[..., 1:] != values[..., :-1]
    run_end = np.ones(values.shape, dtype=bool)
    run_end[..., :-1] = new_run[..., 1:]
    first = np.maximum.accumulate(np.where(new_run, position, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(run_end, position, k), -1), -1), -1)
    count = last - first + 1
    # The run of the largest value also counts the padding: remove it.
    in_last_run = values == values[..., -1:]
    count = count - np.where(in_last_run, invalid_count[..., None], 0)
    count = np.where(position < (k - invalid_count)[..., None], count, -1)
    best = np.argmax(count == count.max(axis=-1, keepdims=True), axis=-1)
    mode = np.take_along_axis(values, best[..., None], axis=-1)[..., 0]
    return mode.view(native) if native == np.bool_ else mode
