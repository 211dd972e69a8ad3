"""One base error for everything omescale raises on bad input.

Each specific error is also a ``ValueError`` or ``TypeError`` so callers that
already catch those keep working.
"""

from __future__ import annotations

__all__ = [
    "CorruptInputError",
    "InputNotFoundError",
    "InvalidAxesError",
    "InvalidFactorsError",
    "InvalidMethodError",
    "InvalidOptionError",
    "InvalidShapeError",
    "LabelShapeError",
    "LabelValuesError",
    "MissingExtraError",
    "OmescaleError",
    "OutputExistsError",
    "OutputInsideInputError",
    "OutputLockedError",
    "ResumeMismatchError",
    "StoreFaultError",
    "UnsafeOverwriteError",
    "UnsupportedDtypeError",
]


class OmescaleError(Exception):
    """Base class of every error omescale raises on bad input or a bad target."""


class InvalidMethodError(OmescaleError, ValueError):
    """Unknown downsampling method, or an option the method does not take."""


class InvalidFactorsError(OmescaleError, ValueError):
    """Scale factors that are zero, negative, non-integer or larger than an axis."""


class InvalidAxesError(OmescaleError, ValueError):
    """Axes string of the wrong length, with unknown, repeated or misordered letters."""


class InvalidShapeError(OmescaleError, ValueError):
    """An array with zero-size axes or more dimensions than OME-NGFF allows."""


class UnsupportedDtypeError(OmescaleError, TypeError):
    """A dtype the method cannot process (complex, object, strings, bool for averages)."""


class InputNotFoundError(OmescaleError, ValueError):
    """The input path does not exist or holds no array or image."""


class OutputExistsError(OmescaleError, ValueError):
    """The output exists and is not empty, and ``overwrite`` was not given."""


class CorruptInputError(OmescaleError, ValueError):
    """An input chunk could not be read or decoded; the message names array and chunk."""


class OutputInsideInputError(OutputExistsError):
    """The output lies inside the input (or would delete it when overwritten)."""


class UnsafeOverwriteError(OutputExistsError):
    """``overwrite`` would delete something omescale does not own: a directory that is not a
    zarr store, the current or home directory, a filesystem root."""


class OutputLockedError(OutputExistsError):
    """Another live omescale writer holds the target's lock."""


class InvalidOptionError(OmescaleError, ValueError):
    """A writer option that is not allowed (zarr format, shards, conflicting flags)."""


class LabelValuesError(OmescaleError, ValueError):
    """A level of a label image holds values that are not in the input (``labeled=True``)."""


class MissingExtraError(OmescaleError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class LabelShapeError(InvalidShapeError):
    """A label image whose shape or axes differ from its image's level 0 (only the channel
    axis ``c`` may be left out)."""


class ResumeMismatchError(OutputExistsError):
    """``resume=True`` asked for a different job (method, levels, codec, input ...) than the
    one that was started; the message names each difference."""


class StoreFaultError(OSError):
    """A store call kept failing after its retries (``omescale.ngff.retry``). Not bad input
    (not an ``OmescaleError``): the write stopped and ``resume=True`` finishes it."""
