"""Store faults (issue 14 item 6): transient errors are retried per object; a store that keeps
failing stops the write with a clear error, and resume finishes it.

The flaky store is a real zarr store: a ``WrapperStore`` around a LocalStore that fails a
chosen fraction of its chunk-object calls (get, set, delete) and listings, deterministically
(every n-th call), with ``OSError`` (EIO) or ``TimeoutError``, as object stores do under load.
"""

from __future__ import annotations

import errno
import threading

import dask
import numpy as np
import pytest
import zarr
from _ngff_util import is_complete, tree_bytes
from zarr.storage import LocalStore, WrapperStore

import omescale
from omescale.errors import StoreFaultError
from omescale.ngff.store import LOCK_KEY

IMAGE = np.random.default_rng(8).integers(1, 60000, size=(70, 90), dtype=np.uint16)
KW = {"chunks": (16, 16), "scale_factors": [2, 4], "method": "resize"}


class FlakyStore(WrapperStore):
    """Fails every ``every``-th call on a chunk object (or listing); after ``broken_after``
    successful chunk writes, every chunk write fails."""

    def __init__(self, store, every=3, broken_after=None):
        super().__init__(store)
        self.every, self.broken_after = every, broken_after
        self.calls = self.failures = self.writes = 0
        self.lock = threading.Lock()

    def _fault(self, key, kind):
        if "/c/" not in f"/{key}":  # metadata and the lock are left alone
            return
        with self.lock:
            if kind == "set" and self.broken_after is not None:
                if self.writes >= self.broken_after:
                    self.failures += 1
                    raise OSError(errno.EIO, "simulated: the store is down")
            self.calls += 1
            if self.calls % self.every == 0:
                self.failures += 1
                if self.calls % (2 * self.every) == 0:
                    raise TimeoutError("simulated: 503 slow down")
                raise OSError(errno.EIO, "simulated: transient I/O error")
            if kind == "set":
                self.writes += 1

    async def get(self, key, prototype, byte_range=None):
        self._fault(key, "get")
        return await self._store.get(key, prototype, byte_range)

    async def set(self, key, value):
        self._fault(key, "set")
        return await self._store.set(key, value)

    async def delete(self, key):
        self._fault(key, "delete")
        return await self._store.delete(key)

    def list_prefix(self, prefix):
        self._fault(prefix + "c/", "list")
        return self._store.list_prefix(prefix)


def test_a_flaky_store_loses_nothing(tmp_path):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, **KW)
    flaky = FlakyStore(LocalStore(str(out)), every=3)
    omescale.write_pyramid(IMAGE, flaky, **KW)
    assert flaky.failures >= 10  # a third of the chunk writes failed at first
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_a_store_that_stays_down_stops_the_write_then_resume_finishes(tmp_path):
    clean, out = tmp_path / "clean.zarr", tmp_path / "out.zarr"
    omescale.write_pyramid(IMAGE, clean, **KW)
    broken = FlakyStore(LocalStore(str(out)), every=10**9, broken_after=12)
    with dask.config.set({"omescale.store-retries": 3}), \
            pytest.raises(StoreFaultError, match="failed 3 times") as info:
        omescale.write_pyramid(IMAGE, broken, **KW)
    assert "resume=True finishes it" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert not is_complete(out) and not (out / LOCK_KEY).exists()
    healthy = FlakyStore(LocalStore(str(out)), every=4)  # still flaky, no longer down
    omescale.write_pyramid(IMAGE, healthy, resume=True, **KW)
    assert is_complete(out) and tree_bytes(out) == tree_bytes(clean)


def test_permanent_errors_are_not_retried(tmp_path):
    from omescale.ngff.retry import retried

    calls = []

    def missing():
        calls.append(1)
        raise FileNotFoundError("gone")

    with pytest.raises(FileNotFoundError):
        retried(missing, "get of x")
    assert calls == [1]
    assert zarr.__version__  # the store API above is zarr's own
