"""The downsampling methods and the table that says what each one is.

Nothing here dispatches on strings: callers look a method up in ``METHOD_SPECS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from omescale.errors import InvalidMethodError, UnsupportedDtypeError
from omescale.kernels import build
from omescale.method_names import Methods

__all__ = ["METHOD_SPECS", "MethodSpec", "Methods", "check_dtype", "output_dtype", "to_method"]

GeometryKind = Literal["block", "resize", "zoom"]


@dataclass(frozen=True, kw_only=True)
class MethodSpec:
    """What a method is: its sampling geometry, safety for labels and its reference.

    ``geometry`` names the NGFF transform rule (see ``omescale.geometry.step_transform``).
    ``windowed`` methods reduce non-overlapping f-windows and need no halo.
    ``averaging`` methods create new values and refuse bool input.
    ``signed_float`` methods always output floats (a band-pass image is signed).
    """

    geometry: GeometryKind
    label_safe: bool
    windowed: bool
    averaging: bool
    signed_float: bool
    reference: str
    kernel: Callable[..., Any]
    takes_order: bool = False


METHOD_SPECS: dict[Methods, MethodSpec] = {
    Methods.NEAREST: MethodSpec(
        geometry="resize", label_safe=True, windowed=False, averaging=False,
        signed_float=False,
        reference="skimage.transform.resize(order=0, mode='reflect', anti_aliasing=False, "
        "preserve_range=True)",
        kernel=build.nearest_kernel,
    ),
    Methods.RESIZE: MethodSpec(
        geometry="resize", label_safe=False, windowed=False, averaging=True,
        signed_float=False,
        reference="skimage.transform.resize(order=1, mode='reflect', anti_aliasing=True, "
        "preserve_range=True)",
        kernel=build.resize_kernel,
    ),
    Methods.LOCAL_MEAN: MethodSpec(
        geometry="block", label_safe=False, windowed=True, averaging=True,
        signed_float=False,
        reference="skimage.transform.downscale_local_mean (partial trailing windows average "
        "existing pixels)",
        kernel=build.mean_kernel,
    ),
    Methods.ZOOM: MethodSpec(
        geometry="zoom", label_safe=False, windowed=False, averaging=True,
        signed_float=False,
        reference="scipy.ndimage.zoom(zoom=M/N, order=order, mode='reflect', grid_mode=False)",
        kernel=build.zoom_kernel, takes_order=True,
    ),
    Methods.GAUSSIAN: MethodSpec(
        geometry="resize", label_safe=False, windowed=False, averaging=True,
        signed_float=False,
        reference="skimage.transform.pyramid_reduce(sigma=2f/6, order=1, mode='reflect', "
        "preserve_range=True)",
        kernel=build.gaussian_kernel,
    ),
    Methods.LAPLACIAN: MethodSpec(
        geometry="resize", label_safe=False, windowed=False, averaging=True,
        signed_float=True,
        reference="skimage.transform.pyramid_laplacian (G_k - smooth(G_k))",
        kernel=build.laplacian_kernel,
    ),
    Methods.MODE: MethodSpec(
        geometry="block", label_safe=True, windowed=True, averaging=False,
        signed_float=False,
        reference="most frequent value per window, ties to the smallest (partial windows as "
        "local_mean)",
        kernel=build.mode_kernel,
    ),
    Methods.MIN: MethodSpec(
        geometry="block", label_safe=True, windowed=True, averaging=False,
        signed_float=False,
        reference="skimage.measure.block_reduce(func=np.min)",
        kernel=build.min_kernel,
    ),
    Methods.MAX: MethodSpec(
        geometry="block", label_safe=True, windowed=True, averaging=False,
        signed_float=False,
        reference="skimage.measure.block_reduce(func=np.max)",
        kernel=build.max_kernel,
    ),
    Methods.MEDIAN: MethodSpec(
        geometry="block", label_safe=False, windowed=True, averaging=True,
        signed_float=False,
        reference="skimage.measure.block_reduce(func=np.median)",
        kernel=build.median_kernel,
    ),
}


def to_method(method: str | Methods) -> Methods:
    """Return ``method`` as a ``Methods`` member, or raise naming the valid choices."""
    try:
        return Methods(method)
    except ValueError:
        choices = ", ".join(m.value for m in Methods)
        raise InvalidMethodError(
            f"unknown method {method!r}; choose one of: {choices}"
        ) from None


def check_dtype(method: Methods, dtype: np.dtype) -> np.dtype:
    """Refuse dtypes the method cannot process; return the dtype as ``np.dtype``."""
    dtype = np.dtype(dtype)
    kind = dtype.kind
    if kind not in "biuf":
        raise UnsupportedDtypeError(
            f"dtype {dtype} is not supported: use an integer, float or (for label-safe "
            "methods) bool image"
        )
    if kind == "b" and METHOD_SPECS[method].averaging:
        raise UnsupportedDtypeError(
            f"method {method.value!r} averages pixel values and cannot take a bool image; "
            "use 'nearest', 'mode', 'min' or 'max'"
        )
    return dtype


def output_dtype(method: Methods | str, dtype: np.dtype) -> np.dtype:
    """The dtype of a level: the input's, float16 -> float32, float for band-pass output."""
    method = to_method(method)
    dtype = check_dtype(method, dtype)
    if METHOD_SPECS[method].signed_float:
        return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype
