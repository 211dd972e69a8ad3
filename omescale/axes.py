"""OME-NGFF axes: inference, validation, their types, and input axes in any order.

An input names its own axes in its own order (``"yxc"``, ``"zcyx"`` ...); everything after the
front doors sees them in OME-NGFF order (a subset of ``t, c, z, y, x``), reached by one lazy
transpose (:func:`ngff_permutation`).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from omescale.errors import InvalidAxesError, InvalidShapeError

__all__ = [
    "AXIS_ORDER", "AXIS_TYPES", "infer_axes", "ngff_permutation", "space_axes", "to_ngff_order",
    "validate_axes", "validate_input_axes",
]

AXIS_ORDER = "tczyx"
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
_DEFAULT_AXES = {2: "yx", 3: "zyx", 4: "czyx", 5: "tczyx"}


def infer_axes(ndim: int) -> str:
    """Default axes: 2D ``yx``, 3D ``zyx``, 4D ``czyx``, 5D ``tczyx``."""
    if ndim not in _DEFAULT_AXES:
        raise InvalidShapeError(
            f"OME-NGFF images have 2 to 5 dimensions; this array has {ndim}"
        )
    return _DEFAULT_AXES[ndim]


def _check_ndim(ndim: int) -> None:
    if ndim > 5 or ndim < 2:
        raise InvalidShapeError(
            f"OME-NGFF images have 2 to 5 dimensions; this array has {ndim}"
        )


def validate_input_axes(axes: str | None, ndim: int) -> str:
    """Check the axes an input names in its own order (any order of t, c, z, y, x).

    ``None`` infers them from ``ndim`` (2D ``yx``, 3D ``zyx``, 4D ``czyx``, 5D ``tczyx``).
    Unknown or repeated letters, a length other than ``ndim`` and a missing ``y`` or ``x``
    are errors.
    """
    _check_ndim(ndim)
    if axes is None:
        return infer_axes(ndim)
    if not isinstance(axes, str):
        raise InvalidAxesError(f"axes must be a string such as 'zyx', got {axes!r}")
    axes = axes.lower()
    if len(axes) != ndim:
        raise InvalidAxesError(
            f"axes {axes!r} has {len(axes)} letters but the array has {ndim} dimensions"
        )
    unknown = sorted(set(axes) - set(AXIS_ORDER))
    if unknown:
        raise InvalidAxesError(
            f"axes {axes!r} has unknown letters {''.join(unknown)!r}; use t, c, z, y, x"
        )
    if len(set(axes)) != len(axes):
        raise InvalidAxesError(f"axes {axes!r} repeats a letter")
    if "y" not in axes or "x" not in axes:
        raise InvalidAxesError(f"axes {axes!r} must include 'y' and 'x' (2 or 3 space axes)")
    return axes


def ngff_permutation(axes: str) -> tuple[str, tuple[int, ...]]:
    """``axes`` (valid, any order) in OME-NGFF order and the permutation that gets there:
    ``"yxc"`` -> ``("cyx", (2, 0, 1))``, so ``data.transpose(perm)`` has NGFF axes."""
    perm = tuple(sorted(range(len(axes)), key=lambda i: AXIS_ORDER.index(axes[i])))
    return "".join(axes[i] for i in perm), perm


def to_ngff_order(data: Any, axes: str | None) -> tuple[Any, str]:
    """``data`` (numpy or dask) whose axes are ``axes`` in any order, transposed to OME-NGFF
    order, and those NGFF axes.

    ``None`` infers the axes from ``ndim`` (already NGFF order). numpy gives a view; dask a
    lazy transpose that keeps one task per block (each block is transposed as it is read).
    """
    axes = validate_input_axes(axes, data.ndim)
    ngff, perm = ngff_permutation(axes)
    if perm == tuple(range(data.ndim)):
        return data, ngff
    if isinstance(data, da.Array):
        return da.transpose(data, perm), ngff
    return np.transpose(data, perm), ngff


def validate_axes(axes: str | None, ndim: int) -> str:
    """Check OME-NGFF axes (t, c, z, y, x order) against the array; ``None`` infers them."""
    axes = validate_input_axes(axes, ndim)
    if ngff_permutation(axes)[0] != axes:
        raise InvalidAxesError(
            f"axes {axes!r} are out of order; OME-NGFF order is t, c, z, y, x (inputs in any "
            "order are transposed by the front doors: write_pyramid, pyramid, write_labels)"
        )
    return axes


def space_axes(axes: str) -> tuple[int, ...]:
    """Indices of the space axes (the only ones ever downsampled)."""
    return tuple(i for i, a in enumerate(axes) if AXIS_TYPES[a] == "space")
