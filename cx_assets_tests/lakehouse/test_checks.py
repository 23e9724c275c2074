"""How declared checks run (`checks`, `assets`): in their asset's own step, each result
naming the materialization it checks and, after a range run, the day it judged; a check
run apart from its table; a failed blocking ERROR check stops what is downstream of it in
the run while a failed WARN check does not; bands and their severity as the step's run
config. The checks themselves are tested in `test_table_checks` and `test_history_checks`."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pandas as pd
import pandera.pandas as pa
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetRecordsFilter,
    AssetSelection,
    Definitions,
    define_asset_job,
    materialize,
)
from pandera.typing import Series

from cx_assets.lakehouse import assets
from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.checks import (
    COLUMN_SCHEMA_CHANGE,
    NON_EMPTY,
    RECONCILES_WITH_BRONZE,
    REJECT_RATIO,
    UNIQUE_KEY,
    VOLUME_ANOMALY,
    Band,
    StepCheckResult,
)
from cx_assets.lakehouse.inputs import same_day
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.parsing import Field, RecordSpec
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.schemas import DERIVED_FROM, Lineage
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets_tests.conftest import QUIET, check_results
from cx_assets_tests.lakehouse.checked_assets import (
    ERROR,
    GROUP,
    HITS_BY_DAY,
    SHARE,
    SHARE_BAND,
    WARN,
    band_result,
    bronze_records,
    keyed,
    land_records,
    records,
    rows_of,
    shares,
)


def materialized(result) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


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
    # A result that names neither takes the step's asset and check.
    unnamed = StepCheckResult.of(AssetCheckResult(passed=False), keyed.key, "row_count")
    assert (unnamed.asset_key, unnamed.check_name, unnamed.passed) == (
        keyed.key,
        "row_count",
        False,
    )
    with pytest.raises(
        ValueError, match="silver/keyed:row_count returned a result for silver/keyed:unique_key"
    ):
        StepCheckResult.of(result, keyed.key, "row_count")
    elsewhere = AssetCheckResult(passed=True, asset_key=shares.key)
    with pytest.raises(ValueError, match="returned a result for gold/shares:unique_key"):
        StepCheckResult.of(elsewhere, keyed.key, "unique_key")


def test_a_range_run_records_each_days_check_as_evaluated(lake):
    """Seen in an audit of the UI: after a range run every day's check read "Skipped":
    Dagster planned an evaluation per day and got one result of no day."""
    from dagster import AssetCheckKey

    land_records(lake, "2024-01-05")
    land_records(lake, "2024-01-06")
    lake.materialize([bronze_records, records], day="2024-01-05", last_day="2024-01-06")
    history = lake.instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(records.key, RECONCILES_WITH_BRONZE), limit=10
    )
    assert sorted(((record.partition, record.status.value) for record in history), key=str) == [
        ("2024-01-05", "SUCCEEDED"),
        ("2024-01-06", "SUCCEEDED"),
    ]


def test_a_range_runs_check_of_each_day_targets_that_days_materialization(lake):
    """Seen on Dagster 1.13.0-1.13.4 (which pyproject admitted): the first day of a range
    run had its checks target the range's last day's materialization, which Dagster looked
    up without the day; the UI showed that day's check against another day's write."""
    # The 6th holds no row: its ERROR check fails, and still targets the 6th's write.
    result = lake.materialize(
        [keyed], day="2024-01-05", last_day="2024-01-07", raise_on_error=False
    )
    evaluations = result.get_asset_check_evaluations()
    assert sorted({e.partition for e in evaluations}) == ["2024-01-05", "2024-01-06", "2024-01-07"]
    for evaluation in evaluations:
        (written,) = lake.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=keyed.key, asset_partitions=[evaluation.partition]),
            limit=1,
        ).records
        target = evaluation.target_materialization_data
        assert (evaluation.partition, target.storage_id) == (
            evaluation.partition,
            written.storage_id,
        )


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
    job = define_asset_job("check_alone", selection=AssetSelection.checks(unique))
    definitions = Definitions(assets=[keyed], jobs=[job], resources=lake.resources)
    check_only = definitions.resolve_job_def("check_alone").execute_in_process(
        tags={"dagster/partition": "2024-01-05"}, instance=lake.instance, run_config=QUIET,
        raise_on_error=False,
    )  # fmt: skip
    assert materialized(check_only) == set()  # the table was not rebuilt
    assert set(check_results(check_only)) == {("silver/keyed", UNIQUE_KEY)}
    assert not check_results(check_only)[("silver/keyed", UNIQUE_KEY)].passed


def test_checks_run_alone_on_a_table_never_built_fail_as_error_naming_it(lake):
    """Each check's own query failed the step with DuckDB's catalog error; a band's
    configured WARN included, as there is no day to judge."""
    checks = [AssetCheckKey(shares_once_a_day.key, name) for name in (UNIQUE_KEY, SHARE)]
    job = define_asset_job("checks_alone", selection=AssetSelection.checks(*checks))
    definitions = Definitions(assets=[shares_once_a_day], jobs=[job], resources=lake.resources)
    check_only = definitions.resolve_job_def("checks_alone").execute_in_process(
        tags={"dagster/partition": "2024-01-05"}, instance=lake.instance, run_config=QUIET,
        raise_on_error=False,
    )  # fmt: skip
    results = check_results(check_only)
    table = "gold/shares_once_a_day"
    assert set(results) == {(table, UNIQUE_KEY), (table, SHARE)}
    for evaluation in results.values():
        assert not evaluation.passed and evaluation.severity == ERROR
        assert evaluation.description == (
            f"gold.shares_once_a_day does not exist: materialize {table} first"
        )
    assert materialized(check_only) == set()
    assert not check_only.success  # blocking checks
    # Failed by them, not by a check's own query run after them (found by mutation testing:
    # the checks run on regardless, their catalog error failing the step, passed).
    (failure,) = [event for event in check_only.all_events if event.is_step_failure]
    assert failure.step_failure_data.error.cls_name == "DagsterAssetCheckFailedError"


def test_checks_run_alone_on_a_day_their_table_was_never_built_for_fail_as_error_naming_it(lake):
    """The table is there, but not that day: the step was refused while loading the table's
    own input, naming the input ("reading it now would write this asset from no rows"),
    where nothing is written; each check now fails, naming the table and the day."""
    land_records(lake, "2024-01-05")
    lake.materialize([bronze_records, records], day="2024-01-05")
    check = AssetCheckKey(records.key, RECONCILES_WITH_BRONZE)
    job = define_asset_job("check_alone", selection=AssetSelection.checks(check))
    definitions = Definitions(
        assets=[bronze_records, records], jobs=[job], resources=lake.resources
    )
    check_only = definitions.resolve_job_def("check_alone").execute_in_process(
        tags={"dagster/partition": "2024-01-07"}, instance=lake.instance, run_config=QUIET,
        raise_on_error=False,
    )  # fmt: skip
    evaluation = check_results(check_only)[("silver/records", RECONCILES_WITH_BRONZE)]
    assert not evaluation.passed and evaluation.severity == ERROR
    assert evaluation.description == (
        "silver/records was never built for 2024-01-07: materialize it for that day first"
    )
    assert materialized(check_only) == set()
    # A day it was built for is judged as stored.
    built = definitions.resolve_job_def("check_alone").execute_in_process(
        tags={"dagster/partition": "2024-01-05"}, instance=lake.instance, run_config=QUIET,
    )  # fmt: skip
    assert check_results(built)[("silver/records", RECONCILES_WITH_BRONZE)].passed


def _table_there(con, schema: str, table: str) -> bool:
    return True


def _no_days(context) -> list[date]:
    return []


def _never_built(days: list[date]):
    """`days_never_built` answering `days` whatever it is asked."""

    def never_built(instance, warehouse, key, step_days) -> list[date]:
        return days

    return never_built


@pytest.mark.parametrize(
    ("missing", "said"),
    [
        (1, "2024-01-07: materialize it for that day first"),
        (2, "2024-01-07 (and 1 more day): materialize it for those days first"),
        (3, "2024-01-07 (and 2 more days): materialize it for those days first"),
    ],
)
def test_checks_run_alone_on_days_never_built_name_the_first_and_count_the_others(
    monkeypatch, missing, said
):
    """A range's days the table was never built for, worked by hand: the first is named,
    the others counted. Only the selected checks of this table fail, in name order; a
    whole-history table that exists is judged as stored (found by mutation testing: the
    count one too many, `days` for one more day, `that day` for several, another table's
    check failed too or a whole-history table's days looked up passed every test, which
    ran a day)."""
    days = [date(2024, 1, 7) + timedelta(days=n) for n in range(missing)]
    monkeypatch.setattr(assets, "table_exists", _table_there)
    monkeypatch.setattr(assets, "partition_dates", _no_days)
    monkeypatch.setattr(assets, "days_never_built", _never_built(days))
    context = SimpleNamespace(
        instance=None,
        selected_asset_check_keys={
            AssetCheckKey(records.key, UNIQUE_KEY),
            AssetCheckKey(records.key, NON_EMPTY),
            AssetCheckKey(keyed.key, UNIQUE_KEY),
        },
    )
    warehouse = SimpleNamespace(connect=contextlib.nullcontext)

    results = assets._table_never_built(context, records.key, warehouse, partitioned=True)

    assert [(result.check_name, result.passed, result.severity) for result in results] == [
        (NON_EMPTY, False, ERROR),
        (UNIQUE_KEY, False, ERROR),
    ]
    said = f"silver/records was never built for {said}"
    assert {result.description for result in results} == {said}
    assert assets._table_never_built(context, records.key, warehouse, partitioned=False) == []


# --------------------------------------------------------------------------- blocking


@lake_asset("gold", group=GROUP, ins={"upstream": same_day(keyed)})
def keyed_count(context, warehouse: Warehouse, upstream: TableRef) -> pd.DataFrame:
    """Rows of the keyed table per day: built on top of its unique key."""
    with warehouse.connect() as con:
        total = con.execute(f"SELECT count(*) FROM {upstream.rows}").fetchall()[0][0]
    return pd.DataFrame({"date": partition_dates(context), "rows": total})


def test_a_failed_blocking_error_check_stops_what_is_downstream(lake):
    assets = [keyed, keyed_count]
    result = lake.materialize(assets, day="2024-01-06", raise_on_error=False)
    assert not check_results(result)[("silver/keyed", UNIQUE_KEY)].passed
    assert materialized(result) == {"silver/keyed"}
    assert not result.success
    # The same graph on a day whose key is unique builds through.
    passing = lake.materialize(assets, day="2024-01-05")
    assert materialized(passing) == {"silver/keyed", "gold/keyed_count"}
    # A range whose later day breaks the key stops it too: that day's verdict is an
    # evaluation of the step's, as blocking as the first day's result (found by mutation
    # testing: the later days' evaluations made non-blocking, no test failed).
    ranged = lake.materialize(assets, day="2024-01-05", last_day="2024-01-06", raise_on_error=False)
    assert materialized(ranged) == {"silver/keyed"}
    assert not ranged.success


def test_a_failed_warn_check_blocks_nothing(lake):
    assets = [bronze_records, records]
    result = lake.materialize(assets, day="2024-01-06")
    assert not check_results(result)[("bronze/crm_records", NON_EMPTY)].passed
    assert materialized(result) == {"bronze/crm_records", "silver/records"}
    assert result.success


# --------------------------------------------------------------------------- run config


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
    evaluation = band_result(result)
    assert not evaluation.passed and evaluation.severity == ERROR
    assert (evaluation.metadata["low"].value, evaluation.metadata["high"].value) == (0.0, 0.4)


@lake_asset("gold", group=GROUP, ins={"shares": same_day(shares)})
def shares_seen(warehouse: Warehouse, shares: TableRef) -> pd.DataFrame:
    """Downstream of `shares`: its rows of the day."""
    with warehouse.connect() as con:
        return con.execute(f"SELECT date, hits FROM {shares.rows}").df()


def test_a_band_raised_to_error_stops_what_is_downstream_and_at_warn_it_does_not(lake):
    warned = lake.materialize([shares, shares_seen], day="2024-01-06")  # 0.9: above
    assert not band_result(warned).passed and band_result(warned).severity == WARN
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
    assert not band_result(raised).passed and band_result(raised).severity == ERROR
    assert materialized(raised) == {"gold/shares"}  # written, and nothing builds on it
    assert not raised.success


def test_an_asset_with_its_own_config_cannot_also_take_band_config():
    from dagster import Config

    class Threshold(Config):
        level: float = 0.5

    with pytest.raises(TypeError, match="own `config` parameter"):

        @lake_asset("gold", group=GROUP, bands=[SHARE_BAND])
        def configured(context, config: Threshold) -> pd.DataFrame:
            """Has config of its own."""
            return pd.DataFrame()


@pytest.mark.parametrize(
    ("ratio_sql", "names"),
    [
        # {days} replaced by TRUE (a mutation audit's D08 on the calls conversion band):
        # every one-day run of the tests still passed, while a range's days were each
        # judged by every day's ratio.
        ("SELECT date, avg(x) AS ratio FROM {table} WHERE TRUE GROUP BY date", "['table']"),
        ("SELECT date, avg(x) AS ratio FROM calls WHERE {days} GROUP BY date", "['days']"),
        ("SELECT {date}, avg(x) AS ratio FROM {table} WHERE {days}", "['date', 'days', 'table']"),
    ],
)
def test_a_band_whose_ratio_is_not_kept_to_its_table_and_days_is_refused(ratio_sql, names):
    with pytest.raises(ValueError, match=rf"band conversion: .* it names {re.escape(names)}"):
        Band(name="conversion", ratio_sql=ratio_sql, low=0.0, high=1.0, description="d")


def test_names_left_on_other_days_count_rows_and_name_the_days_in_order():
    """A domain's `names_masked_on_other_days` result, worked by hand: 2 titles on the 7th
    and 1 on the 5th, given in that order, are 3 titles of the 5th and the 7th, run again
    from the 5th to the 7th (found by mutation testing: counting the days, 2, or the days
    left in the order given, a command from the 7th to the 5th, passed every test)."""
    from cx_assets.lakehouse.checks import names_left_on_other_days

    result = names_left_on_other_days(
        {"2024-01-07": 2, "2024-01-05": 1},
        rows="title(s)", person="person", group="crm", metadata_key="titles_by_day",
    )  # fmt: skip
    assert not result.passed and result.severity == WARN
    assert result.description == (
        "3 title(s) of 2024-01-05, 2024-01-07 still hold the name of a person whose record "
        "landed later; run those days again: "
        "cx-lakehouse run --date 2024-01-05 --to 2024-01-07 --select group:crm"
    )
    assert list(result.metadata["titles_by_day"].value) == ["2024-01-05", "2024-01-07"]
    quiet = names_left_on_other_days(
        {}, rows="title(s)", person="person", group="crm", metadata_key="titles_by_day"
    )
    assert quiet.passed and quiet.severity == WARN


# --------------------------------------------------------------------------- in the step


def test_checks_run_inside_their_assets_steps(lake):
    land_records(lake, "2024-01-05")
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


# --------------------------------------------------------------------------- declarations
landed_keyed = bronze_asset(
    "crm",
    "landed_keyed",
    "Test records whose fields are declared.",
    RecordSpec(
        fields=(Field("Id", "record_id", "int"), Field("Label", "label", "str", required=False))
    ),
)


class Labelled(Lineage):
    record_id: Series[int] = pa.Field(description="`Id`.")
    label: Series[str] = pa.Field(nullable=True, description="`Label`.")
    label_length: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, metadata={DERIVED_FROM: "label"}, description="Letters of `Label`."
    )


class Mislabelled(Labelled):
    label_length: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, metadata={DERIVED_FROM: "lable"}, description="Misspelt."
    )


def test_a_columns_landed_field_is_named_for_its_nullable_columns_and_a_misspelt_one_refused():
    """Only the nullable columns a day may lose are named with the field delivered, or the
    one they are derived from; a `derived_from` naming no landed column is refused where
    it would name the column alone (found by mutation testing: the required `Id` named
    too, or the misspelling let through, passed every test)."""
    assert assets._landed_as(Labelled, landed_keyed) == {
        "label": "Label",
        "label_length": "Label",
    }
    assert assets._landed_as(Labelled, None) == {}
    with pytest.raises(TypeError, match=r"Mislabelled\.label_length: derived_from 'lable' is no"):
        assets._landed_as(Mislabelled, landed_keyed)


def test_every_declaration_is_on_the_definitions_metadata_as_declared():
    """A key kept over all days is the grain alone and says so; a row count of none is one
    (found by mutation testing: `grain_across_days` left off, or a row count of 0 taken
    for none, passed every test)."""
    declared = assets._declared_metadata(
        {"owner": "cx"}, None, partitioned=True, grain=["record_id"], grain_across_days=True,
        row_count=0, bands=(), reconciles_with=landed_keyed, keyed_hashes=True,
    )  # fmt: skip
    assert declared == {
        "owner": "cx",
        "cx/grain": ["record_id"],
        "cx/grain_across_days": True,
        "cx/row_count": 0,
        "cx/reconciles_with": "bronze/crm_landed_keyed",
        "cx/keyed_hashes": True,
    }
