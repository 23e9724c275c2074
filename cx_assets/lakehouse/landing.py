"""Landing-zone discovery: which landed files make a (source, table, day).

Layout (contract section 2): `<data>/landing/<source>/<table>/<YYYY-MM-DD>/<name>.<ext>`.
Names starting with `.` or `_` are in flight and ignored. Every file of a date folder
is read; a re-delivered file simply replaces its content on the next read. A folder inside
a date folder is not read into it, and says so in the run's log. Links that
resolve outside the landing folder are not followed. A file that cannot be read as a whole
(a name that is not UTF-8, an OS error) is still listed, with the reason, so it lands as
one bad record (`readers.py` and `bronze_stream.py` turn the files into bronze rows).
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv")
# Of the files a date folder holds that are not read, the first this many are each named
# (in the log, on the bronze materialization), the rest counted in one line: each one named,
# 5,000 files of another extension made 5,000 warnings and a 455 kB materialization.
IGNORED_LISTED = 50
_DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_in_flight(entry: Path | os.DirEntry) -> bool:
    """A landed file or folder still being written: its name starts with `.` or `_`."""
    return entry.name.startswith((".", "_"))


# Characters a name may hold that would act on a terminal or a log rather than show: line
# breaks (a name could write lines of its own into the run's summary), escapes (recolour or
# clear the terminal) and the other controls, and bidirectional overrides (which reorder
# what a name shows: `invoice\u202elsj.csv` reads as `invoicevsc.jsl`).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


# A backslash the name holds before `x` or `u`, which would read as one of the escapes.
_SPELLED_ESCAPE = re.compile(r"\\(?=[xu])")


def printable(name: str) -> str:
    """A file name as text that Parquet, DuckDB, logs and terminals take as it shows: bytes
    that are not UTF-8 (which Python keeps as lone surrogates) and control characters
    become `\\xNN` escapes, bidirectional overrides `\\uNNNN`. A backslash of the name
    before `x` or `u` becomes `\\x5c`, so two names never show alike (`a\\x01` typed and `a`
    with U+0001 were one `source_file`, and their records tied in the order by file)."""
    text = os.fsencode(_SPELLED_ESCAPE.sub(r"\\x5c", name)).decode(
        "utf-8", errors="backslashreplace"
    )
    return _UNPRINTABLE.sub(_escaped, text)


def shown(path: str) -> str:
    """A printable path (`printable`) as a log, the event log or a command's output shows it:
    with e-mail addresses and phone numbers masked (`privacy.shown_path`); bronze and
    quarantine keep it as it is. Imported here, not with the module: `early_bronze` reads
    landing without DuckDB."""
    from cx_assets.lakehouse.privacy import shown_path

    return shown_path(path)


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def is_utf8(name: str) -> bool:
    """Whether a name Python read from the disk was UTF-8 (else it holds lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class LandedFile:
    path: Path
    # Relative to the data root, printable (see `printable`): bronze's `source_file`.
    relative_path: str
    day: date
    mtime_ns: int
    size: int
    # When the file's content, name or metadata last changed: no tool can set it back, so
    # a copy that keeps the modification time and size (`cp -p`) still moves it.
    ctime_ns: int
    # Why the file cannot be read at all, found at discovery; it lands as one bad record.
    read_error: str | None = None


def landed_days(landing_dir: Path, source: str) -> set[str]:
    """The ISO days a source landed a file on: a date folder of one of its tables holding
    a file of a supported extension that is not in flight (what `cx-lakehouse run` asks
    before naming days landed and never built; `discover` reads them)."""
    days: set[str] = set()
    try:
        tables = [entry for entry in os.scandir(landing_dir / source) if entry.is_dir()]
    except OSError:  # no such source folder, or one it may not read
        return days
    for table in tables:
        if is_in_flight(table):
            continue
        try:
            folders = [entry for entry in os.scandir(table.path) if entry.is_dir()]
        except OSError:
            continue
        for folder in folders:
            if (
                folder.name not in days
                and parse_date_folder(folder.name) is not None  # 2024-02-30 is none
                and _holds_a_file(folder.path)
            ):
                days.add(folder.name)
    return days


def _holds_a_file(folder: str) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(
                not is_in_flight(entry)
                and Path(entry.name).suffix.lower() in SUPPORTED_SUFFIXES
                and entry.is_file()
                for entry in entries
            )
    except OSError:
        return False


def discover(
    landing_dir: Path,
    source: str,
    table: str,
    day: date,
    ignored: list[tuple[str, str]] | None = None,
    resolved: dict[Path, Path] | None = None,
) -> list[LandedFile]:
    """Files delivered for one (source, table, day), in a stable order (by name).

    Skipped with a log line (or, given `ignored`, added to it as (name, why) for the caller
    to say: the landing sensor says each once, not at every tick): what is not a file (a
    folder, whose files would otherwise be left unread without a word; a link to nothing),
    unsupported extensions, and links (to files or folders) that resolve outside the
    landing folder, which would otherwise read any file on the host.

    `resolved` keeps the real paths of the landing and table folders for a caller that
    discovers many days at once (a landing sensor's tick: every day of its source, every
    5 s), which resolving each day's folder and files made slow."""
    folder = landing_dir / source / table / day.isoformat()
    if not folder.is_dir():
        return []

    def skip(name: str, why: str) -> None:
        named = shown(name)
        if ignored is None:
            # A skipped file is rare and goes to the run's event log too. Dagster is imported
            # here, not with the module: `early_bronze` reads landing without it.
            from dagster import get_dagster_logger

            get_dagster_logger(__name__).warning(f"ignoring {named}: {why}")
        else:
            ignored.append((named, why))

    resolved = {} if resolved is None else resolved
    landing_root = _real(landing_dir, resolved)
    # A file that is no link lies where its folder resolves to, and a folder that is no
    # link where its table's folder does.
    try:
        real_folder = (
            folder.resolve()
            if folder.is_symlink()
            else _real(folder.parent, resolved) / folder.name
        )
        folder_inside = real_folder.is_relative_to(landing_root)
    except (OSError, RuntimeError):  # a link loop
        folder_inside = False
    prefix = f"{landing_dir.name}/{source}/{table}/{folder.name}"  # from the data root
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    files = []
    for entry in entries:
        if is_in_flight(entry):
            continue
        path = folder / entry.name
        name = f"{prefix}/{entry.name}"
        landed_as = printable(name)
        try:
            is_file = entry.is_file()
        except OSError:  # a link loop: said below, not raised out of the listing
            is_file = False
        if not is_file:
            if why := _not_a_file(path):
                skip(landed_as, why)
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skip(landed_as, f"not one of {', '.join(SUPPORTED_SUFFIXES)}")
            continue
        if (entry.is_symlink() or not folder_inside) and not _resolves_inside(path, landing_root):
            skip(landed_as, "a link to outside the landing folder")
            continue
        try:
            stat = entry.stat()
        except FileNotFoundError:
            continue  # renamed or removed since the listing: the next read sees its new state
        files.append(
            LandedFile(
                path=path,
                relative_path=landed_as,
                day=day,
                mtime_ns=stat.st_mtime_ns,
                size=stat.st_size,
                ctime_ns=stat.st_ctime_ns,
                read_error=None if is_utf8(name) else "file not read: its name is not UTF-8",
            )
        )
    return files


def _not_a_file(path: Path) -> str | None:
    """Why a date folder's entry that is not a file is not read; None when it is gone."""
    if path.is_dir():
        return "a folder: only the files directly in a date folder are read"
    if path.exists():  # a FIFO, a socket, a device, or a link to one
        return "not a regular file"
    if path.is_symlink():
        try:
            path.stat()
        except OSError as error:
            if error.errno == errno.ELOOP:
                return "a link that loops"
        return "a link to nothing"
    return None  # removed since the listing


def _real(folder: Path, resolved: dict[Path, Path]) -> Path:
    if folder not in resolved:
        resolved[folder] = folder.resolve()
    return resolved[folder]


def _resolves_inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def date_folders(
    landing_dir: Path,
    source: str,
    unreadable: list[tuple[str, str]] | None = None,
    tables: Sequence[str] | None = None,
) -> dict[str, list[Path]]:
    """Every `<table>/<date>` folder of a source, keyed by the folder's name (maybe not a date).
    A folder this user may not list is raised, or given `unreadable`, added to it as (name,
    why) and left out (`cannot_read`). Given `tables`, a folder that is none of them (no run
    reads it: a misspelled table, an upload's in-flight folder, a file system's `lost+found`)
    is left out when it cannot be listed, not added."""
    found: dict[str, list[Path]] = {}
    source_dir = landing_dir / source
    if not source_dir.is_dir():
        return found
    try:
        table_dirs = sorted(p for p in source_dir.iterdir() if p.is_dir())
    except OSError as error:
        if unreadable is None:
            raise
        unreadable.append(cannot_read(landing_dir, error))
        return found
    for table_dir in table_dirs:
        try:
            date_dirs = sorted(p for p in table_dir.iterdir() if p.is_dir())
        except OSError as error:
            if unreadable is None:
                raise
            if tables is None or table_dir.name in tables:
                unreadable.append(cannot_read(landing_dir, error))
            continue
        for date_dir in date_dirs:
            found.setdefault(date_dir.name, []).append(date_dir)
    return found


class DayFoldersNotRead(OSError):
    """The first day folder of a range a step could not list (another user's, made 0700),
    naming the others: the first alone was named, so a range over ten such folders took ten
    runs to learn of them."""

    def __init__(self, first: OSError, table: str, other_days: Sequence[str]):
        super().__init__(first.errno, first.strerror, first.filename)
        self.table, self.other_days = table, list(other_days)

    def __str__(self) -> str:
        more = len(self.other_days)
        shown_days = ", ".join(self.other_days[:10]) + (", …" if more > 10 else "")
        return (
            f"{super().__str__()}; and {more} more day folder{'s' if more > 1 else ''} of "
            f"{self.table} it cannot read either: {shown_days}"
        )


def discover_days(
    landing_dir: Path,
    source: str,
    table: str,
    days: Sequence[date],
    ignored_by_day: dict[date, list[tuple[str, str]]],
) -> dict[date, list[LandedFile]]:
    """`discover` of each of `days`. A day folder it cannot list fails the read, as one
    day's does, naming every such folder of the days (`DayFoldersNotRead`)."""
    found: dict[date, list[LandedFile]] = {}
    failed: list[tuple[date, OSError]] = []
    for day in days:
        try:
            found[day] = discover(landing_dir, source, table, day, ignored_by_day[day])
        except OSError as error:
            failed.append((day, error))
    if len(failed) == 1:
        raise failed[0][1]
    if failed:
        (_, first), *others = failed
        raise DayFoldersNotRead(
            first, f"{source}/{table}", [day.isoformat() for day, _ in others]
        ) from None  # the first is this error: its cause would say it alone
    return found


def cannot_read(landing_dir: Path, error: OSError) -> tuple[str, str]:
    """(name, why) of a landing folder or file that could not be listed or looked at (a
    folder another user made 0700): its path from the data root, as shown, and the error."""
    path = Path(os.fsdecode(error.filename)) if error.filename is not None else landing_dir
    try:
        name = path.relative_to(landing_dir.parent).as_posix()
    except ValueError:
        name = path.as_posix()
    why = error.strerror or str(error)
    return shown(printable(name)), f"cannot read it ({type(error).__name__}: {why})"


def unknown_table_folders(landing_dir: Path, source: str, tables: Sequence[str]) -> list[str]:
    """The folders of a source's landing folder that are none of its tables (a misspelled
    `transcriptz`), as `landing/<source>/<name>`; in-flight names left out. None for a folder
    this user may not list (`date_folders` says it)."""
    source_dir = landing_dir / source
    if not source_dir.is_dir():
        return []
    try:
        entries = sorted(source_dir.iterdir())
    except OSError:
        return []
    return [
        shown(f"landing/{source}/{printable(folder.name)}")
        for folder in entries
        if folder.is_dir() and folder.name not in tables and not is_in_flight(folder)
    ]


def misplaced_sources(landing_dir: Path, sources: Sequence[str]) -> list[tuple[str, str]]:
    """What lies in the landing folder itself where no run reads it, with why: a folder that
    is none of the `sources` (a misspelled `crn`), a file outside every source's folder (as
    `landing/...` paths; in-flight names left out)."""
    if not landing_dir.is_dir():
        return []
    found = []
    for entry in sorted(landing_dir.iterdir()):
        if is_in_flight(entry) or entry.name in sources:
            continue
        named = shown(f"landing/{printable(entry.name)}")
        if entry.is_dir():
            found.append((named, f"not a source (the sources: {', '.join(sources)})"))
        else:
            found.append(
                (named, "a file outside a source's folder: files land in "
                 "landing/<source>/<table>/<YYYY-MM-DD>/")
            )  # fmt: skip
    return found


def misplaced(
    landing_dir: Path, source: str, tables: Sequence[str], first_day: date | None = None
) -> list[tuple[str, str]]:
    """What lies in a source's landing folder where no run reads it, with why: a folder that
    is none of its tables, a folder of a table not named YYYY-MM-DD or of a day before the
    first partition (`first_day`), a file outside a date folder (as `landing/...` paths;
    in-flight names left out). The bronze steps say what they skip inside a date folder;
    these they never look at."""
    source_dir = landing_dir / source
    if not source_dir.is_dir():
        return []
    found = [
        (name, f"not a table of {source} (its tables: {', '.join(tables)})")
        for name in unknown_table_folders(landing_dir, source, tables)
    ]
    outside = f"a file outside a date folder: files land in landing/{source}/<table>/<YYYY-MM-DD>/"
    before_first = (
        f"a day before the first partition ({first_day}): no run reads it "
        "(CX_PARTITIONS_START sets the first)"
    )
    for entry in sorted(source_dir.iterdir()):
        if is_in_flight(entry) or (entry.is_dir() and entry.name not in tables):  # said above
            continue
        folder = f"landing/{source}/{printable(entry.name)}"
        if not entry.is_dir():
            found.append((shown(folder), outside))
            continue
        for inner in sorted(entry.iterdir()):
            if is_in_flight(inner):
                continue
            shown_inner = shown(f"{folder}/{printable(inner.name)}")
            if not inner.is_dir():
                found.append((shown_inner, outside))
            elif (day := parse_date_folder(inner.name)) is None:
                found.append((shown_inner, "not a YYYY-MM-DD folder: a day's files land in one"))
            elif first_day is not None and day < first_day:
                found.append((shown_inner, before_first))
    return found


def parse_date_folder(name: str) -> date | None:
    if not _DATE_FOLDER.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None
