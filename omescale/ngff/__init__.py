"""OME-Zarr output: metadata (NGFF 0.4 / 0.5), writer, labels, in-place levels, verify.

The writer creates every array, writes every chunk (one task per storage chunk or shard) and
writes the multiscales metadata last, so an interrupted pyramid never looks complete.
Inputs (zarr, OME-Zarr, TIFF, ``.npy`` ...) are opened by :mod:`omescale.inputs`, which uses
the low modules here (``chunk_io``, ``metadata``, ``store``); the front doors below are imported
on first use so that importing those low modules never pulls in the writer.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["add_levels", "verify", "write_labels", "write_pyramid"]

_LAZY = {
    "add_levels": "omescale.ngff.inplace",
    "verify": "omescale.ngff.verify",
    "write_labels": "omescale.ngff.labels",
    "write_pyramid": "omescale.ngff.writer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'omescale.ngff' has no attribute {name!r}")
