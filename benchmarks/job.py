"""A benchmark job (who, which method, where) and the helpers every contender shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Job", "axes_of", "level_chunks", "open_base"]


@dataclass(frozen=True)
class Job:
    """One timed run: who, which method (the contender's own name for it), where."""

    contender: str
    method: str
    input: str
    output: str
    codec: str
    levels: int = 5

    @property
    def factors(self) -> list[int]:
        """Cumulative y/x factors of levels 1.. (2, 4, 8, 16 for 5 levels)."""
        return [2**k for k in range(1, self.levels)]


def open_base(job: Job) -> Any:
    """The zarr array of level 0 of the job's input, read-only."""
    import zarr

    return zarr.open_array(str(Path(job.input) / "0"), mode="r")


def axes_of(arr: Any) -> str:
    """NGFF axes of a 2-D or 3-D benchmark array: ``yx`` or ``zyx``."""
    return "zyx"[-arr.ndim:]


def level_chunks(chunks: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The storage chunks ``chunks`` clipped to a level of ``shape``."""
    return tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))
