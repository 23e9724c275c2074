"""Dagster's SQLite event log, made cheap per event for runs that keep their history.

Dagster's `SqliteEventLogStorage` opens a new SQLAlchemy engine and connection for every
event it stores, and its WAL databases run at SQLite's default `synchronous=FULL`, so every
event pays an engine, a connection and an fsync: 5-6 ms on our machines, about 2-3 s of a
CRM day's ~420 events. This subclass keeps one pooled engine per database file (a few at
a time) and sets `synchronous=NORMAL`, which in WAL mode still never corrupts the database
and keeps every committed event through a killed process; only an operating-system crash
can lose the last events. The files, their schema and their location are Dagster's own, so
the UI and the daemon read them unchanged.

One consequence is handled here: Dagster's UI follows a live run by watching its database
file for changes, and the parent's engine-per-event closed the file after each event, which
folded the WAL back into it. Kept open, the WAL grows instead and the file itself does not
change, so each stored event touches the file's times to wake the watchers.

Each run has a database file of its own, which Dagster creates on the run's first event:
its tables, then its schema revision stamped by reading ~180 migration scripts, about 0.1 s
of every run. Here a new run's file is a copy of an empty one Dagster itself initialized
once (per Dagster version, beside the runs' folder), linked into place so that it never
replaces a file another process created first; anything unusual falls back to Dagster's way.
A database already stamped with a revision (the index, on every run after the first) is
opened without Dagster's initialization, which would do nothing there but read the
migration scripts first.

`cx-lakehouse` writes it into the `dagster.yaml` of the data root's DAGSTER_HOME (see
`cli.home.DAGSTER_YAML`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._serdes import ConfigurableClassData
from dagster.version import __version__
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from cx_assets.lakehouse.sql import sqlite_read_only_uri

# Open database files kept at once: the index, the run being written, and a few a UI or
# daemon process reads; older ones are disposed (their files stay, nothing is lost).
MAX_OPEN_SHARDS = 8
# Dagster's own busy timeout for these files.
BUSY_TIMEOUT_SECONDS = 15
# How long closing the storage waits for its lock before closing without it: a Ctrl-C can
# leave the lock held for good (Python cannot always release a lock whose `with` it
# interrupted), and the command closes the storage on its way out.
DISPOSE_WAIT_SECONDS = 5


# Copies in progress (of the template, or the template being written) end in this; with
# `-wal` and `-shm` beside a template part while SQLite writes it.
PART_SUFFIX = ".db.part"
# A part older than this was left by a process killed while copying: another process's
# copy in progress takes milliseconds.
STALE_PART_SECONDS = 600


def _remove_stale_parts(folder: str) -> None:
    """Delete the parts (and their SQLite side files) a killed process left in `folder`."""
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if PART_SUFFIX not in entry.name or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):  # another process removed it first
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_PART_SECONDS:
                    os.unlink(entry.path)


def _set_synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def event_log_dir(dagster_home: str) -> str:
    """Where Dagster's default instance keeps per-run event databases."""
    return os.path.join(dagster_home, "history", "runs")


def _moved_home_dir(base_dir: str) -> str:
    """The runs' folder of DAGSTER_HOME where the dagster.yaml being read is that home's own
    and names another home's folder (the data root was moved or copied since `cx-lakehouse`
    wrote the path). Dagster's own tools on the new place (`dagster dev`, `dagster asset
    materialize`) kept each run's record there and sent its events to the old place, until
    a `cx-lakehouse` command wrote the file again (found in an audit). An instance opened by
    the path of another home than DAGSTER_HOME's keeps the folder its file names, but for
    one case: DAGSTER_HOME a copy of that home no `cx-lakehouse` command has written since,
    whose file names the same folder; which file is being read cannot be told here (Dagster
    hands over its config alone), and the events go to the copy's folder (a mutation audit
    found it; no command of the project opens a home other than DAGSTER_HOME's)."""
    home = os.environ.get("DAGSTER_HOME", "")
    if not os.path.isabs(home):
        return base_dir
    wanted = event_log_dir(home)
    if os.path.realpath(base_dir) == os.path.realpath(wanted):
        return base_dir
    try:
        with open(os.path.join(home, "dagster.yaml"), encoding="utf-8") as config:
            home_names_it = f"base_dir: {json.dumps(base_dir)}" in config.read()
    except (OSError, UnicodeDecodeError):
        return base_dir
    # The home's own file names this folder: the file is the one being read, from its copy.
    return wanted if home_names_it else base_dir


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with one pooled engine per shard and `synchronous=NORMAL`."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._schema_seen: set[tuple[str, str]] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict
    ) -> PooledSqliteEventLogStorage:
        # The parent's config (`base_dir`), but an instance of this class.
        return cls(
            inst_data=inst_data,
            **{**config_value, "base_dir": _moved_home_dir(config_value["base_dir"])},
        )

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            connect_args={"timeout": BUSY_TIMEOUT_SECONDS},
        )
        event.listen(engine, "connect", _set_synchronous_normal)
        if shard not in self._initialized_dbs:
            if not (self._copied_from_template(shard) or self._stamped(shard)):
                self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > MAX_OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def _template_path(self) -> str:
        # Beside the runs' folder, not in it: Dagster takes every `*.db` there for a run.
        return os.path.join(
            os.path.dirname(os.path.normpath(self._base_dir)),
            f"event_log_template-{__version__}.db",
        )

    def _copied_from_template(self, shard: str) -> bool:
        """Create a new run's database as a copy of an empty one that Dagster itself
        initialized (once per Dagster version and DAGSTER_HOME), instead of Dagster creating
        its tables and reading its ~180 schema migrations to stamp the revision anew: about
        0.1 s of every run. False (Dagster initializes it, as before) for the index, for a
        database that already exists, or one that appears meanwhile (another process, e.g.
        the daemon, storing the same run's first event): the copy never replaces a file.
        Parts a process killed while copying left behind are removed once they are stale."""
        path = self.path_for_shard(shard)
        if shard == INDEX_SHARD_NAME or os.path.exists(path):
            return False
        template = self._template_path()
        try:
            _remove_stale_parts(os.path.dirname(template))
            if not os.path.exists(template):
                self._write_template(template)
            fd, copy = tempfile.mkstemp(dir=os.path.dirname(template), suffix=PART_SUFFIX)
            os.close(fd)
            try:
                shutil.copyfile(template, copy)
                os.link(copy, path)  # atomic, and never over an existing file
            finally:
                os.unlink(copy)
        except OSError:  # the file appeared meanwhile; or no hard links on this disk
            return False
        return True

    def _stamped(self, shard: str) -> bool:
        """Whether the shard's database exists with a schema revision stamped on it. Then
        Dagster's `_initdb` does nothing, yet it first reads its ~180 migration scripts for
        the latest revision, only to see that both revisions are there: 20-50 ms, once a
        process for the index (every run stores into it). An unreadable or unstamped
        database goes to Dagster's `_initdb`, as before."""
        path = self.path_for_shard(shard)
        if not os.path.exists(path):
            return False
        try:
            with contextlib.closing(
                sqlite3.connect(sqlite_read_only_uri(path), uri=True, timeout=BUSY_TIMEOUT_SECONDS)
            ) as connection:
                stamped = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return False
        return bool(stamped and stamped[0])

    def _write_template(self, template: str) -> None:
        fd, part = tempfile.mkstemp(dir=os.path.dirname(template), suffix=PART_SUFFIX)
        os.close(fd)
        os.unlink(part)  # SQLite creates it
        engine = create_engine(f"sqlite:///{part}")
        try:
            self._initdb(engine)
            with engine.connect() as conn:
                # Everything into the main file: only it is copied.
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        for leftover in (f"{part}-wal", f"{part}-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
        os.replace(part, template)  # whole or not at all, whoever writes it first

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Same contract as the parent's: one transaction per use, under the storage's lock.
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    # What Dagster asks of the index's schema, remembered once it is a yes (`wipe` forgets):
    # migrations only add tables and columns and complete secondary indexes.
    # - `has_table`: the parent opens an engine and a connection of its own to ask, for
    #   every asset check event (whether the index has `asset_check_executions`): 4-5 ms,
    #   twice per check and run.
    # - the others (SQLAlchemy's reflection, or a query of the migrations table), on every
    #   asset record read and asset event stored: about 1 ms each, some 100 times a
    #   digital day.
    def has_table(self, table_name: str) -> bool:
        return self._remembered(("table", table_name), super().has_table, table_name)

    def has_secondary_index(self, name: str) -> bool:
        return self._remembered(("secondary_index", name), super().has_secondary_index, name)

    def has_asset_key_col(self, column_name: str) -> bool:
        return self._remembered(
            ("asset_key_col", column_name), super().has_asset_key_col, column_name
        )

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        return self._remembered(
            ("asset_key_col", column_name),
            super()._has_asset_key_col_on_connection,
            conn,
            column_name,
        )

    def _remembered(self, key: tuple[str, str], ask: Callable[..., bool], *args: Any) -> bool:
        if key in self._schema_seen:
            return True
        present = ask(*args)
        if present:
            self._schema_seen.add(key)
        return present

    def store_event(self, event_entry: EventLogEntry) -> None:
        super().store_event(event_entry)
        # Wake the UI's watchers of this run (they watch the file, not its WAL); only
        # writes do this, as a read here would wake them into reading again.
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.path_for_shard(event_entry.run_id))

    def _dispose_engines(self) -> None:
        locked = self._db_lock.acquire(timeout=DISPOSE_WAIT_SECONDS)
        try:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()
        finally:
            if locked:
                self._db_lock.release()

    def wipe(self) -> None:
        # The parent deletes the database files: close them first.
        self._dispose_engines()
        self._schema_seen.clear()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
