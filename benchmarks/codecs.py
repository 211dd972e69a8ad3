"""The compression codecs a benchmark may use, by name, as zarr v3 codec objects.

Every contender in one run writes with the same codec (and the input is stored with it too),
so the comparison measures downsampling and writing, not a difference in compression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CODECS", "DEFAULT_CODEC", "compressors"]


def _zstd(level: int) -> Callable[[int], Any]:
    def make(typesize: int = 2) -> Any:
        from zarr.codecs import ZstdCodec

        return ZstdCodec(level=level)

    return make


def _blosc(cname: str, clevel: int, shuffle: str) -> Callable[[int], Any]:
    def make(typesize: int = 2) -> Any:
        from zarr.codecs import BloscCodec

        return BloscCodec(cname=cname, clevel=clevel, shuffle=shuffle, typesize=typesize)

    return make


#: name -> factory of the zarr v3 bytes-to-bytes codec (``None``: no compression). zarr's own
#: v3 default is ``ZstdCodec(level=0)``, and zstd level 0 means its default level 3, so
#: ``zstd-3`` is what a writer that passes no codec gets.
CODECS: dict[str, Callable[[int], Any] | None] = {
    "none": None,
    "zstd-1": _zstd(1),
    "zstd-3": _zstd(3),
    "zstd-5": _zstd(5),
    "blosc-lz4": _blosc("lz4", 5, "shuffle"),
    "blosc-lz4-bit": _blosc("lz4", 5, "bitshuffle"),
    "blosc-zstd-1": _blosc("zstd", 1, "shuffle"),
}

#: Chosen by measurement (``python -m benchmarks.codec_choice``); see docs/benchmarks.md.
DEFAULT_CODEC = "blosc-lz4"


def compressors(name: str, dtype: Any = "uint16") -> list[Any]:
    """The ``compressors=`` list for ``zarr.create_array`` named ``name`` (empty for ``none``);
    blosc's shuffle works on items of ``dtype``."""
    import numpy as np

    if name not in CODECS:
        raise ValueError(f"unknown codec {name!r}; choose from {sorted(CODECS)}")
    make = CODECS[name]
    return [] if make is None else [make(np.dtype(dtype).itemsize)]
