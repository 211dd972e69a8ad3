"""``xarray.DataArray`` inputs: dims are the axes, coordinates the physical geometry.

- dims name the axes in the array's own order (single letters from t, c, z, y, x);
- a uniformly spaced numeric coordinate gives the axis' pixel size (its step) and level 0's
  translation (its first value); a missing coordinate means size 1 (unknown) and translation 0;
  one value gives the translation only; a non-uniform, decreasing or non-numeric coordinate is
  an :class:`InvalidAxesError` naming the dim. ``c`` has no geometry: string coordinates on it
  are channel labels;
- units: each coordinate's ``attrs["units"]`` (the CF and multiscale-spatial-image place),
  else ``attrs["units"]`` of the array when it is a dict axis -> unit (a string there is the
  CF unit of the values, not of the axes, and is ignored); common abbreviations (``um``,
  ``µm``, ``nm``, ``s`` ...) become OME-NGFF names.

Nothing is computed: dask data stay lazy (a ``da.from_zarr`` read is taken over by omescale's
own reader, as for a bare dask array), numpy data are wrapped with ``da.from_array``.
xarray itself is never imported here: a DataArray can only exist once it is.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import zarr

from omescale.axes import AXIS_ORDER
from omescale.errors import InputNotFoundError, InvalidAxesError
from omescale.inputs.image import Channel, InputImage
from omescale.inputs.source import from_zarr_array
from omescale.inputs.zarr_input import plain_zarr_read
from omescale.ngff.metadata import attributes, read_image_metadata

__all__ = [
    "DataArrayGeometry", "dataarray_geometry", "is_dataarray", "is_xarray", "open_dataarray",
    "stored_image",
]

# Abbreviations seen in xarray/CF datasets -> OME-NGFF (UDUNITS-2) unit names.
_UNIT_ALIASES = {
    "um": "micrometer", "µm": "micrometer", "μm": "micrometer", "micron": "micrometer",
    "microns": "micrometer", "nm": "nanometer", "mm": "millimeter", "cm": "centimeter",
    "m": "meter", "Å": "angstrom", "s": "second", "sec": "second",
    "ms": "millisecond", "us": "microsecond", "µs": "microsecond", "ns": "nanosecond",
    "min": "minute", "h": "hour",
}
_RELATIVE_TOLERANCE = 1e-6  # of the step: coordinates further from uniform are refused


@dataclass(frozen=True)
class DataArrayGeometry:
    """What a DataArray says about itself: axes (its own order), sizes, origin, units."""

    axes: str
    physical_sizes: dict[str, float] | None
    translation: dict[str, float] | None
    units: dict[str, str]
    channels: tuple[Channel, ...] | None


def is_dataarray(obj: Any) -> bool:
    """Whether ``obj`` is an ``xarray.DataArray`` (without importing xarray)."""
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(obj, xr.DataArray)


def is_xarray(obj: Any) -> bool:
    """Whether ``obj`` is an ``xarray.DataArray`` or ``xarray.DataTree``."""
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(obj, xr.DataArray | xr.DataTree)


def _axes(dims: tuple[Any, ...]) -> str:
    for d in dims:
        if not (isinstance(d, str) and len(d) == 1 and d.lower() in AXIS_ORDER):
            raise InvalidAxesError(
                f"DataArray dim {d!r} is not an OME-NGFF axis: name the dims with t, c, z, y, "
                f"x (e.g. array.rename({{{d!r}: 'y'}})); dims are {tuple(dims)}"
            )
    return "".join(d.lower() for d in dims)


def _step(dim: str, values: np.ndarray) -> float:
    """The uniform spacing of ``values`` (rounded to 12 significant digits, so that
    ``0.1 * arange(n)`` gives 0.1), or an error naming ``dim``."""
    step = float(f"{(float(values[-1]) - float(values[0])) / (len(values) - 1):.12g}")
    if not step > 0:
        raise InvalidAxesError(
            f"coordinate of dim {dim!r} does not increase ({values[0]} ... {values[-1]}): "
            f"OME-NGFF pixel sizes are positive; use array.sortby({dim!r})"
        )
    ideal = float(values[0]) + step * np.arange(len(values))
    worst = float(np.max(np.abs(values.astype(np.float64) - ideal)))
    if worst > _RELATIVE_TOLERANCE * step:
        raise InvalidAxesError(
            f"coordinate of dim {dim!r} is not uniformly spaced (off a step of {step:g} by up "
            f"to {worst:g}): OME-NGFF levels have one pixel size per axis"
        )
    return step


def _geometry(arr: Any, dims: str) -> tuple[dict[str, float], dict[str, float], tuple | None]:
    sizes: dict[str, float] = {}
    origin: dict[str, float] = {}
    channels = None
    for name, a in zip(arr.dims, dims, strict=True):
        if name not in arr.coords:
            continue
        values = np.asarray(arr.coords[name].values)
        if a == "c":
            if values.dtype.kind in "UO":
                channels = tuple(Channel(str(v)) for v in values)
            continue
        if values.dtype.kind not in "iuf":
            raise InvalidAxesError(f"coordinate of dim {name!r} holds {values.dtype} values, "
                                   "not numbers: it cannot give a pixel size")
        origin[a] = float(values[0])
        if len(values) > 1:
            sizes[a] = _step(name, values)
    return sizes, origin, channels


def _unit(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return _UNIT_ALIASES.get(value.strip(), value.strip())


def _units(arr: Any, dims: str) -> dict[str, str]:
    table = arr.attrs.get("units")
    table = table if isinstance(table, dict) else {}
    out = {}
    for name, a in zip(arr.dims, dims, strict=True):
        coord = arr.coords[name].attrs.get("units") if name in arr.coords else None
        unit = _unit(coord) or _unit(table.get(name))
        if unit is not None and a != "c":
            out[a] = unit
    return out


def dataarray_geometry(arr: Any) -> DataArrayGeometry:
    """Axes, pixel sizes, level-0 translation, units and channel labels of ``arr``.

    Raises
    ------
    InvalidAxesError
        A dim is not one of t, c, z, y, x, or a coordinate is not numeric and uniform.
    """
    axes = _axes(tuple(arr.dims))
    sizes, origin, channels = _geometry(arr, axes)
    return DataArrayGeometry(axes=axes, physical_sizes=sizes or None,
                             translation=origin or None, units=_units(arr, axes),
                             channels=channels)


def _lazy(data: Any, name: str) -> tuple[da.Array, bool]:
    """The data as dask (numpy wrapped, ``da.from_zarr`` taken over) and whether its chunks
    are worth keeping."""
    if isinstance(data, da.Array):
        plain = plain_zarr_read(data)
        return (from_zarr_array(plain, name) if plain is not None else data), True
    data = np.asarray(data)
    return da.from_array(data, chunks=-1 if data.dtype.hasobject else "auto"), False


def open_dataarray(arr: Any) -> InputImage:
    """``arr`` as an :class:`InputImage` (data in its own dim order, lazily)."""
    geometry = dataarray_geometry(arr)
    name = f"DataArray {arr.name!r}" if arr.name is not None else "DataArray"
    data, native = _lazy(arr.data, name)
    return InputImage(
        data=data, name=name, axes=geometry.axes, physical_sizes=geometry.physical_sizes,
        units=geometry.units, translation=geometry.translation, native_chunks=native,
        channels=geometry.channels,
    )


def _level0_array(obj: Any) -> Any:
    """The zarr array a DataTree's first level (or a DataArray) plainly reads, else None."""
    xr = sys.modules["xarray"]
    if isinstance(obj, xr.DataTree):
        first = next(iter(obj.children.values()), None)
        if first is None or not first.data_vars:
            return None
        obj = next(iter(first.data_vars.values()))
    return plain_zarr_read(obj.data) if isinstance(obj.data, da.Array) else None


def stored_image(obj: Any) -> Any:
    """The writable zarr store of the OME-Zarr image whose level 0 ``obj`` reads: a
    DataTree from :func:`omescale.open_pyramid` or its level-0 DataArray.

    Raises
    ------
    InputNotFoundError
        ``obj`` is not a plain read of a stored image's level 0 (an in-memory or computed
        DataArray has no image to add levels to: write it with ``write_pyramid``).
    """
    array = _level0_array(obj)
    where = "the DataArray" if is_dataarray(obj) else "the DataTree"
    if array is None:
        raise InputNotFoundError(
            f"{where} does not read a stored OME-Zarr image (it is in memory or computed): "
            "add_levels adds levels to a stored image (pass its path or "
            "omescale.open_pyramid(path)); write this one with write_pyramid"
        )
    group_path, _, name = array.path.rpartition("/")
    store = array.store
    if group_path:
        raise InputNotFoundError(
            f"{where} reads {array.path!r}, an image below the store's root: pass the image's "
            "path to add_levels instead"
        )
    meta = read_image_metadata(attributes(zarr.open_group(store, mode="r")), "the image")
    if meta.paths[0] != name:
        raise InputNotFoundError(f"{where} reads level {name!r}, not level 0 "
                                 f"({meta.paths[0]!r}) of its image")
    return store.with_read_only(False) if store.read_only else store
