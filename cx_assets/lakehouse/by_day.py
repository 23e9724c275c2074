"""Whole-history tables whose rows belong to days, kept current as later days re-deliver
what they hold.

Where the latest version of a record wins across days, a row that belongs to one day can
change on a later one: support counts a ticket once, in its latest version, under the UTC
day it was created, and a later delivery (or the as-of time moving on, flipping a breach
flag) updates its row there. Such a table is a whole-history asset that still publishes by
day (`DayRows`, hive-partitioned in gold): each run computes every row in DuckDB, compares
it with what is stored, day by day, and rewrites only the days whose rows changed, and every
materialized day without rows, so that it has its empty partition whether it was run alone
or in a range. Re-deliveries touch the last few days; a year of history costs one comparison
in SQL, not a rewrite. A domain with such tables returns `rows_of_changed_days(...)[0]` from
its asset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pandera.pandas as pa

from cx_assets.lakehouse.derived import validate_derived
from cx_assets.lakehouse.io_managers import DayRows
from cx_assets.lakehouse.sql import in_days, qualified, quote_identifier
from cx_assets.lakehouse.warehouse_tables import table_columns, table_exists

CANDIDATE = "candidate_rows"


def changed_days(
    con: duckdb.DuckDBPyConnection, candidate: str, schema: str, table: str, columns: Sequence[str]
) -> list[date]:
    """Days whose rows differ between `candidate` and the stored `schema.table` (rows added,
    changed or gone); every candidate day when nothing comparable is stored yet."""
    stored_columns = {name for name, _ in table_columns(con, schema, table)}
    if not table_exists(con, schema, table) or not set(columns) <= stored_columns:
        rows = con.execute(f"SELECT DISTINCT date FROM {candidate} ORDER BY date").fetchall()
        return [row[0] for row in rows]
    listed = ", ".join(quote_identifier(column) for column in columns)
    stored = qualified(schema, table)
    rows = con.execute(
        f"""SELECT DISTINCT date FROM (
                (SELECT {listed} FROM {candidate} EXCEPT ALL SELECT {listed} FROM {stored})
                UNION ALL
                (SELECT {listed} FROM {stored} EXCEPT ALL SELECT {listed} FROM {candidate})
            ) ORDER BY date"""
    ).fetchall()
    return [row[0] for row in rows]


def rows_of_changed_days(
    con: duckdb.DuckDBPyConnection,
    candidate_sql: str,
    schema: str,
    table: str,
    model: type[pa.DataFrameModel],
    every_day: str,
) -> tuple[DayRows, list[date]]:
    """Every row of `candidate_sql` computed in DuckDB; the rows of the changed days
    validated, as `DayRows` for the IO manager, and the changed days. The days of
    `every_day` (a query of the materialized days, column `date`) without any row are
    written too, as empty days: a rewrite of nothing costs little, and no stored state
    says whether an empty day's partition was written before. A changed day of no row
    outside them (a ticket created before the first partition, or after the as-of day,
    that has moved) is removed, folder and all, as a build from the start never had it."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CANDIDATE} AS {candidate_sql}")
    try:
        columns = list(model.to_schema().columns)
        changed = changed_days(con, CANDIDATE, schema, table, columns)
        empty = con.execute(
            f"SELECT date FROM ({every_day}) EXCEPT SELECT date FROM {CANDIDATE}"
        ).fetchall()
        days = sorted({*changed, *(day for (day,) in empty)})
        removed = [
            day
            for (day,) in con.execute(
                f"SELECT unnest(?::DATE[]) AS date EXCEPT SELECT date FROM {CANDIDATE} "
                f"EXCEPT SELECT date FROM ({every_day})",
                [changed],
            ).fetchall()
        ]
        frame = con.execute(f"SELECT * FROM {CANDIDATE} WHERE {in_days(days)}").df()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {CANDIDATE}")
    return DayRows(validate_derived(model, frame), days, removed=sorted(removed)), changed
