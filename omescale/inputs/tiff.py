"""TIFF and OME-TIFF files through tifffile's lazy zarr interface.

The axes come from tifffile's series axes, not from ``ndim``: ``S`` (RGB/RGBA samples), ``C``
and ``E`` become ``c``; ``T``, ``Z``, ``Y``, ``X`` keep their meaning; ``I`` and ``Q`` (a plain
sequence of pages, e.g. ``QYX``) become ``z`` (``t`` when ``z`` is taken). Axes of length 1
other than Y and X are dropped (lazily). An OME-TIFF's OME-XML gives the
physical sizes, units and channel names and colours.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import tifffile
import zarr

from omescale._internals import normalize_chunks
from omescale.errors import InvalidAxesError
from omescale.inputs.image import InputImage
from omescale.inputs.ome_xml import OmeImage, parse_ome_xml
from omescale.inputs.source import CheckedSource, file_version, lazy_read

__all__ = ["TIFF_SUFFIXES", "ngff_letters", "open_tiff", "tiff_header"]

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
_LETTERS = {"T": "t", "C": "c", "S": "c", "E": "c", "Z": "z", "Y": "y", "X": "x"}
_SEQUENCE = {"I": "zt", "Q": "zt"}  # a sequence of pages: z, else t


def _tiff_array(path: str, series: int, level: int) -> zarr.Array:
    """tifffile's zarr view of the file at ``path``, cached per process by path, size and
    modification time (a file rewritten in the same process is opened afresh)."""
    return _opened(path, series, level, *file_version(path))


@functools.lru_cache(maxsize=8)
def _opened(path: str, series: int, level: int, size: int, mtime_ns: int) -> zarr.Array:
    store = tifffile.imread(path, aszarr=True, series=series, level=level)
    return zarr.open_array(store, mode="r")


def ngff_letters(series_axes: str, shape: Sequence[int]) -> tuple[str, tuple[int, ...]]:
    """tifffile series axes as t, c, z, y, x letters (in the file's order) and the indices of
    the length-1 axes to drop.

    Raises
    ------
    InvalidAxesError
        An axis longer than 1 that has no t, c, z, y, x meaning (or whose letter is taken).
    """
    letters: list[str] = []
    dropped: list[int] = []
    for i, (axis, n) in enumerate(zip(series_axes.upper(), shape, strict=True)):
        choices = _SEQUENCE.get(axis, _LETTERS.get(axis, ""))
        letter = next((c for c in choices if c not in letters), None)
        if n == 1 and axis not in "YX":
            dropped.append(i)
        elif letter is not None:
            letters.append(letter)
        else:
            raise InvalidAxesError(
                f"TIFF series axes {series_axes!r} (shape {tuple(shape)}): axis {axis!r} of "
                f"length {n} has no t, c, z, y, x meaning here (OME-NGFF images have one "
                "channel axis and up to 5 axes)"
            )
    return "".join(letters), tuple(dropped)


def tiff_header(path: str) -> tuple[tuple[int, ...], str, str, OmeImage | None]:
    """Shape, dtype, series axes and OME metadata of the first series (reads headers only)."""
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        ome = parse_ome_xml(tif.ome_metadata) if tif.is_ome and tif.ome_metadata else None
        return tuple(series.shape), str(series.dtype), series.axes, ome


def open_tiff(path: str) -> InputImage:
    """The first series of the (OME-)TIFF at ``path`` (a local file), read lazily."""
    shape, _, series_axes, ome = tiff_header(path)
    axes, dropped = ngff_letters(series_axes, shape)
    array = _tiff_array(path, 0, 0)
    native = array.chunks
    chunks = normalize_chunks("auto", array.shape, dtype=array.dtype,
                                      previous_chunks=native)
    opener = functools.partial(_tiff_array, path, 0, 0)
    source = CheckedSource(opener, path, array.shape, array.dtype, native)
    data = lazy_read(source, chunks)
    if dropped:
        data = data[tuple(0 if i in dropped else slice(None) for i in range(data.ndim))]
    channels = None
    if ome is not None and "c" in axes and len(ome.channels) == data.shape[axes.index("c")]:
        channels = ome.channels
    return InputImage(
        data, path, axes=axes, location=path, native_chunks=False,
        physical_sizes=(ome.physical_sizes or None) if ome else None,
        units=ome.units if ome else {}, channels=channels,
    )
