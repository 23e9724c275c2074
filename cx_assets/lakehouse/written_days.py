"""The days each date-grained warehouse table has written, and the `CX_HASH_KEY` a table
with keyed hashes wrote them under, recorded in the warehouse (`lakehouse.written_days`) in
the transaction that writes the day's rows.

- A day written empty is still built: a source that delivered nothing that day. Dagster's
  own record of it lives in the instance that ran it, which Dagster's CLI without
  `DAGSTER_HOME` does not see (it runs on a throwaway instance); the rows cannot tell it
  either, since there are none. So "built" is asked here (`io_managers.days_never_built`).
- A keyed hash joins only with hashes made under the same key. Changing the key and
  building only the days that follow leaves the earlier days' hashes under the old one: a
  CRM thread, a person or a support customer split in two, every row valid, nothing
  failing. So a table declaring keyed hashes records each day with the key's id (`key_id`:
  a keyed hash of a fixed text, which tells keys apart without revealing them), and its
  `one_hash_key` check (`table_checks`) fails as ERROR while any of its days was written
  under another key than the run's.

Days written before this record existed have none: they count as built where they hold
rows, and their key is not judged.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence
from datetime import date

import duckdb

from cx_assets.lakehouse.privacy import hash_key
from cx_assets.lakehouse.sql import in_days_param, qualified
from cx_assets.lakehouse.warehouse import create_schema
from cx_assets.lakehouse.warehouse_tables import table_exists

# On a table's definition metadata: its rows hold keyed hashes (`lake_asset(keyed_hashes=)`).
KEYED_HASHES = "cx/keyed_hashes"
SCHEMA = "lakehouse"
TABLE = f"{SCHEMA}.written_days"
# The fixed text whose keyed hash names a key; 16 hex digits tell keys apart.
_KEY_ID_TEXT = b"cx-lakehouse: which CX_HASH_KEY"
_KEY_ID_DIGITS = 16

# Two steps' threads creating the table at once conflict in DuckDB's catalog, IF NOT EXISTS
# or not (as schemas do, see `warehouse.create_schema`).
_create_lock = threading.Lock()


def key_id() -> str:
    """The id of the current `CX_HASH_KEY`."""
    digest = hmac.new(hash_key(), _KEY_ID_TEXT, hashlib.sha256).hexdigest()
    return digest[:_KEY_ID_DIGITS]


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the record if it is not there (before a write's transaction: see
    `warehouse._prepare_table`)."""
    create_schema(con, SCHEMA)
    with _create_lock:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(table_name VARCHAR NOT NULL, day DATE NOT NULL, key_id VARCHAR)"
        )


def record(
    con: duckdb.DuckDBPyConnection, table: str, days: Sequence[date], key: str | None
) -> None:
    """Record `days` of `table` (`schema.table`) as written, under the hash key `key` (None:
    the table hashes nothing), inside the caller's transaction."""
    if not days:
        return
    con.execute(
        f"DELETE FROM {TABLE} WHERE table_name = ? AND {in_days_param(len(days), 'day')}",
        [table, *days],
    )
    con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?)", [(table, day, key) for day in days])


def _recorded(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, *TABLE.split("."))


def days_written(con: duckdb.DuckDBPyConnection, table: str, days: Sequence[date]) -> set[date]:
    """Which of `days` `table` is recorded as having written."""
    if not days or not _recorded(con):
        return set()
    rows = con.execute(
        f"SELECT day FROM {TABLE} WHERE table_name = ? AND {in_days_param(len(days), 'day')}",
        [table, *days],
    ).fetchall()
    return {day for (day,) in rows}


def any_day_written(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether any day of `table` is recorded as written (none: a table written before the
    record existed, or never written)."""
    if not _recorded(con):
        return False
    found = con.execute(f"SELECT 1 FROM {TABLE} WHERE table_name = ? LIMIT 1", [table]).fetchall()
    return bool(found)


def days_built(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[date]:
    """Every day `schema.table` holds as built: recorded as written, or (written before the
    record existed) holding rows. The warehouse's own answer, whatever Dagster instance
    ran the days, and whatever it remembers of days the warehouse no longer has."""
    built = set()
    if _recorded(con):
        rows = con.execute(
            f"SELECT day FROM {TABLE} WHERE table_name = ?", [f"{schema}.{table}"]
        ).fetchall()
        built = {day for (day,) in rows}
    if table_exists(con, schema, table):
        held = con.execute(f"SELECT DISTINCT date FROM {qualified(schema, table)}").fetchall()
        built |= {day for (day,) in held}
    return built


def latest_day_built(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> date | None:
    """The latest day `schema.table` holds as built (see `days_built`; its latest day with
    rows is read from DuckDB's statistics, under a millisecond at a year of days)."""
    latest = []
    if _recorded(con):
        latest += con.execute(
            f"SELECT max(day) FROM {TABLE} WHERE table_name = ?", [f"{schema}.{table}"]
        ).fetchall()[0]
    if table_exists(con, schema, table):
        latest += con.execute(f"SELECT max(date) FROM {qualified(schema, table)}").fetchall()[0]
    return max((day for day in latest if day is not None), default=None)


def days_under_key(con: duckdb.DuckDBPyConnection, table: str, key: str) -> list[date]:
    """The days of `table` recorded as written under the hash key `key`, in order."""
    return _days_by_key(con, table, "=", key)


def days_under_other_keys(con: duckdb.DuckDBPyConnection, table: str, key: str) -> list[date]:
    """The days of `table` recorded as written under another hash key than `key`, in order."""
    return _days_by_key(con, table, "<>", key)


def _days_by_key(con: duckdb.DuckDBPyConnection, table: str, compared: str, key: str) -> list[date]:
    if not _recorded(con):
        return []
    rows = con.execute(
        f"SELECT day FROM {TABLE} WHERE table_name = ? AND key_id {compared} ? ORDER BY day",
        [table, key],
    ).fetchall()
    return [day for (day,) in rows]
