"""Pandera models of every digital silver and gold table.

Column descriptions are what the Dagster UI shows; the checks are the invariants a row
must satisfy (a silver row that fails is quarantined, a gold row that fails stops the run).
The digital sources carry no names, e-mail addresses or phone numbers: members are ids.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.digital.rules import ACTIONS, EFFORTS, EVENT_KINDS, MEMBER_CATEGORIES
from cx_assets.lakehouse.schemas import OPAQUE_ID, UTC_TIMESTAMP, LakeModel, Lineage

# --------------------------------------------------------------------------- silver


class SilverJourneyEvent(Lineage):
    member_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID, description="`member_id` of the portal user (an opaque id)."
    )
    session_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID, description="`session_id`: one portal visit."
    )
    event_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="`timestamp` of the event (UTC; no offset means UTC)."
    )
    journey_type: Series[str] = pa.Field(description="`journey_type` (billing, id_card, …).")
    action: Series[str] = pa.Field(
        isin=list(ACTIONS), description="`action`: start, view, submit, complete, abandon, error."
    )
    device_type: Series[str] = pa.Field(nullable=True, description="`device_type`.")
    error_code: Series[str] = pa.Field(nullable=True, description="`error_code` (error events).")
    error_message: Series[str] = pa.Field(nullable=True, description="`error_message`.")


class SilverCall(Lineage):
    call_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID, description="`call_id`; unique over all days."
    )
    member_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID, description="`member_id` of the caller (an opaque id)."
    )
    called_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="`call_timestamp` (UTC; no offset means UTC)."
    )
    ivr_path: Series[str] = pa.Field(nullable=True, description="`ivr_path` through the IVR.")
    handle_time_seconds: Series[pd.Int64Dtype] = pa.Field(
        ge=0, nullable=True, description="`handle_time_seconds`."
    )
    agent_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID, nullable=True, description="`agent_id` (an opaque staff id)."
    )
    call_reason: Series[str] = pa.Field(description="`call_reason` (billing, id_card, …).")
    sentiment_score: Series[float] = pa.Field(
        ge=-1, le=1, nullable=True, description="`sentiment_score`, −1..1."
    )
    resolution_status: Series[str] = pa.Field(nullable=True, description="`resolution_status`.")


class _MemberFields(LakeModel):
    member_id: Series[str] = pa.Field(str_matches=OPAQUE_ID, description="`member_id`.")
    plan_type: Series[str] = pa.Field(description="`plan_type` (MAPD, Commercial, …).")
    tenure_months: Series[int] = pa.Field(ge=0, description="`tenure_months` as delivered.")
    segment: Series[str] = pa.Field(nullable=True, description="`segment`.")
    language_preference: Series[str] = pa.Field(nullable=True, description="`language_preference`.")
    enrollment_date: Series[Date] = pa.Field(nullable=True, description="`enrollment_date`.")
    member_category: Series[str] = pa.Field(
        isin=list(MEMBER_CATEGORIES),
        description="MAPD New (MAPD, tenure < 12 months), MAPD Tenured, Commercial, Other "
        "(any other plan type), from this version's plan_type and tenure_months.",
    )


class SilverMemberVersion(Lineage, _MemberFields):
    """Every delivered version of a member."""


class CurrentMember(_MemberFields):
    member_id: Series[str] = pa.Field(unique=True, description="`member_id`.")
    version_date: Series[Date] = pa.Field(description="Day the winning version was delivered.")


class SilverLeakageCall(Lineage):
    call_id: Series[str] = pa.Field(description="The leakage call (lineage columns are its own).")
    member_id: Series[str] = pa.Field(description="The calling member.")
    called_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="When the call came in (UTC)."
    )
    call_reason: Series[str] = pa.Field(description="The call's `call_reason`.")
    journey_type: Series[str] = pa.Field(
        description="Journey type of the failure the call is attributed to (the reason's match)."
    )
    member_category: Series[str] = pa.Field(
        isin=list(MEMBER_CATEGORIES),
        description="Category of the member's latest version delivered on or before the call's "
        "day; Other when no version had landed (see member_found).",
    )
    member_found: Series[bool] = pa.Field(
        description="A version of the member had landed by the call's day."
    )
    event_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="The latest qualifying failure event before the call (UTC)."
    )
    event_date: Series[Date] = pa.Field(
        description="Partition day of that event (the call's day or the day before)."
    )
    session_id: Series[str] = pa.Field(description="Portal session of that event.")
    event_action: Series[str] = pa.Field(description="Its action: abandon or error.")
    error_code: Series[str] = pa.Field(
        nullable=True, description="Its error_code; null for an abandon."
    )
    device_type: Series[str] = pa.Field(nullable=True, description="Its device_type.")
    time_to_call_minutes: Series[float] = pa.Field(
        ge=0, description="Minutes from the event to the call (not rounded)."
    )
    is_repeat_call: Series[bool] = pa.Field(
        description="The member made another call with the same reason in the 7 × 24 hours "
        "before (inclusive), any call, leakage or not."
    )
    sentiment_score: Series[float] = pa.Field(
        ge=-1, le=1, nullable=True, description="The call's sentiment_score."
    )
    handle_time_seconds: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, description="The call's handle time."
    )
    agent_id: Series[str] = pa.Field(nullable=True, description="The call's agent.")
    resolution_status: Series[str] = pa.Field(nullable=True, description="The call's outcome.")


# --------------------------------------------------------------------------- gold


class LeakageDailySummary(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day (the day of the calls).")
    journey_type: Series[str] = pa.Field(
        description="Journey type with leakage calls that day or in the 13 days before."
    )
    leakage_calls: Series[int] = pa.Field(ge=0, description="Leakage calls of the type that day.")
    daily_cost: Series[float] = pa.Field(ge=0, description="leakage_calls × cost per call.")
    primary_segment: Series[str] = pa.Field(
        isin=list(MEMBER_CATEGORIES),
        nullable=True,
        description="Member category with most of those calls (ties: alphabetical); null at 0.",
    )
    trend_pct: Series[float] = pa.Field(
        nullable=True,
        description="100 × (leakage calls in the 7 days ending the date − in the 7 days before) "
        "÷ the latter; null unless all 14 days have calls delivered, or when the latter is 0.",
    )


class LeakageSegmentDrilldown(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day.")
    journey_type: Series[str] = pa.Field(description="Journey type.")
    member_category: Series[str] = pa.Field(
        isin=list(MEMBER_CATEGORIES), description="Member category as of the call's day."
    )
    calls: Series[int] = pa.Field(ge=1, description="Leakage calls.")
    cost: Series[float] = pa.Field(ge=0, description="calls × cost per call.")
    repeat_call_pct: Series[float] = pa.Field(
        ge=0, le=100, description="Share of those calls that are repeat calls, 0-100."
    )
    avg_sentiment: Series[float] = pa.Field(
        ge=-1, le=1, nullable=True, description="Mean sentiment_score; null when none has one."
    )


class LeakageJourneyTimeline(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day (of the leakage calls).")
    member_id: Series[str] = pa.Field(description="A member with a leakage call that day.")
    sequence: Series[int] = pa.Field(ge=1, description="Order in the member's timeline, 1..n.")
    event_kind: Series[str] = pa.Field(isin=list(EVENT_KINDS), description="journey_event or call.")
    event_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="When it happened (UTC)."
    )
    journey_type: Series[str] = pa.Field(
        nullable=True,
        description="Journey type of the event; for a leakage call, of its failure.",
    )
    action: Series[str] = pa.Field(nullable=True, description="Journey event action.")
    session_id: Series[str] = pa.Field(nullable=True, description="Journey event session.")
    device_type: Series[str] = pa.Field(nullable=True, description="Journey event device.")
    error_code: Series[str] = pa.Field(nullable=True, description="Journey event error code.")
    call_id: Series[str] = pa.Field(nullable=True, description="The call.")
    call_reason: Series[str] = pa.Field(nullable=True, description="The call's reason.")
    is_leakage_call: Series[bool] = pa.Field(description="A call counted as leakage.")
    is_attributed_event: Series[bool] = pa.Field(
        description="A failure event a leakage call of the day is attributed to."
    )
    time_to_call_minutes: Series[float] = pa.Field(
        nullable=True, description="Leakage calls: minutes since the attributed event."
    )
    is_repeat_call: Series[pd.BooleanDtype] = pa.Field(
        nullable=True, description="Leakage calls: a repeat call."
    )
    sentiment_score: Series[float] = pa.Field(nullable=True, description="Calls: sentiment.")
    member_category: Series[str] = pa.Field(
        isin=list(MEMBER_CATEGORIES), description="The member's category as of the day."
    )


class LeakageRootCause(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day.")
    journey_type: Series[str] = pa.Field(description="Journey type.")
    error_code: Series[str] = pa.Field(
        nullable=True, description="Error code of the failure; null for an abandoned journey."
    )
    device_type: Series[str] = pa.Field(nullable=True, description="Device of the failure.")
    leakage_calls: Series[int] = pa.Field(ge=1, description="Leakage calls with this cause.")
    pct: Series[float] = pa.Field(
        gt=0,
        le=100,
        description="Share of the day's leakage calls of the same journey type, 0-100.",
    )


class LeakageSavingsModel(LakeModel):
    journey_type: Series[str] = pa.Field(unique=True, description="Journey type.")
    avoidable_calls_per_day: Series[float] = pa.Field(
        ge=0,
        nullable=True,
        description="Mean daily leakage calls over the observed days (a day without the type "
        "counts 0).",
    )
    annualized_cost: Series[float] = pa.Field(
        ge=0, nullable=True, description="avoidable_calls_per_day × cost per call × 365."
    )
    low_fix_rate: Series[float] = pa.Field(ge=0, le=1, description="Low scenario (0.10).")
    savings_low_fix: Series[float] = pa.Field(
        ge=0, nullable=True, description="annualized_cost × low_fix_rate."
    )
    mid_fix_rate: Series[float] = pa.Field(ge=0, le=1, description="Mid scenario (0.25).")
    savings_mid_fix: Series[float] = pa.Field(
        ge=0, nullable=True, description="annualized_cost × mid_fix_rate."
    )
    high_fix_rate: Series[float] = pa.Field(ge=0, le=1, description="High scenario (0.50).")
    savings_high_fix: Series[float] = pa.Field(
        ge=0, nullable=True, description="annualized_cost × high_fix_rate."
    )
    cost_per_call: Series[float] = pa.Field(ge=0, description="Cost of a call used (default 8).")
    total_leakage_calls: Series[int] = pa.Field(ge=0, description="Leakage calls, all history.")
    observed_days: Series[int] = pa.Field(
        ge=0,
        description="Days materialized (a day whose call files never landed counts, with no "
        "calls): the days averaged over.",
    )


class LeakageActionRecommendation(LakeModel):
    rank: Series[int] = pa.Field(ge=1, unique=True, description="1 = largest estimated savings.")
    action: Series[str] = pa.Field(description="What to do, from the cause's template.")
    owner: Series[str] = pa.Field(description="Team that owns the action.")
    effort: Series[str] = pa.Field(isin=list(EFFORTS), description="low / medium / high.")
    estimated_annual_savings: Series[float] = pa.Field(
        ge=0,
        nullable=True,
        description="avoidable_calls_per_day × cost per call × 365 × fix_rate.",
    )
    journey_type: Series[str] = pa.Field(description="Root cause: journey type.")
    error_code: Series[str] = pa.Field(
        nullable=True, description="Root cause: error code (null = abandoned journey)."
    )
    device_type: Series[str] = pa.Field(
        nullable=True,
        description="The device the action targets (it holds at least 60% of the cause's "
        "leakage calls); null = all devices.",
    )
    leakage_calls: Series[int] = pa.Field(
        ge=1, description="Leakage calls the action addresses, all history."
    )
    avoidable_calls_per_day: Series[float] = pa.Field(
        ge=0, nullable=True, description="leakage_calls ÷ observed days."
    )
    fix_rate: Series[float] = pa.Field(
        ge=0, le=1, description="Share of the cause's calls the action is expected to remove."
    )
    observed_days: Series[int] = pa.Field(
        ge=0, description="Days materialized (a day whose call files never landed counts)."
    )
