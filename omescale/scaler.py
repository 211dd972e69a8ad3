"""``Scaler``: a drop-in for ``ome_zarr.scale.Scaler`` that is exact, lazy and zarr-3 ready.

Same attributes and methods as ome-zarr-py 0.18's class, and the same level shapes (floor for
``nearest`` and ``resize_image``, ceil for the others), with its defects fixed (see
``docs/migration.md``):

- numpy in -> numpy out, dask in -> lazy dask out, identical on any chunking;
- integer results are rounded, not truncated; ``gaussian`` and ``laplacian`` keep the range of
  integer images (ome-zarr's are all zeros); ``laplacian`` levels are float (signed band-pass);
- ``zoom`` downsamples, level 0 first (ome-zarr's up-samples and reverses the list);
- every method downsamples only the last two axes (y, x), as ome-zarr's ``nearest`` does;
- ``scale()`` writes a real OME-Zarr (NGFF 0.5 on zarr 3, or the input image's own version in
  place), checks labels with an :class:`~omescale.errors.LabelValuesError` naming new values,
  and adds levels to an existing image when ``in_place``. Nothing is printed.
"""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import zarr

from omescale._version import __version__
from omescale.api import apply_kernel, as_array
from omescale.axes import infer_axes
from omescale.errors import (
    InvalidFactorsError,
    InvalidMethodError,
    InvalidOptionError,
    InvalidShapeError,
    LabelValuesError,
    OutputExistsError,
)
from omescale.geometry import step_transform
from omescale.inputs import InputImage, open_input
from omescale.kernels.build import floor_resize_kernel
from omescale.kernels.dtypes import cast_output
from omescale.levels import pyramid
from omescale.methods import Methods, output_dtype
from omescale.ngff.codecs import DEFAULT_CODEC, compressors
from omescale.ngff.metadata import (
    NGFF_KEYS,
    attributes,
    image_attributes,
    multiscale_metadata,
    ngff_version,
    read_image_metadata,
)
from omescale.ngff.omero import with_omero
from omescale.ngff.store import (
    acquire_lock,
    clear_store,
    lock_key,
    open_store,
    open_target,
    release_lock,
)
from omescale.plan import default_chunks

__all__ = ["Scaler"]

Array = np.ndarray | da.Array

# Scaler method name -> (omescale method, NGFF geometry kind, reference), in ome-zarr's order.
_METHODS: dict[str, tuple[Methods, str, str]] = {
    "gaussian": (Methods.GAUSSIAN, "resize",
                 "skimage.transform.pyramid_reduce(preserve_range=True) on y, x"),
    "laplacian": (Methods.LAPLACIAN, "resize", "skimage.transform.pyramid_laplacian on y, x"),
    "local_mean": (Methods.LOCAL_MEAN, "block",
                   "skimage.transform.downscale_local_mean on y, x (partial windows: mean of "
                   "the pixels that exist)"),
    "nearest": (Methods.NEAREST, "resize",
                "skimage.transform.resize(order=0, output_shape=floor(N/downscale)) on y, x"),
    "resize_image": (Methods.RESIZE, "resize",
                     "skimage.transform.resize(order=order, anti_aliasing=False, "
                     "output_shape=floor(N/downscale)) on y, x"),
    "zoom": (Methods.ZOOM, "zoom",
             "scipy.ndimage.zoom(zoom=ceil(N/downscale)/N, order=order, grid_mode=False) on y, x"),
}


def _floor_kernel(shape: tuple[int, ...], downscale: int, order: int,
                  dtype: np.dtype) -> tuple[Any, tuple[int, ...]]:
    """skimage ``resize`` to ``floor(N / downscale)`` on the last two axes, no anti-aliasing."""
    out = (*shape[:-2], *(n // downscale for n in shape[-2:]))
    for axis, (n, m) in enumerate(zip(shape, out, strict=True)):
        if m == 0:
            raise InvalidFactorsError(
                f"downscale {downscale} of axis {axis} ({n} pixels) leaves no pixel; "
                "lower max_layer or downscale"
            )
    return floor_resize_kernel(shape, out, order, dtype), out


def _clip_cast(values: np.ndarray, lo: Any, hi: Any, dtype: np.dtype) -> np.ndarray:
    return cast_output(np.clip(values, lo, hi), dtype)


@dataclass
class Scaler:
    """Downsample numpy or dask arrays into pyramids, as ``ome_zarr.scale.Scaler`` does.

    Attributes
    ----------
    copy_metadata : bool
        ``scale()`` copies the input's user attributes to the new image.
    downscale : int
        Factor on y and x between consecutive levels.
    in_place : bool
        ``scale()`` adds the levels to the input image instead of writing a new one.
    labeled : bool
        ``scale()`` refuses levels holding values the input does not hold.
    max_layer : int
        Number of levels after level 0.
    method : str
        One of :meth:`methods`.
    order : int
        Spline order of ``resize_image`` and ``zoom`` (0-5).
    overwrite : bool
        ``scale()`` may replace a non-empty output (ome-zarr always did; omescale refuses).

    Examples
    --------
    >>> import numpy as np
    >>> from omescale import Scaler
    >>> [lv.shape for lv in Scaler().nearest(np.zeros((1, 1, 1, 64, 64)))]
    [(1, 1, 1, 64, 64), (1, 1, 1, 32, 32), (1, 1, 1, 16, 16), (1, 1, 1, 8, 8), (1, 1, 1, 4, 4)]
    """

    copy_metadata: bool = False
    downscale: int = 2
    in_place: bool = False
    labeled: bool = False
    max_layer: int = 4
    method: str = "nearest"
    order: int = 1
    overwrite: bool = False

    @staticmethod
    def methods() -> Iterator[str]:
        """Names of the downsampling methods, as ome-zarr lists them."""
        yield from _METHODS

    @property
    def func(self) -> Callable[[Array], list[Array]]:
        """The pyramid function of :attr:`method` (``resize_image`` repeated for a pyramid)."""
        table: dict[str, Callable[[Array], list[Array]]] = {
            "gaussian": self.gaussian,
            "laplacian": self.laplacian,
            "local_mean": self.local_mean,
            "nearest": self.nearest,
            "resize_image": self._resize_pyramid,
            "zoom": self.zoom,
        }
        try:
            return table[self.method]
        except (KeyError, TypeError):
            raise InvalidMethodError(
                f"unknown Scaler method {self.method!r}; choose one of: {', '.join(_METHODS)}"
            ) from None

    # --- one-level and pyramid methods -------------------------------------------------------

    def resize_image(self, image: Array) -> Array:
        """One level: ``skimage.transform.resize`` to floor(N/downscale) on y and x.

        ``order`` is :attr:`order`, no anti-aliasing (as ome-zarr). Integer results are
        rounded; spline orders > 1 are clipped to the input's range (a lazy reduction).
        """
        x = self._check(image)
        dtype = output_dtype(Methods.RESIZE, x.dtype)
        order = self._order()
        work = np.dtype(np.float64) if order >= 2 else dtype
        kernel, out_shape = _floor_kernel(x.shape, self._factor(), order, work)
        y = self._lift(x, kernel, out_shape, work, "scaler-resize")
        if order < 2:
            return y
        lo, hi = x.min(), x.max()
        if isinstance(y, np.ndarray):
            return _clip_cast(y, lo, hi, dtype)
        return da.map_blocks(_clip_cast, y, lo, hi, dtype, dtype=dtype)

    def nearest(self, base: Array) -> list[Array]:
        """Pyramid by ``skimage.transform.resize(order=0)`` to floor(N/downscale) on y, x."""
        x = self._check(base)
        levels = [x]
        for _ in range(self._layers()):
            prev = levels[-1]
            dtype = output_dtype(Methods.NEAREST, prev.dtype)
            kernel, out_shape = _floor_kernel(prev.shape, self._factor(), 0, dtype)
            levels.append(self._lift(prev, kernel, out_shape, dtype, "scaler-nearest"))
        return levels

    def local_mean(self, base: Array) -> list[Array]:
        """Pyramid of means over ``downscale`` x ``downscale`` windows; ceil(N/downscale)."""
        return self._ceil_pyramid(base, Methods.LOCAL_MEAN, stop_when_unchanged=False)

    def gaussian(self, base: Array) -> list[Array]:
        """Pyramid as ``skimage.transform.pyramid_gaussian`` on y and x, input dtype kept."""
        return self._ceil_pyramid(base, Methods.GAUSSIAN, stop_when_unchanged=True)

    def laplacian(self, base: Array) -> list[Array]:
        """Pyramid as ``skimage.transform.pyramid_laplacian`` on y and x (float levels)."""
        return self._ceil_pyramid(base, Methods.LAPLACIAN, stop_when_unchanged=False)

    def zoom(self, base: Array) -> list[Array]:
        """Pyramid by ``scipy.ndimage.zoom`` *down* by ``downscale`` on y, x, level 0 first."""
        return self._ceil_pyramid(base, Methods.ZOOM, stop_when_unchanged=False)

    # --- writing ------------------------------------------------------------------------------

    def scale(self, input_array: Any, output_directory: Any = None) -> None:
        """Write the pyramid of ``input_array`` as an OME-Zarr image.

        Parameters
        ----------
        input_array
            A zarr array or OME-Zarr image (path, URL or object), a TIFF or ``.npy`` path, or a
            numpy/dask array.
        output_directory
            Where to write a new image (NGFF 0.5, zarr 3). With :attr:`in_place` it may be
            omitted (or name the input image): the new levels go into the input image.

        Raises
        ------
        LabelValuesError
            ``labeled`` is set and a level holds values the input does not hold.
        OutputExistsError
            The output is not empty and :attr:`overwrite` is not set.
        """
        if self.in_place:
            self._scale_in_place(input_array, output_directory)
            return
        if output_directory is None:
            raise InvalidOptionError("Scaler.scale needs an output_directory unless in_place")
        src = open_input(input_array)
        target = open_target(output_directory, overwrite=self.overwrite, source=src.location)
        levels = self._levels_for_writing(src.data)
        attrs = self._attributes(src, levels, "0.5", base=None)
        if self.copy_metadata:
            attrs = {**_user_attributes(input_array, src), **attrs}
            if src.omero is not None:  # an OME-Zarr input's rendering metadata, as NGFF 0.5
                attrs = with_omero(attrs, src.omero, "0.5")
        token = acquire_lock(target.store, target.location)
        try:
            if self.overwrite:
                clear_store(target.store)
            group = zarr.create_group(target.store, zarr_format=3, attributes=_marker())
        except BaseException:
            release_lock(target.store, token)
            raise
        self._write(group, levels, attrs, first=0, where=target.location, token=token,
                    axes=src.axes)

    def _scale_in_place(self, input_array: Any, output_directory: Any) -> None:
        path = os.fspath(input_array) if isinstance(input_array, str | os.PathLike) else None
        if path is None:
            raise InvalidOptionError("in_place needs the path or URL of an OME-Zarr image")
        if output_directory is not None and os.fspath(output_directory) != path:
            raise InvalidOptionError(
                f"in_place writes into the input image {path}; output_directory "
                f"{output_directory} must be omitted or equal to it"
            )
        store = open_store(path)
        group = zarr.open_group(store, mode="r+")
        meta = read_image_metadata(attributes(group), path)
        src = open_input(path)
        levels = self._levels_for_writing(src.data)
        base = meta.paths[0]
        paths = [base, *(str(k) for k in range(1, len(levels)))]
        clash = [p for p in paths[1:] if p in group or p in meta.paths[1:]]
        clash += [p for p in meta.paths[1:] if p not in paths]
        if clash and not self.overwrite:
            raise OutputExistsError(
                f"{path} already has levels {sorted(set(clash))}; set overwrite=True to "
                "replace them"
            )
        token = acquire_lock(store, path)
        try:
            group.attrs.put({**_only_level0(attributes(group)), **_marker()})
            for p in sorted(set(clash)):
                if p in group:
                    del group[p]
        except BaseException:
            release_lock(store, token)
            raise
        version = ngff_version(group.metadata.zarr_format)
        attrs = self._attributes(src, levels, version, base=meta)
        attrs = {**{k: v for k, v in group.attrs.items() if k not in NGFF_KEYS}, **attrs}
        if meta.omero is not None:  # the image's own rendering metadata stays
            attrs = with_omero(attrs, meta.omero, version)
        self._write(group, levels, attrs, first=1, where=path, token=token, paths=paths,
                    axes=meta.axes)

    # --- helpers --------------------------------------------------------------------------------

    def _check(self, image: Any) -> Array:
        x = as_array(image)  # numpy stays numpy; dask and zarr arrays stay lazy
        if x.ndim < 2:
            raise InvalidShapeError(
                f"Scaler downsamples the last two axes (y, x); got {x.ndim} dimension(s)"
            )
        if any(n == 0 for n in x.shape):
            raise InvalidShapeError(f"shape {x.shape} has a zero-size axis")
        return x

    def _factor(self) -> int:
        d = self.downscale
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
            raise InvalidFactorsError(f"downscale must be an integer >= 1, got {d!r}")
        return int(d)

    def _layers(self) -> int:
        n = self.max_layer
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise InvalidFactorsError(f"max_layer must be an integer >= 0, got {n!r}")
        return int(n)

    def _order(self) -> int:
        o = self.order
        if isinstance(o, bool) or not isinstance(o, int | np.integer) or not 0 <= o <= 5:
            raise InvalidMethodError(f"order must be an integer from 0 to 5, got {o!r}")
        return int(o)

    def _lift(self, x: Array, kernel: Any, out_shape: tuple[int, ...],
              dtype: np.dtype, name: str) -> Array:
        factors = (*(1,) * (x.ndim - 2), self._factor(), self._factor())
        return apply_kernel(x, kernel, out_shape, factors, dtype, name=name)

    def _ceil_pyramid(self, base: Any, method: Methods, *, stop_when_unchanged: bool,
                      chunks: tuple[int, ...] | None = None) -> list[Array]:
        x = self._check(base)
        d, ndim = self._factor(), x.ndim
        if ndim > 5:
            raise InvalidShapeError(f"OME-NGFF images have 2 to 5 dimensions; this has {ndim}")
        shape, cumulative, factors = list(x.shape), [1, 1], []
        for _ in range(self._layers()):
            step = [min(d, n) for n in shape[-2:]]
            if stop_when_unchanged and all(n == 1 for n in shape[-2:]):
                break  # skimage's pyramids stop once a level no longer shrinks
            shape[-2:] = [-(-n // f) for n, f in zip(shape[-2:], step, strict=True)]
            cumulative = [c * f for c, f in zip(cumulative, step, strict=True)]
            factors.append({"y": cumulative[0], "x": cumulative[1]})
        order = self._order() if method == Methods.ZOOM else None
        return pyramid(x, factors, method=method, axes=infer_axes(ndim), chunks=chunks,
                       order=order)

    def _resize_pyramid(self, base: Array) -> list[Array]:
        levels = [self._check(base)]
        for _ in range(self._layers()):
            levels.append(self.resize_image(levels[-1]))
        return levels

    def _levels_for_writing(self, data: da.Array) -> list[Array]:
        levels = self.func(data)
        if self.labeled:
            _check_labels(levels)
        return levels

    def _attributes(self, src: InputImage, levels: Sequence[Array], version: str,
                    base: Any) -> dict[str, Any]:
        method, kind, reference = _METHODS[self.method]
        axes = src.axes or infer_axes(levels[0].ndim)
        sizes = src.physical_sizes or {}
        scale = [float(sizes.get(a, 1.0)) for a in axes]
        translation = [0.0] * len(axes)
        if base is not None and base.scales[0] is not None:
            scale = list(base.scales[0])
            translation = list(base.translations[0] or translation)
        scales, translations = [tuple(scale)], [tuple(translation)]
        d = self._factor()
        for prev, level in itertools.pairwise(levels):
            pairs = [
                step_transform(kind, min(d, n), n, m, s, t)  # type: ignore[arg-type]
                if n != m else (s, t)
                for n, m, s, t in zip(prev.shape, level.shape, scales[-1], translations[-1],
                                      strict=True)
            ]
            scales.append(tuple(p[0] for p in pairs))
            translations.append(tuple(p[1] for p in pairs))
        provenance = {
            "function": "omescale.Scaler.scale",
            "method": self.method,
            "reference": reference,
            "args": {"downscale": self._factor(), "max_layer": self._layers(),
                     "order": self._order(), "omescale_method": str(method)},
            "version": __version__,
        }
        paths = [base.paths[0], *(str(k) for k in range(1, len(levels)))] if base else None
        ms = multiscale_metadata(axes, scales, translations, units=src.units or None,
                                 method=str(method), provenance=provenance, paths=paths)
        return image_attributes(ms, version)

    def _write(self, group: zarr.Group, levels: Sequence[Array], attrs: Mapping[str, Any], *,
               first: int, where: str, token: str, paths: list[str] | None = None,
               axes: str | None = None) -> None:
        """Create the arrays, write every chunk (one task each), write the metadata last."""
        try:
            # dimension names follow the multiscales axes (the image's own, else inferred)
            axes = axes or infer_axes(levels[0].ndim)
            dtype = np.dtype(levels[-1].dtype)
            chunks = default_chunks(levels[0].shape, axes, dtype.itemsize)
            paths = paths or [str(k) for k in range(len(levels))]
            sources: list[da.Array] = []
            targets: list[Any] = []  # zarr arrays, which dask's annotation of store omits
            for level, path in zip(levels[first:], paths[first:], strict=True):
                level_chunks = tuple(min(c, n) for c, n in zip(chunks, level.shape, strict=True))
                targets.append(_create_array(group, path, level.shape, dtype, level_chunks, axes))
                sources.append(da.asarray(level).astype(dtype).rechunk(level_chunks))
            da.store(sources, targets, lock=False, compute=True)
            group.attrs.put(dict(attrs))
        finally:
            release_lock(group.store, token, lock_key())


def _only_level0(attrs: dict[str, Any]) -> dict[str, Any]:
    """The image's attributes listing only level 0 (what stays valid while levels are added)."""
    attrs = copy.deepcopy(attrs)
    holder = attrs["ome"] if "multiscales" in attrs.get("ome", {}) else attrs
    ms = holder["multiscales"][0]
    ms["datasets"] = ms["datasets"][:1]
    return attrs


def _marker() -> dict[str, Any]:
    return {"omescale": {"status": "incomplete", "note": "omescale.Scaler is writing this image"}}


def _create_array(group: zarr.Group, path: str, shape: tuple[int, ...], dtype: np.dtype,
                  chunks: tuple[int, ...], axes: str) -> zarr.Array:
    if group.metadata.zarr_format == 3:
        extra: dict[str, Any] = {"dimension_names": list(axes)}
    else:
        extra = {"chunk_key_encoding": {"name": "v2", "separator": "/"}}
    codecs = compressors(DEFAULT_CODEC, group.metadata.zarr_format, dtype)
    return group.create_array(path, shape=shape, dtype=dtype, chunks=chunks, fill_value=0,
                              compressors=codecs, **extra)


def _check_labels(levels: list[Array]) -> None:
    """Raise naming the values of any level that level 0 does not hold."""
    # One compute for every level: the levels share one graph, so the base is read once.
    base, *others = dask.compute(*(da.unique(da.asarray(level)) for level in levels))
    for k, found in enumerate(others, start=1):
        new = np.setdiff1d(found, base)
        if new.size:
            shown = ", ".join(str(v) for v in new[:8].tolist())
            more = f" and {new.size - 8} more" if new.size > 8 else ""
            raise LabelValuesError(
                f"level {k} holds {new.size} value(s) not in the input labels: {shown}{more}; "
                "use method='nearest' for label images"
            )


def _user_attributes(input_array: Any, src: InputImage) -> dict[str, Any]:
    """User attributes of the input: an OME-Zarr image's, or a plain zarr array's."""
    if src.attributes:
        return dict(src.attributes)
    node = input_array if isinstance(input_array, zarr.Array | zarr.Group) else None
    if node is None and isinstance(input_array, str | os.PathLike):
        try:
            node = zarr.open(open_store(os.fspath(input_array), read_only=True), mode="r")
        except (OSError, KeyError, ValueError, zarr.errors.NodeNotFoundError):
            return {}  # not a zarr node (TIFF, .npy): no attributes
    if node is None:
        return {}
    return {k: v for k, v in node.attrs.items() if k not in NGFF_KEYS}
