"""Independent tiles (z-slabs here) are written one after another: same output, less held.

The held-data figure is measured by running the write on dask's synchronous scheduler (one
worker, deterministic order) and summing the bytes of every result dask keeps at each step.
"""

from __future__ import annotations

import dask
import numpy as np
import pytest
import zarr
from dask.callbacks import Callback

import omescale
from omescale.inputs.source import from_zarr_array
from omescale.ngff.tiles import tile_axes
from omescale.plan import plan_pyramid


class HeldBytes(Callback):
    """Largest total size of the results dask holds between tasks."""

    def _start_state(self, dsk, state):
        self.peak = 0

    def _posttask(self, key, result, dsk, state, id):
        held = sum(v.nbytes for v in state["cache"].values() if isinstance(v, np.ndarray))
        self.peak = max(self.peak, held)


def _input(tmp_path, slabs: int, n: int = 256, chunk=(4, 32, 32)):
    rng = np.random.default_rng(slabs)
    data = rng.integers(0, 4000, size=(chunk[0] * slabs, n, n), dtype=np.uint16)
    z = zarr.create_array(tmp_path / f"in{slabs}.zarr", shape=data.shape, dtype=data.dtype,
                          chunks=chunk)
    z[:] = data
    return data, from_zarr_array(z, "in")


def _held(x, target, method) -> int:
    pending = omescale.write_pyramid(x, target, method=method, scale_factors=[2, 4, 8],
                                     axes="zyx", compute=False)
    with HeldBytes() as cb:
        dask.compute(pending, scheduler="sync")
    return cb.peak


@pytest.mark.parametrize("method", ["local_mean", "resize"])
def test_gated_write_equals_pyramid(tmp_path, method):
    data, x = _input(tmp_path, slabs=3)
    omescale.write_pyramid(x, tmp_path / "out.zarr", method=method, scale_factors=[2, 4, 8],
                           axes="zyx")
    expected = omescale.pyramid(data, [2, 4, 8], method=method, axes="zyx")
    group = zarr.open_group(tmp_path / "out.zarr", mode="r")
    for k, level in enumerate(expected):
        np.testing.assert_array_equal(group[str(k)][:], level)


@pytest.mark.parametrize("method", ["local_mean", "resize"])
def test_held_data_does_not_grow_with_slabs(tmp_path, method):
    one = _held(_input(tmp_path, slabs=1)[1], tmp_path / "one.zarr", method)
    four = _held(_input(tmp_path, slabs=4)[1], tmp_path / "four.zarr", method)
    # Without gating dask interleaved the slabs: about 2-3x the single-slab figure.
    assert four <= 1.25 * one, (one, four)


def test_tile_axes():
    def plan(factors, method="resize"):
        return plan_pyramid((64, 256, 256), np.dtype(np.uint16), axes="zyx",
                            scale_factors=factors, method=method, chunks=(16, 64, 64))

    blocks = [(16, 64, 64)] * 3
    assert tile_axes(plan([2, 4]), blocks) == (0,)
    assert tile_axes(plan([{"z": 2, "y": 2, "x": 2}, {"z": 4, "y": 4, "x": 4}]), blocks) == ()
    assert tile_axes(plan([2, 4], "laplacian"), blocks) == ()
    assert tile_axes(plan([2, 4]), [(16, 64, 64), (32, 64, 64), (16, 64, 64)]) == ()
