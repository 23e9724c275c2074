"""The one Definitions: it loads, and every asset follows the lakehouse conventions."""

from __future__ import annotations

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    evaluate_automation_conditions,
    materialize,
)

from cx_assets import definitions
from cx_assets.crm import assets as crm_assets
from cx_assets.lakehouse.checks import NON_EMPTY, RECONCILES_WITH_BRONZE
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets_tests.conftest import QUIET

GOLD_TABLES = {
    "crm": [
        "crm_noise_summary", "crm_friction_heuristics", "crm_cx_volumetrics", "crm_temporal_heat",
        "crm_contact_linkage", "crm_sales_velocity", "crm_churn_risk", "crm_segmentation_matrix",
    ],
    "calls": ["calls_performance", "calls_agent_daily", "calls_kpis_daily"],
    "digital": [
        "leakage_daily_summary", "leakage_segment_drilldown", "leakage_journey_timeline",
        "leakage_root_cause", "leakage_savings_model", "leakage_action_recommendations",
    ],
}  # fmt: skip
WHOLE_HISTORY_GOLD = {
    "crm_cx_volumetrics", "crm_temporal_heat", "crm_sales_velocity", "crm_churn_risk",
    "crm_segmentation_matrix", "leakage_savings_model", "leakage_action_recommendations",
}  # fmt: skip


@pytest.fixture(scope="module")
def graph():
    return definitions.defs.resolve_asset_graph()


def test_definitions_load(graph):
    definitions.defs.validate_loadable(definitions.defs)
    assert len(graph.get_all_asset_keys()) == len(definitions.all_assets)
    # every source's assets, rollups included, are in the one Definitions
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == set(GOLD_TABLES)


def test_every_gold_table_of_the_contract_is_an_asset(graph):
    keys = graph.get_all_asset_keys()
    for group, tables in GOLD_TABLES.items():
        for table in tables:
            key = AssetKey(["gold", table])
            assert key in keys, table
            node = graph.get(key)
            assert node.group_name == group
            assert node.is_partitioned == (table not in WHOLE_HISTORY_GOLD), table


def test_every_asset_follows_the_conventions(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        layer, _table = key.path
        assert layer in {"bronze", "silver", "gold"}, key
        assert node.group_name in GOLD_TABLES, key
        assert node.description, key
        assert "duckdb" in node.kinds, key
        assert ("parquet" in node.kinds) == (layer in {"bronze", "gold"}), key
        schema = node.metadata.get("dagster/column_schema")
        assert schema is not None and schema.columns, key
        assert all(column.description for column in schema.columns), key
        if node.is_partitioned:
            assert node.partitions_def == daily_partitions, key


def test_every_landed_table_has_its_bronze_checks(graph):
    check_keys = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    bronze = [k for k in graph.get_all_asset_keys() if k.path[0] == "bronze"]
    assert len(bronze) == 4 + 1 + 3
    for key in bronze:
        assert (key.to_user_string(), NON_EMPTY) in check_keys, key
    reconciled = [name for asset, name in check_keys if name == RECONCILES_WITH_BRONZE]
    assert len(reconciled) == len(bronze)


def test_error_checks_block_and_warn_checks_do_not(graph):
    for check in definitions.defs.asset_checks:
        for spec in check.check_specs:
            if spec.name in (NON_EMPTY, "column_schema_change"):
                assert not spec.blocking, spec.key
            if spec.name in (RECONCILES_WITH_BRONZE, "unique_key", "row_count"):
                assert spec.blocking, spec.key


def test_sensors_schedule_and_jobs_run_by_default():
    sensors = {s.name: s for s in definitions.defs.sensors}
    for source in GOLD_TABLES:
        sensor = sensors[f"{source}_landing_sensor"]
        assert sensor.default_status == DefaultSensorStatus.RUNNING
        assert sensor.job_name == f"{source}_daily"
    assert sensors["rollups_automation"].default_status == DefaultSensorStatus.RUNNING
    (schedule,) = definitions.defs.schedules
    assert schedule.job_name == "daily_partitions"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    job = definitions.defs.get_job_def("daily_partitions")
    assert job.partitions_def == daily_partitions


def test_rollups_rebuild_after_an_upstream_partition_changes(lake):
    """Whole-history tables are kept fresh by declarative automation."""
    instance = DagsterInstance.ephemeral()
    lake.land_jsonl("crm", "users", "2024-01-05", [{"Id": 1, "Name": "Ana", "Email": "a@b.c"}])
    rollups = [crm_assets.crm_temporal_heat, crm_assets.silver_users, crm_assets.crm_sales_velocity]
    first = evaluate_automation_conditions(definitions.defs, instance)
    materialize(
        crm_assets.partitioned_assets,
        partition_key="2024-01-05",
        instance=instance,
        resources=lake.resources,
        run_config=QUIET,
    )
    after_update = evaluate_automation_conditions(definitions.defs, instance, cursor=first.cursor)
    for rollup in rollups:
        assert after_update.get_num_requested(rollup.key) == 1, rollup.key
    # nothing changed since: nothing more is requested
    again = evaluate_automation_conditions(definitions.defs, instance, cursor=after_update.cursor)
    for rollup in rollups:
        assert again.get_num_requested(rollup.key) == 0, rollup.key
