"""Open any supported input as a lazy dask array plus what is known about it.

Inputs: numpy and dask arrays, zarr arrays, OME-Zarr images (level 0, axes, physical sizes,
user attributes), TIFF through tifffile's lazy zarr interface, ``.npy`` files (memory-mapped),
as objects, local paths or fsspec URLs. Nothing is read here but metadata; every chunk is read
by its own task, and a chunk that cannot be decoded raises :class:`CorruptInputError` naming
the array and the chunk.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import tifffile
import zarr
from dask.base import tokenize

from omescale.errors import CorruptInputError, InputNotFoundError, UnsupportedDtypeError
from omescale.ngff.chunk_io import chunk_codec, chunk_index, read_chunk
from omescale.ngff.metadata import attributes, read_image_metadata
from omescale.ngff.store import location_of, open_store

__all__ = [
    "TIFF_SUFFIXES", "InputImage", "checked_source", "from_zarr_array", "level_array", "open_input",
]

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")


@dataclass(frozen=True)
class InputImage:
    """A lazy input and what its source says about it (``None`` where unknown)."""

    data: da.Array
    name: str
    axes: str | None = None
    physical_sizes: dict[str, float] | None = None
    units: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    location: str | None = None
    native_chunks: bool = True


class _CheckedSource:
    """Array-like over a zarr array whose reads name the chunk that failed to decode."""

    def __init__(self, opener: Any, name: str, shape: tuple[int, ...], dtype: np.dtype,
                 chunks: tuple[int, ...]) -> None:
        self.opener, self.name = opener, name
        self.shape, self.dtype, self.ndim, self.chunks = shape, dtype, len(shape), chunks

    def __dask_tokenize__(self) -> str:
        return tokenize(self.name, self.shape, str(self.dtype), self.chunks)

    def __getitem__(self, region: tuple[slice, ...]) -> np.ndarray:
        try:
            array = self.opener()
            if isinstance(array, zarr.Array):
                codec = chunk_codec(array)
                index = None if codec is None else chunk_index(region, codec.chunks, self.shape)
                if codec is not None and index is not None:
                    return read_chunk(array, codec, index)
            return np.asarray(array[region])
        except Exception as exc:
            chunk = tuple(s.start // c for s, c in zip(region, self.chunks, strict=True))
            bounds = ", ".join(f"{s.start}:{s.stop}" for s in region)
            raise CorruptInputError(
                f"cannot read chunk {chunk} (region [{bounds}]) of input array {self.name}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


class _Fixed:
    """A picklable opener returning an already-open (picklable) zarr array."""

    def __init__(self, array: zarr.Array) -> None:
        self.array = array

    def __call__(self) -> zarr.Array:
        return self.array


@functools.lru_cache(maxsize=8)
def _tiff_array(path: str, series: int, level: int) -> zarr.Array:
    store = tifffile.imread(path, aszarr=True, series=series, level=level)
    return zarr.open_array(store, mode="r")


@functools.lru_cache(maxsize=8)
def _npy_array(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r")


def _lazy(source: _CheckedSource, chunks: Any = None) -> da.Array:
    chunks = source.chunks if chunks is None else chunks
    name = "omescale-read-" + tokenize(source)
    return da.from_array(source, chunks=chunks, name=name, asarray=False, fancy=False,
                         meta=np.empty((0,) * source.ndim, source.dtype))


def checked_source(x: Any) -> _CheckedSource | None:
    """The source omescale reads ``x`` from, if ``x`` is one of its own lazy reads, else None."""
    if not isinstance(x, da.Array) or not x.name.startswith("omescale-read-"):
        return None
    source = x.__dask_graph__().get("original-" + x.name)
    return source if isinstance(source, _CheckedSource) else None


def _plain_zarr_read(x: da.Array) -> zarr.Array | None:
    """The zarr array ``x`` only reads, chunk for storage object (``da.from_zarr(a)`` as it
    is, not sliced or computed on), else None."""
    array = x.__dask_graph__().get("original-" + x.name)
    if not isinstance(array, zarr.Array) or len(x.dask.layers) != 2:
        return None
    if x.shape != array.shape or x.dtype != array.dtype:
        return None
    storage = da.core.normalize_chunks(array.shards or array.chunks, array.shape)
    return array if x.chunks == storage else None


def from_zarr_array(array: zarr.Array, name: str) -> da.Array:
    storage = array.shards or array.chunks
    source = _CheckedSource(_Fixed(array), name, array.shape, array.dtype, storage)
    return _lazy(source)


def level_array(group: zarr.Group, path: str, where: str) -> zarr.Array:
    """The array at ``path`` in an image group; a clear error when it is missing or a group."""
    try:
        node = group[path]
    except KeyError:
        raise InputNotFoundError(f"{where}/{path} is listed in the metadata but missing") from None
    if not isinstance(node, zarr.Array):
        raise InputNotFoundError(f"{where}/{path} is not an array")
    return node


def _from_group(group: zarr.Group, where: str) -> InputImage:
    meta = read_image_metadata(attributes(group), where)
    level0 = level_array(group, meta.paths[0], where)
    return InputImage(
        data=from_zarr_array(level0, f"{where}/{meta.paths[0]}"),
        name=where,
        axes=meta.axes,
        physical_sizes=meta.physical_sizes,
        units=meta.units,
        attributes=meta.user_attributes,
        location=where,
    )


def _from_zarr_node(node: zarr.Array | zarr.Group, where: str) -> InputImage:
    if isinstance(node, zarr.Group):
        return _from_group(node, where)
    names = getattr(node.metadata, "dimension_names", None)
    axes = "".join(names) if names and all(isinstance(n, str) and len(n) == 1
                                           for n in names) else None
    return InputImage(from_zarr_array(node, where), where, axes=axes, location=where)


def _tiff_axes(axes: str) -> str | None:
    axes = axes.lower()
    return axes if all(a in "tczyx" for a in axes) and len(set(axes)) == len(axes) else None


def _open_tiff(path: str) -> InputImage:
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes = _tiff_axes(series.axes)
    array = _tiff_array(path, 0, 0)
    native = array.chunks
    chunks = da.core.normalize_chunks("auto", array.shape, dtype=array.dtype,
                                      previous_chunks=native)
    opener = functools.partial(_tiff_array, path, 0, 0)
    source = _CheckedSource(opener, path, array.shape, array.dtype, native)
    return InputImage(_lazy(source, chunks), path, axes=axes, location=path, native_chunks=False)


def _npy_dtype(path: str) -> np.dtype | None:
    """The dtype in a ``.npy`` header, or ``None`` when the header cannot be read."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                return np.lib.format.read_array_header_1_0(f, max_header_size=1 << 20)[2]
            return np.lib.format.read_array_header_2_0(f, max_header_size=1 << 20)[2]
    except (OSError, ValueError):
        return None


def _open_npy(path: str) -> InputImage:
    try:
        mm = _npy_array(path)
    except ValueError as exc:
        dtype = _npy_dtype(path)
        if dtype is not None and dtype.hasobject:
            raise UnsupportedDtypeError(
                f"{path} holds dtype {dtype} (Python objects), which is not supported: use an "
                "integer, float or (for label-safe methods) bool image"
            ) from exc
        raise InputNotFoundError(f"{path} is not a readable .npy array: {exc}") from exc
    chunks = da.core.normalize_chunks("auto", mm.shape, dtype=mm.dtype)
    native = tuple(c[0] for c in chunks)
    source = _CheckedSource(functools.partial(_npy_array, path), path, mm.shape, mm.dtype, native)
    return InputImage(_lazy(source, chunks), path, location=path, native_chunks=False)


def _open_path(path: str, storage_options: dict | None) -> InputImage:
    is_url = "://" in path and not path.startswith("file://")
    local = path.removeprefix("file://")
    if not is_url:
        local = os.path.realpath(local)
        if not os.path.exists(local):
            raise InputNotFoundError(f"input {path} does not exist")
        lower = local.lower()
        if lower.endswith(".npy"):
            return _open_npy(local)
        if lower.endswith(TIFF_SUFFIXES):
            return _open_tiff(local)
    store = open_store(path if is_url else local, storage_options=storage_options,
                       read_only=True)
    where = location_of(store)
    try:
        node = zarr.open(store, mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError, KeyError) as exc:
        raise InputNotFoundError(
            f"input {path} is not a zarr array, OME-Zarr image, TIFF or .npy file"
        ) from exc
    return _from_zarr_node(node, where)


def open_input(
    image: Any,
    *,
    chunks: Sequence[int] | str | None = None,
    storage_options: dict | None = None,
) -> InputImage:
    """Open ``image`` lazily; read only metadata.

    Parameters
    ----------
    image
        numpy or dask array, zarr array or group (OME-Zarr image), an :class:`InputImage`,
        or a local path / fsspec URL to a zarr array, OME-Zarr image, TIFF or ``.npy`` file.
    chunks
        Dask chunks for in-memory numpy input (default ``"auto"``).
    storage_options
        Passed to fsspec for URLs.

    Raises
    ------
    InputNotFoundError
        The path does not exist or holds no array or image, or ``image`` is not an array.
    """
    if isinstance(image, InputImage):
        return image
    if isinstance(image, da.Array):
        plain = _plain_zarr_read(image)
        if plain is not None:  # da.from_zarr(...): read it as omescale's own (steerable) read
            return InputImage(from_zarr_array(plain, f"dask array {image.name}"),
                              f"dask array {image.name}")
        return InputImage(image, f"dask array {image.name}")
    if isinstance(image, np.ndarray):
        auto = -1 if image.dtype.hasobject else "auto"  # dask cannot size object items
        data = da.from_array(image, chunks=auto if chunks is None else chunks)
        return InputImage(data, "numpy array", native_chunks=False)
    if isinstance(image, zarr.Array | zarr.Group):
        where = location_of(image.store)
        where = f"{where.rstrip('/')}/{image.path}" if image.path else where
        return _from_zarr_node(image, where)
    if isinstance(image, str | os.PathLike):
        return _open_path(os.fspath(image), storage_options)
    raise InputNotFoundError(
        f"input of type {type(image).__name__} is not an array: pass a numpy, dask or zarr "
        "array, or the path of a zarr array, OME-Zarr image, TIFF or .npy file"
    )
