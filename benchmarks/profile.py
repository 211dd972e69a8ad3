"""Profile one contender with py-spy (every thread: dask works in its worker threads).

``python -m benchmarks.profile --method resize --size 0.25 [--contender omescale]`` (or
``--workload em --matrix --size 1``: the matrix's size of a workload) runs the
worker for that job under ``py-spy record --format raw`` (collapsed stacks, native frames off)
and prints where the samples fall: by *category* (decompress, compress, zarr/async I/O, kernel
maths, dask scheduling, idle) and the top functions by own samples and by inclusive samples.
pyinstrument (``benchmarks.worker --profile``) sees only the main thread, which here mostly waits.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from benchmarks.codecs import DEFAULT_CODEC
from benchmarks.contenders import Job
from benchmarks.measure import ROOT
from benchmarks.workloads import ensure_input, workloads

__all__ = ["categorize", "main", "summarize"]

#: Frames whose stacks are left out: the untimed warm-up and imports.
SKIP = ("warm_up (", "_find_and_load (", "_call_with_frames_removed (")
IDLE = "idle: waiting (locks, queues, futures)"
#: Leaf frames of a thread that waits rather than works.
IDLE_LEAVES = ("wait (threading", "acquire", "select (selectors", "_worker (concurrent",
               "get (queue", "_wait_for_tstate_lock")
#: (category, substrings of a frame "function (file)") by priority: a stack belongs to the first
#: category any of its frames matches, so blosc called from zarr called from an omescale task
#: counts as compression, and numpy called from a kernel counts as the kernel.
CATEGORIES = [
    ("decompress (codec)", ("_decode_sync", "decode_chunk")),
    ("compress (codec)", ("_encode_sync", "encode_chunk")),
    ("omescale kernels", ("omescale/kernels",)),
    ("zarr (indexing, buffers, store I/O)", ("zarr/",)),
    ("scipy.ndimage", ("scipy/ndimage",)),
    ("numpy", ("numpy/",)),
    ("omescale lift/tasks", ("omescale/",)),
    ("dask scheduler/graph", ("dask/",)),
]


def categorize(stack: list[str]) -> str:
    """The category of one sampled stack (frames root first)."""
    if any(n in stack[-1] for n in IDLE_LEAVES):
        return IDLE
    for name, needles in CATEGORIES:
        if any(n in frame for frame in stack for n in needles):
            return name
    return "other"


def summarize(raw: str, top: int = 15, rate: int = 100) -> str:
    """Text summary of py-spy ``--format raw`` output (``frame;frame;... count`` lines)."""
    idle_leaves: set[str] = set()
    cats: Counter[str] = Counter()
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        n = int(count_text)
        frames = stack_text.split(";")[1:]  # first entry names the thread
        if not frames or any(f.startswith(SKIP) for f in frames):
            continue
        total += n
        cat = categorize(frames)
        cats[cat] += n
        own[frames[-1]] += n
        if cat == IDLE:
            idle_leaves.add(frames[-1])
        for f in set(frames):
            incl[f] += n
    idle = cats.pop(IDLE, 0)
    busy = max(1, total - idle)
    lines = [f"{total} samples over all threads, {idle} idle (waiting); shares below are of "
             f"the {total - idle} busy samples ({(total - idle) / rate:.1f} thread-seconds, "
             "which count threads waiting for the GIL too, so more than the CPU time)",
             "busy samples by category:"]
    lines += [f"  {100 * c / busy:5.1f} %  {name}" for name, c in cats.most_common()]
    lines.append("top busy functions by own samples:")
    top_own = [(f, c) for f, c in own.most_common() if f not in idle_leaves][:top]
    lines += [f"  {100 * c / busy:5.1f} %  {f}" for f, c in top_own]
    lines.append("top omescale functions by inclusive samples:")
    ours = [(f, c) for f, c in incl.most_common() if "omescale/" in f][:top]
    lines += [f"  {100 * c / busy:5.1f} %  {f}" for f, c in ours]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Record and summarize a py-spy profile of one benchmark job."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("--contender", default="omescale")
    p.add_argument("--method", default="resize")
    p.add_argument("--workload", default="volume")
    p.add_argument("--size", type=float, default=0.25)
    p.add_argument("--matrix", action="store_true", help="the workload at its matrix size")
    p.add_argument("--codec", default=DEFAULT_CODEC)
    p.add_argument("--rate", type=int, default=100, help="samples per second")
    p.add_argument("--out", default=str(ROOT / "bench-results" / "profile.txt"))
    p.add_argument("--data", default=str(ROOT / "bench-data"))
    args = p.parse_args(argv)
    (wl,) = workloads([args.workload], size=args.size, matrix=args.matrix)
    src = ensure_input(wl, args.codec, Path(args.data))
    out_dir = Path(args.data) / "out" / "profile.zarr"
    shutil.rmtree(out_dir, ignore_errors=True)
    job = Job(args.contender, args.method, str(src), str(out_dir), args.codec)
    raw = Path(args.out).with_suffix(".raw")
    raw.parent.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    cmd = [spy, "record", "--format", "raw", "--rate", str(args.rate), "--threads",
           "--idle", "-o", str(raw), "--", sys.executable, "-m", "benchmarks.worker",
           json.dumps(asdict(job))]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    result = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    status = result or proc.stderr[-500:]
    header = f"{args.contender}:{args.method} on {wl.name} {wl.shape}: {status}"
    text = header + "\n" + summarize(raw.read_text(), rate=args.rate)
    Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
