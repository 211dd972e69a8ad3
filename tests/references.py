"""Independent whole-array references (scikit-image, SciPy, NumPy) and the tolerance rule.

Nothing here imports omescale's kernels: these are the calls SPEC section 2 names.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage as ndi
import skimage.transform as skt
from skimage.measure import block_reduce


def out_shape(shape, factors):
    return tuple(math.ceil(n / f) for n, f in zip(shape, factors, strict=True))


def cast_like(values, dtype):
    """SPEC rule: integers rounded half-to-even and clipped; float16 -> float32."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if dtype.kind == "b":
        return values.astype(bool)
    return values.astype(np.float32 if dtype == np.float16 else dtype)


def _windows(x, factors, fill):
    pad = [(0, -n % f) for n, f in zip(x.shape, factors, strict=True)]
    xp = np.pad(x.astype(np.float64), pad, constant_values=fill)
    split = []
    for n, f in zip(xp.shape, factors, strict=True):
        split += [n // f, f]
    order = list(range(0, 2 * x.ndim, 2)) + list(range(1, 2 * x.ndim, 2))
    outer = tuple(n // f for n, f in zip(xp.shape, factors, strict=True))
    return xp.reshape(split).transpose(order).reshape(*outer, -1)


def ref_nearest(x, factors, order=None):
    shape = out_shape(x.shape, factors)
    return skt.resize(x, shape, order=0, mode="reflect", anti_aliasing=False,
                      preserve_range=True)


def ref_resize(x, factors, order=None):
    shape = out_shape(x.shape, factors)
    return skt.resize(x, shape, order=1, mode="reflect", anti_aliasing=True,
                      preserve_range=True)


def ref_zoom(x, factors, order=None):
    order = 1 if order is None else order
    shape = out_shape(x.shape, factors)
    data = x.astype(np.float64) if x.dtype.kind in "iub" else x
    z = ndi.zoom(data, [m / n for m, n in zip(shape, x.shape, strict=True)], order=order,
                 mode="reflect", grid_mode=False)
    assert z.shape == shape
    return z


def _sigmas(factors):
    return [2 * f / 6 if f > 1 else 0.0 for f in factors]


def ref_gaussian(x, factors, order=None):
    shape = out_shape(x.shape, factors)
    fs = set(factors)
    if len(fs) == 1 and factors[0] > 1:
        # The literal reference when every axis has the same factor.
        return skt.pyramid_reduce(x, downscale=factors[0], order=1, mode="reflect",
                                  preserve_range=True, channel_axis=None)
    data = x.astype(np.float64) if x.dtype.kind in "iub" else x
    smooth = ndi.gaussian_filter(data, _sigmas(factors), mode="reflect")
    return skt.resize(smooth, shape, order=1, mode="reflect", anti_aliasing=False)


def ref_laplacian(x, factors, order=None):
    g = ref_gaussian(x, factors).astype(np.float64)
    return g - ndi.gaussian_filter(g, _sigmas(factors), mode="reflect")


def ref_local_mean(x, factors, order=None):
    if all(n % f == 0 for n, f in zip(x.shape, factors, strict=True)):
        return skt.downscale_local_mean(x.astype(np.float64), tuple(factors))
    return np.nanmean(_windows(x, factors, np.nan), axis=-1)


def _window_reduce(func):
    def ref(x, factors, order=None):
        if all(n % f == 0 for n, f in zip(x.shape, factors, strict=True)):
            return block_reduce(x.astype(np.float64), tuple(factors), func)
        return getattr(np, "nan" + func.__name__)(_windows(x, factors, np.nan), axis=-1)

    return ref


ref_min = _window_reduce(np.min)
ref_max = _window_reduce(np.max)
ref_median = _window_reduce(np.median)


def ref_mode(x, factors, order=None):
    """Most frequent value per window, ties to the smallest: a plain loop with np.unique."""
    shape = out_shape(x.shape, factors)
    out = np.empty(shape, dtype=x.dtype)
    for index in np.ndindex(*shape):
        window = x[tuple(slice(i * f, (i + 1) * f) for i, f in zip(index, factors, strict=True))]
        values, counts = np.unique(window, return_counts=True)
        out[index] = values[np.argmax(counts)]
    return out


REFERENCES = {
    "nearest": ref_nearest,
    "resize": ref_resize,
    "zoom": ref_zoom,
    "gaussian": ref_gaussian,
    "laplacian": ref_laplacian,
    "local_mean": ref_local_mean,
    "min": ref_min,
    "max": ref_max,
    "median": ref_median,
    "mode": ref_mode,
}

EXACT_METHODS = {"nearest", "local_mean", "mode", "min", "max", "median"}


def expected(method, x, factors, order=None):
    """The reference result in the output dtype SPEC section 2 prescribes."""
    ref = REFERENCES[method](x, factors, order)
    if method == "laplacian":
        return ref.astype(np.float64 if x.dtype == np.float64 else np.float32)
    if method in ("nearest", "mode") and x.dtype == np.bool_:
        return ref.astype(bool)
    return cast_like(ref, x.dtype)


def assert_matches_reference(ours, ref, method, x):
    """SPEC section 4: exact for window methods and nearest on exact floats; otherwise <= 1
    unit for integers with >= 99.9 % exact, 1e-6 (float32) / 1e-12 (float64) relative."""
    ours = np.asarray(ours)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    assert ours.dtype == ref.dtype, (ours.dtype, ref.dtype)
    if ref.dtype.kind in "iub":
        if method in EXACT_METHODS:
            np.testing.assert_array_equal(ours, ref)
            return
        diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
        assert diff.max(initial=0) <= 1, f"max difference {diff.max()}"
        assert np.count_nonzero(diff) <= 0.001 * diff.size, (
            f"{np.count_nonzero(diff)} of {diff.size} pixels differ"
        )
        return
    rtol = 1e-12 if ref.dtype == np.float64 else 1e-6
    scale = max(1.0, float(np.max(np.abs(x.astype(np.float64)), initial=0)))
    if method in ("nearest", "mode", "min", "max"):
        np.testing.assert_array_equal(ours, ref)  # pure selections
        return
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * scale)
