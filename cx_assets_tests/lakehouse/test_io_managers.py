"""The IO managers (one per storage), through tiny assets declared the way domains declare
them."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow.parquet as pq
import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterInvariantViolationError,
    Definitions,
    JobDefinition,
    ReexecutionOptions,
    TableSchema,
    build_reconstructable_job,
    define_asset_job,
    execute_job,
    in_process_executor,
)
from pandera.typing import Series

from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.gold_io_manager import GoldIOManager, PublishJournal, Unpublished
from cx_assets.lakehouse.inputs import all_days, same_day, whole_table
from cx_assets.lakehouse.io_managers import DayRows, DayTables, TableRef, days_never_built
from cx_assets.lakehouse.parquet import DATA_FILE
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.resources import build_resources
from cx_assets.lakehouse.warehouse import Warehouse, as_arrow
from cx_assets_tests.conftest import QUIET

D1, D2, D3 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)
GROUP = "lakehouse_test"
ROWS_PER_DAY = {"n": 2}  # changed by a test to re-materialize a day with fewer rows


class Numbers(pa.DataFrameModel):
    n: Series[int] = pa.Field(description="A number.")
    label: Series[str] = pa.Field(description="Its label.")


def numbers_for(days: list[date]) -> pd.DataFrame:
    rows = [
        {"date": day, "n": day.day * 10 + i, "label": f"{day.isoformat()}#{i}"}
        for day in days
        for i in range(ROWS_PER_DAY["n"])
    ]
    return pd.DataFrame(rows, columns=["date", "n", "label"]).astype({"n": "int64"})


@lake_asset("gold", group=GROUP, model=Numbers, name="test_numbers_daily")
def numbers_daily(context):
    """Per day."""
    return numbers_for(partition_dates(context))


class Scores(pa.DataFrameModel):
    score: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="A score, when given.")
    label: Series[str] = pa.Field(description="Its label.")


@lake_asset("gold", group=GROUP, model=Scores, name="test_scores_daily")
def scores_daily(context):
    """Per day, a nullable integer column (as support's `csat_score`)."""
    days = partition_dates(context)
    return pd.DataFrame(
        {
            "date": [day for day in days for _ in range(2)],
            "score": pd.array([v for day in days for v in (day.day, None)], dtype="Int64"),
            "label": [f"{day.isoformat()}#{i}" for day in days for i in range(2)],
        }
    )


@lake_asset("gold", group=GROUP, model=Numbers, partitioned=False, name="test_numbers_whole")
def numbers_whole():
    """All history."""
    return pd.DataFrame({"n": [3, 1, 2], "label": ["c", "a", "b"]})


@lake_asset("silver", group=GROUP, model=Numbers, name="test_numbers")
def numbers_silver(context):
    """Silver."""
    return numbers_for(partition_dates(context))


@lake_asset(
    "gold", group=GROUP, ins={"numbers": same_day(numbers_silver)}, name="test_numbers_count"
)
def numbers_count(context, warehouse: Warehouse, numbers: TableRef):
    """Counts the silver rows it may read."""
    with warehouse.connect() as con:
        total, first, last = con.execute(
            f"SELECT count(*), min(date), max(date) FROM {numbers.rows}"
        ).fetchall()[0]
    context.add_output_metadata({"seen_first": str(first), "seen_last": str(last)})
    return pd.DataFrame(
        {"date": partition_dates(context), "total": [total] * len(partition_dates(context))}
    )


@lake_asset(
    "gold", group=GROUP, ins={"numbers": all_days(numbers_silver)}, name="test_numbers_so_far"
)
def numbers_so_far(context, warehouse: Warehouse, numbers: TableRef):
    """Counts every silver row built (as CRM interactions read every contact version)."""
    with warehouse.connect() as con:
        (total,) = con.execute(f"SELECT count(*) FROM {numbers.rows}").fetchone()
    days = partition_dates(context)
    return pd.DataFrame({"date": days, "total": [total] * len(days)})


@lake_asset(
    "gold",
    group=GROUP,
    partitioned=False,
    ins={"numbers": whole_table(numbers_whole)},
    name="test_numbers_whole_count",
)
def numbers_whole_count(warehouse: Warehouse, numbers: TableRef):
    """Counts a whole-history table's rows (as a rollup reads another)."""
    with warehouse.connect() as con:
        (total,) = con.execute(f"SELECT count(*) FROM {numbers.rows}").fetchone()
    return pd.DataFrame({"total": [total]})


@lake_asset("model", group=GROUP, partitioned=False, name="test_model")
def model_asset():
    """A trained model: any picklable object."""
    return {"weights": [0.5, 1.5], "classes": ["a", "b"]}


@lake_asset(
    "gold",
    group=GROUP,
    partitioned=False,
    ins={"model": same_day(model_asset)},
    name="test_model_use",
)
def model_use(model: dict) -> pd.DataFrame:
    """Reads the model back."""
    return pd.DataFrame({"n": [len(model["weights"])], "label": model["classes"][:1]})


# What `test_tickets_by_day` returns on its next output (set by each test).
NEXT_DAY_ROWS: dict[str, DayRows] = {}


@lake_asset("gold", group=GROUP, partitioned=False, name="test_tickets_by_day")
def tickets_by_day() -> DayRows:
    """A whole-history table whose rows belong to days (as support's tickets)."""
    return NEXT_DAY_ROWS["next"]


def tickets(*rows: tuple[date, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "ticket_id"])


# The chunks of days `test_numbers_by_chunk` computes its step's days in (set by each test).
CHUNKS: list[list[date]] = []


@lake_asset("gold", group=GROUP, model=Numbers, name="test_numbers_by_chunk")
def numbers_by_chunk(context) -> DayTables:
    """Per day, computed a chunk of days at a time (as digital's journey timeline)."""
    return DayTables((days, as_arrow(numbers_for(days))) for days in CHUNKS)


def materialization(result, key: list[str], partition: str | None = None):
    events = [
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key == AssetKey(key) and (partition is None or event.partition == partition)
    ]
    assert events, f"no materialization of {key} {partition}"
    return events[-1].step_materialization_data.materialization


def test_partitioned_gold_writes_parquet_per_day_and_the_warehouse(lake):
    result = lake.materialize([numbers_daily], day="2024-01-05")

    path = lake.layout.gold_dir / "test_numbers_daily" / "date=2024-01-05" / DATA_FILE
    assert sorted(p.name for p in path.parent.iterdir()) == [DATA_FILE]
    # The file alone: pyarrow before 25 adds the `date=` folder's key to a file read so.
    table = pq.read_table(path, partitioning=None)
    assert table.schema.names == ["n", "label"]
    assert table.to_pylist() == [
        {"n": 50, "label": "2024-01-05#0"},
        {"n": 51, "label": "2024-01-05#1"},
    ]
    assert lake.query("SELECT date, n FROM gold.test_numbers_daily ORDER BY n").values.tolist() == [
        [pd.Timestamp("2024-01-05"), 50],
        [pd.Timestamp("2024-01-05"), 51],
    ]

    metadata = materialization(result, ["gold", "test_numbers_daily"]).metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["dagster/table_name"].value == "warehouse.duckdb:gold.test_numbers_daily"
    schema = metadata["dagster/column_schema"].schema
    assert isinstance(schema, TableSchema)
    assert [(c.name, c.type, c.description) for c in schema.columns] == [
        ("date", "DATE", "Partition day (UTC)."),
        ("n", "BIGINT", "A number."),
        ("label", "VARCHAR", "Its label."),
    ]
    assert metadata["parquet_path"].value == str(lake.layout.gold_dir / "test_numbers_daily")


def test_re_materializing_a_day_replaces_it_exactly(lake):
    lake.materialize([numbers_daily], day="2024-01-05")
    lake.materialize([numbers_daily], day="2024-01-06")
    ROWS_PER_DAY["n"] = 1
    try:
        lake.materialize([numbers_daily], day="2024-01-05")
    finally:
        ROWS_PER_DAY["n"] = 2
    frame = lake.gold("test_numbers_daily")
    assert sorted(zip(frame["date"].astype(str), frame["n"], strict=True)) == [
        ("2024-01-05", 50),
        ("2024-01-06", 60),
        ("2024-01-06", 61),
    ]
    assert lake.query("SELECT count(*) AS n FROM gold.test_numbers_daily")["n"].tolist() == [3]


def test_a_day_whose_parquet_a_crash_left_behind_is_published_by_the_next_run(lake, monkeypatch):
    lake.materialize([numbers_daily], day="2024-01-05")
    # the warehouse commits a day's new rows, then the process dies
    _run_again_killed_before_its_parquet(lake, monkeypatch, numbers_daily, rows=1)
    assert len(lake.gold("test_numbers_daily")) == 2  # Parquet behind the warehouse (1 row)

    lake.materialize([numbers_daily], day="2024-01-06")  # another day
    frame = lake.gold("test_numbers_daily")
    assert sorted(zip(frame["date"].astype(str), frame["n"], strict=True)) == [
        ("2024-01-05", 50),
        ("2024-01-06", 60),
        ("2024-01-06", 61),
    ]


def test_journals_left_behind_are_published_before_any_other_write(lake, monkeypatch):
    """`cx-lakehouse run` calls this first: a table the next runs do not write is no longer
    left behind its warehouse rows until it is written again."""
    lake.materialize([numbers_daily], day="2024-01-05")
    _run_again_killed_before_its_parquet(lake, monkeypatch, numbers_daily, rows=1)
    journal_dir = lake.layout.gold_journal_dir
    (journal_dir / "_test_numbers_daily.json.99.tmp").write_text("{")  # a writer killed
    (journal_dir / "gone_table.json").write_text('{"days": null}')  # no such table any more
    assert len(lake.gold("test_numbers_daily")) == 2

    gold = lake.resources["gold_io_manager"]
    assert gold.republish_left_behind() == ["test_numbers_daily"]

    assert lake.gold("test_numbers_daily")["n"].tolist() == [50]
    assert list(journal_dir.iterdir()) == []
    assert gold.republish_left_behind() == []


def test_days_two_crashed_outputs_left_behind_are_both_published_again(lake, monkeypatch):
    """Each output's journal names what it publishes and what an earlier crash left behind:
    two runs killed in a row after their warehouse commits (a disk filling up) leave both
    days behind the warehouse, and the next command republishes both, not only the last."""
    lake.materialize([numbers_daily], day="2024-01-05", last_day="2024-01-06")
    monkeypatch.setattr(GoldIOManager, "publish", _killed)
    ROWS_PER_DAY["n"] = 1
    try:
        for day in ("2024-01-05", "2024-01-06"):
            assert not lake.materialize([numbers_daily], day=day, raise_on_error=False).success
    finally:
        ROWS_PER_DAY["n"] = 2
        monkeypatch.undo()
    assert len(lake.gold("test_numbers_daily")) == 4  # both days behind the warehouse

    assert lake.resources["gold_io_manager"].republish_left_behind() == ["test_numbers_daily"]

    frame = lake.gold("test_numbers_daily")
    assert sorted(zip(frame["date"].astype(str), frame["n"], strict=True)) == [
        ("2024-01-05", 50),
        ("2024-01-06", 60),
    ]


def test_a_day_emptied_by_a_crashed_output_is_published_again_empty(lake, monkeypatch):
    """A day materialized again with no rows (its landed files removed), the run killed
    after the warehouse committed it: the day holds no row there, but was built, so the
    next command publishes it again as an empty file, not leaving its old rows for analysts."""
    lake.materialize([numbers_daily], day="2024-01-05", last_day="2024-01-06")
    _run_again_killed_before_its_parquet(lake, monkeypatch, numbers_daily, rows=0)
    assert len(lake.gold("test_numbers_daily")) == 4  # 2024-01-05's old rows, behind

    assert lake.resources["gold_io_manager"].republish_left_behind() == ["test_numbers_daily"]

    day = lake.layout.gold_dir / "test_numbers_daily" / "date=2024-01-05" / DATA_FILE
    assert pq.read_metadata(day).num_rows == 0
    assert lake.gold("test_numbers_daily")["n"].tolist() == [60, 61]


def test_a_day_built_before_days_were_recorded_is_published_again(lake, monkeypatch):
    """A data root built before the warehouse recorded the days it writes: a day holding
    rows there is built, and a journal naming it publishes it again."""
    lake.materialize([numbers_daily], day="2024-01-05", last_day="2024-01-06")
    _run_again_killed_before_its_parquet(lake, monkeypatch, numbers_daily, rows=1)
    with lake.resources["warehouse"].connect() as con:
        con.execute("DELETE FROM lakehouse.written_days")

    assert lake.resources["gold_io_manager"].republish_left_behind() == ["test_numbers_daily"]

    assert sorted(lake.gold("test_numbers_daily")["n"].tolist()) == [50, 60, 61]


def test_a_day_published_again_from_the_warehouse_reads_in_pandas_as_the_others(lake, monkeypatch):
    """Found in an analysts' audit: a day published again from the warehouse (after a run
    killed between the warehouse and the Parquet, or a day folder deleted) had no pandas
    description, so pandas read its nullable integers as floats (support's `csat_score`
    5.0, float64, the other days 5, Int64), and the whole table so when it was the first day."""
    lake.materialize([scores_daily], day="2024-01-05", last_day="2024-01-06")
    dataset = lake.layout.gold_dir / "test_scores_daily"
    assert str(lake.gold("test_scores_daily")["score"].dtype) == "Int64"
    _run_again_killed_before_its_parquet(lake, monkeypatch, scores_daily)
    assert lake.resources["gold_io_manager"].republish_left_behind() == ["test_scores_daily"]

    day = pd.read_parquet(dataset / "date=2024-01-05" / DATA_FILE)
    assert str(day["score"].dtype) == "Int64"
    assert day["score"].tolist() == [5, pd.NA]
    assert str(lake.gold("test_scores_daily")["score"].dtype) == "Int64"
    assert pq.read_schema(dataset / "date=2024-01-05" / DATA_FILE) == pq.read_schema(
        dataset / "date=2024-01-06" / DATA_FILE
    )


def test_a_day_published_again_has_the_columns_of_the_others_not_the_warehouse_leftovers(
    lake, monkeypatch
):
    """Found in an analysts' audit: a day published again from the warehouse took every
    column the warehouse table holds, in its order, so a column an older version of the
    model had (kept in the warehouse) came back in that day's file alone, and DuckDB's
    documented read of the table failed ('schema mismatch in glob'), as did polars'."""
    with lake.resources["warehouse"].connect() as con:
        con.execute("CREATE SCHEMA gold")
        con.execute(
            "CREATE TABLE gold.test_numbers_daily (date DATE, legacy INT, label VARCHAR, n BIGINT)"
        )
    lake.materialize([numbers_daily], day="2024-01-05", last_day="2024-01-06")
    _run_again_killed_before_its_parquet(lake, monkeypatch, numbers_daily, rows=1)
    assert lake.resources["gold_io_manager"].republish_left_behind() == ["test_numbers_daily"]

    dataset = lake.layout.gold_dir / "test_numbers_daily"
    for day in ("2024-01-05", "2024-01-06"):
        assert pq.read_schema(dataset / f"date={day}" / DATA_FILE).names == ["n", "label"]
    rows = duckdb.sql(
        f"SELECT date, n FROM read_parquet('{dataset}/**/*.parquet', hive_partitioning = true) "
        "ORDER BY n"
    ).fetchall()
    assert rows == [(D1, 50), (D2, 60), (D2, 61)]


def _day_files_left_behind(lake, shapes: dict[date, list[str]]) -> GoldIOManager:
    """Gold table `t` with every column of `shapes` and a row a day in the warehouse, each
    day's Parquet written (in `shapes`' order, a minute apart) with that day's columns from
    a frame, and a journal naming the first day as left behind by a crash."""
    from cx_assets.lakehouse.warehouse import as_arrow, replace_rows

    gold = lake.resources["gold_io_manager"]
    names = list(dict.fromkeys(name for columns in shapes.values() for name in columns))
    frame = pd.DataFrame(
        [{"date": day, **{name: f"{name}{day.day}" for name in names}} for day in shapes]
    )
    with lake.resources["warehouse"].connect() as con:
        replace_rows(con, "gold", "t", frame, list(shapes))
    for minute, (day, columns) in enumerate(shapes.items()):
        gold.publish("t", as_arrow(frame[frame["date"] == day][["date", *columns]]), [day])
        path = lake.layout.gold_dir / "t" / f"date={day}" / DATA_FILE
        os.utime(
            path, ns=(path.stat().st_atime_ns, 1_700_000_000_000_000_000 + minute * 60 * 10**9)
        )
    PublishJournal(lake.layout.gold_journal_dir / "t.json").write(Unpublished({D1}, True))
    return gold


def test_a_day_published_again_takes_the_columns_of_the_newest_file(lake):
    """The model gained a column since the day left behind was first written: it is
    published again with the columns the newest day's file has, as a build would write it
    now, not with its own old ones: DuckDB's read of the table by its documented glob
    takes the first file's columns, so the new column was silently gone from every day."""
    gold = _day_files_left_behind(lake, {D1: ["n", "label"], D2: ["n", "label", "added"]})

    assert gold.republish_left_behind() == ["t"]

    for day in (D1, D2):
        path = lake.layout.gold_dir / "t" / f"date={day}" / DATA_FILE
        assert pq.read_schema(path).names == ["n", "label", "added"], day
    assert pd.read_parquet(lake.layout.gold_dir / "t" / f"date={D1}")["added"].tolist() == [
        "added5"
    ]


def test_a_damaged_day_file_does_not_stop_another_day_being_published_again(lake):
    """A day file no reader can open (cut short, overwritten) shapes nothing: the left
    behind day is published again from the warehouse, and the command goes on."""
    gold = _day_files_left_behind(lake, {D1: ["n", "label"], D2: ["n", "label"]})
    (lake.layout.gold_dir / "t" / f"date={D2}" / DATA_FILE).write_bytes(b"PAR1 cut short")

    assert gold.republish_left_behind() == ["t"]

    assert pd.read_parquet(lake.layout.gold_dir / "t" / f"date={D1}").to_dict("records") == [
        {"n": "n5", "label": "label5"}
    ]


def test_a_file_with_a_column_the_warehouse_lacks_does_not_shape_a_day_published_again(lake):
    """A day file holding a column the warehouse table does not (a table rebuilt since,
    its old day files kept) is no shape to publish the warehouse's rows in."""
    gold = _day_files_left_behind(lake, {D1: ["n", "label"], D2: ["n", "label", "gone"]})
    with lake.resources["warehouse"].connect() as con:
        con.execute("ALTER TABLE gold.t DROP COLUMN gone")

    assert gold.republish_left_behind() == ["t"]

    path = lake.layout.gold_dir / "t" / f"date={D1}" / DATA_FILE
    assert pq.read_schema(path).names == ["n", "label"]


def test_a_day_published_again_in_a_type_the_warehouse_widened_reads_its_values(lake):
    """The newest file's pandas description names a column's type as it wrote it (`Int64`):
    a day whose rows the warehouse holds in a wider type (DOUBLE: another day brought 2.5)
    is published again without that description, and pandas reads its 2.5, where the
    description made it fail ('cannot safely cast non-equivalent float64 to int64')."""
    from cx_assets.lakehouse.warehouse import as_arrow, replace_rows

    gold = lake.resources["gold_io_manager"]
    counted = pd.DataFrame({"date": [D1], "score": pd.array([5], dtype="Int64")})
    with lake.resources["warehouse"].connect() as con:
        replace_rows(con, "gold", "t", counted, [D1])
        replace_rows(con, "gold", "t", pd.DataFrame({"date": [D2], "score": [2.5]}), [D2])
    gold.publish("t", as_arrow(counted), [D1])
    PublishJournal(lake.layout.gold_journal_dir / "t.json").write(Unpublished({D2}, True))

    assert gold.republish_left_behind() == ["t"]

    assert pd.read_parquet(lake.layout.gold_dir / "t" / f"date={D2}")["score"].tolist() == [2.5]


def test_a_day_killed_before_the_warehouse_committed_it_gets_no_parquet(lake, monkeypatch):
    """Found in an audit: killed after its journal was written and before the warehouse's
    commit, a day was published again by the next run as an empty folder, "built, no
    rows", though it was never built; and the run said it had repaired the table."""
    import cx_assets.lakehouse.io_managers as io_managers

    lake.materialize([numbers_daily], day="2024-01-05")
    monkeypatch.setattr(io_managers, "replace_rows", _killed)
    try:
        assert not lake.materialize([numbers_daily], day="2024-01-06", raise_on_error=False).success
    finally:
        monkeypatch.undo()
    assert (lake.layout.gold_journal_dir / "test_numbers_daily.json").exists()

    assert lake.resources["gold_io_manager"].republish_left_behind() == []

    dataset = lake.layout.gold_dir / "test_numbers_daily"
    assert sorted(folder.name for folder in dataset.iterdir()) == ["date=2024-01-05"]
    assert list(lake.layout.gold_journal_dir.iterdir()) == []


def test_the_journal_is_on_disk_before_the_warehouse_commits(tmp_path, monkeypatch):
    """A power loss after the warehouse's commit (which DuckDB syncs) must find the journal
    there too, or gold's Parquet would stay behind the warehouse unrepaired: the journal's
    text is synced before it is renamed into place, then the rename (its folder)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    journal = PublishJournal(tmp_path / "journal" / "table.json")
    journal.write(Unpublished({date(2024, 1, 5)}))

    in_flight = journal.path.with_name(f"_table.json.{os.getpid()}.tmp")
    # the journal's folder, and the data root holding it (a folder made for it)
    assert synced == [str(in_flight), str(journal.path.parent.parent), str(journal.path.parent)]
    assert not in_flight.exists()
    assert journal.read() == Unpublished({date(2024, 1, 5)})


def test_a_journal_the_disk_refuses_names_its_file(tmp_path, monkeypatch):
    """Seen in an audit on a full disk: `gold__crm_managers: OSError: [Errno 28] No space
    left on device`, the journal's write naming no file."""
    real_write_text = Path.write_text

    def no_space(path, text, *args, **kwargs):
        if path.suffix == ".tmp":
            raise OSError(28, "No space left on device")
        return real_write_text(path, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", no_space)
    journal = PublishJournal(tmp_path / "journal" / "table.json")
    with pytest.raises(OSError) as raised:
        journal.write(Unpublished({date(2024, 1, 5)}))
    assert raised.value.errno == 28 and str(journal.path.parent) in str(raised.value.filename)


def test_a_journal_the_disk_cannot_read_fails_naming_it_not_taken_as_none(tmp_path, monkeypatch):
    """Only a journal that is not there means nothing was left behind: one the disk fails
    to read (an I/O error) is said, naming it, not taken as none and its days lost."""
    journal = PublishJournal(tmp_path / "journal" / "table.json")
    journal.write(Unpublished({date(2024, 1, 5)}, True))

    def unreadable(path):
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    with pytest.raises(OSError) as raised:
        journal.read()
    assert raised.value.errno == 5 and raised.value.filename == str(journal.path)


def test_a_damaged_journal_publishes_the_whole_table_again(lake):
    """Found in an audit: an empty journal (what a power cut leaves on a mount that does
    not sync) failed every later run of the data root with a JSON error. Whatever the
    journal held, publishing the whole table again from the warehouse repairs it."""
    lake.materialize([numbers_daily], day="2024-01-05")
    lake.materialize([numbers_daily], day="2024-01-06")
    dataset = lake.layout.gold_dir / "test_numbers_daily"
    journal_dir = lake.layout.gold_journal_dir
    gold = lake.resources["gold_io_manager"]
    for damaged in (b"", b'{"days": ["2024-01-0', b"\xff\xfe", b"[]", b'{"days": [5]}'):
        for day in ("2024-01-05", "2024-01-06"):
            shutil.rmtree(dataset / f"date={day}")  # both days left behind the warehouse
        (journal_dir / "test_numbers_daily.json").write_bytes(damaged)

        assert gold.republish_left_behind() == ["test_numbers_daily"], damaged

        assert sorted(lake.gold("test_numbers_daily")["date"].astype(str)) == [
            "2024-01-05", "2024-01-05", "2024-01-06", "2024-01-06",
        ], damaged  # fmt: skip
        assert list(journal_dir.iterdir()) == []


def _killed(*args, **kwargs):
    raise RuntimeError("killed between the warehouse commit and the Parquet")


def _run_again_killed_before_its_parquet(lake, monkeypatch, asset, *, rows: int | None = None):
    """Materialize 2024-01-05 of `asset` again (`rows` rows a day, if given), the process dying
    after the warehouse committed the day and before its Parquet was published."""
    monkeypatch.setattr(GoldIOManager, "publish", _killed)
    if rows is not None:
        ROWS_PER_DAY["n"] = rows
    try:
        assert not lake.materialize([asset], day="2024-01-05", raise_on_error=False).success
    finally:
        ROWS_PER_DAY["n"] = 2
        monkeypatch.undo()


def test_an_empty_day_still_gets_a_gold_file_and_table(lake):
    ROWS_PER_DAY["n"] = 0
    try:
        lake.materialize([numbers_daily], day="2024-01-05")
    finally:
        ROWS_PER_DAY["n"] = 2
    path = lake.layout.gold_dir / "test_numbers_daily" / "date=2024-01-05" / DATA_FILE
    assert pq.read_metadata(path).num_rows == 0
    assert pq.read_schema(path).names == ["n", "label"]
    assert lake.query("SELECT count(*) AS n FROM gold.test_numbers_daily")["n"].tolist() == [0]


def test_a_range_writes_every_day(lake):
    result = lake.materialize([numbers_daily], day="2024-01-05", last_day="2024-01-07")
    folders = sorted(p.name for p in (lake.layout.gold_dir / "test_numbers_daily").iterdir())
    assert folders == ["date=2024-01-05", "date=2024-01-06", "date=2024-01-07"]
    assert lake.query("SELECT count(*) AS n FROM gold.test_numbers_daily")["n"].tolist() == [6]
    # Each day's materialization counts its own rows as the partition's (it showed the
    # range's 6 on each); the row count is the table's, as Dagster defines it.
    for day in ("2024-01-05", "2024-01-06", "2024-01-07"):
        metadata = materialization(result, ["gold", "test_numbers_daily"], day).metadata
        assert metadata["dagster/partition_row_count"].value == 2
        assert metadata["dagster/row_count"].value == 6
    # A day run alone: its own rows, and the table's that it joins.
    result = lake.materialize([numbers_daily], day="2024-01-09")
    metadata = materialization(result, ["gold", "test_numbers_daily"], "2024-01-09").metadata
    assert metadata["dagster/partition_row_count"].value == 2
    assert metadata["dagster/row_count"].value == 8


def test_unpartitioned_gold_writes_one_file_in_the_table_folder(lake):
    result = lake.materialize([numbers_whole])
    folder = lake.layout.gold_dir / "test_numbers_whole"
    assert sorted(p.name for p in folder.iterdir()) == [DATA_FILE]
    assert sorted(pq.read_table(folder / DATA_FILE)["n"].to_pylist()) == [1, 2, 3]
    assert lake.query("SELECT count(*) AS n FROM gold.test_numbers_whole")["n"].tolist() == [3]
    metadata = materialization(result, ["gold", "test_numbers_whole"]).metadata
    assert metadata["dagster/row_count"].value == 3
    assert [c.name for c in metadata["dagster/column_schema"].schema.columns] == ["n", "label"]


def test_silver_is_warehouse_only(lake):
    result = lake.materialize([numbers_silver], day="2024-01-05")
    assert lake.query("SELECT count(*) AS n FROM silver.test_numbers")["n"].tolist() == [2]
    assert not lake.layout.gold_dir.exists() or not any(lake.layout.gold_dir.iterdir())
    metadata = materialization(result, ["silver", "test_numbers"]).metadata
    assert metadata["dagster/row_count"].value == 2
    assert "parquet_path" not in metadata


def test_a_downstream_asset_reads_only_its_days(lake):
    lake.materialize([numbers_silver], day="2024-01-05", last_day="2024-01-07")
    result = lake.materialize(
        [numbers_silver, numbers_count],
        selection=[numbers_count],
        day="2024-01-06",
    )
    assert lake.query("SELECT date, total FROM gold.test_numbers_count").values.tolist() == [
        [pd.Timestamp("2024-01-06"), 2]
    ]
    metadata = materialization(result, ["gold", "test_numbers_count"]).metadata
    assert (metadata["seen_first"].value, metadata["seen_last"].value) == (
        "2024-01-06",
        "2024-01-06",
    )


def test_a_table_read_whole_that_was_never_built_fails_the_step_naming_it(lake):
    """Seen through `dagster asset materialize` of one asset: silver/crm_interactions of a
    day whose contact versions were never built, and gold/crm_churn_risk before the
    rollups it reads, failed in DuckDB's 'Catalog Error: Table with name ... does not
    exist', deep in the step's query; an input read whole (every day built, or a rollup)
    never built now fails the step naming it and what to do, before anything is written."""
    for reader, upstream, day in (
        (numbers_so_far, "silver/test_numbers", "2024-01-05"),
        (numbers_whole_count, "gold/test_numbers_whole", None),
    ):
        result = lake.materialize(
            [numbers_silver, numbers_whole, reader],
            selection=[reader],
            day=day,
            raise_on_error=False,
        )
        assert not result.success
        (failure,) = [event for event in result.all_events if event.is_step_failure]
        message = failure.step_failure_data.error.message
        assert message.startswith(
            f"dagster._core.definitions.events.Failure: {upstream} was never built: "
            "materialize it first, or together with this asset"
        ), message
        assert not (lake.layout.gold_dir / reader.key.path[-1]).exists()
    # Built, each is read as it stands.
    lake.materialize([numbers_silver], day="2024-01-05")
    lake.materialize([numbers_whole])
    lake.materialize([numbers_silver, numbers_so_far], selection=[numbers_so_far], day="2024-01-06")
    assert lake.gold("test_numbers_so_far")["total"].tolist() == [2]
    lake.materialize([numbers_whole, numbers_whole_count], selection=[numbers_whole_count])
    assert lake.gold("test_numbers_whole_count")["total"].tolist() == [3]


def numbers_job(root: str) -> JobDefinition:
    """Silver and its two readers as a job (reconstructable, for a run re-executed)."""
    return Definitions(
        assets=[numbers_silver, numbers_count, numbers_so_far],
        jobs=[define_asset_job("numbers")],
        resources=build_resources(Path(root)),
        executor=in_process_executor,
    ).resolve_job_def("numbers")


def test_a_step_re_executed_alone_refuses_a_table_its_parent_run_failed_to_build(lake, monkeypatch):
    """The UI's re-execution of one chosen step of a failed run selects every asset of the
    parent run but executes only that step: silver, failed in the parent run, was taken as
    built by this run and not looked up, so its reader of every day failed in DuckDB's
    'Catalog Error' and its reader of the same day wrote that day from no rows, passing
    (seen re-executing silver/crm_interactions of a run whose contact versions had failed).
    Both now fail naming silver, as a table this run does not build."""
    job = build_reconstructable_job(__name__, "numbers_job", reconstructable_args=(str(lake.root),))
    tags = {"dagster/partition": "2024-01-05"}
    real = numbers_for
    monkeypatch.setattr(sys.modules[__name__], "numbers_for", lambda days: 1 / 0)
    # Its assets selected, as the UI's Materialize and `cx-lakehouse run` select them.
    selected = [numbers_silver.key, numbers_count.key, numbers_so_far.key]
    parent = execute_job(
        job,
        lake.instance,
        tags=tags,
        run_config=QUIET,
        asset_selection=selected,
        raise_on_error=False,
    )
    assert not parent.success
    monkeypatch.setattr(sys.modules[__name__], "numbers_for", real)

    def re_executed(reader) -> list[str]:
        step = reader.node_def.name
        again = execute_job(
            job,
            lake.instance,
            tags=tags,
            run_config=QUIET,
            raise_on_error=False,
            reexecution_options=ReexecutionOptions(parent.run_id, step_selection=[step]),
        )
        assert again.dagster_run.step_keys_to_execute == [step]
        return [
            event.step_failure_data.error.message
            for event in again.all_events
            if event.is_step_failure
        ]

    (message,) = re_executed(numbers_so_far)
    assert "silver/test_numbers was never built: materialize it first" in message, message
    lake.materialize([numbers_silver], day="2024-01-04")
    (message,) = re_executed(numbers_count)
    assert "silver/test_numbers was never built for 2024-01-05" in message, message
    assert not (lake.layout.gold_dir / "test_numbers_count").exists()
    # Every day built is read as it stands: 2024-01-04's.
    assert re_executed(numbers_so_far) == []
    assert lake.gold("test_numbers_so_far")["total"].tolist() == [ROWS_PER_DAY["n"]]


def test_bronze_is_parquet_per_day_behind_a_view(lake):
    bronze = bronze_asset("crm", "interactions", "Test interactions.")
    lake.land_jsonl("crm", "interactions", "2024-01-05", [{"Id": 1}, {"Id": 2}])
    lake.land_jsonl("crm", "interactions", "2024-01-05", ["not json"], name="b.jsonl")
    lake.land_jsonl("crm", "interactions", "2024-01-06", [{"Id": 3}])

    result = lake.materialize([bronze], day="2024-01-05", last_day="2024-01-06")

    dataset = lake.layout.bronze_dir / "crm_interactions"
    assert sorted(p.relative_to(dataset).as_posix() for p in dataset.rglob("*") if p.is_file()) == [
        "date=2024-01-05/data.parquet",
        "date=2024-01-06/data.parquet",
    ]
    counts = lake.query(
        "SELECT date, count(*) AS n FROM bronze.crm_interactions GROUP BY date ORDER BY date"
    )
    assert counts["n"].tolist() == [3, 1]
    assert [str(d)[:10] for d in counts["date"]] == ["2024-01-05", "2024-01-06"]
    metadata = materialization(result, ["bronze", "crm_interactions"]).metadata
    assert metadata["parquet_path"].value == str(dataset)
    # Each day of the range its own files (an audit saw every day list the whole range's).
    by_day = {
        event.partition: event.metadata
        for event in result.asset_materializations_for_node("bronze__crm_interactions")
    }
    assert {day: meta["files_read"].value for day, meta in by_day.items()} == {
        "2024-01-05": 2, "2024-01-06": 1,
    }  # fmt: skip
    assert by_day["2024-01-06"]["source_files"].value == [
        "landing/crm/interactions/2024-01-06/part.jsonl"
    ]
    assert list(by_day["2024-01-05"]["landing_fingerprints"].value) == ["2024-01-05"]


def test_a_day_of_many_files_not_read_names_a_bounded_number_of_them(lake):
    """Found in a landing-shape audit: 5,000 files of another extension in a day folder gave
    5,000 warnings in the run's event log and a materialization listing every one (455 kB,
    twice in the event log: 2.9 MB a run instead of 0.2). The first 50 are named in a
    warning each and on the materialization, the rest in one warning and a count."""
    bronze = bronze_asset("crm", "interactions", "Test interactions.")
    lake.land_jsonl("crm", "interactions", "2024-01-05", [{"Id": 1}])
    for number in range(300):
        lake.land("crm", "interactions", "2024-01-05", f"note-{number:03d}.txt", "{}")

    result = lake.materialize([bronze], day="2024-01-05")

    folder = "landing/crm/interactions/2024-01-05"
    why = "not one of .jsonl, .json, .csv"
    metadata = materialization(result, ["bronze", "crm_interactions"]).metadata
    assert metadata["files_ignored_count"].value == 300
    assert metadata["files_ignored"].value == [
        [f"{folder}/note-{number:03d}.txt", why] for number in range(50)
    ]
    warnings = [
        entry.user_message
        for entry in lake.instance.all_logs(result.run_id)
        if entry.user_message.startswith("ignoring")
    ]
    assert warnings[:50] == [
        f"ignoring {folder}/note-{number:03d}.txt: {why}" for number in range(50)
    ]
    assert warnings[50:] == [
        "ignoring 250 more landed files, 300 in all (the first 50 are listed on the bronze "
        "materialization, files_ignored)"
    ]


def test_a_model_is_stored_as_joblib_with_its_path_and_size(lake):
    result = lake.materialize([model_asset, model_use])

    path = lake.layout.models_dir / "test_model" / "model.joblib"
    assert path.exists()
    metadata = materialization(result, ["model", "test_model"]).metadata
    assert metadata["model_path"].value == str(path)
    assert metadata["model_bytes"].value == path.stat().st_size > 0
    # the downstream asset received the object itself, not a table reference
    assert lake.gold("test_model_use").to_dict("records") == [{"n": 2, "label": "a"}]
    assert not list(path.parent.glob("_*"))  # no in-flight file left behind


def test_a_model_never_trained_fails_its_reader_naming_it_as_a_table_never_built(lake):
    """Seen through `dagster asset materialize --select gold/support_ticket_categories`
    before the classifier was trained: the step failed in "FileNotFoundError: ... materialize
    AssetKey(['model', 'support_ticket_classifier'])"; it now says so as of a table never
    built, by the key as Dagster's CLI takes it."""
    result = lake.materialize([model_asset, model_use], selection=[model_use], raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    path = lake.layout.models_dir / "test_model" / "model.joblib"
    assert message.startswith(
        "dagster._core.definitions.events.Failure: model/test_model was never built: "
        f"materialize it first, or together with this asset (no trained model at {path})"
    ), message


def test_a_model_the_disk_refuses_names_the_file_and_leaves_no_half_of_it(lake, monkeypatch):
    """Seen in an audit, the models' folder on a full disk: the step failed with `OSError:
    [Errno 28] No space left on device`, naming no file, and left the half-written file."""
    import joblib

    def no_space(obj, where):
        Path(where).write_bytes(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(joblib, "dump", no_space)
    from cx_assets.cli.run_report import failure_lines

    result = lake.materialize([model_asset], raise_on_error=False)
    (line,) = failure_lines(result)  # what `cx-lakehouse run` says of the step
    folder = lake.layout.models_dir / "test_model"
    assert line.startswith("model__test_model: OSError: [Errno 28] No space left on device: ")
    assert str(folder) in line
    assert not list(folder.glob("_*"))


def test_gold_parquet_holds_the_rows_written_not_the_table_read_back(lake):
    """Analyst Parquet is written from the same Arrow table that was inserted: a column the
    warehouse table still has from an older version of the model never reaches the files."""
    with lake.resources["warehouse"].connect() as con:
        con.execute("CREATE SCHEMA gold")
        con.execute(
            "CREATE TABLE gold.test_numbers_daily (date DATE, n BIGINT, label VARCHAR, legacy INT)"
        )
    lake.materialize([numbers_daily], day="2024-01-05", last_day="2024-01-06")
    for day, expected in (("2024-01-05", [50, 51]), ("2024-01-06", [60, 61])):
        table = pq.read_table(
            lake.layout.gold_dir / "test_numbers_daily" / f"date={day}" / DATA_FILE,
            partitioning=None,
        )
        assert table.schema.names == ["n", "label"]
        assert table["n"].to_pylist() == expected
    assert lake.query("SELECT count(*) AS n FROM gold.test_numbers_daily")["n"].tolist() == [4]


# --------------------------------------------------------------------------- DayRows in gold


def ticket_days(lake) -> dict[str, list[str]]:
    """Each day folder of the table's Parquet and the tickets its file holds."""
    dataset = lake.layout.gold_dir / "test_tickets_by_day"
    return {
        folder.name: pq.read_table(folder / DATA_FILE)["ticket_id"].to_pylist()
        for folder in sorted(dataset.iterdir())
    }


def test_a_ticket_day_a_crashed_output_emptied_is_published_again_empty(lake, monkeypatch):
    """A ticket moved to another day, the output killed after the warehouse committed both
    days: the day it left holds no row in the warehouse, and the next command publishes it
    again without the ticket (it kept it, counted twice with the day it moved to)."""
    NEXT_DAY_ROWS["next"] = DayRows(tickets((D1, "a"), (D2, "b")), [D1, D2])
    lake.materialize([tickets_by_day])
    monkeypatch.setattr(GoldIOManager, "publish", _killed)
    NEXT_DAY_ROWS["next"] = DayRows(tickets((D2, "a"), (D2, "b")), [D1, D2])
    assert not lake.materialize([tickets_by_day], raise_on_error=False).success
    monkeypatch.undo()

    assert lake.resources["gold_io_manager"].republish_left_behind() == ["test_tickets_by_day"]

    assert ticket_days(lake) == {f"date={D1}": [], f"date={D2}": ["a", "b"]}


# --------------------------------------------------------------------------- DayTables in gold


@pytest.mark.parametrize(
    "chunks, says",
    [
        ([[D1, D2], [D2, D3]], "a chunk for days [datetime.date(2024, 1, 6), datetime.date"),
        ([[D1], [D3]], "no rows were computed for some of [datetime.date(2024, 1, 5)"),
        # a day the step does not write (mutation testing: accepted, I38)
        ([[D1, D2], [D3, date(2024, 1, 8)]], "a chunk for days [datetime.date(2024, 1, 7), "),
    ],
)
def test_chunks_writing_a_day_twice_or_leaving_one_out_fail_the_step(lake, chunks, says):
    """A day written twice would hold the later chunk's rows alone; a day left out would
    keep the rows of the run before, its materialization saying it was written."""
    CHUNKS[:] = chunks
    result = lake.materialize(
        [numbers_by_chunk], day="2024-01-05", last_day="2024-01-07", raise_on_error=False
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert says in failure.step_failure_data.error.to_string()


def test_a_bronze_day_is_built_by_its_data_file_not_its_folder(tmp_path):
    """A day folder holding only a killed writer's in-flight file is a day never built; a
    day Dagster materialized is built without its file. Found by mutation testing: the
    folder taken for the file (I08) and materializations ignored (I07) passed every test
    here."""
    for day, name in (("2024-01-05", DATA_FILE), ("2024-01-06", f"_{DATA_FILE}.9.tmp")):
        folder = tmp_path / "bronze" / "calls" / f"date={day}"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(b"")
    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"))
    days = [date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)]
    key = AssetKey(["bronze", "calls"])
    with DagsterInstance.ephemeral() as instance:
        found = days_never_built(instance, warehouse, key, days)
        instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-01-07"))
        found_since = days_never_built(instance, warehouse, key, days)
    assert found == [date(2024, 1, 6), date(2024, 1, 7)]
    assert found_since == [date(2024, 1, 6)]


class _KeysWithoutOneRange:
    """An input context whose window Dagster cannot give as one range: its keys alone."""

    def __init__(self, keys: list[str]) -> None:
        self.asset_partition_keys = keys

    @property
    def asset_partition_key_range(self):
        raise DagsterInvariantViolationError("not one range")


@pytest.mark.parametrize(
    ("keys", "ends"),
    [
        (["2024-01-07", "2024-01-05"], (date(2024, 1, 5), date(2024, 1, 7))),
        ([], (date.max, date.min)),  # no day: first after last, so no day is read
    ],
)
def test_a_window_that_is_no_one_range_ends_at_its_first_and_last_key(keys, ends):
    """Found by mutation testing: a window of no key read as every day (I05) passed."""
    from cx_assets.lakehouse.io_managers import _window_ends

    assert _window_ends(_KeysWithoutOneRange(keys)) == ends


@pytest.mark.parametrize("recorded", [False, True], ids=["before the record", "recorded"])
def test_a_silver_day_is_built_by_the_warehouse_and_dagster_only_before_the_record(
    tmp_path, recorded
):
    """Silver `calls` holds rows of the 5th; Dagster remembers the 6th materialized; the 7th
    is nowhere. A table whose days the record knows (the 5th recorded) is built on the days
    the warehouse has: the 6th, with no row and no record, was lost with the warehouse
    (restored from a backup taken before it). A table written before the record existed is
    trusted to Dagster's history for the 6th. Found by mutation testing: the fallback to
    Dagster taken for a recorded table (I10) passed every test."""
    from cx_assets.lakehouse import written_days

    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"))
    day5, day6, day7 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)
    with warehouse.connect() as con:
        con.execute("CREATE SCHEMA silver")
        con.execute("CREATE TABLE silver.calls AS SELECT DATE '2024-01-05' AS date, 1 AS n")
        if recorded:
            written_days.ensure_table(con)
            written_days.record(con, "silver.calls", [day5], None)
    key = AssetKey(["silver", "calls"])
    with DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-01-06"))
        found = days_never_built(instance, warehouse, key, [day5, day6, day7])
    assert found == ([day6, day7] if recorded else [day7])
