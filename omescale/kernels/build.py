"""Kernel builders: method parameters -> a level kernel for given shapes and factors.

Each builder takes ``(shape_in, factors, out_dtype, order)`` and returns a kernel whose
``reach`` gives input regions and whose call computes one output block. The method table in
``omescale.methods`` names the builder of each method.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omescale.geometry import level_shape
from omescale.kernels import windows
from omescale.kernels.axis_ops import AxisOp, spline_halo
from omescale.kernels.compiled import rounded_window_mean
from omescale.kernels.level import SeparableKernel, WindowKernel

__all__ = [
    "bandpass_kernel",
    "floor_resize_kernel",
    "gaussian_kernel",
    "laplacian_kernel",
    "max_kernel",
    "mean_kernel",
    "median_kernel",
    "min_kernel",
    "mode_kernel",
    "nearest_kernel",
    "resize_kernel",
    "zoom_kernel",
]

Shape = Sequence[int]


def _ops(shape: Shape, factors: Shape, make) -> tuple[AxisOp | None, ...]:
    out = level_shape(shape, factors)
    return tuple(
        make(n, m, f) if f > 1 else None for n, m, f in zip(shape, out, factors, strict=True)
    )


def nearest_kernel(shape: Shape, factors: Shape, dtype, order=None) -> SeparableKernel:
    """skimage ``resize(order=0)``: pick index ``floor(c + 1/2)`` of the pixel-centre map."""
    ops = _ops(shape, factors, lambda n, m, f: AxisOp(n, m, order=0))
    return SeparableKernel(((1.0, ops),), np.dtype(dtype))


def resize_kernel(shape: Shape, factors: Shape, dtype, order=None) -> SeparableKernel:
    """skimage ``resize(order=1, anti_aliasing=True)``: blur sigma (N/M-1)/2 in ``mirror``."""

    def make(n: int, m: int, f: int) -> AxisOp:
        return AxisOp(n, m, order=1, pre_sigma=max(0.0, (n / m - 1) / 2), pre_mode="mirror")

    return SeparableKernel(((1.0, _ops(shape, factors, make)),), np.dtype(dtype))


def _gaussian_op(n: int, m: int, f: int, post: bool = False) -> AxisOp:
    # pyramid_reduce: blur sigma 2f/6 in ndimage 'reflect', then resize without anti-aliasing.
    sigma = 2.0 * f / 6.0
    return AxisOp(
        n, m, order=1, pre_sigma=sigma, pre_mode="reflect",
        post_sigma=sigma if post else 0.0, post_mode="reflect",
    )


def gaussian_kernel(shape: Shape, factors: Shape, dtype, order=None) -> SeparableKernel:
    """skimage ``pyramid_reduce(downscale=f, sigma=2f/6, order=1)`` on downsampled axes."""
    return SeparableKernel(((1.0, _ops(shape, factors, _gaussian_op)),), np.dtype(dtype))


def laplacian_kernel(shape: Shape, factors: Shape, dtype, order=None) -> SeparableKernel:
    """``G - smooth(G)`` with ``G`` the gaussian step (skimage ``pyramid_laplacian``)."""
    g = _ops(shape, factors, _gaussian_op)
    sg = _ops(shape, factors, lambda n, m, f: _gaussian_op(n, m, f, post=True))
    return SeparableKernel(((1.0, g), (-1.0, sg)), np.dtype(dtype))


def bandpass_kernel(shape: Shape, factors: Shape, dtype, order=None) -> SeparableKernel:
    """Level 0 of a laplacian pyramid: ``x - smooth(x)``, smoothing as the next step would."""

    def make(n: int, m: int, f: int) -> AxisOp:
        return AxisOp(n, n, order=1, pre_sigma=2.0 * f / 6.0, pre_mode="reflect")

    smooth = tuple(
        make(n, n, f) if f > 1 else None for n, f in zip(shape, factors, strict=True)
    )
    identity = tuple(None for _ in shape)
    return SeparableKernel(((1.0, identity), (-1.0, smooth)), np.dtype(dtype))


def zoom_kernel(shape: Shape, factors: Shape, dtype, order=None) -> SeparableKernel:
    """``ndimage.zoom(zoom=M/N, order, mode='reflect', grid_mode=False)``.

    An axis with factor 1 is not always the identity: ``ndimage.zoom`` prefilters and
    evaluates the spline on every axis, and with mode ``reflect`` SciPy's spline is not
    interpolating at the knots of an axis shorter than the prefilter's reach (order 5 moves a
    3-pixel axis by up to 0.3 % of the image's largest magnitude). Such short axes get the knot
    evaluation too; longer ones are the identity within ``SPLINE_TOLERANCE``.
    """
    order = 1 if order is None else order

    def make(n: int, m: int) -> AxisOp:
        return AxisOp(n, m, coords="zoom", order=order, interp_mode="reflect")

    out = level_shape(shape, factors)
    ops = tuple(
        make(n, m) if f > 1 or (order >= 2 and 1 < n < spline_halo(order)) else None
        for n, m, f in zip(shape, out, factors, strict=True)
    )
    return SeparableKernel(((1.0, ops),), np.dtype(dtype))


def _window(reducer, rounded=None):
    def build(shape: Shape, factors: Shape, dtype, order=None) -> WindowKernel:
        return WindowKernel(reducer, tuple(factors), tuple(shape), np.dtype(dtype), rounded)

    build.__doc__ = f"Window reduction with ``{reducer.__name__}``."
    return build


# Integer 2x2 means also have a compiled pass that reduces and rounds at once.
mean_kernel = _window(windows.window_mean, rounded_window_mean)
min_kernel = _window(windows.window_min)
max_kernel = _window(windows.window_max)
median_kernel = _window(windows.window_median)
mode_kernel = _window(windows.window_mode)


def floor_resize_kernel(shape: Shape, out_shape: Shape, order: int, dtype) -> SeparableKernel:
    """skimage ``resize(order=order, anti_aliasing=False)`` from ``shape`` to ``out_shape``
    (ome-zarr-py's ``Scaler.resize_image`` and ``nearest``: ``floor(N / downscale)``)."""
    ops = tuple(
        AxisOp(n, m, order=order, interp_mode="mirror") if m != n else None
        for n, m in zip(shape, out_shape, strict=True)
    )
    return SeparableKernel(((1.0, ops),), np.dtype(dtype))
