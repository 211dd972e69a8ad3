"""Scratch arrays: what omescale keeps inside an output only while it writes it.

A streamed ``laplacian`` write (``omescale.ngff.streamed_laplacian``) computes its levels from
the float Gaussian chain ``G_k`` (float64, never quantized), which is no level of the pyramid:
a stage's later levels cannot be computed from the band-pass level it stored. So the stage
that ends at level ``k`` also stores ``G_k`` in the scratch array ``.omescale-chain/<k>`` of
the image group (float64, the chunks, shards and codec of level ``k``), and the next stage
reads it back from there.

The scratch exists only while the image is marked incomplete: the job's finish step deletes
the ``.omescale-chain`` group (only what omescale wrote there) *before* it writes the final
metadata that removes the marker. A crash between the two leaves an image still marked
incomplete; its resume finds the chain's objects missing and recomputes them stage by stage
from the input (the levels' objects are present and are not rewritten). Nothing lists the
scratch as a level (the multiscales metadata never names it; ``omescale info`` lists numbered
arrays only), and ``omescale verify`` reports an interrupted write incomplete by its marker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import zarr

from omescale.ngff.job import LevelLayout, open_array
from omescale.plan import PyramidPlan

__all__ = ["CHAIN_GROUP", "Chain", "delete_chain", "finish_after_chain", "open_chain"]

#: The group of the image that holds the chain's scratch arrays.
CHAIN_GROUP = ".omescale-chain"

#: The chain's values: float64 whatever the output dtype, as the one-graph write computes it.
CHAIN_DTYPE = np.dtype(np.float64)


@dataclass(frozen=True)
class Chain:
    """The stored float Gaussian chain ``G_level``: a scratch array a unit writes or reads
    (a streamed write's storage targets are level numbers, and these)."""

    level: int


def chain_path(level: int) -> str:
    """Path of the scratch array of ``G_level`` inside the image group."""
    return f"{CHAIN_GROUP}/{level}"


def open_chain(
    group: zarr.Group, plan: PyramidPlan, layouts: Sequence[LevelLayout], levels: Sequence[int],
    *, resume: bool, where: str,
) -> dict[int, zarr.Array]:
    """Create (on resume: reopen and check) the scratch array of ``G_k`` for each of
    ``levels``, in level ``k``'s chunks, shards and codec."""
    return {k: open_array(group, chain_path(k), plan.levels[k].shape, CHAIN_DTYPE, layouts[k],
                          plan.axes, resume=resume, where=where)
            for k in levels}


def delete_chain(group: zarr.Group) -> None:
    """Delete the scratch group, when there is one (nothing else of the image)."""
    if CHAIN_GROUP in group:
        del group[CHAIN_GROUP]


def finish_after_chain(group: zarr.Group, finish: Callable[[], None]) -> None:
    """A streamed laplacian job's last step: delete the scratch, then ``finish`` (the
    metadata step that marks the image whole)."""
    delete_chain(group)
    finish()
