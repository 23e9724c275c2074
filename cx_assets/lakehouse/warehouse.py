"""The DuckDB warehouse and the only write path into it.

Why not `DuckDBPandasIOManager`: it inserts by column position, deletes a partition
and inserts in separate autocommits (a failed insert loses the old rows), compares
partition bounds as strings, and leaks its connection when a write fails. Here a
partition replace is one transaction, rows are inserted by column name, new columns
are added before the insert, and every connection is closed in `finally`.

DuckDB allows one writer process per file and has no busy timeout, so opening retries a
lock for a bounded time and then fails with a message saying who to stop. A process keeps
one handle per database file and gives each caller its own cursor: opening the file costs
~30 ms (a run opens it ~100 times), a cursor on an open database under 1 ms. Only run
processes open the warehouse; the UI, sensors and schedules never do.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from dagster import ConfigurableResource, InitResourceContext

from cx_assets.lakehouse import run_lock
from cx_assets.lakehouse.arrow_types import normalise, with_object_pandas_types
from cx_assets.lakehouse.bronze_views import repoint_bronze_views
from cx_assets.lakehouse.parquet import DATA_FILE, DamagedParquetError, file_rows
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, run_command
from cx_assets.lakehouse.settings import DEFAULT_RUN_WAIT_SECONDS, DataLayout, foreign_home
from cx_assets.lakehouse.sql import in_days_param, qualified, quote_identifier
from cx_assets.lakehouse.warehouse_tables import scalar


class WarehouseLockedError(RuntimeError):
    pass


class WarehouseDamagedError(RuntimeError):
    """The warehouse file (or its write-ahead log) is not a sound DuckDB database: a disk
    fault, a copy cut short, bytes overwritten. Everything in it is built from files kept
    outside it (landing, bronze Parquet), so it can be built anew."""


# What DuckDB 2.0 says, opening a file, of one that is not a whole, sound database.
_DAMAGED_FILE = (
    "not a valid duckdb database file",
    "could not read enough bytes",
    "corrupt database file",
    "corrupt wal file",
    "failure while replaying wal",
)


def damaged_file_error(path: str, error: Exception) -> WarehouseDamagedError | None:
    """The error to raise when DuckDB's `error`, opening `path` or reading it, says it is
    damaged. An error naming another file (a Parquet file a query read) is not its."""
    said = str(error).strip()
    if not any(sign in said.lower() for sign in _DAMAGED_FILE):
        return None
    named = set(re.findall(r"""["']([^"']+)["']""", said))
    if named and not named & {path, f"{path}.wal"}:
        return None
    return WarehouseDamagedError(
        f"{path} is damaged ({said.splitlines()[0]}). The landing files and bronze Parquet "
        f"it is built from are outside it: move it aside (with its .wal, if any), for "
        f"example to {Path(path).name}.damaged, and run the landed days again "
        f"({run_command('FIRST', 'LAST')}) to build it anew"
    )


def damaged_bronze_error(bronze_dir: Path, error: Exception) -> DamagedParquetError | None:
    """The error to raise when DuckDB's `error`, which names no file, came of a damaged
    bronze file: half a file kept with its footer fails as DuckDB's base error ("don't know
    what type", "TProtocolException: Invalid data"), where a file cut short or overwritten
    is named by DuckDB itself. The bronze files' footers are read to find it (on this
    error only); None when every one reads."""
    if type(error) is not duckdb.Error:
        return None
    for path in sorted(bronze_dir.glob(f"*/{PARTITION_COLUMN}=*/{DATA_FILE}")):
        try:
            file_rows(path)
        except DamagedParquetError as damaged:
            day = path.parent.name.removeprefix(f"{PARTITION_COLUMN}=")
            source = path.parent.parent.name.split("_", 1)[0]
            return DamagedParquetError(
                f"{damaged}: run its day again to write it anew from landing "
                f"({run_command(day, None, f'group:{source}')})"
            )
        except OSError:  # removed meanwhile
            continue
    return None


_open_databases: dict[str, duckdb.DuckDBPyConnection] = {}
# The memory limit and threads each open database was last given: DuckDB holds them for the
# whole database (every cursor), so they are set again only when a caller asks for others.
_database_limits: dict[str, tuple[str, int]] = {}
_open_lock = threading.Lock()
# Two transactions creating the same schema at once conflict in DuckDB ("Catalog write-write
# conflict"), even with IF NOT EXISTS: a run's steps, in threads, would on a new warehouse.
_schema_lock = threading.Lock()


def create_schema(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """`CREATE SCHEMA IF NOT EXISTS`, one thread of the process at a time."""
    with _schema_lock:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")


@atexit.register
def close_databases() -> None:
    """Close every database this process opened (releasing the file locks)."""
    with _open_lock:
        for handle in _open_databases.values():
            handle.close()
        _open_databases.clear()
        _database_limits.clear()


class ForeignDagsterHome(RuntimeError):
    """A run's Dagster instance is another data root's own home."""


class Warehouse(ConfigurableResource):
    """A DuckDB database file. One process writes at a time (see module docstring)."""

    path: str
    memory_limit: str = "2GB"
    threads: int = 2
    # Runs queue on the data root's run lock; this is only for a process outside the
    # lakehouse (an analyst's DuckDB, a BI tool) holding the file.
    lock_timeout_seconds: float = 5.0
    run_wait_seconds: float = DEFAULT_RUN_WAIT_SECONDS

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Warehouse]:
        """For the whole run: record this process as the run's owner, hold the data root's
        run lock (runs queue behind each other), and release runs whose process died."""

        def say(line: str) -> None:
            print(line, flush=True)
            if context.log is not None:
                context.log.info(line)

        # Another data root's history is refused as `cx-lakehouse run` refuses it
        # (`cli/home.py`), for the runs Dagster's own CLI or a UI start too: before the run
        # records its process there, and before the data root is waited for or taken.
        home = getattr(context.instance, "root_directory", None)
        if home and (refused := foreign_home(Path(home), self.data_dir)):
            raise ForeignDagsterHome(refused)
        run_id = context.run.run_id if context.run is not None else None
        first_claim = run_lock.claim_run(context.instance, run_id)
        with run_lock.data_root_lock(
            self.data_dir,
            owner=f"run {run_id}" if run_id else "a run",
            wait_seconds=self.run_wait_seconds,
            say=say,
            on_release=self.close,
        ):
            if first_claim:
                run_lock.release_dead_runs(context.instance, say)
            yield self

    @property
    def data_dir(self) -> Path:
        return Path(self.path).resolve().parent

    def close(self) -> None:
        """Close this process's handle on the file (the next run must be able to open it)."""
        key = str(Path(self.path).resolve())
        with _open_lock:
            handle = _open_databases.pop(key, None)
            _database_limits.pop(key, None)
        if handle is not None:
            handle.close()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the process's handle on the file: UTC, this resource's memory limit
        and threads (DuckDB otherwise takes all RAM and cores). They hold for the whole
        database, so they are set when the file is opened or a caller asks for other
        limits, not on each of a run's ~100 cursors: setting the threads rebuilds DuckDB's
        thread pool, which cost the next parallel query about 5 ms (0.44 s of a digital
        day). The hash key is not bound here: a query that hashes with it binds it in its
        own cursor's session (`privacy.bind_hash_key_for`)."""
        try:
            con = self._database().cursor()
            try:
                yield con
            finally:
                con.close()
        except duckdb.Error as error:
            # A file cut short past its header opens, and fails only when a query reads
            # the blocks it lacks: said as on opening, wherever a query meets it.
            if damaged := damaged_file_error(self.path, error):
                raise damaged from error
            if damaged := damaged_bronze_error(DataLayout(self.data_dir).bronze_dir, error):
                raise damaged from error
            raise

    def _database(self) -> duckdb.DuckDBPyConnection:
        key = str(Path(self.path).resolve())
        limits = (self.memory_limit, int(self.threads))
        with _open_lock:
            if key not in _open_databases:
                Path(key).parent.mkdir(parents=True, exist_ok=True)
                handle = self._open_with_retry()
                remove_dead_spill_files(handle, key)
                # Results are UTC whatever the machine's zone: every cursor inherits it.
                handle.execute("SET GLOBAL TimeZone = 'UTC'")
                repoint_bronze_views(handle, DataLayout(self.data_dir).bronze_dir)
                _open_databases[key] = handle
            handle = _open_databases[key]
            if _database_limits.get(key) != limits:
                handle.execute(f"SET GLOBAL memory_limit = '{self.memory_limit}'")
                handle.execute(f"SET GLOBAL threads = {int(self.threads)}")
                _database_limits[key] = limits
            return handle

    def _open_with_retry(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.1
        while True:
            try:
                return duckdb.connect(self.path)
            except duckdb.Error as error:
                locked = isinstance(error, duckdb.IOException) and "lock" in str(error).lower()
                if locked and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                if locked:
                    raise WarehouseLockedError(
                        f"{self.path} is held by another process (a DuckDB session, a BI "
                        "tool): DuckDB allows one process per file; close it, and read gold "
                        "Parquet instead of the live file"
                    ) from error
                if damaged := damaged_file_error(self.path, error):
                    raise damaged from error
                if refused := refused_file_error(self.path, error):
                    raise refused from error
                raise


def remove_dead_spill_files(handle: duckdb.DuckDBPyConnection, path: str) -> None:
    """Remove what processes killed while a query spilled left in the file's spill folder
    (`<file>.tmp/duckdb_temp_<pid>_…`): a query's rows, landed records and the personal data
    in them among them, which DuckDB never removes (seen in an audit: 178 MB of a killed
    process stayed through later opens). `handle` has just opened the file, and holds its
    only lock, so every spill file there of another process is dead. Only DuckDB's own
    folder for the file is looked in: a spill folder set elsewhere may be shared."""
    folder = handle.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    if not folder or Path(folder).resolve() != Path(f"{path}.tmp").resolve():
        return
    own = f"duckdb_temp_{os.getpid()}_"
    try:
        entries = list(Path(folder).iterdir())
    except OSError:  # no folder: nothing ever spilled
        return
    for entry in entries:
        if entry.name.startswith("duckdb_temp_") and not entry.name.startswith(own):
            with suppress(OSError):
                entry.unlink()


# What DuckDB 2.0 says, opening a file the system will not let it write (a read-only or
# immutable file, a disk mounted read-only), and the error number it stands for.
_REFUSED_FILE = {
    "permission denied": errno.EACCES,
    "operation not permitted": errno.EPERM,
    "read-only file system": errno.EROFS,
}


def refused_file_error(path: str, error: Exception) -> OSError | None:
    """`error` as the operating system's OSError naming the file, when DuckDB could not
    open the warehouse file because the system refused it, else None: DuckDB's IOException
    names no error number, and a command says a file it may not write in one line."""
    said = str(error).lower()
    if not isinstance(error, duckdb.IOException) or "cannot open file" not in said:
        return None
    for words, code in _REFUSED_FILE.items():
        if words in said:
            return OSError(code, os.strerror(code), str(path))
    return None


Writable = pd.DataFrame | pa.Table | pa.RecordBatchReader


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    data: Writable,
    dates: Sequence[date] | None,
    *,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> int:
    """Replace the given partition days of `schema.table` (or the whole table when `dates`
    is None) with `data`, atomically; returns the number of rows inserted.

    Rows are matched to columns by name. The table is created from the data's schema on
    first write and gains any new column; a failure rolls everything back. `also` writes
    what else must hold exactly when these rows do, in the same transaction.
    """
    target = qualified(schema, table)
    incoming = as_arrow(data)
    if dates is not None:
        if PARTITION_COLUMN not in incoming.schema.names:
            raise ValueError(f"partitioned rows need a {PARTITION_COLUMN!r} column")
        # A text date would compare with the days as text, and make every reader of the
        # table fail to bind dates; the partition column is a date or nothing is written.
        given = incoming.schema.field(PARTITION_COLUMN).type
        if given != pa.date32() and isinstance(incoming, pa.Table) and incoming.num_rows == 0:
            # An empty frame's column has no values to say what it is: a column of no dates.
            where = incoming.schema.get_field_index(PARTITION_COLUMN)
            incoming = incoming.set_column(where, PARTITION_COLUMN, pa.array([], pa.date32()))
        elif given != pa.date32():
            raise ValueError(
                f"{schema}.{table}: the {PARTITION_COLUMN!r} column must be a date, not {given}"
            )
    changed_types = _prepare_table(con, schema, table, incoming.schema)
    con.register("incoming_rows", incoming)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            if dates is None:
                con.execute(f"DELETE FROM {target}")
            else:
                con.execute(f"DELETE FROM {target} WHERE {in_days_param(len(dates))}", list(dates))
            for change in changed_types:
                change.apply(con, target, whole_table=dates is None)
            inserted = scalar(con, f"INSERT INTO {target} BY NAME SELECT * FROM incoming_rows")
            if dates is not None:
                # The window was emptied first, so every inserted row must now be inside it.
                in_window = scalar(
                    con,
                    f"SELECT count(*) FROM {target} WHERE {in_days_param(len(dates))}",
                    list(dates),
                )
                if in_window != inserted:
                    raise ValueError(
                        f"{inserted - in_window} of {inserted} rows for {schema}.{table} fall "
                        f"outside the partitions being written ({_describe(dates)})"
                    )
            if also is not None:
                also(con)
            con.execute("COMMIT")
        except BaseException:
            # A COMMIT that failed (a full disk) has ended the transaction already: its
            # own error says why, not the ROLLBACK's "no transaction is active".
            with suppress(duckdb.TransactionException):
                con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("incoming_rows")
    return inserted


def _prepare_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: pa.Schema
) -> list[ColumnTypeChange]:
    """Create the table, or add the columns it lacks, from the incoming schema, and return
    the columns whose incoming type differs from the stored one. Done before the write's
    transaction: DuckDB 2.0.0 was seen to answer filtered reads of a table created in the
    same transaction as a large insert with no rows. An added column is harmless if the
    write then fails."""
    con.register("incoming_schema", columns.empty_table())
    try:
        create_schema(con, schema)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {qualified(schema, table)} AS FROM incoming_schema"
        )
        stored = {
            name: kind
            for name, kind, *_ in con.execute(f"DESCRIBE {qualified(schema, table)}").fetchall()
        }
        changes = []
        for column_name, column_type, *_ in con.execute("DESCRIBE incoming_schema").fetchall():
            if column_name not in stored:
                con.execute(
                    f"ALTER TABLE {qualified(schema, table)} "
                    f"ADD COLUMN {quote_identifier(column_name)} {column_type}"
                )
            # A column without a value in the rows (Arrow's null type, which DESCRIBE
            # names `"NULL"`, quoted) fits any stored type.
            elif column_type not in (stored[column_name], "NULL", '"NULL"'):
                changes.append(
                    ColumnTypeChange(
                        f"{schema}.{table}", column_name, stored[column_name], column_type
                    )
                )
        return changes
    finally:
        con.unregister("incoming_schema")


# Types whose every value another type holds exactly (integers in a DOUBLE up to 2**53,
# the rows the pipeline writes): an INSERT casts such values without changing them.
_HOLDS = {
    "SMALLINT": {"TINYINT", "UTINYINT"},
    "INTEGER": {"TINYINT", "SMALLINT", "UTINYINT", "USMALLINT"},
    "BIGINT": {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER"},
    "HUGEINT": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
                "UBIGINT"},
    "DOUBLE": {"FLOAT", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
               "UINTEGER"},
}  # fmt: skip


@dataclass(frozen=True)
class ColumnTypeChange:
    """A column the rows bring with another type than the table stores.

    DuckDB's INSERT would cast the rows to the stored type, silently (2.5 into a BIGINT is
    3). Instead: the stored type is kept when it holds the new values exactly; otherwise a
    table replaced whole takes the new type, and a table written by days is widened when
    the new type holds the stored values (a count becoming a rate) or when the days kept
    hold no value in the column; any other change fails the write, naming the column. A
    widened column shows in the table's column schema, so its `column_schema_change`
    check reports it."""

    table: str
    column: str
    stored: str
    incoming: str

    def apply(self, con: duckdb.DuckDBPyConnection, target: str, *, whole_table: bool) -> None:
        if self.incoming in _HOLDS.get(self.stored, ()):
            return
        column = quote_identifier(self.column)
        if (
            whole_table
            or self.stored in _HOLDS.get(self.incoming, ())
            # the days kept hold no value in it (the rows being replaced are deleted by now)
            or scalar(con, f"SELECT count({column}) FROM {target}") == 0
        ):
            con.execute(f"ALTER TABLE {target} ALTER COLUMN {column} TYPE {self.incoming}")
            return
        raise ValueError(
            f"{self.table}.{self.column} is stored as {self.stored} and the rows bring "
            f"{self.incoming}, which the stored days cannot take without changing values: "
            f"rebuild the table (drop it, then materialize every day again) or keep the type"
        )


def as_arrow(data: Writable) -> pa.Table | pa.RecordBatchReader:
    """Frames go in through Arrow so nullable integers stay integers, timestamps are
    microsecond UTC and the partition column is a DATE (see `arrow_types`)."""
    if isinstance(data, pd.DataFrame):
        return normalise(with_object_pandas_types(pa.Table.from_pandas(data, preserve_index=False)))
    if isinstance(data, pa.Table):
        return normalise(data)
    return data


def _describe(dates: Sequence[date]) -> str:
    if not dates:
        return "no days"
    return dates[0].isoformat() if len(dates) == 1 else f"{min(dates)}..{max(dates)}"
