"""Bad input, one table (SPEC §9, issue 6): each row through the Python API and the CLI.

Every row must give one error naming the problem -- an ``OmescaleError`` that is also a
``ValueError`` or ``TypeError`` in Python, exit code 2 and one line on stderr from the command --
and must write nothing: the target does not exist afterwards (an existing output, or the image
of an in-place call, is unchanged byte for byte) and the input is unchanged.
A small hypothesis fuzz over ``write_pyramid`` arguments closes the file, with the check that an
OME-Zarr written without physical sizes keeps z when levels are added to it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import omescale
from omescale.errors import (
    InputNotFoundError,
    InvalidAxesError,
    InvalidFactorsError,
    InvalidMethodError,
    InvalidShapeError,
    LabelShapeError,
    OutputExistsError,
    OutputInsideInputError,
    UnsafeOverwriteError,
    UnsupportedDtypeError,
)

IMAGE = (np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 7) % 1000


@dataclass(frozen=True)
class Row:
    """One bad input.

    source: ``zarr`` (a 16x16 zarr array), ``ome`` (a two-level OME-Zarr image), ``group`` (a
    zarr group that is no image), ``dir`` (an empty directory), ``text`` (a text file),
    ``missing``, or ``npy`` (a .npy file of ``array``; the API is also given it in memory).
    output: ``new`` (a fresh path), ``inside`` (under the input), ``existing`` (an image),
    ``precious`` (a directory holding a user's file), ``parent`` (the directory holding the
    input) or ``self`` (the input itself).
    call: ``write`` (``write_pyramid`` / ``omescale IN OUT``), ``in_place`` (``add_levels`` /
    ``omescale IN --in-place``) or ``labels`` (``write_labels(IN, OUT, "cells")`` /
    ``omescale IN OUT --labels cells``).
    """

    source: str
    error: type
    word: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    call: str = "write"
    output: str = "new"
    array: tuple[tuple[int, ...], str] | None = None


def _npy(shape, dtype, error, word, kwargs=None, argv=()):
    return Row("npy", error, word, kwargs or {}, argv, array=(shape, dtype))


M, F, A, S, D = (InvalidMethodError, InvalidFactorsError, InvalidAxesError, InvalidShapeError,
                 UnsupportedDtypeError)
ROWS = {
    # method
    "unknown-method": Row("zarr", M, "unknown method", {"method": "bilinear"},
                          ("--method", "bilinear")),
    # factors
    "factor-zero": Row("zarr", F, ">= 1", {"scale_factors": [0]}, ("--scale-factors", "0")),
    "factor-negative": Row("zarr", F, ">= 1", {"scale_factors": [-2]},
                           ("--scale-factors", "-2")),
    "factor-float": Row("zarr", F, "integer", {"scale_factors": [2.5]},
                        ("--scale-factors", "2.5")),
    "factor-non-integer-ratio": Row("zarr", F, "integer multiple", {"scale_factors": [2, 3]},
                                    ("--scale-factors", "2", "3")),
    "factor-non-integer-ratio-dict": Row(
        "zarr", F, "integer multiple",
        {"scale_factors": [{"y": 2, "x": 2}, {"y": 3, "x": 4}]},
        ("--scale-factors", "y=2,x=2", "y=3,x=4")),
    "factor-larger-than-axis": Row("zarr", F, "larger than", {"scale_factors": [32]},
                                   ("--scale-factors", "32")),
    # axes
    "axes-length": Row("zarr", A, "letters", {"axes": "zyx"}, ("--axes", "zyx")),
    "axes-letters": Row("zarr", A, "unknown letters", {"axes": "qx"}, ("--axes", "qx")),
    "axes-repeated": Row("zarr", A, "repeats", {"axes": "yy"}, ("--axes", "yy")),
    "axes-no-yx": Row("zarr", A, "'y' and 'x'", {"axes": "cx"}, ("--axes", "cx")),
    # shape and dtype (from a .npy file, and in memory for the API)
    "six-dims": _npy((1, 1, 2, 1, 4, 4), "uint8", S, "5 dimensions"),
    "one-dim": _npy((8,), "uint8", S, "dimensions"),
    "zero-size-axis": _npy((0, 8), "uint8", S, "zero-size"),
    "dtype-complex": _npy((8, 8), "complex64", D, "complex"),
    "dtype-object": _npy((8, 8), "object", D, "object"),
    "dtype-str": _npy((8, 8), "<U1", D, "not supported"),
    "dtype-bool-resize": _npy((8, 8), "bool", D, "bool"),
    "dtype-bool-local_mean": _npy((8, 8), "bool", D, "bool", {"method": "local_mean"},
                                  ("--method", "local_mean")),
    # input paths
    "input-missing": Row("missing", InputNotFoundError, "does not exist"),
    "input-empty-dir": Row("dir", InputNotFoundError, "not a zarr array"),
    "input-text-file": Row("text", InputNotFoundError, "not a zarr array"),
    "input-zarr-group-not-image": Row("group", InputNotFoundError, "not an OME-Zarr image"),
    # output
    "output-exists": Row("zarr", OutputExistsError, "exists", output="existing"),
    "output-inside-input-array": Row("zarr", OutputInsideInputError, "inside", output="inside"),
    "output-inside-input-image": Row("ome", OutputInsideInputError, "inside", output="inside"),
    # overwrite replaces only a zarr store
    "overwrite-users-directory": Row("zarr", UnsafeOverwriteError, "not a zarr store",
                                     {"overwrite": True}, ("--overwrite",), output="precious"),
    "overwrite-input-parent": Row("zarr", OutputInsideInputError, "would delete the input",
                                  {"overwrite": True}, ("--overwrite",), output="parent"),
    "overwrite-input-itself": Row("ome", OutputInsideInputError, "is the input itself",
                                  {"overwrite": True}, ("--overwrite",), output="self"),
    # in place
    "in-place-zarr-array": Row("zarr", InputNotFoundError, "not an OME-Zarr image",
                               call="in_place"),
    "in-place-zarr-group": Row("group", InputNotFoundError, "not an OME-Zarr image",
                               call="in_place"),
    "in-place-empty-dir": Row("dir", InputNotFoundError, "not an OME-Zarr image",
                              call="in_place"),
    "in-place-npy": Row("npy", InputNotFoundError, "not an OME-Zarr image", call="in_place",
                        array=((8, 8), "uint8")),
    "in-place-missing": Row("missing", InputNotFoundError, "does not exist", call="in_place"),
    "in-place-unknown-method": Row("ome", M, "unknown method", {"method": "lanczos"},
                                   ("--method", "lanczos"), call="in_place"),
    "in-place-factor-larger-than-axis": Row("ome", F, "larger than", {"scale_factors": [32]},
                                            ("--scale-factors", "32"), call="in_place"),
    "in-place-levels-exist": Row("ome", OutputExistsError, "already has levels",
                                 call="in_place"),
    # labels must match their image (8x8 here)
    "labels-shape": Row("npy", LabelShapeError, "do not match the image", call="labels",
                        output="existing", array=((10, 10), "uint8")),
    "labels-axes": Row("npy", LabelShapeError, "channel axis c", call="labels",
                       output="existing", array=((1, 8, 8), "uint8")),
}


# --- making the inputs ----------------------------------------------------------------------


def _make_input(row: Row, tmp: Path) -> Path:
    if row.source == "npy":
        shape, dtype = row.array
        path = tmp / "in.npy"
        np.save(path, np.zeros(shape, dtype=dtype), allow_pickle=dtype == "object")
        return path
    if row.source == "zarr":
        path = tmp / "in.zarr"
        zarr.create_array(path, data=IMAGE, chunks=(8, 8))
        return path
    if row.source == "ome":
        path = tmp / "in.ome.zarr"
        omescale.write_pyramid(IMAGE, path, scale_factors=[2], chunks=(8, 8))
        return path
    if row.source == "group":
        path = tmp / "group.zarr"
        zarr.create_group(path, attributes={"note": "no multiscales"})
        return path
    if row.source == "dir":
        path = tmp / "empty"
        path.mkdir()
        return path
    if row.source == "text":
        path = tmp / "notes.txt"
        path.write_text("not an image\n")
        return path
    assert row.source == "missing"
    return tmp / "nope.zarr"


def _make_output(row: Row, tmp: Path, source: Path) -> Path | None:
    if row.call == "in_place":
        return None
    if row.output == "inside":
        return source / "sub.zarr"
    if row.output == "parent":
        return tmp
    if row.output == "self":
        return source
    if row.output == "precious":
        (tmp / "some_dir").mkdir()
        (tmp / "some_dir" / "precious.txt").write_text("the only copy\n")
        return tmp / "some_dir"
    path = tmp / "out.zarr"
    if row.output == "existing":
        omescale.write_pyramid(IMAGE[:8, :8], path, max_layer=0)
    return path


def snapshot(path: Path) -> Any:
    """Every directory and file (with its bytes, locks included) under ``path``; None if absent."""
    if not os.path.lexists(path):
        return None
    if path.is_file():
        return path.read_bytes()
    out: dict[str, Any] = {}
    for root, dirs, files in os.walk(path):
        rel = os.path.relpath(root, path)
        out[rel + "/"] = sorted(dirs)
        for name in files:
            out[os.path.join(rel, name)] = Path(root, name).read_bytes()
    return out


def _setup(row: Row, tmp: Path) -> tuple[Path, Path | None, Any, Any]:
    source = _make_input(row, tmp)
    target = _make_output(row, tmp, source)
    return source, target, snapshot(source), None if target is None else snapshot(target)


def _assert_nothing_written(row: Row, source: Path, target: Path | None, before_in, before_out):
    assert snapshot(source) == before_in, "the input changed"
    if target is not None:
        if row.output != "new" and row.output != "inside":
            assert snapshot(target) == before_out, "the existing output changed"
        else:
            assert not os.path.lexists(target), f"{target} was left behind"


# --- the Python API -------------------------------------------------------------------------


def _api(row: Row, image: Any, target: Path | None) -> None:
    if row.call == "in_place":
        omescale.add_levels(image, **row.kwargs)
    elif row.call == "labels":
        omescale.write_labels(image, target, "cells", **row.kwargs)
    else:
        omescale.write_pyramid(image, target, **row.kwargs)


def _check_error(row: Row, err: BaseException) -> None:
    assert isinstance(err, omescale.OmescaleError), type(err).__mro__
    assert isinstance(err, row.error), f"{type(err).__name__}: {err}"
    assert isinstance(err, ValueError | TypeError)
    assert row.word.lower() in str(err).lower(), str(err)


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_api_refuses_and_writes_nothing(tmp_path, row):
    source, target, before_in, before_out = _setup(row, tmp_path)
    with pytest.raises(omescale.OmescaleError) as info:
        _api(row, source, target)
    _check_error(row, info.value)
    _assert_nothing_written(row, source, target, before_in, before_out)
    if row.source == "npy" and row.call != "in_place":  # the same array in memory
        array = np.load(source, allow_pickle=True)
        with pytest.raises(omescale.OmescaleError) as info:
            _api(row, array, target)
        _check_error(row, info.value)
        _assert_nothing_written(row, source, target, before_in, before_out)


# --- the command line -----------------------------------------------------------------------
# Each row runs in its own process: a fork of a server that imported omescale.cli once (the
# import costs ~1.5 s of CPU, 34 rows of it would dominate the file), with the row's own stdout
# and stderr files and exit code, exactly as the console script's ``sys.exit(main())``. A few
# rows also run through ``python -m omescale.cli`` and the installed ``omescale`` command.

SERVER = """
import json, os, sys, traceback
from omescale.cli import main
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(req["cwd"])
            os.dup2(os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(req["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            sys.argv = ["omescale", *req["argv"]]
            try:
                code = main(req["argv"])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), flush=True)
"""
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def cli():
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=ENV)

    def run(argv: list[str], cwd: Path) -> Result:
        out, err = cwd / "cli.stdout", cwd / "cli.stderr"
        request = {"argv": argv, "cwd": str(cwd), "out": str(out), "err": str(err)}
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        code = int(server.stdout.readline())
        result = Result(code, out.read_text(), err.read_text())
        out.unlink()
        err.unlink()
        return result

    yield run
    server.stdin.close()
    server.wait(timeout=30)


def _cli_argv(row: Row, source: Path, target: Path | None) -> list[str]:
    head = [str(source), "--in-place"] if row.call == "in_place" else [str(source), str(target)]
    tail = ["--labels", "cells"] if row.call == "labels" else []
    return [*head, *tail, *row.argv]


def _check_cli(row: Row, result: Result) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("omescale: error:"), lines[0]
    assert row.word.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_cli_exit_2_one_line_and_writes_nothing(tmp_path, cli, row):
    work = tmp_path / "work"
    work.mkdir()
    source, target, before_in, before_out = _setup(row, work)
    _check_cli(row, cli(_cli_argv(row, source, target), tmp_path))
    _assert_nothing_written(row, source, target, before_in, before_out)


@pytest.mark.parametrize(
    ("name", "command"),
    [("unknown-method", "module"), ("six-dims", "module"), ("input-missing", "entry-point"),
     ("in-place-zarr-array", "entry-point")],
)
def test_cli_as_a_real_command(tmp_path, name, command):
    row = ROWS[name]
    source, target, before_in, before_out = _setup(row, tmp_path)
    if command == "module":
        exe = [sys.executable, "-m", "omescale.cli"]
    else:
        found = shutil.which("omescale")
        if found is None:
            pytest.fail("the omescale entry point is not installed: python3 -m pip install -e .")
        exe = [found]
    done = subprocess.run([*exe, *_cli_argv(row, source, target)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path, env=ENV)
    _check_cli(row, Result(done.returncode, done.stdout, done.stderr))
    _assert_nothing_written(row, source, target, before_in, before_out)


# --- unknown physical sizes: z is kept by default, as for a bare array ----------------------


ZYX = np.random.default_rng(3).integers(0, 1000, size=(8, 64, 64), dtype=np.uint16)


def _shapes(path: Path) -> list[tuple[int, ...]]:
    group = zarr.open_group(path, mode="r")
    attrs = dict(group.attrs)
    ms = attrs.get("ome", attrs)["multiscales"][0]
    return [group[d["path"]].shape for d in ms["datasets"]]


def test_image_without_physical_sizes_keeps_z_like_a_bare_array(tmp_path):
    from_numpy = tmp_path / "numpy.zarr"
    omescale.write_pyramid(ZYX, from_numpy, chunks=(8, 16, 16))
    expected = _shapes(from_numpy)
    assert expected == [(8, 64, 64), (8, 32, 32), (8, 16, 16)]  # z never downsampled

    image = tmp_path / "image.zarr"  # scale 1.0 on z, y, x and no units
    omescale.write_pyramid(ZYX, image, chunks=(8, 16, 16), max_layer=0)
    copied = tmp_path / "copy.zarr"
    omescale.write_pyramid(image, copied)
    assert _shapes(copied) == expected
    omescale.add_levels(image)
    assert _shapes(image) == expected

    # Known sizes still steer z: unit 1 micrometer on every axis is isotropic, so z shrinks too.
    sized = tmp_path / "sized.zarr"
    omescale.write_pyramid(ZYX, sized, chunks=(8, 16, 16), max_layer=0,
                           physical_sizes={"z": 1.0, "y": 1.0, "x": 1.0},
                           units={"z": "micrometer", "y": "micrometer", "x": "micrometer"})
    omescale.add_levels(sized)
    assert _shapes(sized) == [(8, 64, 64), (4, 32, 32), (2, 16, 16)]


def test_unit_scale_without_units_means_unknown_space_sizes():
    from omescale.ngff.metadata import read_image_metadata
    from omescale.plan import plan_pyramid

    def sizes(scale, units=None):
        axes = [{"name": a, "type": "time" if a == "t" else "space", **(
            {"unit": units[a]} if units and a in units else {})} for a in "tzyx"]
        attrs = {"ome": {"version": "0.5", "multiscales": [{"axes": axes, "datasets": [
            {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}]}]}}
        return read_image_metadata(attrs).physical_sizes

    assert sizes([1.0, 1.0, 1.0, 1.0]) is None
    assert sizes([5.0, 1.0, 1.0, 1.0]) == {"t": 5.0}  # the time step is kept
    assert sizes([1.0, 1.0, 1.0, 1.0], {"x": "micrometer"}) == {"t": 1.0, "z": 1.0, "y": 1.0,
                                                                "x": 1.0}
    assert sizes([1.0, 2.0, 0.5, 0.5]) == {"t": 1.0, "z": 2.0, "y": 0.5, "x": 0.5}
    # a time step alone says nothing about z: z is kept, as for a bare array
    plan = plan_pyramid((2, 8, 64, 64), np.uint16, axes="tzyx", chunks=16,
                        physical_sizes={"t": 5.0})
    assert [lv.shape for lv in plan.levels] == [(2, 8, 64, 64), (2, 8, 32, 32), (2, 8, 16, 16)]
    assert plan.levels[1].scale[0] == 5.0


# --- fuzz: random (valid and invalid) arguments ----------------------------------------------


FUZZ_IMAGE = np.random.default_rng(5).integers(0, 255, size=(4, 12, 10), dtype=np.uint8)
_number = st.one_of(st.integers(-2, 16), st.sampled_from([1.0, 2.0, 2.5, -1.5, float("nan")]))
_level = st.one_of(_number, st.dictionaries(st.sampled_from("zyxcq"), _number, max_size=3),
                   st.just("2"), st.none())
_chunks = st.one_of(st.none(), st.integers(-1, 12), st.just(2.5),
                    st.lists(st.integers(-1, 9), min_size=1, max_size=4).map(tuple))


@settings(max_examples=35, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["nearest", "resize", "local_mean", "mode", "max", "zoom", "bogus",
                            "Resize", None]),
    scale_factors=st.one_of(st.none(), st.integers(0, 4), st.lists(_level, max_size=3)),
    axes=st.one_of(st.none(), st.text("tczyxq", max_size=4)),
    chunks=_chunks,
)
def test_fuzz_write_pyramid_gives_an_image_or_an_omescale_error(
    tmp_path_factory, method, scale_factors, axes, chunks
):
    out = tmp_path_factory.mktemp("fuzz") / "img.zarr"
    try:
        omescale.write_pyramid(FUZZ_IMAGE, out, method=method, scale_factors=scale_factors,
                               axes=axes, chunks=chunks)
    except omescale.OmescaleError as exc:
        assert isinstance(exc, ValueError | TypeError)
        assert not out.exists(), f"{type(exc).__name__}: {exc} left {out} behind"
        return
    attrs = dict(zarr.open_group(out, mode="r").attrs)
    assert "omescale" not in attrs
    assert attrs["ome"]["multiscales"][0]["datasets"]
