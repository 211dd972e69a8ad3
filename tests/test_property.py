"""Property tests (hypothesis): on random shapes, ragged chunkings, factors, methods and dtypes
the lazy result equals the eager one bit for bit and the whole-array reference (SPEC section 4).

Derandomized, so CI runs the same examples every time: 8 per method plus 12 two-level cases.
"""

from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
import pytest
from conftest import make_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from references import assert_matches_reference, expected

import omescale

METHODS = [m.value for m in omescale.Methods]
DTYPES = ["uint8", "uint16", "int16", "float32", "float64"]

SETTINGS = settings(
    max_examples=8,  # per method: 80 examples in all
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def ragged_chunks(draw, n: int) -> tuple[int, ...]:
    """A random partition of ``n`` into positive chunk sizes (any sizes, not only regular)."""
    if n == 1:
        return (1,)
    cuts = draw(st.lists(st.integers(1, n - 1), unique=True, max_size=min(n - 1, 8)))
    edges = [0, *sorted(cuts), n]
    return tuple(b - a for a, b in itertools.pairwise(edges))


@st.composite
def cases(draw, method: str):
    ndim = draw(st.integers(1, 3))
    # Keep 3-D volumes moderate so ~100 examples finish well within a minute.
    top = {1: 40, 2: 40, 3: 24}[ndim]
    shape = tuple(draw(st.integers(1, top)) for _ in range(ndim))
    factors = tuple(draw(st.integers(1, min(n, 5))) for n in shape)
    chunks = tuple(draw(ragged_chunks(n)) for n in shape)
    dtype = draw(st.sampled_from(DTYPES))
    order = draw(st.sampled_from([None, 0, 1, 2, 3, 5])) if method == "zoom" else None
    seed = draw(st.integers(0, 2**16))
    return shape, factors, chunks, dtype, order, seed


@pytest.mark.parametrize("method", METHODS)
def test_lazy_equals_eager_and_reference(method):
    # Every method gets its own examples (a drawn method would mostly shrink to the first).
    _check_method(method)


def _check_method(method):
    @SETTINGS
    @given(cases(method))
    def check(case):
        _one_case(method, *case)

    check()


def _one_case(method, shape, factors, chunks, dtype, order, seed):
    x = make_image(shape, dtype, seed=seed)
    eager = omescale.downsample(x, factors, method=method, order=order)
    lazy = omescale.downsample(da.from_array(x, chunks=chunks), factors, method=method,
                               order=order)
    assert isinstance(lazy, da.Array)
    assert lazy.dtype == eager.dtype and lazy.shape == eager.shape
    computed = lazy.compute()
    # Declared chunks are what the blocks really are.
    for index in np.ndindex(*lazy.numblocks):
        block = lazy.blocks[index]
        assert block.compute().shape == block.shape
    if method == "zoom" and (order or 1) >= 2:
        scale = max(1.0, float(np.abs(x.astype(np.float64)).max()))
        np.testing.assert_allclose(computed, eager, rtol=1e-12, atol=1e-12 * scale)
    else:
        np.testing.assert_array_equal(computed, eager)
    assert_matches_reference(computed, expected(method, x, factors, order), method, x)


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    st.tuples(st.integers(2, 40), st.integers(2, 40)),
    st.sampled_from(["resize", "nearest", "local_mean", "gaussian", "mode"]),
    st.data(),
)
def test_two_levels_any_chunking(shape, method, data):
    """A chained second level is still chunk-invariant (level 1 has its own ragged chunks)."""
    x = make_image(shape, "uint16", seed=sum(shape))
    f1 = (min(2, shape[0]), min(2, shape[1]))
    eager = omescale.downsample(x, f1, method=method)
    chunks = tuple(data.draw(ragged_chunks(n)) for n in shape)
    lazy = omescale.downsample(da.from_array(x, chunks=chunks), f1, method=method)
    f2 = tuple(data.draw(st.integers(1, min(n, 3))) for n in eager.shape)
    out_chunks = tuple(data.draw(st.integers(1, n)) for n in eager.shape)
    second = omescale.downsample(lazy.rechunk(out_chunks), f2, method=method).compute()
    np.testing.assert_array_equal(second, omescale.downsample(eager, f2, method=method))
    assert_matches_reference(second, expected(method, eager, f2), method, eager)
