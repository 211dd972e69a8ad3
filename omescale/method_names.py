"""The names of the downsampling methods, without what they are (``omescale.methods``).

Its own module so the command line can list them for ``--help`` without importing numpy.
"""

from __future__ import annotations

from enum import Enum, StrEnum

__all__ = ["Methods"]


class Methods(StrEnum):
    """Downsampling methods; each value is the name used on the command line.

    Any enum member whose value is a method name is accepted too, so code migrating from
    ome-zarr-py may pass ``ome_zarr.scale.Methods.RESIZE``:
    ``Methods(ome_zarr.scale.Methods.RESIZE) is Methods.RESIZE``.
    """

    NEAREST = "nearest"
    RESIZE = "resize"
    LOCAL_MEAN = "local_mean"
    ZOOM = "zoom"
    GAUSSIAN = "gaussian"
    LAPLACIAN = "laplacian"
    MODE = "mode"
    MIN = "min"
    MAX = "max"
    MEDIAN = "median"

    @classmethod
    def _missing_(cls, value: object) -> Methods | None:
        # Another library's enum member whose value names one of ours (ome-zarr-py's Methods).
        if isinstance(value, Enum) and isinstance(value.value, str):
            return next((m for m in cls if m.value == value.value), None)
        return None
