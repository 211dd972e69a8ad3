"""Level shapes, coordinate maps and the NGFF transforms they imply.

Coordinates are whole-image: output index ``o`` of a level maps to a (fractional) input index
``c(o)`` of the level it is computed from. The maps are computed with the same floating-point
operations SciPy's ``ndimage.zoom`` uses, so samplings (and nearest-neighbour ties) agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = [
    "grid_coordinates",
    "level_shape",
    "step_transform",
    "zoom_coordinates",
]

GeometryKind = Literal["block", "resize", "zoom"]


def level_shape(shape: Sequence[int], factors: Sequence[int]) -> tuple[int, ...]:
    """Shape of the next level: ``ceil(N / f)`` on every axis."""
    return tuple(math.ceil(n / f) for n, f in zip(shape, factors, strict=True))


def _ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` as ndimage computes its zoom (1.0 when undefined)."""
    if denominator == 0:
        return 1.0
    return float(np.divide(np.float64(numerator), np.float64(denominator)))


def grid_coordinates(o: np.ndarray, n_in: int, n_out: int) -> np.ndarray:
    """Pixel-centre map of ``ndimage.zoom(grid_mode=True)``: ``c = (o + 1/2) N/M - 1/2``."""
    zoom = _ratio(n_in, n_out)
    c = np.asarray(o, dtype=np.float64) + 0.5
    c *= zoom
    c -= 0.5
    return c


def zoom_coordinates(o: np.ndarray, n_in: int, n_out: int) -> np.ndarray:
    """Corner-aligned map of ``ndimage.zoom(grid_mode=False)``: ``c = o (N-1)/(M-1)``."""
    zoom = _ratio(n_in - 1, n_out - 1)
    return np.asarray(o, dtype=np.float64) * zoom


def step_transform(
    kind: GeometryKind, factor: int, n_in: int, n_out: int, scale: float, translation: float
) -> tuple[float, float]:
    """NGFF ``(scale, translation)`` of a level from those of the level it is computed from.

    ``block``: windows of f pixels, centre of window ``o`` at ``f o + (f-1)/2``.
    ``resize``: pixel centres ``(o + 1/2) N/M - 1/2`` (the resize family).
    ``zoom``: corners aligned, ``o (N-1)/(M-1)``.
    """
    if factor == 1:
        return scale, translation
    if kind == "block":
        return scale * factor, translation + scale * (factor - 1) / 2
    if kind == "resize":
        ratio = n_in / n_out
        return scale * ratio, translation + scale * (ratio - 1) / 2
    if kind == "zoom":
        ratio = (n_in - 1) / (n_out - 1) if n_out > 1 else 1.0
        return scale * ratio, translation
    raise ValueError(f"unknown geometry kind {kind!r}")
