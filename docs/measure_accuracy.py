"""Largest difference between omescale's lazy result and the whole-array reference.

Run ``python3 docs/measure_accuracy.py`` (needs the test extra); it prints the Markdown table
kept in ``docs/accuracy.md``. References are the scikit-image / SciPy / NumPy calls of
``tests/references.py`` on the whole array; omescale runs lazily on ragged chunks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dask
import dask.array as da
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import make_image
from references import expected

import omescale

CASES = [((97, 101), (2, 2)), ((64, 128), (2, 2)), ((61, 59), (3, 2)), ((33, 35), (4, 4))]
CHUNKS = [(7, 9), (16, 16), (1, 13)]


def measure(method: str, dtype: str, order: int | None = None) -> tuple[float, float]:
    """(max |ours - reference| in output units, fraction of pixels exactly equal)."""
    worst, equal, total = 0.0, 0, 0
    for shape, factors in CASES:
        x = make_image(shape, dtype, seed=shape[0])
        ref = expected(method, x, factors, order)
        for chunks in CHUNKS:
            lazy = omescale.downsample(da.from_array(x, chunks=chunks), factors,
                                       method=method, order=order)
            ours = lazy.compute()
            diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
            if ref.dtype.kind == "f":
                diff = diff / max(1.0, float(np.abs(x.astype(np.float64)).max()))
            worst = max(worst, float(diff.max()))
            equal += int(np.count_nonzero(diff == 0))
            total += diff.size
    return worst, equal / total


def main() -> None:
    rows = [("zoom", o) for o in range(6)]
    rows = [(m.value, None) for m in omescale.Methods if m != "zoom"] + rows
    print("| method | uint8 | uint16 | int16 | int32 | float32 (rel.) | float64 (rel.) |")
    print("|---|---|---|---|---|---|---|")
    with dask.config.set(scheduler="threads"):
        for method, order in rows:
            cells = []
            for dtype in ["uint8", "uint16", "int16", "int32", "float32", "float64"]:
                worst, frac = measure(method, dtype, order)
                if dtype.startswith("float"):
                    cells.append(f"{worst:.1e}")
                else:
                    cells.append(f"{worst:g} ({100 * frac:.2f}% exact)")
            name = method if order is None else f"zoom order={order}"
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
