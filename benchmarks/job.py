"""A benchmark job (who, which method, where) and the helpers every contender shares."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Job", "axes_of", "hardlink_copy", "level_chunks", "level_shapes", "ome_attrs",
           "open_base", "shard_layout"]


@dataclass(frozen=True)
class Job:
    """One timed run: who, which method (the contender's own name for it), where."""

    contender: str
    method: str
    input: str
    output: str
    codec: str
    levels: int = 5
    #: output shard shape (zarr 3 sharding), ``None`` for plain chunks
    shards: tuple[int, ...] | None = None
    #: ``"threads"`` (dask's default threaded scheduler) or ``"cluster"`` (a distributed
    #: LocalCluster of 2 workers x 1 thread, started before the timer)
    scheduler: str = "threads"

    def __post_init__(self) -> None:
        if self.shards is not None:  # JSON turns the tuple into a list
            object.__setattr__(self, "shards", tuple(self.shards))

    @property
    def factors(self) -> list[int]:
        """Cumulative y/x factors of levels 1.. (2, 4, 8, 16 for 5 levels)."""
        return [2**k for k in range(1, self.levels)]


def open_base(job: Job) -> Any:
    """The zarr array of level 0 of the job's input, read-only."""
    import zarr

    return zarr.open_array(str(Path(job.input) / "0"), mode="r")


def axes_of(arr: Any) -> str:
    """NGFF axes of a benchmark array: its dimension names (e.g. ``zyx``, ``cyx``, ``tczyx``)."""
    names = getattr(arr.metadata, "dimension_names", None)
    return "".join(names) if names else "tczyx"[-arr.ndim:]


def level_shapes(shape: tuple[int, ...], levels: int) -> list[tuple[int, ...]]:
    """Shapes of levels 0.. when y and x are halved per level (ceil, as ``[::2]`` gives)."""
    return [(*shape[:-2], *(-(-n // 2**k) for n in shape[-2:])) for k in range(levels)]


def shard_layout(shapes: list[tuple[int, ...]], chunks: tuple[int, ...],
                 shards: tuple[int, ...] | None) -> list[tuple[Any, ...]]:
    """(shape, chunks, shards) of each level: chunks clipped to the level, shards to whole
    chunks of it (as omescale lays them out)."""
    out = []
    for shape in shapes:
        c = level_chunks(chunks, shape)
        if shards is None:
            out.append((shape, c, None))
            continue
        whole = tuple(math.ceil(n / k) * k for n, k in zip(shape, c, strict=True))
        out.append((shape, c, tuple(min(s, w) for s, w in zip(shards, whole, strict=True))))
    return out


def ome_attrs(axes: str, levels: int, first_name: str = "") -> dict[str, Any]:
    """NGFF 0.5 attributes of a ``levels``-level image halved on y and x per level."""
    kinds = {"t": "time", "c": "channel"}
    datasets = [{"path": str(k), "coordinateTransformations": [
        {"type": "scale", "scale": [float(2**k) if a in "yx" else 1.0 for a in axes]}]}
        for k in range(levels)]
    return {"ome": {"version": "0.5", "multiscales": [{
        "name": first_name, "axes": [{"name": a, "type": kinds.get(a, "space")} for a in axes],
        "datasets": datasets}]}}


def hardlink_copy(src: Path, dst: Path) -> None:
    """Copy an OME-Zarr by hard-linking its chunk files; metadata files are real copies.

    Adding levels never rewrites level 0's chunks, so sharing their inodes is safe and free.
    """
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, copy_function=_link_or_copy)


def _link_or_copy(src: str, dst: str) -> None:
    if src.endswith(".json") or src.endswith(".complete"):
        shutil.copy2(src, dst)
    else:
        Path(dst).hardlink_to(src)


def level_chunks(chunks: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The storage chunks ``chunks`` clipped to a level of ``shape``."""
    return tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))
