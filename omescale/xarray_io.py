"""``open_pyramid``: any OME-Zarr image (NGFF 0.4 or 0.5, written by anyone) as a lazy
``xarray.DataTree`` in the multiscale-spatial-image layout (``omescale.datatree``).

Only metadata is read: each level is one ``dask.array.from_zarr`` (one task per storage
object: the shard when sharded, else the chunk), so selecting a region and computing it reads
only the objects under that region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as da
import zarr

from omescale.axes import infer_axes
from omescale.datatree import require_xarray, to_datatree
from omescale.errors import InputNotFoundError, InvalidAxesError
from omescale.inputs.zarr_input import level_array
from omescale.ngff.metadata import attributes, read_image_metadata
from omescale.ngff.store import location_of, open_store

__all__ = ["open_pyramid"]


def _axis_names(attrs: Mapping[str, Any], ndim: int, where: str) -> list[str]:
    """The dims: the multiscale's axis names (any names, as NGFF allows), else inferred."""
    ome = attrs.get("ome", attrs)
    axes = ome["multiscales"][0].get("axes")
    if axes is None:  # NGFF <= 0.3 has no axes: 2D yx ... 5D tczyx
        return list(infer_axes(ndim))
    names = [a["name"] if isinstance(a, Mapping) else str(a) for a in axes]
    if len(names) != ndim or len(set(names)) != ndim:
        raise InvalidAxesError(f"{where}: multiscales axes {names} do not name the "
                               f"{ndim} dimensions of its arrays once each")
    return names


def _global_transform(attrs: Mapping[str, Any], ndim: int) -> tuple[list[float], list[float]]:
    """The multiscale-wide scale and translation NGFF applies after each dataset's own."""
    ome = attrs.get("ome", attrs)
    scale, translation = [1.0] * ndim, [0.0] * ndim
    for t in ome["multiscales"][0].get("coordinateTransformations") or ():
        if t.get("type") == "scale" and "scale" in t:
            scale = [float(v) for v in t["scale"]]
        elif t.get("type") == "translation" and "translation" in t:
            translation = [float(v) for v in t["translation"]]
    return scale, translation


def _lazy_level(array: zarr.Array) -> da.Array:
    """One task per storage object (shard or chunk), reading nothing now."""
    return da.from_zarr(array, chunks=array.shards or array.chunks)


def open_pyramid(store: Any, *, storage_options: dict | None = None) -> Any:
    """Open the OME-Zarr image at ``store`` as a lazy ``xarray.DataTree``.

    Parameters
    ----------
    store
        Path, fsspec URL or zarr store of an OME-Zarr image (or of a label image,
        ``.../labels/<name>``), NGFF 0.4 (zarr 2) or 0.5 (zarr 3).
    storage_options
        Passed to fsspec for URLs.

    Returns
    -------
    xarray.DataTree
        ``scale0``, ``scale1``, ... in the order of the image's ``datasets``, each a Dataset
        holding ``image`` (dask-backed, dims = the NGFF axis names) whose coordinates are
        ``translation + scale * index`` of that level's coordinateTransformations (scale 1 and
        translation 0 where absent; a multiscale-wide transform is applied after them, as NGFF
        says) and carry the axis ``units``.

    Raises
    ------
    InputNotFoundError
        ``store`` holds no OME-Zarr image, or a level it lists is missing.
    MissingExtraError
        xarray is not installed (``pip install 'omescale[xarray]'``).

    Examples
    --------
    >>> tree = omescale.open_pyramid("image.ome.zarr")                # doctest: +SKIP
    >>> tree["scale2/image"].sel(x=slice(100.0, 200.0)).compute()     # doctest: +SKIP
    """
    require_xarray()
    opened = open_store(store, storage_options=storage_options, read_only=True)
    where = location_of(opened)
    try:
        group = zarr.open_group(opened, mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError,
            zarr.errors.ContainsArrayError) as exc:
        raise InputNotFoundError(f"{where} is not an OME-Zarr image (no zarr group)") from exc
    attrs = attributes(group)
    meta = read_image_metadata(attrs, where)
    arrays = [level_array(group, p, where) for p in meta.paths]
    ndim = arrays[0].ndim
    dims = _axis_names(attrs, ndim, where)
    gs, gt = _global_transform(attrs, ndim)
    scales = [[g * v for g, v in zip(gs, s or (1.0,) * ndim, strict=True)] for s in meta.scales]
    translations = [
        [g * v + o for g, v, o in zip(gs, t or (0.0,) * ndim, gt, strict=True)]
        for t in meta.translations
    ]
    return to_datatree([_lazy_level(a) for a in arrays], dims, scales, translations,
                       units=meta.units)
