"""``overwrite`` replaces only a zarr store (issue 14, item 1; SPEC §5).

Every refused kind of target is a real directory holding a user's ``precious.txt``; after the
refusal the file (and everything else there) is still there, byte for byte. The current and
home directories are made zarr stores here, so that only their own rule can refuse them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fsspec
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes
from zarr.storage import FsspecStore, LocalStore, MemoryStore

import omescale
from omescale.errors import OutputExistsError, OutputInsideInputError, UnsafeOverwriteError
from omescale.ngff.store import check_replaceable, clear_store

IMAGE = (np.arange(32 * 30, dtype=np.uint16).reshape(32, 30) * 7) % 1000


def _precious(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "precious.txt").write_text("the only copy\n")
    return directory


def _zarr_with_precious(directory: Path) -> Path:
    """A zarr store (an OME-Zarr image) that also holds the user's file."""
    omescale.write_pyramid(IMAGE[:8, :8], directory, max_layer=0)
    return _precious(directory)


def test_directory_of_other_files_is_refused(tmp_path):
    some_dir = _precious(tmp_path / "some_dir")
    before = tree_bytes(some_dir)
    with pytest.raises(UnsafeOverwriteError, match="not a zarr store") as info:
        omescale.write_pyramid(IMAGE, some_dir, overwrite=True)
    assert str(some_dir) in str(info.value)
    assert tree_bytes(some_dir) == before


def test_current_directory_is_refused(tmp_path, monkeypatch):
    here = _zarr_with_precious(tmp_path / "here.zarr")
    before = tree_bytes(here)
    monkeypatch.chdir(here)
    with pytest.raises(UnsafeOverwriteError, match="current directory"):
        omescale.write_pyramid(IMAGE, ".", overwrite=True)
    monkeypatch.chdir(here / "0")  # a store holding the current directory
    with pytest.raises(UnsafeOverwriteError, match="contains the current directory"):
        omescale.write_pyramid(IMAGE, here, overwrite=True)
    assert tree_bytes(here) == before


def test_home_directory_and_its_parents_are_refused(tmp_path, monkeypatch):
    home = _zarr_with_precious(tmp_path / "home" / "me")
    before = tree_bytes(home)
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(UnsafeOverwriteError, match="home directory"):
        omescale.write_pyramid(IMAGE, "~", overwrite=True)
    with pytest.raises(UnsafeOverwriteError, match="is the home directory"):
        omescale.write_pyramid(IMAGE, home, overwrite=True)
    zarr.create_group(tmp_path / "home")  # even a zarr store, it holds the home directory
    with pytest.raises(UnsafeOverwriteError, match="contains the home directory"):
        omescale.write_pyramid(IMAGE, tmp_path / "home", overwrite=True)
    assert tree_bytes(home) == before


@pytest.mark.parametrize("root", ["/", "/proc"])
def test_filesystem_roots_are_refused_by_the_check(root):
    # Only the check runs here: a root is never handed to a writer in a test.
    with pytest.raises(UnsafeOverwriteError, match="filesystem root"):
        check_replaceable(LocalStore(root), root)


def test_input_its_parent_and_its_inside_are_refused(tmp_path):
    parent = _zarr_with_precious(tmp_path / "parent.zarr")
    source = parent / "in.zarr"
    zarr.create_array(source, data=IMAGE, chunks=(8, 8))
    before = tree_bytes(parent)
    with pytest.raises(OutputInsideInputError, match="is the input itself"):
        omescale.write_pyramid(source, source, overwrite=True)
    with pytest.raises(OutputInsideInputError, match="would delete the input"):
        omescale.write_pyramid(source, parent, overwrite=True)
    with pytest.raises(OutputInsideInputError, match="inside the input"):
        omescale.write_pyramid(source, source / "sub.zarr", overwrite=True)
    assert isinstance(OutputInsideInputError("x"), OutputExistsError)
    assert tree_bytes(parent) == before


def test_an_existing_ome_zarr_is_still_replaced(tmp_path):
    out = tmp_path / "out.ome.zarr"
    omescale.write_pyramid(IMAGE[:16], out, scale_factors=[2, 4])
    omescale.write_pyramid(IMAGE, out, overwrite=True, scale_factors=[2])
    assert is_complete(out)
    assert sorted(p.name for p in out.iterdir()) == ["0", "1", "zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(out / "0")[:], IMAGE)


def test_add_levels_and_labels_keep_a_users_directory(tmp_path):
    image = tmp_path / "img.zarr"
    omescale.write_pyramid(IMAGE, image, max_layer=0, chunks=(8, 8))
    _precious(image / "1")
    _precious(image / "labels" / "cells")
    before = tree_bytes(image)
    for overwrite in (False, True):
        error = UnsafeOverwriteError if overwrite else OutputExistsError
        with pytest.raises(error, match="not a zarr group or array"):
            omescale.add_levels(image, overwrite=overwrite)
        with pytest.raises(error, match="not a zarr group or array"):
            omescale.write_labels(IMAGE.astype(np.uint8), image, "cells", overwrite=overwrite)
        assert tree_bytes(image) == before


def test_scaler_overwrite_keeps_a_users_directory(tmp_path):
    some_dir = _precious(tmp_path / "some_dir")
    before = tree_bytes(some_dir)
    with pytest.raises(UnsafeOverwriteError, match="not a zarr store"):
        omescale.Scaler(overwrite=True).scale(IMAGE, some_dir)
    assert tree_bytes(some_dir) == before
    out = tmp_path / "scaled.zarr"
    omescale.Scaler().scale(IMAGE, out)
    omescale.Scaler(overwrite=True, max_layer=1).scale(IMAGE, out)  # a zarr store: replaced
    assert zarr.open_array(out / "0").shape == IMAGE.shape


def test_fsspec_and_memory_stores_are_cleared_only_within_a_zarr_store():
    def put(store, key, data):
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        sync(store.set(key, default_buffer_prototype().buffer.from_bytes(data)))

    memory = MemoryStore()
    put(memory, "precious.txt", b"keep")
    with pytest.raises(UnsafeOverwriteError, match="not a zarr store"):
        clear_store(memory)
    assert "precious.txt" in memory._store_dict
    fs = FsspecStore.from_url("memory://omescale-overwrite-test/data")
    put(fs, "precious.txt", b"keep")
    with pytest.raises(UnsafeOverwriteError, match="not a zarr store"):
        omescale.write_pyramid(IMAGE, fs, overwrite=True)
    memfs = fsspec.filesystem("memory")
    assert memfs.cat_file("/omescale-overwrite-test/data/precious.txt") == b"keep"
    with pytest.raises(UnsafeOverwriteError, match="root of its file system"):
        check_replaceable(FsspecStore.from_url("memory://"), "memory://")
    memfs.rm("/omescale-overwrite-test", recursive=True)


def _cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "omescale.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_overwrite_refuses_the_current_directory_and_replaces_an_image(tmp_path):
    # The other refused kinds run through the CLI in tests/test_bad_input.py's table.
    scratch = _precious(tmp_path / "scratch")
    np.save(tmp_path / "coins.npy", IMAGE)
    before = tree_bytes(scratch)
    done = _cli(["../coins.npy", ".", "--overwrite"], scratch)
    assert done.returncode == 2, done.stderr
    assert "current directory" in done.stderr and "Traceback" not in done.stderr
    assert tree_bytes(scratch) == before
    omescale.write_pyramid(IMAGE[:16], scratch / "coins.ome.zarr", scale_factors=[2, 4])
    done = _cli(["../coins.npy", "coins.ome.zarr", "--overwrite", "--levels", "2"], scratch)
    assert done.returncode == 0, done.stderr
    assert is_complete(scratch / "coins.ome.zarr")
    np.testing.assert_array_equal(zarr.open_array(scratch / "coins.ome.zarr" / "0")[:], IMAGE)
