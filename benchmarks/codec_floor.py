"""The codec floor: the least a pyramid write can cost with its codec, in plain Python files.

Every stored object (chunk file) of level 0 is read and decoded once with the codec's own
library (numcodecs Blosc or Zstd on the file's bytes: zarr 3's chain bytes -> compressor), each
level is taken from the decoded chunk by striding ``[..., ::2**k, ::2**k]``, and every level's
objects (chunks, or shards of chunks with their index) are encoded and written as plain files.
No zarr-python, no dask: one task per base chunk in a ``ThreadPoolExecutor`` with as many
threads as omescale's threaded scheduler (the CPU count). A partly filled output object waits in
memory until its last base chunk arrives; the tasks run in Morton order over y and x, so few wait.

``codec_floor_inplace`` is its in-place twin: levels 1.. only, added to a (hard-linked) copy of
the input. The targets of the workload matrix are set against these two.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.job import Job, hardlink_copy, level_shapes, ome_attrs, shard_layout

__all__ = ["codec_floor", "codec_floor_inplace"]

Box = tuple[tuple[int, int], ...]


def numcodec(name: str) -> Any:
    """The numcodecs codec that reads and writes the bytes of benchmark codec ``name``."""
    import numcodecs

    if name == "none":
        return None
    if name.startswith("zstd-"):
        return numcodecs.Zstd(level=int(name.split("-")[1]))
    if name.startswith("blosc-"):
        cname, shuffle = ("lz4", numcodecs.Blosc.SHUFFLE)
        if name == "blosc-lz4-bit":
            shuffle = numcodecs.Blosc.BITSHUFFLE
        elif name == "blosc-zstd-1":
            cname = "zstd"
        return numcodecs.Blosc(cname=cname, clevel=1 if cname == "zstd" else 5, shuffle=shuffle)
    raise ValueError(f"no numcodecs codec for {name!r}")


def _morton(index: tuple[int, ...]) -> tuple[Any, ...]:
    """Sort key: leading axes in order, then y and x bit-interleaved."""
    y, x = index[-2], index[-1]
    code = 0
    for bit in range(20):
        code |= ((y >> bit) & 1) << (2 * bit + 1) | ((x >> bit) & 1) << (2 * bit)
    return (*index[:-2], code)


class _Level:
    """One output level: its shape, object (chunk or shard) shape, chunk shape and folder."""

    def __init__(self, k: int, shape: tuple[int, ...], chunks: tuple[int, ...],
                 shards: tuple[int, ...] | None, root: Path) -> None:
        self.k, self.shape, self.chunks, self.shards = k, shape, chunks, shards
        self.obj = shards or chunks
        self.root = root
        self.step = 2**k

    def base_box(self, idx: tuple[int, ...], base_shape: tuple[int, ...]) -> Box:
        """The box of level 0 whose stride-``2**k`` samples fill object ``idx``."""
        box = []
        for ax, (i, o, n) in enumerate(zip(idx, self.obj, base_shape, strict=True)):
            f = self.step if ax >= len(base_shape) - 2 else 1
            box.append((i * o * f, min(n, (i + 1) * o * f)))
        return tuple(box)

    def path(self, idx: tuple[int, ...]) -> Path:
        return self.root / "c" / Path(*map(str, idx))


def _encode_object(level: _Level, buf: np.ndarray, codec: Any, crc: Any) -> bytes:
    """The bytes of one object: a chunk, or a shard (inner chunks in C order, index last)."""
    if level.shards is None:
        buf = np.ascontiguousarray(buf)
        return codec.encode(buf) if codec else buf.tobytes()
    grid = [s // c for s, c in zip(level.shards, level.chunks, strict=True)]
    parts, index, offset = [], [], 0
    for inner in product(*map(range, grid)):
        sl = tuple(slice(i * c, (i + 1) * c) for i, c in zip(inner, level.chunks, strict=True))
        data = np.ascontiguousarray(buf[sl])
        raw = codec.encode(data) if codec else data.tobytes()
        parts.append(raw)
        index += [offset, len(raw)]
        offset += len(raw)
    table = np.asarray(index, "<u8").tobytes()
    parts += [table, crc.encode(table)[-4:]]
    return b"".join(bytes(p) for p in parts)


class _Floor:
    """The state of one codec-floor write: the levels, the waiting objects and the codec."""

    def __init__(self, job: Job, levels: list[_Level], meta: dict[str, Any]) -> None:
        import numcodecs

        self.job, self.levels = job, levels
        self.base = Path(job.input) / "0"
        self.shape = tuple(meta["shape"])
        self.chunks = tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
        self.dtype = np.dtype(meta["data_type"])
        self.codec = numcodec(job.codec)
        self.crc = numcodecs.CRC32C() if any(lv.shards for lv in levels) else None
        self.lock = threading.Lock()
        self.waiting: dict[tuple[int, tuple[int, ...]], list[Any]] = {}

    def count(self, level: _Level, idx: tuple[int, ...]) -> int:
        """How many base chunks fall in object ``idx`` of ``level``."""
        box = level.base_box(idx, self.shape)
        return math.prod(-(-b // c) - a // c for (a, b), c in zip(box, self.chunks, strict=True))

    def read(self, idx: tuple[int, ...]) -> np.ndarray:
        """Base chunk ``idx``, decoded and cropped to the image."""
        raw = (self.base / "c" / Path(*map(str, idx))).read_bytes()
        data = self.codec.decode(raw) if self.codec else raw
        block = np.frombuffer(data, self.dtype).reshape(self.chunks)
        crop = tuple(slice(0, min(c, n - i * c))
                     for i, c, n in zip(idx, self.chunks, self.shape, strict=True))
        return block[crop]

    def place(self, level: _Level, idx: tuple[int, ...], block: np.ndarray) -> None:
        """Put base chunk ``idx`` (strided for ``level``) in its object; write it when full."""
        ny = len(self.shape) - 2
        start = [i * c // (level.step if ax >= ny else 1)
                 for ax, (i, c) in enumerate(zip(idx, self.chunks, strict=True))]
        obj = tuple(s // o for s, o in zip(start, level.obj, strict=True))
        part = block[..., ::level.step, ::level.step] if level.k else block
        if level.shards is None and part.shape == level.obj:  # a whole chunk: no assembly
            level.path(obj).write_bytes(_encode_object(level, part, self.codec, self.crc))
            return
        key = (level.k, obj)
        with self.lock:
            if key not in self.waiting:
                self.waiting[key] = [np.zeros(level.obj, self.dtype), self.count(level, obj)]
            entry = self.waiting[key]
        at = tuple(slice(s - o * n, s - o * n + m)
                   for s, o, n, m in zip(start, obj, level.obj, part.shape, strict=True))
        entry[0][at] = part
        with self.lock:
            entry[1] -= 1
            done = entry[1] == 0
            if done:
                del self.waiting[key]
        if done:
            level.path(obj).write_bytes(_encode_object(level, entry[0], self.codec, self.crc))

    def task(self, idx: tuple[int, ...]) -> None:
        block = self.read(idx)
        for level in self.levels:
            self.place(level, idx, block)


def _array_meta(base: dict[str, Any], level: _Level) -> dict[str, Any]:
    """zarr.json of one level: the base's metadata with the level's shape, chunks, shards."""
    meta = json.loads(json.dumps(base))
    meta["shape"] = list(level.shape)
    meta["fill_value"] = 0
    meta.pop("attributes", None)
    if level.shards is None:
        meta["chunk_grid"]["configuration"]["chunk_shape"] = list(level.chunks)
        return meta
    meta["chunk_grid"]["configuration"]["chunk_shape"] = list(level.shards)
    index = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]
    meta["codecs"] = [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": list(level.chunks), "codecs": base["codecs"],
        "index_codecs": index, "index_location": "end"}}]
    return meta


def _write(job: Job, first: int) -> float:
    """Write levels ``first..`` of ``job`` as the codec floor; the seconds it took."""
    t0 = time.perf_counter()
    meta = json.loads((Path(job.input) / "0" / "zarr.json").read_text())
    shape = tuple(meta["shape"])
    chunks = tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
    out = Path(job.output)
    levels = []
    for k, (lshape, lchunks, lshards) in enumerate(shard_layout(
            level_shapes(shape, job.levels), chunks, job.shards)):
        if k >= first:
            levels.append(_Level(k, lshape, lchunks, lshards, out / str(k)))
    for lv in levels:
        grid = [range(-(-n // o)) for n, o in zip(lv.shape, lv.obj, strict=True)]
        for idx in product(*[range(len(g)) for g in grid[:-1]]):
            lv.path((*idx, 0)).parent.mkdir(parents=True, exist_ok=True)
        (lv.root / "zarr.json").write_text(json.dumps(_array_meta(meta, lv)))
    floor = _Floor(job, levels, meta)
    tasks = sorted(product(*[range(-(-n // c)) for n, c in zip(shape, chunks, strict=True)]),
                   key=_morton)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for _ in pool.map(floor.task, tasks):
            pass
    if floor.waiting:
        raise RuntimeError(f"codec floor left {len(floor.waiting)} objects unwritten")
    axes = meta.get("dimension_names") or list("tczyx"[-len(shape):])
    group = {"zarr_format": 3, "node_type": "group",
             "attributes": ome_attrs("".join(axes), job.levels)}
    (out / "zarr.json").write_text(json.dumps(group))
    return time.perf_counter() - t0


def codec_floor(job: Job) -> float:
    """The codec floor: every level, level 0 included, into a fresh folder."""
    shutil.rmtree(job.output, ignore_errors=True)
    return _write(job, 0)


def codec_floor_inplace(job: Job) -> float:
    """The in-place codec floor: levels 1.. added to a hard-linked copy of the input."""
    hardlink_copy(Path(job.input), Path(job.output))
    return _write(job, 1)
