"""`make clean`: a data root emptied of what landed in it and everything the lakehouse wrote,
refused while a run, a `generate` or the UI uses it.

It once removed the layers, the warehouse and the run history only, and left what a run
keeps beside them: `.gold-journal/` (gold a killed run was publishing, which the next run
publishes first: an old day's gold back in a folder just emptied), `.read-ahead.json` (the
next run would name later days built from rows that are gone), `models/`, `.early-bronze/`
and `.run-queue/`. Removing the history under a live UI left its daemon ticking sensors
on a deleted instance, and removing the warehouse under a run left the run writing a file
no one would read. So the run lock and the generate lock are held while it removes (a
run or `generate` starting meanwhile waits, or is refused, as with any other holder), and
a `dagster dev` of the data root's history (or what a killed one left) refuses it.

A file or folder of the data root it does not know is left where it is, and so are the two
lock files (held while it removes; an empty file holds nothing). A `DAGSTER_HOME` set
outside the data root is the user's: left, and said so. A folder no run, `generate` or UI
ever used (none of their marks in it: `data_root_marks`) is refused whatever it holds:
`CX_DATA_DIR=~` mistyped would otherwise take a home folder's own `models/` and `gold/`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cx_assets.cli.failures import BusyError
from cx_assets.cli.generate import GENERATE_LOCK
from cx_assets.cli.leftovers import PROC, dagster_processes
from cx_assets.lakehouse.early_bronze import SCRATCH_FOLDER
from cx_assets.lakehouse.run_lock import LOCK_FILE, QUEUE_DIR, holder_of
from cx_assets.lakehouse.settings import DataLayout, Settings, SettingsError


def removable(data_dir: Path) -> list[Path]:
    """What `clean` removes from `data_dir`, present or not, in the order it removes them
    (the history last: a run refused midway still finds its own)."""
    layout = DataLayout(data_dir)
    warehouse = layout.warehouse_path
    return [
        layout.landing_dir,
        layout.bronze_dir,
        layout.quarantine_dir,
        layout.gold_dir,
        layout.gold_journal_dir,
        layout.models_dir,
        warehouse,
        warehouse.with_name(f"{warehouse.name}.wal"),
        warehouse.with_name(f"{warehouse.name}.tmp"),
        layout.read_ahead_journal,
        data_dir / SCRATCH_FOLDER,
        data_dir / QUEUE_DIR,
        layout.dagster_home,
    ]


class NotADataRoot(Exception):
    """A folder the lakehouse never used, given as the data root to empty."""


def data_root_marks(data_dir: Path) -> list[Path]:
    """What a run, a `generate` or a UI leaves in every data root it used, one at least: the
    run lock and the generate lock (kept, empty, when done), the run history, the warehouse."""
    layout = DataLayout(data_dir)
    return [
        data_dir / LOCK_FILE,
        data_dir / GENERATE_LOCK,
        layout.dagster_home,
        layout.warehouse_path,
    ]


@contextmanager
def _held(path: Path, busy: str) -> Iterator[None]:
    """`path`'s `flock`, taken without waiting; `BusyError(busy)` when someone holds it."""
    if not path.exists():
        yield
        return
    with open(path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(busy) from None
        yield


def clean(data_dir: Path, proc: Path = PROC) -> list[Path]:
    """Remove `removable(data_dir)` and return what was there; `BusyError` naming who uses
    the data root, and nothing removed, while a run, a `generate` or a UI does."""
    home = DataLayout(data_dir).dagster_home
    serving = dagster_processes(home, proc) if home.exists() else []
    if serving:
        # In numbers' order: /proc lists them in whatever order its directory gives.
        pids = ", ".join(str(pid) for pid in sorted(process.pid for process in serving))
        raise BusyError(
            f"a Dagster UI uses {data_dir} (Dagster processes {pids} of its run history): stop "
            "it first (what a killed UI left, the next `cx-lakehouse ui` stops)"
        )
    with ExitStack() as held:
        lock = data_dir / LOCK_FILE
        held.enter_context(
            _held(lock, f"{holder_of(lock)} is running on {data_dir}: wait for it to finish")
        )
        held.enter_context(
            _held(
                data_dir / GENERATE_LOCK,
                f"a `cx-lakehouse generate` is writing into {data_dir}: wait for it to finish",
            )
        )
        present = [path for path in removable(data_dir) if path.exists() or path.is_symlink()]
        if present and not any(mark.exists() for mark in data_root_marks(data_dir)):
            names = ", ".join(path.name for path in present)
            raise NotADataRoot(
                f"{data_dir} is no cx-lakehouse data root (no run, generate or UI ever used it), "
                f"so its {names} are not the lakehouse's to remove: check CX_DATA_DIR"
            )
        removed = []
        for path in removable(data_dir):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
            removed.append(path)
    return removed


def main() -> int:
    try:
        data_dir = Settings.from_env().data_dir
    except SettingsError as mistake:  # a mistyped variable: said as every command says it
        print(f"make clean: {mistake}", file=sys.stderr)
        return 2
    try:
        removed = clean(data_dir)
    except BusyError as busy:
        print(f"make clean: {busy}", file=sys.stderr)
        return 1
    except NotADataRoot as elsewhere:
        print(f"make clean: {elsewhere}", file=sys.stderr)
        return 2
    names = ", ".join(path.name for path in removed) or "nothing (already clean)"
    print(f"removed from {data_dir}: {names}")
    configured = os.environ.get("DAGSTER_HOME")
    if configured and Path(configured).resolve() != DataLayout(data_dir).dagster_home.resolve():
        print(f"DAGSTER_HOME={configured} is outside the data root: its run history is left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
