"""The pooled SQLite event log: Dagster's files, readable by a UI, kept through a kill,
and live-followed by a UI's watchers."""

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from dagster import DagsterInstance, asset, materialize
from dagster._core.events.log import EventLogEntry

from cx_assets.cli import prepare_dagster_home
from cx_assets.lakehouse.event_log import (
    MAX_OPEN_SHARDS,
    PART_SUFFIX,
    PooledSqliteEventLogStorage,
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    path = prepare_dagster_home(tmp_path)
    yield path
    os.environ.pop("DAGSTER_HOME", None)


def _message(run_id: str, text: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None, level=20, user_message=text, run_id=run_id, timestamp=time.time()
    )


@asset
def little_table() -> int:
    return 1


def test_the_written_instance_uses_it_and_another_instance_reads_runs_and_assets(home):
    with DagsterInstance.get() as writer, DagsterInstance.from_config(str(home)) as reader:
        assert isinstance(writer.event_log_storage, PooledSqliteEventLogStorage)
        result = materialize([little_table], instance=writer)
        assert result.success

        logs = reader.all_logs(result.run_id)  # read as the UI opens the instance
        assert len(logs) == len(writer.all_logs(result.run_id)) > 5
        latest = reader.get_latest_materialization_event(little_table.key)
        assert latest is not None and latest.run_id == result.run_id


def test_events_are_kept_when_the_writing_process_is_killed(home):
    script = textwrap.dedent(
        f"""
        import os, signal, time, warnings
        warnings.filterwarnings("ignore")
        os.environ["DAGSTER_HOME"] = {str(home)!r}
        from dagster import DagsterInstance
        from dagster._core.events.log import EventLogEntry
        instance = DagsterInstance.get()
        for i in range(40):
            instance.event_log_storage.store_event(EventLogEntry(
                error_info=None, level=20, user_message=f"m{{i}}", run_id="killed",
                timestamp=time.time()))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()[-2000:]

    with DagsterInstance.get() as instance:
        kept = [entry.user_message for entry in instance.all_logs("killed")]
    assert kept == [f"m{i}" for i in range(40)]


def test_connections_skip_the_fsync_per_commit(home):
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        storage.store_event(_message("r1", "hello"))
        with storage.run_connection("r1") as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (journal, synchronous) == ("wal", 1)  # 1 = NORMAL; SQLite's default is FULL


def test_a_ui_watching_a_run_sees_events_written_through_an_open_connection(home):
    writer = DagsterInstance.get()
    writer.event_log_storage.store_event(_message("live", "first"))  # the run's file exists
    watcher = DagsterInstance.from_config(str(home))
    seen: list[str] = []
    arrived = threading.Event()

    def on_event(entry, _cursor):
        seen.append(entry.user_message)
        if entry.user_message == "third":
            arrived.set()

    watcher.watch_event_logs("live", None, on_event)
    try:
        time.sleep(0.5)  # the watch is registered
        writer.event_log_storage.store_event(_message("live", "second"))
        writer.event_log_storage.store_event(_message("live", "third"))
        assert arrived.wait(timeout=20), f"the watcher saw only {seen}"
    finally:
        watcher.end_watch_event_logs("live", on_event)
        watcher.dispose()
        writer.dispose()
    assert seen[-2:] == ["second", "third"]


def test_open_files_are_bounded(home):
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        for n in range(MAX_OPEN_SHARDS + 5):
            storage.store_event(_message(f"run{n}", "x"))
        assert len(storage._engines) <= MAX_OPEN_SHARDS
        # an evicted run is still read (its engine is simply opened again)
        assert [entry.user_message for entry in storage.get_logs_for_run("run0")] == ["x"]


def test_the_file_used_least_recently_is_closed_first(home, monkeypatch):
    """A run's file used again (the run being written, a UI following it) stays open; the
    one no one has used the longest is closed for a new one."""
    from cx_assets.lakehouse import event_log

    monkeypatch.setattr(event_log, "MAX_OPEN_SHARDS", 3)
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        for run_id in ["run0", "run1", "run2", "run0", "run3"]:
            storage.store_event(_message(run_id, "x"))
        assert list(storage._engines) == ["run2", "run0", "run3"]


def test_closing_does_not_wait_for_good_on_a_lock_left_held(home, monkeypatch):
    """A Ctrl-C can leave the storage's lock held (an interrupted `with`); the command then
    hung closing the instance on its way out, holding the data root's run lock."""
    from cx_assets.lakehouse import event_log

    monkeypatch.setattr(event_log, "DISPOSE_WAIT_SECONDS", 0.2)
    instance = DagsterInstance.get()
    storage = instance.event_log_storage
    storage.store_event(_message("run0", "x"))
    assert storage._engines
    storage._db_lock.acquire()  # left held, as by the interrupted `with`
    closing = threading.Thread(target=instance.dispose, daemon=True)
    closing.start()
    closing.join(timeout=30)
    assert not closing.is_alive()
    assert not storage._engines  # closed all the same


def test_a_moved_data_root_gets_its_own_event_files(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    prepare_dagster_home(tmp_path / "before")
    (tmp_path / "before").rename(tmp_path / "after")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = prepare_dagster_home(tmp_path / "after")
    config = (home / "dagster.yaml").read_text()
    assert str(home / "history" / "runs") in config and "before" not in config


def test_a_copied_data_root_used_by_dagsters_own_tools_keeps_its_events_at_home(
    tmp_path, monkeypatch
):
    """Found in an audit: `cp -a data copy`, then `dagster asset materialize` with the
    copy's DAGSTER_HOME recorded the run in the copy and sent its events to the original,
    through the absolute path in dagster.yaml (until a `cx-lakehouse` command rewrote it)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    original = prepare_dagster_home(tmp_path / "data")
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    copy = tmp_path / "copy" / "dagster_home"
    assert str(original) in (copy / "dagster.yaml").read_text()  # as copied, not rewritten
    before = sorted((original / "history" / "runs").glob("*.db"))

    monkeypatch.setenv("DAGSTER_HOME", str(copy))
    with DagsterInstance.get() as instance:
        run_id = materialize([little_table], instance=instance).run_id
    assert sorted((original / "history" / "runs").glob("*.db")) == before
    assert (copy / "history" / "runs" / f"{run_id}.db").exists()
    # Opened by its path, with no DAGSTER_HOME to go by, an instance uses the path written.
    monkeypatch.delenv("DAGSTER_HOME")
    with DagsterInstance.from_config(str(copy)) as by_path:
        assert by_path.event_log_storage._base_dir == str(original / "history" / "runs")


def test_a_home_opened_by_its_path_keeps_its_events_whatever_dagster_home_names(
    tmp_path, monkeypatch
):
    """Found in review: the redirect for a copied home went by DAGSTER_HOME alone, so a
    script opening a data root's home by path, with the user's own DAGSTER_HOME exported,
    wrote that root's events into the user's home."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    root = prepare_dagster_home(tmp_path / "root")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    users = prepare_dagster_home(tmp_path / "users")
    monkeypatch.setenv("DAGSTER_HOME", str(users))
    with DagsterInstance.from_config(str(root)) as by_path:
        assert by_path.event_log_storage._base_dir == str(root / "history" / "runs")
        run_id = materialize([little_table], instance=by_path).run_id
    assert (root / "history" / "runs" / f"{run_id}.db").exists()
    assert not (users / "history" / "runs" / f"{run_id}.db").exists()


def test_the_written_instance_dequeues_runs_every_second_with_four_at_a_time(home):
    with DagsterInstance.get() as instance:
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        # what the daemon's run queue applies
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4


def test_a_table_once_seen_is_not_asked_for_again(home, monkeypatch):
    """Dagster asks `has_table` for every asset check event, each time with a new engine."""
    asked: list[str] = []
    parent = PooledSqliteEventLogStorage.__mro__[1].has_table

    def counted(self, table_name):
        asked.append(table_name)
        return parent(self, table_name)

    monkeypatch.setattr(PooledSqliteEventLogStorage.__mro__[1], "has_table", counted)
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert storage.has_table("asset_check_executions")
        assert storage.has_table("asset_check_executions")
        assert not storage.has_table("no_such_table")
        assert not storage.has_table("no_such_table")  # an absent table is asked again
    assert asked == ["asset_check_executions", "no_such_table", "no_such_table"]


def test_the_index_schema_once_seen_is_not_asked_for_again(home, monkeypatch):
    """Dagster asks about the index's columns and secondary indexes on every asset record
    read and asset event stored; a yes stays a yes until the storage is wiped."""
    asked: list[str] = []
    parent = PooledSqliteEventLogStorage.__mro__[1]
    for method in ("has_secondary_index", "has_asset_key_col", "_has_asset_key_col_on_connection"):
        original = getattr(parent, method)

        def counted(self, *args, _method=method, _original=original):
            asked.append(f"{_method}:{args[-1]}")
            return _original(self, *args)

        monkeypatch.setattr(parent, method, counted)
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        storage.wipe()  # forgets what opening the instance asked
        asked.clear()
        assert storage.has_secondary_index("asset_key_index_columns")
        assert storage.has_secondary_index("asset_key_index_columns")
        assert storage.has_asset_key_col("last_materialization_timestamp")
        assert storage.has_asset_key_col("last_materialization_timestamp")
        with storage.index_connection() as conn:  # the same column, asked on a connection
            assert storage._has_asset_key_col_on_connection(conn, "last_materialization_timestamp")
        assert not storage.has_asset_key_col("no_such_column")
        assert not storage.has_asset_key_col("no_such_column")  # a no is asked again
        assert asked == [
            "has_secondary_index:asset_key_index_columns",
            "has_asset_key_col:last_materialization_timestamp",
            "_has_asset_key_col_on_connection:last_materialization_timestamp",
            "has_asset_key_col:no_such_column",
            "_has_asset_key_col_on_connection:no_such_column",
            "has_asset_key_col:no_such_column",
            "_has_asset_key_col_on_connection:no_such_column",
        ]
        storage.wipe()
        asked.clear()
        assert storage.has_secondary_index("asset_key_index_columns")
        assert asked == ["has_secondary_index:asset_key_index_columns"]


# --------------------------------------------------------------------------- run databases


def _schema(path) -> tuple[list, list]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return tables, revision


def test_a_new_runs_database_is_the_empty_one_dagster_initializes(home, tmp_path):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        first = materialize([little_table], instance=instance)
        second = materialize([little_table], instance=instance)
        run_ids = sorted(storage.get_all_run_ids())
        assert run_ids == sorted([first.run_id, second.run_id])  # the template is no run
        assert os.path.exists(storage._template_path())
        copied = storage.path_for_shard(second.run_id)

    dagsters = SqliteEventLogStorage(str(tmp_path / "dagsters"))
    dagsters.store_event(_message("plain", "hello"))  # Dagster creates and stamps it
    reference = dagsters.path_for_shard("plain")
    dagsters.dispose()
    assert _schema(copied) == _schema(reference)


def test_new_runs_skip_dagsters_initialization_once_the_template_exists(home, monkeypatch):
    initialized = []
    original = PooledSqliteEventLogStorage._initdb

    def counting(self, engine, *args, **kwargs):
        initialized.append(str(engine.url))
        return original(self, engine, *args, **kwargs)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "_initdb", counting)
    with DagsterInstance.get() as instance:
        assert materialize([little_table], instance=instance).success  # writes the template
        initialized.clear()
        for _ in range(3):
            assert materialize([little_table], instance=instance).success
    assert initialized == []


@pytest.mark.parametrize(
    "left_over",
    [
        "CREATE TABLE left_over (x)",  # a file, but no schema revision
        "CREATE TABLE alembic_version (version_num VARCHAR(32))",  # its revision never stamped
    ],
    ids=["no revision table", "no revision"],
)
def test_a_stamped_database_skips_dagsters_initialization_an_unstamped_one_gets_it(
    home, monkeypatch, left_over
):
    import sqlite3

    with DagsterInstance.get() as instance:
        assert materialize([little_table], instance=instance).success  # the index is stamped
    initialized = []
    original = PooledSqliteEventLogStorage._initdb

    def counting(self, engine, *args, **kwargs):
        initialized.append(os.path.basename(engine.url.database))
        return original(self, engine, *args, **kwargs)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "_initdb", counting)
    with DagsterInstance.get() as instance:  # as a new process: nothing initialized yet
        storage = instance.event_log_storage
        assert materialize([little_table], instance=instance).success
        assert initialized == []  # neither the index nor the run's copied database
        with sqlite3.connect(storage.path_for_shard("unstamped")) as conn:
            conn.execute(left_over)
        storage.store_event(_message("unstamped", "hello"))
        assert initialized == ["unstamped.db"]
        assert [entry.user_message for entry in storage.get_logs_for_run("unstamped")] == ["hello"]


def test_a_run_database_that_appears_meanwhile_is_never_replaced(home, monkeypatch):
    import sqlite3

    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        materialize([little_table], instance=instance)  # the template exists
        path = storage.path_for_shard("raced")
        with sqlite3.connect(path) as conn:  # another process got there first
            conn.execute("CREATE TABLE marker (x)")
        exists = os.path.exists

        def not_yet(candidate) -> bool:  # as the racing process saw it a moment ago
            return False if candidate == path else exists(candidate)

        monkeypatch.setattr(os.path, "exists", not_yet)
        assert not storage._copied_from_template("raced")
        monkeypatch.undo()
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("marker",)]
        assert storage._copied_from_template("another")  # a new run's is copied


def test_parts_left_by_a_killed_copy_are_removed_once_stale(home):
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        materialize([little_table], instance=instance)  # the template exists
        folder = os.path.dirname(storage._template_path())
        stale = [os.path.join(folder, name) for name in ("tmpa.db.part", "tmpb.db.part-wal")]
        fresh = os.path.join(folder, "tmpc.db.part")  # maybe another process's copy, now
        # An older Dagster's template, as old: no part, so no leftover.
        older_template = os.path.join(folder, "event_log_template-1.0.0.db")
        for path in [*stale, fresh, older_template]:
            with open(path, "w"):
                pass
        hour_ago = time.time() - 3600
        for path in [*stale, older_template]:
            os.utime(path, (hour_ago, hour_ago))

        assert materialize([little_table], instance=instance).success  # copies the template

        left = sorted(name for name in os.listdir(folder) if PART_SUFFIX in name)
        assert left == ["tmpc.db.part"]
        assert os.path.exists(older_template)
