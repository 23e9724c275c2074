"""The largest landed table read into bronze while `cx-lakehouse run` starts up.

A command spends its first second on one core (importing Dagster and the definitions,
opening the instance) while the machine's other core idles; and the largest table's bronze
step (a CRM day's interactions: 272 MB, about a second at scale 1) heads the run's longest
path, bronze then silver then the gold tables. So `cx-lakehouse run` starts, before it
imports Dagster, a process of its own (Python and pyarrow, no Dagster) that reads that
table's landed files into bronze Parquet files in a scratch folder of the data root
(`.early-bronze/<pid>-<start time of the command>/`), with `read_landed`, the bronze step's own reader.

When the table's bronze step runs, it discovers its files as always and `claim`s the early
read: if the process read those very files (the same names, sizes, modification and change
times, `LandedFile`), the step waits for it if it is still reading and hands its files to
the bronze IO manager, which moves them into place under the run's lock as it would its own
(`parquet.publish_days`). Otherwise (a file landed, changed or left since; the process
failed) the step reads the files itself and the early files are dropped. So bronze always
holds what the step's own discovery found; only `ingested_at` is when the early read began.

Only `cx-lakehouse run` starts an early read (the UI's, the daemon's and tests' runs read
in their steps), only for a selection of whole domains, and only for a table of at least
`MIN_BYTES` over the run's days: below that the step is short and the process not worth
its start. The process dies with the command (`PR_SET_PDEATHSIG`); the command removes its
scratch folder when it ends, and the next early read removes any that a killed command
left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.landing import SUPPORTED_SUFFIXES, LandedFile, is_in_flight
from cx_assets.lakehouse.run_lock import process_alive, process_started

SCRATCH_FOLDER = ".early-bronze"
# Output metadata of a bronze step that took an early read: how long the reading took.
READ_SECONDS = "read_early_seconds"
MIN_BYTES = 32 * 2**20
_MANIFEST = "manifest.json"
_ERRORS = "errors.log"


@dataclass(frozen=True)
class EarlyRead:
    """Bronze files of a table's days, read before the step ran, ready to move into place."""

    files: dict[date, Path]
    rows: dict[date, int]
    warnings: list[str]  # what the reader would have logged in the step (unreadable records)
    seconds: float

    def publish(self, dataset_dir: Path) -> dict[date, int]:
        """Move the files into `dataset_dir`'s partitions; rows per day."""
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

    def result(self) -> tuple[EarlyRead, list] | None:
        """The early read once the process is done, with the identities of the files it
        read (`_identity`); None when it failed."""
        if self.process.wait() != 0:
            return None
        try:
            manifest = json.loads((self.folder / _MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        return EarlyRead(
            files={day: _day_file(self.folder, day) for day in self.days},
            rows={date.fromisoformat(day): rows for day, rows in manifest["rows"].items()},
            warnings=manifest["warnings"],
            seconds=manifest["seconds"],
        ), manifest["landed"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_lock = threading.Lock()
_reading: _Reading | None = None


def start(landing_dir: Path, domains: Sequence[str], first: date, last: date) -> None:
    """Start reading the largest landed table of `domains` over `first`..`last` (whole
    days) into bronze files, when it holds at least `MIN_BYTES`. Once per command. Nothing
    is started where the data root cannot take the files (the run then says why)."""
    global _reading
    days = tuple(first + timedelta(days=offset) for offset in range((last - first).days + 1))
    chosen = _largest_table(landing_dir, domains, days)
    if chosen is None:
        return
    source, table = chosen
    folder = scratch_folder(landing_dir)
    try:
        _remove_dead(folder.parent)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with open(folder / _ERRORS, "wb") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(landing_dir), str(folder), source, table]
                + [day.isoformat() for day in days],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
    except OSError:
        return
    with _lock:
        _reading = _Reading(landing_dir, source, table, days, folder, process)


def claim(
    landing_dir: Path, source: str, table: str, days: Sequence[date], files: Sequence[LandedFile]
) -> EarlyRead | None:
    """The early read of `source`/`table` over `days`, if this process started one and it
    read exactly `files`; None otherwise (then the caller reads the files itself). A read is
    claimed once: a retried step reads on its own."""
    global _reading
    with _lock:
        reading = _reading
        if reading is None or not reading.reads(landing_dir, source, table, days):
            return None
        _reading = None
    done = reading.result()
    if done is not None:
        early, landed = done
        if landed == [_identity(landed_file) for landed_file in files]:
            return early
    shutil.rmtree(reading.folder, ignore_errors=True)
    return None


def finish(landing_dir: Path) -> None:
    """Stop this command's early read if nothing claimed it, and remove its scratch folder."""
    global _reading
    with _lock:
        reading, _reading = _reading, None
    if reading is not None:
        reading.stop()
    shutil.rmtree(scratch_folder(landing_dir), ignore_errors=True)


def scratch_folder(landing_dir: Path) -> Path:
    """This command's scratch folder: named by its process and the process's start time,
    so a later process given the same pid does not take a dead command's folder for its
    own (as runs' owners are told apart, `run_lock`)."""
    pid = os.getpid()
    return landing_dir.parent / SCRATCH_FOLDER / f"{pid}-{process_started(pid) or ''}"


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
                if entry.is_dir() and not is_in_flight(Path(entry.path))
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


def _remove_dead(scratch: Path) -> None:
    """Scratch folders of commands no longer running (killed before they removed theirs)."""
    try:
        folders = list(scratch.iterdir())
    except OSError:
        return
    for folder in folders:
        pid, _, started = folder.name.partition("-")
        if pid.isdigit() and not process_alive(int(pid), started or None):
            shutil.rmtree(folder, ignore_errors=True)


def _day_file(folder: Path, day: date) -> Path:
    return parquet.partition_folder(folder, day) / parquet.DATA_FILE


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
    from cx_assets.lakehouse.bronze_stream import read_landed
    from cx_assets.lakehouse.landing import discover

    landing, folder, source, table, *day_texts = argv
    landing_dir, scratch = Path(landing), Path(folder)
    began = time.perf_counter()
    days = [date.fromisoformat(text) for text in day_texts]
    # `ignored` collected, not logged: the step's own discovery says what it skips.
    files = [landed for day in days for landed in discover(landing_dir, source, table, day, [])]
    warnings: list[str] = []
    rows = parquet.write_days(
        read_landed(files, datetime.now(UTC), warnings.append),
        {day: _day_file(scratch, day) for day in days},
    )
    manifest = {
        "landed": [_identity(landed) for landed in files],
        "rows": {day.isoformat(): count for day, count in rows.items()},
        "warnings": warnings,
        "seconds": round(time.perf_counter() - began, 3),
    }
    written = scratch / f"_{_MANIFEST}"
    written.write_text(json.dumps(manifest))
    os.replace(written, scratch / _MANIFEST)


if __name__ == "__main__":
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the command ended before the line above
        sys.exit(1)
    _read(sys.argv[1:])
