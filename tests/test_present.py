"""Resume per unit with listings (issue 16 item 3): a streamed resume lists each key directory
a unit's objects lie in once, instead of one store call per object, on a local store and on
S3 (moto server); ``.`` separated keys fall back to per-object checks where a listing would
return far more names than the unit has objects; the resumed pyramid equals a clean write."""

import dask
import numpy as np
import pytest
import zarr
from _ngff_util import CallCounter, is_complete, tree_bytes
from zarr.storage import FsspecStore, LocalStore

import omescale
from omescale.ngff import present
from omescale.ngff.chunk_check import object_key

IMAGE = np.random.default_rng(16).integers(0, 60000, size=(3, 150, 167), dtype=np.uint16)
SMALL_UNITS = {"omescale.unit-bytes": 20_000}  # units of 2x64x64: 21 objects, 7 rows
KW = {"chunks": (2, 16, 16), "scale_factors": [2, 4, 8], "method": "local_mean"}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("present") / "in.zarr"
    zarr.create_array(str(path), data=IMAGE, chunks=(2, 32, 32))
    return path


def _interrupted(source, store, kw, rng):
    """A complete streamed write of ``source`` to ``store`` with a fifth of every level's
    objects deleted and the marker put back: what a killed write leaves. The deleted
    ``(level, index)`` pairs."""
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, store, stream=True, compute=False, **kw)
    marker = dict(zarr.open_group(store, mode="r").attrs)
    job.run()
    work, deleted = job.stream.work, set()
    objects = [o for u in job.units for o in work.objects(u)]
    for i in rng.choice(len(objects), len(objects) // 5, replace=False):
        k, index = objects[i]
        zarr.core.sync.sync(store.delete(object_key(work.arrays[k], index)))
        deleted.add((k, index))
    zarr.open_group(store, mode="r+").attrs.put(marker)
    return deleted


def _directories(work, objects):
    return {object_key(work.arrays[k], index).rpartition("/")[0] for k, index in objects}


def _resume_counting(source, counter, kw, deleted):
    """Resume through ``counter``: every unit's missing objects are found with one listing
    of each directory it touches and no other store call; then the job runs."""
    counter.reset()
    with dask.config.set(SMALL_UNITS):
        job = omescale.write_pyramid(source, counter, stream=True, resume=True, compute=False,
                                     **kw)
    opening = dict(counter.calls)
    work, listings, objects = job.stream.work, 0, 0
    counter.reset()
    for unit in job.units:
        mine = work.objects(unit)
        before = counter.calls["list_dir"]
        assert work.missing(unit) == deleted.intersection(mine)
        assert counter.calls["list_dir"] - before == len(_directories(work, mine))
        listings, objects = listings + len(_directories(work, mine)), objects + len(mine)
    assert counter.calls["exists"] == counter.calls["get"] == 0
    assert counter.calls["list_prefix"] == counter.calls["list"] == 0  # no store-wide listing
    assert listings == counter.calls["list_dir"] and listings < objects
    with dask.config.set(SMALL_UNITS):
        assert job.run() == len(deleted)
    return opening


@pytest.mark.parametrize("shards", [None, (2, 32, 32)])
def test_local_resume_lists_each_directory_once(tmp_path, source, shards):
    out, clean = tmp_path / "out.zarr", tmp_path / "clean.zarr"
    kw = {**KW, "shards": shards}
    deleted = _interrupted(source, LocalStore(str(out)), kw, np.random.default_rng(1))
    opening = _resume_counting(source, CallCounter(LocalStore(str(out))), kw, deleted)
    # Up front, only LocalStore's sweep of its temporary ".partial" files: one walk per level.
    assert opening.get("list_prefix", 0) == 4
    omescale.write_pyramid(source, clean, stream=False, **kw)
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_s3_resume_lists_each_directory_once(tmp_path, source, s3_bucket):
    clean = tmp_path / "clean.zarr"
    store = FsspecStore.from_url(f"{s3_bucket.url}/out.zarr", storage_options=s3_bucket.options)
    deleted = _interrupted(source, store, KW, np.random.default_rng(2))
    opening = _resume_counting(source, CallCounter(store), KW, deleted)
    # Nothing lists a level, let alone the store, up front: S3 writes leave no temporary files.
    assert opening.get("list_prefix", 0) == opening.get("list", 0) == 0
    omescale.write_pyramid(source, clean, stream=False, **KW)
    expected = tree_bytes(clean)
    keys = s3_bucket.keys("out.zarr")
    assert sorted(k.removeprefix("out.zarr/") for k in keys) == sorted(expected)
    got = s3_bucket.fs.cat([f"{s3_bucket.url}/{k}" for k in keys])
    assert {k.rpartition("out.zarr/")[2]: v for k, v in got.items()} == expected


def test_zarr2_resume_lists_each_directory_once(tmp_path, source):
    """omescale's NGFF 0.4 arrays use ``/`` keys (``i/j/k``): rows are listed as in zarr 3."""
    out, clean = tmp_path / "out.zarr", tmp_path / "clean.zarr"
    kw = {**KW, "zarr_format": 2}
    deleted = _interrupted(source, LocalStore(str(out)), kw, np.random.default_rng(3))
    _resume_counting(source, CallCounter(LocalStore(str(out))), kw, deleted)
    omescale.write_pyramid(source, clean, stream=False, **kw)
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_dot_keys_are_listed_when_small_and_asked_per_object_when_large(tmp_path, monkeypatch):
    """A zarr 2 array with ``.`` keys (as other writers make them) keeps every object in one
    directory: listed when one page covers it, else one ``exists`` per object asked for."""
    counter = CallCounter(LocalStore(str(tmp_path / "dots.zarr")))
    array = zarr.create_array(counter, shape=(30, 40), chunks=(3, 4), dtype="uint8",
                              zarr_format=2, fill_value=0,
                              chunk_key_encoding={"name": "v2", "separator": "."})
    array[:] = 1
    assert object_key(array, (2, 3)) == "2.3" and present.directory_size(array) == 100
    gone = {(1, 1), (2, 3), (9, 9)}
    for index in gone:
        zarr.core.sync.sync(counter.delete(object_key(array, index)))
    asked = [(i, j) for i in range(3) for j in range(4)] + [(9, 9)]
    counter.reset()
    assert present.objects_present(array, asked) == set(asked) - gone
    assert dict(counter.calls) == {"list_dir": 1}  # 100 names: one page
    monkeypatch.setattr(present, "LIST_PAGE", 10)  # 10 pages for 13 objects: still listed
    counter.reset()
    assert present.objects_present(array, asked) == set(asked) - gone
    assert dict(counter.calls) == {"list_dir": 1}
    counter.reset()
    assert present.objects_present(array, asked[:5]) == set(asked[:5]) - gone
    assert dict(counter.calls) == {"exists": 5}  # 10 pages for 5 objects: asked one by one
