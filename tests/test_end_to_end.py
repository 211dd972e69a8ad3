"""End to end, per method: a pyramid written to a real store (``write_pyramid`` to zarr on
disk) and read back with ome-zarr-py's reader equals the whole-array references of SPEC
section 2 level by level (each reference level from the reference's own level before), within
SPEC section 4.

The writer, strip, tile, sweep, label and CLI tests compare with ``omescale.pyramid`` on numpy;
this one compares the bytes on disk with scikit-image / SciPy / NumPy directly.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from _ngff_util import read_levels, validate_image
from conftest import make_image
from references import assert_matches_reference, reference_levels

import omescale

IMAGE = make_image((2, 61, 74), "uint16", seed=18)
STEPS = [(1, 2, 2), (1, 2, 2), (1, 3, 3)]


@pytest.mark.parametrize("method", [m.value for m in omescale.Methods])
def test_written_pyramid_equals_whole_array_references(tmp_path, method):
    out = tmp_path / "image.ome.zarr"
    image = da.from_array(IMAGE, chunks=(1, 23, 29))
    omescale.write_pyramid(image, out, method=method, axes="cyx", scale_factors=[2, 4, 12],
                           chunks=(1, 16, 16))
    validate_image(out)
    written = read_levels(out)
    refs = reference_levels(method, IMAGE, STEPS)
    assert [lv.shape for lv in written] == [r.shape for r in refs]
    for k, (level, ref) in enumerate(zip(written, refs, strict=True)):
        if k == 0 and method != "laplacian":
            np.testing.assert_array_equal(level, IMAGE)
            continue
        assert_matches_reference(level, ref, method, source=IMAGE, what=f"{method} level {k}")
