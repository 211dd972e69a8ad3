"""Per-axis plans: which input chunks (and which parts of them) each output chunk reads.

Everything here is one-dimensional, so planning costs O(chunks per axis), not O(blocks).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Any

__all__ = ["AxisBlock", "chunk_offsets", "cone_windows", "plan_axis"]

Range = tuple[int, int]


@dataclass(frozen=True)
class AxisBlock:
    """One output chunk along one axis and the input it reads.

    ``out`` is the output range, ``region`` the input range ``[lo, hi)``; ``parts`` lists
    ``(input chunk index, slice within that chunk, slice within the region)``.
    """

    out: tuple[int, int]
    region: tuple[int, int]
    parts: tuple[tuple[int, slice, slice], ...]

    @property
    def whole_chunk(self) -> bool:
        """True when the region is exactly one input chunk."""
        return len(self.parts) == 1 and self.parts[0][1] == slice(None)


def chunk_offsets(chunks: Sequence[int]) -> list[int]:
    """Start of every chunk along one axis, then the axis length."""
    return [0, *accumulate(chunks)]


def plan_axis(
    reach: Callable[[int, int], tuple[int, int]],
    out_chunks: Sequence[int],
    in_chunks: Sequence[int],
) -> list[AxisBlock]:
    """Plan every output chunk of one axis against the input chunks of that axis."""
    in_offsets = chunk_offsets(in_chunks)
    blocks = []
    out_offsets = chunk_offsets(out_chunks)
    for o0, o1 in pairwise(out_offsets):
        lo, hi = reach(o0, o1)
        first = bisect.bisect_right(in_offsets, lo) - 1
        last = bisect.bisect_left(in_offsets, hi) - 1
        parts = []
        for j in range(first, last + 1):
            c0, c1 = in_offsets[j], in_offsets[j + 1]
            a, b = max(lo, c0), min(hi, c1)
            src = slice(None) if (a, b) == (c0, c1) else slice(a - c0, b - c0)
            parts.append((j, src, slice(a - lo, b - lo)))
        blocks.append(AxisBlock((o0, o1), (lo, hi), tuple(parts)))
    return blocks


def cone_windows(
    kernels: Sequence[Any], first: int, last: int, own: Callable[[int], Sequence[Range]],
) -> dict[int, tuple[Range, ...]]:
    """``windows[k]`` for levels ``last`` down to ``first``: per axis, the range ``own(k)`` of
    level ``k`` that a region (a strip, a work unit) writes, widened by the cone the later
    levels reach into its neighbours (``kernels[k + 1].reach`` of ``windows[k + 1]``)."""
    windows: dict[int, tuple[Range, ...]] = {}
    for k in range(last, first - 1, -1):
        win = []
        for a, (lo, hi) in enumerate(own(k)):
            if k < last:
                r0, r1 = kernels[k + 1].reach(a, *windows[k + 1][a])
                lo, hi = min(lo, r0), max(hi, r1)
            win.append((lo, hi))
        windows[k] = tuple(win)
    return windows
