"""Opening the warehouse file: one handle per process and a cursor per caller, each in UTC
with its warehouse's limits; a damaged file, or one another process holds, said clearly; a
failed run's handle closed so another process can open the file; and a moved data root's
bronze views re-pointed at its own files when it is opened."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from cx_assets.lakehouse.warehouse import (
    Warehouse,
    WarehouseDamagedError,
    WarehouseLockedError,
    replace_rows,
)
from cx_assets.lakehouse.warehouse_tables import table_exists
from cx_assets_tests.lakehouse.warehouse_rows import D1, D2, rows, temporary_warehouse

warehouse = pytest.fixture(temporary_warehouse, name="warehouse")


def test_connect_sets_utc_and_limits(warehouse):
    with warehouse.connect() as con:
        assert rows(con, "SELECT current_setting('TimeZone')") == [("UTC",)]
        assert rows(con, "SELECT current_setting('threads')") == [(2,)]
        # DuckDB's default is 80% of the machine's memory; ours leaves room for the rest
        assert rows(con, "SELECT current_setting('memory_limit')") == [("1.8 GiB",)]  # 2 GB


UTC_AND_LIMITS = """
import sys, warnings
warnings.filterwarnings("ignore")
from cx_assets.lakehouse.warehouse import Warehouse
first = Warehouse(path=sys.argv[1])
with first.connect() as con:
    con.execute("SET TimeZone = 'Asia/Tokyo'")  # one cursor's own session
for warehouse in (first, first, Warehouse(path=sys.argv[1], threads=1, memory_limit="1GB"), first):
    with warehouse.connect() as con:
        print(con.execute(
            "SELECT current_setting('TimeZone'), current_setting('threads'), "
            "current_setting('memory_limit'), getvariable('cx_hash_key') IS NOT NULL"
        ).fetchall()[0])
"""


def test_every_connection_is_utc_with_its_warehouses_limits_and_no_hash_key(tmp_path):
    """In a process whose zone is not UTC (DuckDB's default is the process's zone): each
    cursor, not only the first, is UTC; a warehouse on the same file with other limits gets
    its own. The hash key is bound only by a query that hashes with it
    (`test_privacy.test_the_hash_key_is_bound_only_for_a_query_that_hashes_with_it`)."""
    result = subprocess.run(
        [sys.executable, "-c", UTC_AND_LIMITS, str(tmp_path / "warehouse.duckdb")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "TZ": "America/Sao_Paulo"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "('UTC', 2, '1.8 GiB', False)",
        "('UTC', 2, '1.8 GiB', False)",
        "('UTC', 1, '953.6 MiB', False)",
        "('UTC', 2, '1.8 GiB', False)",
    ]


def test_each_connect_is_its_own_cursor_on_one_database(warehouse):
    with warehouse.connect() as first:
        first.execute("CREATE TABLE shared AS SELECT 42 AS answer")
    with warehouse.connect() as second:
        assert rows(second, "SELECT answer FROM shared") == [(42,)]


def test_a_cursor_is_closed_when_its_block_fails(warehouse):
    """A step that fails inside `connect` leaves no cursor open on the process's handle
    (mutation testing: the cursor closed only when its block ended well, no test failed)."""
    import duckdb

    with pytest.raises(RuntimeError, match="step failed"), warehouse.connect() as con:
        raise RuntimeError("step failed")
    with pytest.raises(duckdb.ConnectionException, match="already closed"):
        con.execute("SELECT 1")


def test_a_failed_run_leaves_the_file_free_for_another_process(tmp_path):
    """The process that ran it lives on (a notebook, the tests, a code server): closing the
    handle when the run lets go of the data root is what frees the file."""
    from dagster import asset, materialize

    from cx_assets_tests.instance import in_memory_instance

    path = tmp_path / "warehouse.duckdb"

    @asset
    def failing(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            outside = pd.DataFrame({"date": [D1], "id": [1]})
            replace_rows(con, "silver", "t", outside, [D2])  # a row outside its day: refused

    with in_memory_instance() as instance:
        result = materialize(
            [failing],
            resources={"warehouse": Warehouse(path=str(path))},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).close(); print('opened')"
    other = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=60
    )
    assert other.stdout.strip() == "opened", other.stderr[-500:]


# ---------------------------------------------------------------------------------------
# A damaged file
# ---------------------------------------------------------------------------------------


def a_sound_warehouse(path) -> int:
    """A warehouse file of a few blocks, closed; its size."""
    import duckdb

    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE t AS SELECT range AS i FROM range(200000)")
    return os.path.getsize(path)


def cut_short(path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(8192)


def overwritten_after_its_header(path) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.seek(12288)
        handle.write(bytes(range(256)) * ((size - 12288) // 256))


def not_a_database(path) -> None:
    path.write_text("a spreadsheet saved over the warehouse\n")


@pytest.mark.parametrize(
    ("damage", "duckdb_says"),
    [
        (cut_short, "Could not read enough bytes"),
        (overwritten_after_its_header, "Corrupt database file"),
        (not_a_database, "not a valid DuckDB database file"),
    ],
)
def test_a_damaged_file_says_so_and_how_to_build_it_anew(tmp_path, damage, duckdb_says):
    path = tmp_path / "data" / "warehouse.duckdb"
    path.parent.mkdir()
    a_sound_warehouse(path)
    damage(path)

    with pytest.raises(WarehouseDamagedError) as raised, Warehouse(path=str(path)).connect():
        pass

    said = str(raised.value)
    assert said.startswith(f"{path} is damaged (") and duckdb_says in said
    assert "move it aside" in said and "warehouse.duckdb.damaged" in said
    assert "cx-lakehouse run --date FIRST --to LAST" in said


def cut_short_past_its_catalog(path) -> None:
    """A file that opens and fails its first query: its rows rewritten (the catalog then
    sits in the blocks freed at its start, the rows after them), then the file cut short
    (seen in an audit: 300 kB kept of a 3-day run's warehouse)."""
    import duckdb

    with duckdb.connect(str(path)) as connection:
        for _ in range(2):
            connection.execute(
                "CREATE OR REPLACE TABLE t AS SELECT md5(range::text) AS h FROM range(100000)"
            )
            connection.execute("CHECKPOINT")
    with open(path, "r+b") as handle:
        handle.truncate(300_000)


def test_a_file_damaged_past_what_opening_reads_is_said_so_by_the_query_that_meets_it(tmp_path):
    path = tmp_path / "data" / "warehouse.duckdb"
    path.parent.mkdir()
    cut_short_past_its_catalog(path)
    warehouse = Warehouse(path=str(path))

    with warehouse.connect() as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (1,)  # opens
    with pytest.raises(WarehouseDamagedError) as raised, warehouse.connect() as con:
        con.execute("SELECT max(h) FROM t").fetchall()

    said = str(raised.value)
    assert said.startswith(f"{path} is damaged (") and "Could not read enough bytes" in said
    assert "move it aside" in said
    warehouse.close()


def test_a_damaged_parquet_file_a_query_reads_is_not_the_warehouse_s_damage(tmp_path):
    import duckdb

    parquet = tmp_path / "rows.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS i) TO '{parquet}' (FORMAT parquet)")
    parquet.write_bytes(parquet.read_bytes()[:20])
    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"))

    with pytest.raises(duckdb.Error) as raised, warehouse.connect() as con:
        con.execute(f"SELECT * FROM read_parquet('{parquet}')").fetchall()

    assert not isinstance(raised.value, WarehouseDamagedError)
    warehouse.close()


def test_another_damaged_database_a_query_names_is_not_the_warehouse_s_damage(tmp_path):
    """DuckDB says a damaged file's damage in the warehouse's own words ('not a valid DuckDB
    database file') of any database a query opens: naming another file, it is that file's,
    and the warehouse is not to be moved aside (the Parquet case above says no such words)."""
    import duckdb

    other = tmp_path / "other.duckdb"
    other.write_bytes(b"x" * 5000)
    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"))

    damaged = pytest.raises(duckdb.Error, match="not a valid DuckDB database")
    with damaged as raised, warehouse.connect() as con:
        con.execute(f"ATTACH '{other}' AS other")

    assert not isinstance(raised.value, WarehouseDamagedError)
    warehouse.close()


def test_a_damaged_write_ahead_log_is_the_warehouse_s_damage(tmp_path):
    """DuckDB may name the file's log, not the file (mutation testing: only the file's own
    name taken for its damage, no test failed)."""
    import duckdb

    from cx_assets.lakehouse.warehouse import damaged_file_error

    path = str(tmp_path / "warehouse.duckdb")
    said = duckdb.IOException(f'Failure while replaying WAL file "{path}.wal": bad checksum')
    assert isinstance(damaged_file_error(path, said), WarehouseDamagedError)


def test_a_spill_folder_set_elsewhere_is_left_alone(tmp_path):
    """A spill folder set elsewhere may be another process's too: only the file's own is
    cleaned (mutation testing: any folder cleaned, no test failed)."""
    import duckdb

    from cx_assets.lakehouse.warehouse import remove_dead_spill_files

    shared = tmp_path / "shared spill"
    shared.mkdir()
    (shared / "duckdb_temp_4194000_0_owner").write_text("another process's rows")
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as handle:
        handle.execute(f"SET temp_directory = '{shared}'")
        remove_dead_spill_files(handle, path)
    assert [entry.name for entry in shared.iterdir()] == ["duckdb_temp_4194000_0_owner"]


def test_a_sound_file_that_fails_to_open_for_another_reason_keeps_its_error(tmp_path):
    import duckdb

    folder = tmp_path / "warehouse.duckdb"
    folder.mkdir()  # a folder where the file should be
    with pytest.raises(duckdb.Error) as raised, Warehouse(path=str(folder)).connect():
        pass
    assert not isinstance(raised.value, WarehouseDamagedError)


@pytest.mark.parametrize(
    ("duckdb_says", "code"),
    [
        ("Permission denied", errno.EACCES),
        ("Operation not permitted", errno.EPERM),  # an immutable file (chattr +i)
        ("Read-only file system", errno.EROFS),
    ],
)
def test_a_file_the_system_will_not_open_for_writing_is_named_as_such(
    tmp_path, monkeypatch, duckdb_says, code
):
    """Seen in an audit: a read-only (or immutable) warehouse file ended `cx-lakehouse run`
    in a 40-line traceback of DuckDB's IOException. It is now an OSError naming the file,
    which the command says in its one line for a data root it may not write."""
    import duckdb

    from cx_assets.cli.failures import not_writable

    path = tmp_path / "warehouse.duckdb"

    def refused(database, *args, **kwargs):
        raise duckdb.IOException(f'IO Error: Cannot open file "{database}": {duckdb_says}')

    monkeypatch.setattr(duckdb, "connect", refused)
    with pytest.raises(OSError) as raised, Warehouse(path=str(path)).connect():
        pass
    assert (raised.value.errno, raised.value.filename) == (code, str(path))
    assert not_writable(raised.value).startswith(f"cannot write {path}: {duckdb_says}.")


# ---------------------------------------------------------------------------------------
# The file lock
# ---------------------------------------------------------------------------------------


HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_locked_file_raises_warehouse_locked_error_naming_the_file(tmp_path):
    path = tmp_path / "locked" / "warehouse.duckdb"
    path.parent.mkdir()
    holder = _hold_lock(path, 30)
    try:
        started = time.monotonic()
        with (
            pytest.raises(WarehouseLockedError) as raised,
            Warehouse(path=str(path), lock_timeout_seconds=0.5).connect(),
        ):
            pass
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert str(path) in str(raised.value)
    assert "is held by another process" in str(raised.value)
    assert 0.4 <= elapsed < 10


def test_a_lock_released_within_the_timeout_is_waited_for(tmp_path):
    path = tmp_path / "briefly" / "warehouse.duckdb"
    path.parent.mkdir()
    holder = _hold_lock(path, 0.5)
    try:
        with Warehouse(path=str(path), lock_timeout_seconds=20).connect() as con:
            assert rows(con, "SELECT 1") == [(1,)]
    finally:
        holder.kill()
        holder.wait()


def test_a_locked_file_is_tried_again_at_most_every_two_seconds_for_five(tmp_path, monkeypatch):
    """The waits between tries double from 0.1 s up to 2 s, so a file let go late is opened
    within 2 s of it, for 5 s unless the warehouse says otherwise (mutation testing: the
    waits doubled without bound, or no wait by default, no test failed). On the test's
    own clock."""
    from types import SimpleNamespace

    import duckdb

    from cx_assets.lakehouse import warehouse as module

    clock = [0.0]
    waits: list[float] = []

    def held(path: str) -> None:
        raise duckdb.IOException(f'IO Error: Could not set lock on file "{path}"')

    def now() -> float:
        return clock[0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(module.duckdb, "connect", held)
    monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=now, sleep=sleep))
    with pytest.raises(WarehouseLockedError):
        Warehouse(path=str(tmp_path / "w.duckdb"))._open_with_retry()
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0])  # 3.1 s, then 5.1 s


# ---------------------------------------------------------------------------------------
# A moved data root: its bronze views re-pointed when the file is opened
# ---------------------------------------------------------------------------------------


def bronze_root(root, values_by_day: dict[date, list[int]]) -> Warehouse:
    """A data root with a bronze table `t` (a Parquet file a day) and its warehouse view."""
    from cx_assets.lakehouse import parquet
    from cx_assets.lakehouse.bronze_views import create_bronze_view
    from cx_assets.lakehouse.warehouse import create_schema

    for day, values in values_by_day.items():
        rows = pa.table({"id": values})
        parquet.publish(rows, parquet.partition_folder(root / "bronze" / "t", day))
    warehouse = Warehouse(path=str(root / "warehouse.duckdb"))
    with warehouse.connect() as con:
        create_schema(con, "bronze")
        create_bronze_view(con, "t", root / "bronze")
    warehouse.close()
    return warehouse


def test_a_moved_data_roots_bronze_views_read_its_own_files(tmp_path):
    """Views name their files by absolute path: a data root moved elsewhere read files no
    longer there, and a copy read the original's."""
    import shutil

    from cx_assets.lakehouse.bronze_views import repoint_bronze_views

    bronze_root(tmp_path / "first", {D1: [1, 2]})
    shutil.copytree(tmp_path / "first", tmp_path / "copy")
    shutil.move(tmp_path / "first", tmp_path / "moved")
    bronze_root(tmp_path / "first", {D1: [7]})  # a new root where the old one was

    for name, expected in (("moved", [(1,), (2,)]), ("copy", [(1,), (2,)])):
        warehouse = Warehouse(path=str(tmp_path / name / "warehouse.duckdb"))
        with warehouse.connect() as con:
            assert rows(con, "SELECT id FROM bronze.t ORDER BY id") == expected, name
            # re-pointed once, when opened: nothing left to do
            assert repoint_bronze_views(con, tmp_path / name / "bronze") == []
        warehouse.close()


def test_a_view_whose_files_here_cannot_be_read_is_dropped(tmp_path):
    import shutil

    bronze_root(tmp_path / "first", {D1: [1]})
    shutil.copytree(tmp_path / "first", tmp_path / "copy")
    damaged = next((tmp_path / "copy" / "bronze" / "t").rglob("*.parquet"))
    damaged.write_bytes(damaged.read_bytes()[:50])

    warehouse = Warehouse(path=str(tmp_path / "copy" / "warehouse.duckdb"))
    with warehouse.connect() as con:
        # not the first root's rows: no view, as if never built here
        assert not table_exists(con, "bronze", "t")
    warehouse.close()


def test_opening_the_file_removes_the_spill_files_of_a_killed_process(tmp_path):
    """DuckDB spills a query's rows to `warehouse.duckdb.tmp/` (landed records among them,
    personal data with them) and never removes a killed process's files: seen in an audit,
    178 MB of a process killed while it spilled stayed through later opens. The process
    that opens the file holds its only lock, so every spill file of another process is
    dead; other files are left alone."""
    warehouse = temporary_warehouse(tmp_path)
    spill = tmp_path / "warehouse.duckdb.tmp"
    spill.mkdir()
    dead = ["duckdb_temp_4194000_0_owner", "duckdb_temp_4194000_0_storage_DEFAULT-0.tmp"]
    for name in [*dead, "notes.txt"]:
        (spill / name).write_text("zz.planted.person@example.org")
    with warehouse.connect() as con:
        assert rows(con, "SELECT 1") == [(1,)]
    assert sorted(path.name for path in spill.iterdir()) == ["notes.txt"]


def test_a_bronze_file_damaged_in_its_middle_is_named_with_the_run_that_writes_it_anew(tmp_path):
    """Half a bronze file kept with its footer: DuckDB's error ("don't know what type")
    names no file, where docs/architecture.md says a step meeting a damaged bronze file
    names it; the error names it, and the run that writes it anew from landing."""
    import duckdb
    import pyarrow.parquet as pq

    from cx_assets.lakehouse.bronze_views import create_bronze_view
    from cx_assets.lakehouse.parquet import DamagedParquetError
    from cx_assets.lakehouse.settings import DataLayout

    bronze = DataLayout(tmp_path).bronze_dir
    table = pa.table({"raw": [f'{{"Id": {n}, "Name": "{n:x}"}}' for n in range(20_000)]})
    files = [bronze / "crm_contacts" / f"date={day}" / "data.parquet" for day in (D1, D2)]
    for path in files:
        path.parent.mkdir(parents=True)
        pq.write_table(table, path)
    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"))
    with warehouse.connect() as con:
        con.execute("CREATE SCHEMA bronze")
        create_bronze_view(con, "crm_contacts", bronze)
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) // 2] + data[-8:])

    with pytest.raises(DamagedParquetError) as raised, warehouse.connect() as con:
        con.execute("SELECT count(*) FROM bronze.crm_contacts").fetchall()

    said = str(raised.value)
    assert str(files[0]) in said
    assert f"cx-lakehouse run --date {D1} --select group:crm" in said
    # A query failing for its own reason keeps its error, the damaged file there or not
    # (mutation testing: every DuckDB error taken for the damage, no test failed).
    with pytest.raises(duckdb.CatalogException, match="no_such_table"), warehouse.connect() as con:
        con.execute("SELECT * FROM bronze.no_such_table")
    warehouse.close()
