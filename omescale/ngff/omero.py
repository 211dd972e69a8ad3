"""OME-NGFF ``omero`` rendering metadata: channel labels, colours and display windows.

What a viewer needs to open an image in colour and with a sensible contrast. The channels come,
later ones overriding earlier ones, from an OME-Zarr input's own ``omero``, from the channel
names and colours of the input (OME-TIFF, bioio, xarray), and from the user's ``channels``.
Windows that are still missing are computed by the last task of a write, after every chunk is
on disk, from a bounded sample of the coarsest level as stored (:func:`complete_windows`):
percentiles 0.1 and 99.9 per channel for ``start``/``end``; ``min``/``max`` are the dtype's
range for integer images and the sample's range for float images.

NGFF 0.4 keeps ``omero`` at the top of the group attributes (with ``"version": "0.4"``); NGFF
0.5 keeps it under ``ome`` without a version of its own. :func:`read_omero` reads either and
returns it version-free, :func:`with_omero` writes it where the target version wants it.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import zarr

from omescale.errors import InvalidOptionError
from omescale.ngff.retry import retried

__all__ = [
    "DEFAULT_COLORS",
    "add_omero",
    "build_omero",
    "channel_count",
    "complete_windows",
    "read_omero",
    "user_channels",
    "window_of",
    "with_omero",
]

# One channel: white. Several: red, green, blue (an RGB image reads as itself), then more.
DEFAULT_COLORS = ("FF0000", "00FF00", "0000FF", "FF00FF", "00FFFF", "FFFF00", "FFFFFF")
PERCENTILES = (0.1, 99.9)
# The window sample: at most this many t and z planes each, and this many y/x pixels
# (centred), per channel. The coarsest level of a default pyramid is smaller than that.
SAMPLE_PLANES = 4
SAMPLE_SIDE = 512
_WINDOW_KEYS = ("start", "end", "min", "max")
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def read_omero(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``omero`` of NGFF 0.5 (``ome.omero``) or 0.4 attributes, without its version."""
    ome = attrs.get("ome")
    if isinstance(ome, Mapping) and isinstance(ome.get("omero"), Mapping):
        omero = dict(ome["omero"])
    elif isinstance(attrs.get("omero"), Mapping):
        omero = dict(attrs["omero"])
    else:
        return None
    omero.pop("version", None)
    return copy.deepcopy(omero)


def with_omero(attrs: Mapping[str, Any], omero: Mapping[str, Any], version: str
               ) -> dict[str, Any]:
    """Image attributes ``attrs`` with ``omero`` where NGFF ``version`` keeps it."""
    out = dict(attrs)
    body = {k: v for k, v in copy.deepcopy(dict(omero)).items() if k != "version"}
    if version == "0.5":
        out["ome"] = {**out["ome"], "omero": body}
    else:
        out["omero"] = {**body, "version": "0.4"}
    return out


def channel_count(axes: str, shape: Sequence[int]) -> int:
    """Channels of an image: the length of its ``c`` axis, or 1."""
    return int(shape[axes.index("c")]) if "c" in axes else 1


def _color(value: Any, where: str) -> str:
    match = _HEX.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidOptionError(f"{where}: colour {value!r} is not an RRGGBB hex string such "
                                 "as 'FF0000'")
    return match[1].upper()


def _window(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, Mapping) or not set(value) <= set(_WINDOW_KEYS) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value.values()):
        raise InvalidOptionError(f"{where}: window {value!r} must map some of start, end, min, "
                                 "max to finite numbers")
    return dict(value)


def user_channels(channels: Any, count: int) -> list[dict[str, Any]] | None:
    """Check the user's ``channels``: one entry per channel, each a label or a dict with
    ``label``, ``color`` (``RRGGBB``), ``window`` and any other omero channel field.

    Raises
    ------
    InvalidOptionError
        Not a list, a count other than the image's channels, a bad colour or window.
    """
    if channels is None:
        return None
    if isinstance(channels, str | bytes | Mapping) or not isinstance(channels, Sequence):
        raise InvalidOptionError(
            f"channels must be a list with one entry per channel, got {channels!r}")
    if len(channels) != count:
        raise InvalidOptionError(
            f"channels lists {len(channels)} entries but the image has {count} channel(s)")
    out = []
    for i, entry in enumerate(channels):
        where = f"channel {i}"
        if isinstance(entry, str):
            entry = {"label": entry}
        if not isinstance(entry, Mapping) or not all(isinstance(k, str) for k in entry):
            raise InvalidOptionError(f"{where}: expected a label or a dict, got {entry!r}")
        entry = copy.deepcopy(dict(entry))
        if entry.get("color") is not None:
            entry["color"] = _color(entry["color"], where)
        if entry.get("window") is not None:
            entry["window"] = _window(entry["window"], where)
        if "label" in entry and not isinstance(entry["label"], str):
            raise InvalidOptionError(f"{where}: label {entry['label']!r} is not a string")
        out.append({k: v for k, v in entry.items() if v is not None})
    return out


def build_omero(count: int, *, kept: Mapping[str, Any] | None = None,
                named: Sequence[Any] | None = None,
                given: Sequence[Mapping[str, Any]] | None = None,
                keep_windows: bool = True) -> dict[str, Any]:
    """The ``omero`` of an image with ``count`` channels.

    ``kept``: an input's omero (used when it has ``count`` channels; its windows only when
    ``keep_windows``, i.e. the output keeps the input's range); ``named``: the input's
    channels (objects with ``label`` and ``color``); ``given``: checked user channels. Windows
    not given stay absent here (see :func:`complete_windows`).
    """
    base = copy.deepcopy(dict(kept or {}))
    old = base.get("channels")
    channels = [dict(c) for c in old] if isinstance(old, list) and len(old) == count and all(
        isinstance(c, Mapping) for c in old) else [{} for _ in range(count)]
    if not keep_windows:
        for channel in channels:
            channel.pop("window", None)
    if named is not None and len(named) == count:
        for channel, source in zip(channels, named, strict=True):
            channel["label"] = str(source.label)
            if getattr(source, "color", None):
                channel["color"] = _color(source.color, f"channel {source.label!r}")
    for channel, entry in zip(channels, given or (), strict=False):
        window = {**channel.get("window", {}), **entry.get("window", {})}
        channel.update(entry)
        if window:
            channel["window"] = window
    for i, channel in enumerate(channels):
        default = "FFFFFF" if count == 1 else DEFAULT_COLORS[i % len(DEFAULT_COLORS)]
        channel.setdefault("color", default)
        channel.setdefault("active", True)
        channel.setdefault("coefficient", 1.0)
        channel.setdefault("family", "linear")
        channel.setdefault("inverted", False)
    base["channels"] = channels
    base.setdefault("rdefs", {"model": "color" if count > 1 else "greyscale"})
    return base


def _sample_index(axes: str, shape: Sequence[int], channel: int) -> tuple[Any, ...]:
    index: list[Any] = []
    for a, n in zip(axes, shape, strict=True):
        if a == "c":
            index.append(channel)
        elif a in "tz" and n > SAMPLE_PLANES:
            index.append(np.unique(np.linspace(0, n - 1, SAMPLE_PLANES).round().astype(int)))
        elif a in "yx" and n > SAMPLE_SIDE:
            lo = (n - SAMPLE_SIDE) // 2
            index.append(slice(lo, lo + SAMPLE_SIDE))
        else:
            index.append(slice(None))
    return tuple(index)


def _pieces(entry: Any, n: int, chunk: int) -> list[int | slice]:
    """One axis of an orthogonal index cut so that each piece lies in one storage chunk."""
    if isinstance(entry, slice):
        start, stop, _ = entry.indices(n)
        cuts = [start, *range((start // chunk + 1) * chunk, stop, chunk), stop]
        return [slice(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    return [int(i) for i in np.atleast_1d(entry)]


def _read_sample(array: zarr.Array, index: tuple[Any, ...], path: str) -> np.ndarray:
    """The values of ``array[index]`` (orthogonal), read one storage chunk at a time so a
    transient store fault is retried per object (``omescale.ngff.retry``); order is lost."""
    per_axis = [_pieces(e, n, c) for e, n, c in zip(index, array.shape, array.chunks,
                                                       strict=True)]
    parts = []
    for region in itertools.product(*per_axis):
        def read(region: tuple[Any, ...] = region) -> np.ndarray:
            return np.asarray(array[region])
        parts.append(retried(read, f"read of a window sample of {path}").ravel())
    return np.concatenate(parts) if parts else np.empty(0, array.dtype)


def window_of(values: Any, dtype: np.dtype) -> dict[str, float]:
    """``start``/``end`` at the 0.1 and 99.9 percentiles of ``values``; ``min``/``max`` the
    dtype's range (integers, bool) or the values' range (floats)."""
    dtype = np.dtype(dtype)
    values = np.asarray(values).ravel()
    if dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.size == 0:
        return {"start": 0.0, "end": 1.0, "min": 0.0, "max": 1.0}
    lo, hi = (float(v) for v in np.percentile(values.astype(np.float64), PERCENTILES))
    if dtype.kind == "f":
        return {"start": lo, "end": hi, "min": float(values.min()), "max": float(values.max())}
    info = np.iinfo(np.uint8 if dtype.kind == "b" else dtype)
    rng = (0, 1) if dtype.kind == "b" else (info.min, info.max)
    return {"start": float(math.floor(lo)), "end": float(math.ceil(hi)),
            "min": float(rng[0]), "max": float(rng[1])}


def complete_windows(group: zarr.Group, attrs: Mapping[str, Any], *, path: str, axes: str
                     ) -> dict[str, Any]:
    """``attrs`` with every missing window key filled from the stored array ``path`` (the
    coarsest level), read as a bounded sample per channel. Runs in the last task of a write."""
    omero = read_omero(attrs)
    if omero is None:
        return dict(attrs)
    channels = omero.get("channels", [])
    if all(set(_WINDOW_KEYS) <= set(c.get("window", {})) for c in channels):
        return dict(attrs)
    array = group[path]
    assert isinstance(array, zarr.Array)
    for i, channel in enumerate(channels):
        have = channel.get("window", {})
        if set(_WINDOW_KEYS) <= set(have):
            continue
        sample = _read_sample(array, _sample_index(axes, array.shape, i), path)
        channel["window"] = {**window_of(sample, array.dtype), **have}
    version = "0.5" if "ome" in attrs else "0.4"
    return with_omero(attrs, omero, version)


def add_omero(attrs: Mapping[str, Any], *, axes: str, shape: Sequence[int], version: str,
              coarsest: str, kept: Mapping[str, Any] | None = None,
              named: Sequence[Any] | None = None, channels: Any = None,
              keep_windows: bool = True) -> tuple[dict[str, Any], Any]:
    """Image attributes with their ``omero``, and the final task's ``complete`` that fills the
    missing windows from the stored level ``coarsest`` (see :func:`build_omero`)."""
    count = channel_count(axes, shape)
    omero = build_omero(count, kept=kept, named=named, given=user_channels(channels, count),
                        keep_windows=keep_windows)
    return (with_omero(attrs, omero, version),
            functools.partial(complete_windows, path=coarsest, axes=axes))
