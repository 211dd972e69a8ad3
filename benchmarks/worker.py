"""Child process entry: run one ``Job`` and print its result as one JSON line.

``python -m benchmarks.worker '<job json>' [--profile out.txt]``. The result line starts with
``RESULT `` so that chatter from the libraries on stdout cannot be mistaken for it. With
``--profile`` the work runs under pyinstrument and its text report is written to the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import tempfile
import traceback
from pathlib import Path

from benchmarks.contenders import CONTENDERS, Job, run_job
from benchmarks.workloads import tiny_input

MARKER = "RESULT "


def warm_up(job: Job) -> None:
    """Run the contender once on a tiny input so the timed run excludes one-time costs.

    Imports, dask/zarr thread pools and caches, and WebAssembly compilation (ngff-zarr's itkwasm
    methods compile their module on first use) are paid here; the whole process time, warm-up
    included, is still reported as ``process_seconds``. Failures here are ignored: the timed run
    reports them.
    """
    import zarr

    from benchmarks.job import axes_of

    src = tiny_input(job.input, job.codec)
    tiny = zarr.open_array(str(src / "0"), mode="r")
    shards = None if job.shards is None else tuple(
        c * (2 if a in "yx" else 1) for c, a in zip(tiny.chunks, axes_of(tiny), strict=True))
    with tempfile.TemporaryDirectory(prefix="omescale-bench-warm-") as tmp:
        warm = dataclasses.replace(job, input=str(src), output=str(Path(tmp) / "out.zarr"),
                                   shards=shards)
        try:
            CONTENDERS[job.contender](warm)
        except Exception:
            pass


def _run(job: Job, profile: str | None) -> dict:
    if profile is None:
        return run_job(job)
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.005, async_mode="disabled")
    with profiler:
        result = run_job(job)
    Path(profile).write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the job given as JSON; exit 0 with a result line, 1 with an error line."""
    parser = argparse.ArgumentParser(prog="benchmarks.worker")
    parser.add_argument("job", help="Job fields as a JSON object")
    parser.add_argument("--profile", help="write a pyinstrument text profile here")
    args = parser.parse_args(argv)
    job = Job(**json.loads(args.job))
    try:
        warm_up(job)
        result = _run(job, args.profile)
    except Exception as exc:  # a contender that fails is reported, not fatal
        traceback.print_exc(file=sys.stderr)
        print(MARKER + json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    # ru_maxrss is in KiB on Linux: this process's own peak, a cross-check of the sampled tree.
    result["self_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
