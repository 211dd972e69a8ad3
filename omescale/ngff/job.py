"""One pyramid write: arrays first, then every chunk, then the multiscales metadata last.

Shared by ``write_pyramid``, ``add_levels`` and ``write_labels``. While data is being written
the group carries an ``omescale`` marker attribute and no complete multiscales listing of the
new levels; the final task replaces the group attributes in one atomic object write.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize
from dask.delayed import Delayed

from omescale._internals import normalize_chunks
from omescale.errors import InvalidOptionError, OutputExistsError, ResumeMismatchError
from omescale.inputs.source import checked_source
from omescale.inputs.zarr_input import level_array
from omescale.levels import levels_from_plan
from omescale.lift.layers import flat_keys, new_layer
from omescale.ngff.codecs import DEFAULT_CODEC, check_codec, compressors
from omescale.ngff.job_record import differences
from omescale.ngff.metadata import ZarrFormat
from omescale.ngff.store import release_lock, remove_partials
from omescale.ngff.strips import plan_stages, strip_writes
from omescale.ngff.tasks import missing_blocks, write_all, write_blocks, write_counts
from omescale.ngff.tiles import gate_total, gated_reads, tile_axes
from omescale.plan import PyramidPlan

__all__ = ["LevelLayout", "check_same_job", "finish", "marker", "metadata_step", "open_array",
           "open_arrays", "pyramid_writes", "storage_layout", "write_graph"]



# Fills in group attributes from the written data in the final task: (group, attrs) -> attrs.
Complete = Callable[[zarr.Group, dict[str, Any]], dict[str, Any]]


def marker(job: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A fresh "incomplete" marker attribute (zarr keeps and mutates the dicts it is given),
    recording ``job`` (``omescale.ngff.job_record.job_record``) when given."""
    body: dict[str, Any] = {
        "status": "incomplete",
        "note": "omescale is writing this pyramid; resume=True finishes an interrupted write",
    }
    if job is not None:
        body["job"] = copy.deepcopy(dict(job))
    return {"omescale": body}


def _multiscale(attrs: Mapping[str, Any]) -> Any:
    """The first multiscales entry of group attributes (NGFF 0.4 or 0.5), or None."""
    ome = attrs.get("ome", attrs)
    multiscales = ome.get("multiscales") if isinstance(ome, Mapping) else None
    return multiscales[0] if multiscales else None


def _comparable(started: Mapping[str, Any], asked: Mapping[str, Any]):
    """The two records, without the input location where either side has none (an in-memory
    or computed dask array: its content is compared by the fingerprint)."""
    where = [(r.get("input") or {}).get("location") for r in (started, asked)]
    if None not in where:
        return started, asked
    return tuple({**r, "input": {k: v for k, v in (r.get("input") or {}).items()
                                 if k != "location"}} for r in (started, asked))


def check_same_job(attrs: Mapping[str, Any], job: Mapping[str, Any], where: str,
                   final: Mapping[str, Any] | None = None) -> None:
    """Refuse a resume whose job differs from the one started at ``where``.

    An interrupted write carries the marker and its job record: every field is compared. A
    complete pyramid has no marker: its multiscales entry (axes, levels and their transforms,
    name, method, provenance with factors, order and version) is compared with the one in
    ``final``, the attributes this write would finish with.

    Raises
    ------
    ResumeMismatchError
        Naming each difference, e.g. ``method: gaussian was started, nearest asked``.
    """
    again = "; pass overwrite=True to start again"
    if "omescale" in attrs:
        started = (attrs.get("omescale") or {}).get("job")
        if started is None:
            raise ResumeMismatchError(f"cannot resume {where}: its marker records no job (it "
                                      f"was started by an older omescale){again}")
        found = differences(*_comparable(started, job))
    elif final is not None:
        found = differences(_multiscale(attrs) or {}, json.loads(json.dumps(_multiscale(final))))
    else:
        found = []
    if found:
        raise ResumeMismatchError(f"cannot resume {where}: it holds a different job: "
                                  + "; ".join(found) + again)


@dataclass(frozen=True)
class LevelLayout:
    """Storage of one level: chunk shape and (zarr 3) shard shape or ``None``."""

    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    codec: str = DEFAULT_CODEC

    @property
    def block(self) -> tuple[int, ...]:
        """The shape one task writes: the shard when sharding, else the chunk."""
        return self.shards or self.chunks


def _shard_shape(shards: Sequence[int] | int, axes: str, chunks: tuple[int, ...]):
    if isinstance(shards, int):
        shards = tuple(shards if a in "zyx" else c for a, c in zip(axes, chunks, strict=True))
    shards = tuple(shards)
    if len(shards) != len(chunks) or any(
        not isinstance(s, int) or s < c or s % c for s, c in zip(shards, chunks, strict=True)
    ):
        raise InvalidOptionError(
            f"shards {shards!r} must give one integer per axis ({axes!r}), each a multiple of "
            f"the chunk shape {chunks}"
        )
    return shards


def storage_layout(
    plan: PyramidPlan, shards: Sequence[int] | int | None, zarr_format: ZarrFormat,
    codec: str = DEFAULT_CODEC,
) -> list[LevelLayout]:
    """Chunks (from the plan), shards and codec of every level; shards clipped to each level."""
    check_codec(codec)
    if zarr_format not in (2, 3):
        raise InvalidOptionError(f"zarr_format must be 2 or 3, not {zarr_format!r}")
    if shards is not None and zarr_format == 2:
        raise InvalidOptionError("sharding needs zarr_format=3 (NGFF 0.5)")
    base = None if shards is None else _shard_shape(shards, plan.axes, plan.levels[0].chunks)
    out = []
    for lv in plan.levels:
        if base is None:
            out.append(LevelLayout(lv.chunks, None, codec))
            continue
        whole = tuple(math.ceil(n / c) * c for n, c in zip(lv.shape, lv.chunks, strict=True))
        shard = tuple(min(s, w) for s, w in zip(base, whole, strict=True))
        out.append(LevelLayout(lv.chunks, shard, codec))
    return out


def _create(group: zarr.Group, path: str, shape, dtype, layout: LevelLayout, axes: str):
    extra: dict[str, Any] = {}
    if group.metadata.zarr_format == 3:
        extra["dimension_names"] = list(axes)
        extra["shards"] = layout.shards
    else:
        extra["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    codecs = compressors(layout.codec, group.metadata.zarr_format, dtype)
    return group.create_array(path, shape=shape, dtype=dtype, chunks=layout.chunks,
                              fill_value=0, compressors=codecs, **extra)


def _check_existing(array: zarr.Array, shape, dtype, layout: LevelLayout, where: str) -> None:
    found = (array.shape, array.dtype, array.chunks, array.shards)
    wanted = (tuple(shape), dtype, layout.chunks, layout.shards)
    if found != wanted:
        raise OutputExistsError(
            f"cannot resume {where}: it holds shape/dtype/chunks/shards {found} but this write "
            f"plans {wanted}; pass overwrite=True to start again"
        )


def open_arrays(
    group: zarr.Group, plan: PyramidPlan, layouts: Sequence[LevelLayout],
    paths: Sequence[str], *, first: int, resume: bool, where: str,
) -> list[zarr.Array | None]:
    """Create (or, on resume, reopen and check) the arrays of levels ``first`` onwards."""
    arrays: list[zarr.Array | None] = [None] * first
    for k in range(first, len(plan.levels)):
        arrays.append(open_array(group, paths[k], plan.levels[k].shape, plan.dtype, layouts[k],
                                 plan.axes, resume=resume, where=where))
    return arrays


def open_array(
    group: zarr.Group, path: str, shape: Sequence[int], dtype: np.dtype, layout: LevelLayout,
    axes: str, *, resume: bool, where: str,
) -> zarr.Array:
    """Create the array at ``path`` (or, on resume, reopen it and check it is the one planned),
    configured to store every chunk it is given."""
    if resume and path in group:
        array = level_array(group, path, where)
        _check_existing(array, shape, dtype, layout, f"{where}/{path}")
    else:
        array = _create(group, path, shape, dtype, layout, axes)
    # Store every chunk, even all-fill ones: skips zarr's per-chunk comparison with the fill
    # value (a quarter of a nearest write's CPU) and makes "chunk exists" mean "written",
    # which is what resume relies on.
    return array.with_config({"write_empty_chunks": True})


def write_graph(
    levels: Sequence[da.Array], arrays: Sequence[zarr.Array | None], *, resume: bool
) -> list[da.Array]:
    """One lazy count per written level; on resume only missing storage objects are written."""
    counts = []
    for level, array in zip(levels, arrays, strict=True):
        if array is None:
            continue
        if resume:
            remove_partials(array.store, f"{array.path}/")
            counts.append(write_blocks(level, array, missing_blocks(array)))
        else:
            counts.append(write_all(level, array))
    return counts


def _finalize(counts: Sequence[Any], *, group: zarr.Group, attrs: Mapping[str, Any],
              lock: tuple[str, str] | None, after: Callable[[], None] | None,
              complete: Complete | None = None) -> int:
    """The last task: complete the attributes from the written data (``complete``), replace
    the group attributes (one atomic object), then unlock."""
    final = copy.deepcopy(dict(attrs))
    if complete is not None:
        final = complete(group, final)
    group.attrs.put(final)
    if after is not None:
        after()
    if lock is not None:
        release_lock(group.store, lock[1], lock[0])
    return int(sum(int(np.sum(c)) for c in counts))


def metadata_step(*, group: zarr.Group, attrs: Mapping[str, Any],
                  lock: tuple[str, str] | None, after: Callable[[], None] | None,
                  complete: Complete | None = None) -> None:
    """The last step of a streamed write (run on the client once every unit is written)."""
    _finalize((), group=group, attrs=attrs, lock=lock, after=after, complete=complete)


def finish(
    counts: Sequence[da.Array], group: zarr.Group, attrs: Mapping[str, Any],
    lock: tuple[str, str] | None, *, after: Callable[[], None] | None = None,
    complete: Complete | None = None,
) -> Delayed:
    """One Delayed that writes the metadata after every data task; its value is the count.

    ``complete(group, attrs) -> attrs`` (picklable) fills in what needs the written data (the
    omero windows) just before the attributes are written; ``after`` (picklable, e.g. a
    ``functools.partial``) runs once they are written.
    """
    # Built by hand rather than with dask.delayed: delayed would run dask's array optimization
    # over the whole write graph right here (6 of 8.7 s of planning a 64 GiB pyramid).
    name = "omescale-metadata-" + uuid.uuid4().hex
    keys = [key for count in counts for key in flat_keys(count.__dask_keys__())]
    task = (partial(_finalize, group=group, attrs=dict(attrs), lock=lock, after=after,
                    complete=complete), keys)
    graph = new_layer(name, {name: task}, counts)
    return Delayed(name, graph)


def _dask_levels(levels: Sequence[Any]) -> list[da.Array]:
    """The levels of a dask input (``levels_from_plan`` gives numpy levels for numpy input)."""
    assert all(isinstance(lv, da.Array) for lv in levels)
    return list(levels)


def _own_aligned_read(src: Any, plan: PyramidPlan, blocks: Sequence[Sequence[int]],
                      resume: bool) -> bool:
    """True when omescale reads the input itself, in level 0's storage blocks (so the order of
    the reads can be steered), and the write is not a resume."""
    if resume or checked_source(src) is None or src.dtype != plan.dtype:
        return False
    return src.chunks == normalize_chunks(tuple(blocks[0]), src.shape)


def pyramid_writes(
    src: Any, plan: PyramidPlan, layouts: Sequence[LevelLayout],
    arrays: Sequence[zarr.Array | None], *, resume: bool,
) -> list[da.Array]:
    """The lazy write counts of a whole pyramid. When omescale reads the input itself, images
    wider than a strip are written strip by strip (``omescale.ngff.strips``) and independent
    tiles one after another (``omescale.ngff.tiles``)."""
    blocks = [lt.block for lt in layouts]
    own = _own_aligned_read(src, plan, blocks, resume)
    stages = plan_stages(plan, blocks) if own else None
    if stages is not None:
        return strip_writes(src, plan, blocks, arrays, stages, tile_axes(plan, blocks))
    axes = tile_axes(plan, blocks) if own else ()
    if not axes:
        # A resume writes only missing objects: a chained sweep would recompute all before them.
        levels = _dask_levels(levels_from_plan(src, plan, block_shapes=blocks, sweep=not resume))
        return write_graph(levels, arrays, resume=resume)
    gate_name = "omescale-gate-" + tokenize(src.name, blocks,
                                            [a.store_path for a in arrays if a is not None])
    level0 = gated_reads(checked_source(src), blocks[0], axes, gate_name)
    levels = _dask_levels(levels_from_plan(level0, plan, block_shapes=blocks, sweep=True))
    counts = [write_counts(lv, a) for lv, a in zip(levels, arrays, strict=True) if a is not None]
    return [gate_total(counts, axes, gate_name)]
