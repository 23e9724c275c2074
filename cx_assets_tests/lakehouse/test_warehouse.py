"""The warehouse: the only write path into DuckDB, and the file lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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
from cx_assets.lakehouse.warehouse_tables import (
    count_rows,
    day_rows_fingerprint,
    table_columns,
    table_exists,
)

D1, D2, D3 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(path=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture
def con(warehouse):
    with warehouse.connect() as connection:
        yield connection


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def seed(con) -> None:
    """Two days: D1 has ids 1-3, D2 has id 10."""
    frame = pd.DataFrame(
        {"date": [D1, D1, D1, D2], "id": [1, 2, 3, 10], "name": ["a", "b", "c", "j"]}
    )
    assert replace_rows(con, "silver", "t", frame, [D1, D2]) == 4


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


def test_every_connection_is_utc_with_its_warehouses_limits_and_the_hash_key(tmp_path):
    """In a process whose zone is not UTC (DuckDB's default is the process's zone): each
    cursor, not only the first, is UTC and has the hash key; a warehouse on the same file
    with other limits gets its own."""
    result = subprocess.run(
        [sys.executable, "-c", UTC_AND_LIMITS, str(tmp_path / "warehouse.duckdb")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "TZ": "America/Sao_Paulo"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "('UTC', 2, '1.8 GiB', True)",
        "('UTC', 2, '1.8 GiB', True)",
        "('UTC', 1, '953.6 MiB', True)",
        "('UTC', 2, '1.8 GiB', True)",
    ]


def test_tables_views_and_temporary_tables_exist_and_list_their_columns_in_order(con):
    con.execute("CREATE SCHEMA silver")
    con.execute("CREATE TABLE silver.t (date DATE, id BIGINT, name VARCHAR)")
    con.execute("CREATE VIEW silver.v AS SELECT name, id FROM silver.t")
    con.execute("CREATE TEMP TABLE scratch (score DOUBLE)")

    assert table_exists(con, "silver", "t")
    assert table_exists(con, "silver", "v")
    assert table_exists(con, "main", "scratch")
    assert not table_exists(con, "silver", "missing")
    assert not table_exists(con, "gold", "t")  # another schema's name
    assert not table_exists(con, "main", "sqlite_master")  # DuckDB's own view
    assert table_columns(con, "silver", "t") == [
        ("date", "DATE"), ("id", "BIGINT"), ("name", "VARCHAR"),
    ]  # fmt: skip
    assert table_columns(con, "silver", "v") == [("name", "VARCHAR"), ("id", "BIGINT")]
    assert table_columns(con, "silver", "missing") == []


def test_a_partition_column_that_is_not_a_date_is_refused(con):
    seed(con)
    text_dates = pd.DataFrame({"date": ["2024-01-07"], "id": [30], "name": ["z"]})
    with pytest.raises(ValueError, match="must be a date, not string"):
        replace_rows(con, "silver", "t", text_dates, [D3])
    assert dict(table_columns(con, "silver", "t"))["date"] == "DATE"  # the table unchanged
    assert rows(con, "SELECT count(*) FROM silver.t") == [(4,)]
    # An empty frame's column has no type to show: it is a column of no dates.
    assert replace_rows(con, "silver", "e", pd.DataFrame({"date": [], "id": []}), [D3]) == 0
    assert dict(table_columns(con, "silver", "e"))["date"] == "DATE"


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


def test_rows_are_inserted_by_column_name(con):
    seed(con)
    swapped = pd.DataFrame({"name": ["x", "y"], "id": [20, 21], "date": [D3, D3]})
    assert replace_rows(con, "silver", "t", swapped, [D3]) == 2
    assert rows(
        con, "SELECT id, name FROM silver.t WHERE date = DATE '2024-01-07' ORDER BY id"
    ) == [
        (20, "x"),
        (21, "y"),
    ]
    # The first write defined the column order; later writes do not change it.
    assert [name for name, _ in table_columns(con, "silver", "t")] == ["date", "id", "name"]


def test_replacing_a_partition_leaves_other_days_alone(con):
    seed(con)
    replace_rows(con, "silver", "t", pd.DataFrame({"date": [D1], "id": [99], "name": ["z"]}), [D1])
    assert rows(con, "SELECT date, id FROM silver.t ORDER BY date, id") == [(D1, 99), (D2, 10)]


def test_a_new_column_is_added(con):
    seed(con)
    frame = pd.DataFrame({"date": [D2], "id": [11], "name": ["k"], "score": [0.5]})
    replace_rows(con, "silver", "t", frame, [D2])
    assert table_columns(con, "silver", "t")[-1] == ("score", "DOUBLE")
    assert rows(con, "SELECT date, id, score FROM silver.t ORDER BY date, id") == [
        (D1, 1, None),
        (D1, 2, None),
        (D1, 3, None),
        (D2, 11, 0.5),
    ]


def test_a_column_widened_by_new_rows_keeps_every_value(con):
    seed(con)  # id is BIGINT
    replace_rows(con, "silver", "t", pd.DataFrame({"date": [D3], "id": [2.5], "name": ["x"]}), [D3])
    assert dict(table_columns(con, "silver", "t"))["id"] == "DOUBLE"
    assert rows(con, "SELECT id FROM silver.t ORDER BY id") == [
        (1.0,),
        (2.0,),
        (2.5,),
        (3.0,),
        (10.0,),
    ]


def test_narrower_rows_keep_the_stored_type(con):
    seed(con)
    small = pa.table({"date": [D3], "id": pa.array([7], pa.int32()), "name": ["x"]})
    replace_rows(con, "silver", "t", small, [D3])
    assert dict(table_columns(con, "silver", "t"))["id"] == "BIGINT"


def test_a_type_the_stored_days_cannot_take_fails_the_write_and_changes_nothing(con):
    seed(con)
    before = rows(con, "SELECT * FROM silver.t ORDER BY id")
    frame = pd.DataFrame({"date": [D2], "id": ["ten"], "name": ["j"]})
    with pytest.raises(
        ValueError, match=r"silver\.t\.id is stored as BIGINT and the rows bring VARCHAR"
    ):
        replace_rows(con, "silver", "t", frame, [D2])
    assert rows(con, "SELECT * FROM silver.t ORDER BY id") == before
    assert dict(table_columns(con, "silver", "t"))["id"] == "BIGINT"


def test_a_column_without_values_in_the_days_kept_takes_the_new_type(con):
    replace_rows(con, "silver", "n", pd.DataFrame({"date": [D1], "code": [None]}), [D1])
    stored = dict(table_columns(con, "silver", "n"))["code"]
    replace_rows(con, "silver", "n", pd.DataFrame({"date": [D2], "code": ["A1"]}), [D2])
    assert stored != "VARCHAR" and dict(table_columns(con, "silver", "n"))["code"] == "VARCHAR"
    assert rows(con, "SELECT date, code FROM silver.n ORDER BY date") == [(D1, None), (D2, "A1")]


def test_a_day_whose_column_is_all_null_keeps_the_stored_type_and_the_other_days(con):
    """A day without a value in an optional column brings it as Arrow's null type (DuckDB
    names it `"NULL"`, quoted): any stored type takes it."""
    replace_rows(con, "silver", "o", pd.DataFrame({"date": [D1], "note": ["a"]}), [D1])
    replace_rows(con, "silver", "o", pd.DataFrame({"date": [D2], "note": [None]}), [D2])
    assert dict(table_columns(con, "silver", "o"))["note"] == "VARCHAR"
    assert rows(con, "SELECT date, note FROM silver.o ORDER BY date") == [(D1, "a"), (D2, None)]


def test_a_table_replaced_whole_takes_the_new_type(con):
    replace_rows(con, "gold", "w", pd.DataFrame({"code": [1, 2]}), None)
    replace_rows(con, "gold", "w", pd.DataFrame({"code": ["A1", "B2"]}), None)
    assert table_columns(con, "gold", "w") == [("code", "VARCHAR")]
    assert rows(con, "SELECT code FROM gold.w ORDER BY code") == [("A1",), ("B2",)]


def test_a_missing_column_is_stored_as_null(con):
    seed(con)
    replace_rows(con, "silver", "t", pd.DataFrame({"date": [D3], "id": [30]}), [D3])
    assert rows(con, "SELECT id, name FROM silver.t WHERE date = DATE '2024-01-07'") == [(30, None)]


def test_an_empty_frame_creates_the_table(con):
    empty = pd.DataFrame(
        {
            "date": pd.Series([], dtype="datetime64[ns]"),
            "id": pd.Series([], dtype="int64"),
            "at": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )
    assert replace_rows(con, "gold", "empty", empty, [D1]) == 0
    assert table_exists(con, "gold", "empty")
    assert count_rows(con, "gold", "empty") == 0
    assert table_columns(con, "gold", "empty") == [
        ("date", "DATE"),
        ("id", "BIGINT"),
        ("at", "TIMESTAMP WITH TIME ZONE"),
    ]


def test_an_empty_frame_empties_the_partition(con):
    seed(con)
    empty = pd.DataFrame(
        {"date": pd.Series([], dtype="datetime64[ns]"), "id": pd.Series([], dtype="int64")}
    )
    assert replace_rows(con, "silver", "t", empty, [D1]) == 0
    assert count_rows(con, "silver", "t", [D1]) == 0
    assert count_rows(con, "silver", "t", [D2]) == 1


def test_rows_outside_the_partitions_are_refused_and_nothing_changes(con):
    seed(con)
    frame = pd.DataFrame({"date": [D1, D3], "id": [100, 300], "name": ["x", "y"]})
    with pytest.raises(ValueError, match=r"1 of 2 rows for silver\.t fall outside .*2024-01-05"):
        replace_rows(con, "silver", "t", frame, [D1])
    assert rows(con, "SELECT date, id FROM silver.t ORDER BY date, id") == [
        (D1, 1),
        (D1, 2),
        (D1, 3),
        (D2, 10),
    ]


def test_a_range_refuses_rows_outside_it(con):
    seed(con)
    frame = pd.DataFrame({"date": [D1, D2, D3], "id": [1, 2, 3], "name": ["x", "y", "z"]})
    with pytest.raises(ValueError, match=r"1 of 3 rows .* \(2024-01-05\.\.2024-01-06\)"):
        replace_rows(con, "silver", "t", frame, [D1, D2])
    assert count_rows(con, "silver", "t") == 4


def test_writing_no_days_refuses_every_row_and_nothing_changes(con):
    seed(con)
    frame = pd.DataFrame({"date": [D1], "id": [100], "name": ["x"]})
    with pytest.raises(ValueError, match=r"1 of 1 rows .* \(no days\)"):
        replace_rows(con, "silver", "t", frame, [])
    assert count_rows(con, "silver", "t") == 4


def test_partitioned_rows_need_a_date_column(con):
    seed(con)
    with pytest.raises(ValueError, match="'date' column"):
        replace_rows(con, "silver", "t", pd.DataFrame({"id": [5]}), [D1])
    assert count_rows(con, "silver", "t") == 4


def _stream(*batches_then_error):
    schema = pa.schema([("date", pa.date32()), ("id", pa.int64()), ("name", pa.string())])

    def generate():
        for item in batches_then_error:
            if isinstance(item, Exception):
                raise item
            yield pa.RecordBatch.from_pylist(item, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, generate())


def test_a_stream_failing_after_its_first_batch_leaves_the_previous_partition(con):
    seed(con)
    stream = _stream(
        [{"date": D1, "id": 7, "name": "new"}, {"date": D1, "id": 8, "name": "new"}],
        RuntimeError("source went away"),
    )
    with pytest.raises(Exception, match="source went away"):
        replace_rows(con, "silver", "t", stream, [D1])
    assert rows(con, "SELECT date, id, name FROM silver.t ORDER BY date, id") == [
        (D1, 1, "a"),
        (D1, 2, "b"),
        (D1, 3, "c"),
        (D2, 10, "j"),
    ]
    # The connection is still usable (the transaction was rolled back, not left open).
    replace_rows(con, "silver", "t", pd.DataFrame({"date": [D3], "id": [30], "name": ["z"]}), [D3])
    assert count_rows(con, "silver", "t") == 5


def test_a_stream_of_several_batches_is_written_whole(con):
    seed(con)
    stream = _stream(
        [{"date": D1, "id": 7, "name": "x"}],
        [{"date": D1, "id": 8, "name": "y"}],
        [{"date": D1, "id": 9, "name": "z"}],
    )
    assert replace_rows(con, "silver", "t", stream, [D1]) == 3
    assert rows(con, "SELECT date, id FROM silver.t ORDER BY date, id") == [
        (D1, 7),
        (D1, 8),
        (D1, 9),
        (D2, 10),
    ]


def test_a_stream_creates_a_new_table_with_every_batch(con):
    stream = _stream([{"date": D1, "id": 1, "name": "x"}], [{"date": D1, "id": 2, "name": "y"}])
    assert replace_rows(con, "silver", "fresh", stream, [D1]) == 2
    assert count_rows(con, "silver", "fresh") == 2


def test_unpartitioned_replace_replaces_the_whole_table(con):
    replace_rows(con, "gold", "whole", pd.DataFrame({"k": [1, 2, 3]}), None)
    assert replace_rows(con, "gold", "whole", pd.DataFrame({"k": [8, 9]}), None) == 2
    assert rows(con, "SELECT k FROM gold.whole ORDER BY k") == [(8,), (9,)]
    assert (
        replace_rows(con, "gold", "whole", pd.DataFrame({"k": pd.Series([], dtype="int64")}), None)
        == 0
    )
    assert count_rows(con, "gold", "whole") == 0
    assert table_exists(con, "gold", "whole")


def test_count_rows_and_table_exists(con):
    assert not table_exists(con, "silver", "t")
    assert count_rows(con, "silver", "t") == 0
    assert count_rows(con, "silver", "t", [D1]) == 0
    seed(con)
    assert table_exists(con, "silver", "t")
    assert not table_exists(con, "gold", "t")
    assert count_rows(con, "silver", "t") == 4
    assert count_rows(con, "silver", "t", [D1]) == 3
    assert count_rows(con, "silver", "t", [D1, D2]) == 4
    assert count_rows(con, "silver", "t", [D3]) == 0
    assert count_rows(con, "silver", "t", []) == 0


def test_timestamps_are_utc_microseconds_and_date_is_a_date(con):
    frame = pd.DataFrame(
        {
            # pandas datetime64[ns]: a day column as timestamps, an aware and a naive timestamp
            "date": pd.to_datetime(["2024-01-05", "2024-01-05"]),
            "seen_at": pd.to_datetime(
                ["2024-01-05T10:00:00-03:00", "2024-01-05T23:59:59.123456Z"],
                utc=True,
                format="ISO8601",
            ),
            "naive": pd.to_datetime(["2024-01-05 10:00:00", "2024-01-05 11:00:00"]),
        }
    )
    replace_rows(con, "gold", "times", frame, [D1])
    assert table_columns(con, "gold", "times") == [
        ("date", "DATE"),
        ("seen_at", "TIMESTAMP WITH TIME ZONE"),
        ("naive", "TIMESTAMP WITH TIME ZONE"),
    ]
    assert rows(
        con,
        "SELECT date, strftime(seen_at, '%Y-%m-%d %H:%M:%S.%f'), strftime(naive, '%H:%M') "
        "FROM gold.times ORDER BY seen_at",
    ) == [
        (D1, "2024-01-05 13:00:00.000000", "10:00"),
        (D1, "2024-01-05 23:59:59.123456", "11:00"),
    ]


def test_unsafe_identifiers_are_refused(con):
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        replace_rows(con, "silver", "t; DROP TABLE x", pd.DataFrame({"k": [1]}), None)


def test_each_connect_is_its_own_cursor_on_one_database(warehouse):
    with warehouse.connect() as first:
        first.execute("CREATE TABLE shared AS SELECT 42 AS answer")
    with warehouse.connect() as second:
        assert rows(second, "SELECT answer FROM shared") == [(42,)]


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


def test_a_sound_file_that_fails_to_open_for_another_reason_keeps_its_error(tmp_path):
    import duckdb

    folder = tmp_path / "warehouse.duckdb"
    folder.mkdir()  # a folder where the file should be
    with pytest.raises(duckdb.Error) as raised, Warehouse(path=str(folder)).connect():
        pass
    assert not isinstance(raised.value, WarehouseDamagedError)


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


def test_steps_in_threads_write_their_tables_into_new_schemas_at_once(warehouse):
    """A run's steps execute at once in threads (`lakehouse/executor.py`); on a new
    warehouse they all create their layer's schema, which two DuckDB transactions doing at
    the same moment conflict on. Each thread here writes its own tables into the same new
    schemas, started together, many times."""
    schemas = [f"layer_{number}" for number in range(40)]
    start_together = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        with warehouse.connect() as con:
            for schema in schemas:
                start_together.wait()
                frame = pd.DataFrame({"date": [D1], "id": [thread]})
                try:
                    replace_rows(con, schema, f"written_by_{thread}", frame, [D1])
                except BaseException as error:
                    errors.append(error)

    threads = [threading.Thread(target=write, args=(number,)) for number in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with warehouse.connect() as con:
        for schema in schemas:
            for number in (1, 2):
                assert rows(con, f"SELECT id FROM {schema}.written_by_{number}") == [(number,)]


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


def test_a_days_fingerprint_ignores_when_its_rows_were_read_and_nothing_else(con):
    """Seen in an audit: bronze contacts' `ingested_at`, stamped by every run, made a day
    run again on the same files look changed, and later days were named out of date."""
    con.execute("CREATE SCHEMA bronze")

    def fingerprint(rows: str) -> tuple:
        con.execute(
            "CREATE OR REPLACE TABLE bronze.t AS SELECT * FROM (VALUES " + rows + ") "
            "AS v(date, raw, ingested_at)"
        )
        return day_rows_fingerprint(con, "bronze", "t", ["2024-01-05"])

    day, other = "DATE '2024-01-05'", "DATE '2024-01-06'"
    first = fingerprint(f"({day}, 'a', TIMESTAMP '2024-01-05 10:00'), ({other}, 'x', NULL)")
    assert first[0] == 1
    assert fingerprint(f"({day}, 'a', TIMESTAMP '2024-01-07 11:00'), ({other}, 'y', NULL)") == first
    assert fingerprint(f"({day}, 'b', TIMESTAMP '2024-01-05 10:00'), ({other}, 'x', NULL)") != first
    assert day_rows_fingerprint(con, "bronze", "absent", ["2024-01-05"]) is None
