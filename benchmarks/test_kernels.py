"""Micro-benchmarks of each kernel, so that regressions show (pytest-benchmark).

Run ``python -m pytest benchmarks/ --benchmark-only`` (add ``--benchmark-autosave`` to keep a
history and ``--benchmark-compare`` to diff against it). These are never part of the test suite:
``tests/`` is the configured test path and nothing here asserts a time.

* ``test_kernel``: one level of every method on one storage chunk in memory (the NumPy kernel
  that each dask task runs, called on the whole array as ``omescale.downsample`` does).
* ``test_kernel_2d``: the same for a 2048 x 2048 plane region.
* ``test_reference``: the scikit-image call each method reproduces, on the same array, for scale.
* ``test_block_task``: one output block computed from its region of a larger image (the halo
  and global-coordinate bookkeeping a task pays on top of the kernel).
* ``test_chunk_read`` / ``test_chunk_write``: one 16x512x512 uint16 blosc-lz4 chunk read or
  written on a local store, by omescale's direct chunk I/O and by zarr (``array[region]``).
* ``test_graph_build``: building the lazy pyramid of a virtual 1 TiB volume (planning must
  stay O(output chunks) and take seconds at most).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.workloads import make_block

pytest.importorskip("pytest_benchmark")
omescale = pytest.importorskip("omescale")

CHUNK_3D = (16, 512, 512)
FACTORS_3D = (1, 2, 2)
METHODS = ["nearest", "local_mean", "resize", "gaussian", "zoom", "laplacian", "mode", "min",
           "max", "median"]


@pytest.fixture(scope="module")
def chunk() -> np.ndarray:
    """One 16 x 512 x 512 uint16 chunk of the benchmark volume (8 MiB)."""
    return make_block((64, 4096, 4096), (0, 0, 0), CHUNK_3D)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A 16 x 1024 x 1024 uint16 region of the benchmark volume (32 MiB)."""
    return make_block((64, 4096, 4096), (0, 0, 0), (16, 1024, 1024))


@pytest.mark.parametrize("method", METHODS)
def test_kernel(benchmark, chunk: np.ndarray, method: str) -> None:
    benchmark.group = "kernel 16x512x512 uint16 -> 16x256x256"
    out = benchmark(omescale.downsample, chunk, FACTORS_3D, method=method)
    assert out.shape == (16, 256, 256)


@pytest.fixture(scope="module")
def plane() -> np.ndarray:
    """A 2048 x 2048 uint16 region of the benchmark plane (8 MiB)."""
    return make_block((16384, 16384), (0, 0), (2048, 2048))


@pytest.mark.parametrize("method", ["nearest", "local_mean", "resize", "gaussian"])
def test_kernel_2d(benchmark, plane: np.ndarray, method: str) -> None:
    benchmark.group = "kernel 2048x2048 uint16 -> 1024x1024"
    out = benchmark(omescale.downsample, plane, (2, 2), method=method)
    assert out.shape == (1024, 1024)


REFERENCES = {
    "nearest": lambda x: _sk().resize(x, (16, 256, 256), order=0, mode="reflect",
                                      anti_aliasing=False, preserve_range=True),
    "resize": lambda x: _sk().resize(x, (16, 256, 256), order=1, mode="reflect",
                                     anti_aliasing=True, preserve_range=True),
    "local_mean": lambda x: _sk().downscale_local_mean(x, FACTORS_3D),
    "gaussian": lambda x: np.stack([_sk().pyramid_reduce(p, 2, order=1, mode="reflect",
                                                         preserve_range=True) for p in x]),
}


def _sk():
    import skimage.transform

    return skimage.transform


@pytest.mark.parametrize("method", sorted(REFERENCES))
def test_reference(benchmark, chunk: np.ndarray, method: str) -> None:
    benchmark.group = "kernel 16x512x512 uint16 -> 16x256x256"
    out = benchmark(REFERENCES[method], chunk)
    assert out.shape == (16, 256, 256)


@pytest.mark.parametrize("method", ["nearest", "local_mean", "resize", "gaussian"])
def test_block_task(benchmark, image: np.ndarray, method: str) -> None:
    """One 16x256x256 output block from the middle of a 16x1024x1024 image, via dask."""
    import dask
    import dask.array as da

    lazy = omescale.downsample(da.from_array(image, chunks=CHUNK_3D), FACTORS_3D,
                               method=method, chunks=(16, 256, 256))
    block = lazy.blocks[0, 1, 1]
    benchmark.group = "one task: 16x256x256 block of a 16x1024x1024 image"
    out = benchmark(dask.compute, block, scheduler="sync")
    assert out[0].shape == (16, 256, 256)


@pytest.mark.parametrize("method", ["local_mean", "resize"])
def test_graph_build(benchmark, method: str) -> None:
    """Lazy pyramid of a virtual 1 TiB volume (256 x 65536 x 32768 uint16): graph only."""
    import dask.array as da

    virtual = da.zeros((256, 65536, 32768), dtype=np.uint16, chunks=CHUNK_3D)

    def build() -> int:
        levels = omescale.pyramid(virtual, method=method, max_layer=5)
        return sum(lv.npartitions for lv in levels)

    benchmark.group = "graph build, 1 TiB virtual volume"
    tasks = benchmark.pedantic(build, rounds=3, iterations=1)
    assert tasks > 0


@pytest.fixture(scope="module")
def stored_chunk(tmp_path_factory, chunk: np.ndarray):
    """A zarr array of one stored chunk (format 3, blosc-lz4 with shuffle, omescale's default)."""
    import zarr

    from omescale.ngff.codecs import compressors

    array = zarr.create_array(tmp_path_factory.mktemp("chunk") / "a.zarr", shape=chunk.shape,
                              chunks=chunk.shape, dtype=chunk.dtype,
                              compressors=compressors("blosc-lz4", 3, chunk.dtype))
    array[...] = chunk
    return array


@pytest.mark.parametrize("path", ["direct", "zarr"])
def test_chunk_read(benchmark, stored_chunk, chunk: np.ndarray, path: str) -> None:
    from omescale.ngff.chunk_io import chunk_codec, read_chunk

    benchmark.group = "read one 16x512x512 uint16 blosc-lz4 chunk"
    codec = chunk_codec(stored_chunk)
    read = (lambda: read_chunk(stored_chunk, codec, (0, 0, 0))) if path == "direct" else (
        lambda: stored_chunk[...])
    np.testing.assert_array_equal(benchmark(read), chunk)


@pytest.mark.parametrize("path", ["direct", "zarr"])
def test_chunk_write(benchmark, stored_chunk, chunk: np.ndarray, path: str) -> None:
    from omescale.ngff.chunk_io import chunk_codec, write_chunk

    benchmark.group = "write one 16x512x512 uint16 blosc-lz4 chunk"
    codec = chunk_codec(stored_chunk)

    def write() -> None:
        if path == "direct":
            write_chunk(stored_chunk, codec, (0, 0, 0), chunk)
        else:
            stored_chunk[...] = chunk

    benchmark(write)
    np.testing.assert_array_equal(stored_chunk[...], chunk)
