"""An input's own axis order to OME-NGFF order: one lazy transpose, no rechunk."""

from __future__ import annotations

import dataclasses

from omescale.axes import to_ngff_order, validate_input_axes
from omescale.inputs.image import InputImage

__all__ = ["in_ngff_order"]


def in_ngff_order(src: InputImage, axes: str | None = None) -> InputImage:
    """``src`` with its data in OME-NGFF axis order.

    Parameters
    ----------
    src
        An opened input; ``src.axes`` are its axes in its own order, if known.
    axes
        The input's axes in its own order as the user names them (overrides ``src.axes``).

    Returns
    -------
    InputImage
        ``axes`` in NGFF order, ``input_axes`` the order the data came in.
    """
    own = axes if axes is not None else src.axes
    data, ngff = to_ngff_order(src.data, own)
    return dataclasses.replace(src, data=data, axes=ngff,
                               input_axes=validate_input_axes(own, src.data.ndim))
