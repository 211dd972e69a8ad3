"""What the command line prints: the dry-run plan, the summary after a write, ``info``.

Rendering only: plans come from :mod:`omescale.plan`, sizes from the written zarr arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import zarr
from dask.highlevelgraph import HighLevelGraph

from omescale.axes import ngff_permutation
from omescale.errors import InputNotFoundError
from omescale.inputs import InputImage, open_input
from omescale.inputs.order import in_ngff_order
from omescale.inputs.zarr_input import level_array
from omescale.methods import Methods
from omescale.ngff.codecs import DEFAULT_CODEC
from omescale.ngff.job import LevelLayout, open_arrays, pyramid_writes, storage_layout
from omescale.ngff.metadata import ZarrFormat, attributes, read_image_metadata
from omescale.ngff.omero import channel_count, user_channels
from omescale.ngff.scratch import CHAIN_DTYPE, CHAIN_GROUP
from omescale.ngff.store import open_store, open_target, source_options
from omescale.ngff.streamed import choose_stream, stream_obstacle
from omescale.ngff.streamed_laplacian import chain_levels, streamed_work
from omescale.plan import PyramidPlan, plan_pyramid
from omescale.stream.units import StreamPlan, Unit, stream_plan
from omescale.stream.window import WINDOW_FACTOR

__all__ = ["dry_run", "human_bytes", "info", "summary"]


def human_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _dims(values: Sequence[Any] | None) -> str:
    return "-" if values is None else "x".join(str(v) for v in values)


def _numbers(values: Sequence[float] | None) -> str:
    return "-" if values is None else ",".join(f"{v:g}" for v in values)


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def dry_run(image: Any, output: str, options: Mapping[str, Any], *, shards: Any,
            zarr_format: ZarrFormat, overwrite: bool = False, resume: bool = False,
            name: str | None = None, out: TextIO, cluster: bool = False) -> None:
    """Plan as the writer would and print levels, shapes, chunks, bytes, units and tasks.

    Arithmetic on the plan: a streamed write's figures come from its unit grid (one sample
    unit's graph is built to count its tasks), a one-graph write's tasks from its graph.
    ``cluster``: the write would run on a ``distributed`` scheduler, which the dry run does
    not connect to; where that decides between one graph and a stream, the report says how.
    """
    raw = open_input(image, reader=options.get("reader"), storage_options=source_options(
        options.get("storage_options"), options.get("input_storage_options")))
    src = in_ngff_order(raw, options.get("axes"))
    plan = plan_pyramid(
        src.data.shape, src.data.dtype,
        axes=src.axes,
        scale_factors=options.get("scale_factors"), method=options.get("method", "resize"),
        max_layer=options.get("max_layer"), chunks=options.get("chunks"),
        input_chunks=tuple(c[0] for c in src.data.chunks) if src.native_chunks else None,
        order=options.get("order"),
        physical_sizes=options.get("physical_sizes") or src.physical_sizes,
        units=options.get("units") or src.units,
    )
    user_channels(options.get("channels"), channel_count(plan.axes, plan.levels[0].shape))
    layouts = storage_layout(plan, shards, zarr_format, options.get("codec", DEFAULT_CODEC))
    # The same checks of the output as a real run; nothing is written.
    open_target(output, overwrite=overwrite, resume=resume, source=src.location,
                storage_options=options.get("storage_options"))
    splan = stream_plan(plan, [lt.block for lt in layouts])
    streamed = choose_stream(src.data, plan, layouts, stream=options.get("stream"), splan=splan)
    out.write(f"dry run: {name or src.name} -> {output} (nothing written)\n")
    out.write(f"method {plan.method}, axes {plan.axes}{_axes_note(raw, options.get('axes'))}, "
              f"dtype {plan.dtype}, NGFF {'0.5' if zarr_format == 3 else '0.4'} "
              f"(zarr {zarr_format})\n")
    out.write(f"levels: {len(plan.levels)}, {plan.why}\n")
    rows = [["level", "shape", "chunks", "shards", "bytes", "objects", "scale"]]
    for k, (lv, lt) in enumerate(zip(plan.levels, layouts, strict=True)):
        rows.append([str(k), _dims(lv.shape), _dims(lt.chunks), _dims(lt.shards),
                     human_bytes(plan.nbytes(k)), str(splan.objects(k)), _numbers(lv.scale)])
    _table(rows, out)
    total = sum(plan.nbytes(k) for k in range(len(plan.levels)))
    head = (f"total: {len(plan.levels)} levels, {human_bytes(total)}, {splan.total_objects} "
            "storage objects; ")
    if not streamed:
        tasks = _write_tasks(src.data, plan, layouts, zarr_format)
        out.write(f"{head}one graph of {tasks} tasks (read, compute, write) + 1 metadata\n")
        if cluster and options.get("stream") is None and stream_obstacle(src.data, plan) is None:
            units = splan.stages[0].units
            out.write(f"on a distributed scheduler: streamed instead, as {splan.units} units, "
                      f"when the cluster has at most {units} worker threads (one unit of the "
                      "first stage per thread; not connected in a dry run)\n")
        return
    _stream_report(src.data, splan, layouts, zarr_format, head, out)


def _stream_report(data: Any, splan: StreamPlan, layouts: Sequence[LevelLayout],
                   zarr_format: ZarrFormat, head: str, out: TextIO) -> None:
    rows = [["stage", "levels", "unit (pixels of first level)", "units", "unit bytes",
             "memory/unit", "objects/unit", "tasks/unit"]]
    group = _memory_group(zarr_format)
    arrays = _empty_arrays(group, splan.plan, layouts)
    work = streamed_work(splan, data, arrays, group, layouts, resume=False, where="dry run")
    for s, stage in enumerate(splan.stages):
        middle = Unit(s, tuple(n // 2 for n in stage.count))
        tasks = len(dict(work.graph(middle).__dask_graph__()))
        levels = f"{stage.first}" if stage.first == stage.last else f"{stage.first}->{stage.last}"
        rows.append([str(s), levels, _dims(stage.size), str(stage.units),
                     human_bytes(splan.unit_nbytes(s)), human_bytes(splan.unit_memory(s)),
                     str(splan.objects_per_unit(s)), str(tasks)])
    _table(rows, out)
    chain = chain_levels(splan) if splan.plan.method == Methods.LAPLACIAN else []
    if chain:
        size = sum(splan.plan.nbytes(k) * CHAIN_DTYPE.itemsize // splan.plan.dtype.itemsize
                   for k in chain)
        out.write(f"laplacian: the float64 Gaussian chain at levels {', '.join(map(str, chain))} "
                  f"(where a stage ends) is kept in scratch ({CHAIN_GROUP}/<level>, "
                  f"{human_bytes(size)}) for the next stage, deleted before the metadata\n")
    out.write(f"{head}streamed: {splan.units} units in {len(splan.stages)} stages, each a "
              "graph of its own (tasks/unit of a middle unit); on local threads as many units "
              "compute at once as their memory fits omescale.memory-budget (at most one per "
              f"thread), {WINDOW_FACTOR} x that many in flight; + 1 metadata step\n")


def _memory_group(zarr_format: ZarrFormat) -> zarr.Group:
    """An empty group in memory (a dry run's arrays: metadata only)."""
    return zarr.create_group(zarr.storage.MemoryStore(), zarr_format=zarr_format)


def _empty_arrays(group: zarr.Group, plan: PyramidPlan,
                  layouts: Sequence[LevelLayout]) -> list[zarr.Array]:
    """The output arrays, created empty in ``group`` (in memory: metadata only, nothing is
    stored)."""
    paths = [str(k) for k in range(len(plan.levels))]
    arrays = open_arrays(group, plan, layouts, paths, first=0, resume=False, where="dry run")
    return [a for a in arrays if a is not None]


def _axes_note(raw: InputImage, given: str | None) -> str:
    """Where the axes came from: inferred, the input's own, or given (and transposed)."""
    own = given or raw.axes
    if own is None:
        return (f" (inferred from {raw.data.ndim} dimensions; pass --axes to name the input's "
                "axes in its own order)")
    source = "given" if given else "from the input"
    moved = f", input order {own.lower()}" if ngff_permutation(own.lower())[0] != own.lower() \
        else ""
    return f" ({source}{moved})"


def _write_tasks(data: Any, plan: PyramidPlan, layouts: Sequence[LevelLayout],
                 zarr_format: ZarrFormat) -> int:
    """Tasks of the writer's own graph, built against empty arrays in memory (nothing runs);
    only for writes small enough to be one graph."""
    arrays = _empty_arrays(_memory_group(zarr_format), plan, layouts)
    counts = pyramid_writes(data, plan, layouts, list(arrays), resume=False)
    return len(dict(HighLevelGraph.merge(*(c.__dask_graph__() for c in counts))))


def _image_levels(path: str, storage_options: dict | None = None,
                  ) -> tuple[Any, list[tuple[str, zarr.Array]]]:
    try:
        node = zarr.open(open_store(path, storage_options=storage_options, read_only=True),
                         mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError) as exc:
        raise InputNotFoundError(f"{path} is not a zarr array or OME-Zarr image") from exc
    if isinstance(node, zarr.Array):
        return None, [("", node)]
    attrs = attributes(node)
    if "omescale" in attrs and "multiscales" not in attrs.get("ome", attrs):
        raise InputNotFoundError(
            f"{path} is an incomplete omescale pyramid (its write was interrupted); rerun the "
            "same command with --resume to finish it"
        )
    meta = read_image_metadata(attrs, path)
    return meta, [(p, level_array(node, p, path)) for p in meta.paths]


def summary(path: str, seconds: float, *, out: TextIO,
            storage_options: dict | None = None) -> None:
    """One paragraph after a write: levels and shapes, bytes, time and throughput."""
    _, levels = _image_levels(path, storage_options)
    sizes = [a.nbytes for _, a in levels]
    shapes = ", ".join(_dims(a.shape) for _, a in levels)
    rate = sizes[0] / seconds / 2**20 if seconds > 0 else float("inf")
    noun = "level" if len(levels) == 1 else "levels"
    out.write(f"wrote {path}: {len(levels)} {noun} ({shapes}), {human_bytes(sum(sizes))} "
              f"in {seconds:.1f} s ({rate:.1f} MiB/s of level 0)\n")


def info(path: str, *, out: TextIO, storage_options: dict | None = None) -> None:
    """Print an OME-Zarr image's version, axes, levels, method and labels."""
    meta, levels = _image_levels(path, storage_options)
    if meta is None:
        a = levels[0][1]
        out.write(f"{path}: zarr array (format {a.metadata.zarr_format}), shape "
                  f"{_dims(a.shape)}, dtype {a.dtype}, chunks {_dims(a.chunks)}\n")
        return
    group = zarr.open_group(open_store(path, storage_options=storage_options, read_only=True),
                            mode="r")
    out.write(f"{path}: OME-Zarr image, NGFF {meta.version} (zarr {group.metadata.zarr_format})"
              "\n")
    axes = meta.axes or "?"
    units = ", ".join(f"{a} [{meta.units[a]}]" if a in meta.units else a for a in axes)
    out.write(f"axes: {units}\n")
    attrs = attributes(group)
    ms = (attrs.get("ome", attrs).get("multiscales") or [{}])[0]
    provenance = ms.get("metadata") or {}
    made_by = f" ({provenance.get('function')}, omescale {provenance.get('version')})" \
        if provenance.get("function") else ""
    out.write(f"method: {meta.method or 'unknown'}{made_by}\n")
    if "omescale" in attrs:
        out.write("status: INCOMPLETE - an interrupted write; finish it with --resume\n")
    rows = [["level", "path", "shape", "dtype", "chunks", "shards", "bytes", "scale",
             "translation"]]
    for k, (p, a) in enumerate(levels):
        rows.append([str(k), p, _dims(a.shape), str(a.dtype), _dims(a.chunks), _dims(a.shards),
                     human_bytes(a.nbytes), _numbers(meta.scales[k]),
                     _numbers(meta.translations[k])])
    _table(rows, out)
    if "labels" in group:
        labels_attrs = attributes(group["labels"])
        names = labels_attrs.get("ome", labels_attrs).get("labels", [])
        out.write(f"labels: {', '.join(names) if names else '(none listed)'}\n")
    if meta.user_attributes:
        out.write(f"other attributes: {', '.join(sorted(meta.user_attributes))}\n")
