"""``open_input``: any supported input to an :class:`InputImage`, reading only metadata."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import zarr

from omescale.errors import InputNotFoundError, InvalidOptionError
from omescale.inputs.bioio_input import BIOIO_SUFFIXES, open_bioio
from omescale.inputs.image import InputImage
from omescale.inputs.npy import open_npy
from omescale.inputs.source import from_zarr_array
from omescale.inputs.stacks import open_stack, stack_files
from omescale.inputs.tiff import TIFF_SUFFIXES, open_tiff
from omescale.inputs.xarray_input import is_dataarray, open_dataarray
from omescale.inputs.zarr_input import from_zarr_node, plain_zarr_read
from omescale.ngff.store import location_of, open_store

__all__ = ["open_input"]


READERS = ("tifffile", "bioio")


def _open_path(path: str, storage_options: dict | None, reader: str | None) -> InputImage:
    is_url = "://" in path and not path.startswith("file://")
    local = path.removeprefix("file://")
    if not is_url:
        local = os.path.realpath(local)
        if not os.path.exists(local) and not glob.has_magic(local):
            raise InputNotFoundError(f"input {path} does not exist")
        files = stack_files(local)
        if files is not None:
            return open_stack(files, path, local if os.path.isdir(local) else None)
        lower = local.lower()
        if reader == "bioio" or lower.endswith(BIOIO_SUFFIXES):
            return open_bioio(local)
        if lower.endswith(".npy"):
            return open_npy(local)
        if lower.endswith(TIFF_SUFFIXES):
            return open_tiff(local)
    store = open_store(path if is_url else local, storage_options=storage_options,
                       read_only=True)
    where = location_of(store)
    try:
        node = zarr.open(store, mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError, KeyError) as exc:
        raise InputNotFoundError(
            f"input {path} is not a zarr array, OME-Zarr image, TIFF or .npy file, nor a folder "
            "or glob of TIFF or .npy files"
        ) from exc
    return from_zarr_node(node, where)


def open_input(
    image: Any,
    *,
    chunks: Sequence[int] | str | None = None,
    storage_options: dict | None = None,
    reader: str | None = None,
) -> InputImage:
    """Open ``image`` lazily; read only metadata.

    Parameters
    ----------
    image
        numpy or dask array, ``xarray.DataArray`` (dims and coordinates give axes, pixel sizes,
        translation and units), zarr array or group (OME-Zarr image), an :class:`InputImage`,
        or a local path / fsspec URL to a zarr array, OME-Zarr image, TIFF or ``.npy`` file.
    chunks
        Dask chunks for in-memory numpy input (default ``"auto"``).
    storage_options
        Passed to fsspec for URLs.
    reader
        ``"bioio"`` reads a local file through bioio (the ``formats`` extra), e.g. an OME-TIFF;
        default: tifffile for TIFF (OME-XML included), bioio for vendor formats (``.czi``,
        ``.nd2``, ``.lif`` ...). A folder or glob of TIFF or ``.npy`` files is one stack.

    Raises
    ------
    InputNotFoundError
        The path does not exist or holds no array or image, or ``image`` is not an array.
    """
    if isinstance(image, InputImage):
        return image
    if is_dataarray(image):
        return open_dataarray(image)
    if isinstance(image, da.Array):
        plain = plain_zarr_read(image)
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
        return from_zarr_node(image, where)
    if isinstance(image, str | os.PathLike):
        if reader not in (None, *READERS):
            raise InvalidOptionError(f"reader must be one of {', '.join(READERS)}, not {reader!r}")
        return _open_path(os.fspath(image), storage_options, reader)
    raise InputNotFoundError(
        f"input of type {type(image).__name__} is not an array: pass a numpy, dask or zarr "
        "array, or the path of a zarr array, OME-Zarr image, TIFF or .npy file"
    )
