"""The warehouse's bronze views: bronze lives as Parquet, a file a day, and the warehouse
reads it through a view per table (`bronze.<table>`), named by absolute path so any DuckDB
session reads it; a data root moved elsewhere has its views re-pointed when opened."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.partitions import PARTITION_COLUMN
from cx_assets.lakehouse.sql import qualified, string_literal

BRONZE = "bronze"


def create_bronze_view(con: duckdb.DuckDBPyConnection, table: str, bronze_dir: Path) -> None:
    """The warehouse's view `bronze.<table>` of the table's Parquet, a file a day under
    `bronze_dir` (its path absolute, so a DuckDB session anywhere reads it)."""
    con.execute(
        f"CREATE OR REPLACE VIEW {qualified(BRONZE, table)} AS "
        f"SELECT * FROM read_parquet({string_literal(_bronze_files(bronze_dir, table))}, "
        f"hive_partitioning = true, hive_types = {{'{PARTITION_COLUMN}': DATE}})"
    )


def _bronze_files(bronze_dir: Path, table: str) -> str:
    return (bronze_dir / table / "*" / parquet.DATA_FILE).as_posix()


def repoint_bronze_views(con: duckdb.DuckDBPyConnection, bronze_dir: Path) -> list[str]:
    """Point every bronze view at `bronze_dir`, the data root's own, where it names another
    place; returns the tables re-pointed. A view names its files by absolute path, so a
    data root moved (or copied) elsewhere kept views of the old place: a step reading
    bronze without writing it first failed on files no longer there, or read another data
    root's. Called when a process opens the warehouse, before any step reads it.

    A view whose files here cannot be read (none, or a damaged one: DuckDB reads their
    schema to create it) is dropped rather than left naming the other place: the table is
    then not built here, which a run selecting what reads it says, and writing it again
    (its bronze step) creates the view anew."""
    views = con.execute(
        "SELECT view_name, sql FROM duckdb_views() "
        "WHERE schema_name = ? AND NOT internal AND database_name = current_database()",
        [BRONZE],
    ).fetchall()
    repointed = []
    for table, definition in views:
        if string_literal(_bronze_files(bronze_dir, table)) in definition:
            continue
        try:
            create_bronze_view(con, table, bronze_dir)
        except duckdb.Error:
            con.execute(f"DROP VIEW {qualified(BRONZE, table)}")
        repointed.append(table)
    return repointed


def bronze_files_state(bronze_dir: Path, table: str) -> tuple[tuple[str, int, int, int], ...]:
    """What the view `bronze.<table>` reads now: each day file's path, size, modification
    time and inode, in path order. A file rewritten (renamed into place) changes it."""
    state = []
    for path in sorted((bronze_dir / table).glob(f"*/{parquet.DATA_FILE}")):
        try:
            stat = path.stat()
        except FileNotFoundError:  # replaced while listed: the next look sees the new one
            continue
        state.append((path.as_posix(), stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(state)
