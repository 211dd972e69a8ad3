"""Compression codecs by name, for zarr format 2 (numcodecs) and 3 (zarr.codecs).

The default, blosc-lz4 with byte shuffle at level 5, was chosen by measurement
(``python -m benchmarks.codec_choice``, docs/benchmarks.md): on uint16 microscopy it stores less
than zarr's default zstd level 3 while encoding ~7x and decoding ~2.5x faster, and every zarr
implementation reads it. ``blosc-zstd`` stores ~8 % less for about two thirds of the speed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from omescale.errors import InvalidOptionError

if TYPE_CHECKING:  # the command line imports this module for its names: keep it light
    import numpy as np

    from omescale.ngff.metadata import ZarrFormat

__all__ = ["CODEC_NAMES", "DEFAULT_CODEC", "check_codec", "compressors"]

DEFAULT_CODEC = "blosc-lz4"
# name -> (blosc cname or "zstd", level); None: no compression.
_CODECS: dict[str, tuple[str, int] | None] = {
    "blosc-lz4": ("lz4", 5),
    "blosc-zstd": ("zstd", 1),
    "zstd": ("zstd-plain", 3),
    "none": None,
}
CODEC_NAMES = tuple(_CODECS)


def check_codec(name: str) -> str:
    """``name`` if it is a known codec, else an ``InvalidOptionError`` listing the choices."""
    if name not in _CODECS:
        raise InvalidOptionError(
            f"unknown codec {name!r}; choose one of: {', '.join(CODEC_NAMES)}"
        )
    return name


def compressors(name: str, zarr_format: ZarrFormat, dtype: np.dtype) -> Any:
    """The ``compressors=`` argument of ``zarr.create_array`` for codec ``name``."""
    spec = _CODECS[check_codec(name)]
    if spec is None:
        return None
    cname, level = spec
    if zarr_format == 2:
        import numcodecs

        if cname == "zstd-plain":
            return numcodecs.Zstd(level=level)
        return numcodecs.Blosc(cname=cname, clevel=level, shuffle=numcodecs.Blosc.SHUFFLE)
    import numpy as np
    from zarr.codecs import BloscCodec, ZstdCodec

    if cname == "zstd-plain":
        return ZstdCodec(level=level)
    return BloscCodec(cname=cast(Any, cname), clevel=level, shuffle="shuffle",
                      typesize=np.dtype(dtype).itemsize)
