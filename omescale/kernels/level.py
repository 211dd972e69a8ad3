"""One level's kernel: what a task runs on its input region.

``SeparableKernel`` covers the interpolating methods (a signed sum of separable operators);
``WindowKernel`` covers the window reductions. Both take the region, its global start and the
output range, and return the output block in the level's dtype.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from omescale.kernels.apply import apply_taps, clip_runs, prefilter_spline, strided_runs
from omescale.kernels.axis_ops import AxisOp
from omescale.kernels.compiled import MAX_PARTS, last_two_pass
from omescale.kernels.dtypes import cast_output
from omescale.kernels.parted import PartedRegion
from omescale.kernels.taps import Taps

__all__ = ["SeparableKernel", "WindowKernel"]

Range = tuple[int, int]


@dataclass(frozen=True)
class SeparableKernel:
    """``sum(sign * (op_0 x op_1 x ...) region)``; ``None`` ops are the identity."""

    terms: tuple[tuple[float, tuple[AxisOp | None, ...]], ...]
    out_dtype: np.dtype
    #: The kernel only crops boxes from its region: the graph may pass the region in parts.
    crops_region = True

    def reach(self, axis: int, o0: int, o1: int) -> Range:
        """Input range along ``axis`` that output rows ``o0..o1-1`` need."""
        ranges = [
            (o0, o1) if (op := ops[axis]) is None else op.reach(o0, o1) for _, ops in self.terms
        ]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)

    @property
    def is_pick(self) -> bool:
        """True for a pure selection (nearest): one term, every operator a pick or None."""
        return len(self.terms) == 1 and all(op is None or op.is_pick for op in self.terms[0][1])

    def run_parts(
        self, views: Sequence[np.ndarray], targets: Sequence[tuple[slice, ...]],
        starts: Sequence[int], out: Sequence[Range],
    ) -> np.ndarray | None:
        """Pure selections (nearest) copy each output row from the part that holds it, by
        basic slicing wherever the picked indices advance by a common step."""
        if not self.is_pick:
            return None
        picks = [_Picks.of(op, o0, o1) for op, (o0, o1) in zip(self.terms[0][1], out,
                                                                strict=True)]
        result = np.empty(tuple(o1 - o0 for o0, o1 in out), dtype=self.out_dtype)
        for view, target in zip(views, targets, strict=True):
            rows, local = [], []
            for pick, s, sl in zip(picks, starts, target, strict=True):
                r0, r1, index = pick.within(s + sl.start, s + sl.stop)
                rows.append(slice(r0, r1))
                local.append(index)
            if all(r.stop > r.start for r in rows):
                result[tuple(rows)] = _gather(view, local)
        return result

    def __call__(
        self, region: np.ndarray, starts: Sequence[int], out: Sequence[Range]
    ) -> np.ndarray:
        if self.is_pick:
            # A selection is a copy of the picked rows: a strided view where the picks
            # advance by a common step, never a float pass (the values are the input's).
            if isinstance(region, PartedRegion):
                result = self.run_parts(region.views, region.targets, starts, out)
                assert result is not None  # a pure selection always runs by parts
                return result
            whole = self.run_parts([region], [tuple(slice(0, n) for n in region.shape)],
                                   starts, out)
            assert whole is not None
            return whole
        # Terms often share an axis's operator: evaluate each (axis, operator) once.
        taps = {(a, op): _BlockTaps.of(op, r) for _, ops in self.terms
                for a, (op, r) in enumerate(zip(ops, out, strict=True)) if op is not None}
        fused = self._last_two_fused(region, taps, starts, out)
        if fused is not None:
            return fused
        result = np.empty(tuple(o1 - o0 for o0, o1 in out), dtype=self.out_dtype)
        for piece in _pieces(self.terms, out):
            total = None
            for sign, ops in self.terms:
                y = _term_piece(region, ops, taps, starts, piece)
                if total is None:
                    total = y if sign > 0 else np.negative(y)
                elif sign > 0:
                    total += y
                else:
                    total -= y
            assert total is not None  # a kernel has at least one term
            place = tuple(slice(p0 - o0, p1 - o0) for (p0, p1), (o0, _) in zip(piece, out,
                                                                              strict=True))
            result[place] = cast_output(total, self.out_dtype)
        return result

    def _last_two_fused(
        self, region: np.ndarray, taps: dict, starts: Sequence[int], out: Sequence[Range]
    ) -> np.ndarray | None:
        """One term with linear taps on exactly the last two axes (the common 2-D and
        z-kept step) in one compiled pass: the same values as the pieces below. A region
        left in parts is read part by part, never copied together."""
        if len(self.terms) != 1 or len(out) < 2:
            return None
        ops = self.terms[0][1]
        active = _order(ops)
        if active != [len(out) - 2, len(out) - 1] or any(_op(ops, a).order >= 2 for a in active):
            return None
        y, x = (taps[a, ops[a]] for a in active)
        run = last_two_pass(y.taps, x.taps, x.runs, (starts[-2], starts[-1]), region.dtype,
                            self.out_dtype)
        if run is None:
            return None
        lead = tuple(slice(o0 - s, o1 - s) for (o0, o1), s in zip(out[:-2], starts,
                                                                 strict=False))
        grid = _part_grid(region, lead)
        result = np.empty(tuple(o1 - o0 for o0, o1 in out), dtype=self.out_dtype)
        run(*grid, result.reshape(-1, *result.shape[-2:]))
        return result


def _planes(view: np.ndarray) -> np.ndarray:
    """``view`` as ``(planes, rows, columns)``."""
    return view.reshape(-1, *view.shape[-2:])


def _part_grid(region, lead: tuple[slice, ...]) -> tuple[list, list[int], list[int]]:
    """``region`` (its ``lead`` planes) as a row-major grid of 3-D parts with the row and
    column cuts between them: the parts of a ``PartedRegion`` when they tile the last two
    axes and each holds every plane (at most ``MAX_PARTS``), else the region copied together
    as one part."""
    if isinstance(region, PartedRegion):
        rows = sorted({t[-2].start for t in region.targets} | {region.shape[-2]})
        cols = sorted({t[-1].start for t in region.targets} | {region.shape[-1]})
        cells = {(t[-2].start, t[-1].start): (v, t)
                 for v, t in zip(region.views, region.targets, strict=True)}
        count = (len(rows) - 1) * (len(cols) - 1)
        tiled = len(cells) == len(region.targets) == count <= MAX_PARTS and all(
            t[:-2] == tuple(slice(0, n) for n in region.shape[:-2]) for t in region.targets)
        if tiled:
            return ([_planes(cells[r, c][0][lead]) for r in rows[:-1] for c in cols[:-1]],
                    rows, cols)
        region = region[tuple(slice(None) for _ in region.shape)]
    return [_planes(region[lead])], [0, region.shape[-2]], [0, region.shape[-1]]


# Outputs per piece: small enough that a piece's float64 intermediates stay in the core's cache.
PIECE_OUTPUTS = 1 << 16


@dataclass(frozen=True)
class _BlockTaps:
    """One axis's taps for a whole output block, with its strided runs found once."""

    o0: int
    taps: Taps
    runs: list

    @classmethod
    def of(cls, op: AxisOp, out: Range) -> _BlockTaps:
        return _block_taps(op, tuple(out))

    def rows(self, p0: int, p1: int) -> tuple[Taps, list]:
        r0, r1 = p0 - self.o0, p1 - self.o0
        sub = Taps(self.taps.index[r0:r1], self.taps.weight[r0:r1])
        return sub, clip_runs(self.runs, r0, r1)


@functools.lru_cache(maxsize=128)
def _block_taps(op: AxisOp, out: tuple[int, int]) -> _BlockTaps:
    """Taps and runs of one axis of a block: the same for every block of its row or column."""
    taps = op.taps(*out)
    return _BlockTaps(out[0], taps, list(strided_runs(taps.index)))


def _op(ops: Sequence[AxisOp | None], axis: int) -> AxisOp:
    """The operator of an active ``axis`` (one that :func:`_order` lists)."""
    op = ops[axis]
    assert op is not None, f"axis {axis} is not active"
    return op


def _order(ops: Sequence[AxisOp | None]) -> list[int]:
    """Active axes in the order they are applied: the most-reduced first (less work later)."""
    active = [a for a, op in enumerate(ops) if op is not None]
    return sorted(active, key=lambda a: _op(ops, a).n_out / _op(ops, a).n_in)


def _pieces(terms, out: Sequence[Range]) -> list[tuple[Range, ...]]:
    """Output boxes computed one at a time; each output pixel is computed the same way in any
    box. Kept axes are split first (slabs), then active axes in the order the first term
    applies them. Spline prefilters need the whole block along their axis, and pure
    selections are cheaper in one piece, so those only split kept axes."""
    kept = [a for a in range(len(out)) if all(ops[a] is None for _, ops in terms)]
    splittable = [
        *kept,
        *(a for a in _order(terms[0][1]) if a not in kept),
    ]
    if any(op is not None and (op.order >= 2 or op.is_pick) for _, ops in terms for op in ops):
        splittable = kept
    size = [o1 - o0 for o0, o1 in out]
    for axis in splittable:
        rest = math.prod(size) // size[axis]
        if rest * size[axis] <= PIECE_OUTPUTS:
            break
        size[axis] = max(1, PIECE_OUTPUTS // rest)
    return list(itertools.product(*(
        [(p, min(p + n, o1)) for p in range(o0, o1, n)]
        for (o0, o1), n in zip(out, size, strict=True)
    )))


def _term_piece(
    region: np.ndarray, ops: Sequence[AxisOp | None], taps: dict, starts: Sequence[int],
    piece: Sequence[Range],
) -> np.ndarray:
    """One signed term on one output box, in float64 (or the input dtype for selections)."""
    piece_taps = {a: taps[a, op].rows(*piece[a]) for a, op in enumerate(ops) if op is not None}
    crop, st = [], []
    for a, ((p0, p1), s) in enumerate(zip(piece, starts, strict=True)):
        op = ops[a]
        if op is None:
            crop.append(slice(p0 - s, p1 - s))
            st.append(p0)
        elif op.order >= 2:
            # The prefilter runs on the whole region along this axis.
            crop.append(slice(None))
            st.append(s)
        else:
            t = piece_taps[a][0]
            crop.append(slice(t.lo - s, t.hi - s))
            st.append(t.lo)
    y = region[tuple(crop)]
    active = _order(ops)
    for axis in active:
        op = _op(ops, axis)
        if op.order >= 2:
            y = prefilter_spline(y, op.order, axis, op.interp_mode)
        sub, runs = piece_taps[axis]
        y = apply_taps(y, sub, axis, st[axis], runs)
    if not active:
        return y.astype(np.float64)
    return y


def _as_slice(index: np.ndarray) -> slice | None:
    """``index`` as a slice when it is an arithmetic progression with a positive step."""
    if len(index) == 1:
        return slice(int(index[0]), int(index[0]) + 1)
    step = int(index[1] - index[0])
    if step >= 1 and np.all(np.diff(index) == step):
        return slice(int(index[0]), int(index[-1]) + 1, step)
    return None


@dataclass(frozen=True)
class _Picks:
    """The input index each output row of one axis picks (``None`` op: every row itself),
    with the common step when they form an arithmetic progression."""

    o0: int
    index: np.ndarray
    step: int | None

    @classmethod
    def of(cls, op: AxisOp | None, o0: int, o1: int) -> _Picks:
        if op is None:
            return cls(o0, np.arange(o0, o1), 1)
        return _picks(op, o0, o1)

    def within(self, g0: int, g1: int) -> tuple[int, int, np.ndarray | slice]:
        """Output rows ``r0..r1-1`` (block-relative) whose picks lie in input ``[g0, g1)``,
        and their picks relative to ``g0``: a slice when the picks advance by a step."""
        r0 = int(np.searchsorted(self.index, g0))
        r1 = int(np.searchsorted(self.index, g1))
        if self.step is not None and r1 > r0:
            first, last = int(self.index[r0]) - g0, int(self.index[r1 - 1]) - g0
            return r0, r1, slice(first, last + 1, self.step)
        return r0, r1, self.index[r0:r1] - g0


@functools.lru_cache(maxsize=128)
def _picks(op: AxisOp, o0: int, o1: int) -> _Picks:
    index = op.taps(o0, o1).index[:, 0]
    found = _as_slice(index)
    return _Picks(o0, index, None if found is None else found.step)


def _gather(view: np.ndarray, local: Sequence[np.ndarray | slice]) -> np.ndarray:
    """``view[np.ix_(*local)]``, with basic slicing on every axis where it can."""
    basic = [i if isinstance(i, slice) else _as_slice(i) for i in local]
    picked = view[tuple(b or slice(None) for b in basic)]
    for axis, (index, b) in enumerate(zip(local, basic, strict=True)):
        if b is None:
            assert isinstance(index, np.ndarray)
            picked = np.take(picked, index, axis=axis)
    return picked


@dataclass(frozen=True)
class WindowKernel:
    """A reduction over f-windows; regions start on window boundaries."""

    reducer: Callable[[np.ndarray, Sequence[int]], np.ndarray]
    factors: tuple[int, ...]
    shape_in: tuple[int, ...]
    out_dtype: np.dtype
    # Optional fused reduce-and-cast for input already in the output dtype: (x, factors, out)
    # -> the same values as the reducer then cast_output, or None where it does not apply.
    rounded: Callable[..., np.ndarray | None] | None = None

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
            self._reduce(view, out=result[place])
        return result

    def __call__(
        self, region: np.ndarray, starts: Sequence[int], out: Sequence[Range]
    ) -> np.ndarray:
        return self._reduce(region)

    def _reduce(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The reduction of ``x`` (window-aligned) in the output dtype, written into ``out``
        when given (a slice of a block: the means need no second copy)."""
        if self.rounded is not None and x.dtype == self.out_dtype:
            fast = self.rounded(x, self.factors, out)
            if fast is not None:
                return fast
        reduced = cast_output(self.reducer(x, self.factors), self.out_dtype)
        if out is None:
            return reduced
        out[...] = reduced
        return out
