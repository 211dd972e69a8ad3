"""Atomic objects or no resume (issue 14 item 3; SPEC §5).

- The installed zarr, dask and numcodecs honour pyproject.toml's floors, and zarr's LocalStore
  really writes through a temporary file renamed into place (checked by behaviour: rewriting an
  object gives it a new inode, where an in-place write would keep the old one, and no
  temporary file is left).
- On a store whose writes are not atomic (fsspec's local file system), resume decodes every
  object it would skip: a torn object left by a killed write is rewritten, and the result
  equals a clean write.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import dask
import numcodecs
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes
from packaging.version import Version
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import FsspecStore, LocalStore, MemoryStore

import omescale
from omescale.ngff.chunk_check import object_done, object_is_whole
from omescale.ngff.store import atomic_writes

ROOT = Path(__file__).resolve().parents[1]
IMAGE = np.random.default_rng(5).integers(1, 60000, size=(70, 90), dtype=np.uint16)
KW = {"chunks": (16, 16), "scale_factors": [2, 4], "method": "nearest"}


def _floors() -> dict[str, Version]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for dep in deps:
        found = re.match(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?\s*>=\s*([0-9][^,;\s]*)", dep)
        if found:
            out[found.group(1).lower()] = Version(found.group(3))
    return out


def test_installed_versions_honour_the_floors():
    floors = _floors()
    assert floors["zarr"] >= Version("3.1.3")  # first LocalStore with atomic writes
    for name, module in (("zarr", zarr), ("dask", dask), ("numcodecs", numcodecs)):
        assert Version(module.__version__) >= floors[name], (name, module.__version__)


def test_local_store_writes_through_a_temporary_file_and_rename(tmp_path):
    store = LocalStore(str(tmp_path))
    put = default_buffer_prototype().buffer.from_bytes
    sync(store.set("a/b", put(b"first version")))
    first = os.stat(tmp_path / "a" / "b").st_ino
    sync(store.set("a/b", put(b"second, longer version")))
    assert (tmp_path / "a" / "b").read_bytes() == b"second, longer version"
    assert os.stat(tmp_path / "a" / "b").st_ino != first  # a new file renamed over the old
    assert sorted(os.listdir(tmp_path / "a")) == ["b"]  # no temporary file left


def test_which_stores_omescale_vouches_for(tmp_path):
    assert atomic_writes(LocalStore(str(tmp_path)))
    assert atomic_writes(MemoryStore())
    assert atomic_writes(FsspecStore.from_url("memory://omescale-atomic"))
    assert not atomic_writes(FsspecStore.from_url(f"file://{tmp_path}"))


def _fsspec_local(path):
    return FsspecStore.from_url(f"file://{path}", storage_options={"auto_mkdir": True})


def _write_keeping_marker(image, store):
    pending = omescale.write_pyramid(image, store, compute=False, **KW)
    attrs = dict(zarr.open_group(store, mode="r").attrs)
    pending.compute()
    return attrs


@pytest.mark.parametrize("tear", [lambda b: b[: len(b) // 2], lambda b: b""])
def test_resume_on_fsspec_local_rewrites_a_torn_object(tmp_path, tear):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, **KW)
    store = _fsspec_local(out)
    marker = _write_keeping_marker(IMAGE, store)
    torn = out / "1" / "c" / "1" / "1"
    torn.write_bytes(tear(torn.read_bytes()))  # what a killed non-atomic write leaves
    (out / "0" / "c" / "2" / "3").unlink()  # and one object never written
    zarr.open_group(store, mode="r+").attrs.put(marker)
    level1 = zarr.open_array(store, path="1", mode="r")
    assert not object_is_whole(level1, "1/c/1/1") and not object_done(level1, "1/c/1/1")
    assert object_done(level1, "1/c/0/0")
    written = omescale.write_pyramid(IMAGE, store, resume=True, compute=False, **KW).compute()
    assert written == 2  # the torn and the missing object, nothing else
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_streamed_resume_on_fsspec_local_rewrites_a_torn_object(tmp_path):
    clean, out, source = tmp_path / "clean.zarr", tmp_path / "out.zarr", tmp_path / "in.zarr"
    zarr.create_array(source, data=IMAGE, chunks=(16, 16))
    omescale.write_pyramid(IMAGE, clean, **KW)
    store = _fsspec_local(out)
    pending = omescale.write_pyramid(source, store, compute=False, stream=True, **KW)
    marker = dict(zarr.open_group(store, mode="r").attrs)
    pending.compute()
    torn = out / "2" / "c" / "0" / "0"
    torn.write_bytes(torn.read_bytes()[:9])
    zarr.open_group(store, mode="r+").attrs.put(marker)
    omescale.write_pyramid(source, store, resume=True, stream=True, **KW)
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)
