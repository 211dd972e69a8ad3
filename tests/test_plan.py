"""``plan_pyramid`` and ``pyramid``: level rules, NGFF transforms derived by hand and checked
against where SciPy really samples, and levels against scikit-image's own pyramids."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.transform as skt
from conftest import make_image
from references import assert_matches_reference, assert_within_spec, reference_levels

import omescale
from omescale.errors import InvalidFactorsError
from omescale.plan import plan_pyramid


def _shapes(plan):
    return [lv.shape for lv in plan.levels]


# ---------------------------------------------------------------- level rules


def test_default_halves_yx_until_one_chunk_and_256_px():
    plan = plan_pyramid((2000, 1500), np.uint16)  # default chunk 512 in y/x
    # (500, 375) fits a chunk; one more level brings the largest axis to 250 <= 256.
    assert _shapes(plan) == [(2000, 1500), (1000, 750), (500, 375), (250, 188)]
    assert "256 px" in plan.why and "level 2" in plan.why
    assert all(lv.factors == (2, 2) for lv in plan.levels[1:])
    assert plan.levels[0].factors == (1, 1) and plan.levels[0].cumulative == (1, 1)
    # The input's chunks are the target when given.
    plan = plan_pyramid((2000, 1500), np.uint16, input_chunks=(256, 256))
    assert _shapes(plan)[-1] == (250, 188)
    assert plan.why == "until y and x fit one 256x256 chunk (level 3)"
    # One chunk already, but larger than 256 px: still a pyramid.
    assert _shapes(plan_pyramid((300, 200), np.uint16)) == [(300, 200), (150, 100)]
    assert _shapes(plan_pyramid((512, 512), np.uint16)) == [(512, 512), (256, 256)]
    # At most 256 px: level 0 only.
    assert _shapes(plan_pyramid((256, 100), np.uint16)) == [(256, 100)]


def test_default_256_rule_counts_only_downsampled_axes():
    # z is not downsampled without physical sizes: its 1000 planes do not make more levels.
    plan = plan_pyramid((1000, 200, 200), np.uint16)
    assert _shapes(plan) == [(1000, 200, 200)]
    # z finer than y/x is downsampled, and then counts.
    plan = plan_pyramid((1000, 64, 64), np.uint16, physical_sizes={"z": 0.1, "y": 1, "x": 1})
    assert _shapes(plan) == [(1000, 64, 64), (500, 32, 32), (250, 16, 16)]


def test_default_keeps_z_without_physical_sizes():
    plan = plan_pyramid((64, 2048, 2048), np.uint16, chunks=64)
    assert [lv.shape[0] for lv in plan.levels] == [64] * len(plan.levels)
    assert _shapes(plan)[-1] == (64, 64, 64)
    plan = plan_pyramid((3, 5, 40, 40), np.uint8, axes="tcyx", chunks=10)
    assert all(lv.shape[:2] == (3, 5) for lv in plan.levels)


def test_anisotropic_z_waits_until_xy_is_as_coarse():
    plan = plan_pyramid((64, 2048, 2048), np.uint16, chunks=64,
                        physical_sizes={"z": 2.0, "y": 0.5, "x": 0.5})
    assert [lv.cumulative for lv in plan.levels] == [
        (1, 1, 1), (1, 2, 2), (1, 4, 4), (2, 8, 8), (4, 16, 16), (8, 32, 32)]
    for prev, lv in zip(plan.levels, plan.levels[1:], strict=False):
        # z is downsampled exactly when it is no coarser than the new level's xy size.
        assert (lv.factors[0] == 2) == (2 * prev.scale[0] <= lv.scale[1])
        assert lv.scale[0] >= lv.scale[1] or lv.factors[0] == 1
    assert plan.levels[-1].scale == (16.0, 16.0, 16.0)


def test_isotropic_z_is_downsampled():
    plan = plan_pyramid((64, 2048, 2048), np.uint16, chunks=64,
                        physical_sizes={"z": 1.0, "y": 1.0, "x": 1.0})
    assert _shapes(plan)[1:] == [(32, 1024, 1024), (16, 512, 512), (8, 256, 256),
                                 (4, 128, 128), (2, 64, 64)]
    # A thin stack stops shrinking z at 1 while y/x go on.
    plan = plan_pyramid((2, 256, 256), np.uint16, chunks=32,
                        physical_sizes={"z": 1.0, "y": 1.0, "x": 1.0})
    assert _shapes(plan) == [(2, 256, 256), (1, 128, 128), (1, 64, 64), (1, 32, 32)]


def test_int_scale_factors_are_cumulative():
    plan = plan_pyramid((10, 100, 90), np.uint16, scale_factors=[2, 4, 8])
    assert [lv.cumulative for lv in plan.levels] == [(1, 1, 1), (1, 2, 2), (1, 4, 4), (1, 8, 8)]
    assert [lv.factors for lv in plan.levels[1:]] == [(1, 2, 2)] * 3
    assert _shapes(plan) == [(10, 100, 90), (10, 50, 45), (10, 25, 23), (10, 13, 12)]
    plan = plan_pyramid((100, 90), np.uint16, scale_factors=[3, 6, 24])
    assert [lv.factors for lv in plan.levels[1:]] == [(3, 3), (2, 2), (4, 4)]
    assert _shapes(plan) == [(100, 90), (34, 30), (17, 15), (5, 4)]


def test_dict_scale_factors():
    plan = plan_pyramid(
        (20, 100, 90), np.uint16,
        scale_factors=[{"y": 2, "x": 2}, {"z": 2, "y": 4, "x": 4}, {"z": 4, "y": 4, "x": 12}],
    )
    assert [lv.factors for lv in plan.levels[1:]] == [(1, 2, 2), (2, 2, 2), (2, 1, 3)]
    assert _shapes(plan) == [(20, 100, 90), (20, 50, 45), (10, 25, 23), (5, 25, 8)]


def test_max_layer_caps():
    plan = plan_pyramid((4096, 4096), np.uint16, chunks=64, max_layer=2)
    assert _shapes(plan) == [(4096, 4096), (2048, 2048), (1024, 1024)]
    assert len(plan_pyramid((4096, 4096), np.uint16, max_layer=0).levels) == 1
    plan = plan_pyramid((100, 100), np.uint16, scale_factors=[2, 4, 8, 16], max_layer=2)
    assert [lv.cumulative for lv in plan.levels] == [(1, 1), (2, 2), (4, 4)]



@pytest.mark.parametrize("max_layer", [0, 1, 3, 6])
def test_max_layer_is_honoured_exactly(max_layer):
    # Smaller than a chunk if need be: 512x512 fits one default chunk already.
    plan = plan_pyramid((512, 512), np.uint16, max_layer=max_layer)
    assert _shapes(plan) == [(512 >> k, 512 >> k) for k in range(max_layer + 1)]
    assert plan.why == "as asked"
    # More than the default needs.
    plan = plan_pyramid((2000, 1500), np.uint16, max_layer=max_layer + 4)
    assert len(plan.levels) == max_layer + 5


def test_max_layer_beyond_one_pixel_is_an_error():
    plan = plan_pyramid((8, 5), np.uint8, max_layer=3)
    assert _shapes(plan) == [(8, 5), (4, 3), (2, 2), (1, 1)]
    with pytest.raises(InvalidFactorsError,
                       match=r"5 levels asked.*level 3 \(1x1.*at most 4 levels"):
        plan_pyramid((8, 5), np.uint8, max_layer=4)
    # One axis at 1 pixel keeps shrinking the other.
    assert _shapes(plan_pyramid((1, 9), np.uint8, max_layer=3)) == [(1, 9), (1, 5), (1, 3),
                                                                     (1, 2)]


def test_max_layer_beyond_the_scale_factors_is_an_error():
    with pytest.raises(InvalidFactorsError, match="asks for 4 levels but scale_factors lists 3"):
        plan_pyramid((100, 100), np.uint16, scale_factors=[2, 4], max_layer=3)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (3, 5), (2, 3, 5), (1, 1, 1, 9, 2)])
@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_never_a_zero_size_axis(shape, chunks):
    plan = plan_pyramid(shape, np.uint8, chunks=chunks,
                        physical_sizes={"z": 1.0, "y": 1.0, "x": 1.0})
    for lv in plan.levels:
        assert min(lv.shape) >= 1
        assert all(1 <= c <= n for c, n in zip(lv.chunks, lv.shape, strict=True))
    last = plan.levels[-1].shape
    assert last[-1] <= chunks and last[-2] <= chunks


# ---------------------------------------------------------------- NGFF transforms


def test_transforms_by_hand_at_odd_sizes():
    # resize family, N = 37 -> 19 -> 10
    r = plan_pyramid((37, 37), np.uint16, scale_factors=[2, 4], method="resize").levels
    assert r[1].shape == (19, 19) and r[2].shape == (10, 10)
    assert r[1].scale[0] == pytest.approx(37 / 19)
    assert r[1].translation[0] == pytest.approx((37 / 19 - 1) / 2)
    assert r[2].scale[0] == pytest.approx(37 / 10)
    assert r[2].translation[0] == pytest.approx((37 / 19 - 1) / 2 + 37 / 19 * (19 / 10 - 1) / 2)
    # block methods: f and (f - 1)/2 whatever the size
    b = plan_pyramid((37, 37), np.uint16, scale_factors=[2, 6], method="local_mean").levels
    assert b[1].scale == (2.0, 2.0) and b[1].translation == (0.5, 0.5)
    assert b[2].scale == (6.0, 6.0) and b[2].translation == (2.5, 2.5)
    # zoom: corners aligned, (N-1)/(M-1), no translation
    z = plan_pyramid((37, 37), np.uint16, scale_factors=[2, 4], method="zoom").levels
    assert z[1].scale[0] == pytest.approx(36 / 18) and z[1].translation == (0.0, 0.0)
    assert z[2].scale[0] == pytest.approx(36 / 18 * 18 / 9)
    # physical sizes scale everything; unit pixels stay on non-downsampled axes
    p = plan_pyramid((5, 37, 37), np.uint16, scale_factors=[2], method="resize",
                     physical_sizes={"z": 3.0, "y": 0.5, "x": 0.5}).levels
    assert p[1].scale == pytest.approx((3.0, 0.5 * 37 / 19, 0.5 * 37 / 19))
    assert p[1].translation == pytest.approx((0.0, 0.5 * (37 / 19 - 1) / 2, 0.25 * (18 / 19)))


def _sampled_positions(method, n, factors):
    """Where each level's pixels really sit in level-0 pixels: sample the level-0 coordinate
    array through SciPy / NumPy exactly as the method samples its input."""
    pos, out = np.arange(n, dtype=np.float64), [np.arange(n, dtype=np.float64)]
    for f in factors:
        m = math.ceil(len(pos) / f)
        if method == "zoom":
            pos = ndi.zoom(pos, m / len(pos), order=1, grid_mode=False, mode="reflect")
        elif method == "resize":
            pos = ndi.zoom(pos, m / len(pos), order=1, grid_mode=True, mode="mirror")
        else:  # window centres: mean of each full window
            full = len(pos) // f
            pos = pos[: full * f].reshape(full, f).mean(axis=1)
        out.append(pos)
    return out


@pytest.mark.parametrize("method", ["resize", "local_mean", "zoom", "nearest", "gaussian"])
@pytest.mark.parametrize(("n", "factors"), [(37, [2, 2, 2]), (101, [3, 2]), (64, [2, 4]),
                                            (23, [5])])
def test_transforms_are_where_the_samples_are(method, n, factors):
    cumulative = list(np.cumprod(factors))
    plan = plan_pyramid((n, n), np.uint16, scale_factors=[int(c) for c in cumulative],
                        method=method)
    kind = "resize" if method in ("nearest", "gaussian") else method
    for lv, pos in zip(plan.levels, _sampled_positions(kind, n, factors), strict=True):
        o = np.arange(len(pos))
        np.testing.assert_allclose(lv.scale[1] * o + lv.translation[1], pos, atol=1e-9)


# ---------------------------------------------------------------- pyramid levels


@pytest.mark.parametrize("method", [m.value for m in omescale.Methods if m != "laplacian"])
def test_levels_are_chained_downsample(method):
    x = make_image((37, 45), "uint16", seed=3)
    levels = omescale.pyramid(x, [2, 4, 12], method=method)
    assert [lv.shape for lv in levels] == [(37, 45), (19, 23), (10, 12), (4, 4)]
    chain = x
    for lv, f in zip(levels[1:], [2, 2, 3], strict=True):
        chain = omescale.downsample(chain, (f, f), method=method)
        np.testing.assert_array_equal(lv, chain)
    np.testing.assert_array_equal(levels[0], x)


@pytest.mark.parametrize("method", [m.value for m in omescale.Methods])
def test_lazy_pyramid_equals_numpy_pyramid(method):
    x = make_image((4, 41, 38), "int16", seed=7)
    eager = omescale.pyramid(x, [2, 4, 8], method=method, axes="cyx")
    lazy = omescale.pyramid(da.from_array(x, chunks=(3, (9, 20, 12), 7)), [2, 4, 8],
                            method=method, axes="cyx", chunks=(2, 5, 6))
    assert len(lazy) == len(eager) == 4
    for k, (a, b) in enumerate(zip(lazy, eager, strict=True)):
        assert isinstance(a, da.Array) and isinstance(b, np.ndarray)
        assert a.dtype == b.dtype and a.shape == b.shape, k
        np.testing.assert_array_equal(a.compute(), b)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_gaussian_pyramid_is_pyramid_reduce_level_by_level(dtype):
    # The literal skimage call on each (rounded, cast) level of its own chain.
    x = make_image((67, 90), dtype, seed=11)
    levels = omescale.pyramid(da.from_array(x, chunks=(17, 23)), [2, 4, 8], method="gaussian")
    ref = x
    info = np.iinfo(dtype)
    for k, lv in enumerate(levels[1:], start=1):
        g = skt.pyramid_reduce(ref, downscale=2, sigma=2 * 2 / 6, order=1, mode="reflect",
                               preserve_range=True, channel_axis=None)
        ref = np.clip(np.rint(g), info.min, info.max).astype(dtype)
        assert_within_spec(lv.compute(), ref, what=f"gaussian level {k}")


def test_laplacian_pyramid_is_skimage_pyramid_laplacian():
    x = make_image((64, 80), "float64", seed=5)
    ref = list(skt.pyramid_laplacian(x, downscale=2, order=1, mode="reflect",
                                     channel_axis=None))
    for chunks in [(64, 80), (13, 17)]:
        levels = omescale.pyramid(da.from_array(x, chunks=chunks), [2, 4], method="laplacian")
        for k in (0, 1, 2):
            assert_matches_reference(levels[k].compute(), ref[k], "laplacian", source=x,
                                     what=f"laplacian level {k}")
    # float32 input gives a float32 band-pass of the same values.
    levels = omescale.pyramid(x.astype(np.float32), [2, 4], method="laplacian")
    for k in (0, 1, 2):
        assert_matches_reference(levels[k], ref[k].astype(np.float32), "laplacian", source=x,
                                 what=f"float32 level {k}")


@pytest.mark.parametrize("method", [m.value for m in omescale.Methods])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_pyramid_levels_match_references(method, dtype):
    """Each level is the reference applied to the reference's level before (SPEC section 3),
    so an error at level 1 cannot hide in level 2's comparison."""
    x = make_image((31, 50), dtype, seed=2)
    levels = omescale.pyramid(da.from_array(x, chunks=(8, 11)), [2, 6], method=method)
    refs = reference_levels(method, x, [(2, 2), (3, 3)])
    for k, (lv, ref) in enumerate(zip(levels, refs, strict=True)):
        assert_matches_reference(lv.compute(), ref, method, source=x, what=f"{method} level {k}")
