"""The built-in synthetic sample: lazy, deterministic, chunking-independent, realistic."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from omescale.errors import OmescaleError
from omescale.sample import SAMPLE_PHYSICAL_SIZES, sample, sample_image


def test_lazy_one_task_per_chunk():
    img = sample((32, 300, 260), chunks=(16, 128, 128))
    assert isinstance(img, da.Array)
    assert img.dtype == np.uint16
    assert img.numblocks == (2, 3, 3)
    assert len(img.__dask_graph__()) == 18


def test_deterministic_and_independent_of_chunking():
    a = sample((12, 200, 180)).compute()
    b = sample((12, 200, 180), chunks=(5, 33, 70)).compute()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample((12, 200, 180), seed=1).compute())


def test_looks_like_fluorescence():
    img = sample((16, 256, 256)).compute().astype(np.float64)
    background = np.median(img)
    assert 100 < background < 250  # a dark, noisy background ...
    assert img.max() > 5 * background  # ... with bright objects
    assert 0.02 < (img > 2 * background).mean() < 0.6  # covering part of the field
    noise = np.std(np.diff(img[8, :32, :32], axis=1))
    assert noise > 5  # not a smooth rendering
    assert np.abs(np.corrcoef(img[8, 100:200, 100:199].ravel(),
                              img[8, 100:200, 101:200].ravel())[0, 1]) > 0.5  # structure


def test_2d_and_metadata():
    s = sample_image((128, 96))
    assert s.axes == "yx" and s.data.shape == (128, 96)
    assert s.physical_sizes == {"y": SAMPLE_PHYSICAL_SIZES["y"], "x": SAMPLE_PHYSICAL_SIZES["x"]}
    assert s.units == {"y": "micrometer", "x": "micrometer"}
    assert sample_image((4, 64, 64)).axes == "zyx"


@pytest.mark.parametrize("shape", [(8,), (2, 3, 4, 5), (0, 8, 8)])
def test_bad_shapes(shape):
    with pytest.raises(OmescaleError):
        sample(shape)


def test_a_huge_sample_costs_nothing_until_its_chunks_are_computed():
    # The objects are drawn per tile by the chunks that need them: building a 128 GiB sample
    # holds no object table (it was ~400 MiB here, and 22 GB for 4096x65536x65536), and one
    # chunk of it is a normal image. A chunk far from the origin draws only its neighbours.
    import tracemalloc

    tracemalloc.start()
    img = sample((256, 16384, 16384))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 2**20
    far = img[128:144, 8000:8256, 9000:9256].compute().astype(np.float64)
    assert far.max() > 4 * np.median(far)
