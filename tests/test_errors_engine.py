"""SPEC section 9, the parts that apply to one level and to planning a pyramid: every bad input
raises one ``OmescaleError`` that is also a ``ValueError`` or ``TypeError`` and names the problem.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import omescale
from omescale.plan import plan_pyramid

AVERAGING = ["resize", "local_mean", "zoom", "gaussian", "laplacian", "median"]
LABEL_SAFE = ["nearest", "mode", "min", "max"]


def _img(shape=(8, 9), dtype=np.uint16):
    return np.zeros(shape, dtype=dtype)


# (id, image, factors, keyword arguments, expected base, word the message must contain)
DOWNSAMPLE_CASES = [
    ("unknown-method", _img(), (2, 2), {"method": "bilinear"}, ValueError, "unknown method"),
    ("method-typo-case", _img(), (2, 2), {"method": "Resize"}, ValueError, "unknown method"),
    ("method-none", _img(), (2, 2), {"method": None}, ValueError, "unknown method"),
    ("factor-zero", _img(), (0, 2), {}, ValueError, ">= 1"),
    ("factor-negative", _img(), (2, -2), {}, ValueError, ">= 1"),
    ("factor-float", _img(), (2.5, 2), {}, ValueError, "not an integer"),
    ("factor-str", _img(), ("2", 2), {}, ValueError, "not an integer"),
    ("factor-bool", _img(), (True, 2), {}, ValueError, "not an integer"),
    ("factor-none", _img(), (None, 2), {}, ValueError, "not an integer"),
    ("factor-too-large", _img(), (2, 10), {}, ValueError, "larger than the axis"),
    ("too-few-factors", _img(), (2,), {}, ValueError, "factors"),
    ("too-many-factors", _img(), (2, 2, 2), {}, ValueError, "factors"),
    ("factors-scalar", _img(), 2, {}, ValueError, "sequence"),
    ("factors-string", _img(), "22", {}, ValueError, "sequence"),
    ("zero-size-axis", _img((0, 9)), (1, 2), {}, ValueError, "zero-size"),
    ("zero-size-last", _img((8, 0)), (2, 1), {}, ValueError, "zero-size"),
    ("zero-dim", np.array(3, dtype=np.uint16), (), {}, ValueError, "0-dimensional"),
    ("complex", _img(dtype=np.complex128), (2, 2), {}, TypeError, "complex"),
    ("object", _img(dtype=object), (2, 2), {}, TypeError, "object"),
    ("unicode", np.full((8, 9), "a"), (2, 2), {}, TypeError, "not supported"),
    ("bytes", np.full((8, 9), b"a"), (2, 2), {}, TypeError, "not supported"),
    ("datetime", _img(dtype="datetime64[s]"), (2, 2), {}, TypeError, "not supported"),
    *[(f"bool-{m}", _img(dtype=bool), (2, 2), {"method": m}, TypeError, "bool")
      for m in AVERAGING],
    ("order-6", _img(), (2, 2), {"method": "zoom", "order": 6}, ValueError, "order"),
    ("order-negative", _img(), (2, 2), {"method": "zoom", "order": -1}, ValueError, "order"),
    ("order-float", _img(), (2, 2), {"method": "zoom", "order": 1.5}, ValueError, "order"),
    ("order-bool", _img(), (2, 2), {"method": "zoom", "order": True}, ValueError, "order"),
    *[(f"order-given-to-{m}", _img(), (2, 2), {"method": m, "order": 1}, ValueError,
       "does not take")
      for m in ["resize", "nearest", "local_mean", "gaussian", "mode"]],
]


def _check(excinfo, base, word):
    err = excinfo.value
    assert isinstance(err, omescale.OmescaleError)
    assert isinstance(err, base), type(err).__mro__
    assert word.lower() in str(err).lower(), str(err)


@pytest.mark.parametrize("lazy", [False, True], ids=["numpy", "dask"])
@pytest.mark.parametrize(
    ("image", "factors", "kwargs", "base", "word"),
    [case[1:] for case in DOWNSAMPLE_CASES],
    ids=[case[0] for case in DOWNSAMPLE_CASES],
)
def test_downsample_refuses(image, factors, kwargs, base, word, lazy):
    if lazy:
        if image.dtype.kind in "OUS" or image.dtype.kind == "M":
            image = da.from_array(image, chunks=4, asarray=True)
        else:
            image = da.from_array(image, chunks=4)
    with pytest.raises(omescale.OmescaleError) as excinfo:
        omescale.downsample(image, factors, **kwargs)
    _check(excinfo, base, word)


@pytest.mark.parametrize("method", LABEL_SAFE)
def test_bool_is_fine_for_label_safe_methods(method):
    x = np.eye(8, 9, dtype=bool)
    assert omescale.downsample(x, (2, 2), method=method).dtype == bool


# Pyramid-level checks: (id, shape, dtype, keyword arguments, base, word)
PYRAMID_CASES = [
    ("unknown-method", (16, 16), "uint16", {"method": "lanczos"}, ValueError, "unknown method"),
    ("axes-too-short", (4, 16, 16), "uint16", {"axes": "yx"}, ValueError, "letters"),
    ("axes-too-long", (16, 16), "uint16", {"axes": "zyx"}, ValueError, "letters"),
    ("axes-unknown-letter", (4, 16, 16), "uint16", {"axes": "qyx"}, ValueError, "unknown"),
    ("axes-repeated", (4, 16, 16), "uint16", {"axes": "yyx"}, ValueError, "repeat"),
    ("axes-no-y-x", (2, 4, 16), "uint16", {"axes": "tcz"}, ValueError, "'y' and 'x'"),
    ("axes-not-a-string", (16, 16), "uint16", {"axes": ["y", "x"]}, ValueError, "string"),
    ("six-dims", (2, 2, 2, 2, 4, 4), "uint16", {}, ValueError, "5 dimensions"),
    ("one-dim", (16,), "uint16", {}, ValueError, "dimensions"),
    ("zero-size-axis", (0, 16), "uint16", {}, ValueError, "zero-size"),
    ("non-integer-ratio", (64, 64), "uint16", {"scale_factors": [2, 3]}, ValueError,
     "integer multiple"),
    ("non-integer-ratio-dict", (8, 64, 64), "uint16",
     {"scale_factors": [{"z": 2, "y": 2, "x": 2}, {"z": 3, "y": 4, "x": 4}]}, ValueError,
     "integer multiple"),
    ("scale-factor-zero", (64, 64), "uint16", {"scale_factors": [0]}, ValueError, ">= 1"),
    ("scale-factor-negative", (64, 64), "uint16", {"scale_factors": [-2]}, ValueError, ">= 1"),
    ("scale-factor-float", (64, 64), "uint16", {"scale_factors": [2.5]}, ValueError, "integer"),
    ("scale-factor-str", (64, 64), "uint16", {"scale_factors": ["2"]}, ValueError,
     "not a number"),
    ("scale-factor-bool", (64, 64), "uint16", {"scale_factors": [True]}, ValueError,
     "not a number"),
    ("scale-factors-not-a-list", (64, 64), "uint16", {"scale_factors": 2}, ValueError, "list"),
    ("scale-factor-too-large", (8, 8), "uint16", {"scale_factors": [2, 16]}, ValueError,
     "larger than"),
    ("channel-downsampled", (3, 64, 64), "uint16",
     {"axes": "cyx", "scale_factors": [{"c": 2, "y": 2, "x": 2}]}, ValueError, "space axis"),
    ("time-downsampled", (4, 3, 64, 64), "uint16",
     {"axes": "tcyx", "scale_factors": [{"t": 2, "y": 2, "x": 2}]}, ValueError, "space axis"),
    ("dict-names-missing-axis", (64, 64), "uint16", {"scale_factors": [{"z": 2}]}, ValueError,
     "not in"),
    ("max-layer-negative", (64, 64), "uint16", {"max_layer": -1}, ValueError, "max_layer"),
    ("max-layer-float", (64, 64), "uint16", {"max_layer": 1.5}, ValueError, "max_layer"),
    ("complex", (16, 16), "complex64", {}, TypeError, "complex"),
    ("object", (16, 16), "object", {}, TypeError, "object"),
    ("unicode", (16, 16), "<U1", {}, TypeError, "not supported"),
    *[(f"bool-{m}", (16, 16), "bool", {"method": m}, TypeError, "bool") for m in AVERAGING],
]


@pytest.mark.parametrize(
    ("shape", "dtype", "kwargs", "base", "word"),
    [case[1:] for case in PYRAMID_CASES],
    ids=[case[0] for case in PYRAMID_CASES],
)
@pytest.mark.parametrize("front", ["plan_pyramid", "pyramid-numpy", "pyramid-dask"])
def test_pyramid_refuses(front, shape, dtype, kwargs, base, word):
    with pytest.raises(omescale.OmescaleError) as excinfo:
        if front == "plan_pyramid":
            plan_pyramid(shape, np.dtype(dtype), **kwargs)
        else:
            x = np.zeros(shape, dtype=dtype)
            if front == "pyramid-dask":
                x = da.from_array(x, chunks=8, asarray=True)
            omescale.pyramid(x, **kwargs)
    _check(excinfo, base, word)


# A plan is made in NGFF order (t, c, z, y, x); the front doors take the input's own order.
@pytest.mark.parametrize(("shape", "axes"), [((4, 16, 16), "yzx"), ((2, 4, 16, 16), "zcyx")])
def test_plan_refuses_axes_out_of_ngff_order(shape, axes):
    with pytest.raises(omescale.OmescaleError) as excinfo:
        plan_pyramid(shape, np.dtype("uint16"), axes=axes)
    _check(excinfo, ValueError, "order")


@pytest.mark.parametrize(("shape", "axes", "to_ngff"), [
    ((4, 16, 16), "yzx", (1, 0, 2)),
    ((2, 4, 16, 16), "zcyx", (1, 0, 2, 3)),
])
@pytest.mark.parametrize("lazy", [False, True])
def test_pyramid_takes_the_inputs_own_axis_order(shape, axes, to_ngff, lazy):
    x = np.arange(np.prod(shape), dtype=np.uint16).reshape(shape)
    given = da.from_array(x, chunks=8) if lazy else x
    ngff = "".join(sorted(axes, key="tczyx".index))
    got = omescale.pyramid(given, [2], axes=axes, method="local_mean")
    expected = omescale.pyramid(np.transpose(x, to_ngff), [2], axes=ngff, method="local_mean")
    assert [lv.shape for lv in got] == [lv.shape for lv in expected]
    for ours, ref in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), ref)


def test_errors_are_catchable_by_their_builtin_base():
    with pytest.raises(ValueError):
        omescale.downsample(_img(), (0, 2))
    with pytest.raises(TypeError):
        omescale.downsample(_img(dtype=np.complex64), (2, 2))
