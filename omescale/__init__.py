"""omescale: exact, out-of-core multiscale pyramids for OME-Zarr.

The public surface::

    Methods        the downsampling methods (a StrEnum)
    downsample     one level, numpy in -> numpy out, dask in -> lazy dask out
    pyramid        lazy list of levels, level 0 first (or an xarray.DataTree: as_xarray=True)
    open_pyramid   any OME-Zarr image as a lazy xarray.DataTree in physical coordinates
    write_pyramid  an OME-Zarr image written in parallel, metadata last
    write_labels   a label pyramid under labels/<name>
    Scaler         drop-in for ome_zarr.scale.Scaler
    verify         check that a pyramid on disk is whole (a VerifyReport)
    OmescaleError  base of every error raised on bad input
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from omescale._version import __version__
from omescale.errors import OmescaleError

if TYPE_CHECKING:
    from omescale.api import downsample
    from omescale.levels import pyramid
    from omescale.method_names import Methods
    from omescale.ngff.inplace import add_levels
    from omescale.ngff.labels import write_labels
    from omescale.ngff.verify import verify
    from omescale.ngff.writer import write_pyramid
    from omescale.scaler import Scaler
    from omescale.xarray_io import open_pyramid

__all__ = [
    "Methods",
    "OmescaleError",
    "Scaler",
    "__version__",
    "add_levels",
    "downsample",
    "open_pyramid",
    "pyramid",
    "verify",
    "write_labels",
    "write_pyramid",
]

# Everything but the errors is imported on first use, so `import omescale` (and the command
# line's --help and argument errors) does not pay for numpy, dask and zarr.
_LAZY = {
    "downsample": "omescale.api",
    "pyramid": "omescale.levels",
    "Methods": "omescale.method_names",
    "write_pyramid": "omescale.ngff.writer",
    "write_labels": "omescale.ngff.labels",
    "Scaler": "omescale.scaler",
    "add_levels": "omescale.ngff.inplace",
    "open_pyramid": "omescale.xarray_io",
    "verify": "omescale.ngff.verify",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'omescale' has no attribute {name!r}")
