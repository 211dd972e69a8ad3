"""Streamed writes of a user's dask array: each unit reads its window as a slice of the user's
array, culled to the blocks it touches (omescale.lift.culled); same bytes as one graph."""

import tracemalloc

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes, zarr_input

import omescale
from omescale.errors import InvalidOptionError
from omescale.lift.culled import cullable, culled_window, holds_chunks
from omescale.stream.units import Unit

RNG = np.random.default_rng(1617)
IMAGE = RNG.integers(0, 60000, size=(3, 150, 167), dtype=np.uint16)
SMALL_UNITS = {"omescale.unit-bytes": 5_000}
KW = {"chunks": (2, 16, 16), "scale_factors": [2, 4, 8]}
V3, V2 = {"zarr_format": 3}, {"zarr_format": 2}
SHARDED = {"zarr_format": 3, "shards": (2, 32, 32)}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return zarr_input(tmp_path_factory.mktemp("dask-input") / "in.zarr", IMAGE, (2, 32, 32))


def _computed(path):
    """A user's dask array that omescale does not read itself: flipped, in odd blocks."""
    return da.from_zarr(str(path))[:, ::-1, :].rechunk((2, 37, 41))


@pytest.mark.parametrize(("method", "layout"), [
    ("local_mean", V2), ("resize", V3), ("gaussian", SHARDED),
])
def test_streamed_dask_input_equals_one_graph_bit_for_bit(tmp_path, source, method, layout):
    kw = {**KW, **layout, "method": method}
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(_computed(source), tmp_path / "s.zarr", stream=True,
                                     compute=False, **kw)
        assert job.streamed and len(job.plan.stages) > 1
        assert all(n % s for n, s in zip(IMAGE.shape, job.plan.stages[0].size, strict=True))
        assert job.run() == job.plan.total_objects
    one = omescale.write_pyramid(_computed(source), tmp_path / "g.zarr", stream=False, **kw)
    assert one is None
    s, g = tree_bytes(tmp_path / "s.zarr"), tree_bytes(tmp_path / "g.zarr")
    assert s.keys() == g.keys() and len(g) > 30
    assert [k for k in g if s[k] != g[k]] == []
    assert is_complete(tmp_path / "s.zarr")


def test_culled_window_is_the_slice():
    x = da.from_array(IMAGE, chunks=(2, 37, 41)) * 3 - 7
    window = ((1, 3), (30, 111), (40, 42))
    part = culled_window(x, window)
    assert np.array_equal(part.compute(), x[1:3, 30:111, 40:42].compute())
    # Only the blocks the window touches, and their sources: 2 x 3 x 2 blocks, 3 layers each.
    assert len(dict(part.__dask_graph__())) <= 3 * 12 + part.npartitions
    # Windows of one input computed together (the job record's fingerprint does this).
    other = ((0, 1), (0, 150), (160, 167))
    got = dask.compute(part, culled_window(x, other))
    assert np.array_equal(got[1], x[0:1, :, 160:167].compute())
    assert np.array_equal(got[0], x[1:3, 30:111, 40:42].compute())


def test_a_32_tib_dask_input_streams_in_units_of_a_small_graph(tmp_path):
    """32 TiB of a computed dask array (a million input blocks): the job plans and one unit's
    graph is built without materialising the input's graph."""
    x = da.zeros((4096, 65536, 65536), dtype="uint16", chunks=(64, 512, 512)) + 1
    job = omescale.write_pyramid(x, tmp_path / "out.zarr", compute=False, method="resize")
    assert job.streamed  # chosen by size
    work = job.stream.work
    tracemalloc.start()
    try:
        sizes = []
        for s, stage in enumerate(job.plan.stages):
            graph = work.graph(Unit(s, tuple(n // 2 for n in stage.count)))
            (optimized,) = dask.optimize(graph)  # dask's cull, as when the unit runs
            sizes.append(len(dict(optimized.__dask_graph__())))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(sizes) < 200
    assert peak < 8 * 2**20


def test_a_window_of_a_computed_zarr_read_never_lists_every_key():
    """``da.from_zarr(...)`` keeps its zarr array as a legacy graph value, which would make
    dask's cull list the keys of every layer (16 Ki blocks x 3 layers here; 28 s and 440 MiB
    at 32 TiB): ``cullable`` avoids it."""
    z = zarr.create_array(zarr.storage.MemoryStore(), shape=(1024, 16384, 16384),
                          chunks=(64, 512, 512), dtype="uint16", fill_value=7)
    x = da.from_zarr(z).map_blocks(np.add, np.uint16(1), dtype=np.uint16).transpose(0, 2, 1)
    window = ((60, 70), (1000, 1100), (500, 530))
    tracemalloc.start()
    try:
        part = culled_window(cullable(x), window)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    values = part.compute()
    assert values.shape == (10, 100, 30) and (values == 8).all()


def test_numpy_input_stays_one_graph(tmp_path):
    held = da.from_array(IMAGE, chunks=(2, 32, 32))
    assert holds_chunks(held + 1) and not holds_chunks(da.zeros(IMAGE.shape) + 1)
    with dask.config.set({"omescale.stream-objects": 10}):
        job = omescale.write_pyramid(held + 1, tmp_path / "a.zarr", compute=False, **KW)
        assert not job.streamed
        job.compute()
    with pytest.raises(InvalidOptionError, match="numpy"):
        omescale.write_pyramid(IMAGE, tmp_path / "b.zarr", stream=True, **KW)
