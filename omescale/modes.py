"""One table for boundary-mode names, which differ between libraries.

NumPy/scikit-image ``reflect`` (whole-sample symmetric, edge not repeated) is ndimage ``mirror``;
scikit-image ``symmetric`` (half-sample, edge repeated) is ndimage ``reflect`` and dask ``reflect``;
``edge`` is ndimage/dask ``nearest``; ``wrap`` is ndimage ``grid-wrap`` and dask ``periodic``.
dask's overlap has no ``mirror``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MODE_TABLE", "ModeNames", "fold_indices", "ndimage_mode"]


@dataclass(frozen=True)
class ModeNames:
    """The names one boundary rule goes by in NumPy/scikit-image, ndimage and dask."""

    numpy: str
    ndimage: str
    dask: str | None


MODE_TABLE: dict[str, ModeNames] = {
    "reflect": ModeNames("reflect", "mirror", None),
    "symmetric": ModeNames("symmetric", "reflect", "reflect"),
    "edge": ModeNames("edge", "nearest", "nearest"),
    "wrap": ModeNames("wrap", "grid-wrap", "periodic"),
}


def ndimage_mode(numpy_mode: str) -> str:
    """The ndimage name of a NumPy/scikit-image boundary mode."""
    return MODE_TABLE[numpy_mode].ndimage


def fold_indices(index: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Map integer indices outside ``[0, n)`` back inside, as ndimage ``mode`` extends a signal.

    ``mode`` is an ndimage name: ``mirror`` (period 2n-2), ``reflect`` (period 2n),
    ``nearest`` (clamp) or ``grid-wrap`` (period n).
    """
    index = np.asarray(index, dtype=np.int64)
    if mode == "nearest" or n == 1:
        return np.clip(index, 0, n - 1)
    if mode == "grid-wrap":
        return np.mod(index, n)
    if mode == "mirror":
        period = 2 * n - 2
        folded = np.mod(index, period)
        return np.where(folded >= n, period - folded, folded)
    if mode == "reflect":
        period = 2 * n
        folded = np.mod(index, period)
        return np.where(folded >= n, period - 1 - folded, folded)
    raise ValueError(f"no index folding for ndimage mode {mode!r}")
