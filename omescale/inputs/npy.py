"""``.npy`` files, memory-mapped (the graph holds the path, never the pixels)."""

from __future__ import annotations

import functools

import numpy as np

from omescale._internals import normalize_chunks
from omescale.errors import InputNotFoundError, UnsupportedDtypeError
from omescale.inputs.image import InputImage
from omescale.inputs.source import CheckedSource, file_version, lazy_read

__all__ = ["npy_array", "open_npy"]


def npy_array(path: str) -> np.ndarray:
    """The memory-mapped array of the ``.npy`` file at ``path``, cached per process by path,
    size and modification time (a file rewritten in the same process is mapped afresh)."""
    return _mapped(path, *file_version(path))


@functools.lru_cache(maxsize=8)
def _mapped(path: str, size: int, mtime_ns: int) -> np.ndarray:
    return np.load(path, mmap_mode="r")


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


def open_npy(path: str) -> InputImage:
    """The ``.npy`` file at ``path`` (a local file), memory-mapped and read lazily."""
    try:
        mm = npy_array(path)
    except ValueError as exc:
        dtype = _npy_dtype(path)
        if dtype is not None and dtype.hasobject:
            raise UnsupportedDtypeError(
                f"{path} holds dtype {dtype} (Python objects), which is not supported: use an "
                "integer, float or (for label-safe methods) bool image"
            ) from exc
        raise InputNotFoundError(f"{path} is not a readable .npy array: {exc}") from exc
    chunks = normalize_chunks("auto", mm.shape, dtype=mm.dtype)
    native = tuple(c[0] for c in chunks)
    source = CheckedSource(functools.partial(npy_array, path), path, mm.shape, mm.dtype, native)
    return InputImage(lazy_read(source, chunks), path, location=path, native_chunks=False)
