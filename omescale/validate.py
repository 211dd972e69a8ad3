"""Checks of user input shared by every front door; each failure names the problem."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from omescale.errors import InvalidFactorsError, InvalidMethodError, InvalidShapeError
from omescale.methods import METHOD_SPECS, Methods

__all__ = ["check_factors", "check_order", "check_shape"]


def check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Refuse zero-size axes and 0-d arrays."""
    shape = tuple(int(n) for n in shape)
    if not shape:
        raise InvalidShapeError("a 0-dimensional array cannot be downsampled")
    if any(n == 0 for n in shape):
        raise InvalidShapeError(f"shape {shape} has a zero-size axis")
    return shape


def _as_factor(value: object, axis: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidFactorsError(f"factor {value!r} on axis {axis} is not an integer")
    if not float(value).is_integer():
        raise InvalidFactorsError(f"factor {value!r} on axis {axis} is not an integer")
    # Integers exactly (a float round trip would round very large ones); integral floats.
    factor = int(value) if isinstance(value, numbers.Integral) else int(float(value))
    if factor < 1:
        raise InvalidFactorsError(f"factor {factor} on axis {axis} must be >= 1")
    return factor


def check_factors(factors: object, shape: Sequence[int]) -> tuple[int, ...]:
    """One positive integer per axis, none larger than its axis."""
    if isinstance(factors, (str, bytes)) or not isinstance(factors, Sequence | np.ndarray):
        raise InvalidFactorsError(
            f"factors must be a sequence of one integer per axis, got {factors!r}"
        )
    if len(factors) != len(shape):
        raise InvalidFactorsError(
            f"got {len(factors)} factors for an array of {len(shape)} dimensions {tuple(shape)}"
        )
    checked = tuple(_as_factor(f, a) for a, f in enumerate(factors))
    for axis, (f, n) in enumerate(zip(checked, shape, strict=True)):
        if f > n:
            raise InvalidFactorsError(f"factor {f} on axis {axis} is larger than the axis ({n})")
    return checked


def check_order(method: Methods, order: object) -> int | None:
    """Spline order 0-5 for methods that take one; ``None`` elsewhere."""
    if order is None:
        return None
    if not METHOD_SPECS[method].takes_order:
        raise InvalidMethodError(f"method {method.value!r} does not take an interpolation order")
    if (isinstance(order, bool) or not isinstance(order, numbers.Integral)
            or not 0 <= int(order) <= 5):
        raise InvalidMethodError(f"order must be an integer from 0 to 5, got {order!r}")
    return int(order)
