"""A kernel's input region left in the parts it was read in (one per input chunk it touches).

Kernels that only crop boxes from their region (``crops_region = True``) get one of these
instead of the region copied together: a box is copied only when it spans several parts, and
the two-axis pass reads the parts directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PartedRegion"]


@dataclass(frozen=True)
class PartedRegion:
    """A task's input region left in its parts: cropping a box copies only what it touches.

    Kernels that work box by box (``crops_region = True``) read their small boxes from here,
    so the whole region is never copied together and each box is fresh in the cache.
    """

    views: tuple[np.ndarray, ...]
    targets: tuple[tuple[slice, ...], ...]
    shape: tuple[int, ...]

    @property
    def dtype(self) -> np.dtype:
        return self.views[0].dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, box: tuple[slice, ...]) -> np.ndarray:
        bounds = [sl.indices(n)[:2] for sl, n in zip(box, self.shape, strict=True)]
        hits = []
        for view, target in zip(self.views, self.targets, strict=True):
            inter = [(max(t.start, b0), min(t.stop, b1))
                     for t, (b0, b1) in zip(target, bounds, strict=True)]
            if all(a < b for a, b in inter):
                src = tuple(slice(a - t.start, b - t.start)
                            for (a, b), t in zip(inter, target, strict=True))
                dst = tuple(slice(a - b0, b - b0) for (a, b), (b0, _) in zip(inter, bounds,
                                                                              strict=True))
                hits.append((view, src, dst))
        if len(hits) == 1:
            return hits[0][0][hits[0][1]]
        out = np.empty(tuple(b - a for a, b in bounds), dtype=self.dtype)
        for view, src, dst in hits:
            out[dst] = view[src]
        return out
