"""Dask graph layers built by hand (reads, gates, writes, the metadata task).

One place for ``HighLevelGraph.from_collections``: dask's annotations want keys typed as its
``Key`` union and collections as its ``DaskCollection`` protocol, which the task dicts and
``dask.array.Array`` here satisfy at run time but not to a type checker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dask.highlevelgraph import HighLevelGraph

__all__ = ["flat_keys", "new_layer"]


def new_layer(
    name: str, tasks: Mapping[Any, Any], dependencies: Iterable[Any] = ()
) -> HighLevelGraph:
    """A graph of one new layer ``name`` holding ``tasks``, on top of ``dependencies``'
    graphs (dask collections)."""
    return HighLevelGraph.from_collections(name, tasks, dependencies=list(dependencies))


def flat_keys(keys: Any) -> list[Any]:
    """The keys of a nested ``__dask_keys__()`` list, in order (a key is a tuple or a str)."""
    if isinstance(keys, list):
        return [key for item in keys for key in flat_keys(item)]
    return [keys]
