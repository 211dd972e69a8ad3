"""The benchmark command: omescale, its peers and the floors on the same inputs, in one run.

Examples::

    .venv-bench/bin/python -m benchmarks.run --quick            # about a minute, small inputs
    .venv-bench/bin/python -m benchmarks.run --workloads volume --json bench-results/full.json
    .venv-bench/bin/python -m benchmarks.run --size 1,4 --only omescale,floor_b \\
        --methods local_mean,resize                                 # memory-flatness figure
    .venv-bench/bin/python -m benchmarks.run --matrix --repeat 3 --json bench-results/m.json
    .venv-bench/bin/python -m benchmarks.run --matrix --workloads plane,em --codecs zstd-3

Each contender runs in a fresh subprocess of ``--python`` (default: this interpreter); a peer
that is not installed or fails is reported in the table and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.codecs import CODECS, DEFAULT_CODEC
from benchmarks.contenders import Job
from benchmarks.matrix_report import check_cell, format_matrix
from benchmarks.measure import ROOT, measure
from benchmarks.plan import FAMILIES, IMPORTS, Run, matrix_runs, plan_runs
from benchmarks.report import check_targets, flatness, format_tables
from benchmarks.workloads import MATRIX_ORDER, Workload, ensure_input, workloads

__all__ = ["main"]


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="small inputs; defaults to the volume and local_mean,resize "
                        "(about a minute in all)")
    p.add_argument("--size", default="1", help="pixel-count multiplier(s), e.g. 1 or 1,4")
    p.add_argument("--workloads", help="volume,plane (default both; volume with --quick)")
    p.add_argument("--methods", help=f"omescale methods to run (default {','.join(FAMILIES)}; "
                   "local_mean,resize with --quick)")
    p.add_argument("--only", default="", help="contenders or contender:method labels, e.g. "
                   "omescale,floor_b,ngff-zarr:itkwasm_gaussian")
    p.add_argument("--matrix", action="store_true",
                   help="the workload matrix: volume, plane, slide, time-lapse, em, sharded, "
                        "cluster, inplace (or --workloads) x --codecs, at the MATRIX sizes")
    p.add_argument("--full", action="store_true",
                   help="with --matrix: the issue's sizes (the 2 GiB volume ...) instead of the "
                        "MATRIX sizes that fit a shared machine")
    p.add_argument("--codecs", default="zstd-3,blosc-lz4",
                   help="codecs of the matrix (default zstd-3,blosc-lz4)")
    p.add_argument("--codec", default=DEFAULT_CODEC, choices=sorted(CODECS))
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds, each running every contender once (best time kept)")
    p.add_argument("--repeat-peers-within", type=float, default=0.0, metavar="RATIO",
                   help="repeat a peer only while its best time is within RATIO x omescale's "
                        "fastest of its families (0: always repeat); a peer that slow cannot "
                        "change the ranking, and skipping it keeps the matrix to its hour")
    p.add_argument("--python", default=sys.executable, help="interpreter for the workers")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a run is killed")
    p.add_argument("--data", default=str(ROOT / "bench-data"), help="input cache folder")
    p.add_argument("--json", help="save all results to this JSON file")
    p.add_argument("--no-targets", action="store_true", help="do not print the target checks")
    return p


def _importable(python: str, module: str) -> str | None:
    """``None`` if ``module`` imports in ``python``, else the reason."""
    proc = subprocess.run([python, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    tail = proc.stderr.strip().splitlines()
    return f"not importable in {python}: {tail[-1] if tail else proc.returncode}"


def _run_one(run: Run, job: Job, args: argparse.Namespace,
             missing: dict[str, str | None]) -> dict[str, Any]:
    """One measured run of one contender (or the reason it cannot run)."""
    row: dict[str, Any] = {"contender": run.contender, "method": run.method,
                           "label": run.label, "families": run.families}
    module = IMPORTS.get(run.contender)
    if module and missing.setdefault(module, _importable(args.python, module)):
        return {**row, "error": missing[module]}
    shutil.rmtree(job.output, ignore_errors=True)
    res = measure(job, python=args.python, timeout=args.timeout)
    shutil.rmtree(job.output, ignore_errors=True)
    return {**row, **res}


def merge_runs(best: dict[str, Any] | None, row: dict[str, Any]) -> dict[str, Any]:
    """Keep the fastest run's figures, the largest peak RSS and every run's seconds (wall in
    ``all_seconds``, CPU in ``all_cpu_seconds``: on a loaded machine the CPU of the fastest
    wall run is not the smallest)."""
    cpu = [row["cpu_seconds"]] if "cpu_seconds" in row else []
    if best is None or best.get("error"):
        return {**row, "all_seconds": [row["seconds"]] if "seconds" in row else [],
                "all_cpu_seconds": cpu}
    if row.get("error"):
        return {**best, "error": row["error"]}
    seconds = [*best["all_seconds"], row["seconds"]]
    peak = max(best["peak_rss"], row["peak_rss"])
    kept = row if row["seconds"] < best["seconds"] else best
    return {**kept, "peak_rss": peak, "all_seconds": seconds,
            "all_cpu_seconds": [*best.get("all_cpu_seconds", []), *cpu]}


_VERSIONS = """
import importlib.metadata as m, json, platform
names = ["omescale", "ome-zarr", "ngff-zarr", "zarr", "dask", "numpy", "scipy", "numcodecs"]
out = {"python": platform.python_version()}
for n in names:
    try:
        out[n] = m.version(n)
    except m.PackageNotFoundError:
        out[n] = None
print(json.dumps(out))
"""


def _versions(python: str) -> dict[str, Any]:
    """Versions of the contenders and their stack in the workers' interpreter."""
    proc = subprocess.run([python, "-c", _VERSIONS], capture_output=True, text=True)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": proc.stderr.strip()[-200:]}


def _machine() -> dict[str, Any]:
    return {"cpus": psutil.cpu_count(),
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_avg_start": list(psutil.getloadavg()), "platform": platform.platform()}


def _run_cell(wl: Workload, codec: str, runs: list[Run], args: argparse.Namespace,
              missing: dict[str, str | None], size: float) -> dict[str, Any]:
    """Every run of one workload and codec, round-robin over ``--repeat`` rounds."""
    data = Path(args.data)
    out_root = data / "out"
    out_root.mkdir(parents=True, exist_ok=True)
    src = ensure_input(wl, codec, data)
    t0 = time.perf_counter()
    entry: dict[str, Any] = {"name": wl.name, "shape": wl.shape, "chunks": wl.chunks,
                             "dtype": wl.dtype, "axes": wl.axes, "shards": wl.shards,
                             "nbytes": wl.nbytes, "size": size, "codec": codec,
                             "load_start": list(psutil.getloadavg()), "rows": []}
    best: list[dict[str, Any] | None] = [None] * len(runs)
    # Round-robin: every contender once per round, so a slow spell of the machine
    # lands on all of them instead of on whichever ran during it.
    for rnd in range(max(1, args.repeat)):
        for i, run in enumerate(runs):
            if best[i] is not None and best[i].get("error"):
                continue
            if rnd and _too_slow_to_repeat(runs[i], best[i], runs, best, args):
                continue
            job = Job(run.contender, run.method, str(src),
                      str(out_root / f"{wl.name}-{run.label.replace(':', '-')}.zarr"),
                      codec, shards=wl.shards)
            row = _run_one(run, job, args, missing)
            row["load"] = psutil.getloadavg()[0]
            best[i] = merge_runs(best[i], row)
            status = row.get("error") or (f"{row['seconds']:.2f} s, "
                                          f"{row.get('cpu_seconds', float('nan')):.2f} s cpu, "
                                          f"{row['peak_rss'] / 2**20:.0f} MiB")
            print(f"[{wl.name} {codec} x{size:g} round {rnd + 1}] {run.label}: {status}",
                  flush=True)
    entry["rows"] = best
    entry["load_end"] = list(psutil.getloadavg())
    entry["wall_seconds"] = time.perf_counter() - t0
    return entry


def _too_slow_to_repeat(run: Run, row: dict[str, Any] | None, runs: list[Run],
                        best: list[dict[str, Any] | None], args: argparse.Namespace) -> bool:
    """True for a peer whose best time is over ``--repeat-peers-within`` x the fastest
    omescale run of its families (floors and omescale are always repeated)."""
    if not args.repeat_peers_within or row is None or "seconds" not in row:
        return False
    if run.contender.startswith(("floor", "codec_floor", "omescale")):
        return False
    ours = [b["seconds"] for r, b in zip(runs, best, strict=True)
            if r.contender == "omescale" and b and "seconds" in b
            and set(r.families) & set(run.families)]
    return bool(ours) and row["seconds"] > args.repeat_peers_within * min(ours)


def _matrix(args: argparse.Namespace, families: list[str], result: dict[str, Any]) -> None:
    """The workload matrix: every workload x codec cell, one after another."""
    names = _csv(args.workloads) if args.workloads else list(MATRIX_ORDER)
    missing: dict[str, str | None] = {}
    t0 = time.perf_counter()
    for size in [float(s) for s in _csv(args.size)]:
        for wl in workloads(names, quick=args.quick, size=size, matrix=not args.full):
            kind = ("inplace" if wl.inplace else "sharded" if wl.shards
                    else "cluster" if wl.scheduler == "cluster" else "plain")
            runs = matrix_runs(kind, families, _csv(args.only) or None,
                               history=wl.name in ("volume", "inplace"))
            for codec in _csv(args.codecs):
                cell = _run_cell(wl, codec, runs, args, missing, size)
                result["workloads"].append(cell)
                print(format_matrix({**result, "workloads": [cell]}), flush=True)
                if args.json:  # saved after every cell: a long run keeps what it measured
                    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                    Path(args.json).write_text(json.dumps(result, indent=1))
    result["matrix_wall_seconds"] = time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the tables (and targets) and optionally save JSON."""
    args = _parser().parse_args(argv)
    if args.workloads is None and not args.matrix:
        args.workloads = "volume" if args.quick else "volume,plane"
    if args.methods is None:
        args.methods = "local_mean,resize" if args.quick else ",".join(FAMILIES)
    families = _csv(args.methods)
    bad = [f for f in families if f not in FAMILIES]
    if bad:
        raise SystemExit(f"unknown method(s) {bad}; choose from {list(FAMILIES)}")
    missing: dict[str, str | None] = {}
    result: dict[str, Any] = {"codec": args.codec, "families": families, "quick": args.quick,
                              "matrix": args.matrix,
                              "machine": {**_machine(), "python_workers": args.python},
                              "versions": _versions(args.python),
                              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "workloads": []}
    if args.matrix:
        _matrix(args, families, result)
        return _finish(args, result)
    runs = plan_runs(families, _csv(args.only) or None)
    for size in [float(s) for s in _csv(args.size)]:
        for wl in workloads(_csv(args.workloads), quick=args.quick, size=size):
            result["workloads"].append(_run_cell(wl, args.codec, runs, args, missing, size))
    return _finish(args, result)


def _print_targets(title: str, checks: Any) -> None:
    """One line per target check: ``(name, met, detail)``, met True/False/None (n/a)."""
    print(f"targets on {title}:")
    for name, met, detail in checks:
        mark = {True: "MET ", False: "MISS", None: "n/a "}[met]
        print(f"  [{mark}] {name}: {detail}")


def _finish(args: argparse.Namespace, result: dict[str, Any]) -> int:
    """Print the tables and targets; save the JSON."""
    result["machine"]["load_avg_end"] = list(psutil.getloadavg())
    print()
    if result.get("matrix"):
        print(format_matrix(result))
        if not args.no_targets:
            for cell in result["workloads"]:
                _print_targets(f"{cell['name']} {cell['codec']}", check_cell(cell))
        print(f"matrix wall time {result.get('matrix_wall_seconds', 0) / 60:.1f} min")
        return _save(args, result)
    print(format_tables(result))
    flat = flatness(result)
    if flat:
        print("peak RSS across sizes (omescale):")
        print("\n".join(flat))
    if not args.no_targets:
        for wl in result["workloads"]:
            _print_targets(f"{wl['name']} x{wl['size']:g}", check_targets(wl))
    return _save(args, result)


def _save(args: argparse.Namespace, result: dict[str, Any]) -> int:
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
