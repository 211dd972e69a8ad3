"""The few zarr and dask internals omescale relies on, in one place.

Checked against zarr 3.1.6 and 3.4.2 with dask 2025.12.0 and 2026.8.0. ``tests/test_internals.py``
exercises each one, so a release that moves or changes one fails there, loudly, instead of
omescale quietly taking a slower path.

- ``sync`` (``zarr.core.sync.sync``): runs a coroutine of zarr's async store API on zarr's own
  event loop, which the store may be bound to (fsspec). zarr has no public synchronous store API.
- ``default_buffer_prototype``: public as ``zarr.buffer`` in recent zarr 3 releases; older 3.0
  releases have it only in ``zarr.core.buffer``.
- ``normalize_chunks``: documented as ``dask.array.api.normalize_chunks`` in recent dask
  releases, and as ``dask.array.core.normalize_chunks`` before: the same function.
- ``array_source``: ``da.from_array(source)`` and ``da.from_zarr(array)`` keep the wrapped object
  in their graph under the key ``"original-" + name``, in a second layer of that name beside the
  chunk reads.
  dask offers no public way to ask an array what it reads; omescale uses it to recognise a plain
  read of a zarr array (to write it straight through) and its own lazy reads.
- ``unwrapped_store``: a ``zarr.storage.WrapperStore`` keeps the store it wraps in ``_store``;
  zarr has no public accessor. omescale judges a wrapped store (atomic writes or not) by it.
- ``blocking_local_store``: zarr's ``LocalStore`` has blocking ``get_sync`` / ``set_sync`` /
  ``delete_sync`` (the same files as its async methods, writes through a temporary file
  renamed into place) that the abstract ``Store`` of zarr 3.1 does not declare. They do the
  file I/O in the calling thread, where the async methods hand each call to zarr's event-loop
  thread and on to a file-I/O thread. Only a plain ``LocalStore`` qualifies: a subclass or a
  ``WrapperStore`` may override the async methods (zarr 3.4's ``WrapperStore.get_sync``
  would bypass a wrapper's own ``get``).
- ``data_nodes``: ``HighLevelGraph.cull`` lists the output keys of every layer (millions for a
  large array) whenever one layer holds a value in dask's legacy form; ``da.from_array`` and
  ``da.from_zarr`` keep their source object so. Wrapping such plain data values in
  ``dask._task_spec.DataNode`` (what dask's own ``convert_legacy_graph`` makes of them) lets a
  window of a user's array be culled in time proportional to the window. ``DataNode`` lives in
  the private ``dask._task_spec``.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
from dask._task_spec import DataNode, GraphNode
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer
from zarr.abc.store import Store
from zarr.core.sync import sync
from zarr.storage import LocalStore, WrapperStore

try:
    from zarr.buffer import default_buffer_prototype
except ImportError:  # zarr < 3.1: the same function, before it was public
    from zarr.core.buffer import default_buffer_prototype

try:
    from dask.array.api import normalize_chunks
except ImportError:  # dask before dask.array.api: the same function, documented in core
    from dask.array.core import normalize_chunks

__all__ = [
    "array_source", "blocking_local_store", "data_nodes", "default_buffer_prototype",
    "normalize_chunks", "sync", "unwrapped_store",
]

_BLOCKING = ("get_sync", "set_sync", "delete_sync")

_ORIGINAL = "original-"


def array_source(x: da.Array) -> Any | None:
    """The object ``x`` reads its chunks from when ``x`` is ``da.from_array(source)`` or
    ``da.from_zarr(array)`` as it is (not sliced, rechunked or computed on), else None."""
    # The layer is looked up by name: ``graph.get(key)`` would ask every layer for the key,
    # and a Blockwise layer answers by building all its tasks (267 s for a million blocks).
    graph = x.dask
    layer = graph.layers.get(_ORIGINAL + x.name)
    if layer is None or len(graph.layers) != 2:
        return None
    return layer.get(_ORIGINAL + x.name)


def unwrapped_store(store: Store) -> Store:
    """The innermost store under any ``WrapperStore`` layers (``store`` itself if none)."""
    while isinstance(store, WrapperStore):
        store = store._store
    return store


def blocking_local_store(store: Store) -> LocalStore | None:
    """``store`` when it is exactly zarr's ``LocalStore`` and has the blocking ``get_sync``,
    ``set_sync`` and ``delete_sync``; else None (the caller goes through ``sync``)."""
    if type(store) is LocalStore and all(hasattr(store, name) for name in _BLOCKING):
        return store
    return None


def _plain_data(value: Any) -> bool:
    """A legacy graph value that can be neither a task nor a key nor an alias of one."""
    return not isinstance(value, GraphNode | tuple | list | dict | set | str | bytes | int | float)


def data_nodes(graph: HighLevelGraph) -> HighLevelGraph:
    """``graph`` with every materialized layer that holds plain data only (``da.from_array``'s
    source object) in dask's task-spec form, or ``graph`` itself when it has none."""
    layers = dict(graph.layers)
    for name, layer in graph.layers.items():
        if isinstance(layer, MaterializedLayer) and layer.has_legacy_tasks and all(
                _plain_data(value) for value in layer.values()):
            layers[name] = MaterializedLayer({k: DataNode(k, v) for k, v in layer.items()})
    if all(layers[name] is graph.layers[name] for name in layers):
        return graph
    return HighLevelGraph(layers, dict(graph.dependencies))
