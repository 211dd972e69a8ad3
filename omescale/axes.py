"""OME-NGFF axes: inference, validation and their types."""

from __future__ import annotations

from omescale.errors import InvalidAxesError, InvalidShapeError

__all__ = ["AXIS_ORDER", "AXIS_TYPES", "infer_axes", "space_axes", "validate_axes"]

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


def validate_axes(axes: str | None, ndim: int) -> str:
    """Check ``axes`` against the array; ``None`` infers them."""
    if ndim > 5 or ndim < 2:
        raise InvalidShapeError(
            f"OME-NGFF images have 2 to 5 dimensions; this array has {ndim}"
        )
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
    if list(axes) != sorted(axes, key=AXIS_ORDER.index):
        raise InvalidAxesError(f"axes {axes!r} are out of order; OME-NGFF order is t, c, z, y, x")
    if not axes.endswith("yx"):
        raise InvalidAxesError(f"axes {axes!r} must end with 'yx' (2 or 3 space axes)")
    return axes


def space_axes(axes: str) -> tuple[int, ...]:
    """Indices of the space axes (the only ones ever downsampled)."""
    return tuple(i for i, a in enumerate(axes) if AXIS_TYPES[a] == "space")
