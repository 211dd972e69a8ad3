"""The benchmark command runs end to end in a tiny ``--quick`` mode (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("psutil")


def _contenders() -> str:
    names = ["floor_a", "floor_b", "floor_b_direct", "omescale", "omescale_inplace"]
    # Peers run only where installed (the bench extra, Python >= 3.12); a peer that imports
    # but fails is reported in its row, which this test accepts.
    names += [peer for peer, module in (("ome-zarr", "ome_zarr"), ("ngff-zarr", "ngff_zarr"))
              if importlib.util.find_spec(module) is not None]
    return ",".join(names)


def test_quick_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    cmd = [sys.executable, "-m", "benchmarks.run", "--quick", "--size", "0.0625",
           "--workloads", "volume", "--methods", "local_mean", "--only", _contenders(),
           "--repeat", "2", "--data", str(tmp_path / "data"), "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
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
