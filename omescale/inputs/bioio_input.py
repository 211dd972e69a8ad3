"""Vendor formats (CZI, ND2, LIF ...) and, when asked, OME-TIFF through bioio, lazily.

bioio and its reader plugins are the optional ``formats`` extra (``pip install
"omescale[formats]"``). ``BioImage(path).dask_data`` is read lazily (bioio's own dask graph);
its dims (``TCZYX``, ``TCZYXS`` for RGB) map to t, c, z, y, x as TIFF series axes do (``S``
becomes ``c``; length-1 axes other than Y and X are dropped). Physical sizes come from
``physical_pixel_sizes``; bioio gives them in micrometres unless a dimension property names
another unit. Channel names come from ``channel_names``.
"""

from __future__ import annotations

import os
from typing import Any

from omescale.errors import InputNotFoundError, MissingExtraError
from omescale.inputs.image import Channel, InputImage
from omescale.inputs.ome_xml import ngff_unit
from omescale.inputs.tiff import ngff_letters

__all__ = ["BIOIO_SUFFIXES", "open_bioio"]

# Extensions tifffile cannot read: always bioio (the plugin decides whether it can).
BIOIO_SUFFIXES = (".czi", ".nd2", ".lif", ".oib", ".oif", ".vsi", ".ims", ".dv", ".sld",
                  ".zvi", ".lei", ".ics", ".ids", ".svs", ".ndpi", ".mrxs", ".scn")
_EXTRA = 'pip install "omescale[formats]"'


def _bioimage(path: str) -> Any:
    try:
        from bioio import BioImage
        from bioio_base.exceptions import UnsupportedFileFormatError
    except ImportError as exc:
        raise MissingExtraError(
            f"reading {os.path.basename(path)} needs bioio and its reader plugins: {_EXTRA}"
        ) from exc
    try:
        return BioImage(path)
    except UnsupportedFileFormatError as exc:
        suffix = os.path.splitext(path)[1] or "this kind of file"
        raise MissingExtraError(
            f"no installed bioio reader plugin reads {path} ({suffix}): {_EXTRA} installs the "
            "plugins omescale knows (bioio-ome-tiff, bioio-tifffile, bioio-czi, bioio-nd2, "
            "bioio-lif)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputNotFoundError(f"bioio cannot read {path}: {exc}") from exc


def _sizes(image: Any, axes: str) -> tuple[dict[str, float] | None, dict[str, str]]:
    pps = image.physical_pixel_sizes
    props = getattr(image, "dimension_properties", None)
    sizes, units = {}, {}
    for axis in "zyx":
        value = getattr(pps, axis.upper(), None)
        if axis not in axes or value is None:
            continue
        sizes[axis] = float(value)
        prop = getattr(props, axis.upper(), None) if props is not None else None
        unit = ngff_unit(str(prop.unit)) if prop is not None and prop.unit else "micrometer"
        if unit is not None:
            units[axis] = unit
    return (sizes or None), units


def open_bioio(path: str) -> InputImage:
    """The first scene of ``path`` read through bioio (lazily); errors name the extra."""
    image = _bioimage(path)
    data = image.dask_data
    axes, dropped = ngff_letters(image.dims.order, data.shape)
    if dropped:
        data = data[tuple(0 if i in dropped else slice(None) for i in range(data.ndim))]
    sizes, units = _sizes(image, axes)
    channels = None
    names = list(image.channel_names or [])
    if "c" in axes and "S" not in image.dims.order and len(names) == data.shape[axes.index("c")]:
        channels = tuple(Channel(label=str(n)) for n in names)
    return InputImage(data, path, axes=axes, physical_sizes=sizes, units=units,
                      location=path, native_chunks=False, channels=channels)
