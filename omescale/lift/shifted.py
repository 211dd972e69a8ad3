"""A kernel seen through a window: lift a part of a level without building the whole level.

Kernels work in whole-image coordinates (their boundary modes apply only at the true image
border, which is what makes them exact on any chunking). ``ShiftedKernel`` lets the graph layer
lift a kernel over an input *window* (a dask array holding input rows ``in_start...``) to an
output window starting at ``out_start``: reaches are translated into window coordinates and
every call is translated back, so the values are those of the whole-image kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ShiftedKernel"]

Range = tuple[int, int]


@dataclass(frozen=True)
class ShiftedKernel:
    """``kernel`` on an input window at ``in_start`` giving an output window at ``out_start``."""

    kernel: Any
    in_start: tuple[int, ...]
    out_start: tuple[int, ...]

    @property
    def crops_region(self) -> bool:
        return getattr(self.kernel, "crops_region", False)

    def reach(self, axis: int, o0: int, o1: int) -> Range:
        shift = self.out_start[axis]
        lo, hi = self.kernel.reach(axis, o0 + shift, o1 + shift)
        return lo - self.in_start[axis], hi - self.in_start[axis]

    def _whole(self, starts: Sequence[int], out: Sequence[Range]):
        return (
            tuple(s + i for s, i in zip(starts, self.in_start, strict=True)),
            tuple((a + o, b + o) for (a, b), o in zip(out, self.out_start, strict=True)),
        )

    def run_parts(
        self, views: Sequence[np.ndarray], targets: Sequence[tuple[slice, ...]],
        starts: Sequence[int], out: Sequence[Range],
    ) -> np.ndarray | None:
        run_parts = getattr(self.kernel, "run_parts", None)
        return None if run_parts is None else run_parts(views, targets, *self._whole(starts, out))

    def __call__(self, region: Any, starts: Sequence[int], out: Sequence[Range]) -> np.ndarray:
        return self.kernel(region, *self._whole(starts, out))
