"""Lazy pyramids: level k+1 is computed from level k inside one graph, so the base is read once.

``gaussian`` chains on the stored (dtype-cast) levels, as ``pyramid_reduce`` applied to each
level would; ``laplacian`` keeps the float gaussian chain ``G_k`` and stores ``G_k - smooth(G_k)``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np

from omescale.api import as_array, level_kernel
from omescale.axes import to_ngff_order
from omescale.datatree import require_xarray, to_datatree
from omescale.kernels import build
from omescale.lift import lift_kernel, output_chunks
from omescale.lift.sweep import sweep_lag
from omescale.methods import Methods, check_dtype
from omescale.plan import PyramidPlan, plan_pyramid

__all__ = ["level_kernels", "levels_from_plan", "pyramid"]


def _apply(kernel: Any, x: np.ndarray | da.Array, out_shape, chunks, dtype, name: str,
           lag: int | None):
    if isinstance(x, np.ndarray):
        return kernel(x, (0,) * x.ndim, tuple((0, m) for m in out_shape))
    out_chunks = output_chunks(x.chunks, out_shape, (1,) * x.ndim, chunks)
    return lift_kernel(x, kernel, out_shape, out_chunks, dtype, name=name, lag=lag)


def _rechunk_level0(x: np.ndarray | da.Array, dtype: np.dtype, block: Sequence[int] | None):
    if x.dtype != dtype:
        x = x.astype(dtype)
    if isinstance(x, da.Array) and block is not None:
        x = x.rechunk(tuple(block))
    return x


def levels_from_plan(
    image: Any, plan: PyramidPlan, *, block_shapes: Sequence[Sequence[int]] | None = None,
    sweep: bool = False,
) -> list[np.ndarray | da.Array]:
    """The levels of ``plan`` from ``image``, level 0 first.

    ``block_shapes[k]`` is the dask block shape of level k (the writer passes the storage chunk
    or shard shape so that one task writes one storage object). numpy in, numpy out.
    ``sweep`` (for graphs that compute whole levels, as the writer's) runs halo methods in row
    order (``omescale.lift.sweep``); without it any block can be computed on its own.
    """
    x = as_array(image)
    check_dtype(plan.method, x.dtype)
    blocks = list(block_shapes) if block_shapes is not None else [lv.chunks for lv in plan.levels]
    lag = sweep_lag() if sweep else None
    if plan.method == Methods.LAPLACIAN:
        return _laplacian_levels(x, plan, blocks, lag)
    levels = [_rechunk_level0(x, plan.dtype, blocks[0])]
    for k, lv in enumerate(plan.levels[1:], start=1):
        prev = levels[-1]
        kernel = level_kernel(plan.method, prev.shape, lv.factors, plan.dtype, plan.order)
        levels.append(_apply(kernel, prev, lv.shape, blocks[k], plan.dtype, f"{plan.method}-{k}",
                             lag))
    return levels


def _laplacian_levels(x, plan: PyramidPlan, blocks, lag: int | None) -> list:
    work = np.dtype(np.float64)
    factors = [lv.factors for lv in plan.levels[1:]]
    first = factors[0] if factors else (1,) * x.ndim
    band0 = build.bandpass_kernel(x.shape, first, plan.dtype)
    levels = [_apply(band0, x, x.shape, blocks[0], plan.dtype, "laplacian-0", lag)]
    g = x
    for k, lv in enumerate(plan.levels[1:], start=1):
        band = build.laplacian_kernel(g.shape, lv.factors, plan.dtype)
        levels.append(_apply(band, g, lv.shape, blocks[k], plan.dtype, f"laplacian-{k}", lag))
        if k < len(plan.levels) - 1:
            step = build.gaussian_kernel(g.shape, lv.factors, work)
            g = _apply(step, g, lv.shape, blocks[k], work, f"gaussian-chain-{k}", lag)
    return levels


def _described(image: Any, given: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """An ``xarray.DataArray``'s data, and its axes, sizes, units and translation where the
    caller gave none; any other input as it is."""
    if "xarray" not in sys.modules:  # no DataArray can exist: keep import omescale light
        return image, given
    from omescale.inputs.xarray_input import dataarray_geometry, is_dataarray

    if not is_dataarray(image):
        return image, given
    geometry = dataarray_geometry(image)
    said = {"axes": geometry.axes, "physical_sizes": geometry.physical_sizes,
            "units": geometry.units, "translation": geometry.translation}
    return image.data, {k: v if v is not None else said[k] for k, v in given.items()}


def pyramid(
    image: Any,
    scale_factors: Sequence[object] | None = None,
    *,
    method: str | Methods = "resize",
    axes: str | None = None,
    max_layer: int | None = None,
    chunks: Sequence[int] | int | None = None,
    physical_sizes: Mapping[str, float] | None = None,
    order: int | None = None,
    units: Mapping[str, str] | None = None,
    translation: Mapping[str, float] | None = None,
    as_xarray: bool = False,
) -> Any:
    """A multiscale pyramid of ``image``, level 0 first; lazy for dask input.

    Parameters
    ----------
    image : numpy, dask, zarr array or xarray.DataArray, 2 to 5 dimensions
        A DataArray's dims are its axes and its coordinates give ``physical_sizes`` and
        ``translation`` (uniform spacing and first value), its coordinates' ``units`` attribute
        the units, unless given here (see ``omescale.inputs.xarray_input``).
    scale_factors : list, optional
        One entry per level after level 0: an int (cumulative factor on y and x) or a dict of
        axis -> cumulative factor. Default: halve y and x until they fit in one chunk and no
        downsampled axis is above 256 pixels; z only
        when ``physical_sizes`` show it finer than the level's x/y pixel size.
    method : str or Methods
        Downsampling method (see ``omescale.Methods``).
    axes : str, optional
        The input's axes in its own order, e.g. ``"czyx"`` or ``"yxc"``; inferred from the
        number of dimensions by default. The levels are in OME-NGFF order (t, c, z, y, x):
        an input in another order is transposed (a numpy view, a lazy dask transpose).
    max_layer : int, optional
        Index of the last level (ome-zarr's meaning: 3 gives 4 levels), honoured exactly.
    chunks : int or sequence of int, optional
        Block shape of the lazy levels (default: the input's chunks, or 512 in y/x).
    physical_sizes : dict, optional
        Axis -> pixel size of level 0; used for the anisotropy-aware default.
    order : int, optional
        Spline order for ``zoom``.
    units, translation : dict, optional
        Axis -> NGFF unit, axis -> level-0 position of the first pixel centre (default 0);
        they only label the ``as_xarray`` coordinates (as ``write_pyramid`` writes them).
    as_xarray : bool
        Return an ``xarray.DataTree`` (``scale0``, ``scale1``, ... each holding ``image`` with
        coordinates in physical units, the NGFF transforms of each level) instead of a list.
        Needs the ``omescale[xarray]`` extra.

    Returns
    -------
    list of arrays, or xarray.DataTree when ``as_xarray``

    Examples
    --------
    >>> import numpy as np, omescale
    >>> [lv.shape for lv in omescale.pyramid(np.zeros((64, 48), np.uint8), [2, 4])]
    [(64, 48), (32, 24), (16, 12)]
    """
    if as_xarray:
        require_xarray()  # before any work: the missing extra is the first thing to fix
    image, given = _described(image, {"axes": axes, "physical_sizes": physical_sizes,
                                       "units": units, "translation": translation})
    axes, physical_sizes = given["axes"], given["physical_sizes"]
    units, translation = given["units"], given["translation"]
    x, axes = to_ngff_order(as_array(image), axes)
    input_chunks = tuple(c[0] for c in x.chunks) if isinstance(x, da.Array) else None
    plan = plan_pyramid(
        x.shape, x.dtype, axes=axes, scale_factors=scale_factors, method=method,
        max_layer=max_layer, chunks=chunks, input_chunks=input_chunks,
        physical_sizes=physical_sizes, order=order, units=units, translation=translation,
    )
    levels = levels_from_plan(x, plan)
    if not as_xarray:
        return levels
    return to_datatree(levels, plan.axes, [lv.scale for lv in plan.levels],
                       [lv.translation for lv in plan.levels], units=plan.units)


def level_kernels(plan: PyramidPlan) -> list[Any]:
    """``kernels[k]`` computes level ``k`` from level ``k - 1`` (``kernels[0]`` is None)."""
    return [None] + [
        level_kernel(plan.method, prev.shape, lv.factors, plan.dtype, plan.order)
        for prev, lv in itertools.pairwise(plan.levels)
    ]
