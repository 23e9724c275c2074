"""Calls asset checks: the machinery's builders applied to calls tables, plus two WARN bands."""

from cx_assets.calls import assets
from cx_assets.calls.rules import DEFAULT_RULES
from cx_assets.lakehouse.checks import (
    non_empty_check,
    ratio_band_check,
    reconciliation_check,
    unique_key_check,
)

CONVERSION_RATE = "conversion_rate_in_band"
UPSELL_WITHOUT_AMOUNT = "upsell_without_amount_share"

landing_checks = [
    non_empty_check(assets.BRONZE_TRANSCRIPTS, what="records"),
    reconciliation_check(
        assets.BRONZE_TRANSCRIPTS,
        assets.TRANSCRIPTS,
        quarantine_dataset=assets.BRONZE_TRANSCRIPTS[1],
    ),
]

key_checks = [
    unique_key_check(assets.TRANSCRIPTS, ["call_id"]),
    unique_key_check(assets.PERFORMANCE, ["call_id"]),
    unique_key_check(["gold", "calls_agent_daily"], ["agent_name"]),
    unique_key_check(["gold", "calls_kpis_daily"], []),
]

conversion_low, conversion_high = DEFAULT_RULES.conversion_rate_band
band_checks = [
    ratio_band_check(
        ["gold", "calls_kpis_daily"],
        name=CONVERSION_RATE,
        ratio_sql="SELECT date, conversion_rate AS ratio FROM gold.calls_kpis_daily WHERE {days}",
        low=conversion_low,
        high=conversion_high,
        description="Share of a day's calls that converted.",
    ),
    ratio_band_check(
        assets.TRANSCRIPTS,
        name=UPSELL_WITHOUT_AMOUNT,
        ratio_sql="SELECT date, avg(CAST(upsell_without_amount AS DOUBLE)) AS ratio "
        "FROM silver.calls_transcripts WHERE {days} GROUP BY date",
        low=0.0,
        high=DEFAULT_RULES.max_upsell_without_amount_share,
        description="Share of a day's calls with an upsell word but no parsable dollar amount "
        "(amounts said in words, a new currency format): upsell revenue would be understated.",
    ),
]

all_checks = [*landing_checks, *key_checks, *band_checks]
