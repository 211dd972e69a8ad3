"""Levels and their NGFF transforms as an ``xarray.DataTree`` (multiscale-spatial-image layout).

The tree has one child per level, ``scale0``, ``scale1``, ..., each a Dataset holding one
variable ``image`` whose dims are the NGFF axes (``"t", "c", "z", "y", "x"`` in that order) and
whose coordinates are the pixel centres of that level in level-0 units: ``translation + scale *
index`` per axis, the same numbers as the level's NGFF ``coordinateTransformations``. Known units
are the coordinate's ``units`` attribute (what multiscale-spatial-image reads and writes).
The data stay as they are (dask stays lazy). xarray is the optional extra ``omescale[xarray]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from omescale.errors import MissingExtraError

__all__ = ["IMAGE_VARIABLE", "axis_coordinates", "level_name", "require_xarray", "to_datatree"]

# The variable name multiscale-spatial-image (spatial_image's default name) gives the image.
IMAGE_VARIABLE = "image"


def require_xarray() -> ModuleType:
    """The ``xarray`` module, or a clear error naming the extra that installs it.

    Raises
    ------
    MissingExtraError
        xarray is not installed (or too old to have ``xarray.DataTree``).
    """
    try:
        import xarray
    except ImportError as exc:
        raise MissingExtraError(
            "xarray output needs xarray: pip install 'omescale[xarray]'"
        ) from exc
    if not hasattr(xarray, "DataTree"):
        raise MissingExtraError(
            f"xarray {xarray.__version__} has no DataTree (2024.10 or newer needed): "
            "pip install -U 'omescale[xarray]'"
        )
    return xarray


def level_name(k: int) -> str:
    """The tree node of level ``k``: ``scale0``, ``scale1``, ..."""
    return f"scale{k}"


def axis_coordinates(n: int, scale: float, translation: float) -> np.ndarray:
    """Pixel centres ``translation + scale * i`` for ``i = 0 .. n-1`` (float64)."""
    return float(translation) + float(scale) * np.arange(n, dtype=np.float64)


def _level_array(xr: ModuleType, data: Any, axes: Sequence[str], scale: Sequence[float],
                 translation: Sequence[float], units: Mapping[str, str]) -> Any:
    coords = {}
    for a, n, s, t in zip(axes, data.shape, scale, translation, strict=True):
        attrs = {"units": units[a]} if a in units else {}
        coords[a] = (a, axis_coordinates(n, s, t), attrs)
    return xr.DataArray(data, dims=tuple(axes), coords=coords, name=IMAGE_VARIABLE)


def to_datatree(
    levels: Sequence[Any],
    axes: Sequence[str],
    scales: Sequence[Sequence[float]],
    translations: Sequence[Sequence[float]],
    *,
    units: Mapping[str, str] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Any:
    """The levels as an ``xarray.DataTree``: ``scale{k}/image`` with physical coordinates.

    Parameters
    ----------
    levels
        Arrays (numpy or dask, kept as they are), level 0 first, axes in ``axes`` order.
    axes
        Dimension names, one per array axis (``"zyx"`` or ``("z", "y", "x")``).
    scales, translations
        Per level, one NGFF scale and translation per axis (level-0 units).
    units
        Axis -> unit, put on each coordinate as its ``units`` attribute.
    attrs
        Attributes of the tree's root.

    Returns
    -------
    xarray.DataTree

    Raises
    ------
    MissingExtraError
        xarray is not installed.
    """
    xr = require_xarray()
    if not len(levels) == len(scales) == len(translations):
        raise ValueError("one scale and one translation per level")
    units = dict(units or {})
    nodes = {
        level_name(k): xr.Dataset({IMAGE_VARIABLE: _level_array(xr, x, list(axes), s, t, units)})
        for k, (x, s, t) in enumerate(zip(levels, scales, translations, strict=True))
    }
    tree = xr.DataTree.from_dict(nodes)
    if attrs:
        tree.attrs.update(attrs)
    return tree
