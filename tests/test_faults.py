"""Faults with real processes: SIGKILL of the writer, two writers, corrupt input chunks."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes, validate_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import omescale
from omescale.errors import CorruptInputError, OutputExistsError, OutputLockedError
from omescale.ngff.store import LOCK_KEY

pytestmark = pytest.mark.slow

RNG = np.random.default_rng(5)
IMAGE = RNG.integers(1, 60000, size=(96, 128), dtype=np.uint16)  # no all-zero chunk
KW = {"chunks": (16, 16), "scale_factors": [2, 4], "method": "local_mean"}
METADATA = {"zarr.json", ".zarray", ".zattrs", ".zgroup"}

# The writer under test, slowed by a per-block sleep on its input; it flags the metadata step
# (the last task) and then waits there so the test can kill it inside that step.
WRITER = """
import sys, time, dask, dask.array as da, omescale
from dask.callbacks import Callback
src, out, delay, flag = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
def slow(block):
    time.sleep(delay)
    return block
class Flag(Callback):
    def _pretask(self, key, dsk, state):
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith("omescale-metadata-"):
            open(flag, "w").close()
            time.sleep(float(sys.argv[5]))
x = da.from_zarr(src).map_blocks(slow, dtype="uint16")
with dask.config.set(scheduler="synchronous"), Flag():
    omescale.write_pyramid(x, out, chunks=(16, 16), scale_factors=[2, 4], method="local_mean")
"""


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "in.zarr"
    z = zarr.create_array(str(path), shape=IMAGE.shape, dtype=IMAGE.dtype, chunks=(16, 16))
    z[:] = IMAGE
    return path


def _chunk_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file() and p.name not in METADATA
            and LOCK_KEY not in p.name and not p.name.endswith(".partial")]


def _start(source, out, tmp_path, delay=0.02, hold=30.0):
    flag = tmp_path / "metadata-step"
    cmd = [sys.executable, "-c", WRITER, str(source), str(out), str(delay), str(flag), str(hold)]
    return subprocess.Popen(cmd, cwd=tmp_path), flag


def _wait(condition, proc, timeout=60.0):
    end = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "writer exited before the kill point"
        assert time.monotonic() < end, "kill point never reached"
        time.sleep(0.005)


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("point", ["first-chunk", "half", "metadata-step"])
def test_sigkill_then_resume_equals_clean_write(tmp_path, source, point):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(source, clean, **KW)
    total = len(_chunk_files(clean))  # the write plan: one object per chunk, all non-empty
    proc, flag = _start(source, out, tmp_path)
    if point == "metadata-step":
        _wait(flag.exists, proc)
    else:
        k = 1 if point == "first-chunk" else total // 2
        _wait(lambda: out.exists() and len(_chunk_files(out)) >= k, proc)
    _kill(proc)
    assert (out / LOCK_KEY).exists()  # left by the dead writer
    assert not is_complete(out)
    present = len(_chunk_files(out))
    assert present < total or point == "metadata-step"
    written = omescale.write_pyramid(source, out, resume=True, compute=False, **KW).compute()
    assert written == total - present  # only the missing objects were recomputed
    assert tree_bytes(out) == tree_bytes(clean)
    assert not (out / LOCK_KEY).exists()


def test_second_writer_is_refused_while_the_first_runs(tmp_path, source):
    out = tmp_path / "out.zarr"
    proc, _ = _start(source, out, tmp_path, delay=0.05, hold=0)
    _wait(lambda: (out / LOCK_KEY).exists(), proc)
    try:
        with pytest.raises(OutputExistsError):  # the plain refusal: the target is not empty
            omescale.write_pyramid(source, out, **KW)
        for flag in ("resume", "overwrite"):
            with pytest.raises(OutputLockedError, match=f"pid {proc.pid}"):
                omescale.write_pyramid(source, out, **KW, **{flag: True})
    finally:
        assert proc.wait(timeout=120) == 0
    clean = tmp_path / "clean.zarr"
    omescale.write_pyramid(source, clean, **KW)
    assert tree_bytes(out) == tree_bytes(clean)  # the refused writers destroyed nothing


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 3], lambda b: os.urandom(len(b))])
def test_corrupt_input_chunk_is_named_and_target_stays_resumable(tmp_path, source, damage):
    chunk = source / "c" / "3" / "5"
    good = chunk.read_bytes()
    chunk.write_bytes(damage(good))
    out = tmp_path / "out.zarr"
    with pytest.raises(CorruptInputError) as info:
        omescale.write_pyramid(source, out, **KW)
    assert "in.zarr" in str(info.value) and "(3, 5)" in str(info.value)
    assert not is_complete(out) and not (out / LOCK_KEY).exists()
    chunk.write_bytes(good)  # the input is repaired; finish the write
    omescale.write_pyramid(source, out, resume=True, **KW)
    clean = tmp_path / "clean.zarr"
    omescale.write_pyramid(source, clean, **KW)
    assert tree_bytes(out) == tree_bytes(clean)


FUZZ_IMAGE = RNG.integers(0, 255, size=(5, 13, 17), dtype=np.uint8)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["nearest", "local_mean", "resize", "mode", "max", "zoom", "bogus"]),
    factors=st.lists(st.sampled_from([1, 2, 3, 4, 0, -2, 2.5, 32, "2"]), max_size=3),
    axes=st.sampled_from([None, "zyx", "cyx", "yx", "xyz", "zzx", "qyx"]),
    chunks=st.sampled_from([None, (1, 8, 8), (2, 5, 7), (0, 4, 4), (4, 4)]),
    zarr_format=st.sampled_from([2, 3, 4]),
)
def test_fuzz_valid_arguments_write_valid_ome_zarr_and_invalid_ones_raise(
    tmp_path_factory, method, factors, axes, chunks, zarr_format
):
    out = tmp_path_factory.mktemp("fuzz") / "img.zarr"
    scale_factors = list(np.cumprod(factors)) if all(isinstance(f, int) for f in factors) \
        else factors
    try:
        omescale.write_pyramid(FUZZ_IMAGE, out, method=method, scale_factors=scale_factors or None,
                               axes=axes, chunks=chunks, zarr_format=zarr_format)
    except omescale.OmescaleError:
        assert not out.exists()
        return
    validate_image(out, "0.5" if zarr_format == 3 else "0.4")
