"""zarr arrays and OME-Zarr images as inputs (level 0, axes, physical sizes, attributes)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dask.array as da
import zarr

from omescale._internals import array_source, normalize_chunks
from omescale.errors import InputNotFoundError
from omescale.inputs.image import Channel, InputImage
from omescale.inputs.source import from_zarr_array
from omescale.ngff.metadata import ImageMetadata, attributes, read_image_metadata

__all__ = ["from_zarr_node", "level_array", "omero_channels", "plain_zarr_read"]


def level_array(group: zarr.Group, path: str, where: str) -> zarr.Array:
    """The array at ``path`` in an image group; a clear error when it is missing or a group."""
    try:
        node = group[path]
    except KeyError:
        raise InputNotFoundError(f"{where}/{path} is listed in the metadata but missing") from None
    if not isinstance(node, zarr.Array):
        raise InputNotFoundError(f"{where}/{path} is not an array")
    return node


def plain_zarr_read(x: da.Array) -> zarr.Array | None:
    """The zarr array ``x`` only reads, chunk for storage object (``da.from_zarr(a)`` as it
    is, not sliced or computed on), else None."""
    array = array_source(x)
    if not isinstance(array, zarr.Array):
        return None
    if x.shape != array.shape or x.dtype != array.dtype:
        return None
    storage = normalize_chunks(array.shards or array.chunks, array.shape)
    return array if x.chunks == storage else None


def _translation(meta: ImageMetadata) -> dict[str, float] | None:
    """Level 0's translation per axis, when the axes are known and it is not all zero."""
    t0 = meta.translations[0]
    if meta.axes is None or t0 is None or not any(t0):
        return None
    return dict(zip(meta.axes, t0, strict=True))


_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def omero_channels(omero: Mapping[str, Any] | None, count: int
                   ) -> tuple[Channel, ...] | None:
    """The channels an OME-Zarr image's ``omero`` names (label, ``RRGGBB`` colour), when it
    lists one entry per channel of the image (``count``); a colour that is not ``RRGGBB`` hex
    is left out, a missing label reads ``channel k``."""
    entries = (omero or {}).get("channels")
    if not isinstance(entries, list) or len(entries) != count or not all(
            isinstance(c, Mapping) for c in entries):
        return None
    out = []
    for k, entry in enumerate(entries):
        label = entry.get("label")
        color = entry.get("color")
        match = _HEX.fullmatch(color) if isinstance(color, str) else None
        out.append(Channel(label=str(label) if label is not None else f"channel {k}",
                           color=match[1].upper() if match else None))
    return tuple(out)


def _from_group(group: zarr.Group, where: str) -> InputImage:
    meta = read_image_metadata(attributes(group), where)
    level0 = level_array(group, meta.paths[0], where)
    count = level0.shape[meta.axes.index("c")] if meta.axes and "c" in meta.axes else 0
    return InputImage(
        data=from_zarr_array(level0, f"{where}/{meta.paths[0]}"),
        name=where,
        axes=meta.axes,
        physical_sizes=meta.physical_sizes,
        units=meta.units,
        translation=_translation(meta),
        attributes=meta.user_attributes,
        omero=meta.omero,
        channels=omero_channels(meta.omero, count) if count else None,
        location=where,
    )


def from_zarr_node(node: zarr.Array | zarr.Group, where: str) -> InputImage:
    """An OME-Zarr image group (its level 0 and metadata) or a zarr array (its
    ``dimension_names`` as axes when they are single letters)."""
    if isinstance(node, zarr.Group):
        return _from_group(node, where)
    names = getattr(node.metadata, "dimension_names", None)
    axes = "".join(names) if names and all(isinstance(n, str) and len(n) == 1
                                           for n in names) else None
    return InputImage(from_zarr_array(node, where), where, axes=axes, location=where)
