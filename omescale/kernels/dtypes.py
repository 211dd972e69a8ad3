"""Casting float results to the output dtype: round half-to-even, clip to the dtype's range."""

from __future__ import annotations

import numpy as np

__all__ = ["cast_output", "work_dtype"]


def work_dtype(dtype: np.dtype) -> np.dtype:
    """The float dtype scikit-image computes in: float32 for float16/32, float64 otherwise."""
    return np.dtype(np.float32) if dtype in (np.float16, np.float32) else np.dtype(np.float64)


def cast_output(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``values`` in ``dtype``: integers rounded half-to-even and clipped; floats cast."""
    dtype = np.dtype(dtype)
    if values.dtype == dtype:
        return values
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        # ``values`` is always a temporary of the kernel: round and clip it in place.
        rounded = np.rint(values, out=values if values.flags.writeable else None)
        np.clip(rounded, info.min, info.max, out=rounded)
        return rounded.astype(dtype)
    if dtype.kind == "b":
        return values.astype(dtype)
    return values.astype(dtype)
