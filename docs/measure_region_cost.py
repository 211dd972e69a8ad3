"""What computing one physical region costs, at each level, written or lazy.

Run ``python3 docs/measure_region_cost.py`` (needs the xarray extra); it prints the figures
kept in ``docs/notebooks.md``. A 64 MiB sample volume is written once (4 levels); then the same
physical region (x and y in [100, 200) micrometres, all z) is computed at every level:

- from the written pyramid (``omescale.open_pyramid``): the stored objects read are counted
  by a store wrapper, the tasks run by a dask callback;
- from the lazy pyramid of the stored level 0 (``omescale.pyramid(..., as_xarray=True)`` on
  ``open_pyramid(...)["scale0/image"]``, nothing written): the level-0 objects read.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dask
from dask.callbacks import Callback
from zarr.abc.store import ByteRequest
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import LocalStore, WrapperStore

import omescale
from omescale.sample import SAMPLE_PHYSICAL_SIZES, SAMPLE_UNITS, sample

REGION = {"x": slice(100.0, 200.0), "y": slice(100.0, 200.0)}


class CountingStore(WrapperStore):
    """Counts the chunk objects (not metadata) read through it, and their bytes."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.reads: list[str] = []
        self.nbytes = 0

    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        out = await self._store.get(key, prototype, byte_range)
        if out is not None and not key.endswith((".json", ".zarray", ".zattrs", ".zgroup")):
            self.reads.append(key)
            self.nbytes += len(out)
        return out


class Tasks(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _pretask(self, key, dsk, state) -> None:
        self.count += 1


def _cost(image: Any, store: CountingStore) -> tuple[tuple[int, ...], int, int, int]:
    """Region shape, objects read, bytes read, tasks run for one region of ``image``."""
    store.reads.clear()
    store.nbytes = 0
    region = image.sel(**REGION)
    with Tasks() as tasks:
        region.compute()
    return region.shape, len(store.reads), store.nbytes, tasks.count


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, dask.config.set(scheduler="threads"):
        path = Path(tmp) / "sample.ome.zarr"
        omescale.write_pyramid(sample((32, 1024, 1024), chunks=(16, 256, 256)), path,
                               scale_factors=[2, 4, 8], physical_sizes=SAMPLE_PHYSICAL_SIZES,
                               units=SAMPLE_UNITS)
        store = CountingStore(LocalStore(str(path), read_only=True))
        written = omescale.open_pyramid(store)
        lazy = omescale.pyramid(written["scale0/image"], [2, 4, 8], as_xarray=True)
        print("level | region shape | written: objects read, MiB, tasks | "
              "lazy (from level 0): objects read, MiB, tasks")
        for k, name in enumerate(written.children):
            shape, n, b, t = _cost(written[name]["image"], store)
            _, ln, lb, lt = _cost(lazy[name]["image"], store)
            print(f"{k} | {shape} | {n}, {b / 2**20:.2f}, {t} | {ln}, {lb / 2**20:.2f}, {lt}")


if __name__ == "__main__":
    main()
