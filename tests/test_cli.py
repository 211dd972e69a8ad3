"""The installed ``omescale`` command, run as a user would: as a subprocess."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile
import zarr

import omescale
from omescale.cli import main

EXE = shutil.which("omescale")
SMALL = ["--shape", "8x96x80", "--chunks", "4,32,32"]


def run(*args, cwd=None, timeout=120):
    if EXE is None:
        pytest.fail("the omescale entry point is not installed: python3 -m pip install -e .")
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def assert_usage_error(result, *words):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("omescale: error:")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr


def levels_of(path):
    group = zarr.open_group(path, mode="r")
    attrs = dict(group.attrs)
    ms = attrs.get("ome", attrs)["multiscales"][0]
    return [group[d["path"]] for d in ms["datasets"]], ms


@pytest.fixture(scope="module")
def zarr_input(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4000, (2, 70, 90), dtype=np.uint16)
    path = tmp_path_factory.mktemp("in") / "in.zarr"
    zarr.create_array(path, data=x, chunks=(1, 32, 32))
    return path, x


def test_help():
    result = run("--help")
    assert result.returncode == 0
    for word in ("INPUT OUTPUT", "example OUTPUT", "info PATH", "--method", "--dry-run",
                 "--scheduler", "--in-place", "--labels"):
        assert word in result.stdout


def test_subcommand_help_and_version_in_process(capsys):
    for args in (["example", "--help"], ["info", "--help"], ["--version"]):
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 0
    assert f"omescale {omescale.__version__}" in capsys.readouterr().out


def test_example_writes_a_valid_pyramid_and_info_shows_it(tmp_path):
    from ome_zarr_models import open_ome_zarr

    out = tmp_path / "sample.ome.zarr"
    result = run("example", out, *SMALL)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not a terminal: no progress bar
    assert result.stdout.startswith(f"wrote {out}: 3 levels (8x96x80, 8x48x40, 4x24x20)")
    levels, ms = levels_of(out)
    assert [lv.shape for lv in levels] == [(8, 96, 80), (8, 48, 40), (4, 24, 20)]
    assert ms["axes"][0] == {"name": "z", "type": "space", "unit": "micrometer"}
    open_ome_zarr(zarr.open_group(out, mode="r"))
    info = run("info", out)
    assert info.returncode == 0, info.stderr
    assert "NGFF 0.5" in info.stdout and "8x48x40" in info.stdout and "resize" in info.stdout


def test_zarr_input(tmp_path, zarr_input):
    path, x = zarr_input
    out = tmp_path / "out.zarr"
    result = run(path, out, "--method", "local_mean", "--levels", "3")
    assert result.returncode == 0, result.stderr
    levels, ms = levels_of(out)
    expected = omescale.pyramid(x, [2, 4], method="local_mean")
    assert ms["type"] == "local_mean"
    for level, ref in zip(levels, expected, strict=True):
        np.testing.assert_array_equal(level[:], ref)


def test_tiff_input_ngff_04(tmp_path):
    x = (np.arange(60 * 50, dtype=np.uint16).reshape(60, 50) % 997).astype(np.uint16)
    tif = tmp_path / "plane.tif"
    tifffile.imwrite(tif, x)
    out = tmp_path / "out.zarr"
    result = run(tif, out, "--ngff", "0.4", "--scale-factors", "2", "4",
                 "--physical-size", "y=0.25,x=0.25", "--unit", "micrometer")
    assert result.returncode == 0, result.stderr
    levels, ms = levels_of(out)
    assert zarr.open_group(out, mode="r").metadata.zarr_format == 2
    assert ms["version"] == "0.4"
    assert [lv.shape for lv in levels] == [(60, 50), (30, 25), (15, 13)]
    np.testing.assert_array_equal(levels[0][:], x)
    np.testing.assert_array_equal(levels[2][:], omescale.pyramid(x, [2, 4])[2])
    assert ms["datasets"][1]["coordinateTransformations"][0]["scale"] == [0.5, 0.5]


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, zarr_input):
    path, _ = zarr_input
    out = tmp_path / "out.zarr"
    result = run(path, out, "--dry-run", "--levels", "3")
    assert result.returncode == 0, result.stderr
    assert not out.exists()
    text = result.stdout
    for word in ("level", "shape", "chunks", "bytes", "tasks", "2x70x90", "2x35x45",
                 "2x18x23", "nothing written"):
        assert word in text, text
    # The task figure is the writer's own graph: the same count as a real lazy write.
    tasks = int(re.search(r"(\d+) tasks \(read, compute, write\) \+ 1 metadata", text)[1])
    pending = omescale.write_pyramid(path, tmp_path / "lazy.zarr", scale_factors=[2, 4],
                                     compute=False)
    real = [k for k in dict(pending.__dask_graph__()) if not str(k).startswith("finalize-")]
    assert tasks + 1 == len(real)  # + the metadata task; dask's own "finalize" aliases aside
    example = run("example", out, "--dry-run")
    assert example.returncode == 0 and "64x1024x1024" in example.stdout
    assert not out.exists()


def test_dry_run_for_a_cluster_says_when_the_write_would_stream(tmp_path, capsys):
    # A small image is one graph on dask's local schedulers; on a distributed scheduler it
    # streams when its first stage has a unit per worker thread. The dry run does not
    # connect (nothing listens on this address), so it says when, from the plan.
    x = np.zeros((4, 1024, 1024), dtype=np.uint16)
    npy = tmp_path / "v.npy"
    np.save(npy, x)
    out = str(tmp_path / "dry.zarr")
    assert main([str(npy), out, "--dry-run", "--chunks", "4,256,256"]) == 0
    local = capsys.readouterr().out
    assert "one graph of" in local and "distributed" not in local
    assert main([str(npy), out, "--dry-run", "--chunks", "4,256,256",
                 "--scheduler", "tcp://127.0.0.1:9"]) == 0
    remote = capsys.readouterr().out
    note = re.search(r"streamed instead, as (\d+) units, when the cluster has at most (\d+) "
                     r"worker threads", remote)
    assert note is not None, remote
    plan = omescale.write_pyramid(npy, tmp_path / "lazy.zarr", chunks=(4, 256, 256),
                                  stream=True, compute=False).plan
    assert (int(note[1]), int(note[2])) == (plan.units, plan.stages[0].units)
    assert main([str(npy), out, "--dry-run", "--stream", "no",
                 "--scheduler", "tcp://127.0.0.1:9"]) == 0
    assert "distributed" not in capsys.readouterr().out  # asked for one graph: no note
    assert not (tmp_path / "dry.zarr").exists()


def test_levels_are_honoured_and_the_default_reaches_256_px(tmp_path, capsys):
    x = np.random.default_rng(1).integers(0, 4000, (512, 512), dtype=np.uint16)
    npy = tmp_path / "plane.npy"
    np.save(npy, x)
    # 512x512 fits one default 512x512 chunk, yet 4 levels asked are 4 levels written.
    result = run(npy, tmp_path / "four.zarr", "--levels", "4")
    assert result.returncode == 0, result.stderr
    levels, _ = levels_of(tmp_path / "four.zarr")
    assert [lv.shape for lv in levels] == [(512, 512), (256, 256), (128, 128), (64, 64)]
    for level, ref in zip(levels, omescale.pyramid(x, [2, 4, 8]), strict=True):
        np.testing.assert_array_equal(level[:], ref)
    assert main([str(npy), str(tmp_path / "default.zarr")]) == 0
    levels, _ = levels_of(tmp_path / "default.zarr")
    assert [lv.shape for lv in levels] == [(512, 512), (256, 256)]
    capsys.readouterr()
    assert main([str(npy), str(tmp_path / "dry.zarr"), "--dry-run"]) == 0
    assert "levels: 2, until every downsampled axis is at most 256 px" in capsys.readouterr().out
    assert main([str(npy), str(tmp_path / "dry.zarr"), "--dry-run", "--levels", "4"]) == 0
    assert "levels: 4, as asked" in capsys.readouterr().out
    # More levels than pixels: one line, exit 2, nothing written.
    assert_usage_error(run(npy, tmp_path / "many.zarr", "--levels", "12"), "12 levels",
                       "at most 10 levels")
    assert not (tmp_path / "many.zarr").exists()


def test_existing_output_refused_then_overwritten(tmp_path, zarr_input):
    path, _ = zarr_input
    out = tmp_path / "out.zarr"
    assert run(path, out, "--levels", "2").returncode == 0
    assert_usage_error(run(path, out, "--levels", "3"), "exists", "--overwrite")
    assert len(levels_of(out)[0]) == 2
    result = run(path, out, "--levels", "3", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert len(levels_of(out)[0]) == 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "bilinear"], ["bilinear", "choose one of"]),
        (["--axes", "xyq"], ["axes", "unknown letters"]),
        (["--scale-factors", "3", "4"], ["scale factor"]),
    ],
)
def test_bad_usage_is_one_line_exit_2_and_writes_nothing(tmp_path, zarr_input, args, words):
    path, _ = zarr_input
    out = tmp_path / "out.zarr"
    assert_usage_error(run(path, out, *args), *words)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--axes", "zyxq"], ["axes"]),
        (["--scale-factors", "0"], ["scale factor"]),
        (["--scale-factors", "two"], ["two"]),
        (["--levels", "0"], ["--levels"]),
        (["--chunks", "a,b"], ["--chunks"]),
        (["--shards", "3,3,3"], ["shard"]),
        (["--unit", "micrometer"], ["--physical-size"]),
        (["--physical-size", "y=0,x=1"], ["physical size"]),
        (["--scheduler", "nonsense"], ["--scheduler"]),
        (["--in-place"], ["--in-place"]),
        (["--storage-options", "{anon: true}"], ["--storage-options", "not valid JSON"]),
        (["--storage-options", "[1, 2]"], ["--storage-options", "JSON object"]),
        (["--input-storage-options", "@/no/such/options.json"], ["cannot read",
                                                                 "/no/such/options.json"]),
    ],
)
def test_more_bad_usage_in_process(tmp_path, zarr_input, capsys, args, words):
    path, _ = zarr_input
    out = tmp_path / "out.zarr"
    assert main([str(path), str(out), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("omescale: error:"), err
    for word in words:
        assert word in err
    assert not out.exists()


def test_missing_input_and_missing_output(tmp_path):
    out = tmp_path / "out.zarr"
    assert_usage_error(run(tmp_path / "nope.zarr", out), "nope.zarr", "does not exist")
    assert_usage_error(run(tmp_path / "nope.zarr"), "OUTPUT")
    assert_usage_error(run("--no-such-flag"))
    assert not out.exists()


def test_in_place_and_labels(tmp_path, zarr_input):
    path, x = zarr_input
    image = tmp_path / "image.zarr"
    assert run(path, image, "--levels", "1").returncode == 0
    result = run(image, "--in-place", "--scale-factors", "2", "4")
    assert result.returncode == 0, result.stderr
    assert [lv.shape for lv in levels_of(image)[0]] == [(2, 70, 90), (2, 35, 45), (2, 18, 23)]
    labels = tmp_path / "labels.npy"
    np.save(labels, (x > 2000).astype(np.uint8))
    result = run(labels, image, "--labels", "cells")
    assert result.returncode == 0, result.stderr
    levels, _ = levels_of(image / "labels" / "cells")
    assert [lv.shape for lv in levels] == [(2, 70, 90), (2, 35, 45), (2, 18, 23)]
    assert "labels: cells" in run("info", image).stdout


def _run_on_terminal(args, timeout=120):
    """Run the command with stdout and stderr on a pseudo-terminal; return all it printed."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([EXE, *map(str, args)], stdout=secondary, stderr=secondary,
                            stdin=subprocess.DEVNULL, close_fds=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    os.close(secondary)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(primary)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_progress_bar_only_on_a_terminal(tmp_path):
    if EXE is None:
        pytest.fail("the omescale entry point is not installed")
    code, text = _run_on_terminal(["example", tmp_path / "tty.zarr", *SMALL])
    assert code == 0, text
    assert "100%" in text and "Completed" in text, text
    assert "wrote" in text
    piped = run("example", tmp_path / "pipe.zarr", *SMALL)
    assert piped.returncode == 0
    assert "%" not in piped.stdout + piped.stderr


def test_info_names_an_interrupted_write_in_process(tmp_path, capsys):
    path = tmp_path / "half.zarr"
    zarr.create_group(path, attributes={"omescale": {"status": "incomplete"}})
    assert main(["info", str(path)]) == 0  # info describes it (tests/test_info.py counts)
    out = capsys.readouterr().out
    assert "INCOMPLETE" in out and "--resume" in out
