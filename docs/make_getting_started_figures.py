"""Generate the pictures of docs/getting-started.md's lab-data examples in ``docs/images/``.

Run from the repository root (needs the ``docs`` extra for matplotlib)::

    python3 -m pip install -e ".[docs]"
    python3 docs/make_getting_started_figures.py

It writes the three inputs of the "Lab data" section in a temporary folder, runs the same
``omescale`` commands on them, reads every level of each written pyramid back with zarr and
draws one thumbnail per level, titled with the level's shape:

- ``photo.tif``: a 512 x 512 RGB TIFF (scikit-image's bundled ``astronaut``), shown as RGB;
- ``slices/``: 12 uint16 slices of 512 x 512 from omescale's built-in synthetic sample,
  shown as the middle z-plane of each level;
- ``cells.ome.tif``: a 16 x 2 x 256 x 256 (ZCYX) OME-TIFF with pixel sizes and the channel
  names ``membrane`` and ``nuclei`` (two seeds of the synthetic sample), one row per channel.

Nothing is downloaded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import skimage.data
import tifffile
import zarr

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from omescale.cli import main
from omescale.sample import sample

IMAGES = Path(__file__).parent / "images"
DPI = 80
SIDE = 2.0  # inches per thumbnail


def make_inputs(folder: Path) -> None:
    """``photo.tif``, ``slices/slice_1.tif ... slice_12.tif`` and ``cells.ome.tif``."""
    tifffile.imwrite(folder / "photo.tif", skimage.data.astronaut(), photometric="rgb")
    (folder / "slices").mkdir()
    stack = sample((12, 512, 512), seed=0).compute()
    for i, plane in enumerate(stack, start=1):
        tifffile.imwrite(folder / "slices" / f"slice_{i}.tif", plane)
    cells = np.stack([sample((16, 256, 256), seed=s).compute() for s in (1, 2)], axis=1)
    tifffile.imwrite(folder / "cells.ome.tif", cells, ome=True, photometric="minisblack",
                     metadata={"axes": "ZCYX", "PhysicalSizeZ": 0.29, "PhysicalSizeY": 0.26,
                               "PhysicalSizeX": 0.26, "PhysicalSizeZUnit": "µm",
                               "PhysicalSizeYUnit": "µm", "PhysicalSizeXUnit": "µm",
                               "Channel": {"Name": ["membrane", "nuclei"]}})


def run(*argv: str) -> None:
    """``omescale ARGV``, as on the command line (exit status 0 or an error)."""
    if main(list(argv)) != 0:
        raise RuntimeError(f"omescale {' '.join(argv)} failed")


def levels(path: Path) -> list[np.ndarray]:
    """Every level of the pyramid at ``path``, read back with zarr, level 0 first."""
    group = zarr.open_group(str(path), mode="r")
    paths = [d["path"] for d in group.attrs["ome"]["multiscales"][0]["datasets"]]
    return [np.asarray(group[p][...]) for p in paths]


def channel_labels(path: Path) -> list[str]:
    """The channel labels the pyramid at ``path`` keeps in its ``omero`` metadata."""
    attrs = zarr.open_group(str(path), mode="r").attrs["ome"]
    return [c["label"] for c in attrs["omero"]["channels"]]


def _contrast(plane: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(plane, (1, 99.7))
    return float(lo), float(max(hi, lo + 1))


def figure(rows: list[tuple[str, list[np.ndarray]]], shapes: list[tuple[int, ...]],
           out: Path) -> None:
    """One row of thumbnails per (label, planes) pair, one column per level."""
    fig, axes = plt.subplots(len(rows), len(shapes), squeeze=False,
                             figsize=(SIDE * len(shapes), SIDE * len(rows) + 0.3))
    for r, (label, planes) in enumerate(rows):
        for c, plane in enumerate(planes):
            ax = axes[r][c]
            if plane.ndim == 3:
                ax.imshow(plane, interpolation="nearest")
            else:
                lo, hi = _contrast(plane)
                ax.imshow(plane, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
            title = f"level {c}: " + "x".join(map(str, shapes[c]))
            ax.set_title(title if not label else f"{title}\n{label}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def main_figures(images: Path = IMAGES) -> list[Path]:
    """Write the three inputs, the three pyramids, and the three PNGs; their paths."""
    images.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_inputs(d)
        run(str(d / "photo.tif"), str(d / "photo.ome.zarr"))
        run(str(d / "slices"), str(d / "slices.ome.zarr"), "--physical-size",
            "z=1.45,y=0.26,x=0.26", "--unit", "micrometer")
        run(str(d / "cells.ome.tif"), str(d / "cells.ome.zarr"), "--levels", "3")
        photo = levels(d / "photo.ome.zarr")  # c, y, x
        slices = levels(d / "slices.ome.zarr")  # z, y, x
        cells = levels(d / "cells.ome.zarr")  # c, z, y, x
        outs = [images / f"getting-started-{n}.png" for n in ("rgb", "slices", "ome-tiff")]
        figure([("", [np.moveaxis(a, 0, -1) for a in photo])], [a.shape for a in photo],
               outs[0])
        figure([("middle z-plane", [a[a.shape[0] // 2] for a in slices])],
               [a.shape for a in slices], outs[1])
        names = channel_labels(d / "cells.ome.zarr")
        figure([(f"{name}, middle z-plane", [a[k, a.shape[1] // 2] for a in cells])
                for k, name in enumerate(names)], [a.shape for a in cells], outs[2])
    return outs


if __name__ == "__main__":
    for path in main_figures():
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
