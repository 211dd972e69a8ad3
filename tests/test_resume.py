"""resume=True: only missing storage objects are recomputed; the result equals a clean write."""

import json

import dask
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes
from dask.callbacks import Callback

import omescale
from omescale.errors import OutputExistsError, ResumeMismatchError
from omescale.ngff import add_levels
from omescale.ngff.store import LOCK_KEY

RNG = np.random.default_rng(11)
IMAGE = RNG.integers(1, 60000, size=(70, 90), dtype=np.uint16)  # no all-zero chunk
METADATA = {"zarr.json", ".zarray", ".zattrs", ".zgroup"}
KW = {"chunks": (16, 16), "scale_factors": [2, 4], "method": "resize"}


def _write(image, out, **kwargs):
    """Write as ``write_pyramid`` does, keeping the group attributes it had while writing (the
    "incomplete" marker and its job record) in ``MARKERS``."""
    pending = omescale.write_pyramid(image, out, compute=False, **kwargs)
    MARKERS[str(out)] = dict(zarr.open_group(str(out), mode="r").attrs)
    pending.compute()


MARKERS: dict[str, dict] = {}


def _interrupt(out, drop):
    """Make ``out`` look like a write killed before ``drop`` of its chunk files were written."""
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in METADATA)
    for p in files[:drop]:
        p.unlink()
    zarr.open_group(str(out), mode="r+").attrs.put(MARKERS[str(out)])
    return len(files)


@pytest.mark.parametrize("zarr_format, shards", [(3, None), (3, (32, 32)), (2, None)])
def test_resume_writes_only_missing_objects(tmp_path, zarr_format, shards):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, zarr_format=zarr_format, shards=shards, **KW)
    _write(IMAGE, out, zarr_format=zarr_format, shards=shards, **KW)
    total = _interrupt(out, 5)
    assert not is_complete(out)
    pending = omescale.write_pyramid(IMAGE, out, resume=True, compute=False,
                                     zarr_format=zarr_format, shards=shards, **KW)
    assert pending.compute() == 5 < total
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_resume_computes_only_what_the_missing_objects_need(tmp_path):
    out = tmp_path / "out.zarr"
    _write(IMAGE, out, **KW)
    level1 = sorted(p for p in (out / "1").rglob("*") if p.is_file() and p.name not in METADATA)
    level1[-1].unlink()  # the last chunk of level 1: everything before it is on disk
    zarr.open_group(str(out), mode="r+").attrs.put(MARKERS[str(out)])
    pending = omescale.write_pyramid(IMAGE, out, resume=True, compute=False, **KW)
    executed: list = []
    with Callback(pretask=lambda key, dsk, state: executed.append(key)):
        assert pending.compute() == 1
    kernels = [k for k in executed if isinstance(k, tuple) and str(k[0]).startswith("resize-1")]
    assert len(kernels) <= 12, kernels  # that block's own task and halo copies


def test_resume_ignores_and_removes_partial_files(tmp_path):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, **KW)
    _write(IMAGE, out, **KW)
    _interrupt(out, 0)
    chunk = out / "1" / "c" / "0" / "1"
    half = chunk.read_bytes()[:7]
    chunk.unlink()
    # what LocalStore leaves when killed mid-write: a temporary file next to the chunk
    (chunk.parent / "1.deadbeef.partial").write_bytes(half)
    assert omescale.write_pyramid(IMAGE, out, resume=True, compute=False, **KW).compute() == 1
    assert not list(out.rglob("*.partial"))
    assert tree_bytes(out) == tree_bytes(clean)


def test_resume_of_complete_pyramid_writes_nothing(tmp_path):
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, out, **KW)
    before = tree_bytes(out)
    assert omescale.write_pyramid(IMAGE, out, resume=True, compute=False, **KW).compute() == 0
    assert tree_bytes(out) == before


def test_resume_on_empty_target_is_a_fresh_write(tmp_path):
    omescale.write_pyramid(IMAGE, tmp_path / "new.zarr", resume=True, **KW)
    assert is_complete(tmp_path / "new.zarr")


def test_resume_refuses_a_different_plan(tmp_path):
    out = tmp_path / "out.zarr"
    _write(IMAGE, out, **KW)
    _interrupt(out, 3)
    with pytest.raises(OutputExistsError, match="cannot resume"):
        omescale.write_pyramid(IMAGE, out, resume=True, **{**KW, "chunks": (32, 32)})
    with pytest.raises(OutputExistsError, match="zarr format"):
        omescale.write_pyramid(IMAGE, out, resume=True, zarr_format=2, **KW)


def test_resume_refuses_foreign_groups(tmp_path):
    out = tmp_path / "foreign.zarr"
    zarr.create_group(str(out), attributes={"something": "else"})
    with pytest.raises(OutputExistsError, match="not a pyramid omescale started"):
        omescale.write_pyramid(IMAGE, out, resume=True, **KW)
    assert json.loads((out / "zarr.json").read_text())["attributes"] == {"something": "else"}


def test_resume_add_levels(tmp_path):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    for path in (clean, out):
        omescale.write_pyramid(IMAGE, path, max_layer=0, chunks=(16, 16))
    add_levels(clean, scale_factors=[2, 4])
    pending = add_levels(out, scale_factors=[2, 4], compute=False)
    # the state add_levels leaves while writing: level 0 listed alone, plus the marker
    writing = dict(zarr.open_group(str(out)).attrs)
    assert "job" in writing["omescale"]
    pending.compute()
    level0 = (out / "0" / "c" / "0" / "0").read_bytes()
    for p in (out / "2" / "c").rglob("*"):
        if p.is_file():
            p.unlink()
    zarr.open_group(str(out), mode="r+").attrs.put(writing)
    before = tree_bytes(out)
    with pytest.raises(ResumeMismatchError, match="method: resize was started, nearest asked"):
        add_levels(out, scale_factors=[2, 4], method="nearest", resume=True)
    assert tree_bytes(out) == before
    add_levels(out, scale_factors=[2, 4], resume=True)
    assert (out / "0" / "c" / "0" / "0").read_bytes() == level0
    assert tree_bytes(out) == tree_bytes(clean)


# --- resume finishes the same job or refuses (issue 14 item 2) ------------------------------


class _Killed(Exception):
    pass


def _killed_after(tasks):
    """A dask callback that stops the computation after ``tasks`` tasks ran (a real
    interruption of the write: what is on disk is what those tasks wrote). Use it with the
    synchronous scheduler: a thread pool's running tasks would go on writing after it."""
    seen = []

    def pretask(key, dsk, state):
        seen.append(key)
        if len(seen) > tasks:
            raise _Killed(f"stopped after {tasks} tasks")

    return Callback(pretask=pretask)


def _everything(path, skip=()):
    """Every file under ``path`` (locks and temporary files included, but ``skip``) with its
    bytes."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name not in skip}


def _interrupted_write(out, image=IMAGE, **kwargs):
    with dask.config.set(scheduler="synchronous"), _killed_after(20), pytest.raises(_Killed):
        omescale.write_pyramid(image, out, **{**KW, **kwargs})
    assert not is_complete(out)


@pytest.mark.parametrize("change, words", [
    ({"method": "nearest"}, "method: resize was started, nearest asked"),
    ({"scale_factors": [2]}, "levels count: 3 was started, 2 asked"),
    ({"codec": "zstd"}, "codec: blosc-lz4 was started, zstd asked"),
    ({"image": IMAGE[::-1].copy()}, "input fingerprint"),
    ({"image": IMAGE.astype(np.int32)}, "input dtype"),
])
def test_resume_of_a_different_job_is_refused_and_changes_nothing(tmp_path, change, words):
    out = tmp_path / "out.zarr"
    _interrupted_write(out)
    before = _everything(out)
    kwargs = {**KW, **change}
    image = kwargs.pop("image", IMAGE)
    with pytest.raises(ResumeMismatchError, match=words) as info:
        omescale.write_pyramid(image, out, resume=True, **kwargs)
    assert "cannot resume" in str(info.value) and str(out) in str(info.value)
    assert _everything(out) == before


def test_fingerprint_of_omescales_own_read_runs_no_dask_task(tmp_path):
    # Computing a slice of a dask array costs a pass over all its keys (a 128 TiB input of
    # 4 Mi blocks: 15 s and 500 MiB before a write starts); omescale's own reads are sampled
    # straight from their source, with the values dask would give.
    from omescale.inputs import open_input
    from omescale.ngff.job_record import fingerprint

    path = tmp_path / "in.zarr"
    zarr.create_array(str(path), shape=(5, 70, 90), chunks=(2, 16, 32), dtype="uint16")[:] = (
        RNG.integers(0, 60000, size=(5, 70, 90), dtype=np.uint16))
    data = open_input(str(path)).data
    tasks = []
    with Callback(pretask=lambda key, dsk, state: tasks.append(key)):
        ours = fingerprint(data)
    assert tasks == []
    copy = dask.array.from_array(zarr.open_array(str(path), mode="r")[:], chunks=data.chunks)
    assert ours == fingerprint(copy)


def test_resume_of_the_same_job_equals_a_clean_write(tmp_path):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, **KW)
    _interrupted_write(out)
    omescale.write_pyramid(IMAGE, out, resume=True, **KW)
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_resume_of_a_complete_pyramid_checks_its_provenance(tmp_path):
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, out, **KW)
    before = _everything(out)
    with pytest.raises(ResumeMismatchError, match="method: resize was started, nearest asked"):
        omescale.write_pyramid(IMAGE, out, resume=True, **{**KW, "method": "nearest"})
    with pytest.raises(ResumeMismatchError, match="name: nothing was started, b asked"):
        omescale.write_pyramid(IMAGE, out, resume=True, name="b", **KW)  # e.g. another seed
    assert _everything(out) == before


def test_resume_labels_same_job_or_refuse(tmp_path):
    image, clean = tmp_path / "img.zarr", tmp_path / "clean.zarr"
    labels = (IMAGE // 7000).astype(np.uint8)
    for path in (image, clean):
        omescale.write_pyramid(IMAGE, path, **KW)
    omescale.write_labels(labels, clean, "cells")
    with dask.config.set(scheduler="synchronous"), _killed_after(10), pytest.raises(_Killed):
        omescale.write_labels(labels, image, "cells")
    before = _everything(image)
    with pytest.raises(ResumeMismatchError, match="method: nearest was started, mode asked"):
        omescale.write_labels(labels, image, "cells", method="mode", resume=True)
    with pytest.raises(ResumeMismatchError, match="input fingerprint"):
        omescale.write_labels(labels[::-1].copy(), image, "cells", resume=True)
    assert _everything(image) == before
    omescale.write_labels(labels, image, "cells", resume=True)
    assert tree_bytes(image) == tree_bytes(clean)


def test_cli_example_resume_checks_the_seed(tmp_path, monkeypatch, capsys):
    from omescale.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["--shape", "4,96,80", "--chunks", "2,32,32", "--method", "gaussian"]
    assert main(["example", "clean.zarr", *args, "--seed", "3"]) == 0
    with _killed_after(15):
        assert main(["example", "x.zarr", *args, "--seed", "3",
                     "--scheduler", "synchronous"]) == 1
    assert not is_complete(tmp_path / "x.zarr")
    # The killed run's lock (its pid is this process) is stale: the next run removes it.
    before = _everything(tmp_path / "x.zarr", skip=(LOCK_KEY,))
    assert main(["example", "x.zarr", *args, "--seed", "4", "--resume"]) == 2
    assert "seed 3) was started" in capsys.readouterr().err
    assert main(["example", "x.zarr", *args[:-1], "nearest", "--seed", "3", "--resume"]) == 2
    assert _everything(tmp_path / "x.zarr") == before
    assert main(["example", "x.zarr", *args, "--seed", "3", "--resume"]) == 0
    assert tree_bytes(tmp_path / "x.zarr") == tree_bytes(tmp_path / "clean.zarr")


def test_fingerprint_samples_are_read_once_and_stay_with_their_write(tmp_path):
    # The write takes the fingerprint's sample chunks from its own copy of the source instead
    # of reading them again; the caller's array keeps nothing, so another computation of it
    # reads the store.
    from _ngff_util import CountingStore

    from omescale.inputs import open_input
    from omescale.inputs.source import checked_source

    path = tmp_path / "in.zarr"
    zarr.create_array(str(path), shape=IMAGE.shape, chunks=(16, 16), dtype=IMAGE.dtype)[:] = IMAGE
    data = open_input(zarr.open_array(CountingStore(str(path), read_only=True), mode="r")).data
    CountingStore.reads = {}
    job = omescale.write_pyramid(data, tmp_path / "out.zarr", compute=False, **KW)
    assert sum(CountingStore.reads.values()) == 3  # first, middle and last chunk
    assert not checked_source(data)._kept
    job.run()
    assert set(CountingStore.reads.values()) == {1} and len(CountingStore.reads) == 30
    np.testing.assert_array_equal(data.compute(), IMAGE)
    assert set(CountingStore.reads.values()) == {2}
    omescale.write_pyramid(IMAGE, tmp_path / "clean.zarr", **KW)
    for level in ("0", "1", "2"):
        np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr" / level))[:],
                                      zarr.open_array(str(tmp_path / "clean.zarr" / level))[:])
