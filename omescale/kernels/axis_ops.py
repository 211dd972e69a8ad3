"""How each method samples one axis: coordinate map, interpolation order, blurs.

An ``AxisOp`` is a small picklable description; ``taps(o0, o1)`` evaluates it for output rows
``o0..o1-1`` in whole-image coordinates, so a task computes its taps itself from a few numbers.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from omescale.geometry import grid_coordinates, zoom_coordinates
from omescale.kernels.taps import (
    Taps,
    blur_taps,
    linear_taps,
    nearest_taps,
    smooth_rows,
    spline_taps,
)

__all__ = ["AxisOp", "spline_halo"]

# Relative error allowed from truncating the spline prefilter's infinite reach.
SPLINE_TOLERANCE = 1e-14
_SPLINE_POLES = {
    2: (math.sqrt(8.0) - 3.0,),
    3: (math.sqrt(3.0) - 2.0,),
    4: (-0.361341225900220177092, -0.0137254292973391780),
    5: (-0.430575347099973791851, -0.0430962882032647211),
}


# Taps for a 512-row block are ~50 KiB; a level's rows and columns of blocks (and the sweep's
# pieces) need a few dozen ranges per axis, which this bounds to a few MiB in all.
@functools.lru_cache(maxsize=128)
def _cached_taps(op: AxisOp, o0: int, o1: int) -> Taps:
    taps = op.computed_taps(o0, o1)
    taps.index.flags.writeable = False
    taps.weight.flags.writeable = False
    return taps


def spline_halo(order: int, tolerance: float = SPLINE_TOLERANCE) -> int:
    """Pixels of context after which the prefilter's reach is below ``tolerance``.

    The prefilter is a cascade of first-order recursions with poles ``z``; an error at a
    region's cut decays like ``|z|^d`` with distance ``d``, so ``d = log(tol) / log|z|``.
    """
    if order < 2:
        return 0
    z = max(abs(p) for p in _SPLINE_POLES[order])
    return math.ceil(math.log(tolerance) / math.log(z)) + order


@dataclass(frozen=True)
class AxisOp:
    """Sampling of one axis from ``n_in`` to ``n_out`` pixels.

    ``coords`` is ``grid`` (pixel centres, the resize family) or ``zoom`` (corners aligned).
    ``pre_sigma`` blurs the input before sampling (mode ``pre_mode``, ndimage name);
    ``post_sigma`` blurs the sampled output (mode ``post_mode``); ``order`` >= 2 means the
    input is spline-prefiltered first (with ``interp_mode``).
    """

    n_in: int
    n_out: int
    coords: str = "grid"
    order: int = 1
    interp_mode: str = "mirror"
    pre_sigma: float = 0.0
    pre_mode: str = "mirror"
    post_sigma: float = 0.0
    post_mode: str = "reflect"

    @property
    def is_pick(self) -> bool:
        """True when the axis is a pure selection (nearest, no blur)."""
        return self.order == 0 and self.pre_sigma <= 1e-15 and self.post_sigma <= 1e-15

    @property
    def prefilter_halo(self) -> int:
        return spline_halo(self.order)

    def _sampled(self, o0: int, o1: int) -> Taps:
        o = np.arange(o0, o1)
        if self.coords == "grid":
            c = grid_coordinates(o, self.n_in, self.n_out)
        else:
            c = zoom_coordinates(o, self.n_in, self.n_out)
        if self.order == 0:
            taps = nearest_taps(c, self.n_in)
        elif self.order == 1:
            taps = linear_taps(c, self.n_in, self.interp_mode)
        else:
            taps = spline_taps(c, self.n_in, self.order, self.interp_mode)
        return blur_taps(taps, self.n_in, self.pre_sigma, self.pre_mode)

    def taps(self, o0: int, o1: int) -> Taps:
        """Taps of output rows ``o0..o1-1`` (global input indices), read-only: the same rows
        recur in every block of a row or column of blocks, so they are computed once."""
        return _cached_taps(self, o0, o1)

    def computed_taps(self, o0: int, o1: int) -> Taps:
        """``taps`` computed afresh."""
        if self.post_sigma <= 1e-15:
            return self._sampled(o0, o1)
        return smooth_rows(self._sampled, o0, o1, self.n_out, self.post_sigma, self.post_mode)

    def reach(self, o0: int, o1: int) -> tuple[int, int]:
        """Input range ``[lo, hi)`` that rows ``o0..o1-1`` need, prefilter context included."""
        taps = self.taps(o0, o1)
        halo = self.prefilter_halo
        return max(0, taps.lo - halo), min(self.n_in, taps.hi + halo)
