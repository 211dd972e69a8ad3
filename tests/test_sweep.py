"""Sweep pieces and their order: held data stays about one row of chunks, whatever the width.

Halo methods (resize, gaussian) need a few rows of the next row of chunks. Before the sweep,
dask kept several whole rows of input chunks alive for those halos (measured: 185 chunks held
for a 32-chunk-wide row), so memory grew with the image width. Held data is measured as in
``test_tiles``: the write runs on dask's synchronous scheduler and a callback sums the bytes of
every result dask keeps between tasks.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from dask.callbacks import Callback
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tiles import HeldBytes

import omescale
from omescale.api import level_kernel
from omescale.inputs.source import from_zarr_array
from omescale.lift.sweep import parallel_slots, sweep_axis, sweep_lag, sweep_pieces

CHUNK = (4, 64, 64)


def _held_chunks(tmp_path, width: int, method: str) -> float:
    rng = np.random.default_rng(width)
    data = rng.integers(0, 4000, size=(CHUNK[0], width, width), dtype=np.uint16)
    z = zarr.create_array(tmp_path / f"in{width}.zarr", shape=data.shape, dtype=data.dtype,
                          chunks=CHUNK)
    z[:] = data
    # One strip as wide as the image: this measures the sweep alone (test_strips: strips).
    with dask.config.set({"omescale.strip-blocks": 10**6}):
        pending = omescale.write_pyramid(from_zarr_array(z, "in"), tmp_path / f"out{width}.zarr",
                                         method=method, scale_factors=[2, 4, 8, 16], axes="zyx",
                                         compute=False)
    with HeldBytes() as cb:
        dask.compute(pending, scheduler="sync")
    return cb.peak / (np.prod(CHUNK) * 2)


@pytest.mark.parametrize("method", ["resize", "gaussian"])
def test_held_data_is_about_one_row_of_chunks(tmp_path, method):
    for width in (512, 2048):
        row = width // CHUNK[2]
        held = _held_chunks(tmp_path, width, method)
        # One row of partial output blocks per level (about one input row in all) plus a few
        # chunks in flight; it was 5.8 rows at width 2048 before the sweep.
        assert held <= 1.3 * row + 8, (width, row, held)


def _resize_reach(shape, factor):
    kernel = level_kernel("resize", shape, (factor,), np.dtype(np.uint16), None)
    return lambda o0, o1: kernel.reach(0, o0, o1)


def _chunks(draw, n):
    sizes = []
    while sum(sizes) < n:
        sizes.append(min(draw(st.integers(3, 40)), n - sum(sizes)))
    return tuple(sizes)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_pieces_refine_blocks_and_each_ends_in_one_input_chunk(data):
    n = data.draw(st.integers(8, 300))
    factor = data.draw(st.sampled_from([2, 3, 4]))
    m = -(-n // factor)
    in_chunks = _chunks(data.draw, n)
    out_chunks = _chunks(data.draw, m)
    reach = _resize_reach((n,), factor)
    pieces = sweep_pieces(reach, out_chunks, in_chunks)
    assert sum(pieces) == m and all(p > 0 for p in pieces)
    borders = np.cumsum(in_chunks)
    cuts = set(np.cumsum(pieces).tolist())
    assert set(np.cumsum(out_chunks).tolist()) <= cuts  # pieces nest inside blocks
    start = 0
    for p in pieces:
        ends = {int(np.searchsorted(borders, reach(o, o + 1)[1])) for o in range(start, start + p)}
        assert len(ends) == 1, (start, p, ends)  # every row of a piece ends in one chunk
        start += p


def test_sweep_axis_is_the_first_axis_a_kernel_reaches_across():
    kernel = level_kernel("resize", (8, 256, 256), (1, 2, 2), np.dtype(np.uint16), None)
    found = sweep_axis(kernel.reach, ((8,), (64,) * 2, (64,) * 2),
                       ((4, 4), (64,) * 4, (64,) * 4))
    assert found is not None and found[0] == 1 and sum(found[1]) == 128
    mean = level_kernel("local_mean", (8, 256, 256), (1, 2, 2), np.dtype(np.uint16), None)
    assert sweep_axis(mean.reach, ((8,), (64,) * 2, (64,) * 2),
                      ((4, 4), (128,) * 2, (128,) * 2)) is None


def test_lag_follows_the_scheduler():
    with dask.config.set(scheduler="sync"):
        assert parallel_slots() == 1 and sweep_lag() == 1
    with dask.config.set(scheduler="threads", num_workers=5):
        assert parallel_slots() == 5 and sweep_lag() == 4
    with dask.config.set({"omescale.sweep-lag": 7}):
        assert sweep_lag() == 7


def test_lazy_levels_keep_blocks_independent():
    """Only the writer chains pieces: a block of a lazy ``pyramid()`` level computes alone."""
    x = da.from_array(np.random.default_rng(1).integers(0, 4000, (1024, 1024), np.uint16),
                      chunks=64)
    level = omescale.pyramid(x, [2], method="resize")[1]
    executed: list = []
    with Callback(pretask=lambda key, dsk, state: executed.append(key)):
        level.blocks[-1, -1].compute(scheduler="sync", optimize_graph=False)
    kernels = [k for k in executed if isinstance(k, tuple) and k[0].startswith("resize-1")]
    # The block and its halo copies (6 measured); chained pieces would run all 1461 before it.
    assert len(kernels) <= 12, len(kernels)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_swept_writes_equal_the_whole_array_pyramid(tmp_path_factory, data):
    """The writer's pieces and row order change nothing: any shape, any chunking."""
    shape = (data.draw(st.integers(20, 90)), data.draw(st.integers(20, 90)))
    in_chunks = (data.draw(st.integers(5, 40)), data.draw(st.integers(5, 40)))
    out_chunks = (data.draw(st.integers(4, 32)), data.draw(st.integers(4, 32)))
    method = data.draw(st.sampled_from(["resize", "gaussian", "laplacian"]))
    image = np.random.default_rng(shape[0]).integers(0, 60000, shape, dtype=np.uint16)
    out = tmp_path_factory.mktemp("swept") / "img.zarr"
    with dask.config.set({"omescale.sweep-lag": data.draw(st.integers(1, 3))}):
        omescale.write_pyramid(da.from_array(image, chunks=in_chunks), out, method=method,
                               scale_factors=[2, 4], chunks=out_chunks)
    expected = omescale.pyramid(image, [2, 4], method=method)
    group = zarr.open_group(out, mode="r")
    for k, level in enumerate(expected):
        np.testing.assert_array_equal(group[str(k)][:], level)
