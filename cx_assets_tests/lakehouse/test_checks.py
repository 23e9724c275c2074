"""Every declared check on tiny assets declared the way domains declare them: each check has
a case where it must fail and one where it passes, and a failed blocking ERROR check stops
what is downstream of it in the run while a failed WARN check does not. The checks run in
their asset's own step.

Rows are fixed per day in the tables below, so a test picks its case by the day it runs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetRecordsFilter,
    AssetSelection,
    Definitions,
    Output,
    TableColumn,
    TableSchema,
    define_asset_job,
    materialize,
)
from pandera.typing import Series

from cx_assets.lakehouse import history_checks
from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.assets import Band, lake_asset, same_day
from cx_assets.lakehouse.checks import (
    COLUMN_SCHEMA_CHANGE,
    NON_EMPTY,
    RECONCILES_WITH_BRONZE,
    ROW_COUNT_CHECK,
    UNIQUE_KEY,
    StepCheckResult,
)
from cx_assets.lakehouse.history_checks import _column_changes
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.parsing import Field, RecordSpec
from cx_assets.lakehouse.partitions import daily_partitions, partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.schemas import Lineage
from cx_assets.lakehouse.steps import TYPED_RECORDS, silver_from_bronze
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets_tests.conftest import QUIET, check_results, check_results_by_day
from cx_assets_tests.instance import in_memory_instance

REJECT_RATIO, VOLUME_ANOMALY = "reject_ratio", "volume_anomaly"

GROUP = "checks_test"
ERROR, WARN = AssetCheckSeverity.ERROR, AssetCheckSeverity.WARN


def materialized(result) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def rows_of(days: list[date], by_day: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"date": day, **row} for day in days for row in by_day.get(day.isoformat(), [])]
    )


# --------------------------------------------------------------------------- unique key

KEYS_BY_DAY = {
    "2024-01-05": [{"key": "a"}, {"key": "b"}],
    "2024-01-06": [{"key": "a"}, {"key": "a"}],  # a duplicate
    "2024-01-07": [{"key": "a"}],
    "2024-01-08": [{"key": "a"}],  # the key of the 7th again: another day, its own grain
}


@lake_asset("silver", group=GROUP, grain=["key"])
def keyed(context) -> pd.DataFrame:
    """One row per key a day (but not on the 6th)."""
    return rows_of(partition_dates(context), KEYS_BY_DAY)


@lake_asset("gold", group=GROUP, ins={"upstream": same_day(keyed)})
def keyed_count(context, warehouse: Warehouse, upstream: TableRef) -> pd.DataFrame:
    """Rows of the keyed table per day: built on top of its unique key."""
    with warehouse.connect() as con:
        total = con.execute(f"SELECT count(*) FROM {upstream.rows}").fetchall()[0][0]
    return pd.DataFrame({"date": partition_dates(context), "rows": total})


ONE_ROW_BY_DAY = {
    "2024-01-05": [{"n": 1}],
    "2024-01-06": [{"n": 1}, {"n": 2}],  # a per-day table with two rows
}


@lake_asset("gold", group=GROUP, grain=[])
def one_row_a_day(context) -> pd.DataFrame:
    """One row a day (but two on the 6th)."""
    return rows_of(partition_dates(context), ONE_ROW_BY_DAY)


@lake_asset("silver", group=GROUP, grain=["key"])
def never_written(context) -> None:
    """Writes nothing: its table is never created."""


WHOLE_ROWS = {"key": ["a", "a", "b"], "n": [1, 2, 1]}  # `key` repeats, (`key`, `n`) does not


@lake_asset("silver", group=GROUP, partitioned=False, grain=["key"])
def whole_by_key(context) -> pd.DataFrame:
    """All history, keyed by `key`, which repeats."""
    return pd.DataFrame(WHOLE_ROWS)


@lake_asset("silver", group=GROUP, partitioned=False, grain=["key", "n"])
def whole_by_key_and_n(context) -> pd.DataFrame:
    """All history, keyed by (`key`, `n`), which does not repeat."""
    return pd.DataFrame(WHOLE_ROWS)


@lake_asset("silver", group=GROUP, partitioned=False, grain=[])
def whole_without_key(context) -> pd.DataFrame:
    """All history, no key columns."""
    return pd.DataFrame({"n": [1, 2]})


def test_a_duplicate_key_on_a_day_fails_with_error(lake):
    result = lake.materialize([keyed], day="2024-01-06", raise_on_error=False)
    check = check_results(result)[("silver/keyed", UNIQUE_KEY)]
    assert not check.passed and check.severity == ERROR
    assert check.metadata["duplicate_keys"].value == 1
    assert check.metadata["rows_with_duplicate_keys"].value == 2
    assert not result.success  # blocking ERROR: the run fails


def test_the_same_key_on_different_days_passes(lake):
    everything = [keyed]
    lake.materialize(everything, day="2024-01-06", raise_on_error=False)
    # One range run holds "a" on the 7th and the 8th; the 6th's duplicate is outside it.
    result = lake.materialize(everything, day="2024-01-07", last_day="2024-01-08")
    check = check_results(result)[("silver/keyed", UNIQUE_KEY)]
    assert check.passed and check.metadata["duplicate_keys"].value == 0
    assert lake.query("SELECT count(*) AS n FROM silver.keyed WHERE key = 'a'")["n"][0] == 4


KEYS_ACROSS_DAYS = {
    "2024-01-05": [{"key": "a"}, {"key": "b"}],
    "2024-01-07": [{"key": "c"}],
    "2024-01-08": [{"key": "a"}],  # the 5th's key again
}


@lake_asset("silver", group=GROUP, grain=["key"], grain_across_days=True)
def keyed_once(context) -> pd.DataFrame:
    """A key once over all days (but the 8th repeats the 5th's)."""
    return rows_of(partition_dates(context), KEYS_ACROSS_DAYS)


def test_a_key_unique_across_days_fails_when_another_day_holds_it(lake):
    check_of = lambda result: check_results(result)[("silver/keyed_once", UNIQUE_KEY)]  # noqa: E731
    assert check_of(lake.materialize([keyed_once], day="2024-01-05")).passed
    assert check_of(lake.materialize([keyed_once], day="2024-01-07")).passed

    failing = check_of(lake.materialize([keyed_once], day="2024-01-08", raise_on_error=False))

    assert not failing.passed and failing.severity == ERROR
    assert failing.metadata["duplicate_keys"].value == 1
    assert failing.metadata["rows_with_duplicate_keys"].value == 2
    assert "(key) repeat" in failing.description


def test_a_duplicate_in_a_whole_history_table_fails(lake):
    result = lake.materialize([whole_by_key], raise_on_error=False)
    check = check_results(result)[("silver/whole_by_key", UNIQUE_KEY)]
    assert not check.passed and check.severity == ERROR
    assert check.metadata["duplicate_keys"].value == 1


def test_a_unique_key_in_a_whole_history_table_passes(lake):
    result = lake.materialize([whole_by_key_and_n])
    assert check_results(result)[("silver/whole_by_key_and_n", UNIQUE_KEY)].passed


def test_a_per_day_table_without_key_columns_holds_one_row_a_day(lake):
    everything = [one_row_a_day]
    passing = lake.materialize(everything, day="2024-01-05")
    assert check_results(passing)[("gold/one_row_a_day", UNIQUE_KEY)].passed
    failing = lake.materialize(everything, day="2024-01-06", raise_on_error=False)
    check = check_results(failing)[("gold/one_row_a_day", UNIQUE_KEY)]
    assert not check.passed and check.severity == ERROR
    assert check.metadata["duplicate_keys"].value == 1


def test_a_missing_table_fails_the_unique_key(lake):
    result = lake.materialize(
        [never_written],
        day="2024-01-05",
        raise_on_error=False,
    )
    check = check_results(result)[("silver/never_written", UNIQUE_KEY)]
    assert not check.passed and check.severity == ERROR
    assert "does not exist" in check.description


@lake_asset("silver", group=GROUP, partitioned=False, grain=[])
def whole_one_row(context) -> pd.DataFrame:
    """All history in one row, as a whole-history table without key columns must be."""
    return pd.DataFrame({"n": [1]})


def test_a_whole_history_table_without_key_columns_holds_one_row(lake):
    result = lake.materialize(
        [whole_without_key],
        raise_on_error=False,
    )
    check = check_results(result)[("silver/whole_without_key", UNIQUE_KEY)]
    assert not check.passed and check.severity == ERROR
    one_row = lake.materialize([whole_one_row])
    assert check_results(one_row)[("silver/whole_one_row", UNIQUE_KEY)].passed


# --------------------------------------------------------------------------- reconciliation

bronze_records = bronze_asset("crm", "records", "Test records.")
RECORD_SPEC = RecordSpec(fields=(Field("Id", "record_id", "int"), Field("Label", "label", "str")))


class Record(Lineage):
    record_id: Series[int] = pa.Field(description="`Id`.")
    label: Series[str] = pa.Field(description="`Label`.")


def _silver(context, warehouse: Warehouse, lake: Lake, bronze: TableRef, where: str):
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=RECORD_SPEC,
        model=Record,
        select_sql=f"SELECT * FROM {TYPED_RECORDS} WHERE reject_reason IS NULL AND {where}",
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=Record,
    reconciles_with=bronze_records,
    ins={"bronze": same_day(bronze_records)},
)
def records(context, warehouse: Warehouse, lake: Lake, bronze: TableRef):
    """Every good record; bad ones quarantined."""
    return _silver(context, warehouse, lake, bronze, "TRUE")


@lake_asset(
    "silver",
    group=GROUP,
    model=Record,
    reconciles_with=bronze_records,
    ins={"bronze": same_day(bronze_records)},
)
def records_dropping(context, warehouse: Warehouse, lake: Lake, bronze: TableRef):
    """Drops the record labelled "skip" without quarantining it: a silent loss."""
    return _silver(context, warehouse, lake, bronze, "label <> 'skip'")


@lake_asset(
    "silver",
    group=GROUP,
    model=Record,
    reconciles_with=bronze_records,
    ins={"bronze": same_day(bronze_records)},
)
def records_doubled(context, warehouse: Warehouse, lake: Lake, bronze: TableRef):
    """Every good record twice: more rows than bronze delivered."""
    output = _silver(context, warehouse, lake, bronze, "TRUE")
    return Output(pd.concat([output.value, output.value], ignore_index=True))


def _land_records(lake, day: str, *extra: Any) -> None:
    lake.land_jsonl("crm", "records", day, [{"Id": 1, "Label": "keep"}, *extra])


def test_a_silently_dropped_record_breaks_reconciliation(lake):
    _land_records(lake, "2024-01-05", {"Id": 2, "Label": "skip"})
    assets = [bronze_records, records_dropping]
    result = lake.materialize(assets, day="2024-01-05", raise_on_error=False)
    check = check_results(result)[("silver/records_dropping", RECONCILES_WITH_BRONZE)]
    assert not check.passed and check.severity == ERROR
    assert check.metadata["by_day"].value == {
        "2024-01-05": {"bronze": 2, "silver": 1, "quarantine": 0, "unaccounted": 1}
    }


def test_a_record_counted_twice_breaks_reconciliation(lake):
    _land_records(lake, "2024-01-05")
    result = lake.materialize(
        [bronze_records, records_doubled], day="2024-01-05", raise_on_error=False
    )
    evaluation = check_results(result)[("silver/records_doubled", RECONCILES_WITH_BRONZE)]
    assert not evaluation.passed
    assert evaluation.metadata["by_day"].value["2024-01-05"]["unaccounted"] == -1


def test_silver_holding_every_record_reconciles(lake):
    _land_records(lake, "2024-01-05", {"Id": 2, "Label": "skip"})
    assets = [bronze_records, records]
    result = lake.materialize(assets, day="2024-01-05")
    check = check_results(result)[("silver/records", RECONCILES_WITH_BRONZE)]
    assert check.passed
    assert check.metadata["by_day"].value["2024-01-05"]["silver"] == 2


def test_a_quarantined_record_is_accounted_for(lake):
    _land_records(lake, "2024-01-05", {"Id": "two", "Label": "bad id"}, "not json")
    _land_records(lake, "2024-01-06")
    assets = [bronze_records, records]
    result = lake.materialize(assets, day="2024-01-05", last_day="2024-01-06")
    # A range run judges each day as a run of it alone would, recorded against its day.
    by_day = check_results_by_day(result)[("silver/records", RECONCILES_WITH_BRONZE)]
    assert sorted(by_day) == ["2024-01-05", "2024-01-06"]
    assert all(check.passed for check in by_day.values())
    assert by_day["2024-01-05"].metadata["by_day"].value == {
        "2024-01-05": {"bronze": 3, "silver": 1, "quarantine": 2, "unaccounted": 0},
    }
    assert by_day["2024-01-06"].metadata["by_day"].value == {
        "2024-01-06": {"bronze": 1, "silver": 1, "quarantine": 0, "unaccounted": 0},
    }


def test_a_range_run_records_each_days_check_as_evaluated(lake):
    """Seen in an audit of the UI: after a range run every day's check read "Skipped":
    Dagster planned an evaluation per day and got one result of no day."""
    from dagster import AssetCheckKey

    _land_records(lake, "2024-01-05")
    _land_records(lake, "2024-01-06")
    lake.materialize([bronze_records, records], day="2024-01-05", last_day="2024-01-06")
    history = lake.instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(records.key, RECONCILES_WITH_BRONZE), limit=10
    )
    assert sorted(((record.partition, record.status.value) for record in history), key=str) == [
        ("2024-01-05", "SUCCEEDED"),
        ("2024-01-06", "SUCCEEDED"),
    ]


# --------------------------------------------------------------------------- non-empty


def test_a_day_without_landed_files_warns(lake):
    _land_records(lake, "2024-01-05")
    assert [spec.name for spec in bronze_records.check_specs] == [
        NON_EMPTY,
        VOLUME_ANOMALY,
        COLUMN_SCHEMA_CHANGE,
    ]
    result = lake.materialize([bronze_records], day="2024-01-05", last_day="2024-01-06")
    by_day = check_results_by_day(result)[("bronze/crm_records", NON_EMPTY)]
    assert by_day["2024-01-05"].passed
    check = by_day["2024-01-06"]
    assert not check.passed and check.severity == WARN
    assert check.metadata["rows_by_day"].value == {"2024-01-06": 0}
    assert check.metadata["empty_days"].value == 1
    assert result.success  # a WARN fails nothing


def test_a_day_with_a_landed_file_is_not_empty(lake):
    _land_records(lake, "2024-01-05")
    result = lake.materialize([bronze_records], day="2024-01-05")
    assert check_results(result)[("bronze/crm_records", NON_EMPTY)].passed


# --------------------------------------------------------------------------- row count


@lake_asset("gold", group=GROUP, partitioned=False, row_count=3)
def three_rows(context) -> pd.DataFrame:
    """Declares three rows and has them."""
    return pd.DataFrame({"n": [1, 2, 3]})


@lake_asset("gold", group=GROUP, partitioned=False, row_count=2)
def three_rows_declared_two(context) -> pd.DataFrame:
    """Declares two rows, has three."""
    return pd.DataFrame({"n": [1, 2, 3]})


@lake_asset("gold", group=GROUP, partitioned=False, row_count=3)
def two_rows(context) -> pd.DataFrame:
    """Declares three rows, has two."""
    return pd.DataFrame({"n": [1, 2]})


def test_a_missing_row_fails_the_row_count(lake):
    result = lake.materialize([two_rows], raise_on_error=False)
    check = check_results(result)[("gold/two_rows", ROW_COUNT_CHECK)]
    assert not check.passed and check.severity == ERROR
    assert (check.metadata["rows"].value, check.metadata["expected"].value) == (2, 3)


def test_the_declared_row_count_passes(lake):
    result = lake.materialize([three_rows])
    assert check_results(result)[("gold/three_rows", ROW_COUNT_CHECK)].passed


def test_an_extra_row_fails_the_row_count(lake):
    result = lake.materialize([three_rows_declared_two], raise_on_error=False)
    assert not check_results(result)[("gold/three_rows_declared_two", ROW_COUNT_CHECK)].passed


# --------------------------------------------------------------------------- ratio band

SHARE = "test_share_in_band"
SHARE_BAND = Band(
    name=SHARE,
    ratio_sql="SELECT date, hits / nullif(total, 0) AS ratio FROM {table} WHERE {days}",
    low=0.2,
    high=0.8,
    description="Hits ÷ total of a day.",
)
HITS_BY_DAY = {
    "2024-01-05": [{"hits": 5.0, "total": 10.0}],  # 0.5: inside
    "2024-01-06": [{"hits": 9.0, "total": 10.0}],  # 0.9: above
    "2024-01-07": [{"hits": 0.0, "total": 0.0}],  # nothing to divide: null, skipped
    "2024-01-08": [{"hits": 8.0, "total": 10.0}],  # 0.8: on the bound, inside
    "2024-01-09": [{"hits": 1.0, "total": 10.0}],  # 0.1: below
}


@lake_asset("gold", group=GROUP, bands=[SHARE_BAND])
def shares(context) -> pd.DataFrame:
    """Hits and total a day."""
    return rows_of(partition_dates(context), HITS_BY_DAY)


@lake_asset("silver", group=GROUP, partitioned=False, bands=[SHARE_BAND])
def shares_of_all_days(context) -> pd.DataFrame:
    """Hits and total of every day, as one whole-history table."""
    days = ["2024-01-05", "2024-01-06", "2024-01-07"]
    return pd.DataFrame([{**row, "date": pd.Timestamp(day).date()} for day in days
                         for row in HITS_BY_DAY[day]])  # fmt: skip


def _band(result):
    return check_results(result)[("gold/shares", SHARE)]


def test_a_band_on_a_whole_history_table_reads_every_day_it_holds(lake):
    """Found by adding a domain: the band of a whole-history table read no day, and passed
    whatever its rows held."""
    result = lake.materialize([shares_of_all_days])
    check = check_results(result)[("silver/shares_of_all_days", SHARE)]
    assert not check.passed and check.description == "outside [0.2, 0.8] on 2024-01-06"
    assert check.metadata["ratio_by_day"].value == {
        "2024-01-05": 0.5, "2024-01-06": 0.9, "2024-01-07": None,
    }  # fmt: skip


@pytest.mark.parametrize("day", ["2024-01-06", "2024-01-09"])
def test_a_ratio_outside_the_band_warns(lake, day):
    result = lake.materialize([shares], day=day)
    check = _band(result)
    assert not check.passed and check.severity == WARN
    assert day in check.description
    assert result.success


def test_a_ratio_inside_the_band_or_null_passes(lake):
    result = lake.materialize(
        [shares],
        day="2024-01-07",
        last_day="2024-01-08",
    )
    by_day = check_results_by_day(result)[("gold/shares", SHARE)]
    assert all(check.passed for check in by_day.values())
    assert {day: check.metadata["ratio_by_day"].value for day, check in by_day.items()} == {
        "2024-01-07": {"2024-01-07": None},
        "2024-01-08": {"2024-01-08": 0.8},
    }


def test_run_config_sets_the_band_and_its_severity(lake):
    # The asset's step evaluates the band: its config sits under the check's name.
    config = {SHARE: {"low": 0.0, "high": 0.4, "severity": "ERROR"}}
    result = materialize(
        [shares],
        partition_key="2024-01-05",  # 0.5: inside the declared band, outside the configured one
        resources=lake.resources,
        run_config={**QUIET, "ops": {shares.op.name: {"config": config}}},
        raise_on_error=False,
    )
    evaluation = _band(result)
    assert not evaluation.passed and evaluation.severity == ERROR
    assert (evaluation.metadata["low"].value, evaluation.metadata["high"].value) == (0.0, 0.4)


@lake_asset("gold", group=GROUP, ins={"shares": same_day(shares)})
def shares_seen(warehouse: Warehouse, shares: TableRef) -> pd.DataFrame:
    """Downstream of `shares`: its rows of the day."""
    with warehouse.connect() as con:
        return con.execute(f"SELECT date, hits FROM {shares.rows}").df()


def test_a_band_raised_to_error_stops_what_is_downstream_and_at_warn_it_does_not(lake):
    warned = lake.materialize([shares, shares_seen], day="2024-01-06")  # 0.9: above
    assert not _band(warned).passed and _band(warned).severity == WARN
    assert materialized(warned) == {"gold/shares", "gold/shares_seen"}

    config = {SHARE: {"low": 0.0, "high": 0.4, "severity": "ERROR"}}
    raised = materialize(
        [shares, shares_seen],
        partition_key="2024-01-05",
        resources=lake.resources,
        instance=lake.instance,
        run_config={**QUIET, "ops": {shares.op.name: {"config": config}}},
        raise_on_error=False,
    )
    assert not _band(raised).passed and _band(raised).severity == ERROR
    assert materialized(raised) == {"gold/shares"}  # written, and nothing builds on it
    assert not raised.success


# --------------------------------------------------------------------------- column schema change

COLUMNS_BY_DAY = {
    "2024-01-05": [{"key": "a"}],
    "2024-01-06": [{"key": "b"}],
    "2024-01-07": [{"key": "c", "extra": 1}],  # a column added
    "2024-01-08": [{"key": "d", "extra": 2.5}],  # its type changed
    "2024-01-09": [{"key": "e"}],  # the column removed
}


# A declared column schema makes it a table, as a Pandera model does.
@lake_asset("silver", group=GROUP, schema=TableSchema(columns=[TableColumn("key", "string")]))
def evolving(context) -> pd.DataFrame:
    """Gains a column on the 7th; changes its type on the 8th; loses it on the 9th."""
    return rows_of(partition_dates(context), COLUMNS_BY_DAY)


def _schema_change_runs(lake, days: list[str]):
    """One instance for all runs: the check compares the last two materializations."""
    with in_memory_instance() as instance:
        results = [
            materialize(
                [evolving],
                partition_key=day,
                resources=lake.resources,
                run_config=QUIET,
                instance=instance,
                raise_on_error=False,
            )
            for day in days
        ]
    return [
        check_results(result).get(("silver/evolving", "column_schema_change")) for result in results
    ]


def test_an_added_column_warns_and_an_unchanged_schema_passes(lake):
    first, unchanged, added = _schema_change_runs(lake, ["2024-01-05", "2024-01-06", "2024-01-07"])
    assert first.passed
    assert first.description == "no materialization by an earlier run to compare with"
    assert unchanged.passed
    assert not added.passed and added.severity == WARN
    assert added.description == "added columns: extra"


@pytest.mark.parametrize("page", [1, history_checks.MATERIALIZATIONS_PAGE])
def test_a_range_run_compares_with_the_run_before_it_not_with_its_own_days(lake, monkeypatch, page):
    """The range writes two days with the same columns; before it the table had none of
    `extra`. Comparing the last two materializations (two days of the range) would pass.
    With pages of one materialization, the earlier run is found on the third page."""
    monkeypatch.setattr(history_checks, "MATERIALIZATIONS_PAGE", page)
    lake.materialize([evolving], day="2024-01-05")
    ranged = lake.materialize([evolving], day="2024-01-06", last_day="2024-01-07")
    changed = check_results(ranged)[("silver/evolving", COLUMN_SCHEMA_CHANGE)]
    assert not changed.passed and changed.severity == WARN
    assert changed.description == "added columns: extra"
    again = lake.materialize([evolving], day="2024-01-06", last_day="2024-01-07")
    unchanged = check_results(again)[("silver/evolving", COLUMN_SCHEMA_CHANGE)]
    assert unchanged.passed
    assert unchanged.metadata["compared_with_run"].value == ranged.run_id


def test_a_day_without_a_column_keeps_the_tables_column_and_passes(lake):
    """The warehouse table keeps `extra` (null on the 9th): its columns did not change."""
    _, without = _schema_change_runs(lake, ["2024-01-07", "2024-01-09"])
    assert without.passed


def test_the_changes_are_told_column_by_column():
    before = TableSchema(columns=[TableColumn("key", "string"), TableColumn("n", "int64"),
                                  TableColumn("gone", "string")])  # fmt: skip
    after = TableSchema(columns=[TableColumn("key", "string"), TableColumn("n", "double"),
                                 TableColumn("new", "bool")])  # fmt: skip
    assert _column_changes(before, after) == [
        "added columns: new",
        "removed columns: gone",
        "column type changes: n int64 -> double",
    ]
    assert _column_changes(before, before) == []


def test_the_column_schema_check_runs_in_the_tables_own_step(lake):
    (result,) = [
        materialize([evolving], partition_key="2024-01-05", resources=lake.resources,
                    run_config=QUIET, instance=lake.instance)
    ]  # fmt: skip
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "column_schema_change"
    steps = {event.step_key for event in result.all_events if event.step_key}
    assert steps == {evolving.op.name}


def test_a_widened_column_type_keeps_its_values_and_is_flagged(lake):
    _, changed = _schema_change_runs(lake, ["2024-01-07", "2024-01-08"])
    assert not changed.passed and changed.severity == WARN
    assert changed.description.startswith("column type changes: extra ")
    stored = lake.query("SELECT date, extra FROM silver.evolving ORDER BY date")
    assert stored["extra"].tolist() == [1.0, 2.5]  # 2.5 was stored as 3 before
    assert str(stored["extra"].dtype) == "float64"


# --------------------------------------------------------------------------- what a result checks


@lake_asset("gold", group=GROUP, grain=[], bands=[SHARE_BAND])
def shares_once_a_day(context) -> pd.DataFrame:
    """Hits and total, one row a day: two checks."""
    return rows_of(partition_dates(context), HITS_BY_DAY)


def test_each_check_targets_its_steps_materialization_looked_up_once(lake, monkeypatch):
    """Every result names the materialization it checks (the UI shows a check against it);
    a step's results share one lookup of it, and the next run's step looks up its own."""
    looked_up: list[AssetCheckKey] = []
    dagsters = AssetCheckResult._get_target_materialization_data

    def counted(self, step_context, check_key):
        looked_up.append(check_key)
        return dagsters(self, step_context, check_key)

    monkeypatch.setattr(AssetCheckResult, "_get_target_materialization_data", counted)
    for _ in range(2):
        looked_up.clear()
        result = lake.materialize([keyed, shares_once_a_day], day="2024-01-05")
        evaluations = result.get_asset_check_evaluations()
        assert {e.asset_key for e in evaluations} == {keyed.key, shares_once_a_day.key}
        assert len(evaluations) == 3  # two on a table
        for evaluation in evaluations:
            (latest,) = lake.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=evaluation.asset_key, asset_partitions=["2024-01-05"]),
                limit=1,
            ).records
            target = evaluation.target_materialization_data
            assert (target.storage_id, target.run_id) == (latest.storage_id, result.run_id)
        assert sorted(key.asset_key.to_user_string() for key in looked_up) == [
            "gold/shares_once_a_day",
            "silver/keyed",
        ]


def test_a_check_result_of_another_check_or_asset_is_refused():
    result = AssetCheckResult(passed=True, check_name="unique_key")
    named = StepCheckResult.of(result, keyed.key, "unique_key")
    assert (named.asset_key, named.check_name, named.passed) == (keyed.key, "unique_key", True)
    assert StepCheckResult.of(AssetCheckResult(passed=False), keyed.key, "row_count").check_name
    with pytest.raises(
        ValueError, match="silver/keyed:row_count returned a result for silver/keyed:unique_key"
    ):
        StepCheckResult.of(result, keyed.key, "row_count")
    elsewhere = AssetCheckResult(passed=True, asset_key=shares.key)
    with pytest.raises(ValueError, match="returned a result for gold/shares:unique_key"):
        StepCheckResult.of(elsewhere, keyed.key, "unique_key")


# --------------------------------------------------------------------------- run apart


def test_the_table_runs_without_its_checks_and_a_check_runs_alone_on_the_stored_table(lake):
    unique = AssetCheckKey(keyed.key, UNIQUE_KEY)
    table_only = materialize(
        [keyed], partition_key="2024-01-05", selection=AssetSelection.assets(keyed).without_checks(),
        resources=lake.resources, run_config=QUIET,
    )  # fmt: skip
    assert materialized(table_only) == {"silver/keyed"}
    assert check_results(table_only) == {}
    # the stored day gains a duplicate behind the pipeline's back
    with lake.resources["warehouse"].connect() as con:
        con.execute("INSERT INTO silver.keyed SELECT * FROM silver.keyed WHERE key = 'a'")
    # as the UI launches it: a job of the check alone, for the day
    job = define_asset_job(
        "check_alone", selection=AssetSelection.checks(unique), partitions_def=daily_partitions
    )
    definitions = Definitions(assets=[keyed], jobs=[job], resources=lake.resources)
    check_only = definitions.get_job_def("check_alone").execute_in_process(
        tags={"dagster/partition": "2024-01-05"}, instance=lake.instance, run_config=QUIET,
        raise_on_error=False,
    )  # fmt: skip
    assert materialized(check_only) == set()  # the table was not rebuilt
    assert set(check_results(check_only)) == {("silver/keyed", UNIQUE_KEY)}
    assert not check_results(check_only)[("silver/keyed", UNIQUE_KEY)].passed


# --------------------------------------------------------------------------- blocking


def test_a_failed_blocking_error_check_stops_what_is_downstream(lake):
    assets = [keyed, keyed_count]
    result = lake.materialize(assets, day="2024-01-06", raise_on_error=False)
    assert not check_results(result)[("silver/keyed", UNIQUE_KEY)].passed
    assert materialized(result) == {"silver/keyed"}
    assert not result.success
    # The same graph on a day whose key is unique builds through.
    passing = lake.materialize(assets, day="2024-01-05")
    assert materialized(passing) == {"silver/keyed", "gold/keyed_count"}


def test_a_failed_warn_check_blocks_nothing(lake):
    assets = [bronze_records, records]
    result = lake.materialize(assets, day="2024-01-06")
    assert not check_results(result)[("bronze/crm_records", NON_EMPTY)].passed
    assert materialized(result) == {"bronze/crm_records", "silver/records"}
    assert result.success


# --------------------------------------------------------------------------- reject ratio


def test_a_day_quarantining_more_than_its_share_warns(lake):
    _land_records(lake, "2024-01-05", {"Id": "two", "Label": "bad id"})
    _land_records(lake, "2024-01-06")
    assets = [bronze_records, records]
    result = lake.materialize(assets, day="2024-01-05", last_day="2024-01-06")
    assert result.success  # a judgement, not a broken invariant
    by_day = check_results_by_day(result)[("silver/records", REJECT_RATIO)]
    check = by_day["2024-01-05"]
    assert not check.passed and check.severity == WARN
    assert check.metadata["reject_ratio_by_day"].value == {"2024-01-05": 0.5}
    assert "2024-01-05: 50.00% quarantined" in check.description
    assert by_day["2024-01-06"].passed  # the other day of the range, judged on its own


def test_the_default_share_is_a_thousandth_of_the_landed_records(lake):
    """1 bad record in 1,000 is 0.1%, the default `high`: within; 2 in 1,000 are not."""
    for day, bad in (("2024-01-05", 1), ("2024-01-06", 2)):
        good = [{"Id": n, "Label": "x"} for n in range(1000 - bad)]
        lake.land_jsonl("crm", "records", day, [*good, *[{"Id": "bad", "Label": "x"}] * bad])
    assets = [bronze_records, records]
    result = lake.materialize(assets, day="2024-01-05", last_day="2024-01-06")
    by_day = check_results_by_day(result)[("silver/records", REJECT_RATIO)]
    assert by_day["2024-01-05"].passed
    assert not by_day["2024-01-06"].passed and by_day["2024-01-06"].severity == WARN


def test_a_day_without_rejects_keeps_the_reject_ratio_green(lake):
    _land_records(lake, "2024-01-05")
    assets = [bronze_records, records]
    result = lake.materialize(assets, day="2024-01-05")
    assert check_results(result)[("silver/records", REJECT_RATIO)].passed


# --------------------------------------------------------------------------- volume anomaly


def _land_volume(lake, day: str, count: int) -> None:
    lake.land_jsonl("crm", "records", day, [{"Id": i, "Label": "x"} for i in range(count)])


def _volume(lake, day: str):
    result = lake.materialize([bronze_records], day=day)
    return check_results(result)[("bronze/crm_records", VOLUME_ANOMALY)]


# Mondays: 2024-01-01, 08, 15, 22, 29 (the volume check compares a day with its weekday).
MONDAYS = ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]


def _land_mondays(lake, counts: list[int]) -> None:
    for day, count in zip(MONDAYS, counts, strict=False):
        _land_volume(lake, day, count)
        lake.materialize([bronze_records], day=day)


def test_a_day_far_below_its_weekdays_median_warns(lake):
    _land_mondays(lake, [200, 220, 180])
    _land_volume(lake, "2024-01-28", 5)  # a quiet Sunday is judged against Sundays only
    _land_volume(lake, "2024-01-29", 60)

    check = _volume(lake, "2024-01-29")

    assert not check.passed and check.severity == WARN
    assert check.metadata["rows_and_median_by_day"].value == {
        "2024-01-29": {"rows": 60, "median": 200.0}
    }
    sunday = _volume(lake, "2024-01-28")
    assert sunday.passed  # no Sunday history: nothing to judge


def test_a_day_far_above_its_weekdays_median_warns(lake):
    """A re-delivery landed twice, or a day with another day's files in it: too many rows."""
    _land_mondays(lake, [200, 220, 180])
    _land_volume(lake, "2024-01-29", 450)

    check = _volume(lake, "2024-01-29")

    assert not check.passed and check.severity == WARN
    assert check.metadata["rows_and_median_by_day"].value == {
        "2024-01-29": {"rows": 450, "median": 200.0}
    }


def test_a_day_near_the_median_passes_and_thin_history_is_quiet(lake):
    _land_mondays(lake, [200, 220, 180])
    _land_volume(lake, "2024-01-29", 250)
    assert _volume(lake, "2024-01-29").passed
    # two Mondays of history are too few to judge, whatever the day holds
    _land_volume(lake, "2024-01-15", 5000)
    quiet = _volume(lake, "2024-01-15")
    assert quiet.passed
    assert quiet.metadata["rows_and_median_by_day"].value["2024-01-15"]["median"] is None


def test_small_volumes_are_not_judged(lake):
    _land_mondays(lake, [20, 22, 18])
    _land_volume(lake, "2024-01-29", 2)  # 10% of a median of 20: chance, not a signal
    assert _volume(lake, "2024-01-29").passed


def test_a_median_of_exactly_the_smallest_judged_volume_is_judged(lake):
    """Quiet only while the weekday's median is under `min_rows` (100): at 100, a day of 10
    rows is a tenth of it."""
    _land_mondays(lake, [100, 100, 100])
    _land_volume(lake, "2024-01-29", 10)
    check = _volume(lake, "2024-01-29")
    assert not check.passed and check.severity == WARN


# --------------------------------------------------------------------------- in the step


def test_checks_run_inside_their_assets_steps(lake):
    _land_records(lake, "2024-01-05")
    result = lake.materialize([bronze_records, records], day="2024-01-05")
    steps = {event.step_key for event in result.all_events if event.is_step_start}
    assert steps == {"bronze__crm_records", "silver__records"}
    assert {(key, name) for key, name in check_results(result)} == {
        ("bronze/crm_records", NON_EMPTY),
        ("bronze/crm_records", VOLUME_ANOMALY),
        ("silver/records", RECONCILES_WITH_BRONZE),
        ("silver/records", REJECT_RATIO),
        ("bronze/crm_records", COLUMN_SCHEMA_CHANGE),
        ("silver/records", COLUMN_SCHEMA_CHANGE),
    }


def test_an_asset_with_its_own_config_cannot_also_take_band_config():
    from dagster import Config

    class Threshold(Config):
        level: float = 0.5

    with pytest.raises(TypeError, match="own `config` parameter"):

        @lake_asset("gold", group=GROUP, bands=[SHARE_BAND])
        def configured(context, config: Threshold) -> pd.DataFrame:
            """Has config of its own."""
            return pd.DataFrame()
