"""Independent whole-array references (scikit-image, SciPy, NumPy) and the tolerance rule.

Nothing here imports omescale's kernels: these are the calls SPEC section 2 names.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage as ndi
import skimage.transform as skt
from skimage.measure import block_reduce


def out_shape(shape, factors):
    return tuple(math.ceil(n / f) for n, f in zip(shape, factors, strict=True))


def cast_like(values, dtype):
    """SPEC rule: integers rounded half-to-even and clipped; float16 -> float32."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if dtype.kind == "b":
        return values.astype(bool)
    return values.astype(np.float32 if dtype == np.float16 else dtype)


def _windows(x, factors, fill):
    pad = [(0, -n % f) for n, f in zip(x.shape, factors, strict=True)]
    xp = np.pad(x.astype(np.float64), pad, constant_values=fill)
    split = []
    for n, f in zip(xp.shape, factors, strict=True):
        split += [n // f, f]
    order = list(range(0, 2 * x.ndim, 2)) + list(range(1, 2 * x.ndim, 2))
    outer = tuple(n // f for n, f in zip(xp.shape, factors, strict=True))
    return xp.reshape(split).transpose(order).reshape(*outer, -1)


def ref_nearest(x, factors, order=None):
    shape = out_shape(x.shape, factors)
    return skt.resize(x, shape, order=0, mode="reflect", anti_aliasing=False,
                      preserve_range=True)


def ref_resize(x, factors, order=None):
    shape = out_shape(x.shape, factors)
    return skt.resize(x, shape, order=1, mode="reflect", anti_aliasing=True,
                      preserve_range=True)


def ref_zoom(x, factors, order=None):
    order = 1 if order is None else order
    shape = out_shape(x.shape, factors)
    data = x.astype(np.float64) if x.dtype.kind in "iub" else x
    z = ndi.zoom(data, [m / n for m, n in zip(shape, x.shape, strict=True)], order=order,
                 mode="reflect", grid_mode=False)
    assert z.shape == shape
    return z


def _sigmas(factors):
    return [2 * f / 6 if f > 1 else 0.0 for f in factors]


def ref_gaussian(x, factors, order=None):
    shape = out_shape(x.shape, factors)
    fs = set(factors)
    if len(fs) == 1 and factors[0] > 1:
        # The literal reference when every axis has the same factor.
        return skt.pyramid_reduce(x, downscale=factors[0], order=1, mode="reflect",
                                  preserve_range=True, channel_axis=None)
    data = x.astype(np.float64) if x.dtype.kind in "iub" else x
    smooth = ndi.gaussian_filter(data, _sigmas(factors), mode="reflect")
    return skt.resize(smooth, shape, order=1, mode="reflect", anti_aliasing=False)


def ref_laplacian(x, factors, order=None):
    g = ref_gaussian(x, factors).astype(np.float64)
    return g - ndi.gaussian_filter(g, _sigmas(factors), mode="reflect")


def ref_local_mean(x, factors, order=None):
    if all(n % f == 0 for n, f in zip(x.shape, factors, strict=True)):
        return skt.downscale_local_mean(x.astype(np.float64), tuple(factors))
    return np.nanmean(_windows(x, factors, np.nan), axis=-1)


def _window_reduce(func):
    def ref(x, factors, order=None):
        if all(n % f == 0 for n, f in zip(x.shape, factors, strict=True)):
            return block_reduce(x.astype(np.float64), tuple(factors), func)
        return getattr(np, "nan" + func.__name__)(_windows(x, factors, np.nan), axis=-1)

    return ref


ref_min = _window_reduce(np.min)
ref_max = _window_reduce(np.max)
ref_median = _window_reduce(np.median)


def ref_mode(x, factors, order=None):
    """Most frequent value per window, ties to the smallest: a plain loop with np.unique."""
    shape = out_shape(x.shape, factors)
    out = np.empty(shape, dtype=x.dtype)
    for index in np.ndindex(*shape):
        window = x[tuple(slice(i * f, (i + 1) * f) for i, f in zip(index, factors, strict=True))]
        values, counts = np.unique(window, return_counts=True)
        out[index] = values[np.argmax(counts)]
    return out


REFERENCES = {
    "nearest": ref_nearest,
    "resize": ref_resize,
    "zoom": ref_zoom,
    "gaussian": ref_gaussian,
    "laplacian": ref_laplacian,
    "local_mean": ref_local_mean,
    "min": ref_min,
    "max": ref_max,
    "median": ref_median,
    "mode": ref_mode,
}

#: Methods whose result is exact (SPEC section 4): selections, and window reductions whose
#: float result is exact for integer input (integer sums, one correctly rounded division).
EXACT_METHODS = {"nearest", "local_mean", "mode", "min", "max", "median"}
#: Of those, the ones that stay exact on float input: they select input values (``median`` of
#: an even window is ``(a + b) / 2``, correctly rounded whatever the order); a float mean
#: depends on the order of summation.
EXACT_ON_FLOATS = {"nearest", "mode", "min", "max", "median"}

#: SPEC section 4's relative tolerance for float outputs.
FLOAT_RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def expected(method, x, factors, order=None):
    """The reference result in the output dtype SPEC section 2 prescribes."""
    ref = REFERENCES[method](x, factors, order)
    if method == "laplacian":
        return ref.astype(np.float64 if x.dtype == np.float64 else np.float32)
    if method in ("nearest", "mode") and x.dtype == np.bool_:
        return ref.astype(bool)
    return cast_like(ref, x.dtype)


def reference_levels(method, x, steps, order=None):
    """The whole-array reference pyramid: level 0 and one level per entry of ``steps`` (the
    factor of each level relative to the level before), each level computed from the
    *reference's own* previous level, never from omescale's output.

    ``gaussian`` and the other methods chain on the stored (dtype-cast) levels, as the
    reference call applied to each level would; ``laplacian`` chains the float Gaussian
    pyramid ``G_k`` (as ``skimage.transform.pyramid_laplacian``) and stores ``G_k - smooth(G_k)``,
    level 0 included (smoothed with the first step's sigma).
    """
    steps = [tuple(f) for f in steps]
    if method == "laplacian":
        out_dtype = np.float64 if x.dtype == np.float64 else np.float32
        first = steps[0] if steps else (1,) * x.ndim
        g = x.astype(np.float64)
        levels = [(g - ndi.gaussian_filter(g, _sigmas(first), mode="reflect")).astype(out_dtype)]
        for f in steps:
            levels.append(ref_laplacian(g, f).astype(out_dtype))
            g = ref_gaussian(g, f).astype(np.float64)
        return levels
    levels = [x.astype(np.float32) if x.dtype == np.float16 else x]
    for f in steps:
        levels.append(expected(method, levels[-1], f, order))
    return levels


def assert_within_spec(ours, ref, *, exact=False, scale=None, raw=None, population=None,
                       what=""):
    """Assert ``ours`` equals the reference ``ref`` as SPEC section 4 requires.

    The rule, by the reference's dtype (shapes and dtypes must match first):

    - ``exact=True`` (nearest, local_mean, mode, min, max, median where the float result is
      exact): every pixel equal, bit for bit.
    - integers (and bool): every pixel within 1 unit in the last place of the output dtype,
      i.e. ``|ours - ref| <= 1``, **and** at least 99.9 % of the pixels exactly equal
      (``count(ours != ref) <= 0.001 * size``; below 1000 pixels that allows none).
    - floats: ``|ours - ref| <= rtol * scale`` on every pixel, with ``rtol`` = 1e-6 for
      float32 and 1e-12 for float64 output, and ``scale`` the largest magnitude of the
      reference on the level being compared (the max norm), not of each pixel: a pixel-wise
      relative error is undefined where a signed result crosses zero, and both sides round at
      the scale of the data, not of the pixel. A band-pass (laplacian) is the difference
      ``G_k - smooth(G_k)`` of values as large as the image, so it passes ``scale`` = the
      largest magnitude of the image it comes from (see :func:`assert_matches_reference`):
      a 1 x 1 level is exactly 0 in the reference and ``G (1 - sum of weights)`` ~ 1e-16 G
      in any other correct evaluation. No absolute term: a reference of zeros with
      ``scale`` 0 must be matched exactly.

    Parameters
    ----------
    ours, ref : array_like
        The result under test and the independent whole-array reference.
    exact : bool
        The method's result is exact (see above).
    scale : float, optional
        The magnitude floats are relative to; default ``max|ref|``.
    raw : array_like, optional
        The reference's float result before SPEC's rounding. Given, a pixel where it is a
        rounding tie (within 1e-12 of ``k + 1/2`` relative to its largest magnitude) is not
        counted against the 99.9 %: SPEC pins the float result down to 1e-12 only, and at a
        tie the two libraries' float noise, not the method, decides the rounding (on a level
        with exact knots and halfway columns, 4 of 690 pixels of a smooth uint16 image).
    population : Population, optional
        Count integer differences into a population of many small levels (property tests)
        instead of asserting the 99.9 % share on this level alone; the 1-unit bound still
        holds on every pixel.
    what : str
        Names the comparison in the failure message (e.g. ``"resize level 2"``).
    """
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    assert ours.dtype == ref.dtype, (what, ours.dtype, ref.dtype)
    if exact:
        np.testing.assert_array_equal(ours, ref, err_msg=what)
        return
    if ref.dtype.kind in "iub":
        diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
        assert diff.max(initial=0) <= 1, f"{what}: max difference {diff.max()} (> 1 unit)"
        if raw is not None:
            diff = (diff != 0) & ~_ties(raw)
        differing = np.count_nonzero(diff)
        if population is not None:
            population.add(differing, diff.size)
            return
        assert differing <= 0.001 * diff.size, (
            f"{what}: {differing} of {diff.size} pixels differ (more than 0.1 %)"
        )
        return
    rtol = FLOAT_RTOL[ref.dtype]
    if scale is None:
        scale = _magnitude(ref)
    err = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64)), initial=0.0))
    assert err <= rtol * scale, (
        f"{what}: max |difference| {err:.3g} > {rtol:g} x {scale:.6g} "
        f"(relative {err / scale if scale else float('inf'):.3g})"
    )


class Population:
    """SPEC section 4's "at least 99.9 % of pixels exactly equal" over many comparisons.

    Property tests draw hundreds of levels of a few pixels each. On such a level one pixel is
    more than 0.1 %, and a pixel whose exact value is a rounding tie (the mean of 2 grey
    levels ``a`` and ``a + 1``, which an axis of 2 pixels halved, or ``zoom`` halfway between
    knots, makes often) is rounded by the reference's own float noise:
    ``skimage.transform.resize`` gives 109.49999999999999 for (66 + 153) / 2 and rounds to
    109, where the exact 109.5 rounds half-to-even to 110. So the share is asserted over all
    the pixels of a test's examples (``check()``), each level still within 1 unit per pixel,
    and each differing pixel must be such a tie (``assert_ties``).
    """

    def __init__(self) -> None:
        self.differing = 0
        self.pixels = 0

    def add(self, differing: int, pixels: int) -> None:
        self.differing += differing
        self.pixels += pixels

    def check(self, what: str = "") -> None:
        assert self.differing <= 0.001 * self.pixels, (
            f"{what}: {self.differing} of {self.pixels} pixels differ (more than 0.1 %)"
        )


def assert_ties(ours, ref, raw, *, what=""):
    """Every integer pixel where ``ours`` and ``ref`` differ is a rounding tie of the
    reference's float result ``raw``: within 1e-12 of ``k + 1/2`` relative to the level's
    largest magnitude (SPEC's float64 tolerance), so that either neighbour is the float result
    rounded. A difference anywhere else is an error, however rare."""
    ours, ref, raw = np.asarray(ours), np.asarray(ref), np.asarray(raw, dtype=np.float64)
    bad = (ours != ref) & ~_ties(raw)
    assert not bad.any(), (
        f"{what}: {int(bad.sum())} differing pixels are not rounding ties "
        f"(reference {raw[bad][:4]}, ours {ours[bad][:4]})"
    )


def _ties(raw) -> np.ndarray:
    """Where the float result ``raw`` is within 1e-12 (relative to its largest magnitude) of
    a rounding tie ``k + 1/2``."""
    raw = np.asarray(raw, dtype=np.float64)
    return np.abs(raw - np.floor(raw) - 0.5) <= 1e-12 * _magnitude(raw)


def _magnitude(a) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64)), initial=0.0))


def is_exact(method, dtype):
    """Whether SPEC section 4 asks for an exact result of ``method`` on ``dtype`` output."""
    dtype = np.dtype(dtype)
    return method in (EXACT_ON_FLOATS if dtype.kind == "f" else EXACT_METHODS)


def assert_matches_reference(ours, ref, method, *, source=None, population=None, what=""):
    """SPEC section 4 for ``method``: :func:`assert_within_spec`, exact where SPEC says so.

    ``source`` is the image the level comes from (level 0 of the pyramid): laplacian levels
    are measured relative to its largest magnitude (and must be given it); every other method
    relative to the reference level's own.
    """
    scale = None
    if method == "laplacian":
        assert source is not None, "a laplacian level is relative to its source image"
        scale = max(_magnitude(ref), _magnitude(source))
    assert_within_spec(ours, ref, exact=is_exact(method, np.asarray(ref).dtype), scale=scale,
                       population=population, what=what or method)
