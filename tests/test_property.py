"""Property tests (hypothesis): on random shapes, ragged chunkings down to 1, factors, methods
and dtypes the lazy result equals the eager one and the whole-array reference (SPEC section 4).

Integer levels are each within 1 grey level of the reference per pixel, every differing pixel
of a single level is a rounding tie of the reference's float result, and the 99.9 %-exact share
is asserted over all the pixels of a method's examples (``references.Population`` says why).

Derandomized, so CI runs the same examples every time. Two profiles: ``quick`` (8 examples per
method, always) and ``full`` (100 per method, marked ``slow``: CI runs it; skip it locally with
``-m "not slow"``). Shapes reach 200 along an axis; the number of pixels and of input blocks is
capped so that the full profile stays around two minutes on two cores.
"""

from __future__ import annotations

import itertools
import math

import dask
import dask.array as da
import numpy as np
import pytest
from conftest import make_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from references import (
    REFERENCES,
    Population,
    assert_matches_reference,
    assert_ties,
    assert_within_spec,
    is_exact,
    reference_levels,
)

import omescale

METHODS = [m.value for m in omescale.Methods]
SMALL_DTYPES = ["uint8", "int16"]
DTYPES = ["uint8", "uint16", "int16", "int32", "float32", "float64"]
MAX_SIDE = 200
MAX_PIXELS = 6_000
MAX_BLOCKS = 256

PROFILES = [
    pytest.param(8, id="quick"),
    pytest.param(100, marks=pytest.mark.slow, id="full"),
]


def _settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )


@st.composite
def ragged_chunks(draw, n: int, most: int = 16) -> tuple[int, ...]:
    """A partition of ``n`` into at most ``most`` positive chunk sizes: regular (size 1 when
    ``n <= most``) or ragged with random cuts (adjacent cuts give chunks of 1)."""
    if n == 1:
        return (1,)
    least = math.ceil(n / most)
    if draw(st.booleans()):
        size = draw(st.integers(least, n))
        return (size,) * (n // size) + ((n % size,) if n % size else ())
    cuts = draw(st.lists(st.integers(1, n - 1), unique=True, max_size=min(n - 1, most - 1)))
    edges = [0, *sorted(cuts), n]
    sizes = [b - a for a, b in itertools.pairwise(edges)]
    if len(sizes) > most or max(sizes) < least:
        return (n,)
    return tuple(sizes)


@st.composite
def shapes(draw, lo: int = 1) -> tuple[int, ...]:
    """1-D and 2-D mostly (3-D one time in five), up to ``MAX_SIDE`` along an axis and
    ``MAX_PIXELS`` in all."""
    ndim = draw(st.sampled_from([1, 2, 2, 2, 3]))
    shape: list[int] = []
    for axis in range(ndim):
        left = MAX_PIXELS // math.prod(shape) if shape else MAX_PIXELS
        room = max(lo, min(MAX_SIDE, left // max(1, lo ** (ndim - axis - 1))))
        shape.append(draw(st.integers(lo, room)))
    return tuple(shape)


def chunkings(draw, shape) -> tuple[tuple[int, ...], ...]:
    """Ragged chunks per axis with at most ``MAX_BLOCKS`` blocks in all."""
    per_axis = max(1, int(MAX_BLOCKS ** (1 / len(shape))))
    return tuple(draw(ragged_chunks(n, per_axis)) for n in shape)


@st.composite
def cases(draw, method: str):
    shape = draw(shapes())
    factors = tuple(draw(st.integers(1, min(n, 5))) for n in shape)
    chunks = chunkings(draw, shape)
    label_safe = method in ("nearest", "mode", "min", "max")
    dtypes = [*SMALL_DTYPES, *DTYPES, *(["bool"] if label_safe else [])]
    dtype = draw(st.sampled_from(dtypes))
    order = draw(st.sampled_from([None, 0, 1, 2, 3, 5])) if method == "zoom" else None
    seed = draw(st.integers(0, 2**16))
    return shape, factors, chunks, dtype, order, seed


def _check_blocks(block, dtype, block_info=None):
    assert block.shape == tuple(block_info[None]["chunk-shape"]), "declared chunk shape"
    assert block.dtype == dtype
    return block


def _compute_checked(y: da.Array) -> np.ndarray:
    """Compute once, checking every block's declared shape and dtype on the way."""
    return y.map_blocks(_check_blocks, y.dtype, dtype=y.dtype).compute()


@pytest.mark.parametrize("examples", PROFILES)
@pytest.mark.parametrize("method", METHODS)
def test_lazy_equals_eager_and_reference(method, examples):
    # Every method gets its own examples (a drawn method would mostly shrink to the first).
    population = Population()

    @_settings(examples)
    @given(cases(method))
    def check(case):
        _one_case(method, *case, population=population)

    check()
    population.check(f"{method}, {examples} examples")


def _one_case(method, shape, factors, chunks, dtype, order, seed, population):
    x = make_image(shape, dtype, seed=seed)
    eager = omescale.downsample(x, factors, method=method, order=order)
    lazy = omescale.downsample(da.from_array(x, chunks=chunks), factors, method=method,
                               order=order)
    assert isinstance(lazy, da.Array)
    assert lazy.dtype == eager.dtype and lazy.shape == eager.shape
    computed = _compute_checked(lazy)
    if method == "zoom" and (order or 1) >= 2:
        # The spline prefilter's reach never ends: its halo is cut where the error is below
        # SPEC's tolerance, so chunk invariance holds to that tolerance, not bit for bit.
        assert_within_spec(computed, eager, what="zoom chunk invariance")
    else:
        np.testing.assert_array_equal(computed, eager)
    _, ref = reference_levels(method, x, [factors], order)
    assert_matches_reference(computed, ref, method, source=x, population=population)
    if ref.dtype.kind in "iu" and not is_exact(method, ref.dtype):
        assert_ties(computed, ref, REFERENCES[method](x, factors, order), what=method)


@st.composite
def two_level_cases(draw):
    shape = draw(st.sampled_from([2, 2, 3]).flatmap(
        lambda ndim: st.tuples(*[st.integers(2, 60 if ndim == 2 else 16)] * ndim)))
    f1 = tuple(draw(st.integers(1, min(n, 3))) for n in shape)
    level1 = tuple(math.ceil(n / f) for n, f in zip(shape, f1, strict=True))
    f2 = tuple(draw(st.integers(1, min(n, 3))) for n in level1)
    chunks = chunkings(draw, shape)
    # Level blocks down to 1 pixel, at most 4 per axis (few tasks: levels are small).
    level_chunks = tuple(draw(st.integers(max(1, math.ceil(n / 4)), 16))
                         for n in level1)
    dtype = draw(st.sampled_from(["uint8", "uint16", "float32"]))
    return shape, f1, f2, chunks, level_chunks, dtype


TWO_LEVEL_PROFILES = [
    pytest.param(4, id="quick"),
    pytest.param(60, marks=pytest.mark.slow, id="full"),
]


@pytest.mark.parametrize("examples", TWO_LEVEL_PROFILES)
@pytest.mark.parametrize("method", METHODS)
def test_two_levels_any_chunking(method, examples):
    """Both levels of a lazy pyramid on a ragged input chunking (its levels with their own
    block shape) match the reference pyramid chained from the reference's own level 1."""

    population = Population()

    @_settings(examples)
    @given(two_level_cases())
    def check(case):
        shape, f1, f2, chunks, level_chunks, dtype = case
        axes = "yx" if len(shape) == 2 else "zyx"
        cumulative = [f1, tuple(a * b for a, b in zip(f1, f2, strict=True))]
        scale_factors = [dict(zip(axes, c, strict=True)) for c in cumulative]
        x = make_image(shape, dtype, seed=sum(shape))
        levels = omescale.pyramid(da.from_array(x, chunks=chunks), scale_factors,
                                  method=method, axes=axes, chunks=level_chunks)
        refs = reference_levels(method, x, [f1, f2])
        assert len(levels) == len(refs) == 3
        computed = dask.compute(*[lv.map_blocks(_check_blocks, lv.dtype, dtype=lv.dtype)
                                  for lv in levels])
        for k, (level, ref) in enumerate(zip(computed, refs, strict=True)):
            assert_matches_reference(level, ref, method, source=x,
                                     population=population, what=f"{method} level {k}")

    check()
    population.check(f"{method}, two levels, {examples} examples")
