"""A small gold dataset written by hand, with numbers worked out below, for the command
centre's tests. Every table goes through its pipeline model (`validate_derived`) and the
pipeline's own Parquet writer, so the files look exactly like a run's.

Headlines the tests expect (days 2024-01-01 and 2024-01-02):
- calls: 60 calls, 18 conversions (30.0%), $400 upsell; Bob alone 30 calls, 3 (10.0%), $0;
  the latest day 40 calls.
- CRM: 4 friction interactions (Ana 3, Bruno 1), 1 on the latest day; Acme Ltda at high
  churn risk; Acme Ltda the neediest client.
- leakage: 40 leakage calls, $320 (billing 30, $240); savings model $58,400 a year of cost,
  $14,600 saved at 25%, $29,200 at 50%; member M1 leaks on billing.
- support: 4 tickets, 3 within SLA (75.0%); team Tech alone 1 ticket, 100.0%.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from cx_assets.calls import schemas as calls
from cx_assets.crm import dimension_schemas
from cx_assets.crm import schemas as crm
from cx_assets.digital import schemas as digital
from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.derived import validate_derived
from cx_assets.lakehouse.io_managers import as_arrow
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.support import schemas as support

DAY1, DAY2 = date(2024, 1, 1), date(2024, 1, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def publish(data_dir: Path, table: str, model, rows: list[dict]) -> None:
    frame = validate_derived(model, pd.DataFrame(rows))
    arrow = as_arrow(frame)
    dataset = DataLayout(data_dir).gold_dir / table
    if "date" not in frame.columns:
        parquet.publish(arrow, dataset)
        return
    for day in sorted(set(frame["date"])):
        of_day = as_arrow(frame[frame["date"] == day].reset_index(drop=True))
        parquet.publish(of_day, parquet.partition_folder(dataset, day))


def write_crm(data_dir: Path) -> None:
    publish(data_dir, "crm_managers", dimension_schemas.Manager, [
        {"owner_id": 1, "name": "Ana Gerente", "version_date": DAY1},
        {"owner_id": 2, "name": "Bruno Gestor", "version_date": DAY1},
    ])  # fmt: skip
    publish(data_dir, "crm_companies", dimension_schemas.Company, [
        {"company_id": 10, "name": "Acme Ltda", "owner_id": 1, "segment": "champions",
         "value_tier": "high", "engagement_tier": "high", "won_amount": 5000.0,
         "interactions_90d": 12, "version_date": DAY1, "as_of_date": DAY2},
        {"company_id": 20, "name": "Beta S.A.", "owner_id": 2, "segment": "rising",
         "value_tier": "low", "engagement_tier": "high", "won_amount": 0.0,
         "interactions_90d": 8, "version_date": DAY1, "as_of_date": DAY2},
    ])  # fmt: skip
    noise = {"read_receipt": 5, "delivery_receipt": 5, "mass_email": 10, "noise_total": 20,
             "valid": 80}  # fmt: skip
    publish(data_dir, "crm_noise_summary", crm.NoiseSummary, [
        {"date": day, "category": name, "count": n, "pct": float(n)}
        for day in (DAY1, DAY2) for name, n in noise.items()
    ])  # fmt: skip

    def friction(interaction_id, day, owner, company, urgency=0, failure=0, escalation=0):
        return {
            "date": day, "interaction_id": interaction_id, "occurred_at": at(day, 18),
            "owner_id": owner, "company_id": company, "urgency_score": urgency,
            "failure_score": failure, "escalation_score": escalation,
            "friction_score": urgency + failure + escalation,
        }  # fmt: skip

    publish(data_dir, "crm_friction_heuristics", crm.FrictionHeuristic, [
        friction(1, DAY1, 1, 10, urgency=1), friction(2, DAY1, 1, 10, urgency=1),
        friction(3, DAY1, 2, 20, failure=1), friction(4, DAY2, 1, 10, escalation=1),
    ])  # fmt: skip
    publish(data_dir, "crm_cx_volumetrics", crm.CxVolumetrics, [
        {"owner_id": 1, "company_id": 10, "total_interactions": 30,
         "first_interaction_at": at(DAY1, 9), "last_interaction_at": at(DAY2, 17),
         "interaction_velocity": 30.0, "manager_load": 30.0, "neediness_ratio": 0.5,
         "long_thread_count": 2},
        {"owner_id": 2, "company_id": 20, "total_interactions": 20,
         "first_interaction_at": at(DAY1, 9), "last_interaction_at": at(DAY2, 17),
         "interaction_velocity": 20.0, "manager_load": 20.0, "neediness_ratio": 0.25,
         "long_thread_count": 0},
    ])  # fmt: skip
    publish(data_dir, "crm_temporal_heat", crm.TemporalHeat, [
        {"day_of_week": d, "hour": h, "interaction_count": 1,
         "friction_count": 3 if (d, h) == (4, 15) else 0,
         "friday_afternoon_friction_count": 3 if (d, h) == (4, 15) else 0}
        for d in range(7) for h in range(24)
    ])  # fmt: skip
    publish(data_dir, "crm_contact_linkage", crm.ContactLinkage, [
        {"date": day, "direct_count": 70, "via_person_count": 20, "unresolved_count": 10,
         "direct_share": 0.7, "via_person_share": 0.2, "unresolved_share": 0.1}
        for day in (DAY1, DAY2)
    ])  # fmt: skip

    def risk(company, score, band):
        return {
            "company_id": company, "churn_risk_score": score, "risk_band": band,
            "days_since_last_healthy_interaction": 3.0, "recency_component": 0.1,
            "trend_component": 0.0, "friction_share": 0.5, "lost_deal_share": 0.0,
            "recent_healthy_interactions": 5, "earlier_peak_interactions": 0,
            "valid_interactions": 10, "friction_interactions": 5, "as_of_date": DAY2,
        }  # fmt: skip

    publish(
        data_dir, "crm_churn_risk", crm.ChurnRisk, [risk(10, 75.0, "high"), risk(20, 10.0, "low")]
    )
    # Read by no page, written so the freshness table has every gold table of a full run.
    publish(data_dir, "crm_sales_velocity", crm.SalesVelocity, [
        {"owner_id": 1, "open_deals": 2, "win_rate": 0.5, "avg_won_amount": 5000.0,
         "avg_cycle_days": 10.0, "velocity_per_day": 500.0},
    ])  # fmt: skip
    publish(data_dir, "crm_segmentation_matrix", crm.SegmentationMatrix, [
        {"segment": "champions", "value_tier": "high", "engagement_tier": "high",
         "company_count": 1, "total_won_amount": 5000.0, "total_interactions_90d": 12,
         "value_threshold": 3000.0, "engagement_threshold": 8.0, "as_of_date": DAY2},
        {"segment": "rising", "value_tier": "low", "engagement_tier": "high",
         "company_count": 1, "total_won_amount": 1000.0, "total_interactions_90d": 9,
         "value_threshold": 3000.0, "engagement_threshold": 8.0, "as_of_date": DAY2},
    ])  # fmt: skip


def write_calls(data_dir: Path) -> None:
    def agent(day, name, n, conversions, revenue, positive, neutral, negative):
        return {
            "date": day, "agent_name": name, "calls": n, "conversions": conversions,
            "conversion_rate": conversions / n, "upsell_revenue": revenue,
            "avg_upsell_per_call": revenue / n, "positive_calls": positive,
            "neutral_calls": neutral, "negative_calls": negative,
        }  # fmt: skip

    publish(data_dir, "calls_agent_daily", calls.AgentDaily, [
        agent(DAY1, "Alice", 10, 5, 100.0, 6, 2, 2), agent(DAY1, "Bob", 10, 1, 0.0, 2, 3, 5),
        agent(DAY2, "Alice", 20, 10, 300.0, 12, 4, 4), agent(DAY2, "Bob", 20, 2, 0.0, 4, 6, 10),
    ])  # fmt: skip
    publish(data_dir, "calls_kpis_daily", calls.KpisDaily, [
        {"date": DAY1, "total_calls": 20, "conversion_rate": 0.3, "total_upsell_revenue": 100.0,
         "avg_upsell_per_call": 5.0},
        {"date": DAY2, "total_calls": 40, "conversion_rate": 0.3, "total_upsell_revenue": 300.0,
         "avg_upsell_per_call": 7.5},
    ])  # fmt: skip
    publish(data_dir, "calls_performance", calls.CallPerformance, [
        {"date": DAY2, "call_id": "C1", "agent_name": "Alice", "called_at": at(DAY2, 10),
         "converted": True, "upsell_amount": 300.0, "sentiment": "positive",
         "sentiment_score": 1.0},
    ])  # fmt: skip


def write_digital(data_dir: Path) -> None:
    def summary(day, journey, n, trend):
        return {"date": day, "journey_type": journey, "leakage_calls": n,
                "daily_cost": 8.0 * n, "primary_segment": "MAPD New", "trend_pct": trend}  # fmt: skip

    publish(data_dir, "leakage_daily_summary", digital.LeakageDailySummary, [
        summary(DAY1, "billing", 10, None), summary(DAY1, "pharmacy", 5, None),
        summary(DAY2, "billing", 20, 14.0), summary(DAY2, "pharmacy", 5, -2.0),
    ])  # fmt: skip

    def segment(day, journey, category, n, repeat, sentiment):
        return {"date": day, "journey_type": journey, "member_category": category, "calls": n,
                "cost": 8.0 * n, "repeat_call_pct": repeat, "avg_sentiment": sentiment}  # fmt: skip

    publish(data_dir, "leakage_segment_drilldown", digital.LeakageSegmentDrilldown, [
        segment(DAY1, "billing", "MAPD New", 8, 25.0, -0.5),
        segment(DAY1, "billing", "Commercial", 2, 0.0, 0.1),
        segment(DAY1, "pharmacy", "Other", 5, 20.0, None),
        segment(DAY2, "billing", "MAPD New", 20, 30.0, -0.7),
        segment(DAY2, "pharmacy", "Other", 5, 0.0, -0.1),
    ])  # fmt: skip

    def event(member, sequence, minute, action, journey="billing", code=None):
        return {
            "date": DAY2, "member_id": member, "sequence": sequence, "event_kind": "journey_event",
            "event_at": at(DAY2, 9, minute), "journey_type": journey, "action": action,
            "session_id": f"S-{member}", "device_type": "mobile_app", "error_code": code,
            "call_id": None, "call_reason": None, "is_leakage_call": False,
            "is_attributed_event": action in ("error", "abandon"), "time_to_call_minutes": None,
            "is_repeat_call": None, "sentiment_score": None, "member_category": "MAPD New",
        }  # fmt: skip

    def call(member, sequence, minute, reason, gap):
        return {
            "date": DAY2, "member_id": member, "sequence": sequence, "event_kind": "call",
            "event_at": at(DAY2, 9, minute), "journey_type": reason, "action": None,
            "session_id": None, "device_type": None, "error_code": None,
            "call_id": f"CALL-{member}-{sequence}", "call_reason": reason, "is_leakage_call": True,
            "is_attributed_event": False, "time_to_call_minutes": gap, "is_repeat_call": False,
            "sentiment_score": -0.5, "member_category": "MAPD New",
        }  # fmt: skip

    publish(data_dir, "leakage_journey_timeline", digital.LeakageJourneyTimeline, [
        event("M1", 1, 0, "start"), event("M1", 2, 5, "error", code="PAY_TIMEOUT"),
        call("M1", 3, 20, "billing", 15.0), call("M1", 4, 40, "pharmacy", 35.0),
        # M2 has as many leakage calls as M1, and more of pharmacy.
        event("M2", 1, 10, "abandon", journey="pharmacy"), call("M2", 2, 30, "pharmacy", 20.0),
        call("M2", 3, 45, "pharmacy", 35.0),
    ])  # fmt: skip

    def cause(day, journey, code, device, n):
        return {"date": day, "journey_type": journey, "error_code": code, "device_type": device,
                "leakage_calls": n, "pct": 100.0}  # fmt: skip

    publish(data_dir, "leakage_root_cause", digital.LeakageRootCause, [
        cause(DAY1, "billing", "PAY_TIMEOUT", "mobile_app", 10),
        cause(DAY1, "billing", "CARD_DECLINED", "mobile_web", 10),
        cause(DAY1, "pharmacy", None, "desktop", 5),
        cause(DAY2, "billing", "PAY_TIMEOUT", "mobile_app", 20),
        cause(DAY2, "pharmacy", None, "desktop", 5),
    ])  # fmt: skip

    publish(data_dir, "leakage_savings_model", digital.LeakageSavingsModel,
            [savings_row("billing", 15.0), savings_row("pharmacy", 5.0)])  # fmt: skip
    publish(data_dir, "leakage_action_recommendations", digital.LeakageActionRecommendation, [
        {"rank": 1, "action": "Fix payment timeouts on mobile", "owner": "Payments Engineering",
         "effort": "medium", "estimated_annual_savings": 21900.0, "journey_type": "billing",
         "error_code": "PAY_TIMEOUT", "device_type": "mobile_app", "leakage_calls": 30,
         "avoidable_calls_per_day": 15.0, "fix_rate": 0.5, "observed_days": 2},
        {"rank": 2, "action": "Review the pharmacy journey", "owner": "Digital UX",
         "effort": "low", "estimated_annual_savings": 3650.0, "journey_type": "pharmacy",
         "error_code": None, "device_type": None, "leakage_calls": 10,
         "avoidable_calls_per_day": 5.0, "fix_rate": 0.25, "observed_days": 2},
    ])  # fmt: skip


def support_tickets(*, rated: bool = True) -> list[dict]:
    """The rows of `support_ticket_analytics`; `rated=False`: no ticket has a CSAT score.
    A test changes some of them and publishes them over a copy of the dataset."""

    def ticket(ticket_id, day, agent, priority, breached, csat):
        csat = csat if rated else None
        created = at(day, 8)
        return {
            "date": day, "ticket_id": ticket_id, "customer_id": "CU1", "agent_id": agent,
            "priority": priority, "channel": "email", "category": "billing", "status": "resolved",
            "created_at": created, "first_response_at": created + timedelta(hours=2),
            "resolved_at": created + timedelta(hours=5), "first_response_minutes": 120.0,
            "resolution_minutes": 300.0, "first_response_target_minutes": 60,
            "resolution_target_minutes": 240, "first_response_breached": breached,
            "resolution_breached": False, "csat_score": csat,
        }  # fmt: skip

    return [
        ticket("T1", DAY1, "A1", "urgent", True, 2), ticket("T2", DAY1, "A2", "low", False, 5),
        ticket("T3", DAY1, None, "medium", False, None), ticket("T4", DAY2, "A1", "high", False, 4),
        ticket("T5", DAY1, "A1", "low", False, None),  # not rated
    ]  # fmt: skip


def write_support(data_dir: Path, *, rated: bool = True) -> None:
    """`rated=False`: no ticket has a CSAT score."""
    publish(data_dir, "support_ticket_analytics", support.TicketAnalytics,
            support_tickets(rated=rated))  # fmt: skip

    agent = support_agent_row
    publish(data_dir, "support_agent_daily", support.AgentDaily, [
        agent(DAY1, "A1", "Ana Agent", "Billing", 1, 2.0, handled=2),  # T5 not rated
        agent(DAY1, "A2", "Ben Agent", "Tech", 0, 5.0),
        agent(DAY2, "A1", "Ana Agent", "Billing", 0, 4.0),
    ])  # fmt: skip
    publish(data_dir, "support_customer_insights", support.CustomerInsights, [
        {"customer_id": "CU1", "plan": "pro", "region": "south", "tickets": 4, "mean_csat": 3.67,
         "breach_share": 0.25, "segment": "steady"},
    ])  # fmt: skip
    publish(data_dir, "support_volume_forecast", support.VolumeForecast, [
        {"date": DAY2 + timedelta(days=offset), "category": "all", "forecast": 5.0, "lo_80": 3.0,
         "hi_80": 7.0, "lo_95": 2.0, "hi_95": 8.0, "model": "AutoETS", "backtest_mase": 0.8,
         "baseline_mase": 1.0}
        for offset in range(1, 15)
    ])  # fmt: skip
    publish(data_dir, "support_ticket_categories", support.TicketCategory, [
        {"date": DAY1, "ticket_id": "T3", "predicted_category": "billing", "confidence": 0.4,
         "needs_review": True},
    ])  # fmt: skip
    publish(data_dir, "support_assignment_plan", support.AssignmentPlan, [
        {"ticket_id": "T3", "priority": "medium", "category": "billing", "agent_id": "A1",
         "reason": None},
    ])  # fmt: skip


# The open tickets' plan with one left unplanned: T3 planned for A1, T6 without an agent.
PLAN_WITH_ONE_UNPLANNED = [
    {"ticket_id": "T3", "priority": "medium", "category": "billing", "agent_id": "A1",
     "reason": None},
    {"ticket_id": "T6", "priority": "low", "category": "legal", "agent_id": None,
     "reason": "no agent of its category"},
]  # fmt: skip


def write_gold(data_dir: Path) -> Path:
    for write in (write_crm, write_calls, write_digital, write_support):
        write(data_dir)
    return data_dir


def savings_row(journey: str, per_day: float) -> dict:
    """A `leakage_savings_model` row: `per_day` avoidable calls at $8 a call, a year of them
    its annualized cost, over 2 observed days."""
    cost = per_day * 8.0 * 365
    return {
        "journey_type": journey, "avoidable_calls_per_day": per_day, "annualized_cost": cost,
        "low_fix_rate": 0.1, "savings_low_fix": cost * 0.1, "mid_fix_rate": 0.25,
        "savings_mid_fix": cost * 0.25, "high_fix_rate": 0.5, "savings_high_fix": cost * 0.5,
        "cost_per_call": 8.0, "total_leakage_calls": int(per_day * 2), "observed_days": 2,
    }  # fmt: skip


def support_agent_row(day, agent_id, name, team, breaches, csat, handled=1) -> dict:
    """A `support_agent_daily` row: every ticket handled resolved, 2 h to respond, 5 h to
    resolve."""
    return {
        "date": day, "agent_id": agent_id, "agent_name": name, "team": team,
        "tickets_handled": handled, "tickets_resolved": handled,
        "mean_first_response_minutes": 120.0, "mean_resolution_hours": 5.0,
        "sla_breaches": breaches, "mean_csat": csat,
    }  # fmt: skip
