"""The largest landed table read into bronze while `cx-lakehouse run` starts up.

A command spends its first second on one core (importing Dagster and the definitions,
opening the instance) while the machine's other core idles; and the largest table's bronze
step (a CRM day's interactions: 272 MB, about a second at scale 1) heads the run's longest
path, bronze then silver then the gold tables. So `cx-lakehouse run` starts, before it
imports Dagster, a process of its own (Python and pyarrow, no Dagster) that reads that
table's landed files into bronze Parquet files in a scratch folder of the data root
(`.early-bronze/<host>-<pid>/`), with `read_landed`, the bronze step's own reader, from the
same `cx_assets` as the command's (`-P`: not one the working folder holds).

When the table's bronze step runs, it discovers its files as always and `claim`s the early
read. The process lists the files it found before it reads them; if they are not the very
files the step found (the same names, sizes, modification and change times, `LandedFile`),
it is stopped at once and the step reads the files itself. If they are, the step waits for
whatever is left of the reading and hands its files to the bronze IO manager, which moves
them into place under the run's lock as it would its own (`parquet.publish_days`). A
process that failed leaves the reading to the step too. So bronze always holds what the
step's own discovery found; only `ingested_at` is when the early read began.

Only `cx-lakehouse run` starts an early read (the UI's, the daemon's and tests' runs read
in their steps), only for a selection of whole domains, only when no run holds the data
root (a run waiting its turn would read files that may change before it runs, on a core
the holder is using), and only for a table of at least `MIN_BYTES` over the run's days:
below that the step is short and the process not worth its start. The process dies with the
command (`PR_SET_PDEATHSIG`, and it checks its parent is still the command once that is
set). The command removes its scratch folder when it ends, and holds a lock on it while it
runs; every `cx-lakehouse run` and every bronze step removes the folders nobody holds
(commands that were killed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cx_assets
from cx_assets.lakehouse.landing import SUPPORTED_SUFFIXES, LandedFile, is_in_flight
from cx_assets.lakehouse.run_lock import held_by_another

# `parquet` brings pyarrow and NumPy (0.15-0.3 s to import): it is imported where a file is
# named, read or published, not with this module, so `start` runs, and the reading process
# starts, before the command has imported either.

SCRATCH_FOLDER = ".early-bronze"
# Output metadata of a bronze step that took an early read: how long the reading took.
READ_SECONDS = "read_early_seconds"
# The process costs about 0.4 CPU-seconds (Python, pyarrow) on the core start-up leaves
# idle. Scale-1 days of digital (journeys, 4 MB of CSV) and support (tickets, 4 MB) read
# early finished 0.15-0.25 s sooner, calls (5 MB of JSONL, cheap to read) 0.05 s sooner; a
# demo's tables (well under 1 MB) are read in their steps.
MIN_BYTES = 2 * 2**20
_LANDED = "landed.json"  # the files the process found, written before it reads them
_MANIFEST = "manifest.json"  # what it wrote, once it is done
_ERRORS = "errors.log"
_HELD = "held"  # locked by the command for as long as it runs
# A folder being made is named in flight; one older than this was left by a killed command.
_STALE_SECONDS = 60.0


@dataclass(frozen=True)
class EarlyRead:
    """Bronze files of a table's days, read before the step ran, ready to move into place."""

    files: dict[date, Path]
    rows: dict[date, int]
    warnings: list[str]  # what the reader would have logged in the step (unreadable records)
    seconds: float
    # Whether a `.json` file held a record that could not be read: a broken array, which
    # the process read again by other fields than its table requires (it knows none).
    json_read_errors: bool = False

    def publish(self, dataset_dir: Path) -> dict[date, int]:
        """Move the files into `dataset_dir`'s partitions; rows per day."""
        from cx_assets.lakehouse import parquet

        parquet.publish_days(self.files, dataset_dir)
        return self.rows


@dataclass
class _Reading:
    landing_dir: Path
    source: str
    table: str
    days: tuple[date, ...]
    folder: Path
    process: subprocess.Popen

    def reads(self, landing_dir: Path, source: str, table: str, days: Sequence[date]) -> bool:
        return (self.landing_dir, self.source, self.table, self.days) == (
            landing_dir,
            source,
            table,
            tuple(days),
        )

    def landed(self) -> list | None:
        """The identities of the files the process found (`_identity`), as soon as it has
        listed them; None when it ended without listing them."""
        path = self.folder / _LANDED
        while not path.exists():
            if self.process.poll() is not None and not path.exists():
                return None
            time.sleep(0.005)
        return _json(path)

    def result(self) -> EarlyRead | None:
        """The early read once the process is done; None when it failed."""
        if self.process.wait() != 0:
            return None
        manifest = _json(self.folder / _MANIFEST)
        if manifest is None:
            return None
        return EarlyRead(
            files={day: _day_file(self.folder, day) for day in self.days},
            rows={date.fromisoformat(day): rows for day, rows in manifest["rows"].items()},
            warnings=manifest["warnings"],
            seconds=manifest["seconds"],
            json_read_errors=manifest.get("json_read_errors", False),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_lock = threading.Lock()
_reading: _Reading | None = None
_held: int | None = None  # the descriptor holding this command's folder's lock


def start(landing_dir: Path, domains: Sequence[str], first: date, last: date) -> None:
    """Start reading the largest landed table of `domains` over `first`..`last` (whole
    days) into bronze files, when it holds at least `MIN_BYTES` and no run holds the data
    root. Once per command. Nothing is started where the data root cannot take the files
    (the run then says why)."""
    global _reading, _held
    data_dir = landing_dir.parent
    remove_dead(data_dir)
    days = tuple(first + timedelta(days=offset) for offset in range((last - first).days + 1))
    chosen = _largest_table(landing_dir, domains, days)
    if chosen is None or held_by_another(data_dir):
        return
    source, table = chosen
    folder = scratch_folder(landing_dir)
    try:
        held = _made_and_held(folder)
    except OSError:
        return
    package_root = str(Path(cx_assets.__file__).resolve().parent.parent)
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-P", "-m", __name__, str(os.getpid()), str(landing_dir)]
    command += [str(folder), source, table, *(day.isoformat() for day in days)]
    try:
        with open(folder / _ERRORS, "wb") as errors:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env={**os.environ, "PYTHONPATH": python_path},
            )
    except OSError:
        os.close(held)
        shutil.rmtree(folder, ignore_errors=True)
        return
    with _lock:
        _reading, _held = _Reading(landing_dir, source, table, days, folder, process), held


def _made_and_held(folder: Path) -> int:
    """Make `folder` with its lock file held by this process: made under an in-flight name
    and renamed, so no other command finds it without its lock (and takes it for dead)."""
    in_flight = folder.with_name(f"_{folder.name}")
    shutil.rmtree(in_flight, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    in_flight.mkdir(parents=True)
    held = os.open(in_flight / _HELD, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(in_flight, folder)
    except OSError:
        os.close(held)
        shutil.rmtree(in_flight, ignore_errors=True)
        raise
    return held


def claim(
    landing_dir: Path,
    source: str,
    table: str,
    days: Sequence[date],
    files: Sequence[LandedFile],
    *,
    usable: bool = True,
    json_read_again: bool = False,
) -> EarlyRead | None:
    """The early read of `source`/`table` over `days`, if this process started one and it
    read exactly `files`; None otherwise (then the caller reads the files itself). A read is
    claimed once: a retried step reads on its own.

    `usable`: False when the step reads one of `files` otherwise than the process did (a
    CSV without its header row: the process knows no table's fields, so took its first
    record for the header); the process is then stopped, as for files that changed.
    `json_read_again`: True when the step reads a broken `.json` array again by its table's
    required fields (`readers.read_json`), which the process does not know: a read whose
    `.json` files held a record that could not be read is then not taken."""
    global _reading
    with _lock:
        reading = _reading
        if reading is None or not reading.reads(landing_dir, source, table, days):
            return None
        _reading = None
    early = None
    if usable and reading.landed() == [_identity(landed) for landed in files]:
        early = reading.result()
        if early is not None and json_read_again and early.json_read_errors:
            early = None
    else:  # files changed since, or read otherwise: no use reading on
        reading.stop()
    if early is None:
        shutil.rmtree(reading.folder / SCRATCH_DAYS, ignore_errors=True)
    return early


def finish(landing_dir: Path) -> None:
    """Stop this command's early read if nothing claimed it, and remove its scratch folder."""
    global _reading, _held
    with _lock:
        reading, _reading = _reading, None
        held, _held = _held, None
    if reading is not None:
        reading.stop()
    if held is not None:
        shutil.rmtree(scratch_folder(landing_dir), ignore_errors=True)
        os.close(held)


def scratch_folder(landing_dir: Path) -> Path:
    """This command's scratch folder, named by its host and process."""
    return landing_dir.parent / SCRATCH_FOLDER / f"{socket.gethostname()}-{os.getpid()}"


def _largest_table(
    landing_dir: Path, domains: Sequence[str], days: Sequence[date]
) -> tuple[str, str] | None:
    """(source, table) of the most landed bytes over `days`, if at least `MIN_BYTES`."""
    sizes: dict[tuple[str, str], int] = {}
    for source in domains:
        try:
            tables = [
                entry
                for entry in os.scandir(landing_dir / source)
                if entry.is_dir() and not is_in_flight(entry)
            ]
        except OSError:
            continue
        for table in tables:
            sizes[(source, table.name)] = sum(
                _landed_bytes(Path(table.path) / day.isoformat()) for day in days
            )
    if not sizes:
        return None
    chosen = max(sizes, key=sizes.__getitem__)
    return chosen if sizes[chosen] >= MIN_BYTES else None


def _landed_bytes(folder: Path) -> int:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    total = 0
    for entry in entries:
        path = Path(entry.path)
        if is_in_flight(path) or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        try:
            total += entry.stat().st_size
        except OSError:
            continue
    return total


def remove_dead(data_dir: Path) -> None:
    """Remove the scratch folders of commands no longer running (killed before they removed
    theirs): those whose lock nobody holds (a lock, not a pid: a command on another host or
    in another container sharing the data root is told apart too). Every `cx-lakehouse run`
    and every bronze step, whoever runs it, removes them: a folder holds a day's landed
    records as delivered (personal data with them) outside bronze."""
    scratch = data_dir / SCRATCH_FOLDER
    try:
        folders = list(scratch.iterdir())
    except OSError:
        return
    for folder in folders:
        if folder.name.startswith("_"):  # being made, or left by a command killed meanwhile
            with contextlib.suppress(OSError):
                if time.time() - folder.stat().st_mtime > _STALE_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)
            continue
        try:
            probe = os.open(folder / _HELD, os.O_RDONLY)
        except FileNotFoundError:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: its command runs
        else:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(probe)


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


SCRATCH_DAYS = "days"


def _day_file(folder: Path, day: date) -> Path:
    from cx_assets.lakehouse import parquet

    return parquet.partition_folder(folder / SCRATCH_DAYS, day) / parquet.DATA_FILE


def _identity(landed: LandedFile) -> list:
    """What makes a landed file the same file for `claim` (JSON-comparable)."""
    return [
        landed.relative_path,
        landed.day.isoformat(),
        landed.size,
        landed.mtime_ns,
        landed.ctime_ns,
        landed.read_error,
    ]


# --------------------------------------------------------------------------- the process


def _die_with_parent() -> None:
    """Linux: end this process when the command that started it ends (a `kill -9` of the
    command alone would otherwise leave it writing into a folder about to be removed)."""
    try:
        import ctypes

        # Fires when the thread that started this process ends: the command's main thread.
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _read(argv: Sequence[str]) -> None:
    from cx_assets.lakehouse import parquet
    from cx_assets.lakehouse.bronze_stream import read_landed
    from cx_assets.lakehouse.landing import discover

    landing, folder, source, table, *day_texts = argv
    landing_dir, scratch = Path(landing), Path(folder)
    began = time.perf_counter()
    days = [date.fromisoformat(text) for text in day_texts]
    # `ignored` collected, not logged: the step's own discovery says what it skips.
    files = [landed for day in days for landed in discover(landing_dir, source, table, day, [])]
    _write_json(scratch / _LANDED, [_identity(landed) for landed in files])
    warnings: list[str] = []
    reading: list[LandedFile] = []  # the file being read: `read_landed` warns after its records
    warned: list[LandedFile] = []

    def warn(line: str) -> None:
        warnings.append(line)
        warned.append(reading[-1])

    def each_file() -> Iterator[LandedFile]:
        for landed in files:
            reading.append(landed)
            yield landed

    rows = parquet.write_days(
        read_landed(each_file(), datetime.now(UTC), warn),
        {day: _day_file(scratch, day) for day in days},
    )
    manifest = {
        "rows": {day.isoformat(): count for day, count in rows.items()},
        "warnings": warnings,
        "seconds": round(time.perf_counter() - began, 3),
        "json_read_errors": any(landed.path.suffix.lower() == ".json" for landed in warned),
    }
    _write_json(scratch / _MANIFEST, manifest)


def _write_json(path: Path, value) -> None:
    written = path.with_name(f"_{path.name}")
    written.write_text(json.dumps(value))
    os.replace(written, path)


if __name__ == "__main__":
    command = int(sys.argv[1])
    _die_with_parent()
    if os.getppid() != command:  # the command ended before the line above
        sys.exit(1)
    _read(sys.argv[2:])
