"""What the warehouse holds, asked in SQL: a query's first value, whether a table exists,
its columns, how many rows it has (of some days), and a fingerprint of each day's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb

from cx_assets.lakehouse.partitions import PARTITION_COLUMN
from cx_assets.lakehouse.sql import in_days_param, qualified, quote_identifier


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """The first value of a query. Fetches the whole result: DuckDB 2.0 refuses further work
    on a connection while a result is only partly read."""
    rows = (
        con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    )
    return rows[0][0] if rows else None


# The catalog is asked through DuckDB's own table functions: `information_schema` is a
# view over them (and every other catalog object), about three times as slow to ask, and a
# digital day asks about 50 times. The same answers, user tables and views only. Tables are
# asked first and views only if no table has the name: most questions are about a table,
# and `duckdb_views()` lists DuckDB's ~60 internal views too (0.8 of the 1.8 ms both took).
def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` is a table or a view (a temporary one too)."""
    named = {"schema": schema, "table": table}
    return bool(
        scalar(
            con,
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $schema AND table_name = $table",
            named,
        )
        or scalar(
            con,
            "SELECT count(*) FROM duckdb_views() "
            "WHERE NOT internal AND schema_name = $schema AND view_name = $table",
            named,
        )
    )


# Columns a run stamps with its own time: rows read again from the same files differ there.
RUN_STAMPED_COLUMNS = frozenset({"ingested_at"})


def day_rows_fingerprints(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, days: Sequence[str]
) -> dict[str, list] | None:
    """For each of `days` (ISO), the count and the sum of the hashes of a date-grained
    table's rows of that day, every column but `RUN_STAMPED_COLUMNS` included: equal before
    and after a run when it wrote the day's rows as they were (in any order); `[0, None]`
    for a day without rows. None when the table does not exist."""
    if not table_exists(con, schema, table):
        return None
    columns = ", ".join(
        quote_identifier(name)
        for name, _ in table_columns(con, schema, table)
        if name not in RUN_STAMPED_COLUMNS
    )
    found = {
        day.isoformat(): [rows, hashes]
        for day, rows, hashes in con.execute(
            f"SELECT {PARTITION_COLUMN}, count(*), sum(hash(t)) FROM "
            f"(SELECT {columns} FROM {qualified(schema, table)} "
            f"WHERE {PARTITION_COLUMN} IN (SELECT unnest(?::DATE[]))) AS t "
            f"GROUP BY {PARTITION_COLUMN}",
            [list(days)],
        ).fetchall()
    }
    return {day: found.get(day, [0, None]) for day in days}


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, SQL type) of the columns of a table or view, in order."""
    return [
        (row[0], row[1])
        for row in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE NOT internal AND schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, table],
        ).fetchall()
    ]


def count_rows(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, dates: Sequence[date] | None = None
) -> int:
    if not table_exists(con, schema, table):
        return 0
    target = qualified(schema, table)
    if dates is None:
        return int(scalar(con, f"SELECT count(*) FROM {target}"))
    return int(
        scalar(con, f"SELECT count(*) FROM {target} WHERE {in_days_param(len(dates))}", list(dates))
    )
