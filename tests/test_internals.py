"""The zarr and dask internals fenced in ``omescale._internals`` still behave as omescale needs.

Each test fails loudly when a zarr or dask release moves or changes one of them: the fix is in
``omescale/_internals.py`` alone (and its list of checked versions).
"""

from __future__ import annotations

import tracemalloc

import dask.array as da
import numpy as np
import zarr

from omescale import _internals
from omescale._internals import array_source, default_buffer_prototype, normalize_chunks, sync
from omescale.inputs.source import checked_source, from_zarr_array
from omescale.inputs.zarr_input import plain_zarr_read
from omescale.lift.layers import flat_keys


def test_sync_runs_zarr_store_coroutines_with_its_buffers():
    store = zarr.storage.MemoryStore()
    payload = default_buffer_prototype().buffer.from_bytes(b"omescale")
    sync(store.set("a/b", payload))
    assert sync(store.exists("a/b"))
    got = sync(store.get("a/b", prototype=default_buffer_prototype()))
    assert got.to_bytes() == b"omescale"


def test_normalize_chunks_is_dasks():
    assert normalize_chunks((2, 3), (5, 6)) == ((2, 2, 1), (3, 3))
    assert normalize_chunks(((4, 1), 3), (5, 6)) == ((4, 1), (3, 3))
    assert normalize_chunks("auto", (10, 10), dtype=np.uint8) == ((10,), (10,))


def test_from_zarr_keeps_its_source_under_the_original_key():
    z = zarr.create_array(zarr.storage.MemoryStore(), shape=(6, 8), chunks=(3, 4), dtype="u2")
    x = da.from_zarr(z)
    assert array_source(x) is z, "dask no longer keeps the zarr array as 'original-<name>'"
    assert plain_zarr_read(x) is z
    # Anything computed on the read is not a plain read any more.
    for derived in (x[1:], x + 1, x.rechunk(2), x.astype("f4")):
        assert array_source(derived) is None
        assert plain_zarr_read(derived) is None


def test_array_source_never_builds_a_huge_graph():
    """16384 blocks computed on: asking what they read builds none of their tasks (looking the
    key up in the whole graph built every task: 267 s and GiBs for a million blocks)."""
    x = da.zeros((1024, 16384, 16384), dtype="u2", chunks=(64, 512, 512)) + 1
    tracemalloc.start()
    try:
        assert array_source(x) is None and plain_zarr_read(x) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_from_array_keeps_its_source_under_the_original_key():
    z = zarr.create_array(zarr.storage.MemoryStore(), shape=(6, 8), chunks=(3, 4), dtype="u2")
    ours = from_zarr_array(z, "in")
    assert checked_source(ours) is not None, "omescale's own reads are no longer recognised"
    assert checked_source(ours[:2]) is None


def test_flat_keys_follow_dask_key_order():
    x = da.zeros((4, 6, 2), chunks=(2, 3, 1))
    keys = flat_keys(x.__dask_keys__())
    assert keys == [(x.name, *i) for i in np.ndindex(*x.numblocks)]
    assert len(set(keys)) == x.npartitions


def test_unwrapped_store_reaches_through_wrapper_stores():
    inner = zarr.storage.MemoryStore()
    wrapped = zarr.storage.WrapperStore(zarr.storage.WrapperStore(inner))
    assert _internals.unwrapped_store(wrapped) is inner
    assert _internals.unwrapped_store(inner) is inner


def test_fenced_names_are_documented():
    # The module says which versions it was checked against; keep that list with the code.
    assert "zarr 3.1.6" in _internals.__doc__ and "dask 2025.12.0" in _internals.__doc__


def test_blocking_local_store_is_a_plain_local_store_only(tmp_path):
    local = zarr.storage.LocalStore(str(tmp_path / "a"))
    assert _internals.blocking_local_store(local) is local

    class Counting(zarr.storage.LocalStore):  # may override the async methods
        pass

    for other in (Counting(str(tmp_path / "b")), zarr.storage.WrapperStore(local),
                  zarr.storage.MemoryStore()):
        assert _internals.blocking_local_store(other) is None


def test_blocking_local_store_calls_write_atomically_what_the_async_ones_read(tmp_path):
    store = _internals.blocking_local_store(zarr.storage.LocalStore(str(tmp_path)))
    assert store is not None, "zarr's LocalStore lost get_sync / set_sync / delete_sync"
    put = default_buffer_prototype().buffer.from_bytes
    store.set_sync("a/c/0", put(b"first"))
    first = (tmp_path / "a" / "c" / "0").stat().st_ino
    store.set_sync("a/c/0", put(b"second"))
    # A new inode: written to a temporary file and renamed into place, none left behind.
    assert (tmp_path / "a" / "c" / "0").stat().st_ino != first
    assert sorted(p.name for p in (tmp_path / "a" / "c").iterdir()) == ["0"]
    got = sync(store.get("a/c/0", prototype=default_buffer_prototype()))
    assert got.to_bytes() == b"second"
    assert store.get_sync("a/c/0", prototype=default_buffer_prototype()).to_bytes() == b"second"
    assert store.get_sync("a/c/1", prototype=default_buffer_prototype()) is None
    store.delete_sync("a/c/0")
    store.delete_sync("a/c/0")  # a missing object is no error, as for the async delete
    assert not sync(store.exists("a/c/0"))


def test_data_nodes_turn_a_source_object_into_a_task_spec_node():
    """dask's cull lists every key of every layer while one layer is legacy: ``data_nodes``
    leaves none in a ``da.from_zarr`` graph, and the graph computes the same."""
    z = zarr.create_array(zarr.storage.MemoryStore(), shape=(6, 8), chunks=(3, 4), dtype="u2")
    z[:] = np.arange(48, dtype="u2").reshape(6, 8)
    x = da.from_zarr(z) + 1
    assert any(layer.has_legacy_tasks for layer in x.dask.layers.values()), \
        "dask no longer keeps from_zarr's source as a legacy value (data_nodes may go)"
    graph = _internals.data_nodes(x.dask)
    assert not any(layer.has_legacy_tasks for layer in graph.layers.values())
    same = da.Array(graph, x.name, x.chunks, meta=x._meta)
    assert np.array_equal(same.compute(), z[:] + 1)
    plain = da.zeros((4, 4), chunks=2) + 1
    assert _internals.data_nodes(plain.dask) is plain.dask

