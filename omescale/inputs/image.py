"""``InputImage``: a lazy input and what its source says about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dask.array as da

__all__ = ["Channel", "InputImage"]


@dataclass(frozen=True)
class Channel:
    """One channel as the source names it: a label and an optional ``RRGGBB`` hex colour."""

    label: str
    color: str | None = None


@dataclass(frozen=True)
class InputImage:
    """A lazy input and what its source says about it (``None`` where unknown).

    Attributes
    ----------
    data
        The lazy image, in the source's own axis order (``axes``).
    name
        How messages name the input.
    axes
        The letters of ``data``'s axes in its own order (``"yxc"``, ``"zyx"`` ...), or ``None``
        when the source does not say (then they are inferred from ``ndim``).
    physical_sizes, units
        Axis -> level-0 pixel size, axis -> NGFF unit.
    translation
        Axis -> level-0 NGFF translation (position of the first pixel centre), when the
        source says (an OME-Zarr image, a DataArray's coordinates).
    attributes
        User attributes of an OME-Zarr input (copied when ``copy_metadata``).
    location
        Path or URL of the input (the writer refuses to write into it).
    native_chunks
        Whether ``data``'s chunks are the source's own storage chunks worth keeping.
    channels
        Channel names and colours, in the order of the ``c`` axis, when the source has them.
    input_axes
        The axes the data came in, once :func:`omescale.inputs.order.in_ngff_order` has put
        ``data`` in OME-NGFF order (``axes`` then is that order); ``None`` before.
    omero
        An OME-Zarr input's ``omero`` rendering metadata (NGFF 0.4 or 0.5, version-free).
    """

    data: da.Array
    name: str
    axes: str | None = None
    physical_sizes: dict[str, float] | None = None
    units: dict[str, str] = field(default_factory=dict)
    translation: dict[str, float] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    location: str | None = None
    native_chunks: bool = True
    channels: tuple[Channel, ...] | None = None
    input_axes: str | None = None
    omero: dict[str, Any] | None = None
