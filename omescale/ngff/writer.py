"""``write_pyramid``: an OME-Zarr image written in parallel, metadata last, resumable.

Order of work: validate and plan everything (nothing is written on bad input) → check and
lock the target → create the group (with an ``omescale`` "incomplete" marker) and all arrays →
one task per storage chunk or shard → replace the group attributes with the NGFF metadata.
The levels are derived in one graph (level k+1 from level k), so the base is read once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import zarr

from omescale._version import __version__
from omescale.errors import OutputExistsError
from omescale.inputs import InputImage, open_input
from omescale.inputs.order import in_ngff_order
from omescale.inputs.source import private_reads
from omescale.methods import METHOD_SPECS, Methods
from omescale.ngff.codecs import DEFAULT_CODEC
from omescale.ngff.job import (
    check_same_job,
    marker,
    metadata_step,
    open_arrays,
    pyramid_writes,
    storage_layout,
)
from omescale.ngff.job import (
    finish as finish_task,
)
from omescale.ngff.job_record import job_record
from omescale.ngff.metadata import (
    ZarrFormat,
    attributes,
    check_units,
    image_attributes,
    multiscale_metadata,
    ngff_version,
)
from omescale.ngff.omero import add_omero
from omescale.ngff.scratch import delete_chain, finish_after_chain
from omescale.ngff.store import (
    acquire_lock,
    clear_store,
    lock_key,
    open_target,
    release_lock,
    remove_partials,
    source_options,
)
from omescale.ngff.streamed import choose_stream
from omescale.ngff.streamed_laplacian import streamed_work
from omescale.plan import PyramidPlan, plan_pyramid
from omescale.stream.job import PyramidJob, StreamJob
from omescale.stream.units import stream_plan

__all__ = [
    "open_group",
    "provenance",
    "pyramid_attributes",
    "pyramid_multiscale",
    "run_pyramid_job",
    "write_pyramid",
]


def provenance(plan: PyramidPlan, function: str) -> dict[str, Any]:
    """The ``metadata`` entry: function, method, its reference, arguments, omescale version."""
    factors = [dict(zip(plan.axes, lv.cumulative, strict=True)) for lv in plan.levels[1:]]
    args: dict[str, Any] = {"scale_factors": factors, "axes": plan.axes}
    if plan.order is not None:
        args["order"] = plan.order
    return {
        "function": function,
        "method": str(plan.method),
        "reference": METHOD_SPECS[Methods(plan.method)].reference,
        "args": args,
        "version": __version__,
    }


def pyramid_multiscale(
    plan: PyramidPlan, *, function: str = "omescale.write_pyramid", name: str | None = None,
    offset: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The ``multiscales`` entry of ``plan``; ``offset`` is added to every translation."""
    offset = offset or (0.0,) * len(plan.axes)
    translations = [
        [t + o for t, o in zip(lv.translation, offset, strict=True)] for lv in plan.levels
    ]
    return multiscale_metadata(
        plan.axes, [lv.scale for lv in plan.levels], translations, units=plan.units,
        method=str(plan.method), provenance=provenance(plan, function), name=name,
    )


def pyramid_attributes(plan: PyramidPlan, version: str, **kwargs: Any) -> dict[str, Any]:
    """Final group attributes of the image (NGFF 0.4 or 0.5) for ``plan``."""
    return image_attributes(pyramid_multiscale(plan, **kwargs), version)


def _input_chunks(src: InputImage) -> tuple[int, ...] | None:
    """Keep the input's chunks when they mean something (zarr, dask); else the plan's default."""
    return tuple(c[0] for c in src.data.chunks) if src.native_chunks else None


def run_pyramid_job(
    group: zarr.Group, src_data: Any, plan: PyramidPlan, layouts, attrs: Mapping[str, Any],
    *, first: int, resume: bool, where: str, lock: tuple[str, str], compute: bool,
    paths: Sequence[str] | None = None, after: Any = None, stream: bool | None = None,
    complete: Any = None,
) -> PyramidJob | None:
    """Create arrays, then build the job: one write graph and its final metadata task, or a
    stream of work units (``stream``: ``None`` chooses by size); run it or return it.

    ``after`` and ``complete`` go to the final metadata step (:func:`omescale.ngff.job.finish`).
    """
    paths = [str(k) for k in range(len(plan.levels))] if paths is None else list(paths)
    key, token = lock
    release = partial(release_lock, group.store, token, key)
    try:
        splan = stream_plan(plan, [lt.block for lt in layouts], first=first)
        streamed = choose_stream(src_data, plan, layouts, stream=stream, splan=splan)
        arrays = open_arrays(group, plan, layouts, paths, first=first, resume=resume,
                             where=where)
        if streamed:
            work = streamed_work(splan, src_data, arrays, group, layouts, resume=resume,
                                 where=where)
            if resume:
                for array in [*arrays[first:], *work.scratch]:
                    assert array is not None
                    remove_partials(array.store, f"{array.path}/")
            finish = partial(metadata_step, group=group, attrs=dict(attrs), lock=lock,
                             after=after, complete=complete)
            if plan.method == Methods.LAPLACIAN:  # its scratch goes before the image is whole
                finish = partial(finish_after_chain, group, finish)
            job = PyramidJob(splan, stream=StreamJob(splan, work, resume=resume,
                                                     finish=finish, release=release))
        else:
            if resume:  # the scratch of a streamed start: one graph needs none
                delete_chain(group)
            counts = pyramid_writes(src_data, plan, layouts, arrays, resume=resume)
            job = PyramidJob(splan, graph=finish_task(counts, group, attrs, lock, after=after,
                                                      complete=complete), release=release)
    except BaseException:
        release()
        raise
    if not compute:
        return job
    job.run()
    return None


def open_group(
    store, zarr_format: ZarrFormat, resume: bool, where: str, path: str = "",
    job: Mapping[str, Any] | None = None, final: Mapping[str, Any] | None = None,
) -> zarr.Group:
    """The image group: reopened on resume (it must be ours and hold the same ``job``; see
    ``check_same_job``), else created with the marker recording ``job``."""
    try:
        group = zarr.open_group(store, path=path, mode="r")
    except zarr.errors.ContainsArrayError as exc:
        raise OutputExistsError(f"output {where} holds a zarr array, not an image") from exc
    except (FileNotFoundError, zarr.errors.NodeNotFoundError):
        return zarr.create_group(store, path=path, zarr_format=zarr_format,
                                 attributes=marker(job))
    if not resume:
        raise OutputExistsError(f"output {where} already holds a zarr group")
    attrs = attributes(group)
    ome = attrs.get("ome", attrs)
    fn = (ome.get("multiscales") or [{}])[0].get("metadata", {}).get("function", "")
    if "omescale" not in attrs and not str(fn).startswith("omescale"):
        raise OutputExistsError(f"cannot resume {where}: it is not a pyramid omescale started")
    if group.metadata.zarr_format != zarr_format:
        raise OutputExistsError(
            f"cannot resume {where}: it is zarr format {group.metadata.zarr_format}, "
            f"this write asks for {zarr_format}"
        )
    if job is not None:
        check_same_job(attrs, job, where, final)
    return zarr.open_group(store, path=path, mode="r+")


def write_pyramid(
    image: Any,
    store: Any,
    *,
    scale_factors: Sequence[object] | None = None,
    method: str | Methods = "resize",
    axes: str | None = None,
    max_layer: int | None = None,
    chunks: Sequence[int] | int | None = None,
    shards: Sequence[int] | int | None = None,
    codec: str = DEFAULT_CODEC,
    zarr_format: ZarrFormat = 3,
    physical_sizes: Mapping[str, float] | None = None,
    units: Mapping[str, str] | None = None,
    translation: Mapping[str, float] | None = None,
    overwrite: bool = False,
    resume: bool = False,
    compute: bool = True,
    order: int | None = None,
    name: str | None = None,
    copy_metadata: bool = True,
    storage_options: dict | None = None,
    input_storage_options: dict | None = None,
    stream: bool | None = None,
    reader: str | None = None,
    channels: Sequence[Any] | None = None,
) -> PyramidJob | None:
    """Write ``image`` as an OME-Zarr multiscale image at ``store``.

    Parameters
    ----------
    image
        numpy/dask/zarr array, OME-Zarr image, or a path/URL (zarr, OME-Zarr, TIFF, OME-TIFF,
        ``.npy``, a folder or glob of TIFF or ``.npy`` files, vendor files through bioio).
        OME-Zarr and OME-TIFF inputs provide axes, physical sizes, units (and OME-Zarr user
        attributes).
    store
        Output path, fsspec URL (``memory://``, ``s3://`` ...) or zarr store.
    axes
        The input's axes in its own order (``"yxc"``, ``"zcyx"`` ...; default: what the
        source says, else inferred from ``ndim``); written in OME-NGFF order (t, c, z, y, x).
    scale_factors, method, max_layer, chunks, order
        As :func:`omescale.pyramid`; ``chunks`` is the storage chunk shape of level 0, in
        OME-NGFF axis order.
    shards
        Shard shape (zarr 3 only), a multiple of the chunks; one task writes one shard.
    codec
        Compression: ``"blosc-lz4"`` (default, byte shuffle), ``"blosc-zstd"``, ``"zstd"`` or
        ``"none"`` (see docs/benchmarks.md for the measured trade-off).
    zarr_format
        3 writes NGFF 0.5 (default), 2 writes NGFF 0.4.
    physical_sizes, units
        Axis -> level-0 pixel size, axis -> NGFF unit (e.g. ``"micrometer"``).
    translation
        Axis -> position of level 0's first pixel centre (NGFF translation of level 0;
        default 0); every level's translation follows from it.
    overwrite, resume
        Replace a non-empty target, or finish an interrupted write (only missing chunks).
    compute
        ``False`` returns the job (:class:`omescale.stream.job.PyramidJob`, a dask
        ``Delayed`` whose last step writes the metadata; see docs/writing.md).
    name, copy_metadata
        Multiscale name; copy an OME-Zarr input's user attributes.
    channels
        One entry per channel (the ``c`` axis, or one): a label, or a dict with ``label``,
        ``color`` (``"FF0000"``), ``window`` (``start``/``end``/``min``/``max``) and any other
        omero channel field. Merged over what the input says (an OME-Zarr input's ``omero``,
        OME-TIFF / bioio channel names and colours); windows not given are computed by the
        last task from the coarsest level (percentiles 0.1 and 99.9; see docs/decisions.md).
    storage_options, input_storage_options
        fsspec options (``{"anon": True}``, ``{"endpoint_url": ..., "profile": ...}``) of the
        output URL and of the input URL; the input uses ``storage_options`` too unless
        ``input_storage_options`` is given. They travel with the tasks to every worker.
    stream
        ``True`` writes in a stream of bounded work units, ``False`` as one dask graph,
        ``None`` (default) streams large writes (``omescale.stream-objects`` storage objects,
        default 4096) of any input but a numpy array, and on a ``distributed`` client any
        such write with a unit for every worker thread; both give the same bytes.
    reader
        ``"bioio"`` opens a file path through bioio (the ``formats`` extra); default tifffile
        for TIFF and OME-TIFF, bioio for vendor formats (see :func:`omescale.inputs.open_input`).

    Returns
    -------
    PyramidJob or None
        The pending write when ``compute=False``.

    Raises
    ------
    OmescaleError
        On bad input or target, before anything is written.
    """
    src = in_ngff_order(open_input(image, reader=reader, storage_options=source_options(
        storage_options, input_storage_options)), axes)
    plan = plan_pyramid(
        src.data.shape, src.data.dtype, axes=src.axes,
        scale_factors=scale_factors, method=method, max_layer=max_layer, chunks=chunks,
        input_chunks=_input_chunks(src), order=order,
        physical_sizes=physical_sizes if physical_sizes is not None else src.physical_sizes,
        units=units if units is not None else src.units,
        translation=translation if translation is not None else src.translation,
    )
    check_units(plan.axes, plan.units)
    layouts = storage_layout(plan, shards, zarr_format, codec)
    version = ngff_version(zarr_format)
    attrs, complete = add_omero(
        pyramid_attributes(plan, version, name=name), axes=plan.axes,
        shape=plan.levels[0].shape, version=version, coarsest=str(len(plan.levels) - 1),
        kept=src.omero, named=src.channels, channels=channels,
        keep_windows=plan.method != Methods.LAPLACIAN,
    )
    if copy_metadata:
        attrs = {**src.attributes, **attrs}
    target = open_target(store, overwrite=overwrite, resume=resume, source=src.location,
                         storage_options=storage_options)
    # This write's own source object: the fingerprint's samples kept in it for the write's
    # reads of them are dropped with this write.
    data = private_reads(src.data)
    job = job_record(plan, layouts, data, location=src.location, zarr_format=zarr_format,
                     name=name, keep=True)
    token = acquire_lock(target.store, target.location)
    try:
        if overwrite:
            clear_store(target.store)
        group = open_group(target.store, zarr_format, resume, target.location, job=job,
                           final=attrs)
    except BaseException:
        release_lock(target.store, token)
        raise
    return run_pyramid_job(group, data, plan, layouts, attrs, first=0, resume=resume,
                           where=target.location, lock=(lock_key(), token), compute=compute,
                           stream=stream, complete=complete)
