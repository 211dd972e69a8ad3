"""Transient store faults are retried: a bounded number of attempts per object, with backoff.

Object stores answer 503 or time out under load; network file systems return EIO now and
then. A store call that raises ``OSError`` or ``TimeoutError`` is tried again, after 50 ms,
100 ms, 200 ms ... (``omescale.store-retries`` attempts in all, default 5; dask config). Errors
that cannot heal (a missing file or directory, no permission) are raised at once. When every
attempt fails, ``StoreFaultError`` names the call, the key and the last error: the write stops
there, every object written so far stays, and ``resume=True`` finishes it. Each write task
writes one whole object, so repeating a call is safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import dask

from omescale.errors import StoreFaultError

__all__ = ["PERMANENT", "attempts", "retried"]

T = TypeVar("T")

PERMANENT = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
             NotADirectoryError)
_FIRST_DELAY = 0.05  # seconds; doubled after every failed attempt


def attempts() -> int:
    """How many times one store call is tried (``omescale.store-retries``, at least 1)."""
    return max(1, int(dask.config.get("omescale.store-retries", 5)))


def retried(call: Callable[[], T], what: str) -> T:
    """``call()``, tried again on a transient ``OSError`` / ``TimeoutError``.

    Parameters
    ----------
    call
        One whole, repeatable store operation (get, set or delete of one object; a listing).
    what
        How the error names it, e.g. ``"set of 0/c/1/2"``.

    Raises
    ------
    StoreFaultError
        Every attempt failed; chained to the last error.
    """
    tries = attempts()
    for attempt in range(tries):
        try:
            return call()
        except PERMANENT:
            raise
        except (OSError, TimeoutError) as exc:
            if attempt == tries - 1:
                raise StoreFaultError(
                    f"store {what} failed {tries} times (last: {type(exc).__name__}: {exc}); "
                    "the write stopped, what was written stays: resume=True finishes it"
                ) from exc
            time.sleep(_FIRST_DELAY * 2**attempt)
    raise AssertionError("unreachable")
