"""``downsample``: one level of any method, numpy or lazy dask, same answer on any chunking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np

from omescale.geometry import level_shape
from omescale.lift import lift_kernel, output_chunks
from omescale.methods import METHOD_SPECS, Methods, output_dtype, to_method
from omescale.validate import check_factors, check_order, check_shape

__all__ = ["apply_kernel", "as_array", "downsample", "level_kernel"]


def level_kernel(
    method: Methods, shape: Sequence[int], factors: Sequence[int], dtype: np.dtype,
    order: int | None = None,
) -> Any:
    """The kernel computing one level of ``method`` from an input of ``shape``."""
    return METHOD_SPECS[method].kernel(tuple(shape), tuple(factors), dtype, order)


def apply_kernel(
    image: np.ndarray | da.Array, kernel: Any, out_shape: Sequence[int], factors: Sequence[int],
    dtype: np.dtype, *, name: str, chunks: Sequence[int] | None = None,
) -> np.ndarray | da.Array:
    """``kernel`` over the whole of ``image``: at once for numpy, one task per output block
    for dask (blocks of ``chunks``, default the input's chunks over ``factors``)."""
    if isinstance(image, np.ndarray):
        return kernel(image, (0,) * image.ndim, tuple((0, m) for m in out_shape))
    out_chunks = output_chunks(image.chunks, out_shape, factors, chunks)
    return lift_kernel(image, kernel, tuple(out_shape), out_chunks, dtype, name=name)


def as_array(image: Any) -> np.ndarray | da.Array:
    """numpy and dask arrays as they are; zarr-like arrays wrapped lazily; others via numpy."""
    if isinstance(image, (np.ndarray, da.Array)):
        return image
    if hasattr(image, "shape") and hasattr(image, "dtype") and hasattr(image, "__getitem__"):
        # zarr arrays and other lazy array-likes stay lazy: read chunk by chunk through dask.
        chunks = getattr(image, "chunks", "auto")
        return da.from_array(image, chunks=chunks)
    return np.asarray(image)


def downsample(
    image: Any,
    factors: Sequence[int],
    *,
    method: str | Methods = "resize",
    order: int | None = None,
    chunks: Sequence[int] | None = None,
) -> np.ndarray | da.Array:
    """Downsample ``image`` by integer ``factors``, one level.

    Parameters
    ----------
    image : numpy.ndarray or dask.array.Array (or a zarr array, read lazily)
        The image; any number of dimensions.
    factors : sequence of int
        One positive integer per axis; 1 keeps the axis. The output has ``ceil(N / f)``
        pixels along an axis of ``N`` pixels.
    method : str or Methods
        One of ``omescale.Methods``; see ``docs/methods.md`` for each reference.
    order : int, optional
        Spline order 0-5 for ``zoom`` (default 1).
    chunks : sequence of int, optional
        Block shape of a dask result (default: input chunks divided by the factors).

    Returns
    -------
    numpy.ndarray or dask.array.Array
        numpy in, numpy out; dask in, lazy dask out. Integer outputs are rounded half-to-even
        and clipped; float outputs keep the float dtype (float16 becomes float32).

    Notes
    -----
    Every output block is computed from the whole-image coordinates of the input region it
    needs (coordinate map plus the kernel's halo), with boundary modes applied only at the true
    image border, so the result does not depend on the chunking.

    Examples
    --------
    >>> import numpy as np, omescale
    >>> omescale.downsample(np.arange(16, dtype=np.uint8).reshape(4, 4), (2, 2),
    ...                     method="local_mean")
    array([[ 2,  4],
           [10, 12]], dtype=uint8)
    """
    method = to_method(method)
    image = as_array(image)
    shape = check_shape(image.shape)
    factors = check_factors(factors, shape)
    order = check_order(method, order)
    dtype = output_dtype(method, image.dtype)
    out_shape = level_shape(shape, factors)
    kernel = level_kernel(method, shape, factors, dtype, order)
    return apply_kernel(image, kernel, out_shape, factors, dtype, name=method.value, chunks=chunks)
