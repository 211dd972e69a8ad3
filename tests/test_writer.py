"""write_pyramid and add_levels: round trips, one task per storage object, metadata last, safety."""


import time

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from _ngff_util import CountingStore, is_complete, read_levels, tree_bytes, validate_image
from dask.delayed import Delayed

import omescale
from omescale.errors import (
    InputNotFoundError,
    InvalidFactorsError,
    InvalidMethodError,
    InvalidOptionError,
    OutputExistsError,
    OutputInsideInputError,
    UnsafeOverwriteError,
)
from omescale.ngff import add_levels
from omescale.ngff.store import LOCK_KEY
from omescale.ngff.tasks import block_keys

RNG = np.random.default_rng(7)
IMAGE = RNG.integers(0, 4000, size=(3, 45, 53), dtype=np.uint16)


def _levels(image, **kwargs):
    return [np.asarray(lv) for lv in omescale.pyramid(image, **kwargs)]


@pytest.mark.parametrize("method", ["nearest", "local_mean", "resize", "gaussian", "mode"])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_round_trip_through_ome_zarr_reader(tmp_path, method, zarr_format):
    out = tmp_path / "img.zarr"
    image = da.from_array(IMAGE, chunks=(2, 16, 20))
    omescale.write_pyramid(image, out, method=method, zarr_format=zarr_format, chunks=(1, 16, 16))
    validate_image(out, "0.5" if zarr_format == 3 else "0.4")
    expected = _levels(image, method=method, chunks=(1, 16, 16))
    got = read_levels(out)
    assert len(got) == len(expected) > 2
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert not (out / LOCK_KEY).exists()


def test_shards_one_task_per_shard(tmp_path):
    out = tmp_path / "img.zarr"
    pending = omescale.write_pyramid(IMAGE, out, chunks=(1, 8, 8), shards=(1, 32, 32),
                                     scale_factors=[2, 4], compute=False)
    assert isinstance(pending, Delayed)
    group = zarr.open_group(str(out), mode="r")
    shards = [len(block_keys(group[str(k)])) for k in range(3)]
    assert len(dict(pending.__dask_graph__())) < 8 * sum(shards)  # O(storage objects)
    assert not is_complete(out) and "omescale" in group.attrs  # nothing final before compute
    assert pending.compute() == sum(shards)  # each write task returns 1 and writes one shard
    assert is_complete(out)
    for a, b in zip(read_levels(out), _levels(IMAGE, scale_factors=[2, 4]), strict=True):
        np.testing.assert_array_equal(a, b)
    files = [p for p in (out / "0" / "c").rglob("*") if p.is_file()]
    assert len(files) == shards[0]


def test_memory_url(tmp_path):
    url = "memory://writer/img.zarr"
    omescale.write_pyramid(IMAGE, url, scale_factors=[2])
    group = zarr.open_group(zarr.storage.FsspecStore.from_url(url), mode="r")
    assert group.attrs["ome"]["multiscales"][0]["datasets"][1]["path"] == "1"
    np.testing.assert_array_equal(group["1"][:], _levels(IMAGE, scale_factors=[2])[1])


def test_refuses_non_empty_target_and_overwrites_on_request(tmp_path):
    out = tmp_path / "img.zarr"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="not empty"):
        omescale.write_pyramid(IMAGE, out)
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    with pytest.raises(UnsafeOverwriteError, match="not a zarr store"):  # not ours to delete
        omescale.write_pyramid(IMAGE, out, overwrite=True, scale_factors=[2])
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    (out / "precious.txt").unlink()
    omescale.write_pyramid(IMAGE[:, :20], out, scale_factors=[2])
    omescale.write_pyramid(IMAGE, out, overwrite=True, scale_factors=[2])  # a zarr store: replaced
    assert is_complete(out) and zarr.open_array(out / "0").shape == IMAGE.shape
    with pytest.raises(InvalidOptionError):
        omescale.write_pyramid(IMAGE, out, overwrite=True, resume=True)


def test_output_inside_input_is_refused_and_input_untouched(tmp_path):
    src = tmp_path / "in.zarr"
    omescale.write_pyramid(IMAGE, src, scale_factors=[2])
    before = tree_bytes(src)
    with pytest.raises(OutputInsideInputError, match="inside the input"):
        omescale.write_pyramid(src, src / "copy")
    with pytest.raises(OutputInsideInputError, match="would delete the input"):
        omescale.write_pyramid(src / "0", tmp_path, overwrite=True)
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(src, out, method="max")
    assert tree_bytes(src) == before
    assert not (src / "copy").exists()


@pytest.mark.parametrize("kwargs, error", [
    ({"method": "bicubic"}, InvalidMethodError),
    ({"scale_factors": [0]}, InvalidFactorsError),
    ({"scale_factors": [2, 3]}, InvalidFactorsError),
    ({"scale_factors": [64]}, InvalidFactorsError),
    ({"zarr_format": 4}, InvalidOptionError),
    ({"zarr_format": 2, "shards": (1, 32, 32)}, InvalidOptionError),
    ({"chunks": (1, 16, 16), "shards": (1, 20, 20)}, InvalidOptionError),
    ({"units": {"x": "parsecs"}}, omescale.OmescaleError),
])
def test_bad_arguments_write_nothing(tmp_path, kwargs, error):
    out = tmp_path / "img.zarr"
    with pytest.raises(error):
        omescale.write_pyramid(IMAGE, out, **kwargs)
    assert not out.exists()


def test_missing_input_writes_nothing(tmp_path):
    with pytest.raises(InputNotFoundError):
        omescale.write_pyramid(tmp_path / "nope.zarr", tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()


def test_ome_zarr_input_carries_sizes_units_and_attributes(tmp_path):
    src = tmp_path / "in.zarr"
    omescale.write_pyramid(IMAGE, src, physical_sizes={"z": 2.0, "y": 0.5, "x": 0.5},
                           units={"z": "micrometer", "y": "micrometer", "x": "micrometer"},
                           scale_factors=[2])
    zarr.open_group(str(src), mode="r+").attrs.update({"lab": "x"})
    out = tmp_path / "out.zarr"
    omescale.write_pyramid(src, out, zarr_format=2, scale_factors=[2])
    model = validate_image(out, "0.4")
    ms = model.attributes.multiscales[0]
    assert ms.datasets[0].coordinateTransformations[0].scale == [2.0, 0.5, 0.5]
    assert ms.axes[0].unit == "micrometer"
    assert zarr.open_group(str(out), mode="r").attrs["lab"] == "x"


def test_processes_scheduler_gives_identical_bytes(tmp_path):
    kwargs = {"scale_factors": [2, 4], "chunks": (1, 16, 16), "method": "resize"}
    omescale.write_pyramid(IMAGE, tmp_path / "t.zarr", **kwargs)
    with dask.config.set(scheduler="processes", num_workers=2):
        omescale.write_pyramid(IMAGE, tmp_path / "p.zarr", **kwargs)
    assert tree_bytes(tmp_path / "t.zarr") == tree_bytes(tmp_path / "p.zarr")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_add_levels_in_place_keeps_level0(tmp_path, zarr_format):
    out = tmp_path / "img.zarr"
    omescale.write_pyramid(IMAGE, out, max_layer=0, chunks=(1, 16, 16), zarr_format=zarr_format,
                           physical_sizes={"y": 0.5, "x": 0.5})
    level0 = {k: v for k, v in tree_bytes(out).items() if k.startswith("0")}
    add_levels(out, method="local_mean", scale_factors=[2, 4])
    assert {k: v for k, v in tree_bytes(out).items() if k.startswith("0")} == level0
    model = validate_image(out, "0.5" if zarr_format == 3 else "0.4")
    ds = model.attributes.ome.multiscales[0].datasets if zarr_format == 3 else \
        model.attributes.multiscales[0].datasets
    assert [d.path for d in ds] == ["0", "1", "2"]
    assert ds[1].coordinateTransformations[0].scale == [1.0, 1.0, 1.0]
    expected = _levels(IMAGE, method="local_mean", scale_factors=[2, 4])
    for a, b in zip(read_levels(out), expected, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(OutputExistsError, match="already has levels"):
        add_levels(out)
    add_levels(out, overwrite=True, scale_factors=[2])
    assert [p.name for p in sorted(out.iterdir()) if p.is_dir()] == ["0", "1"]


def test_add_levels_refuses_non_image(tmp_path):
    zarr.create_array(str(tmp_path / "a.zarr"), shape=(4, 4), dtype="u1")
    with pytest.raises(InputNotFoundError):
        add_levels(tmp_path / "a.zarr")
    with pytest.raises(InputNotFoundError):
        add_levels(tmp_path / "missing.zarr")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_virtual_2tib_pyramid_plans_in_seconds_with_tasks_per_shard(tmp_path):
    shards = (64, 4096, 4096)
    image = da.zeros((1024, 32768, 32768), dtype=np.uint16, chunks=shards)
    assert image.nbytes == 2 * 2**40
    start = time.perf_counter()
    pending = omescale.write_pyramid(image, tmp_path / "big.zarr", method="local_mean",
                                     chunks=shards, shards=shards, compute=False)
    tasks = len(pending.__dask_graph__())
    elapsed = time.perf_counter() - start
    group = zarr.open_group(str(tmp_path / "big.zarr"), mode="r")
    objects = sum(len(block_keys(group[k])) for k in group.array_keys())
    assert elapsed < 20, elapsed  # measured ~0.6 s on 2 shared cores
    assert objects <= tasks <= 8 * objects, (tasks, objects)  # measured 4297 for 1360 shards
    assert not is_complete(tmp_path / "big.zarr")


@pytest.mark.parametrize("method", ["local_mean", "resize", "gaussian"])
def test_base_is_read_once_per_pyramid(tmp_path, method):
    src = tmp_path / "in.zarr"
    z = zarr.create_array(str(src), shape=(256, 256), dtype=np.uint16, chunks=(64, 64))
    z[:] = RNG.integers(0, 60000, size=(256, 256), dtype=np.uint16)
    CountingStore.reads = {}
    base = zarr.open_array(CountingStore(str(src), read_only=True), mode="r")
    omescale.write_pyramid(base, tmp_path / "out.zarr", method=method, scale_factors=[2, 4, 8])
    # The job record's fingerprint reads the first, middle and last chunk; the write takes
    # them from there instead of reading them again.
    assert len(CountingStore.reads) == 16
    assert set(CountingStore.reads.values()) == {1}
