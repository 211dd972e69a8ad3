"""``add_levels``: new pyramid levels for an existing OME-Zarr image; level 0 is never touched.

This is ``ome_zarr.scale.Scaler.in_place`` made real: only the new levels are written, far
cheaper than copying level 0. While writing, the image's metadata lists level 0 alone (plus the
``omescale`` marker), so an interrupted run leaves a valid one-level image; the final task
lists every level.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any

import zarr
from zarr.storage import LocalStore

from omescale.errors import InputNotFoundError, OutputExistsError, UnsafeOverwriteError
from omescale.inputs.source import from_zarr_array
from omescale.inputs.xarray_input import is_xarray, stored_image
from omescale.inputs.zarr_input import level_array
from omescale.methods import Methods
from omescale.ngff.codecs import DEFAULT_CODEC
from omescale.ngff.job import check_same_job, marker, storage_layout
from omescale.ngff.job_record import job_record
from omescale.ngff.metadata import attributes, check_units, read_image_metadata
from omescale.ngff.omero import add_omero
from omescale.ngff.store import (
    acquire_lock,
    check_node_replaceable,
    location_of,
    lock_key,
    open_store,
    release_lock,
)
from omescale.ngff.writer import provenance, run_pyramid_job
from omescale.plan import PyramidPlan, plan_pyramid
from omescale.stream.job import PyramidJob

__all__ = ["add_levels"]


def _open_image(image_store: Any, storage_options: dict | None) -> tuple[zarr.Group, str]:
    """The image group opened for writing, after a read-only look (which creates nothing)."""
    look = open_store(image_store, storage_options=storage_options, read_only=True)
    where = location_of(look)
    if isinstance(look, LocalStore) and not os.path.exists(look.root):
        raise InputNotFoundError(f"input {where} does not exist")
    try:
        zarr.open_group(look, mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError,
            zarr.errors.ContainsArrayError) as exc:
        raise InputNotFoundError(f"{where} is not an OME-Zarr image (no zarr group)") from exc
    store = open_store(image_store, storage_options=storage_options)
    return zarr.open_group(store, mode="r+"), where


def _multiscale(attrs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The first multiscale entry and whether it lives under ``ome`` (NGFF 0.5)."""
    if "ome" in attrs and "multiscales" in attrs["ome"]:
        return dict(attrs["ome"]["multiscales"][0]), True
    return dict(attrs["multiscales"][0]), False


def _with_multiscale(attrs: dict[str, Any], ms: dict[str, Any], under_ome: bool):
    out = {k: v for k, v in attrs.items() if k != "omescale"}
    if under_ome:
        out["ome"] = {**attrs["ome"], "multiscales": [ms]}
    else:
        out["multiscales"] = [ms]
    return out


def _datasets(plan: PyramidPlan, level0: dict[str, Any], paths: Sequence[str]) -> list[dict]:
    """Level 0's dataset verbatim, then the new levels rebased on its scale and translation."""
    tr = {t["type"]: t.get(t["type"]) for t in level0.get("coordinateTransformations", ())}
    s0 = tr.get("scale") or [1.0] * len(plan.axes)
    t0 = tr.get("translation") or [0.0] * len(plan.axes)
    ratio = [a / b for a, b in zip(s0, plan.levels[0].scale, strict=True)]
    out = [level0]
    for lv, path in zip(plan.levels[1:], paths[1:], strict=True):
        scale = [s * r for s, r in zip(lv.scale, ratio, strict=True)]
        trans = [o + t * r for o, t, r in zip(t0, lv.translation, ratio, strict=True)]
        out.append({"path": path, "coordinateTransformations": [
            {"type": "scale", "scale": scale}, {"type": "translation", "translation": trans}]})
    return out


def add_levels(
    image_store: Any,
    *,
    scale_factors: Sequence[object] | None = None,
    method: str | Methods = "resize",
    max_layer: int | None = None,
    chunks: Sequence[int] | int | None = None,
    shards: Sequence[int] | int | None = None,
    codec: str = DEFAULT_CODEC,
    overwrite: bool = False,
    resume: bool = False,
    compute: bool = True,
    order: int | None = None,
    storage_options: dict | None = None,
    channels: Sequence[Any] | None = None,
    stream: bool | None = None,
) -> PyramidJob | None:
    """Add pyramid levels to the OME-Zarr image at ``image_store`` without rewriting level 0.

    ``image_store`` is a path, URL or zarr store, or an ``xarray.DataTree`` opened by
    :func:`omescale.open_pyramid` (or its level-0 DataArray): the image it reads.

    Levels other than level 0 that already exist are refused unless ``overwrite=True``
    (they are replaced); ``resume=True`` finishes an interrupted ``add_levels``. The image's
    ``omero`` is kept, ``channels`` merged over it, and windows it lacks are computed from the
    new coarsest level. Other options are those of :func:`omescale.write_pyramid`; a large
    job streams (``stream``) with its first stage reading level 0 back from the store.

    Raises
    ------
    InputNotFoundError
        ``image_store`` is not an OME-Zarr image.
    OutputExistsError
        The image already has other levels and ``overwrite`` was not given.
    """
    if is_xarray(image_store):  # a tree from open_pyramid, or its level 0
        image_store = stored_image(image_store)
    group, where = _open_image(image_store, storage_options)
    store = group.store
    attrs = copy.deepcopy(attributes(group))
    meta = read_image_metadata(attrs, where)
    level0 = level_array(group, meta.paths[0], where)
    plan = plan_pyramid(
        level0.shape, level0.dtype, axes=meta.axes, scale_factors=scale_factors, method=method,
        max_layer=max_layer, chunks=chunks, input_chunks=level0.chunks, order=order,
        physical_sizes=meta.physical_sizes, units=meta.units,
    )
    check_units(plan.axes, plan.units)
    layouts = storage_layout(plan, shards, group.metadata.zarr_format, codec)
    paths = [meta.paths[0], *(str(k) for k in range(1, len(plan.levels)))]
    if meta.paths[0] in paths[1:]:
        raise OutputExistsError(f"level 0 of {where} is stored at path {meta.paths[0]!r}, "
                                "which a new level would need")
    old = sorted(({*meta.paths[1:], *paths[1:]} & set(group.keys())) - {meta.paths[0]})
    if old and not (overwrite or (resume and "omescale" in attrs)):
        raise OutputExistsError(f"{where} already has levels {old}; pass overwrite=True to "
                                "replace them (level 0 is kept)")
    holding = [p for p in old if meta.paths[0].startswith(p.rstrip("/") + "/")]
    if holding:
        raise UnsafeOverwriteError(f"refusing to replace level {holding[0]!r} of {where}: "
                                   f"level 0 ({meta.paths[0]!r}) lies inside it")
    for path in paths[1:]:
        check_node_replaceable(store, path, f"{where}/{path}", overwrite=overwrite)
    ms, under_ome = _multiscale(attrs)
    level0_ms = {**ms, "datasets": [ms["datasets"][0]]}
    final_ms = {**ms, "datasets": _datasets(plan, ms["datasets"][0], paths),
                "type": str(plan.method), "metadata": provenance(plan, "omescale.add_levels")}
    final, complete = add_omero(
        _with_multiscale(attrs, final_ms, under_ome), axes=plan.axes,
        shape=plan.levels[0].shape, version="0.5" if under_ome else "0.4",
        coarsest=paths[-1], kept=meta.omero, channels=channels,
    )
    source = from_zarr_array(level0, f"{where}/{meta.paths[0]}")
    job = job_record(plan, layouts, source, location=f"{where}/{meta.paths[0]}",
                     zarr_format=group.metadata.zarr_format)
    if resume and "omescale" in attrs:
        check_same_job(attrs, job, where)
    token = acquire_lock(store, where)
    try:
        if not (resume and "omescale" in attrs):
            group.attrs.put({**_with_multiscale(attrs, level0_ms, under_ome), **marker(job)})
            for path in old:
                del group[path]
    except BaseException:
        release_lock(store, token)
        raise
    return run_pyramid_job(group, source, plan,
                           layouts, final, first=1, resume=resume, where=where,
                           lock=(lock_key(), token), compute=compute, paths=paths,
                           complete=complete, stream=stream)
