"""Sweep pieces: split output blocks so that no input chunk is held for a later block's halo.

An output block whose kernel reaches a few rows into the next row of input chunks can only run
once that next row is read; until then the whole row it mainly needs stays in memory, and a
pyramid level keeps several rows of chunks alive for the level below: memory grows with the
image width. Splitting each block along one axis (the *sweep axis*) at the points where the
reach of its output rows crosses an input chunk border gives pieces that each need at most one
input chunk in full (plus thin halos). Every input chunk is then released by the piece that
ends in it, and only the pieces (in the output dtype, a fraction of the input) wait for the
rows below. The pieces are concatenated back into the storage blocks, so one task still
writes one storage object, and the values are the same on any split (the engine is exact on
any chunking).
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Callable, Sequence
from typing import Any

import dask

from omescale.lift.regions import chunk_offsets

__all__ = ["chain", "parallel_slots", "sweep_axis", "sweep_lag", "sweep_order", "sweep_pieces"]

Reach = Callable[[int, int], tuple[int, int]]


def _first_row_past(reach: Reach, o0: int, o1: int, border: int) -> int:
    """The first output row in ``[o0, o1)`` whose reach ends past ``border`` (``o1`` if none)."""
    lo, hi = o0, o1
    while lo < hi:
        mid = (lo + hi) // 2
        if reach(mid, mid + 1)[1] <= border:
            lo = mid + 1
        else:
            hi = mid
    return lo


def sweep_pieces(
    reach: Reach, out_chunks: Sequence[int], in_chunks: Sequence[int]
) -> tuple[int, ...]:
    """Output chunks of one axis, each block cut where its rows' reach passes an input border.

    The cuts only refine ``out_chunks``: concatenating the pieces of a block gives the block.
    """
    borders = chunk_offsets(in_chunks)[1:-1]
    offsets = chunk_offsets(out_chunks)
    pieces: list[int] = []
    for o0, o1 in itertools.pairwise(offsets):
        first = bisect.bisect_left(borders, reach(o0, o0 + 1)[1])
        last = bisect.bisect_left(borders, reach(o1 - 1, o1)[1])
        cuts = [o0]
        for border in borders[first:last]:
            cut = _first_row_past(reach, cuts[-1], o1, border)
            if cuts[-1] < cut < o1:
                cuts.append(cut)
        cuts.append(o1)
        pieces.extend(b - a for a, b in itertools.pairwise(cuts))
    return tuple(pieces)


def _crosses_borders(reach: Reach, pieces: Sequence[int], in_chunks: Sequence[int]) -> bool:
    """True when some piece needs rows of two input chunks (a halo across a border)."""
    borders = chunk_offsets(in_chunks)[1:-1]
    offsets = chunk_offsets(pieces)
    for p0, p1 in itertools.pairwise(offsets):
        lo, hi = reach(p0, p1)
        if bisect.bisect_right(borders, lo) != bisect.bisect_left(borders, hi):
            return True
    return False


def sweep_axis(
    reach: Callable[[int, int, int], tuple[int, int]],
    out_chunks: Sequence[Sequence[int]],
    in_chunks: Sequence[Sequence[int]],
) -> tuple[int, tuple[int, ...]] | None:
    """The first axis whose kernel reaches across input chunk borders and whose blocks split,
    with its pieces; ``None`` if there is none.

    Only one axis is split and ordered: the rows of that axis are what would otherwise be
    held for the halos.
    """
    for axis, (outs, ins) in enumerate(zip(out_chunks, in_chunks, strict=True)):
        if len(ins) < 2:
            continue
        axis_reach = lambda o0, o1, a=axis: reach(a, o0, o1)  # noqa: E731
        pieces = sweep_pieces(axis_reach, outs, ins)
        if len(pieces) > len(outs) and _crosses_borders(axis_reach, pieces, ins):
            return axis, pieces
    return None


def sweep_order(index: Sequence[int], axis: int, sweep_blocks: Sequence[Any]) -> tuple[int, ...]:
    """Sort key of the block at ``index``: the axes before the sweep axis, then the last input
    chunk the block needs on the sweep axis, then the other axes in order.

    Blocks that finish with the same row of input chunks run together, so each row is read,
    used and released before the next one.
    """
    last = sweep_blocks[index[axis]].parts[-1][0]
    return (*index[:axis], last, *index[axis + 1:], index[axis])


def _done(block: Any) -> None:
    """A tiny token standing for a finished block (no data travels with an ordering edge)."""
    del block


def chain(
    graph: dict, order: Sequence[Any], lag: int, done_name: str,
    add_after: Callable[[tuple, Any], tuple],
) -> dict:
    """Make block ``n`` of ``order`` wait for block ``n - lag``; returns the token tasks.

    At most ``lag`` blocks of the level run at once and they run in ``order``; ``add_after``
    rewrites a task to depend on one more key.
    """
    tokens = {}
    for n, (prev, key) in enumerate(zip(order, order[lag:], strict=False)):
        token = (done_name, n)
        tokens[token] = (_done, prev)
        graph[key] = add_after(graph[key], token)
    return tokens


def parallel_slots() -> int | None:
    """Threads that will run the graph, ``None`` when unknown (a client without workers yet).

    A current ``distributed`` client's threads unless dask is set to a local scheduler, else
    dask's ``num_workers`` or the CPU count (1 when synchronous).
    """
    scheduler = dask.config.get("scheduler", None)
    if scheduler in ("sync", "synchronous", "single-threaded"):
        return 1
    if scheduler in (None, "dask.distributed", "distributed"):
        try:
            from distributed import default_client

            threads = default_client().nthreads()
        except (ImportError, ValueError):  # no distributed, or no client
            pass
        else:
            # An asynchronous client answers with an awaitable: the count is unknown then.
            if not isinstance(threads, dict):
                getattr(threads, "close", lambda: None)()  # never awaited: close it quietly
                return None
            return sum(threads.values()) or None
    return max(1, int(dask.config.get("num_workers", None) or os.cpu_count() or 1))


def sweep_lag() -> int | None:
    """Blocks of one level in flight at once: the ``omescale.sweep-lag`` dask setting if given,
    else the threads minus one (one slot for reads, writes and codecs); ``None`` (no chain)
    when the threads are unknown, so that a cluster still scaling up is never starved."""
    configured = dask.config.get("omescale.sweep-lag", None)
    if configured is not None:
        return max(1, int(configured))
    slots = parallel_slots()
    return None if slots is None else max(1, slots - 1)
