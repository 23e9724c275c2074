"""Records whose only copies are in quarantine.

A key unique across days (a CRM interaction, a call) is kept once: its copy on another day
is quarantined, as `first delivered on D` (a later day) or `already kept on D` (an earlier
day run after D). When D runs again on files that no longer hold the key (re-delivered
without it), D drops it, and the copies quarantined elsewhere are all that is left of the
record: it is in no silver table, and every other check passes (bronze still reconciles,
the copies being in quarantine). `copies_of_dropped_keys` finds such copies of the records
of a step's days, for the table's `records_only_in_quarantine` check to name with the
command that runs the days together (the first delivery left is kept), at every run of
those days until it is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from cx_assets.lakehouse import parquet, quarantine, sql
from cx_assets.lakehouse.duplicates import KEPT_ON_ANOTHER_DAY
from cx_assets.lakehouse.landing import parse_date_folder
from cx_assets.lakehouse.parsing import json_path
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, run_command
from cx_assets.lakehouse.warehouse_tables import table_exists


@dataclass(frozen=True)
class KeyedTable:
    """A silver table keeping each key once over all days (`key`, and the landed fields it
    is typed from, `fields`), and its bronze table, whose quarantine holds the copies."""

    schema: str
    table: str
    key: tuple[str, ...]
    fields: tuple[str, ...]
    bronze_table: str
    group: str  # its domain's, for the command that runs the days together


@dataclass(frozen=True)
class OrphanedCopies:
    """Days of one table holding, in quarantine only, copies of records of a run's days."""

    table: KeyedTable
    of_days: tuple[str, ...]  # the run's days the copies name, sorted ISO days
    holding: tuple[str, ...]  # the days whose quarantine holds them, sorted ISO days
    records: int

    def command(self) -> str:
        days = sorted(self.of_days + self.holding)
        return run_command(days[0], days[-1], f"group:{self.table.group}")


def copies_of_dropped_keys(
    con: duckdb.DuckDBPyConnection, table: KeyedTable, quarantine_dir: Path, days: Sequence[str]
) -> OrphanedCopies | None:
    """The copies, quarantined on days outside `days`, of a record of one of `days` whose
    key `table` keeps on no day: the record a re-delivery of its day dropped (None: none)."""
    if not days or not (
        table_exists(con, "bronze", table.bronze_table)
        and table_exists(con, table.schema, table.table)
    ):
        return None
    copies = _copies_quarantined_elsewhere(con, table, quarantine_dir, days)
    if copies is None:
        return None
    lost = _kept_on_no_day(con, table, copies)
    if not lost:
        return None
    return OrphanedCopies(
        table,
        tuple(sorted({of_day.isoformat() for _, of_day in lost})),
        tuple(sorted({day.isoformat() for day, _ in lost})),
        len(lost),
    )


_COPY_COLUMNS = pa.schema([(PARTITION_COLUMN, pa.date32()), ("source_file", pa.string()),
                           ("line_number", pa.int64()), ("of_day", pa.date32())])  # fmt: skip


def _copies_quarantined_elsewhere(
    con: duckdb.DuckDBPyConnection, table: KeyedTable, quarantine_dir: Path, days: Sequence[str]
) -> pa.Table | None:
    """Where other days' quarantine holds a copy of a record of `days` (day, file and line of
    the copy, and the day it names), read from their files with rows only (None: none)."""
    dataset = quarantine_dir / table.bronze_table
    files = [
        str(path)
        for day in _days_outside(dataset, days)
        if quarantine.day_rows(dataset, date.fromisoformat(day), table.group)
        for path in sorted(
            parquet.partition_folder(dataset, date.fromisoformat(day)).glob("*.parquet")
        )
        if parquet.file_rows(path)
    ]
    if not files:
        return None
    named = ", ".join(sql.date_literal(date.fromisoformat(day)) for day in days)
    copies = con.execute(
        f"""
        SELECT {PARTITION_COLUMN}, source_file, line_number,
               CAST(regexp_extract(reason, ?, 1) AS DATE) AS of_day
        FROM read_parquet(?, hive_partitioning = true, union_by_name = true)
        WHERE regexp_matches(reason, ?) AND CAST(regexp_extract(reason, ?, 1) AS DATE) IN ({named})
        """,
        [KEPT_ON_ANOTHER_DAY, files, KEPT_ON_ANOTHER_DAY, KEPT_ON_ANOTHER_DAY],
    ).fetchall()
    if not copies:
        return None
    return pa.Table.from_pylist(
        [dict(zip(_COPY_COLUMNS.names, row, strict=True)) for row in copies],
        schema=_COPY_COLUMNS,
    )


def _kept_on_no_day(
    con: duckdb.DuckDBPyConnection, table: KeyedTable, copies: pa.Table
) -> list[tuple[date, date]]:
    """(holding day, day named) of each copy whose key the silver table keeps on no day, the
    key read from the copy's bronze record (the holding days' bronze files alone)."""
    holding_days = sorted(set(copies[PARTITION_COLUMN].to_pylist()))
    # A key as its record holds it, and stripped as a CSV value is typed (`parsing`).
    keys = ", ".join(
        f"json_extract_string(coalesce(b.record, b.raw), {json_path(field)}) AS k{i}"
        for i, field in enumerate(table.fields)
    )
    stripped = ", ".join(f"{sql.stripped(f'k{i}')} AS s{i}" for i in range(len(table.fields)))

    def kept_as(prefix: str) -> str:
        same = " AND ".join(
            f"CAST(s.{sql.quote_identifier(column)} AS VARCHAR) = c.{prefix}{i}"
            for i, column in enumerate(table.key)
        )
        return (
            f"EXISTS (SELECT 1 FROM {sql.qualified(table.schema, table.table)} AS s WHERE {same})"
        )

    con.register("quarantined_copies", copies)
    try:
        return con.execute(
            f"""
            WITH keyed AS (
                SELECT c.{PARTITION_COLUMN}, c.of_day, {keys}
                FROM quarantined_copies AS c
                JOIN (
                    SELECT * FROM {sql.qualified("bronze", table.bronze_table)}
                    WHERE {sql.in_days(holding_days)}
                ) AS b
                  ON b.{PARTITION_COLUMN} = c.{PARTITION_COLUMN}
                 AND b.source_file = c.source_file AND b.line_number = c.line_number
            ),
            both_forms AS (SELECT *, {stripped} FROM keyed)
            SELECT c.{PARTITION_COLUMN}, c.of_day FROM both_forms AS c
            WHERE NOT {kept_as("k")} AND NOT {kept_as("s")}
            """
        ).fetchall()
    finally:
        con.unregister("quarantined_copies")


def _days_outside(dataset: Path, days: Sequence[str]) -> list[str]:
    """The days of a per-day dataset's folders, `days` left out, sorted."""
    prefix = f"{PARTITION_COLUMN}="
    if not dataset.is_dir():
        return []
    left_out = set(days)
    named = (
        entry.name[len(prefix) :] for entry in dataset.iterdir() if entry.name.startswith(prefix)
    )
    return sorted(
        day for day in named if day not in left_out and parse_date_folder(day) is not None
    )
