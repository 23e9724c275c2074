"""Calls: bronze (as landed) → silver (typed, scored) → gold (contract section 4.2).
One function per table; the transcript rules are in `rules.py`, the tables' SQL in
`table_rules.py`."""

import pandas as pd
from dagster import AssetExecutionContext, Output

from cx_assets.calls import plots, schemas, table_rules
from cx_assets.calls.records import TRANSCRIPT_SPEC
from cx_assets.calls.rules import DEFAULT_RULES
from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.assets import LANDED_KEY, Band, lake_asset
from cx_assets.lakehouse.checks import timed_on_file_day
from cx_assets.lakehouse.derived import query_validated
from cx_assets.lakehouse.inputs import same_day
from cx_assets.lakehouse.io_managers import DayTables, TableRef
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.steps import TYPED_RECORDS, silver_from_bronze
from cx_assets.lakehouse.warehouse import Warehouse

GROUP = "calls"

# Check names (band checks are named by their declaration).
CONVERSION_RATE = "conversion_rate_in_band"
UPSELL_WITHOUT_AMOUNT = "upsell_without_amount_share"

bronze_transcripts = bronze_asset(
    GROUP,
    "transcripts",
    "Recorded call transcripts (`.jsonl`, or `.json` object or array).",
    TRANSCRIPT_SPEC,
)


def transcript_features(con, typed: str) -> dict[str, pd.DataFrame]:
    """Transcripts are scored in Python (`rules.call_features`), joined in by SQL."""
    return {table_rules.FEATURES_VIEW: table_rules.transcript_features(con, typed, DEFAULT_RULES)}


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverTranscript,
    grain=["call_id"],
    grain_across_days=True,
    metadata={LANDED_KEY: list(TRANSCRIPT_SPEC.landed_key)},
    reconciles_with=bronze_transcripts,
    bands=[
        Band(
            name=UPSELL_WITHOUT_AMOUNT,
            ratio_sql="SELECT date, avg(CAST(upsell_without_amount AS DOUBLE)) AS ratio "
            "FROM {table} WHERE {days} GROUP BY date",
            low=0.0,
            high=DEFAULT_RULES.max_upsell_without_amount_share,
            description="Share of a day's calls with an upsell word but no parsable dollar "
            "amount (amounts said in words, a new currency format): upsell revenue would be "
            "understated.",
        ),
        timed_on_file_day("called_at", TRANSCRIPT_SPEC),
    ],
    ins={"bronze": same_day(bronze_transcripts)},
)
def calls_transcripts(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """One row per call: ids, UTC time, and the KPI features of its transcript (conversion,
    upsell amounts, sentiment counts) by the configured rules. The transcript text stays in
    bronze; bad records and call_ids delivered before (that day or earlier) are
    quarantined."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=TRANSCRIPT_SPEC,
        model=schemas.SilverTranscript,
        select_sql=table_rules.silver_transcripts_sql(TYPED_RECORDS),
        derived_frames=transcript_features,
        by_day=True,
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.CallPerformance,
    grain=["call_id"],
    ins={"transcripts": same_day(calls_transcripts)},
)
def calls_performance(warehouse: Warehouse, transcripts: TableRef) -> pd.DataFrame:
    """Per day: every call with its conversion, upsell amount and sentiment."""
    return query_validated(
        warehouse, table_rules.performance_sql(transcripts.rows), schemas.CallPerformance
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.AgentDaily,
    grain=["agent_name"],
    ins={"performance": same_day(calls_performance)},
)
def calls_agent_daily(warehouse: Warehouse, performance: TableRef) -> pd.DataFrame:
    """Per day and agent: calls, conversions and rate, upsell revenue and per call, calls by
    sentiment."""
    return query_validated(
        warehouse, table_rules.agent_daily_sql(performance.rows), schemas.AgentDaily
    )


conversion_low, conversion_high = DEFAULT_RULES.conversion_rate_band


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.KpisDaily,
    grain=[],
    bands=[
        Band(
            name=CONVERSION_RATE,
            ratio_sql="SELECT date, conversion_rate AS ratio FROM {table} WHERE {days}",
            low=conversion_low,
            high=conversion_high,
            description="Share of a day's calls that converted.",
        )
    ],
    ins={"performance": same_day(calls_performance)},
)
def calls_kpis_daily(
    context: AssetExecutionContext, warehouse: Warehouse, performance: TableRef
) -> Output[pd.DataFrame]:
    """Per day (one row, empty days included): calls, conversion rate, upsell revenue and
    revenue per call."""
    kpis = query_validated(
        warehouse,
        table_rules.kpis_daily_sql(performance.rows, partition_dates(context)),
        schemas.KpisDaily,
    )
    return Output(kpis, metadata=plots.kpis_daily_metadata(kpis))
