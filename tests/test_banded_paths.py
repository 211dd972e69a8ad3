"""The compiled and NumPy implementations (banded product, 2x2 mean) agree bit for bit.

The compiled (numba) path and the NumPy path (strided views where taps advance by a common
stride, gathers elsewhere) must give identical float64 results for every dtype, axis and tap
layout, and both must equal the plain definition computed with ``np.take`` in NumPy.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omescale.geometry import level_shape
from omescale.kernels import apply as apply_mod
from omescale.kernels import level as level_mod
from omescale.kernels.apply import apply_taps, clip_runs, strided_runs
from omescale.kernels.axis_ops import AxisOp
from omescale.kernels.build import (
    gaussian_kernel,
    mean_kernel,
    min_kernel,
    resize_kernel,
    zoom_kernel,
)
from omescale.kernels.compiled import banded_product, compiled_available, rounded_window_mean
from omescale.kernels.dtypes import cast_output
from omescale.kernels.parted import PartedRegion
from omescale.kernels.taps import Taps
from omescale.kernels.windows import window_mean

DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64]


def _definition(region: np.ndarray, taps: Taps, axis: int, start: int) -> np.ndarray:
    """Tap-order float64 accumulation written out with ``np.take``."""
    index = taps.index - start
    shape = [1] * region.ndim
    shape[axis] = len(index)
    out = None
    for t in range(index.shape[1]):
        term = np.take(region, index[:, t], axis=axis) * taps.weight[:, t].reshape(shape)
        out = term if out is None else out + term
    return out


def _numpy_path(region, taps, axis, start, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(apply_mod, "banded_product", lambda *a: None)
        return apply_taps(region, taps, axis, start)


def test_numba_is_in_use():
    assert compiled_available()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize(
    "op",
    [
        AxisOp(37, 19, pre_sigma=0.5),  # resize by 2, odd size: border rows fold
        AxisOp(38, 19, pre_sigma=0.5),  # resize by exactly 2: one weight per tap inside
        AxisOp(37, 13, pre_sigma=1.0),  # resize by 3
        AxisOp(37, 15, pre_sigma=0.8),  # non-integer ratio: rows gather
        AxisOp(37, 19, pre_sigma=0.5, post_sigma=0.9, post_mode="reflect"),
    ],
    ids=["by2-odd", "by2", "by3", "ratio", "post-blur"],
)
def test_compiled_and_numpy_paths_are_identical(dtype, axis, op, monkeypatch):
    rng = np.random.default_rng(axis)
    shape = [5, 6, 7]
    shape[axis] = op.n_in
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is None:
        region = rng.normal(0, 1e3, size=shape).astype(dtype)
    else:
        region = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    # Rows reaching the border (per-row weights) and interior rows only (one weight per tap).
    for taps in (op.taps(2, op.n_out), op.taps(3, 3 + op.n_out // 2)):
        compiled = apply_taps(region, taps, axis, 0)
        numpy_path = _numpy_path(region, taps, axis, 0, monkeypatch)
        np.testing.assert_array_equal(compiled, numpy_path)
        np.testing.assert_array_equal(compiled, _definition(region, taps, axis, 0))


def test_compiled_path_reads_strided_views():
    """Regions are often cropped views; the compiled path reads them without error."""
    rng = np.random.default_rng(3)
    full = rng.integers(0, 4000, size=(4, 60, 50), dtype=np.uint16)
    view = full[1:3, 5:45, 3:47]
    op = AxisOp(40, 20, pre_sigma=0.5)
    taps = op.taps(0, 20)
    got = banded_product(view, taps.index, taps.weight, 1)
    np.testing.assert_array_equal(got, _definition(view, taps, 1, 0))


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    rows=st.integers(1, 60),
    width=st.integers(1, 4),
)
def test_strided_runs_cover_every_row_once_with_true_strides(data, rows, width):
    steps = data.draw(st.lists(st.integers(0, 3), min_size=rows, max_size=rows))
    first = np.cumsum(steps)
    spread = np.array(data.draw(st.lists(st.integers(0, 2), min_size=width, max_size=width)))
    index = first[:, None] + np.cumsum(spread)[None, :]
    runs = list(strided_runs(index))
    assert [r for a, b, _ in runs for r in range(a, b)] == list(range(rows))
    for a, b, step in runs:
        if step is not None:
            assert np.all(np.diff(index[a:b], axis=0) == step)
    r0 = data.draw(st.integers(0, rows - 1))
    r1 = data.draw(st.integers(r0 + 1, rows))
    clipped = clip_runs(runs, r0, r1)
    assert [r for a, b, _ in clipped for r in range(a, b)] == list(range(r1 - r0))


def test_the_mean_kernel_uses_the_compiled_mean_where_it_applies():
    """local_mean's kernel carries the fused pass; other window reductions do not."""
    x = np.random.default_rng(4).integers(0, 65535, (4, 10, 12), dtype=np.uint16)
    kernel = mean_kernel(x.shape, (1, 2, 2), np.uint16)
    assert kernel.rounded is rounded_window_mean
    out = [(0, 4), (0, 5), (0, 6)]
    np.testing.assert_array_equal(kernel(x, (0, 0, 0), out),
                                  cast_output(window_mean(x, (1, 2, 2)), np.dtype(np.uint16)))
    assert min_kernel(x.shape, (1, 2, 2), np.uint16).rounded is None


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int8", "int16", "int32", "uint32"])
def test_compiled_2x2_mean_equals_the_numpy_path(dtype):
    """The one-pass integer 2x2 mean rounds half to even exactly as float64 division + rint."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(3)
    x = rng.integers(info.min, info.max, size=(3, 40, 36), endpoint=True).astype(dtype)
    x[0, :2, :2] = info.max  # largest sums
    x[1, :2, :2] = info.min
    x[2, :2, :] = np.arange(36) % 4  # every remainder, odd and even quotients: ties both ways
    for view in (x, x[:, 2:38, 4:36], x[::2, 1:39, :]):
        fast = rounded_window_mean(view, (1, 2, 2))
        slow = cast_output(window_mean(view, (1, 2, 2)), np.dtype(dtype))
        assert fast is not None and fast.dtype == slow.dtype
        np.testing.assert_array_equal(fast, slow)
    # Written into a slice of a larger block (no second copy), also where the slice's planes
    # cannot merge into one axis (4-D, strided): the same values, nothing outside touched.
    block = np.zeros((2, 5, 30, 30), dtype=dtype)
    for target in (block[0, 1:4, 5:25, 3:21], block[:, ::2, :20, 12:30][:, 1:, :, :]):
        source = x[: target.shape[-3]] if target.ndim == 3 else np.stack([x[:2], x[:2]])
        view = source[..., :40, :36]
        expected_slice = cast_output(window_mean(view, (1,) * (view.ndim - 2) + (2, 2)),
                                     np.dtype(dtype))
        returned = rounded_window_mean(view, (1,) * (view.ndim - 2) + (2, 2), out=target)
        assert returned is target
        np.testing.assert_array_equal(target, expected_slice)
        target[...] = 0
        np.testing.assert_array_equal(block, np.zeros_like(block))
    with pytest.raises(ValueError, match="out must be"):
        rounded_window_mean(x, (1, 2, 2), out=np.zeros((3, 20, 20), dtype=dtype))
    assert rounded_window_mean(x[:, :39], (1, 2, 2)) is None  # partial windows: NumPy path
    assert rounded_window_mean(x, (2, 2, 2)) is None
    assert rounded_window_mean(x.astype(np.float32), (1, 2, 2)) is None


_FUSED_BUILDERS = {"resize": resize_kernel, "gaussian": gaussian_kernel, "zoom": zoom_kernel}


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_fused_two_axis_pass_equals_the_per_axis_path(data):
    """The one-pass kernel over the last two axes (taps along y, then x, cast in the pass)
    gives the values of the per-axis pieces bit for bit, on any block and region."""
    ndim = data.draw(st.integers(2, 3))
    shape = tuple(data.draw(st.integers(4, 70)) for _ in range(ndim))
    factors = (1,) * (ndim - 2) + tuple(data.draw(st.integers(1, 4)) for _ in range(2))
    dtype = np.dtype(data.draw(st.sampled_from(DTYPES)))
    method = data.draw(st.sampled_from(sorted(_FUSED_BUILDERS)))
    kernel = _FUSED_BUILDERS[method](shape, factors, dtype)
    image = (np.random.default_rng(ndim).random(shape) * 250 - (dtype.kind == "i") * 120)
    image = image.astype(dtype)
    out = []
    for m in level_shape(shape, factors):
        o0 = data.draw(st.integers(0, m - 1))
        out.append((o0, data.draw(st.integers(o0 + 1, m))))
    reach = [kernel.reach(a, *out[a]) for a in range(ndim)]
    region = image[tuple(slice(lo, hi) for lo, hi in reach)]
    starts = [lo for lo, _ in reach]
    fused = kernel(region, starts, out)
    # The same region left in parts (as a task gets it from several input chunks).
    # Up to 5x5 parts: more than the compiled pass takes in place (MAX_PARTS), which joins them.
    cuts = [sorted({0, n, *data.draw(st.lists(st.integers(1, max(1, n - 1)), max_size=4))})
            for n in region.shape]
    boxes = list(itertools.product(*(list(itertools.pairwise(c)) for c in cuts)))
    targets = tuple(tuple(slice(a, b) for a, b in box) for box in boxes)
    # Parts are copies, or views into larger blocks (strided rows) as a task gets them.
    parts = tuple(region[t].copy() if k % 3 else np.pad(region[t], 2)[(slice(2, -2),) * ndim]
                  for k, t in enumerate(targets))
    for part in parts[::2]:
        part.flags.writeable = False  # as dask may hand blocks over
    parted = PartedRegion(parts, targets, region.shape)
    np.testing.assert_array_equal(kernel(parted, starts, out), fused)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(level_mod, "last_two_pass", lambda *a: None)
        per_axis = kernel(region, starts, out)
    assert fused.dtype == per_axis.dtype == dtype
    np.testing.assert_array_equal(fused, per_axis)


def test_fused_pass_is_taken_for_the_common_step():
    kernel = resize_kernel((16, 100, 100), (1, 2, 2), np.uint16)
    out = [(0, 16), (0, 50), (0, 50)]
    taps = {(a, op): level_mod._BlockTaps.of(op, r)
            for a, (op, r) in enumerate(zip(kernel.terms[0][1], out, strict=True))
            if op is not None}
    region = np.zeros((16, 100, 100), np.uint16)
    assert kernel._last_two_fused(region, taps, [0, 0, 0], out) is not None
