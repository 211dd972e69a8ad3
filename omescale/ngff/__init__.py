"""OME-Zarr input and output: readers, metadata (NGFF 0.4 / 0.5), writer, labels.

The writer creates every array, writes every chunk (one task per storage chunk or shard) and
writes the multiscales metadata last, so an interrupted pyramid never looks complete.
"""

from __future__ import annotations

from omescale.ngff.readers import InputImage, open_input

__all__ = ["InputImage", "open_input"]
