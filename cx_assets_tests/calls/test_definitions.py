"""The calls domain loads as Dagster definitions, alone and next to the CRM domain."""

from __future__ import annotations

from dagster import AssetKey, Definitions

from cx_assets.calls import assets, checks
from cx_assets.crm import assets as crm_assets
from cx_assets.crm import checks as crm_checks


def test_the_calls_domain_exposes_what_definitions_registers():
    assert assets.SOURCE == "calls"
    assert assets.TABLES == ("transcripts",)
    assert assets.rollup_assets == []
    keys = {key for asset in assets.partitioned_assets for key in asset.keys}
    assert keys == {
        AssetKey(["bronze", "calls_transcripts"]),
        AssetKey(["silver", "calls_transcripts"]),
        AssetKey(["gold", "calls_performance"]),
        AssetKey(["gold", "calls_agent_daily"]),
        AssetKey(["gold", "calls_kpis_daily"]),
    }


def test_calls_assets_and_checks_load(lake):
    defs = Definitions(
        assets=[*assets.partitioned_assets, *assets.rollup_assets],
        asset_checks=checks.all_checks,
        resources=lake.resources,
    )
    graph = defs.resolve_asset_graph()
    assert len(graph.asset_check_keys) == len(checks.all_checks)
    Definitions.validate_loadable(defs)


def test_calls_load_next_to_crm(lake):
    defs = Definitions(
        assets=[
            *crm_assets.partitioned_assets,
            *crm_assets.rollup_assets,
            *assets.partitioned_assets,
            *assets.rollup_assets,
        ],
        asset_checks=[*crm_checks.all_checks, *checks.all_checks],
        resources=lake.resources,
    )
    defs.resolve_asset_graph()
    Definitions.validate_loadable(defs)
