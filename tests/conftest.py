import sys
from pathlib import Path

import dask
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

DTYPES = ["uint8", "uint16", "int16", "int32", "float32", "float64"]


def make_image(shape, dtype, seed=0):
    """Random test data spanning much of the dtype's range (exercises rounding and clipping)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.4
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -(2**20)), min(info.max, 2**20)
        return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    return rng.normal(0.0, 100.0, size=shape).astype(dtype)


@pytest.fixture(autouse=True)
def _threaded_scheduler():
    with dask.config.set(scheduler="threads"):
        yield
