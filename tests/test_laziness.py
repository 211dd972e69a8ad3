"""Laziness: one output pixel of a 2 TB virtual input is cheap, graphs are O(output chunks),
and nothing is computed while a graph is built. "Cheap" is counted, never timed (SPEC section 8):
tasks in the graph, tasks run, input chunks read and the size of every region read.

The input is a virtual 10^4 x 10^4 x 10^4 uint16 array (2 TB) read through ``da.from_array``:
it records every read, so the tests see exactly which input chunks a computation touched,
independently of how dask names its keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import product

import dask
import dask.array as da
import numpy as np
import pytest
from dask.callbacks import Callback

import omescale
from omescale.lift.graph import RegionSpec

N = 10_000
CHUNK = 500
PIXEL = (1234, 2345, 4321)  # an output pixel well inside, away from chunk borders

# Independent bound on how far (in input pixels) a task may read past f*o0 .. f*o1 for factor 2:
# Gaussian radius int(4 sigma + 0.5) plus the linear interpolation stencil (and one for rounding).
#   resize: sigma = (N/M - 1)/2 = 0.5 -> radius 2;  gaussian: sigma = 2f/6 = 2/3 -> radius 3.
HALO_BOUND = {"nearest": 1, "local_mean": 0, "resize": 2 + 2, "gaussian": 3 + 2}


class VirtualArray:
    """A huge read-only array of zeros that records every region read from it."""

    def __init__(self, shape, dtype=np.uint16):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.reads: list[tuple[slice, ...]] = []

    def __getitem__(self, index):
        index = tuple(index)
        shape = tuple(len(range(*s.indices(n))) for s, n in zip(index, self.shape, strict=True))
        if math.prod(shape):  # dask probes empty slices for metadata; those read nothing
            self.reads.append(index)
        return np.broadcast_to(np.zeros((), self.dtype), shape)


def _refuse(*args, **kwargs):
    raise AssertionError("something was computed while the graph was being built")


def _virtual(chunks=CHUNK):
    src = VirtualArray((N, N, N))
    return src, da.from_array(src, chunks=chunks, name="virtual-input", asarray=False)


def _region_specs(obj) -> Iterator[RegionSpec]:
    """Every RegionSpec carried by a task (the lift's description of what the task reads)."""
    if isinstance(obj, RegionSpec):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _region_specs(item)
    elif hasattr(obj, "args"):  # dask Task objects
        for item in getattr(obj, "args", ()):
            yield from _region_specs(item)


def _is_block(key, y) -> bool:
    return isinstance(key, tuple) and key[0] == y.name


def _is_halo(key) -> bool:
    return isinstance(key, tuple) and str(key[0]).endswith("-halo")


def _block_tasks(y) -> int:
    """Tasks of ``y``'s own layer that compute one of its blocks."""
    return sum(_is_block(k, y) for k in y.__dask_graph__().layers[y.name])


def _chunks_meeting(lo: int, hi: int, size: int = CHUNK) -> set[int]:
    return set(range(max(lo, 0) // size, (min(hi, N) - 1) // size + 1))


@pytest.mark.parametrize("method", ["resize", "nearest", "local_mean", "gaussian"])
def test_one_pixel_of_a_2tb_volume(method):
    src, x = _virtual()
    with dask.config.set(scheduler=_refuse):
        y = omescale.downsample(x, (2, 2, 2), method=method)
        pixel = y[PIXEL]
    assert src.reads == [], "the input was read while building the graph"
    assert y.shape == (N // 2,) * 3 and y.dtype == np.uint16
    # One layer: one task per output block, here (5000/250)^3, plus halo copies.
    assert y.npartitions == 20**3
    assert _block_tasks(y) == y.npartitions
    assert len(y.__dask_graph__()) - len(x.__dask_graph__()) <= 27 * y.npartitions

    executed: list = []
    with Callback(pretask=lambda key, dsk, state: executed.append(key)):
        value = pixel.compute(scheduler="threads", optimize_graph=False)
    assert value == 0

    # Which input chunks were read, and how much of them.
    read_chunks = {tuple(s.start // CHUNK for s in r) for r in src.reads}
    assert len(read_chunks) == len(src.reads), "an input chunk was read twice"
    out_block = tuple(i // 250 for i in PIXEL)
    ours = [k for k in executed if isinstance(k, tuple) and k[0] == y.name]
    assert ours == [(y.name, *out_block)], "exactly one output block is computed"
    # Every read chunk lies within the block's input footprint widened by the method's halo.
    h = HALO_BOUND[method]
    allowed = [_chunks_meeting(2 * b * 250 - h, 2 * (b + 1) * 250 + h) for b in out_block]
    for chunk in read_chunks:
        assert all(c in allowed[a] for a, c in enumerate(chunk)), (chunk, allowed)
    # The footprint without halo must be read (the pixel depends on it).
    needed = [_chunks_meeting(2 * b * 250 + 1, 2 * (b + 1) * 250 - 1) for b in out_block]
    assert set(product(*needed)) <= read_chunks
    assert len(read_chunks) <= 27
    if method in ("nearest", "local_mean"):
        assert len(read_chunks) == 1  # no halo: one input chunk per output block
    # Few tasks ran: the input reads, their halo copies (one block needs at most one part of
    # each chunk), the block, the final getitem (and dask's bookkeeping).
    halos = [k for k in executed if _is_halo(k)]
    assert len(halos) <= len(read_chunks)
    assert len(executed) - len(halos) <= len(read_chunks) + 3, executed

    # No task's region is larger than its output range times f plus the halo bound.
    task = dict(pixel.__dask_graph__())[(y.name, *out_block)]
    specs = list(_region_specs(task))
    if method in ("resize", "gaussian"):
        assert specs, "a halo task carries the region it reads"
    for spec in specs:
        for a, b in enumerate(out_block):
            lo, hi = spec.starts[a], spec.starts[a] + spec.shape[a]
            assert 2 * b * 250 - h <= lo and hi <= 2 * (b + 1) * 250 + h, (a, lo, hi)


@pytest.mark.parametrize("method", ["resize", "nearest", "local_mean", "gaussian", "zoom"])
def test_building_computes_nothing(method):
    src, x = _virtual(chunks=(1000, 1000, 1000))
    with dask.config.set(scheduler=_refuse):
        levels = omescale.pyramid(x, [2, 4, 8], method=method, axes="zyx")
        one = omescale.downsample(x, (1, 3, 5), method=method)
    assert src.reads == []
    assert [lv.shape for lv in levels] == [(N, N, N), (N, 5000, 5000), (N, 2500, 2500),
                                           (N, 1250, 1250)]
    assert one.shape == (N, math.ceil(N / 3), N // 5)


SIZES = [((1000, 1000), (100, 100)), ((1237, 911), (128, 97)), ((4096, 3000), (256, 512)),
         ((57, 300, 211), (10, 64, 33))]


@pytest.mark.parametrize("method", [m.value for m in omescale.Methods])
@pytest.mark.parametrize(("shape", "chunks"), SIZES)
def test_task_count_equals_output_blocks(method, shape, chunks):
    x = da.zeros(shape, dtype=np.uint16, chunks=chunks)
    for f in (2, 3):
        factors = (1,) * (len(shape) - 2) + (f, f)
        y = omescale.downsample(x, factors, method=method)
        graph = y.__dask_graph__()
        assert set(graph.layers) == {x.name, y.name}, "one new layer, no rechunk pass"
        assert _block_tasks(y) == y.npartitions
        # Besides the block tasks only halo copies (small parts of input chunks), a bounded
        # number per block: the graph is O(output blocks).
        halos = len(graph.layers[y.name]) - y.npartitions
        assert halos <= (3 ** len(shape) - 1) * y.npartitions
        assert all(_is_halo(k) for k in graph.layers[y.name] if not _is_block(k, y))
        expected_blocks = math.prod(
            math.ceil(math.ceil(n / g) / max(1, math.ceil(c / g)))
            for n, c, g in zip(shape, chunks, factors, strict=True)
        )
        assert y.npartitions == expected_blocks


def test_pyramid_graph_is_sum_of_levels():
    x = da.zeros((3000, 2000), dtype=np.uint16, chunks=(256, 256))
    levels = omescale.pyramid(x, [2, 4, 8, 16], method="resize")
    graph = levels[-1].__dask_graph__()
    assert sum(_block_tasks(lv) for lv in levels) == sum(lv.npartitions for lv in levels)
    assert len(graph) <= 9 * sum(lv.npartitions for lv in levels)
    # Graph size grows with the number of chunks, not the number of pixels.
    small = omescale.downsample(da.zeros((512, 512), np.uint16, chunks=256), (2, 2))
    big = omescale.downsample(da.zeros((512 * 64, 512 * 64), np.uint16, chunks=256 * 64), (2, 2))
    assert len(small.__dask_graph__()) == len(big.__dask_graph__())
