"""The calls domain exposes what `cx_assets.definitions` registers (loading every domain
together is tested in `cx_assets_tests/test_definitions.py`)."""

from __future__ import annotations

from dagster import AssetKey

from cx_assets.calls import assets


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
