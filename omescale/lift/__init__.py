"""dask glue: one task per output block, reading the input region its kernel needs.

Knows nothing of methods or zarr: it takes a kernel with ``reach(axis, o0, o1)`` and
``__call__(region, starts, out_ranges)`` and builds the graph.
"""

from omescale.lift.graph import lift_kernel, output_chunks

__all__ = ["lift_kernel", "output_chunks"]
