"""The warehouse's only write path, `replace_rows`: one transaction, rows matched to columns
by name, the days written replaced and no others, the table's columns and types kept or
widened, and a refused or failed write changing nothing."""

from __future__ import annotations

import threading

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from cx_assets.lakehouse.warehouse import replace_rows
from cx_assets.lakehouse.warehouse_tables import count_rows, table_columns, table_exists
from cx_assets_tests.lakehouse.warehouse_rows import (
    D1,
    D2,
    D3,
    rows,
    seed,
    temporary_warehouse,
    warehouse_cursor,
)

warehouse = pytest.fixture(temporary_warehouse, name="warehouse")
con = pytest.fixture(warehouse_cursor, name="con")


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


def test_a_filtered_frames_index_is_not_stored(con):
    """A frame filtered before it is written keeps the index of the rows it kept (1, 3):
    not a column of the table, nor of the analysts' Parquet written from the same rows."""
    frame = pd.DataFrame({"date": [D1] * 4, "id": [1, 2, 3, 4]})
    replace_rows(con, "gold", "kept", frame[frame["id"] % 2 == 0], [D1])
    assert table_columns(con, "gold", "kept") == [("date", "DATE"), ("id", "BIGINT")]
    assert rows(con, "SELECT id FROM gold.kept ORDER BY id") == [(2,), (4,)]


def test_a_write_leaves_none_of_its_rows_registered_on_the_cursor(con):
    """A step's cursor outlives its writes: a write's rows left registered on it would be
    held in memory until the step ends, and readable under the write's own names (mutation
    testing: either unregister dropped, no test failed)."""
    seed(con)
    for name in ("incoming_rows", "incoming_schema"):
        with pytest.raises(duckdb.CatalogException, match=name):
            con.execute(f"FROM {name}")


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


@pytest.mark.parametrize(
    ("stored", "incoming", "said"),
    [
        (pa.int64(), pa.array(["seven"]), "BIGINT and the rows bring VARCHAR"),
        (pa.int32(), pa.array([4_000_000_000], pa.uint32()), "INTEGER and the rows bring UINTEGER"),
        (pa.int64(), pa.array([2**63], pa.uint64()), "BIGINT and the rows bring UBIGINT"),
    ],
    ids=["text", "unsigned 32-bit", "unsigned 64-bit"],
)
def test_a_type_the_one_stored_value_cannot_take_fails_the_write(con, stored, incoming, said):
    """One value kept is as many as three, and an unsigned integer is not one the stored
    signed type holds (mutation testing: the kept values counted from 2, or INTEGER said to
    hold UINTEGER, or BIGINT UBIGINT, no test failed)."""
    replace_rows(con, "silver", "one", pa.table({"date": [D1], "id": pa.array([7], stored)}), [D1])
    with pytest.raises(ValueError, match=rf"silver\.one\.id is stored as {said},"):
        replace_rows(con, "silver", "one", pa.table({"date": [D2], "id": incoming}), [D2])
    assert rows(con, "SELECT date, id FROM silver.one") == [(D1, 7)]


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


@pytest.mark.parametrize("days", [[D1, D2], [D2, D1]], ids=["in order", "latest first"])
def test_a_range_refuses_rows_outside_it(con, days):
    """The range is said from its first day to its last, in whatever order the days come
    (mutation testing: the first and last given said instead, no test failed)."""
    seed(con)
    frame = pd.DataFrame({"date": [D1, D2, D3], "id": [1, 2, 3], "name": ["x", "y", "z"]})
    with pytest.raises(ValueError, match=r"1 of 3 rows .* \(2024-01-05\.\.2024-01-06\)"):
        replace_rows(con, "silver", "t", frame, days)
    assert count_rows(con, "silver", "t") == 4


def test_writing_no_days_refuses_every_row_and_nothing_changes(con):
    seed(con)
    frame = pd.DataFrame({"date": [D1], "id": [100], "name": ["x"]})
    with pytest.raises(ValueError, match=r"1 of 1 rows .* \(no days\)"):
        replace_rows(con, "silver", "t", frame, [])
    assert count_rows(con, "silver", "t") == 4


def test_what_is_written_with_the_rows_commits_and_rolls_back_with_them(con):
    """The key a day was hashed under (`written_days`) is recorded in the write's own
    transaction: never for rows that were not written, never missing for rows that were."""
    from cx_assets.lakehouse import written_days

    seed(con)
    written_days.ensure_table(con)
    stamp = lambda key: lambda con: written_days.record(con, "silver.t", [D1], key)  # noqa: E731
    day = pd.DataFrame({"date": [D1], "id": [7], "name": ["x"]})
    replace_rows(con, "silver", "t", day, [D1], also=stamp("old"))
    outside = pd.DataFrame({"date": [D3], "id": [8], "name": ["y"]})
    with pytest.raises(ValueError, match="outside the partitions"):
        replace_rows(con, "silver", "t", outside, [D1], also=stamp("new"))
    assert written_days.days_under_other_keys(con, "silver.t", "new") == [D1]
    assert rows(con, "SELECT id FROM silver.t WHERE date = DATE '2024-01-05'") == [(7,)]

    def fails(con):
        written_days.record(con, "silver.t", [D1], "new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        replace_rows(con, "silver", "t", day.assign(id=9), [D1], also=fails)
    assert rows(con, "SELECT id FROM silver.t WHERE date = DATE '2024-01-05'") == [(7,)]
    assert written_days.days_under_other_keys(con, "silver.t", "new") == [D1]
    assert written_days.days_under_other_keys(con, "silver.t", "old") == []


def test_a_write_interrupted_in_its_transaction_changes_nothing(con):
    """Dagster stops a step by raising its interrupt (a BaseException, not an Exception)
    wherever the step is: one raised mid-write rolls the write back, and the cursor takes
    the next write (mutation testing: only an Exception rolled back, no test failed, and the
    cursor was left in the open transaction, the day's old rows deleted in it)."""
    from dagster._core.errors import DagsterExecutionInterruptedError

    seed(con)

    def interrupted(con):
        raise DagsterExecutionInterruptedError

    day = pd.DataFrame({"date": [D1], "id": [7], "name": ["x"]})
    with pytest.raises(DagsterExecutionInterruptedError):
        replace_rows(con, "silver", "t", day, [D1], also=interrupted)
    assert rows(con, "SELECT date, id FROM silver.t ORDER BY date, id") == [
        (D1, 1),
        (D1, 2),
        (D1, 3),
        (D2, 10),
    ]
    assert replace_rows(con, "silver", "t", day, [D1]) == 1


def test_days_built_are_those_recorded_and_those_with_rows_written_before_the_record(con):
    """What the leakage means count their days by and the whole-history tables are as of
    (`days_built`, `latest_day_built`), and the days a day built again under another key
    leaves (mutation testing: either half of `days_built`, or `max` as `min`, failed no
    test here)."""
    from cx_assets.lakehouse import written_days

    seed(con)  # D1 and D2 hold rows, written before the record existed
    assert written_days.days_built(con, "silver", "t") == {D1, D2}
    assert written_days.latest_day_built(con, "silver", "t") == D2
    written_days.ensure_table(con)
    written_days.record(con, "silver.t", [D3], None)  # built, with no rows
    assert written_days.days_built(con, "silver", "t") == {D1, D2, D3}
    assert written_days.latest_day_built(con, "silver", "t") == D3
    written_days.record(con, "silver.t", [D1, D3], "old")
    written_days.record(con, "silver.t", [D3], "new")  # D3 built again under a new key
    assert written_days.days_under_other_keys(con, "silver.t", "new") == [D1]
    assert written_days.days_under_key(con, "silver.t", "new") == [D3]


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


def test_arrow_rows_are_stored_as_frames_are_utc_microseconds(con):
    """Rows a step gives as Arrow (a chunk of days) keep their types no more than a frame's:
    nanosecond, naive timestamps are stored as microsecond UTC, not `TIMESTAMP_NS`."""
    arrow = pa.table(
        {
            "date": pa.array([D1], pa.date32()),
            "seen_at": pa.array([1_704_448_800_123_456_789], pa.timestamp("ns")),
        }
    )
    replace_rows(con, "gold", "arrow_times", arrow, [D1])
    assert table_columns(con, "gold", "arrow_times") == [
        ("date", "DATE"),
        ("seen_at", "TIMESTAMP WITH TIME ZONE"),
    ]
    assert rows(con, "SELECT strftime(seen_at, '%Y-%m-%d %H:%M:%S.%f') FROM gold.arrow_times") == [
        ("2024-01-05 10:00:00.123456",)
    ]


def test_unsafe_identifiers_are_refused(con):
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        replace_rows(con, "silver", "t; DROP TABLE x", pd.DataFrame({"k": [1]}), None)


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


class _CommitFailsAsOnAFullDisk:
    """A cursor whose COMMIT fails as DuckDB 2.0's does when the disk fills under it
    (seen on a full tmpfs): the error names the file, and the transaction is already over."""

    def __init__(self, con):
        self._con = con

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *parameters):
        if sql == "COMMIT":
            self._con.execute("ROLLBACK")
            raise duckdb.TransactionException(
                'TransactionContext Error: Failed to commit: Could not write file "w.duckdb": '
                "No space left on device"
            )
        return self._con.execute(sql, *parameters)


def test_a_commit_that_fails_is_said_in_its_own_words_and_changes_nothing(con):
    """Seen in an audit, the warehouse on a full disk: a step said only `cannot rollback - no
    transaction is active` (the ROLLBACK after a failed COMMIT), hiding the full disk."""
    seed(con)
    day = pd.DataFrame({"date": [D1], "id": [7], "name": ["x"]})
    with pytest.raises(duckdb.TransactionException, match="No space left on device"):
        replace_rows(_CommitFailsAsOnAFullDisk(con), "silver", "t", day, [D1])
    assert count_rows(con, "silver", "t") == 4
