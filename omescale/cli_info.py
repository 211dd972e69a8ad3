"""``omescale info PATH``: what omescale sees in any input, or how far a pyramid got.

- an OME-Zarr image: its levels and metadata (:func:`omescale.cli_report.info`);
- an interrupted omescale pyramid (the "incomplete" marker is still there): per level, how many
  storage objects exist and how many are missing, and which levels are complete;
- anything else omescale reads (TIFF, OME-TIFF, a folder or glob of TIFF or ``.npy`` files,
  ``.npy``, a zarr array, a vendor file through bioio): the axes in the order omescale writes
  them (and the input's own order), shape, dtype, chunks as read, physical sizes, channels.

Rendering only: the inputs are opened by :mod:`omescale.inputs` (metadata only, no pixels).
"""

from __future__ import annotations

import glob
import os
from typing import Any, TextIO

import zarr

from omescale.cli_report import _dims, _table, human_bytes
from omescale.cli_report import info as image_info
from omescale.errors import InputNotFoundError
from omescale.inputs import InputImage, open_input
from omescale.inputs.order import in_ngff_order
from omescale.inputs.stacks import stack_files
from omescale.inputs.tiff import TIFF_SUFFIXES, tiff_header
from omescale.ngff.metadata import attributes
from omescale.ngff.store import open_store
from omescale.ngff.tasks import block_keys, missing_blocks

__all__ = ["info"]


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _zarr_node(path: str, options: dict | None) -> zarr.Array | zarr.Group | None:
    """The zarr node at ``path``, or None when it is not a zarr store (a file, a stack...)."""
    local = path.removeprefix("file://")
    if not _is_url(path) and (os.path.isfile(local) or stack_files(local) is not None):
        return None
    try:
        return zarr.open(open_store(path, storage_options=options, read_only=True), mode="r")
    except (FileNotFoundError, zarr.errors.NodeNotFoundError, KeyError):
        return None


def _kind(path: str, reader: str | None, options: dict | None) -> str:
    local = path.removeprefix("file://")
    files = None if _is_url(path) else stack_files(local)
    if files is not None:
        kind = "TIFF" if files[0].lower().endswith(TIFF_SUFFIXES) else ".npy"
        names = [os.path.basename(f) for f in (files[0], files[-1])]
        return f"stack of {len(files)} {kind} files, natural order ({names[0]} ... {names[1]})"
    lower = local.lower()
    if lower.endswith(".npy"):
        return ".npy file (memory-mapped)"
    if lower.endswith(TIFF_SUFFIXES) and reader != "bioio":
        _, _, series_axes, ome = tiff_header(local)
        return f"{'OME-TIFF' if ome else 'TIFF'} (tifffile, series axes {series_axes})"
    if isinstance(_zarr_node(path, options), zarr.Array):
        return "zarr array"
    return "file read by bioio"


def _axes_line(raw: InputImage, src: InputImage) -> str:
    if raw.axes is None:
        return (f"{src.axes} (inferred from {raw.data.ndim} dimensions; pass --axes to name the "
                "input's axes in its own order)")
    moved = f", input order {src.input_axes}" if src.input_axes != src.axes else ""
    return f"{src.axes} (from the input{moved})"


def _sizes_line(src: InputImage) -> str:
    axes = src.axes or ""
    if not src.physical_sizes:
        return "unknown (pass --physical-size, e.g. z=2,y=0.5,x=0.5)"
    sizes = src.physical_sizes
    return ", ".join(f"{a}={sizes[a]:g}" + (f" {src.units[a]}" if a in src.units else "")
                     for a in axes if a in sizes)


def _channels_line(src: InputImage) -> str:
    axes = src.axes or ""
    if "c" not in axes:
        return "-"
    n = src.data.shape[axes.index("c")]
    if not src.channels:
        return f"{n} (unnamed)"
    names = [c.label + (f" (#{c.color})" if c.color else "") for c in src.channels]
    return f"{n}: " + ", ".join(names)


def input_info(path: str, *, out: TextIO, reader: str | None = None,
               storage_options: dict | None = None) -> None:
    """Print what omescale reads from the input at ``path``."""
    raw = open_input(path, reader=reader, storage_options=storage_options)
    src = in_ngff_order(raw)
    data = src.data
    out.write(f"{path}: {_kind(path, reader, storage_options)}\n")
    out.write(f"axes: {_axes_line(raw, src)}\n")
    out.write(f"shape: {_dims(data.shape)}\n")
    out.write(f"dtype: {data.dtype}\n")
    out.write(f"chunks: {_dims(tuple(c[0] for c in data.chunks))} as read "
              f"({data.npartitions} read tasks; {human_bytes(data.nbytes)} in all)\n")
    out.write(f"physical sizes: {_sizes_line(src)}\n")
    out.write(f"channels: {_channels_line(src)}\n")


def _level_paths(group: zarr.Group) -> list[str]:
    return sorted((k for k in group.array_keys() if k.isdigit()), key=int)


def progress_info(path: str, group: zarr.Group, *, out: TextIO) -> None:
    """Print an interrupted pyramid's levels: objects expected, present and missing."""
    out.write(f"{path}: INCOMPLETE omescale pyramid (an interrupted write; finish it by "
              "rerunning the same command with --resume)\n")
    rows = [["level", "shape", "dtype", "chunks", "shards", "objects", "present", "missing",
             "status"]]
    complete, missing_total, expected_total = 0, 0, 0
    for p in _level_paths(group):
        a = group[p]
        assert isinstance(a, zarr.Array)
        expected, missing = len(block_keys(a)), len(missing_blocks(a))
        complete += missing == 0
        missing_total += missing
        expected_total += expected
        rows.append([p, _dims(a.shape), str(a.dtype), _dims(a.chunks), _dims(a.shards),
                     str(expected), str(expected - missing), str(missing),
                     "complete" if missing == 0 else "incomplete"])
    _table(rows, out)
    out.write(f"{complete} of {len(rows) - 1} levels complete; {missing_total} of "
              f"{expected_total} storage objects missing\n")


def _omero_channels(attrs: dict[str, Any], out: TextIO) -> None:
    channels = attrs.get("ome", attrs).get("omero", {}).get("channels") or []
    if channels:
        names = [str(c.get("label", "unnamed")) + (f" (#{c['color']})" if c.get("color") else "")
                 for c in channels]
        out.write(f"channels: {len(names)}: {', '.join(names)}\n")


def info(path: str, *, out: TextIO, reader: str | None = None,
         storage_options: dict | None = None) -> Any:
    """Print what ``omescale`` sees at ``path`` (see the module docstring)."""
    local = path.removeprefix("file://")
    if not _is_url(path) and not os.path.exists(local) and not glob.has_magic(local):
        raise InputNotFoundError(f"{path} does not exist")
    node = _zarr_node(path, storage_options)
    if isinstance(node, zarr.Group):
        attrs = attributes(node)
        if "omescale" in attrs and "multiscales" not in attrs.get("ome", attrs):
            return progress_info(path, node, out=out)
        image_info(path, out=out, storage_options=storage_options)
        return _omero_channels(attrs, out)
    return input_info(path, out=out, reader=reader, storage_options=storage_options)
