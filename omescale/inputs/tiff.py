"""TIFF files through tifffile's lazy zarr interface (one task per few tiles or strips)."""

from __future__ import annotations

import functools

import dask.array as da
import tifffile
import zarr

from omescale.inputs.image import InputImage
from omescale.inputs.source import CheckedSource, lazy_read

__all__ = ["TIFF_SUFFIXES", "open_tiff"]

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")


@functools.lru_cache(maxsize=8)
def _tiff_array(path: str, series: int, level: int) -> zarr.Array:
    store = tifffile.imread(path, aszarr=True, series=series, level=level)
    return zarr.open_array(store, mode="r")


def _tiff_axes(axes: str) -> str | None:
    axes = axes.lower()
    return axes if all(a in "tczyx" for a in axes) and len(set(axes)) == len(axes) else None


def open_tiff(path: str) -> InputImage:
    """The first series of the TIFF at ``path`` (a local file), read lazily."""
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes = _tiff_axes(series.axes)
    array = _tiff_array(path, 0, 0)
    native = array.chunks
    chunks = da.core.normalize_chunks("auto", array.shape, dtype=array.dtype,
                                      previous_chunks=native)
    opener = functools.partial(_tiff_array, path, 0, 0)
    source = CheckedSource(opener, path, array.shape, array.dtype, native)
    return InputImage(lazy_read(source, chunks), path, axes=axes, location=path,
                      native_chunks=False)
