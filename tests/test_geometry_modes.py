"""Coordinate maps and boundary-mode folding against SciPy, scikit-image, NumPy and dask."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.transform as skt

import omescale
from omescale.geometry import grid_coordinates, level_shape, zoom_coordinates
from omescale.modes import MODE_TABLE, fold_indices, ndimage_mode

# (N, M) pairs with M <= N: halving at even/odd/prime sizes, other factors, M = 1, M = N.
SIZES = [(n, math.ceil(n / f)) for n in (1, 2, 3, 4, 5, 7, 8, 9, 11, 16, 37, 64, 101)
         for f in (1, 2, 3, 4, 5) if f <= n]


@pytest.mark.parametrize(("n", "m"), SIZES)
def test_grid_coordinates_are_ndimage_zoom_grid_mode(n, m):
    # Linear interpolation of arange returns the sampled coordinate itself (all inside [0, N-1]).
    z = ndi.zoom(np.arange(n, dtype=np.float64), m / n, order=1, grid_mode=True, mode="mirror")
    assert z.shape == (m,)
    c = grid_coordinates(np.arange(m), n, m)
    np.testing.assert_allclose(c, z, rtol=0, atol=1e-12)
    assert c.min() >= 0 and c.max() <= n - 1
    np.testing.assert_allclose(c, (np.arange(m) + 0.5) * n / m - 0.5, atol=1e-12)


@pytest.mark.parametrize(("n", "m"), SIZES)
def test_zoom_coordinates_are_ndimage_zoom_corner_aligned(n, m):
    z = ndi.zoom(np.arange(n, dtype=np.float64), m / n, order=1, grid_mode=False,
                 mode="reflect")
    assert z.shape == (m,)
    c = zoom_coordinates(np.arange(m), n, m)
    np.testing.assert_allclose(c, z, rtol=0, atol=1e-12)
    if m > 1:
        assert c[0] == 0 and c[-1] == pytest.approx(n - 1)


@pytest.mark.parametrize(("n", "m"), SIZES)
def test_nearest_phase_is_skimage_order0(n, m):
    """skimage resize(order=0) samples floor(c + 1/2) of the grid map, ties as SciPy rounds."""
    x = np.arange(n, dtype=np.float64)
    ref = skt.resize(x, (m,), order=0, mode="reflect", anti_aliasing=False, preserve_range=True)
    picked = np.floor(grid_coordinates(np.arange(m), n, m) + 0.5)
    np.testing.assert_array_equal(picked, ref)
    f = math.ceil(n / m) if m < n else 1
    if level_shape((n,), (f,)) == (m,):
        ours = omescale.downsample(x, (f,), method="nearest")
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("n", [2, 4, 6, 10, 64, 100])
def test_nearest_halving_picks_odd_indices(n):
    x = np.arange(n, dtype=np.uint16)
    ref = skt.resize(x, (n // 2,), order=0, mode="reflect", anti_aliasing=False,
                     preserve_range=True)
    np.testing.assert_array_equal(ref, 2 * np.arange(n // 2) + 1)
    np.testing.assert_array_equal(omescale.downsample(x, (2,), method="nearest"),
                                  2 * np.arange(n // 2) + 1)
    lazy = omescale.downsample(da.from_array(x, chunks=3), (2,), method="nearest")
    np.testing.assert_array_equal(lazy.compute(), 2 * np.arange(n // 2) + 1)


def test_level_shape_is_ceil():
    assert level_shape((37, 41, 1), (2, 3, 1)) == (19, 14, 1)
    assert level_shape((9, 11), (2, 2)) == (5, 6)  # ndimage.zoom's own rounding would give 4, 6


@pytest.mark.parametrize("numpy_mode", sorted(MODE_TABLE))
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_fold_indices_is_numpy_pad(numpy_mode, n):
    names = MODE_TABLE[numpy_mode]
    pad = 7 * n + 3
    padded = np.pad(np.arange(n), pad, mode=numpy_mode)
    index = np.arange(-pad, n + pad)
    np.testing.assert_array_equal(fold_indices(index, n, names.ndimage), padded[index + pad])
    # Far outside, where any naive single reflection would fail.
    far = np.array([-1000 * n - 1, -999, 12345, 10**6 + 3])
    folded = fold_indices(far, n, names.ndimage)
    assert ((folded >= 0) & (folded < n)).all()


@pytest.mark.parametrize("numpy_mode", sorted(MODE_TABLE))
@pytest.mark.parametrize("n", [1, 2, 3, 5, 6])
def test_fold_indices_is_ndimage_extension(numpy_mode, n):
    """ndimage's own extension of a signal (a 1-tap filter shifted far away) folds the same."""
    mode = MODE_TABLE[numpy_mode].ndimage
    x = np.arange(n, dtype=np.float64) * 10 + 1
    for shift in range(-3 * n - 2, 3 * n + 3):
        weights = np.zeros(2 * abs(shift) + 1)
        weights[abs(shift) + shift] = 1.0  # out[i] = x[i + shift] extended by `mode`
        out = ndi.correlate1d(x, weights, mode=mode)
        np.testing.assert_array_equal(out, x[fold_indices(np.arange(n) + shift, n, mode)])


@pytest.mark.parametrize("numpy_mode", sorted(MODE_TABLE))
def test_mode_table_blurs_agree(numpy_mode):
    """A Gaussian in the ndimage name equals the blur of the NumPy-padded signal."""
    names = MODE_TABLE[numpy_mode]
    assert ndimage_mode(numpy_mode) == names.ndimage
    assert names.numpy == numpy_mode
    x = np.random.default_rng(1).normal(size=23)
    r = 8
    via_pad = ndi.gaussian_filter1d(np.pad(x, r, mode=numpy_mode), 1.5, truncate=4.0)[r:-r]
    direct = ndi.gaussian_filter1d(x, 1.5, truncate=4.0, mode=names.ndimage)
    np.testing.assert_allclose(direct, via_pad, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("numpy_mode", sorted(MODE_TABLE))
def test_mode_table_dask_names(numpy_mode):
    names = MODE_TABLE[numpy_mode]
    if names.dask is None:
        assert numpy_mode == "reflect"  # ndimage 'mirror' has no dask overlap equivalent
        return
    x = np.arange(10)
    padded = da.overlap.overlap(da.from_array(x, chunks=10), depth={0: 3},
                                boundary={0: names.dask}).compute()
    np.testing.assert_array_equal(padded, np.pad(x, 3, mode=numpy_mode))


def test_mode_table_names_are_distinct():
    assert len({v.ndimage for v in MODE_TABLE.values()}) == len(MODE_TABLE)
    assert MODE_TABLE["reflect"].ndimage == "mirror"
    assert MODE_TABLE["symmetric"].ndimage == "reflect"
    with pytest.raises(ValueError, match="mode"):
        fold_indices(np.arange(3), 3, "constant")
