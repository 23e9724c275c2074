"""Calls assets: bronze (as landed) → silver (typed, scored) → gold (contract section 4.2).

The rules themselves are in `rules.py`; this module only wires tables together.
"""

from cx_assets.calls import rules, schemas
from cx_assets.lakehouse.assets import (
    bronze_asset,
    bronze_table_name,
    gold_asset,
    silver_asset,
)
from cx_assets.lakehouse.parsing import Field, RecordSpec

GROUP = "calls"
SOURCE = "calls"
TABLES = ("transcripts",)

BRONZE_TRANSCRIPTS = ["bronze", bronze_table_name(SOURCE, "transcripts")]
TRANSCRIPTS = ["silver", "calls_transcripts"]
PERFORMANCE = ["gold", "calls_performance"]

# Landing contract (contract section 2, calls): every field but `duration_seconds` is required.
TRANSCRIPT_SPEC = RecordSpec(
    fields=(
        Field("call_id", "call_id", "str"),
        Field("agent_name", "agent_name", "str"),
        Field("timestamp", "called_at", "timestamp"),
        Field("transcript_text", "transcript_text", "str"),
        Field("duration_seconds", "duration_seconds", "int", required=False),
        Field("customer_id", "customer_id", "str"),
    ),
    unique_key=("call_id",),
)

bronze_transcripts = bronze_asset(
    SOURCE, "transcripts", "Recorded call transcripts (`.jsonl`, or `.json` object or array)."
)


calls_transcripts = silver_asset(
    source=SOURCE,
    table="transcripts",
    silver_table=TRANSCRIPTS[1],
    spec=TRANSCRIPT_SPEC,
    model=schemas.SilverTranscript,
    description="One row per call: ids, UTC time, and the KPI features of its transcript "
    "(conversion, upsell amounts, sentiment counts) by the configured rules. The transcript "
    "text stays in bronze; bad records and repeated call_ids of a day are quarantined.",
    # Transcripts are scored in Python (`rules.call_features`), joined in by SQL.
    derived_frames=lambda con, typed: {
        rules.FEATURES_VIEW: rules.transcript_features(con, typed, rules.DEFAULT_RULES)
    },
    select_sql=lambda typed, inputs, days: rules.silver_transcripts_sql(typed),
)


calls_performance = gold_asset(
    PERFORMANCE[1],
    group=GROUP,
    model=schemas.CallPerformance,
    description="Per day: every call with its conversion, upsell amount and sentiment.",
    ins={"transcripts": TRANSCRIPTS},
    sql=lambda inputs, days: rules.performance_sql(inputs["transcripts"].rows),
)
calls_agent_daily = gold_asset(
    "calls_agent_daily",
    group=GROUP,
    model=schemas.AgentDaily,
    description="Per day and agent: calls, conversions and rate, upsell revenue and per call, "
    "calls by sentiment.",
    ins={"performance": PERFORMANCE},
    sql=lambda inputs, days: rules.agent_daily_sql(inputs["performance"].rows),
)
calls_kpis_daily = gold_asset(
    "calls_kpis_daily",
    group=GROUP,
    model=schemas.KpisDaily,
    description="Per day (one row, empty days included): calls, conversion rate, upsell "
    "revenue and revenue per call.",
    ins={"performance": PERFORMANCE},
    sql=lambda inputs, days: rules.kpis_daily_sql(inputs["performance"].rows, days),
)

partitioned_assets = [
    bronze_transcripts,
    calls_transcripts,
    calls_performance,
    calls_agent_daily,
    calls_kpis_daily,
]
rollup_assets: list = []
