"""Where the lakehouse lives and when its partitions start (contract section 1).

Everything the product reads or writes sits under one data root, `CX_DATA_DIR`
(default `./data`, relative to the working directory), so a test or a demo can
point the whole product at a temporary folder with one variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cx_assets.lakehouse.landing import parse_date_folder

DATA_DIR_ENV = "CX_DATA_DIR"
PARTITIONS_START_ENV = "CX_PARTITIONS_START"
DEFAULT_DATA_DIR = "./data"
DEFAULT_PARTITIONS_START = "2024-01-01"
RUN_WAIT_ENV = "CX_RUN_WAIT_SECONDS"
# The secret of the keyed hashes of personal values (`privacy.hash_key`).
HASH_KEY_ENV = "CX_HASH_KEY"
# How long a run waits for another run on the same data root before giving up.
DEFAULT_RUN_WAIT_SECONDS = 3600.0


# What a relative path is when the working directory was deleted (or moved) under the
# command: a release folder a deploy replaced, a temporary one cleaned away.
RELATIVE_TO_A_DELETED_WORKING_DIRECTORY = (
    "relative to the working directory, which no longer exists (deleted or moved)"
)


class SettingsError(ValueError):
    """A configuration value a user must fix; its message is meant to be printed as is."""


@dataclass(frozen=True)
class DataLayout:
    """Where each part of the lakehouse lives under the data root."""

    data_dir: Path

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def bronze_dir(self) -> Path:
        return self.data_dir / "bronze"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def gold_dir(self) -> Path:
        return self.data_dir / "gold"

    @property
    def gold_journal_dir(self) -> Path:
        """What gold Parquet is being published (gold_io_manager.GoldIOManager): a file left
        here by a crash is repaired by the table's next output."""
        return self.data_dir / ".gold-journal"

    @property
    def read_ahead_journal(self) -> Path:
        """The rows later days were built from, fingerprinted before a run that rebuilds
        them (`cli/read_ahead.py`): left by a run that stopped before comparing them."""
        return self.data_dir / ".read-ahead.json"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"


def data_root_of_home(home: Path) -> Path | None:
    """The data root whose own Dagster home `home` is (its `dagster_home/`, beside its
    landing or its warehouse), else None."""
    layout = DataLayout(home.parent)
    if layout.dagster_home.name != home.name:
        return None
    marks = (layout.landing_dir, layout.warehouse_path)
    return home.parent if any(mark.exists() for mark in marks) else None


def foreign_home(home: Path, data_dir: Path) -> str | None:
    """Why `home` may not hold the runs of `data_dir`, said in one line, else None: it is
    another data root's own. Its UI would show this root's runs, both roots' landing
    sensors would share one cursor each, and the days its history says built would be
    taken as built here (seen in an audit: a shell holding another team's DAGSTER_HOME)."""
    # As given, and where it leads: a link to another root's home is that home.
    others = (data_root_of_home(path) for path in (home, Path(os.path.realpath(home))))
    other = next((o for o in others if o is not None and o.resolve() != data_dir.resolve()), None)
    if other is None:
        return None
    return (
        f"DAGSTER_HOME={home} is the run history of the data root {other}, not of "
        f"{data_dir} (CX_DATA_DIR): unset DAGSTER_HOME (each data root keeps its own, in "
        f"its dagster_home/), or set CX_DATA_DIR to {other}"
    )


def partition_days(first: date, last: date, start: date) -> list[date]:
    """The days `first` to `last`, each a daily partition of a lake whose first is `start`
    (CX_PARTITIONS_START): up to yesterday (UTC), the last complete day. Raises ValueError
    naming the day given that is not one. Without Dagster: `cx-lakehouse run` refuses such
    a day before it imports Dagster and starts its early read."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    if start > yesterday:
        raise ValueError(
            f"there are no partitions yet: CX_PARTITIONS_START={start} is after yesterday "
            f"({yesterday}, UTC), the last complete day"
        )
    # The day given is named (a range to 2099 named today, its first day past the end).
    if first < start:
        raise ValueError(
            f"{first} is not a partition: partitions are daily from {start} up to yesterday "
            f"({yesterday}, UTC); set CX_PARTITIONS_START to change the first one"
        )
    if last > yesterday:
        raise ValueError(
            f"{last} is not a partition yet: partitions are daily from {start} up to "
            f"yesterday ({yesterday}, UTC), the last complete day"
        )
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    partitions_start: date
    run_wait_seconds: float = DEFAULT_RUN_WAIT_SECONDS

    @classmethod
    def from_env(cls) -> Settings:
        raw_start = os.environ.get(PARTITIONS_START_ENV) or DEFAULT_PARTITIONS_START
        # As a date folder is read: Python's own parse also takes `20240105` and `2024-W01-5`.
        start = parse_date_folder(raw_start)
        if start is None:
            raise SettingsError(
                f"{PARTITIONS_START_ENV}={raw_start!r} is not a date in YYYY-MM-DD form"
            )
        raw_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
        # A space is part of a folder's name: `   ` was a folder made in the working
        # directory, ` /srv/cx` one named ` ` there, `/srv/cx ` a sibling of /srv/cx.
        if not raw_dir.strip():
            raise SettingsError(
                f"{DATA_DIR_ENV}={raw_dir!r} names no folder: give the data root's path, or "
                f"unset it for {DEFAULT_DATA_DIR}"
            )
        if raw_dir != raw_dir.strip():
            raise SettingsError(
                f"{DATA_DIR_ENV}={raw_dir!r} begins or ends with a space (or a tab or line "
                f"end), which would be part of a folder's name: give {raw_dir.strip()!r}"
            )
        try:
            data_dir = Path(raw_dir).expanduser().resolve()
        except FileNotFoundError:  # os.getcwd(): a working directory deleted under the command
            raise SettingsError(
                f"{DATA_DIR_ENV}={raw_dir} is {RELATIVE_TO_A_DELETED_WORKING_DIRECTORY}: "
                f"give {DATA_DIR_ENV} as an absolute path, or run from a folder that exists"
            ) from None
        except RuntimeError:  # Python's "Symlink loop": a traceback for every command
            raise SettingsError(
                f"{DATA_DIR_ENV}={raw_dir} goes through a loop of symbolic links: give the "
                "data root's own path, or mend the link"
            ) from None
        if data_dir.exists() and not data_dir.is_dir():
            raise SettingsError(f"{DATA_DIR_ENV}={data_dir} is a file, not a folder")
        # Under a file, it can never be made: `generate` and `ui` ended in a traceback.
        existing = next(folder for folder in (data_dir, *data_dir.parents) if folder.exists())
        if not existing.is_dir():
            raise SettingsError(
                f"{DATA_DIR_ENV}={data_dir} lies in {existing}, which is a file, not a folder"
            )
        if pattern := next((mark for mark in "[*?\\" if mark in str(data_dir)), None):
            # DuckDB reads every path it lists files under as a pattern: `[r]` matches `r`
            # alone, so the data root's own bronze files were "not found"; `root*` (or
            # `root?`) also matches a sibling data root, whose bronze was read as its own.
            # And it reads a `\` as a `/`: `root\x`'s warehouse was opened in `root/x/`,
            # outside the root (created there when that folder existed).
            read_as = (
                "a path separator"
                if pattern == "\\"
                else "a pattern in the paths of the files it reads"
            )
            raise SettingsError(
                f"{DATA_DIR_ENV}={data_dir} holds a '{pattern}', which DuckDB reads as "
                f"{read_as}: choose a data root without one"
            )
        raw_wait = os.environ.get(RUN_WAIT_ENV) or str(DEFAULT_RUN_WAIT_SECONDS)
        try:
            run_wait_seconds = float(raw_wait)
        except ValueError:
            run_wait_seconds = -1.0
        if not 0 <= run_wait_seconds < float("inf"):
            raise SettingsError(f"{RUN_WAIT_ENV}={raw_wait!r} is not a number of seconds")
        raw_key = os.environ.get(HASH_KEY_ENV)
        if raw_key is not None and not raw_key.strip():
            # Taken as unset, it hashed personal values under the documented local-only key,
            # which anyone can read, where the secret was meant (`CX_HASH_KEY=$SECRET`, the
            # secret not given to the process).
            raise SettingsError(
                f"{HASH_KEY_ENV} is set but {'blank' if raw_key else 'empty'}: personal values "
                "would be hashed under the documented local-only key, which anyone can read: "
                f"give it the secret, or unset {HASH_KEY_ENV} for local use"
            )
        return cls(data_dir=data_dir, partitions_start=start, run_wait_seconds=run_wait_seconds)

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.data_dir)
