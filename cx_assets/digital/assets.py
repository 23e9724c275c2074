"""Digital-to-call leakage assets: bronze (as landed) → silver (typed, deduplicated, members
with their category, leakage calls) → gold (the six tables of contract section 4.3).

The rules themselves are in `rules.py`; this module only wires tables together. Earlier
days are read through partition mappings, never by loading all history:

- the leakage calls of day D read journey events of D-1..D (a failure late on D-1 leads to
  a call early on D) and calls of D-7..D (repeat calls);
- leakage_daily_summary of D reads leakage calls and calls of D-13..D (week-over-week trend);
- leakage_journey_timeline of D reads journey events of D-1..D (sessions crossing midnight).

Member versions are read as of the day (the latest version delivered on or before it), like
CRM contacts: the whole versions table, filtered to days up to D.

Assets are declared with the machinery's factories (`cx_assets/lakehouse/assets.py`).
"""

from collections.abc import Mapping

import pandas as pd
from dagster import (
    AssetIn,
    MetadataValue,
    TimeWindowPartitionMapping,
)

from cx_assets.digital import rules, schemas
from cx_assets.digital.rules import DEFAULT_RULES, JOURNEY_EVENT_KEY
from cx_assets.lakehouse.assets import (
    bronze_asset,
    derived_asset,
    gold_asset,
    latest_version_asset,
    silver_asset,
)
from cx_assets.lakehouse.io_manager import TableRef
from cx_assets.lakehouse.parsing import Field, RecordSpec

GROUP = "digital"
SOURCE = "digital"
TABLES = ("journeys", "calls", "members")
RULES = DEFAULT_RULES

JOURNEYS = ["silver", "digital_journeys"]
CALLS = ["silver", "digital_calls"]
MEMBER_VERSIONS = ["silver", "digital_member_versions"]
MEMBERS = ["silver", "digital_members"]
LEAKAGE_CALLS = ["silver", "digital_leakage_calls"]

# Landing contracts (contract section 2, digital). CSV values arrive as text and are cast;
# an empty value is a missing one.
JOURNEY_SPEC = RecordSpec(
    fields=(
        Field("member_id", "member_id", "str"),
        Field("session_id", "session_id", "str"),
        Field("timestamp", "event_at", "timestamp"),
        Field("journey_type", "journey_type", "str"),
        Field("action", "action", "str"),
        Field("device_type", "device_type", "str", required=False),
        Field("error_code", "error_code", "str", required=False),
        Field("error_message", "error_message", "str", required=False),
    ),
    text_values=True,
    # Journey events have no id: a second record of the same event on a day is a duplicate.
    unique_key=JOURNEY_EVENT_KEY,
)
CALL_SPEC = RecordSpec(
    fields=(
        Field("call_id", "call_id", "str"),
        Field("member_id", "member_id", "str"),
        Field("call_timestamp", "called_at", "timestamp"),
        Field("ivr_path", "ivr_path", "str", required=False),
        Field("handle_time_seconds", "handle_time_seconds", "int", required=False),
        Field("agent_id", "agent_id", "str", required=False),
        Field("call_reason", "call_reason", "str"),
        Field("sentiment_score", "sentiment_score", "number", required=False),
        Field("resolution_status", "resolution_status", "str", required=False),
    ),
    text_values=True,
    unique_key=("call_id",),
)
MEMBER_SPEC = RecordSpec(
    fields=(
        Field("member_id", "member_id", "str"),
        Field("plan_type", "plan_type", "str"),
        Field("tenure_months", "tenure_months", "int"),
        Field("segment", "segment", "str", required=False),
        Field("language_preference", "language_preference", "str", required=False),
        Field("enrollment_date", "enrollment_date", "date", required=False),
    ),
    text_values=True,
)


def earlier_days(days: int) -> TimeWindowPartitionMapping:
    """A day's partition plus the `days` before it (days before the first partition are
    simply absent)."""
    return TimeWindowPartitionMapping(
        start_offset=-days, end_offset=0, allow_nonexistent_upstream_partitions=True
    )


# --------------------------------------------------------------------------- bronze, silver

bronze_assets = [
    bronze_asset(SOURCE, table, f"Digital {table} (member portal / contact centre CSV).")
    for table in TABLES
]

silver_journeys = silver_asset(
    source=SOURCE,
    table="journeys",
    silver_table=JOURNEYS[1],
    spec=JOURNEY_SPEC,
    model=schemas.SilverJourneyEvent,
    description="Member portal journey events, typed. A repeated event (same member, session, "
    "timestamp, journey type and action on a day) is quarantined as a duplicate.",
    select_sql=lambda typed, inputs, days: rules.silver_journeys_sql(typed),
)
silver_calls = silver_asset(
    source=SOURCE,
    table="calls",
    silver_table=CALLS[1],
    spec=CALL_SPEC,
    model=schemas.SilverCall,
    description="Contact-centre calls, typed. A repeated call_id on a day is quarantined as a "
    "duplicate (the first record wins).",
    select_sql=lambda typed, inputs, days: rules.silver_calls_sql(typed),
)
silver_member_versions = silver_asset(
    source=SOURCE,
    table="members",
    silver_table=MEMBER_VERSIONS[1],
    spec=MEMBER_SPEC,
    model=schemas.SilverMemberVersion,
    description="Every delivered version of a member, with its member_category. The latest "
    "version wins downstream.",
    select_sql=lambda typed, inputs, days: rules.silver_member_versions_sql(typed, RULES),
)
silver_members = latest_version_asset(
    versions_key=MEMBER_VERSIONS,
    table=MEMBERS[1],
    key_column="member_id",
    group=GROUP,
    model=schemas.CurrentMember,
    description="Latest version of every member (latest day, then file, then line), with "
    "member_category and the day it was delivered.",
)


def _leakage_metadata(leakage: pd.DataFrame, inputs: Mapping[str, TableRef]) -> dict:
    by_type = leakage.groupby("journey_type").size().to_dict() if len(leakage) else {}
    return {
        "leakage_calls": len(leakage),
        "leakage_calls_by_journey_type": MetadataValue.json(
            {str(key): int(value) for key, value in by_type.items()}
        ),
        "calls_read_from": str(inputs["calls"].first),
        "journeys_read_from": str(inputs["journeys"].first),
    }


silver_leakage_calls = derived_asset(
    "silver",
    LEAKAGE_CALLS[1],
    group=GROUP,
    description="Leakage calls of the day: calls whose member had an abandon/error event of "
    f"the matching journey type at most {RULES.leakage_window_minutes} minutes before "
    "(inclusive), each attributed once to the latest such event, with time_to_call_minutes, "
    "is_repeat_call and the member's category as of the day.",
    model=schemas.SilverLeakageCall,
    ins={
        "calls": AssetIn(CALLS, partition_mapping=earlier_days(RULES.call_lookback_days)),
        "journeys": AssetIn(JOURNEYS, partition_mapping=earlier_days(RULES.journey_lookback_days)),
        "member_versions": AssetIn(MEMBER_VERSIONS),
    },
    sql=lambda inputs, days: rules.leakage_calls_sql(
        inputs["calls"].rows, inputs["journeys"].rows, inputs["member_versions"].name, days, RULES
    ),
    output_metadata=_leakage_metadata,
)


# --------------------------------------------------------------------------- gold

leakage_daily_summary = gold_asset(
    "leakage_daily_summary",
    group=GROUP,
    model=schemas.LeakageDailySummary,
    description="Per day and journey type: leakage calls, their cost, the member category with "
    "most of them, and the week-over-week trend (%).",
    ins={
        "leakage": AssetIn(
            LEAKAGE_CALLS, partition_mapping=earlier_days(RULES.trend_lookback_days)
        ),
        "calls": AssetIn(CALLS, partition_mapping=earlier_days(RULES.trend_lookback_days)),
    },
    sql=lambda inputs, days: rules.daily_summary_sql(
        inputs["leakage"].rows, inputs["calls"].rows, days, RULES
    ),
)
leakage_segment_drilldown = gold_asset(
    "leakage_segment_drilldown",
    group=GROUP,
    model=schemas.LeakageSegmentDrilldown,
    description="Per day, journey type and member category: leakage calls, cost, repeat-call "
    "share (%) and mean sentiment.",
    ins={"leakage": LEAKAGE_CALLS},
    sql=lambda inputs, days: rules.segment_drilldown_sql(inputs["leakage"].rows, RULES),
)
leakage_journey_timeline = gold_asset(
    "leakage_journey_timeline",
    group=GROUP,
    model=schemas.LeakageJourneyTimeline,
    description="Per day, every member with a leakage call: their portal events and calls in "
    "time order, including the whole session each leakage call is attributed to.",
    ins={
        "leakage": LEAKAGE_CALLS,
        "journeys": AssetIn(JOURNEYS, partition_mapping=earlier_days(RULES.journey_lookback_days)),
        "calls": CALLS,
    },
    sql=lambda inputs, days: rules.journey_timeline_sql(
        inputs["leakage"].rows, inputs["journeys"].rows, inputs["calls"].rows, days
    ),
)
leakage_root_cause = gold_asset(
    "leakage_root_cause",
    group=GROUP,
    model=schemas.LeakageRootCause,
    description="Per day, journey type, error code and device: leakage calls and their share "
    "(%) of the journey type's leakage calls that day.",
    ins={"leakage": LEAKAGE_CALLS},
    sql=lambda inputs, days: rules.root_cause_sql(inputs["leakage"].rows),
)
leakage_savings_model = gold_asset(
    "leakage_savings_model",
    group=GROUP,
    model=schemas.LeakageSavingsModel,
    description="Per journey type, all history: avoidable calls a day, annualized cost and "
    "savings at the low/mid/high fix rates.",
    ins={"leakage": LEAKAGE_CALLS, "calls": CALLS},
    sql=lambda inputs, days: rules.savings_model_sql(
        inputs["leakage"].name, inputs["calls"].name, RULES
    ),
    partitioned=False,
)
leakage_action_recommendations = gold_asset(
    "leakage_action_recommendations",
    group=GROUP,
    model=schemas.LeakageActionRecommendation,
    description="Ranked actions for the largest root causes, all history: owner, effort and "
    "estimated annual savings, from the configured templates.",
    ins={"leakage": LEAKAGE_CALLS, "calls": CALLS},
    sql=lambda inputs, days: rules.action_recommendations_sql(
        inputs["leakage"].name, inputs["calls"].name, RULES
    ),
    partitioned=False,
)

partitioned_assets = [
    *bronze_assets,
    silver_journeys,
    silver_calls,
    silver_member_versions,
    silver_leakage_calls,
    leakage_daily_summary,
    leakage_segment_drilldown,
    leakage_journey_timeline,
    leakage_root_cause,
]
rollup_assets = [
    silver_members,
    leakage_savings_model,
    leakage_action_recommendations,
]
