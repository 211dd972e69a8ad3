"""A folder or a glob of TIFF or ``.npy`` files as one lazy image with a new leading axis.

Files are taken in natural order (``z2`` before ``z10``). Every file's header is read at open
time (headers only) and a file whose shape or dtype differs from the first is an error naming
it. Each file is then read by one task. The new axis is ``z`` unless the files already have a
``z`` axis (then ``t``); ``axes=`` / ``--axes`` say otherwise.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import dask.array as da
import numpy as np
import tifffile
from dask.base import tokenize

from omescale.errors import InputNotFoundError, InvalidShapeError
from omescale.inputs.image import InputImage
from omescale.inputs.tiff import TIFF_SUFFIXES, ngff_letters, tiff_header

__all__ = ["natural_key", "open_stack", "stack_files"]

_KINDS = {**{s: "tiff" for s in TIFF_SUFFIXES}, ".npy": "npy"}
_ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup")


def natural_key(name: str) -> list[object]:
    """Sort key comparing digit runs as numbers: ``z2`` < ``z10`` (text order says otherwise)."""
    parts = re.split(r"(\d+)", name)
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(parts)]


def _kind(path: str) -> str | None:
    return _KINDS.get(os.path.splitext(path)[1].lower())


def stack_files(path: str) -> list[str] | None:
    """The files of the stack ``path`` names (a folder that is not a zarr store, or a glob
    pattern), in natural order; ``None`` when ``path`` is neither."""
    if os.path.isdir(path):
        if any(os.path.exists(os.path.join(path, m)) for m in _ZARR_MARKERS):
            return None
        files = [os.path.join(path, f) for f in os.listdir(path)]
    elif glob.has_magic(path) and not os.path.exists(path):
        files = glob.glob(path)
        if not files:
            raise InputNotFoundError(f"input {path}: no file matches this pattern")
    else:
        return None
    files = [f for f in files if os.path.isfile(f) and _kind(f) is not None]
    if not files:
        return None
    kinds = sorted({_kind(f) for f in files}, key=str)
    if len(kinds) > 1:
        raise InputNotFoundError(
            f"input {path} holds both TIFF and .npy files; a stack is one kind (use a glob such "
            f"as {os.path.join(path, '*.tif')!r})")
    return sorted(files, key=natural_key)


@dataclass(frozen=True)
class _Header:
    shape: tuple[int, ...]
    dtype: np.dtype
    axes: str | None
    dropped: tuple[int, ...] = ()


def _header(path: str) -> _Header:
    try:
        if _kind(path) == "npy":
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(f, max_header_size=1 << 20)
            return _Header(tuple(shape), np.dtype(dtype), None)
        shape, dtype_name, series_axes, _ = tiff_header(path)
    except (OSError, ValueError, tifffile.TiffFileError) as exc:
        raise InputNotFoundError(f"stack file {path} cannot be read: {exc}") from exc
    axes, dropped = ngff_letters(series_axes, shape)
    kept = tuple(n for i, n in enumerate(shape) if i not in dropped)
    return _Header(kept, np.dtype(dtype_name), axes, dropped)


def _check_same(files: Sequence[str], first: _Header) -> None:
    for path in files[1:]:
        h = _header(path)
        if (h.shape, h.dtype) != (first.shape, first.dtype):
            raise InvalidShapeError(
                f"stack file {path} has shape {h.shape} and dtype {h.dtype}, but "
                f"{files[0]} (the first) has shape {first.shape} and dtype {first.dtype}: "
                "every file of a stack must have the same shape and dtype")


class _FileStack:
    """Array-like over the files: ``[i:j, ...]`` reads files i..j-1 whole (one per task)."""

    def __init__(self, files: Sequence[str], header: _Header) -> None:
        self.files, self.header = tuple(files), header
        self.shape = (len(files), *header.shape)
        self.dtype, self.ndim = header.dtype, len(self.shape)

    def __dask_tokenize__(self) -> str:
        return tokenize(self.files, self.shape, str(self.dtype))

    def _read(self, path: str) -> np.ndarray:
        try:
            if _kind(path) == "npy":
                return np.load(path)
            plane = tifffile.imread(path, series=0)
        except Exception as exc:
            raise InputNotFoundError(f"stack file {path} cannot be read: {exc}") from exc
        drop = self.header.dropped
        return plane[tuple(0 if i in drop else slice(None) for i in range(plane.ndim))]

    def __getitem__(self, region: tuple[slice, ...]) -> np.ndarray:
        first, rest = region[0], region[1:]
        planes = [self._read(p)[rest] for p in self.files[first]]
        return np.stack(planes).astype(self.dtype, copy=False)


def open_stack(files: Sequence[str], where: str, location: str | None) -> InputImage:
    """The ``files`` (natural order, one kind) as one lazy image, one task per file."""
    first = _header(files[0])
    _check_same(files, first)
    source = _FileStack(files, first)
    data = da.from_array(source, chunks=(1, *first.shape), name="omescale-stack-"
                         + tokenize(source), asarray=False, fancy=False,
                         meta=np.empty((0,) * source.ndim, source.dtype))
    axes = None
    if first.axes is not None:
        leading = next((a for a in "zt" if a not in first.axes), None)
        axes = None if leading is None else leading + first.axes
    return InputImage(data, where, axes=axes, location=location, native_chunks=False)
