"""Key gold assets attach a chart to their materialization (shown on the asset's page in the
Dagster UI): the temporal heat map, the daily conversion rate, leakage calls by journey type."""

from __future__ import annotations

import base64
import re

import pytest
from dagster import AssetKey, MarkdownMetadataValue

from cx_assets.crm.plots import temporal_heat_metadata
from cx_assets_tests.calls.landing_rows import CALL_A, CALL_B
from cx_assets_tests.conftest import Domain
from cx_assets_tests.digital.landing_rows import call, event, member

DAY, NEXT_DAY = "2024-01-05", "2024-01-06"
INLINE_SVG = "data:image/svg+xml;base64,"


def metadata_of(result, table: str) -> list[dict]:
    key = AssetKey(["gold", table])
    return [
        event.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key == key
    ]


def test_daily_conversion_rate_chart_and_number(lake):
    lake.land_jsonl("calls", "transcripts", DAY, [CALL_A, CALL_B])
    result = lake.materialize(Domain.named("calls").assets, day=DAY)
    (metadata,) = metadata_of(result, "calls_kpis_daily")
    chart = metadata["conversion_rate_chart"]
    assert isinstance(chart, MarkdownMetadataValue) and INLINE_SVG in chart.value
    assert metadata["conversion_rate"].value == pytest.approx(0.5)  # A converted, B did not
    assert metadata["dagster/row_count"].value == 1  # the IO manager's metadata is kept


def test_a_range_run_charts_every_day_but_records_no_single_rate(lake):
    lake.land_jsonl("calls", "transcripts", DAY, [CALL_A])
    result = lake.materialize(Domain.named("calls").assets, day=DAY, last_day=NEXT_DAY)
    events = metadata_of(result, "calls_kpis_daily")
    assert len(events) == 2  # one materialization a day, the same chart on both
    assert all("conversion_rate" not in metadata for metadata in events)
    (image,) = re.findall(r"base64,([A-Za-z0-9+/=]+)", events[0]["conversion_rate_chart"].value)
    assert f"Conversion rate by day, {DAY} to {NEXT_DAY}" in base64.b64decode(image).decode()


def test_leakage_calls_by_journey_type_chart(lake):
    lake.land_csv("digital", "journeys", DAY, [
        event("M1", "S1", "2024-01-05T09:00:00", "error", code="PAY_TIMEOUT"),
        event("M2", "S2", "2024-01-05T09:00:00", "abandon", journey_type="pharmacy"),
    ])  # fmt: skip
    lake.land_csv("digital", "calls", DAY, [
        call("C1", "M1", "2024-01-05T09:10:00"),
        call("C2", "M2", "2024-01-05T09:20:00", reason="pharmacy"),
    ])  # fmt: skip
    lake.land_csv("digital", "members", DAY, [member("M1"), member("M2")])
    result = lake.materialize(Domain.named("digital").partitioned, day=DAY)
    (metadata,) = metadata_of(result, "leakage_daily_summary")
    assert INLINE_SVG in metadata["leakage_calls_chart"].value
    assert metadata["leakage_calls"].value == 2


def test_temporal_heat_chart_from_the_gold_table(lake):
    from cx_assets_tests.crm.landing_rows import land_day

    land_day(lake)
    crm = Domain.named("crm")
    result = lake.materialize(crm.everything, day=DAY)
    heat = lake.gold("crm_temporal_heat")
    metadata = temporal_heat_metadata(heat)
    assert metadata["heat_map"].value.count(INLINE_SVG) == 2  # interactions, friction
    assert metadata["friction_interactions"].value == heat["friction_count"].sum() == 1
    attached = metadata_of(result, "crm_temporal_heat")
    assert INLINE_SVG in attached[0]["heat_map"].value
