"""Lazy results equal the whole-array scikit-image / SciPy / NumPy reference on any chunking."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from conftest import DTYPES, make_image
from dask.array.utils import assert_eq
from references import assert_matches_reference, assert_within_spec, expected

import omescale

METHODS = [m.value for m in omescale.Methods]

# (shape, factors): odd, prime, tiny (1, 2, 3 pixels), non-dividing.
SHAPES_2D = [
    ((37, 41), (2, 2)),
    ((31, 29), (3, 2)),
    ((64, 48), (2, 4)),
    ((1, 7), (1, 2)),
    ((2, 3), (2, 3)),
    ((3, 2), (2, 1)),
    ((23, 17), (5, 4)),
]
# single chunk, regular, ragged, size 1 on an axis, not dividing the shape, smaller than halos.
CHUNKINGS_2D = [None, (16, 16), (7, 5), (1, 6), (4, 9), (3, 2)]


def _check_blocks(block, dtype, block_info=None):
    assert block.shape == tuple(block_info[None]["chunk-shape"])
    assert block.dtype == dtype
    return block


def compute_checked(y: da.Array) -> np.ndarray:
    """Compute once, checking every block's declared shape and dtype on the way."""
    return y.map_blocks(_check_blocks, y.dtype, dtype=y.dtype).compute()


def _cases(method, dtype, shape, factors, chunkings, order=None):
    x = make_image(shape, dtype, seed=sum(shape))
    ref = expected(method, x, factors, order)
    eager = omescale.downsample(x, factors, method=method, order=order)
    assert isinstance(eager, np.ndarray)
    assert_matches_reference(eager, ref, method, source=x, what=f"{method} eager")
    for chunks in chunkings:
        lazy_in = da.from_array(x, chunks=chunks if chunks is not None else x.shape)
        lazy = omescale.downsample(lazy_in, factors, method=method, order=order)
        assert isinstance(lazy, da.Array) and lazy.dtype == eager.dtype
        computed = compute_checked(lazy)
        if method == "zoom" and (order or 1) >= 2:
            # The spline prefilter's reach never ends; its halo is cut where the error is below
            # SPEC's tolerance, so chunks agree to that tolerance, not bit for bit.
            assert_within_spec(computed, eager, what=f"zoom order {order} on {chunks}")
        else:
            np.testing.assert_array_equal(computed, eager)  # chunk-invariance, bit for bit
        assert_matches_reference(computed, ref, method, source=x, what=f"{method} on {chunks}")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("shape", "factors"), SHAPES_2D)
def test_every_chunking(method, shape, factors):
    _cases(method, "uint16", shape, factors, CHUNKINGS_2D)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype(method, dtype):
    for shape, factors in [SHAPES_2D[0], SHAPES_2D[1], SHAPES_2D[4]]:
        _cases(method, dtype, shape, factors, [(7, 5), (3, 2)])


@pytest.mark.parametrize("method", METHODS)
def test_chunks_of_one(method):
    _cases(method, "int16", (9, 11), (2, 3), [(1, 1)])


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("dtype", ["uint16", "float32", "float64"])
def test_zoom_orders(order, dtype):
    # Spline orders >= 2 reach up to 45 pixels (prefilter halo): tiny chunks would give
    # tasks with thousands of inputs, so chunk size 1 is tested on one axis only.
    for shape, factors in [((53, 47), (2, 3)), ((9, 64), (3, 4))]:
        _cases("zoom", dtype, shape, factors, [(8, 8), (5, 13), (1, 64)], order=order)


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_zoom_spline_on_short_kept_axes(order):
    # ndimage.zoom prefilters and evaluates the spline on every axis; with mode 'reflect' that
    # is not the identity on an axis shorter than the prefilter's reach (up to 0.3 % of the
    # image's largest magnitude on a 3-pixel axis at order 5), so a kept short axis is no identity.
    for shape, factors in [((6, 3), (2, 1)), ((12, 3), (3, 1)), ((3, 7, 5), (1, 2, 1))]:
        for dtype in ["uint8", "float64"]:
            _cases("zoom", dtype, shape, factors, [None, (1, 2, 2)[-len(shape):]], order=order)


@pytest.mark.parametrize("method", ["nearest", "mode", "min", "max"])
def test_bool(method):
    for shape, factors in SHAPES_2D[:5]:
        _cases(method, "bool", shape, factors, [(7, 5), (1, 6)])


ND_CASES = [
    ((9, 17, 13), (1, 2, 2), (4, 5, 6)),  # zyx, z kept
    ((9, 17, 13), (3, 2, 2), (2, 7, 3)),  # zyx, all downsampled
    ((2, 5, 19, 23), (1, 1, 2, 2), (1, 2, 8, 5)),  # czyx
    ((2, 3, 4, 11, 13), (1, 1, 2, 3, 2), (1, 2, 3, 4, 5)),  # tczyx
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("shape", "factors", "chunks"), ND_CASES)
def test_nd_leading_axes(method, shape, factors, chunks):
    for dtype in ["uint16", "float32"]:
        _cases(method, dtype, shape, factors, [chunks])


@pytest.mark.parametrize("method", ["resize", "gaussian", "zoom", "laplacian"])
def test_chunks_smaller_than_halo(method):
    # factor 8: the anti-aliasing Gaussian's radius (14) reaches far past 3-pixel chunks.
    _cases(method, "uint16", (67, 70), (8, 8), [(3, 4)])


def test_assert_eq_on_hand_built_graph():
    x = da.from_array(make_image((40, 50), "uint16"), chunks=(7, 9))
    y = omescale.downsample(x, (2, 2), method="resize", chunks=(6, 4))
    assert y.chunks == ((6, 6, 6, 2), (4, 4, 4, 4, 4, 4, 1))
    assert_eq(y, omescale.downsample(x.compute(), (2, 2), method="resize"))


def test_aligned_window_path_is_blockwise():
    x = da.from_array(make_image((64, 48), "uint16"), chunks=(16, 12))
    y = omescale.downsample(x, (2, 4), method="local_mean")
    assert y.chunks == ((8,) * 4, (3,) * 4)
    assert len(y.dask.layers[y.name]) == 16
    assert_eq(y, omescale.downsample(x.compute(), (2, 4), method="local_mean"))


def test_float16_becomes_float32():
    x = make_image((20, 22), "float32").astype(np.float16)
    y = omescale.downsample(da.from_array(x, chunks=7), (2, 2), method="resize")
    assert y.dtype == np.float32
    ref = expected("resize", x.astype(np.float32), (2, 2))
    assert_matches_reference(y.compute(), ref, "resize")


@pytest.mark.parametrize(("shape", "factors"), [
    ((24, 36), (2, 2)), ((24, 36), (3, 4)), ((5, 24, 36), (1, 2, 3)), ((30, 8), (5, 1)),
])
def test_nearest_is_a_stride_where_the_factor_divides(shape, factors):
    """Where N % f == 0, skimage's order-0 resize picks f*o + f//2 (index 2i+1 for f = 2): the
    reference and omescale are that stride, on numpy and on any chunking, in the input dtype,
    and the result is a copy (it holds no view of the input)."""
    x = make_image(shape, "uint16", seed=3)
    stride = x[tuple(slice(f // 2, None, f) for f in factors)]
    ref = expected("nearest", x, factors)
    np.testing.assert_array_equal(ref, stride)
    eager = omescale.downsample(x, factors, method="nearest")
    assert eager.dtype == x.dtype and eager.flags.c_contiguous and not np.shares_memory(eager, x)
    np.testing.assert_array_equal(eager, stride)
    for chunks in [(7, 5, 9)[-len(shape):], (1, 12, 7)[-len(shape):]]:
        lazy = omescale.downsample(da.from_array(x, chunks=chunks), factors, method="nearest")
        np.testing.assert_array_equal(compute_checked(lazy), stride)
