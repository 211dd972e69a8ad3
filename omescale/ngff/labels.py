"""``write_labels``: a label pyramid under ``labels/<name>`` of an OME-Zarr image.

Only label-safe methods (nearest, mode, min, max) are allowed: every level's values are a subset
of level 0's. By default the label levels follow the image's levels (same cumulative factors),
so each label level overlays the image level of the same path.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import zarr
from dask.delayed import Delayed

from omescale.errors import (
    InputNotFoundError,
    InvalidMethodError,
    InvalidOptionError,
    LabelShapeError,
    OutputExistsError,
    UnsupportedDtypeError,
)
from omescale.inputs import InputImage, open_input
from omescale.inputs.order import in_ngff_order
from omescale.inputs.zarr_input import level_array
from omescale.methods import METHOD_SPECS, Methods, to_method
from omescale.ngff.codecs import DEFAULT_CODEC
from omescale.ngff.job import storage_layout
from omescale.ngff.job_record import job_record
from omescale.ngff.metadata import (
    ImageMetadata,
    ZarrFormat,
    attributes,
    label_attributes,
    labels_group_attributes,
    read_image_metadata,
)
from omescale.ngff.store import (
    LOCK_KEY,
    acquire_lock,
    check_node_replaceable,
    check_not_inside,
    location_of,
    open_store,
    release_lock,
    source_options,
)
from omescale.ngff.writer import open_group, pyramid_multiscale, run_pyramid_job
from omescale.plan import PyramidPlan, plan_pyramid

__all__ = ["LABEL_METHODS", "write_labels"]

LABEL_METHODS = tuple(m for m in Methods if METHOD_SPECS[m].label_safe)


def _label_method(method: str | Methods) -> Methods:
    method = to_method(method)
    if method not in LABEL_METHODS:
        names = ", ".join(sorted({m.value for m in LABEL_METHODS}))
        raise InvalidMethodError(f"method {method.value!r} is not label-safe; use one of {names}")
    return method


def matching_axes(shape: tuple[int, ...], axes: str | None, image_axes: str | None,
                  base: tuple[int, ...], where: str) -> str | None:
    """The labels' axes, after checking them and ``shape`` against the image's level 0.

    The labels take the image's axes, with or without the channel axis ``c``, and its
    level-0 size on each of them.

    Raises
    ------
    LabelShapeError
        Different axes, or a different size on any axis.
    """
    found = f"labels of shape {tuple(shape)}" + (f" (axes {axes!r})" if axes else "")
    if image_axes is None:
        if tuple(shape) != tuple(base):
            raise LabelShapeError(f"{found} do not match the image's level 0 {base} ({where})")
        return axes
    allowed = (image_axes, image_axes.replace("c", ""))
    axes = axes or next((a for a in allowed if len(a) == len(shape)), None)
    if axes not in allowed:
        raise LabelShapeError(
            f"{found} do not match the image {where} (axes {image_axes!r}, level 0 {base}): "
            "labels take the image's axes, with or without the channel axis c")
    wanted = tuple(base[image_axes.index(a)] for a in axes)
    if tuple(shape) != wanted:
        raise LabelShapeError(f"{found} do not match the image's level 0 {base} (axes "
                              f"{image_axes!r}): expected {wanted}")
    return axes


def _image_factors(
    group: zarr.Group, meta: ImageMetadata, axes: str, where: str
) -> list[dict[str, int]] | None:
    """Cumulative factors of the image's levels on ``axes`` (``None`` if not integer)."""
    shapes = [level_array(group, p, where).shape for p in meta.paths]
    image_axes = meta.axes or ""
    out = []
    for shape in shapes[1:]:
        level = {}
        for a in axes:
            i = image_axes.index(a)
            n0, nk = shapes[0][i], shape[i]
            f = max(1, round(n0 / nk))
            if math.ceil(n0 / f) != nk:
                return None
            level[a] = f
        out.append(level)
    return out


def _register(store: Any, name: str, version: str, zarr_format: ZarrFormat) -> None:
    """List ``name`` in the ``labels`` group (runs after the label image is complete)."""
    group = zarr.open_group(store, path="labels", mode="a", zarr_format=zarr_format)
    attrs = attributes(group)
    names = list((attrs.get("ome", attrs)).get("labels", []))
    if name not in names:
        names.append(name)
    group.attrs.put({**attrs, **labels_group_attributes(names, version)})


def _check_label_name(name: Any) -> None:
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise InvalidOptionError(f"label name must be a non-empty name without '/', not {name!r}")


def _open_image(
    image_store: Any, storage_options: dict | None, where: str
) -> tuple[zarr.Group, ImageMetadata]:
    """The image group (read-only) and its NGFF metadata."""
    try:
        image = zarr.open_group(open_store(image_store, storage_options=storage_options,
                                           read_only=True), mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError,
            zarr.errors.ContainsArrayError) as exc:
        raise InputNotFoundError(f"{where} is not an OME-Zarr image") from exc
    return image, read_image_metadata(attributes(image), where)


def _open_labels(labels: Any, axes: str | None, options: dict | None) -> InputImage:
    """The label input, integer or bool, in NGFF axis order when its axes are known."""
    src = open_input(labels, storage_options=options)
    if src.data.dtype.kind not in "biu":
        raise UnsupportedDtypeError(f"labels must be integers or bool, not {src.data.dtype}")
    if axes or src.axes:  # the labels' own axes, in any order: put them in NGFF order
        src = in_ngff_order(src, axes)
    return src


def _label_plan(src: InputImage, meta: ImageMetadata, axes: str | None, method: Methods,
                scale_factors: Sequence[object] | None, chunks: Any) -> PyramidPlan:
    """The label pyramid's plan, in the image's pixel sizes and units on the labels' axes."""
    sizes = meta.physical_sizes
    return plan_pyramid(
        src.data.shape, src.data.dtype, axes=axes, scale_factors=scale_factors, method=method,
        chunks=chunks, physical_sizes={a: s for a, s in (sizes or {}).items() if a in axes}
        if axes else None,
        units={a: u for a, u in meta.units.items() if axes and a in axes},
    )


def _image_offset(meta: ImageMetadata, axes: str) -> list[float] | None:
    """The image's level-0 translation on ``axes``, so the labels sit where the image does."""
    if meta.translations[0] is None or not meta.axes:
        return None
    return [meta.translations[0][meta.axes.index(a)] if a in meta.axes else 0.0 for a in axes]


def write_labels(
    labels: Any,
    image_store: Any,
    name: str,
    *,
    method: str | Methods = "nearest",
    scale_factors: Sequence[object] | None = None,
    axes: str | None = None,
    chunks: Sequence[int] | int | None = None,
    shards: Sequence[int] | int | None = None,
    codec: str = DEFAULT_CODEC,
    colors: Sequence[Mapping[str, Any]] | None = None,
    properties: Sequence[Mapping[str, Any]] | None = None,
    overwrite: bool = False,
    resume: bool = False,
    compute: bool = True,
    storage_options: dict | None = None,
    input_storage_options: dict | None = None,
) -> Delayed | None:
    """Write a label image and its pyramid under ``labels/<name>`` of the image at ``image_store``.

    Parameters
    ----------
    labels
        Integer (or bool) label array or path, shaped like the image's level 0 (a channel axis
        may be left out).
    image_store
        The OME-Zarr image (path, URL or zarr store).
    name
        Name of the label image.
    method
        ``nearest`` (default), ``mode``, ``min`` or ``max``.
    scale_factors
        Default: the image's own level factors, so label level k overlays image level k.
    colors, properties
        NGFF ``image-label`` colours and properties.
    axes, chunks, shards, overwrite, resume, compute, storage_options, input_storage_options
        As :func:`omescale.write_pyramid` (``storage_options`` are the image's).

    Raises
    ------
    InvalidMethodError, UnsupportedDtypeError, LabelShapeError, InputNotFoundError
        Before anything is written.
    """
    method = _label_method(method)
    _check_label_name(name)
    store = open_store(image_store, storage_options=storage_options)
    where = location_of(store)
    image, meta = _open_image(image_store, storage_options, where)
    src = _open_labels(labels, axes, source_options(storage_options, input_storage_options))
    base = tuple(level_array(image, meta.paths[0], where).shape)
    axes = matching_axes(src.data.shape, src.axes, meta.axes, base, where)
    if scale_factors is None and axes and meta.axes and set(axes) <= set(meta.axes):
        scale_factors = _image_factors(image, meta, axes, where)
    plan = _label_plan(src, meta, axes, method, scale_factors, chunks)
    zarr_format = image.metadata.zarr_format
    layouts = storage_layout(plan, shards, zarr_format, codec)
    ms = pyramid_multiscale(plan, function="omescale.write_labels", name=name,
                            offset=_image_offset(meta, plan.axes))
    attrs = label_attributes(ms, meta.version, colors=colors, properties=properties)
    path = f"labels/{name}"
    check_not_inside(f"{where}/{path}", src.location, overwrite=overwrite)
    if not (overwrite or resume) and path in image:
        raise OutputExistsError(f"{where}/{path} exists; pass overwrite=True to replace it")
    check_node_replaceable(store, path, f"{where}/{path}", overwrite=overwrite)
    job = job_record(plan, layouts, src.data, location=src.location, zarr_format=zarr_format,
                     name=name)
    key = f"labels/{LOCK_KEY}-{name}"
    token = acquire_lock(store, f"{where}/{path}", key)
    try:
        if overwrite and path in image:
            del zarr.open_group(store, mode="r+")[path]
        group = open_group(store, zarr_format, resume, f"{where}/{path}", path=path, job=job,
                           final=attrs)
    except BaseException:
        release_lock(store, token, key)
        raise
    after = functools.partial(_register, store, name, meta.version, zarr_format)
    return run_pyramid_job(group, src.data, plan, layouts, attrs, first=0, resume=resume,
                           where=f"{where}/{path}", lock=(key, token), compute=compute,
                           after=after)
