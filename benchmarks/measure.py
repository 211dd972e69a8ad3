"""Run one job in a fresh subprocess and sample the memory of its whole process tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from benchmarks.contenders import Job
from benchmarks.worker import MARKER

__all__ = ["measure", "tree_rss"]

ROOT = Path(__file__).resolve().parent.parent


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of ``proc`` and all its descendants (0 for those already gone)."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


class _Sampler(threading.Thread):
    """Polls the tree's RSS every ``interval`` seconds and keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_rss(self.proc))
            self.stop.wait(self.interval)


def _parse(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    return None


def measure(job: Job, *, python: str = sys.executable, timeout: float = 3600,
            profile: str | None = None) -> dict[str, Any]:
    """Run ``job`` in a fresh ``python`` process; seconds, peak tree RSS and any error.

    The returned dict has ``seconds`` (the work, timed in the child), ``process_seconds``
    (the whole child, imports included), ``peak_rss`` (bytes, sampled over the process tree),
    ``bytes_written`` and ``error`` (``None`` on success).
    """
    cmd = [python, "-m", "benchmarks.worker", json.dumps(asdict(job))]
    if profile:
        cmd += ["--profile", profile]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        sampler = _Sampler(proc.pid)
        sampler.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            proc.wait()
        elapsed = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    result = _parse(stdout) or {"error": f"killed after {timeout:.0f} s" if timed_out
                                else _last_error(stderr, proc.returncode)}
    result.setdefault("error", None)
    result["process_seconds"] = elapsed
    result["peak_rss"] = sampler.peak
    return result


def _last_error(stderr: str, code: int | None) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"worker exited with code {code}"
