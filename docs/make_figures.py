"""Generate the documentation figures in ``docs/images/``.

Run from the repository root (needs the ``docs`` extra for matplotlib, and ome-zarr for the
seam figure)::

    python3 -m pip install -e ".[docs,test]"
    python3 docs/make_figures.py

Every image comes from omescale's built-in synthetic sample (:mod:`omescale.sample`), so the
figures are reproducible bit for bit and nothing is downloaded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import dask.array as da
import matplotlib
import numpy as np
import skimage.transform as skt

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import omescale
from omescale.sample import sample

IMAGES = Path(__file__).parent / "images"
DPI = 72


def _show(ax, image, title, *, signed=False, vmax=None):
    if signed:
        lim = np.percentile(np.abs(image), 99.5) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    else:
        ax.imshow(image, cmap="gray", vmin=np.percentile(image, 1),
                  vmax=vmax or np.percentile(image, 99.7), interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def methods_figure(path: Path) -> None:
    """Each method downsampling the same crop by 4 in y and x (one step)."""
    plane = sample((1, 640, 640), seed=3)[0, 192:448, 192:448].compute()
    fig, axes = plt.subplots(2, 6, figsize=(12, 4.6))
    _show(axes[0, 0], plane, f"input {plane.shape[0]}x{plane.shape[1]}")
    for ax, method in zip(axes.flat[1:], omescale.Methods, strict=False):
        level = omescale.downsample(plane, (4, 4), method=method)
        signed = method == omescale.Methods.LAPLACIAN
        _show(ax, level, f"{method.value} -> {level.shape[0]}x{level.shape[1]}", signed=signed)
    axes.flat[-1].axis("off")
    fig.suptitle("omescale methods, factor 4 on y and x (synthetic nuclei, uint16)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _seam_row(axes, n: int, chunk: int) -> None:
    from ome_zarr.dask_utils import resize as ome_zarr_dask_resize

    image = sample((1, n, n), seed=5)[0].compute()
    lazy = da.from_array(image, chunks=chunk)
    kwargs = {"order": 1, "mode": "reflect", "anti_aliasing": True, "preserve_range": True}
    theirs_shape = (n // 2, n // 2)  # ome-zarr floors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ome_zarr_dask_resize(lazy, theirs_shape, **kwargs).compute()
    # ome-zarr truncates to the dtype; compare it with the whole array truncated the same way
    theirs_ref = skt.resize(image, theirs_shape, **kwargs).astype(image.dtype)
    ours = omescale.downsample(lazy, (2, 2), method="resize").compute()
    ours_ref = np.rint(skt.resize(image, ours.shape, **kwargs)).astype(image.dtype)
    d_theirs = np.abs(theirs.astype(np.int64) - theirs_ref)
    d_ours = np.abs(ours.astype(np.int64) - ours_ref)
    crop = (slice(95, 160), slice(95, 160))  # around the corner of the first output chunks
    vmax = np.percentile(image, 99.7)
    _show(axes[0], theirs[crop], f"{n}x{n}: ome-zarr-py dask resize (crop)", vmax=vmax)
    _show(axes[1], ours[crop], f"{n}x{n}: omescale resize (crop)", vmax=vmax)
    clip = max(1, int(np.percentile(d_theirs[d_theirs > 0], 90))) if d_theirs.any() else 1
    for ax, diff, who in ((axes[2], d_theirs, "ome-zarr-py"), (axes[3], d_ours, "omescale")):
        ax.imshow(diff, cmap="magma", vmin=0, vmax=clip, interpolation="nearest")
        share = 100 * np.count_nonzero(diff) / diff.size
        ax.set_title(f"|{who} - whole array|: max {diff.max()},\n"
                     f"{share:.1f}% of pixels differ", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])


def seams_figure(path: Path) -> None:
    """ome-zarr-py's dask resize (each chunk resized alone) next to omescale, same chunking."""
    chunk = 250
    fig, axes = plt.subplots(2, 4, figsize=(12, 7))
    for row, n in zip(axes, (1000, 1001), strict=True):
        _seam_row(row, n, chunk)
    fig.suptitle(f"uint16, dask chunks {chunk}x{chunk}, factor 2: per-chunk resizing leaves "
                 "seams (even size) and drift (odd size); omescale equals the whole-array "
                 "result", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95), h_pad=3.0)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    methods_figure(IMAGES / "methods.png")
    seams_figure(IMAGES / "seams.png")
    for png in sorted(IMAGES.glob("*.png")):
        print(f"{png}: {png.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
