"""Output targets: open a path, URL or zarr store, check it is safe to write, and lock it.

Safety rules (SPEC §5, §9): a non-empty target is refused unless ``overwrite`` (or ``resume``);
an output inside the input is always refused; ``overwrite`` replaces only a zarr store (a group
or array: ``zarr.json``, ``.zgroup`` or ``.zarray`` at its root) or nothing, never a directory of
other files, the current or home directory, a filesystem root, the input or a path that holds
it; a second live writer is refused by an exclusive lock object holding the writer's pid.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore, MemoryStore

from omescale._internals import default_buffer_prototype, sync, unwrapped_store
from omescale.errors import (
    InvalidOptionError,
    OutputExistsError,
    OutputInsideInputError,
    OutputLockedError,
    UnsafeOverwriteError,
)
from omescale.ngff.retry import retried

__all__ = [
    "LOCK_KEY",
    "Target",
    "ZARR_ROOT_KEYS",
    "acquire_lock",
    "atomic_writes",
    "check_not_inside",
    "check_replaceable",
    "check_storage_options",
    "clear_store",
    "is_empty",
    "is_zarr_store",
    "check_node_replaceable",
    "local_path",
    "list_keys",
    "location_of",
    "lock_key",
    "open_target",
    "release_lock",
    "listed_names",
    "remove_partials",
    "source_options",
]

LOCK_KEY = ".omescale-lock"
ZARR_ROOT_KEYS = ("zarr.json", ".zgroup", ".zarray")  # a zarr group or array at the root
_PARTIAL = ".partial"  # suffix of LocalStore's temporary files (atomic write via rename)


@dataclass(frozen=True)
class Target:
    """An opened output: the zarr store and a location string for messages and checks."""

    store: Store
    location: str


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def check_storage_options(options: Any, name: str = "storage_options") -> dict | None:
    """``options`` as a dict of fsspec keyword arguments (or ``None``); else a clear error."""
    if options is None:
        return None
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise InvalidOptionError(
            f"{name} must be a dict of fsspec options (e.g. {{'anon': True}}), got {options!r}"
        )
    return dict(options)


def source_options(storage_options: Any, input_storage_options: Any) -> dict | None:
    """The fsspec options of the input: its own when given, else the output's (one bucket,
    one set of credentials is the common case)."""
    if input_storage_options is not None:
        return check_storage_options(input_storage_options, "input_storage_options")
    return check_storage_options(storage_options)


def open_store(
    store: Any, *, storage_options: dict | None = None, read_only: bool = False
) -> Store:
    """A zarr ``Store`` for a path, an fsspec URL (``s3://``, ``memory://`` ...) or a store."""
    if isinstance(store, Store):
        return store
    path = os.fspath(store)
    storage_options = check_storage_options(storage_options)
    if _is_url(path):
        return FsspecStore.from_url(path, storage_options=storage_options, read_only=read_only)
    path = os.path.expanduser(path.removeprefix("file://"))
    return LocalStore(os.path.abspath(path), read_only=read_only)


def _protocol(store: FsspecStore) -> str:
    protocol = store.fs.protocol
    return protocol[0] if isinstance(protocol, tuple | list) else protocol


def location_of(store: Store) -> str:
    """A normalised location: a real local path, ``protocol://path``, or the store's repr."""
    if isinstance(store, LocalStore):
        return os.path.realpath(store.root)
    if isinstance(store, FsspecStore):
        return f"{_protocol(store)}://{store.path.strip('/')}"
    return repr(store)


# fsspec file systems whose writes become visible only when complete (one PUT / one assignment)
_ATOMIC_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})


def atomic_writes(store: Store) -> bool:
    """Whether an object written to ``store`` is either complete or absent after a kill.

    True for zarr's LocalStore (a temporary file renamed into place, zarr >= 3.1.3, the floor
    in pyproject.toml), MemoryStore, and fsspec object stores (S3, GCS, Azure, memory); a
    ``WrapperStore`` is judged by the store it wraps. False for everything else, fsspec's
    local file system included: resume then decodes every object it would skip
    (``omescale.ngff.chunk_check.object_done``).
    """
    store = unwrapped_store(store)
    if isinstance(store, LocalStore | MemoryStore):
        return True
    if isinstance(store, FsspecStore):
        return _protocol(store) in _ATOMIC_PROTOCOLS
    return False


def local_path(store: Store) -> str | None:
    """The real local directory of a LocalStore or a ``file://`` FsspecStore, else None."""
    if isinstance(store, LocalStore):
        return os.path.realpath(store.root)
    if isinstance(store, FsspecStore) and _protocol(store) in ("file", "local"):
        return os.path.realpath(store.path)
    return None


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def check_not_inside(target: str, source: str | None, *, overwrite: bool) -> None:
    """Refuse the input itself as output, an output inside the input, and an overwrite that
    would delete the input."""
    if source is None:
        return
    if target.rstrip("/") == source.rstrip("/"):
        raise OutputInsideInputError(f"output {target} is the input itself; write elsewhere")
    if _inside(target, source):
        raise OutputInsideInputError(f"output {target} lies inside the input {source}")
    if overwrite and _inside(source, target):
        raise OutputInsideInputError(
            f"overwriting {target} would delete the input {source}, which lies inside it"
        )


def _protected(path: str) -> str | None:
    """Why the local directory ``path`` must never be replaced, or None."""
    if os.path.dirname(path) == path or os.path.ismount(path):
        return "it is a filesystem root"
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:  # the current directory was deleted
        cwd = None
    home = os.path.realpath(os.path.expanduser("~"))
    for name, special in (("current directory", cwd), ("home directory", home)):
        if special is None:
            continue
        if path == special:
            return f"it is the {name}"
        if _inside(special, path):
            return f"it contains the {name} {special}"
    return None


def is_zarr_store(store: Store) -> bool:
    """Whether a zarr group or array lives at the store's root."""
    return any(sync(store.exists(key)) for key in ZARR_ROOT_KEYS)


def check_replaceable(store: Store, location: str, source: str | None = None) -> None:
    """Refuse to replace anything but a zarr store (or nothing) at ``store``.

    Raises
    ------
    UnsafeOverwriteError
        The target is a filesystem root, the current or home directory (or holds one), a
        file, or a non-empty directory that is not a zarr store.
    OutputInsideInputError
        The target is the input, lies inside it or holds it.
    """
    path = local_path(store)
    refuse = f"refusing to overwrite {location}"
    if path is not None:
        reason = _protected(path)
        if reason is not None:
            raise UnsafeOverwriteError(f"{refuse}: {reason}")
        if os.path.lexists(path) and not os.path.isdir(path):
            raise UnsafeOverwriteError(f"{refuse}: it is a file, not a zarr store")
    elif isinstance(store, FsspecStore) and not store.path.strip("/"):
        raise UnsafeOverwriteError(f"{refuse}: it is the root of its file system")
    check_not_inside(location, source, overwrite=True)
    if not is_empty(store) and not is_zarr_store(store):
        raise UnsafeOverwriteError(
            f"{refuse}: it is not empty and not a zarr store (no zarr.json, .zgroup or .zarray "
            "at its root); omescale replaces only a zarr store, so move or delete it yourself"
        )


def list_keys(store: Store, prefix: str = "") -> list[str]:
    """Every key under ``prefix``, without LocalStore's temporary ``.partial`` files."""

    async def collect() -> list[str]:
        return [k async for k in store.list_prefix(prefix)]

    return [k for k in sync(collect()) if not k.endswith(_PARTIAL)]


def check_node_replaceable(store: Store, path: str, where: str, *, overwrite: bool) -> None:
    """Refuse to write at ``path`` inside a store when something other than a zarr node
    (e.g. a user's files) lives there.

    Raises
    ------
    UnsafeOverwriteError, OutputExistsError
        With and without ``overwrite``.
    """
    prefix = path.strip("/") + "/"
    keys = [k for k in list_keys(store, prefix) if not k.rsplit("/", 1)[-1].startswith(LOCK_KEY)]
    if not keys or any(sync(store.exists(prefix + k)) for k in ZARR_ROOT_KEYS):
        return
    if overwrite:
        raise UnsafeOverwriteError(f"refusing to overwrite {where}: it holds files and is not "
                                   "a zarr group or array; move or delete them yourself")
    raise OutputExistsError(f"{where} exists and is not a zarr group or array")


def listed_names(store: Store, directory: str) -> set[str]:
    """The names in ``directory`` of ``store`` (keys and sub-directories; one listing, made
    now: an fsspec file system's directory cache, e.g. s3fs's, is dropped for it first)."""
    inner = unwrapped_store(store)
    if isinstance(inner, FsspecStore):
        inner.fs.invalidate_cache(f"{inner.path}/{directory}".rstrip("/"))

    async def collect() -> set[str]:
        return {name async for name in store.list_dir(directory)}

    return retried(lambda: sync(collect()), f"listing of {directory or '/'}/")


def is_empty(store: Store) -> bool:
    """Whether the store holds nothing but (possibly) omescale's lock: one listing of its
    root directory, never of every key below it."""
    path = local_path(store)
    if path is not None:
        if not os.path.isdir(path):
            return not os.path.lexists(path)
        with os.scandir(path) as entries:
            return all(e.name == LOCK_KEY for e in entries)
    return all(name == LOCK_KEY or name.endswith(_PARTIAL) for name in listed_names(store, ""))


def clear_store(store: Store) -> None:
    """Delete everything in a zarr store except the lock (used by ``overwrite=True``).

    Raises
    ------
    UnsafeOverwriteError
        The store is not a zarr store (nor empty), or a directory that must never be replaced
        (``check_replaceable``): nothing is deleted.
    """
    check_replaceable(store, location_of(store))
    if isinstance(store, LocalStore):
        root = Path(store.root)
        for entry in root.iterdir() if root.is_dir() else ():
            if entry.name == LOCK_KEY:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        return

    async def keys() -> list[str]:
        return [k async for k in store.list()]

    for key in sync(keys()):
        if key != LOCK_KEY:
            sync(store.delete(key))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child that was not yet reaped is a zombie: dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def lock_key(group_path: str = "") -> str:
    """The lock object of the group at ``group_path`` (the store root by default)."""
    return f"{group_path.strip('/')}/{LOCK_KEY}" if group_path.strip("/") else LOCK_KEY


def _read_lock(store: Store, key: str) -> dict[str, Any] | None:
    buf = sync(store.get(key, default_buffer_prototype()))
    if buf is None:
        return None
    try:
        return json.loads(buf.to_bytes())
    except ValueError:
        return {}


def _stale(lock: dict[str, Any]) -> bool:
    if lock.get("host") != socket.gethostname():
        return False
    pid = lock.get("pid")
    return not isinstance(pid, int) or pid == os.getpid() or not _pid_alive(pid)


def acquire_lock(store: Store, location: str, key: str = LOCK_KEY) -> str:
    """Create the lock object exclusively and return its token.

    A lock left by a dead process on this host (or by this process) is taken over.

    Raises
    ------
    OutputLockedError
        A live writer holds the lock.
    """
    token = uuid.uuid4().hex
    body = {"pid": os.getpid(), "host": socket.gethostname(), "token": token}
    payload = default_buffer_prototype().buffer.from_bytes(json.dumps(body).encode())
    for _ in range(2):
        sync(store.set_if_not_exists(key, payload))
        held = _read_lock(store, key)
        if held is not None and held.get("token") == token:
            return token
        if held is not None and not _stale(held):
            raise OutputLockedError(
                f"another omescale writer (pid {held.get('pid')} on {held.get('host')}) is "
                f"writing to {location}; wait for it to finish, or delete "
                f"{location}/{key} if that process is gone"
            )
        sync(store.delete(key))
    raise OutputLockedError(f"could not lock {location}: another writer raced for it")


def release_lock(store: Store, token: str, key: str = LOCK_KEY) -> None:
    """Delete the lock if it is still ours."""
    held = _read_lock(store, key)
    if held is not None and held.get("token") == token:
        sync(store.delete(key))


def _delete(store: Store, key: str) -> None:
    sync(store.delete(key))


def remove_partials(store: Store, prefix: str = "") -> int:
    """Delete temporary ``.partial`` files a killed LocalStore write left behind.

    Other stores leave none (object stores write whole objects), so they are not listed: a
    resume on S3 lists no level up front (``omescale.ngff.present`` lists per unit).
    """
    if not isinstance(unwrapped_store(store), LocalStore):
        return 0

    async def collect() -> list[str]:
        return [k async for k in store.list_prefix(prefix) if k.endswith(_PARTIAL)]

    partials = retried(lambda: sync(collect()), f"listing of {prefix or '/'}")
    for key in partials:
        retried(partial(_delete, store, key), f"delete of {key}")
    return len(partials)


def open_target(
    store: Any,
    *,
    overwrite: bool = False,
    resume: bool = False,
    source: str | None = None,
    storage_options: dict | None = None,
) -> Target:
    """Open an output and check it; writes nothing.

    Raises
    ------
    OutputInsideInputError
        The output lies inside the input ``source`` (or would delete it when overwritten).
    UnsafeOverwriteError
        ``overwrite`` would replace something that is not a zarr store (``check_replaceable``).
    OutputExistsError
        The target is not empty and neither ``overwrite`` nor ``resume`` was given, or
        ``resume`` was given for a target that is not a zarr store.
    """
    if overwrite and resume:
        raise InvalidOptionError("overwrite=True and resume=True exclude each other; pass one")
    zstore = open_store(store, storage_options=storage_options)
    target = Target(zstore, location_of(zstore))
    check_not_inside(target.location, source, overwrite=overwrite)
    if overwrite:
        check_replaceable(zstore, target.location, source)
    elif not is_empty(zstore):
        if not resume:
            raise OutputExistsError(
                f"output {target.location} exists and is not empty; pass overwrite=True to "
                "replace it or resume=True to finish an interrupted write"
            )
        if not is_zarr_store(zstore):
            raise OutputExistsError(
                f"cannot resume {target.location}: it is not empty and not a zarr store"
            )
    return target
