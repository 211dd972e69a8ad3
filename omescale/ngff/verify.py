"""``verify``: is an OME-Zarr pyramid on disk whole?

Checks, for the image and every label image under ``labels/``:

- the multiscales metadata is present and valid (NGFF 0.5 on zarr 3, 0.4 on zarr 2; axes;
  every listed level an array) and no omescale "incomplete" marker is left;
- the levels agree with each other and with their transforms (``omescale.ngff.consistency``:
  exact rules for pyramids omescale wrote, what any writer must satisfy otherwise);
- every storage object (chunk, or shard) is present and decodes (``omescale.ngff.chunk_check``,
  one task per object on the current dask scheduler). A missing object counts as the fill value
  unless the array writes empty chunks: omescale's writers always do (their levels are listed in
  ``omescale.ngff.recorded.OWN_WRITERS``), other writers only when zarr's
  ``write_empty_chunks`` config says so;
- labels match the image (their axes and level-0 shape, a channel axis may be absent);
- with ``recompute=K``, K random chunks of every level >= 1 equal a recomputation from the
  level below (``omescale.ngff.recompute``), where the metadata names an omescale method.

``verify_job`` plans the work and returns the pending dask collections (the command line
computes them under its progress bar); ``verify`` runs them and returns a ``VerifyReport``.
An incomplete pyramid is a report with problems, never an exception.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import numpy as np
import zarr

from omescale.axes import validate_axes
from omescale.errors import InputNotFoundError, InvalidOptionError, OmescaleError
from omescale.methods import METHOD_SPECS
from omescale.ngff.chunk_check import object_key, object_status
from omescale.ngff.consistency import LevelInfo, level_problems
from omescale.ngff.metadata import attributes, read_image_metadata
from omescale.ngff.recompute import RECOMPUTABLE, RecomputeCheck, recompute_checks
from omescale.ngff.recorded import OWN_WRITERS, RecordedWriter, recorded_writer, step_factors
from omescale.ngff.store import location_of, open_store

__all__ = ["Problem", "VerifyJob", "VerifyReport", "verify", "verify_job"]



@dataclass(frozen=True)
class Problem:
    """One thing wrong: the array (or group) path inside the image, the object key inside that
    array (None for metadata problems) and what is wrong."""

    array: str
    key: str | None
    what: str

    def __str__(self) -> str:
        where = self.array or "."
        return f"{where}/{self.key}: {self.what}" if self.key else f"{where}: {self.what}"


@dataclass
class VerifyReport:
    """The result of :func:`verify`.

    Attributes
    ----------
    path
        The verified location.
    problems
        Everything wrong, one :class:`Problem` each; empty when the pyramid is whole.
    checked
        Counts: ``images`` (the image and its label images), ``levels``, ``objects`` (storage
        objects read and decoded), ``absent`` (objects left out as fill value, where allowed),
        ``recomputed`` (chunks compared with a recomputation).
    notes
        What was not checked and why (e.g. a method omescale cannot recompute).
    """

    path: str
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("images", "levels", "objects", "absent", "recomputed"), 0))
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def summary(self) -> str:
        """One line: whole or not, and what was checked."""
        c = self.checked
        counts = (f"{c['images']} image(s), {c['levels']} levels, {c['objects']} objects "
                  f"decoded, {c['absent']} absent (fill value), {c['recomputed']} chunks "
                  "recomputed")
        if self.ok:
            return f"{self.path}: whole ({counts})"
        return f"{self.path}: NOT whole, {len(self.problems)} problem(s) ({counts})"


@dataclass(frozen=True)
class _Scan:
    """The pending object checks of one array: a lazy grid of per-object results."""

    where: str
    array: zarr.Array
    results: da.Array


@dataclass
class VerifyJob:
    """Planned verification: problems found from metadata alone, and the pending checks."""

    report: VerifyReport
    scans: list[_Scan] = field(default_factory=list)
    recomputes: list[tuple[str, RecomputeCheck]] = field(default_factory=list)

    @property
    def pending(self) -> list[Any]:
        """The dask collections to compute, in the order :meth:`finish` expects."""
        return [s.results for s in self.scans] + [c.task for _, c in self.recomputes]

    def finish(self, results: Sequence[Any]) -> VerifyReport:
        """The report, given the computed values of :attr:`pending`."""
        report = self.report
        for scan, grid in zip(self.scans, results[:len(self.scans)], strict=True):
            for index, value in np.ndenumerate(grid):
                if value is None:
                    report.checked["absent"] += 1
                    continue
                if value:
                    key = object_key(scan.array, index)
                    prefix = f"{scan.array.path}/" if scan.array.path else ""
                    report.problems.append(Problem(scan.where, key.removeprefix(prefix), value))
                else:
                    report.checked["objects"] += 1
        for (where, check), problem in zip(self.recomputes, results[len(self.scans):],
                                           strict=True):
            report.checked["recomputed"] += 1
            if problem is not None:
                report.problems.append(Problem(where, check.key, problem))
        return report


def _scan_object(array: zarr.Array, required: bool, block_id: tuple[int, ...] = ()) -> Any:
    """One task: the status of one storage object as a one-element object array ('' whole,
    None absent as fill value, else the problem)."""
    present, problem = object_status(array, tuple(block_id), required=required)
    out = np.empty((1,) * len(block_id), dtype=object)
    out[(0,) * len(block_id)] = problem if problem is not None else ("" if present else None)
    return out


def _scan(array: zarr.Array, where: str, required: bool) -> _Scan:
    block = array.shards or array.chunks
    grid = tuple(-(-n // b) for n, b in zip(array.shape, block, strict=True))
    results = da.map_blocks(
        functools.partial(_scan_object, array, required),
        chunks=tuple((1,) * g for g in grid), dtype=object,
        meta=np.empty((0,) * len(grid), dtype=object),
        name=f"omescale-verify-{uuid.uuid4().hex}",
    )
    return _Scan(where, array, results)


def _ome(attrs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Where the NGFF keys live: under ``ome`` (0.5) or at the top (0.4)."""
    ome = attrs.get("ome")
    return ome if isinstance(ome, Mapping) else attrs


def _multiscale(attrs: Mapping[str, Any]) -> dict[str, Any]:
    entries = _ome(attrs).get("multiscales") or [{}]
    return dict(entries[0]) if isinstance(entries[0], Mapping) else {}


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


@dataclass(frozen=True)
class _ImageInfo:
    axes: str | None
    shape: tuple[int, ...]
    dtype: np.dtype


def _levels(job: VerifyJob, group: zarr.Group, where: str,
            paths: Sequence[str]) -> list[zarr.Array] | None:
    """The level arrays, or None (with a problem each) when some are missing."""
    arrays, ok = [], True
    for path in paths:
        node = group.get(path)
        if not isinstance(node, zarr.Array):
            job.report.problems.append(Problem(_join(where, path), None, (
                "is listed in the multiscales metadata but missing" if node is None
                else "is listed in the multiscales metadata but is a group, not an array")))
            ok = False
            continue
        arrays.append(node)
    return arrays if ok else None


def _axes(job: VerifyJob, where: str, axes: str | None, arrays: Sequence[zarr.Array],
          paths: Sequence[str]) -> str | None:
    """The validated axes (None with a problem when they are not OME-NGFF axes)."""
    try:
        if axes is None:
            raise InputNotFoundError("axes are missing or not named from t, c, z, y, x")
        axes = validate_axes(axes, arrays[0].ndim)
    except OmescaleError as exc:
        job.report.problems.append(Problem(where, None, f"invalid axes: {exc}"))
        return None
    for array, path in zip(arrays, paths, strict=True):
        names = getattr(array.metadata, "dimension_names", None)
        if names is not None and any(n is not None for n in names) and tuple(names) != tuple(
                axes):
            job.report.problems.append(Problem(_join(where, path), None, (
                f"dimension_names {list(names)} differ from the multiscales axes {axes!r}")))
    return axes


def _header(job: VerifyJob, group: zarr.Group, where: str, attrs: Mapping[str, Any]) -> None:
    """Marker and NGFF version problems of an image group."""
    if "omescale" in attrs:
        job.report.problems.append(Problem(where, None, (
            "carries omescale's 'incomplete' marker: its write was interrupted (rerun the "
            "same write with --resume / resume=True)")))
    if not _multiscale(attrs):
        return
    fmt = group.metadata.zarr_format
    expected = "0.5" if fmt == 3 else "0.4"
    ome = attrs.get("ome")
    found = (str(ome.get("version")) if isinstance(ome, Mapping) and "multiscales" in ome
             else str(_multiscale(attrs).get("version", "0.4")))
    if found != expected:
        job.report.problems.append(Problem(where, None, (
            f"NGFF {found} metadata on a zarr format {fmt} group (NGFF {expected} expected)")))


def _plan_image(job: VerifyJob, group: zarr.Group, where: str, *, recompute: int,
                rng: np.random.Generator) -> _ImageInfo | None:
    """Plan every check of one image group; its axes, level-0 shape and dtype."""
    report = job.report
    report.checked["images"] += 1
    attrs = attributes(group)
    _header(job, group, where, attrs)
    try:
        meta = read_image_metadata(attrs, where or ".")
    except InputNotFoundError as exc:
        report.problems.append(Problem(where, None, f"no valid multiscales metadata ({exc})"))
        return None
    arrays = _levels(job, group, where, meta.paths)
    if not arrays:
        return None
    report.checked["levels"] += len(arrays)
    axes = _axes(job, where, meta.axes, arrays, meta.paths)
    writer = recorded_writer(_multiscale(attrs), axes or "")
    steps = step_factors(writer, [a.shape for a in arrays])
    if axes is not None:
        infos = [LevelInfo(_join(where, p), a.shape, np.dtype(a.dtype), s, t) for p, a, s, t in
                 zip(meta.paths, arrays, meta.scales, meta.translations, strict=True)]
        kind = None if writer.method is None else METHOD_SPECS[writer.method].geometry
        for path, what in level_problems(axes, infos, kind=kind,
                                         factors=None if kind is None else steps):
            report.problems.append(Problem(path, None, what))
    first_own = OWN_WRITERS.get(writer.function or "")
    for k, (path, array) in enumerate(zip(meta.paths, arrays, strict=True)):
        required = (first_own is not None and k >= first_own) or bool(
            array.config.write_empty_chunks)
        job.scans.append(_scan(array, _join(where, path), required))
    if recompute and len(arrays) > 1:
        _plan_recompute(job, where, arrays, meta.paths, writer, steps, recompute, rng)
    return _ImageInfo(axes, arrays[0].shape, np.dtype(arrays[0].dtype))


def _plan_recompute(job: VerifyJob, where: str, arrays: Sequence[zarr.Array],
                    paths: Sequence[str], writer: RecordedWriter, steps: Sequence[tuple[int, ...]],
                    k: int, rng: np.random.Generator) -> None:
    name = where or "."
    if writer.method is None:
        job.report.notes.append(f"{name}: method unknown, not recomputed")
        return
    if writer.method not in RECOMPUTABLE:
        job.report.notes.append(f"{name}: {writer.method.value} levels are not computed from "
                                "the level below, not recomputed")
        return
    for level in range(1, len(arrays)):
        try:
            checks = recompute_checks(
                arrays[level - 1], arrays[level], method=writer.method, order=writer.order,
                factors=steps[level - 1], k=k, rng=rng, where=_join(where, paths[level - 1]))
        except OmescaleError as exc:  # recorded factors or order the engine refuses
            job.report.problems.append(Problem(_join(where, paths[level]), None,
                                               f"cannot be recomputed: {exc}"))
            continue
        job.recomputes += [(_join(where, paths[level]), c) for c in checks]


def _label_problems(info: _ImageInfo, image: _ImageInfo) -> list[str]:
    """How a label image's level 0 disagrees with the image's (a channel axis may be absent)."""
    out = []
    if info.dtype.kind not in "biu":
        out.append(f"label dtype {info.dtype} is not an integer or bool type")
    if info.axes is None or image.axes is None:
        return out
    lost = [a for a in image.axes if a not in info.axes and a != "c"]
    if lost or not set(info.axes) <= set(image.axes) or any(
            n != image.shape[image.axes.index(a)]
            for a, n in zip(info.axes, info.shape, strict=True)):
        out.append(f"level 0 shape {info.shape} (axes {info.axes!r}) does not match the "
                   f"image's level 0 {image.shape} (axes {image.axes!r})")
    return out


def _label_names(job: VerifyJob, labels: zarr.Group) -> list[str]:
    names = _ome(attributes(labels)).get("labels")
    if not isinstance(names, list):
        job.report.problems.append(Problem("labels", None, "lists no label images"))
        return []
    return [str(n) for n in names]


def _plan_labels(job: VerifyJob, group: zarr.Group, image: _ImageInfo | None, *,
                 recompute: int, rng: np.random.Generator) -> None:
    """Plan the checks of every label image under ``labels/`` (listed or not)."""
    labels = group.get("labels")
    if labels is None:
        return
    if not isinstance(labels, zarr.Group):
        job.report.problems.append(Problem("labels", None, "is an array, not a group"))
        return
    listed = _label_names(job, labels)
    present = sorted(labels.group_keys())
    for name in listed:
        if name not in present:
            job.report.problems.append(Problem(_join("labels", name), None,
                                               "is listed in labels/ but missing"))
    for name in present:
        where = _join("labels", name)
        if name not in listed:
            job.report.problems.append(Problem(where, None, (
                "is not listed in the labels/ metadata (an interrupted write_labels?)")))
        node = labels[name]
        assert isinstance(node, zarr.Group)
        if "image-label" not in _ome(attributes(node)):
            job.report.problems.append(Problem(where, None, "has no image-label metadata"))
        info = _plan_image(job, node, where, recompute=recompute, rng=rng)
        if info is not None and image is not None:
            job.report.problems += [Problem(where, None, p) for p in _label_problems(info, image)]


def _open(path: Any, storage_options: dict | None) -> tuple[zarr.Group, str]:
    """The image group at ``path`` (read only) and its location."""
    if isinstance(path, zarr.Group):
        where = location_of(path.store)
        return path, f"{where.rstrip('/')}/{path.path}" if path.path else where
    text = os.fspath(path)
    url = "://" in text and not text.startswith("file://")
    if not url and not os.path.exists(text.removeprefix("file://")):
        raise InputNotFoundError(f"{text} does not exist")
    store = open_store(text, storage_options=storage_options, read_only=True)
    try:
        node = zarr.open(store, mode="r")
    except (FileNotFoundError, KeyError, zarr.errors.NodeNotFoundError) as exc:
        raise InputNotFoundError(f"{text} is not a zarr group (an OME-Zarr image)") from exc
    if not isinstance(node, zarr.Group):
        raise InputNotFoundError(f"{text} is a zarr array, not an OME-Zarr image group")
    attrs = attributes(node)
    if "omescale" not in attrs and not _multiscale(attrs):
        raise InputNotFoundError(f"{text} is a zarr group but not an OME-Zarr image "
                                 "(no multiscales metadata)")
    return node, location_of(store)


def verify_job(path: Any, *, recompute: int = 0, seed: int = 0,
               storage_options: dict | None = None) -> VerifyJob:
    """Plan the verification of the OME-Zarr image at ``path`` (see :func:`verify`); compute
    ``job.pending`` on any dask scheduler and pass the values to ``job.finish``."""
    if isinstance(recompute, bool) or not isinstance(recompute, int) or recompute < 0:
        raise InvalidOptionError(f"recompute must be an integer >= 0, got {recompute!r}")
    group, where = _open(path, storage_options)
    job = VerifyJob(VerifyReport(where))
    rng = np.random.default_rng(seed)
    image = _plan_image(job, group, "", recompute=recompute, rng=rng)
    _plan_labels(job, group, image, recompute=recompute, rng=rng)
    return job


def verify(path: Any, *, recompute: int = 0, seed: int = 0,
           storage_options: dict | None = None) -> VerifyReport:
    """Check that the OME-Zarr pyramid at ``path`` is whole.

    Metadata (NGFF 0.4/0.5, no "incomplete" marker), level shapes, dtypes and transforms,
    every storage object present and decodable (one task per object on the current dask
    scheduler), label images consistent with the image.

    Parameters
    ----------
    path
        Local path, fsspec URL or zarr group of an OME-Zarr image.
    recompute
        Chunks of every level >= 1 to recompute from the level below and compare, where the
        metadata names an omescale method (0: none).
    seed
        Seed of the random choice of chunks to recompute.
    storage_options
        fsspec options for URLs.

    Returns
    -------
    VerifyReport
        ``.ok``, ``.problems`` (array, key, what), ``.checked`` counts, ``.notes``.

    Raises
    ------
    InputNotFoundError
        ``path`` does not exist, or is not a zarr group holding an OME-Zarr image (or an
        interrupted omescale write).
    InvalidOptionError
        ``recompute`` is not an integer >= 0.

    Examples
    --------
    >>> import numpy as np, omescale, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "x.ome.zarr")
    >>> omescale.write_pyramid(np.zeros((64, 64), np.uint8), out, chunks=32)
    >>> omescale.verify(out).ok
    True
    """
    job = verify_job(path, recompute=recompute, seed=seed, storage_options=storage_options)
    pending = job.pending
    return job.finish(dask.compute(*pending) if pending else ())
