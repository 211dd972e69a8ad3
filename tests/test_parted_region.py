"""A region left in its parts crops exactly like the assembled region (NumPy slicing)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from omescale.kernels.parted import PartedRegion


def _cuts(draw, n: int) -> list[int]:
    inner = draw(st.lists(st.integers(1, n - 1), max_size=3, unique=True)) if n > 1 else []
    return [0, *sorted(inner), n]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)))
def test_any_box_equals_the_assembled_crop(data, shape):
    whole = np.arange(int(np.prod(shape)), dtype=np.uint16).reshape(shape)
    cuts = [_cuts(data.draw, n) for n in shape]
    views, targets = [], []
    for pieces in itertools.product(*(list(itertools.pairwise(c)) for c in cuts)):
        target = tuple(slice(a, b) for a, b in pieces)
        views.append(whole[target].copy())
        targets.append(target)
    region = PartedRegion(tuple(views), tuple(targets), shape)
    box = []
    for n in shape:
        a = data.draw(st.integers(0, n - 1))
        box.append(slice(a, data.draw(st.integers(a + 1, n))))
    np.testing.assert_array_equal(region[tuple(box)], whole[tuple(box)])
    assert region.dtype == whole.dtype and region.ndim == 3
