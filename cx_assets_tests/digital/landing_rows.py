"""Digital landing rows for hand-worked test cases: a journey event, a call, a member (CSV
values are text); and, for the digital asset tests of more than one module, the digital
assets and checks, the gold tables they write, and the two runs that materialize them (a day
or range of the daily assets, the whole-history rollups)."""

from __future__ import annotations

from cx_assets_tests.conftest import Domain

DIGITAL = Domain.named("digital")
EVERYTHING = DIGITAL.everything
GOLD_PARTITIONED = (
    "leakage_daily_summary",
    "leakage_segment_drilldown",
    "leakage_journey_timeline",
    "leakage_root_cause",
)
GOLD_WHOLE = ("leakage_savings_model", "leakage_action_recommendations")


def run_partitioned(lake, day: str, last_day: str | None = None):
    return lake.materialize(EVERYTHING, selection=DIGITAL.partitioned, day=day, last_day=last_day)


def run_rollups(lake):
    return lake.materialize(EVERYTHING, selection=DIGITAL.whole_history)


def event(member, session, timestamp, action, journey_type="billing", code="", device="mobile_app"):
    return {
        "member_id": member,
        "session_id": session,
        "timestamp": timestamp,
        "journey_type": journey_type,
        "action": action,
        "device_type": device,
        "error_code": code,
        "error_message": "boom" if code else "",
    }


def call(call_id, member, timestamp, reason="billing", sentiment="-0.5"):
    return {
        "call_id": call_id,
        "member_id": member,
        "call_timestamp": timestamp,
        "ivr_path": "main>billing>agent",
        "handle_time_seconds": "300",
        "agent_id": "AGT0001",
        "call_reason": reason,
        "sentiment_score": sentiment,
        "resolution_status": "resolved",
    }


def member(member, plan="MAPD", tenure="3"):
    return {
        "member_id": member,
        "plan_type": plan,
        "tenure_months": tenure,
        "segment": "Individual",
        "language_preference": "English",
        "enrollment_date": "2023-10-01",
    }
