"""One level's kernel: what a task runs on its input region.

``SeparableKernel`` covers the interpolating methods (a signed sum of separable operators);
``WindowKernel`` covers the window reductions. Both take the region, its global start and the
output range, and return the output block in the level's dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from omescale.kernels.apply import apply_taps, prefilter_spline
from omescale.kernels.axis_ops import AxisOp
from omescale.kernels.dtypes import cast_output

__all__ = ["SeparableKernel", "WindowKernel"]

Range = tuple[int, int]


@dataclass(frozen=True)
class SeparableKernel:
    """``sum(sign * (op_0 x op_1 x ...) region)``; ``None`` ops are the identity."""

    terms: tuple[tuple[float, tuple[AxisOp | None, ...]], ...]
    out_dtype: np.dtype

    def reach(self, axis: int, o0: int, o1: int) -> Range:
        """Input range along ``axis`` that output rows ``o0..o1-1`` need."""
        ranges = [
            (o0, o1) if ops[axis] is None else ops[axis].reach(o0, o1) for _, ops in self.terms
        ]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)

    def run_parts(
        self, views: Sequence[np.ndarray], targets: Sequence[tuple[slice, ...]],
        starts: Sequence[int], out: Sequence[Range],
    ) -> np.ndarray | None:
        """Pure selections (nearest) gather each output row from the part that holds it."""
        if len(self.terms) != 1 or not all(op is None or op.is_pick for op in self.terms[0][1]):
            return None
        ops = self.terms[0][1]
        picks = [
            np.arange(o0, o1) if op is None else op.taps(o0, o1).index[:, 0]
            for op, (o0, o1) in zip(ops, out, strict=True)
        ]
        result = np.empty(tuple(o1 - o0 for o0, o1 in out), dtype=self.out_dtype)
        for view, target in zip(views, targets, strict=True):
            rows, local = [], []
            for pick, s, sl in zip(picks, starts, target, strict=True):
                g0, g1 = s + sl.start, s + sl.stop
                r0, r1 = np.searchsorted(pick, g0), np.searchsorted(pick, g1)
                rows.append(slice(int(r0), int(r1)))
                local.append(pick[r0:r1] - g0)
            if all(r.stop > r.start for r in rows):
                result[tuple(rows)] = _gather(view, local)
        return result

    def __call__(
        self, region: np.ndarray, starts: Sequence[int], out: Sequence[Range]
    ) -> np.ndarray:
        total = None
        for sign, ops in self.terms:
            y = _apply_ops(region, ops, starts, out)
            if total is None:
                total = y if sign > 0 else np.negative(y)
            elif sign > 0:
                total += y
            else:
                total -= y
        return cast_output(total, self.out_dtype)


def _as_slice(index: np.ndarray) -> slice | None:
    """``index`` as a slice when it is an arithmetic progression with a positive step."""
    if len(index) == 1:
        return slice(int(index[0]), int(index[0]) + 1)
    step = int(index[1] - index[0])
    if step >= 1 and np.all(np.diff(index) == step):
        return slice(int(index[0]), int(index[-1]) + 1, step)
    return None


def _gather(view: np.ndarray, local: Sequence[np.ndarray]) -> np.ndarray:
    """``view[np.ix_(*local)]``, with basic slicing on every axis where it can."""
    picked = view[tuple(_as_slice(i) or slice(None) for i in local)]
    for axis, index in enumerate(local):
        if _as_slice(index) is None:
            picked = np.take(picked, index, axis=axis)
    return picked


def _apply_ops(
    region: np.ndarray, ops: Sequence[AxisOp | None], starts: Sequence[int], out: Sequence[Range]
) -> np.ndarray:
    active = [a for a, op in enumerate(ops) if op is not None]
    slabbed = len(active) >= 2 and not all(ops[a].is_pick for a in active)
    if region.ndim >= 3 and ops[0] is None and slabbed:
        # Leading axis kept: one slab at a time keeps the float64 intermediates small (and in
        # cache); each slab is computed exactly as it would be inside the whole block.
        o0, o1 = out[0]
        slabs = [
            _apply_ops_block(region[i - starts[0] : i - starts[0] + 1], ops,
                             (i, *starts[1:]), ((i, i + 1), *out[1:]))
            for i in range(o0, o1)
        ]
        return np.concatenate(slabs, axis=0)
    return _apply_ops_block(region, ops, starts, out)


def _apply_ops_block(
    region: np.ndarray, ops: Sequence[AxisOp | None], starts: Sequence[int], out: Sequence[Range]
) -> np.ndarray:
    # Crop identity axes first, then shrink the most-reduced axes first: less work later.
    crop = tuple(
        slice(o0 - s, o1 - s) if op is None else slice(None)
        for op, s, (o0, o1) in zip(ops, starts, out, strict=True)
    )
    y = region[crop]
    active = [a for a, op in enumerate(ops) if op is not None]
    active.sort(key=lambda a: ops[a].n_out / ops[a].n_in)
    for axis in active:
        op = ops[axis]
        if op.order >= 2:
            y = prefilter_spline(y, op.order, axis, op.interp_mode)
        y = apply_taps(y, op.taps(*out[axis]), axis, starts[axis])
    if not active:
        return y.astype(np.float64)
    return y


@dataclass(frozen=True)
class WindowKernel:
    """A reduction over f-windows; regions start on window boundaries."""

    reducer: Callable[[np.ndarray, Sequence[int]], np.ndarray]
    factors: tuple[int, ...]
    shape_in: tuple[int, ...]
    out_dtype: np.dtype

    def reach(self, axis: int, o0: int, o1: int) -> Range:
        f = self.factors[axis]
        return o0 * f, min(o1 * f, self.shape_in[axis])

    def run_parts(
        self, views: Sequence[np.ndarray], targets: Sequence[tuple[slice, ...]],
        starts: Sequence[int], out: Sequence[Range],
    ) -> np.ndarray | None:
        """Reduce each part on its own when every part starts and ends on window borders."""
        for target in targets:
            for sl, s, f, n in zip(target, starts, self.factors, self.shape_in, strict=True):
                g0, g1 = s + sl.start, s + sl.stop
                if g0 % f or (g1 % f and g1 != n):
                    return None
        result = np.empty(tuple(o1 - o0 for o0, o1 in out), dtype=self.out_dtype)
        for view, target in zip(views, targets, strict=True):
            place = tuple(
                slice((s + sl.start) // f - o0, -(-(s + sl.stop) // f) - o0)
                for sl, s, f, (o0, _) in zip(target, starts, self.factors, out, strict=True)
            )
            result[place] = cast_output(self.reducer(view, self.factors), self.out_dtype)
        return result

    def __call__(
        self, region: np.ndarray, starts: Sequence[int], out: Sequence[Range]
    ) -> np.ndarray:
        return cast_output(self.reducer(region, self.factors), self.out_dtype)
