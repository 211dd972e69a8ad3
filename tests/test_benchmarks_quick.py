"""The benchmark command runs end to end in a tiny ``--quick`` mode (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("psutil")


def _contenders() -> str:
    # Floors and omescale only: the peers' rows asserted nothing and doubled the test's time
    # (each contender is a fresh process, twice); `--matrix` and docs/benchmarks.md run them.
    return "floor_a,floor_b,floor_b_direct,omescale,omescale_inplace"


def test_quick_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    cmd = [sys.executable, "-m", "benchmarks.run", "--quick", "--size", "0.0625",
           "--workloads", "volume", "--methods", "local_mean", "--only", _contenders(),
           "--repeat", "2", "--data", str(tmp_path / "data"), "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "floor_b" in proc.stdout and "t/omescale" in proc.stdout
    result = json.loads(out.read_text())
    (workload,) = result["workloads"]
    assert workload["shape"] == [16, 256, 256]
    rows = {r["label"]: r for r in workload["rows"]}
    for label in ("floor_a", "floor_b", "floor_b_direct", "omescale:local_mean"):
        assert rows[label]["error"] is None, rows[label]["error"]
        assert rows[label]["seconds"] > 0 and rows[label]["peak_rss"] > 0
        assert rows[label]["bytes_written"] > 0
        # Two rounds; the row keeps the faster one.
        assert len(rows[label]["all_seconds"]) == 2
        assert rows[label]["seconds"] == min(rows[label]["all_seconds"])
        assert len(rows[label]["all_cpu_seconds"]) == 2
        assert rows[label]["cpu_seconds"] in rows[label]["all_cpu_seconds"]


@pytest.mark.parametrize("codec, shards", [("zstd-3", None), ("blosc-lz4", (4, 64, 64))])
def test_codec_floor_writes_the_strided_pyramid(tmp_path: Path, codec: str,
                                                shards: tuple[int, ...] | None) -> None:
    """The codec floor's levels, read back with zarr-python, are NumPy's ``[..., ::2**k, ::2**k]``
    of the base, with the base's chunks (and shards) and codec; its in-place twin adds 1.."""
    import zarr

    from benchmarks.codec_floor import codec_floor, codec_floor_inplace
    from benchmarks.job import Job
    from benchmarks.workloads import Workload, ensure_input

    # odd sizes: edge chunks, and levels whose chunks are clipped to the level
    wl = Workload("t", (5, 200, 136), (2, 32, 32), "uint8" if shards else "uint16")
    src = ensure_input(wl, codec, tmp_path, log=lambda *_: None)
    base = zarr.open_array(str(src / "0"), mode="r")[...]
    for func, first in ((codec_floor, 0), (codec_floor_inplace, 1)):
        out = tmp_path / f"{func.__name__}.zarr"
        func(Job(func.__name__, "", str(src), str(out), codec, levels=4, shards=shards))
        group = zarr.open_group(str(out), mode="r")
        paths = [d["path"] for d in group.attrs["ome"]["multiscales"][0]["datasets"]]
        assert paths == ["0", "1", "2", "3"]
        for k in range(first, 4):
            arr = group[str(k)]
            np.testing.assert_array_equal(arr[...], base[..., :: 2**k, :: 2**k])
            assert arr.chunks == tuple(min(c, n) for c, n in zip(wl.chunks, arr.shape, strict=True))
            assert arr.compressors[0].to_dict()["name"] == codec.split("-")[0]
            if shards:
                assert arr.shards is not None and arr.shards[-1] <= shards[-1]
