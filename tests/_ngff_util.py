"""Helpers shared by the OME-Zarr tests: validation, read-back and byte-level comparison."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import ClassVar

import numpy as np
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from ome_zarr_models import v04, v05


class CountingStore(zarr.storage.LocalStore):
    """A real LocalStore that counts how often each chunk is read (reset ``reads`` before use)."""

    reads: ClassVar[dict[str, int]] = {}

    async def get(self, key, prototype=None, byte_range=None):
        buf = await super().get(key, prototype, byte_range)
        if buf is not None and not key.endswith("zarr.json"):
            self.reads[key] = self.reads.get(key, 0) + 1
        return buf


class CallCounter(zarr.storage.WrapperStore):
    """Any real store, wrapped to count its calls by kind (``calls["exists"]``, ``"get"``,
    ``"list_dir"`` ...) and the directories listed (``listed``); shared by the copies zarr
    makes of it (``with_read_only``)."""

    def __init__(self, store, calls=None, listed=None):
        super().__init__(store)
        self.calls = Counter() if calls is None else calls
        self.listed = [] if listed is None else listed

    def _with_store(self, store):
        return type(self)(store, self.calls, self.listed)

    def reset(self):
        self.calls.clear()
        self.listed.clear()

    async def get(self, key, prototype=None, byte_range=None):
        if not key.endswith((".json", ".zarray", ".zattrs", ".zgroup")):
            self.calls["get"] += 1
        return await super().get(key, prototype, byte_range)

    async def exists(self, key):
        self.calls["exists"] += 1
        return await super().exists(key)

    def list_dir(self, prefix):
        self.calls["list_dir"] += 1
        self.listed.append(prefix)
        return super().list_dir(prefix)

    def list_prefix(self, prefix):
        self.calls["list_prefix"] += 1
        return super().list_prefix(prefix)

    def list(self):
        self.calls["list"] += 1
        return super().list()


SKIP = (".omescale-lock", ".partial")


def validate_image(path: str | Path, version: str = "0.5") -> object:
    """Validate the image group at ``path`` with ome-zarr-models (0.4 or 0.5)."""
    group = zarr.open_group(str(path), mode="r")
    model = v05.Image if version == "0.5" else v04.Image
    return model.from_zarr(group)


def read_levels(path: str | Path) -> list[np.ndarray]:
    """Every level of the image at ``path`` as read by ome-zarr-py's reader."""
    nodes = list(Reader(parse_url(str(path)))())
    return [np.asarray(level) for level in nodes[0].data]


def zarr_input(path: str | Path, image: np.ndarray, chunks: tuple[int, ...]) -> Path:
    """``image`` stored as a plain zarr array at ``path`` in ``chunks`` (a test's input)."""
    z = zarr.create_array(str(path), shape=image.shape, dtype=image.dtype, chunks=chunks)
    z[:] = image
    return Path(path)


def tree_bytes(path: str | Path) -> dict[str, bytes]:
    """Every file under ``path`` (but locks and temporary files) by relative name."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            if any(s in name for s in SKIP):
                continue
            full = os.path.join(root, name)
            out[os.path.relpath(full, path)] = Path(full).read_bytes()
    return out


def is_complete(path: str | Path) -> bool:
    """Whether the group at ``path`` carries complete multiscales metadata."""
    attrs = dict(zarr.open_group(str(path), mode="r").attrs)
    ome = attrs.get("ome", attrs)
    return "omescale" not in attrs and bool(ome.get("multiscales"))


def write_with_ngff_zarr(path: str | Path, multiscales: object, version: str) -> None:
    """ngff-zarr's ``to_ngff_zarr``, skipping the test where that release cannot write NGFF 0.4.

    ngff-zarr 0.18 (the last release for Python 3.11) writes 0.4 through ``dask.array.to_zarr``
    with ``dimension_separator``, which dask >= 2026.8 hands to ``zarr.create_array``, which
    has no such argument: a peer's incompatibility, not omescale's, so the test is skipped
    with the versions named rather than failed.
    """
    import dask
    import ngff_zarr as nz
    import pytest

    try:
        nz.to_ngff_zarr(str(path), multiscales, version=version)
    except TypeError as exc:
        if "dimension_separator" not in str(exc):
            raise
        pytest.skip(f"ngff-zarr {nz.__version__} cannot write NGFF {version} with dask "
                    f"{dask.__version__}: {exc}")
