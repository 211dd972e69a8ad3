"""Which of many storage objects are in the store: one listing per key directory.

A resume asks, for each work unit, which of the unit's storage objects (chunks, or shards when
sharded) are already written. Asking per object costs one store call each (an ``exists``: a
HEAD request on S3, two when the object is missing, as s3fs then lists the key as a
directory). Instead the objects are grouped by the directory of their key and each directory
is listed once:

- zarr 3's default keys ``c/i/j/k`` (and any ``/`` separated keys): the directory ``c/i/j``
  holds one row of objects along the last axis, so a unit lists one directory per row it
  touches, and each listing returns that row (never the level, never the store);
- ``.`` separated keys (zarr 2's default ``i.j.k``): every object of the array sits in the
  array's own directory, so a listing returns the whole level.

A directory is listed when that takes no more requests than asking for each of the unit's
objects in it (a listing returns at most :data:`LIST_PAGE` keys per request, the page size of
S3 and GCS); otherwise its objects are asked for one by one. So ``c/i/j`` rows are listed
whenever the unit has an object in them, while the ``.`` keys of a large level (a listing of
millions of names for a unit's few objects) fall back to per-object checks and those of a
small level are listed. Object stores could list a ``.`` row by key prefix (``0/i.j.``), but
zarr's store API lists by directory only.

Listings on fsspec stores are made afresh (s3fs would answer from its directory cache).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable

import zarr
from zarr.abc.store import Store

from omescale._internals import sync
from omescale.ngff.chunk_check import object_is_whole, object_key
from omescale.ngff.retry import retried
from omescale.ngff.store import atomic_writes, listed_names

__all__ = ["LIST_PAGE", "objects_done", "objects_present"]

#: Keys one listing request returns at most (S3 ``ListObjectsV2``, GCS): a directory of more
#: entries costs one request per page.
LIST_PAGE = 1000

Index = tuple[int, ...]


def _split(key: str) -> tuple[str, str]:
    directory, _, name = key.rpartition("/")
    return directory, name


def _name_axes(array: zarr.Array) -> tuple[int, ...]:
    """The axes whose block index is part of a key's name (not of its directory): the last
    axis for ``/`` separated keys, every axis for ``.`` separated ones."""
    origin = (0,) * array.ndim
    directory = _split(object_key(array, origin))[0]
    return tuple(a for a in range(array.ndim)
                 if _split(object_key(array, tuple(int(i == a) for i in range(array.ndim))))[0]
                 == directory)


def directory_size(array: zarr.Array) -> int:
    """How many storage objects of ``array`` share one key directory (what a listing
    returns, besides metadata)."""
    block = array.shards or array.chunks
    grid = [-(-n // b) for n, b in zip(array.shape, block, strict=True)]
    return math.prod(grid[a] for a in _name_axes(array))


def by_directory(array: zarr.Array,
                 indices: Iterable[Index]) -> dict[str, dict[str, Index]]:
    """``indices`` grouped by their key's directory: directory -> {name: index}."""
    groups: dict[str, dict[str, Index]] = {}
    for index in indices:
        directory, name = _split(object_key(array, index))
        groups.setdefault(directory, {})[name] = index
    return groups


def _exists(store: Store, key: str) -> bool:
    return retried(lambda: bool(sync(store.exists(key))), f"exists of {key}")


def objects_present(array: zarr.Array, indices: Collection[Index]) -> set[Index]:
    """The block indices among ``indices`` whose storage object is in ``array``'s store.

    One listing of each key directory the objects lie in, where that takes no more requests
    than one ``exists`` per object (module docstring); else one ``exists`` per object.
    """
    pages = -(-directory_size(array) // LIST_PAGE)
    present: set[Index] = set()
    for directory, names in by_directory(array, indices).items():
        if pages <= len(names):
            listed = listed_names(array.store, directory)
            present.update(index for name, index in names.items() if name in listed)
        else:
            prefix = f"{directory}/" if directory else ""
            present.update(index for name, index in names.items()
                           if _exists(array.store, prefix + name))
    return present


def objects_done(array: zarr.Array, indices: Collection[Index]) -> set[Index]:
    """The block indices among ``indices`` a resume may skip: present (``objects_present``)
    and, on a store whose writes are not atomic, whole (a torn object is rewritten;
    ``omescale.ngff.chunk_check.object_done`` is the rule for one object)."""
    present = objects_present(array, indices)
    if atomic_writes(array.store):
        return present
    return {index for index in present if object_is_whole(array, object_key(array, index))}

