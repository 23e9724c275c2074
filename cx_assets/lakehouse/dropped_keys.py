"""Copies in quarantine whose kept record a run has just dropped.

A key unique across days (a CRM interaction, a call) is kept once: its copy on another day
is quarantined, as `first delivered on D` (a later day) or `already kept on D` (an earlier
day run after D). When D runs again on files that no longer hold the key (re-delivered
without it), D drops it, and the copies quarantined elsewhere are all that is left of the
record: it is in no silver table, and every check passes. `keys_before` notes the keys of a
run's days before the run; `days_holding_copies` then finds the other days that quarantined
copies of a day that dropped keys, for `cx-lakehouse run` to name with the command that runs
them together (first delivery wins again).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cx_assets.lakehouse import parquet, sql
from cx_assets.lakehouse.partitions import PARTITION_COLUMN
from cx_assets.lakehouse.warehouse_tables import table_exists

# The reasons a copy of a key kept on another day is quarantined with
# (`duplicates._earlier_day_reason_sql`, `duplicates.kept_later_reason_sql`).
COPY_OF_A_DAYS_RECORD = re.compile(
    r"^duplicate .* \((?:first delivered|already kept) on (?P<day>\d{4}-\d{2}-\d{2})\)$"
)


@dataclass(frozen=True)
class KeyedTable:
    """A silver table keeping each key once over all days, and its bronze table (whose
    quarantine holds the copies)."""

    schema: str
    table: str
    key: tuple[str, ...]
    bronze_table: str
    group: str

    @property
    def name(self) -> str:
        return f"{self.schema}/{self.table}"


@dataclass(frozen=True)
class OrphanedCopies:
    """Days of one table that quarantined copies of records the run's `days` kept before it
    and may no longer keep."""

    table: KeyedTable
    dropping: tuple[str, ...]  # the run's days that dropped keys, sorted ISO days
    holding: tuple[str, ...]  # other days with copies of their records, sorted ISO days

    def command(self) -> str:
        """Both days' records ranked again as one run ranks them: the first delivery left,
        on whichever day, is kept."""
        days = sorted(self.dropping + self.holding)
        return (
            f"cx-lakehouse run --date {days[0]} --to {days[-1]} --select group:{self.table.group}"
        )


def keys_before(
    con: duckdb.DuckDBPyConnection, table: KeyedTable, days: Sequence[str], quarantine_dir: Path
) -> pa.Table | None:
    """The keys `table` keeps on `days`, before a run of them; None when no other day has
    a quarantine folder (no copy anywhere to be left alone), or the table is not built."""
    if not _days_outside(quarantine_dir / table.bronze_table, days):
        return None
    if not table_exists(con, table.schema, table.table):
        return None
    key = ", ".join(sql.quote_identifier(column) for column in table.key)
    return con.execute(
        f"SELECT {PARTITION_COLUMN}, {key} FROM {sql.qualified(table.schema, table.table)} "
        f"WHERE {PARTITION_COLUMN} IN (SELECT unnest(?::DATE[]))",
        [list(days)],
    ).to_arrow_table()


def days_dropping_keys(
    con: duckdb.DuckDBPyConnection, table: KeyedTable, before: pa.Table
) -> list[str]:
    """The days of `before` (`keys_before`) with a key `table` no longer keeps on them."""
    if before.num_rows == 0 or not table_exists(con, table.schema, table.table):
        return sorted({day.isoformat() for day in before.column(PARTITION_COLUMN).to_pylist()})
    same = " AND ".join(
        f"s.{column} IS NOT DISTINCT FROM b.{column}"
        for column in (PARTITION_COLUMN, *(sql.quote_identifier(c) for c in table.key))
    )
    con.register("keys_before_run", before)
    try:
        dropped = con.execute(
            f"SELECT DISTINCT b.{PARTITION_COLUMN} FROM keys_before_run AS b WHERE NOT EXISTS "
            f"(SELECT 1 FROM {sql.qualified(table.schema, table.table)} AS s WHERE {same})"
        ).fetchall()
    finally:
        con.unregister("keys_before_run")
    return sorted(day.isoformat() for (day,) in dropped)


def days_holding_copies(
    quarantine_dir: Path, table: KeyedTable, dropping: Collection[str], run_days: Sequence[str]
) -> list[str]:
    """The days outside `run_days` whose quarantine holds a copy of a record of one of the
    `dropping` days."""
    dataset = quarantine_dir / table.bronze_table
    holding = []
    for day in _days_outside(dataset, run_days):
        folder = parquet.partition_folder(dataset, date.fromisoformat(day))
        if not parquet.row_count(folder):
            continue
        reasons = pq.read_table(folder, columns=["reason"])
        named = {
            match["day"]
            for reason in reasons.column("reason").to_pylist()
            if reason and (match := COPY_OF_A_DAYS_RECORD.match(reason))
        }
        if named & set(dropping):
            holding.append(day)
    return holding


def _days_outside(dataset: Path, days: Sequence[str]) -> list[str]:
    """The days of a per-day dataset's folders, `days` left out, sorted."""
    prefix = f"{PARTITION_COLUMN}="
    if not dataset.is_dir():
        return []
    found = (entry.name[len(prefix) :] for entry in dataset.iterdir() if entry.is_dir())
    return sorted(day for day in found if day not in set(days) and _is_day(day))


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
