"""OME-Zarr input and output: readers, metadata (NGFF 0.4 / 0.5), writer, labels.

The writer creates every array, writes every chunk (one task per storage chunk or shard) and
writes the multiscales metadata last, so an interrupted pyramid never looks complete.
"""

from __future__ import annotations

from omescale.ngff.inplace import add_levels
from omescale.ngff.labels import write_labels
from omescale.ngff.readers import InputImage, open_input
from omescale.ngff.writer import write_pyramid

__all__ = ["InputImage", "add_levels", "open_input", "write_labels", "write_pyramid"]
