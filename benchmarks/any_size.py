"""Any-size targets (issue 16): arithmetic plans, a streamed write's first shard and memory,
streamed vs one graph on the 2 GiB volume, tasks and bytes per unit, the scheduler's tasks.

    python -m benchmarks.any_size [--root DIR] [--seconds 60] [--skip-real] [--skip-volume]
                                  [--skip-cluster] [--skip-client] [--rounds 3] [--methods ...]
                                  [--sizes 2 8 32]

Every measurement runs in a fresh subprocess (its whole process tree's RSS sampled with
psutil, its CPU seconds user+sys of the tree from the kernel's rusage of reaped children).
Virtual inputs are zarr 3 arrays with no chunk stored (reads give the fill value). The
machine is shared: the load average is printed next to the figures. ``--sizes`` writes
streamed pyramids of 2, 8 and 32 GiB volumes (made by :func:`_pattern_volume`, deleted after)
and prints each method's peak RSS per size. The client run writes 2 and 128 TiB virtual
inputs on a LocalCluster and on a separately started scheduler + worker pair for ``--seconds``
each, and prints the client process's own peak RSS and the bytes its sockets received (kernel
counters through ``ss``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from benchmarks.measure import tree_rss

ROOT = Path(__file__).resolve().parent.parent
VIRTUAL = {"128 TiB": (4096, 131072, 131072), "1 PiB": (16384, 131072, 262144)}
#: The client-memory run's virtual inputs (uint16, chunks 64x512x512, nothing stored).
CLIENT_SIZES = {"2 TiB": (256, 65536, 65536), "128 TiB": VIRTUAL["128 TiB"]}
SHARDS = "64,2048,2048"
_MARK = "@@any-size "


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path}


def _run(args: list[str], *, until: Any = None, limit: float = 3600,
         watch: Any = None) -> dict[str, Any]:
    """Run ``args``; sample the tree's RSS and the process's own; stop it when
    ``until(elapsed)`` says so; ``watch(pid)`` at every sample."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), start_new_session=True)
    ps, peak, own, stopped = psutil.Process(proc.pid), 0, 0, False
    while proc.poll() is None:
        peak = max(peak, tree_rss(ps))
        own = max(own, _own_rss(ps))
        if watch is not None:
            watch(proc.pid)
        elapsed = time.perf_counter() - start
        if (until is not None and until(elapsed)) or elapsed > limit:
            os.killpg(proc.pid, signal.SIGKILL)
            stopped = True
            break
        time.sleep(0.05)
    out, err = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = {"seconds": time.perf_counter() - start, "peak_rss": peak, "peak_own_rss": own,
              "stopped": stopped,
              "code": proc.returncode, "cpu_seconds": cpu, "load": os.getloadavg()[0]}
    for line in out.splitlines():
        if line.startswith(_MARK):
            result.update(json.loads(line[len(_MARK):]))
    if proc.returncode not in (0, -9) and not stopped:
        result["error"] = err.strip().splitlines()[-1:] or ["?"]
    return result


def _own_rss(ps: psutil.Process) -> int:
    try:
        return int(ps.memory_info().rss)
    except psutil.Error:
        return 0


def _virtual(root: Path, name: str) -> Path:
    import zarr

    path = root / f"virtual-{name.replace(' ', '')}.zarr"
    if not path.exists():
        shape = {**VIRTUAL, **CLIENT_SIZES}[name]
        zarr.create_array(str(path), shape=shape, chunks=(64, 512, 512), dtype="uint16",
                          fill_value=0)
    return path


_DRY = """
import io, json, resource, time, tracemalloc
t = time.perf_counter()
from omescale.cli_report import dry_run
imported = time.perf_counter() - t
out = io.StringIO()
t = time.perf_counter()
dry_run({src!r}, {out!r}, {{}}, shards={shards!r}, zarr_format=3, out=out)
plan_s = time.perf_counter() - t
from omescale.inputs import open_input
from omescale.ngff.job import storage_layout
from omescale.plan import plan_pyramid
from omescale.stream.units import stream_plan
import pickle
src = open_input({src!r})
plan = plan_pyramid(src.data.shape, src.data.dtype, input_chunks=(64, 512, 512))
splan = stream_plan(plan, [lt.block for lt in storage_layout(plan, {shards!r}, 3)])
print({mark!r} + json.dumps({{"import_s": imported, "plan_s": plan_s,
      "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
      "pickled_plan": len(pickle.dumps(splan)), "units": splan.units,
      "objects": splan.total_objects, "report": out.getvalue()}}))
"""


def dry_runs(root: Path) -> list[dict[str, Any]]:
    rows = []
    for name in VIRTUAL:
        src = _virtual(root, name)
        code = _DRY.format(src=str(src), out=str(root / "dry.zarr"), shards=(64, 2048, 2048),
                           mark=_MARK)
        res = _run([sys.executable, "-c", code])
        cli = _run([sys.executable, "-m", "omescale.cli", str(src), str(root / "dry.zarr"),
                    "--shards", SHARDS, "--dry-run"])
        rows.append({"input": name, **res, "cli_seconds": cli["seconds"],
                     "cli_peak_rss": cli["peak_rss"]})
    return rows


def _first_object(out: Path) -> bool:
    level0 = out / "0" / "c"
    return level0.exists() and any(p.is_file() for p in level0.rglob("*"))


def real_write(root: Path, seconds: float) -> dict[str, Any]:
    src, out = _virtual(root, "128 TiB"), root / "real.zarr"
    shutil.rmtree(out, ignore_errors=True)
    first: list[float] = []

    def until(elapsed: float) -> bool:
        if not first and _first_object(out):
            first.append(elapsed)
        return elapsed >= seconds

    res = _run([sys.executable, "-m", "omescale.cli", str(src), str(out), "--shards", SHARDS,
                "--no-progress"], until=until)
    objects = sum(1 for p in out.rglob("*") if p.is_file() and "/c/" in str(p))
    shutil.rmtree(out, ignore_errors=True)
    return {**res, "first_object_s": first[0] if first else None, "objects": objects}


def _volume(root: Path) -> Path:
    """The 2 GiB uint16 zyx benchmark volume (64x4096x4096, chunks 16x512x512)."""
    import dask.array as da
    import numpy as np

    path = root / "volume-2gib.zarr"
    if path.exists():
        return path

    def block(block_info: Any = None) -> np.ndarray:
        loc = block_info[None]["array-location"]
        z, y, x = np.ogrid[tuple(slice(*r) for r in loc)]
        noise = np.random.default_rng(loc[0][0] * 7 + loc[1][0] * 3 + loc[2][0])
        base = 20000 + 10000 * np.sin(y / 97.0) * np.cos(x / 61.0) + 50 * z
        shape = tuple(b - a for a, b in loc)
        return (base + noise.integers(0, 2000, size=shape)).astype(np.uint16)

    image = da.map_blocks(block, chunks=((16,) * 4, (512,) * 8, (512,) * 8), dtype=np.uint16)
    image.to_zarr(str(path))
    return path


def volume(root: Path, methods: list[str], rounds: int) -> list[dict[str, Any]]:
    """Each method written as one graph and streamed, in alternation, ``rounds`` times each."""
    src, rows = _volume(root), []
    for method in methods:
        for mode in ("no", "yes") * rounds:
            out = root / f"vol-{mode}.zarr"
            shutil.rmtree(out, ignore_errors=True)
            res = _run([sys.executable, "-m", "omescale.cli", str(src), str(out), "--method",
                        method, "--stream", mode, "--no-progress"])
            shutil.rmtree(out, ignore_errors=True)
            rows.append({"method": method, "stream": mode, **res})
            print(_volume_line(rows[-1]), flush=True)
    return rows


def _volume_line(row: dict[str, Any]) -> str:
    return (f"2 GiB volume {row['method']} stream={row['stream']}: {row['seconds']:.1f} s, "
            f"{row['cpu_seconds']:.1f} s CPU, peak tree RSS {_mib(row['peak_rss'])}, load "
            f"{row['load']:.1f} {row.get('error', '')}")


#: The memory run's volumes: size in GiB -> shape (uint16, chunks 16x512x512).
SIZES = {2: (64, 4096, 4096), 8: (64, 8192, 8192), 32: (64, 16384, 16384)}
STREAMABLE = ["local_mean", "nearest", "resize", "gaussian", "zoom", "laplacian"]


def _pattern_block(loc: tuple[tuple[int, int], ...]) -> Any:
    """A cheap block of the memory run's volume: smooth ramps plus a small hashed texture
    (a y-x plane computed once, plus z; compresses well, so 32 GiB is written in minutes)."""
    import numpy as np

    (z0, z1), (y0, y1), (x0, x1) = loc
    y, x = np.ogrid[y0:y1, x0:x1]
    plane = (y * 3 + x * 5) % 30011 + ((x * 2654435761 ^ y * 40503) & 255)
    z = np.arange(z0, z1, dtype=np.uint16)[:, None, None] * 7
    return plane.astype(np.uint16)[None] + z + np.uint16(20000)


def _pattern_volume(root: Path, gib: int) -> Path:
    """The ``gib`` GiB volume of the memory run, written chunk by chunk (blosc-lz4)."""
    import concurrent.futures
    import itertools

    import zarr
    from zarr.codecs import BloscCodec

    path = root / f"pattern-{gib}gib.zarr"
    done = path / "done"
    if done.exists():
        return path
    shape, chunks = SIZES[gib], (16, 512, 512)
    arr = zarr.create_array(str(path), shape=shape, chunks=chunks, dtype="uint16",
                            compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
                            overwrite=True)

    def write(index: tuple[int, ...]) -> None:
        loc = tuple((i * c, min((i + 1) * c, n))
                    for i, c, n in zip(index, chunks, shape, strict=True))
        arr[tuple(slice(*r) for r in loc)] = _pattern_block(loc)

    grid = itertools.product(*(range(-(-n // c)) for n, c in zip(shape, chunks, strict=True)))
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(write, grid))
    done.write_text("")
    return path


def memory_flat(root: Path, sizes: list[int], methods: list[str],
                keep: bool) -> list[dict[str, Any]]:
    """Peak tree RSS of a streamed write per size; method after method (all sizes each), so
    an interrupted run leaves whole rows."""
    rows, made = [], {}
    for gib in sizes:
        t0 = time.perf_counter()
        _pattern_volume(root, gib)
        made[gib] = time.perf_counter() - t0
        print(f"input {gib} GiB made in {made[gib]:.0f} s", flush=True)
    for method in methods:
        for gib in sizes:
            out = root / "flat.zarr"
            shutil.rmtree(out, ignore_errors=True)
            res = _run([sys.executable, "-m", "omescale.cli", str(_pattern_volume(root, gib)),
                        str(out), "--method", method, "--stream", "yes", "--no-progress"])
            shutil.rmtree(out, ignore_errors=True)
            rows.append({"gib": gib, "method": method, "input_s": made[gib], **res})
            print(_flat_line(rows[-1]), flush=True)
    if not keep:
        for gib in sizes:
            shutil.rmtree(root / f"pattern-{gib}gib.zarr", ignore_errors=True)
    return rows


def _flat_line(row: dict[str, Any]) -> str:
    return (f"memory {row['gib']} GiB {row['method']}: peak tree RSS {_mib(row['peak_rss'])}, "
            f"{row['seconds']:.0f} s wall, {row['cpu_seconds']:.0f} s CPU, load "
            f"{row['load']:.1f} {row.get('error', '')}")


def _flat_table(rows: list[dict[str, Any]], sizes: list[int]) -> None:
    print("method     " + "".join(f"{g:>5} GiB  " for g in sizes) + " max/min")
    for method in dict.fromkeys(r["method"] for r in rows):
        peaks = {r["gib"]: r["peak_rss"] for r in rows if r["method"] == method}
        cells = "".join(f"{_mib(peaks.get(g)):>10} " for g in sizes)
        vals = list(peaks.values())
        print(f"{method:<10} {cells} {max(vals) / min(vals):.2f}")


_CLUSTER = """
import json, threading, time, dask, distributed, omescale
with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                              silence_logs=50) as cluster, distributed.Client(cluster) as c:
    job = omescale.write_pyramid({src!r}, {out!r}, method="resize", stream=True,
                                 overwrite=True, compute=False)
    seen, stop = [], threading.Event()
    def poll():
        while not stop.is_set():
            seen.append(c.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)))
            time.sleep(0.05)
    t = threading.Thread(target=poll); t.start()
    start = time.perf_counter(); job.run(c); took = time.perf_counter() - start
    stop.set(); t.join()
    unit = next(job.units)
    print({mark!r} + json.dumps({{"max_scheduler_tasks": max(seen), "units": job.plan.units,
          "tasks_per_unit": len(dict(job.stream.work.graph(unit).__dask_graph__())),
          "run_s": took}}))
"""


def cluster(root: Path) -> dict[str, Any]:
    code = _CLUSTER.format(src=str(_volume(root)), out=str(root / "cluster.zarr"), mark=_MARK)
    res = _run([sys.executable, "-c", code])
    shutil.rmtree(root / "cluster.zarr", ignore_errors=True)
    return res


_CLIENT = """
import json, resource, threading, time, distributed, omescale
from distributed.diagnostics.plugin import SchedulerPlugin
UNIT = "omescale-unit-run-"
class Units(SchedulerPlugin):
    # In the scheduler: unit tasks given, most held at once, bytes of their results.
    name = "omescale-units"
    def __init__(self):
        self.given = self.most = self.results = self.result_bytes = self.result_max = 0
    async def start(self, scheduler):
        self.scheduler = scheduler
    def update_graph(self, scheduler, *, keys, **kwargs):
        self.given += sum(str(k).startswith(UNIT) for k in keys)
        self.most = max(self.most, sum(str(k).startswith(UNIT) for k in scheduler.tasks))
    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "memory" and str(key).startswith(UNIT):
            nbytes = self.scheduler.tasks[key].nbytes
            self.results += 1
            self.result_bytes += nbytes
            self.result_max = max(self.result_max, nbytes)
def stats(dask_scheduler):
    p = dask_scheduler.plugins["omescale-units"]
    return {{k: getattr(p, k) for k in ("given", "most", "results", "result_bytes",
                                        "result_max")}}
done = {{"units": 0, "bytes": 0}}
def progress(p):
    done["units"], done["bytes"] = p.units_done, p.bytes_done
address = {address!r}
cluster = None if address else distributed.LocalCluster(
    n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50)
with distributed.Client(address or cluster) as c:
    c.wait_for_workers(2, timeout=120)
    c.register_plugin(Units())
    job = omescale.write_pyramid({src!r}, {out!r}, method="local_mean", stream=True,
                                 overwrite=True, compute=False)
    start = time.perf_counter()
    def report():
        while True:
            time.sleep(2)
            print({mark!r} + json.dumps({{
                "client_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "client_sent_bytes": c.scheduler_comm.byte_count, "units_done": done["units"],
                "level_bytes_done": done["bytes"], "run_s": time.perf_counter() - start,
                "plan_units": job.plan.units, **c.run_on_scheduler(stats)}}), flush=True)
    threading.Thread(target=report, daemon=True).start()
    job.run(c, progress=progress)
"""


def _socket_bytes(pid: int, seen: dict[str, int]) -> None:
    """Keep each TCP socket of ``pid``'s bytes received so far (kernel tcp_info via ``ss``)."""
    out = subprocess.run(["ss", "-tinpH"], capture_output=True, text=True).stdout
    lines = out.splitlines()
    for head, info in zip(lines[::2], lines[1::2], strict=False):
        if f"pid={pid}," not in head:
            continue
        found = [f for f in info.split() if f.startswith("bytes_received:")]
        if found:
            name = " ".join(head.split()[3:5])
            seen[name] = max(seen.get(name, 0), int(found[0].split(":")[1]))


@contextlib.contextmanager
def _remote_cluster(root: Path) -> Iterator[str]:
    """A separately started ``dask scheduler`` (free port, read from its scheduler file) and
    ``dask worker --nworkers 2 --nthreads 1``; its address; both stopped after."""
    file = root / "scheduler.json"
    file.unlink(missing_ok=True)
    cli = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*cli, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        address, end = None, time.monotonic() + 120
        while address is None and time.monotonic() < end:
            time.sleep(0.2)
            try:
                address = json.loads(file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                continue
        if address is None:
            raise RuntimeError("the dask scheduler did not start")
        procs.append(subprocess.Popen([*cli, "worker", address, "--nworkers", "2",
                                       "--nthreads", "1", "--no-dashboard", "--local-directory",
                                       str(root)], env=_env(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        yield address
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _client_run(root: Path, name: str, seconds: float, address: str) -> dict[str, Any]:
    out, received, last = root / "client.zarr", {}, [0.0]
    shutil.rmtree(out, ignore_errors=True)
    code = _CLIENT.format(src=str(_virtual(root, name)), out=str(out), mark=_MARK,
                          address=address)

    def watch(pid: int) -> None:
        if time.perf_counter() - last[0] > 1.0:
            last[0] = time.perf_counter()
            _socket_bytes(pid, received)

    res = _run([sys.executable, "-c", code], until=lambda t: t >= seconds, watch=watch)
    return {"input": name, **res, "received_bytes": sum(received.values()),
            "sockets": len(received), "cluster": "remote" if address else "LocalCluster"}


def client_memory(root: Path, seconds: float) -> list[dict[str, Any]]:
    """A streamed local_mean write of each virtual input of :data:`CLIENT_SIZES`, stopped
    after ``seconds``, on a LocalCluster (2 workers x 1 thread; its scheduler runs in the
    client process, the workers are its children) and on a separately started ``dask
    scheduler`` + ``dask worker`` pair (2 x 1): the client process's own peak RSS, the bytes
    its sockets received, the unit tasks the scheduler held and their results' size."""
    rows = []
    for name in CLIENT_SIZES:
        rows.append(_client_run(root, name, seconds, ""))
        print(_client_line(rows[-1]), flush=True)
        with _remote_cluster(root) as address:  # its workers outlive the killed client
            rows.append(_client_run(root, name, seconds, address))
        print(_client_line(rows[-1]), flush=True)
    shutil.rmtree(root / "client.zarr", ignore_errors=True)
    return rows


def _client_line(r: dict[str, Any]) -> str:
    done = r.get("level_bytes_done", 0)
    return (f"client on a {r['cluster']}, {r['input']} virtual, local_mean streamed, stopped "
            f"after {r['seconds']:.0f} s: client process peak RSS {_mib(r['peak_own_rss'])} "
            f"(its own maxrss {_mib(r.get('client_maxrss'))}; tree with workers "
            f"{_mib(r['peak_rss'])}); {r.get('units_done')} of {r.get('plan_units')} units "
            f"done ({done / 2**30:.1f} GiB of level 0); the scheduler got "
            f"{r.get('given')} unit tasks, held at most {r.get('most')}, results "
            f"{r.get('result_bytes')} B in all (max {r.get('result_max')} B); the client "
            f"sent {_kib(r.get('client_sent_bytes'))} to the scheduler and its "
            f"{r['sockets']} sockets received {_kib(r['received_bytes'])}; load "
            f"{r['load']:.1f} {r.get('error', '')}")


def _kib(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**10:.0f} KiB"


def _mib(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.any_size", description=__doc__)
    p.add_argument("--root", type=Path, default=Path("/tmp/omescale-any-size"))
    p.add_argument("--seconds", type=float, default=60.0, help="length of the real write")
    p.add_argument("--methods", nargs="+", default=STREAMABLE)
    p.add_argument("--rounds", type=int, default=3, help="alternations of the 2 GiB volume")
    p.add_argument("--skip-dry", action="store_true")
    p.add_argument("--skip-real", action="store_true")
    p.add_argument("--skip-volume", action="store_true")
    p.add_argument("--skip-cluster", action="store_true")
    p.add_argument("--skip-client", action="store_true",
                   help="skip the client's memory on a LocalCluster (2 and 128 TiB virtual)")
    p.add_argument("--sizes", nargs="*", type=int, choices=sorted(SIZES), default=[],
                   help="memory run: streamed writes of these volumes (GiB)")
    p.add_argument("--keep-inputs", action="store_true", help="keep the memory run's volumes")
    args = p.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()} on {os.cpu_count()} cores")
    if args.sizes:
        rows = memory_flat(args.root, args.sizes, args.methods, args.keep_inputs)
        _flat_table(rows, args.sizes)
        return 0
    if not args.skip_dry:
        _print_dry_runs(args.root)
    if not args.skip_real:
        r = real_write(args.root, args.seconds)
        print(f"real write 128 TiB (shards {SHARDS}): first level-0 object after "
              f"{r['first_object_s']} s; {r['objects']} objects in {r['seconds']:.0f} s; "
              f"peak tree RSS {_mib(r['peak_rss'])}; load {os.getloadavg()}")
    if not args.skip_volume:
        _print_volume(volume(args.root, args.methods, args.rounds), args.methods, args.rounds)
    if not args.skip_cluster:
        c = cluster(args.root)
        print(f"LocalCluster (2 workers) 2 GiB resize streamed: {c.get('units')} units, "
              f"{c.get('tasks_per_unit')} tasks in the first unit, scheduler held at most "
              f"{c.get('max_scheduler_tasks')} tasks; {c.get('run_s', 0):.1f} s "
              f"{c.get('error', '')}")
    if not args.skip_client:
        client_memory(args.root, args.seconds)
    print(f"load: {os.getloadavg()}")
    return 0


def _print_dry_runs(root: Path) -> None:
    for row in dry_runs(root):
        print(f"dry run {row['input']}: plan {row['plan_s']:.3f} s (+ import "
              f"{row['import_s']:.1f} s), maxrss {_mib(row['maxrss'])}; CLI wall "
              f"{row['cli_seconds']:.1f} s, tree {_mib(row['cli_peak_rss'])}; pickled plan "
              f"{row['pickled_plan']} B; {row['units']} units, {row['objects']} objects")
        print(row["report"].rstrip())
    print(f"load: {os.getloadavg()}")


def _print_volume(rows: list[dict[str, Any]], methods: list[str], rounds: int) -> None:
    for method in methods:
        best = {}
        for mode in ("no", "yes"):
            mine = [r for r in rows if r["method"] == method and r["stream"] == mode]
            best[mode] = {k: min(r[k] for r in mine) for k in ("seconds", "cpu_seconds")}
            best[mode]["peak_rss"] = max(r["peak_rss"] for r in mine)
        one, st = best["no"], best["yes"]
        print(f"  {method}: streamed / one graph = {st['seconds'] / one['seconds']:.2f} wall, "
              f"{st['cpu_seconds'] / one['cpu_seconds']:.2f} CPU (best of {rounds} each); "
              f"peak RSS {_mib(st['peak_rss'])} vs {_mib(one['peak_rss'])} (max of {rounds})")


if __name__ == "__main__":
    sys.exit(main())
