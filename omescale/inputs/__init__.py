"""Inputs: every supported kind of image opened lazily as one :class:`InputImage`.

One module per kind, each returning the same ``InputImage`` (lazy dask data in the source's
own axis order plus what the source says: axes, physical sizes, units, channels)::

    image.py       InputImage, Channel
    source.py      chunk-by-chunk reads that name the chunk that failed
    zarr_input.py  zarr arrays, OME-Zarr images
    tiff.py        TIFF through tifffile's lazy zarr interface
    npy.py         .npy files, memory-mapped
    open.py        open_input(): the dispatch
"""

from __future__ import annotations

from omescale.inputs.image import Channel, InputImage
from omescale.inputs.open import open_input

__all__ = ["Channel", "InputImage", "open_input"]
