"""How a command ends when it cannot go on, in one line each: the data root busy or damaged,
its disk full or not writable (exit 1); Ctrl-C (exit 130), a stop signal (SIGTERM, 143) and
a hang-up (SIGHUP, 129) are `cx_assets.command`'s and `process.INTERRUPT`'s."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from cx_assets.lakehouse.settings import SettingsError
from cx_assets.lakehouse.sql import sqlite_read_only_uri


class BusyError(Exception):
    """The data root is held by someone else for longer than we wait; printed as one line."""


class DamagedError(Exception):
    """The data root's warehouse cannot be read as it is; printed as one line."""


# Free space under which an error met while writing is taken for the disk being full:
# SQLite and DuckDB report a full disk as "disk I/O error" or "IO Error" without the
# operating system's reason, and each writes in pages and blocks of a few hundred KB.
FULL_DISK_BYTES = 16 * 2**20


def disk_full(error: BaseException) -> str | None:
    """What to tell the user when `error` came of the data root's disk being full, else
    None. A full disk is found as the operating system's "no space left" anywhere in the
    error's chain, or as any error while the disk holding the data root has less than
    `FULL_DISK_BYTES` free. The next run marks a run it interrupted as failed and writes
    its days again, so freeing space is all there is to do."""
    reason = next((cause for cause in _chain(error) if _says_no_space(cause)), None)
    # The disk named is the fullest of those the command writes to: the file's the error
    # names, the data root's, and Dagster's home (a disk of its own, when DAGSTER_HOME is
    # set): one that filled is said as such, not the data root's with its gigabytes free.
    places: list[Path] = [
        Path(name)
        for cause in _chain(error)
        if isinstance(cause, OSError)
        for name in (cause.filename, cause.filename2)  # a file moved: from, and to
        if isinstance(name, str)
    ]
    try:
        from cx_assets.lakehouse.settings import Settings

        places.append(Settings.from_env().data_dir)
    except SettingsError:
        pass
    if os.environ.get("DAGSTER_HOME"):
        places.append(Path(os.environ["DAGSTER_HOME"]))
    frees = [(free, place) for place in places if (free := _free_bytes(place)) is not None]
    free, data_dir = min(frees, key=_bytes_free) if frees else (None, None)
    if reason is None and (free is None or free >= FULL_DISK_BYTES):
        return None
    where = f"the disk holding {data_dir}" if data_dir is not None else "the disk"
    left = f" ({free / 2**20:.1f} MB free)" if free is not None else ""
    said = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"{where} is full{left}, so the command stopped: {said}. Free some space and run "
        "it again: the next run marks an interrupted one failed and writes its days again."
    )


def _free_bytes(place: Path) -> int | None:
    """Free bytes on the disk holding `place` (or its nearest folder that exists)."""
    for folder in (place, *place.parents):
        try:
            return shutil.disk_usage(folder).free
        except FileNotFoundError:
            continue
        except OSError:
            return None
    return None


def _bytes_free(free_and_place: tuple[int, Path]) -> int:
    return free_and_place[0]


def not_writable(error: BaseException) -> str | None:
    """What to tell the user when `error` came of a file the command may not write (a
    read-only disk, permissions), or a landing file or folder it may not read, else None."""
    denied = next(
        (
            cause
            for cause in _chain(error)
            if isinstance(cause, OSError)
            and cause.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
            and cause.filename is not None  # a file's, not a signal's or a socket's
        ),
        None,
    )
    if denied is None:
        return None
    path = Path(denied.filename)
    if _in_landing(path) and not _readable(path):
        # landing is read, not written (but by generate, which makes what is not there)
        return (
            f"cannot read {denied.filename}: {denied.strerror or denied}. Landing files and "
            "folders must be readable by the user running the command."
        )
    home = os.environ.get("DAGSTER_HOME")
    if home and path.absolute().is_relative_to(Path(home).absolute()):
        # its own folder, wherever it is (set by the user, or the data root's own)
        return (
            f"cannot write {denied.filename}: {denied.strerror or denied}. DAGSTER_HOME "
            f"({home}) must be a folder this user can write to, on a disk mounted for writing."
        )
    return (
        f"cannot write {denied.filename}: {denied.strerror or denied}. The data root "
        "(CX_DATA_DIR) must be a folder this user can write to, on a disk mounted for writing."
    )


def _in_landing(path: Path) -> bool:
    try:
        from cx_assets.lakehouse.settings import Settings

        return path.absolute().is_relative_to(Settings.from_env().layout.landing_dir.absolute())
    except SettingsError:
        return False


def _readable(path: Path) -> bool:
    """Whether this user may read the file, or list and enter the folder, at `path`; True
    when it is not there (generate could not make it). One in a folder it may list but not
    enter (0744) cannot be looked at, and is not readable: it was taken for one not there."""
    try:
        os.lstat(path)
    except PermissionError:
        return False
    except OSError:
        return True
    return os.access(path, os.R_OK | os.X_OK if path.is_dir() else os.R_OK)


# What SQLite says of a database file it may not write (read-only, immutable).
_READ_ONLY_SQLITE = "attempt to write a readonly database"


def read_only_run_history(error: BaseException) -> str | None:
    """What to tell the user when `error` came of Dagster's run history (under
    `$DAGSTER_HOME/history`) being a file or folder this user may not write, else None.
    Found in an audit: a read-only `runs.db` ended the command in a traceback naming no
    file (SQLite's error names none; the first one not writable is named)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home or not any(_READ_ONLY_SQLITE in str(cause).lower() for cause in _chain(error)):
        return None
    history = Path(home) / "history"
    candidates = [history, history / "runs.db", history / "runs",
                  *sorted((history / "runs").glob("*.db")),
                  history / "schedules", history / "schedules" / "schedules.db"]  # fmt: skip
    refused = next((path for path in candidates if path.exists() and not _writable(path)), history)
    return (
        f"cannot write {refused} ({_READ_ONLY_SQLITE}): Dagster's run history. DAGSTER_HOME "
        f"({home}) and everything in it must be writable by the user running the command."
    )


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


# What SQLite says of a file that is not a whole, sound database.
_DAMAGED_SQLITE = ("database disk image is malformed", "file is not a database")


def damaged_run_history(error: BaseException) -> str | None:
    """What to tell the user when `error` came of a damaged SQLite file of Dagster's run
    history (under `$DAGSTER_HOME/history`), else None: which file fails SQLite's own check,
    and that the history, not the data, is what is lost by moving it aside. Found in an
    audit: a truncated `runs.db` ended the command in a 109-line traceback naming no file."""
    reason = next(
        (cause for cause in _chain(error) if any(s in str(cause).lower() for s in _DAMAGED_SQLITE)),
        None,
    )
    home = os.environ.get("DAGSTER_HOME")
    if reason is None or not home:
        return None
    history = Path(home) / "history"
    candidates = [history / "runs.db", history / "runs" / "index.db",
                  history / "schedules" / "schedules.db"]  # fmt: skip
    damaged = [str(path) for path in candidates if path.exists() and not _sound(path)]
    said = next(s for s in _DAMAGED_SQLITE if s in str(reason).lower())
    return (
        f"{', '.join(damaged) or history} is damaged ({said}): Dagster's run history, not "
        f"data. Move {history} aside and run again: the warehouse, gold and quarantine are "
        "kept; the UI shows no earlier run, and the landing sensors take every landed day "
        "as new once (each is built again)."
    )


def _sound(path: Path) -> bool:
    """Whether SQLite's own check finds the database file `path` whole."""
    try:
        # escaped: a path left as written ends at a `#` or `?` (another file, created)
        with contextlib.closing(sqlite3.connect(sqlite_read_only_uri(path), uri=True)) as db:
            return db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _says_no_space(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return "no space left on device" in text or "database or disk is full" in text
