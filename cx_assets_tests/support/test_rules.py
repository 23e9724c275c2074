"""The support rules, run as the very SQL the assets run, on hand-worked rows in an in-memory
DuckDB: SLA minutes, targets and breaches at every priority (exactly on target, a minute
over, never answered before and after the as-of time), the agent and customer rollups,
the segment, masking, and the plan checks' SQL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cx_assets.support import model_inputs, rules, silver_rules
from cx_assets.support.models import assign
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order

AS_OF = "2024-03-02 00:00:00+00"  # the end of the latest materialized day, 2024-03-01


def _tickets(con, rows: list[dict]) -> str:
    frame = pd.DataFrame(
        [
            {
                "ticket_id": None,
                "customer_id": "C1",
                "agent_id": "A1",
                "created_at": None,
                "first_response_at": None,
                "resolved_at": None,
                "status": "open",
                "priority": "medium",
                "channel": "email",
                "category": "billing",
                "csat_score": None,
                **row,
            }
            for row in rows
        ]
    )
    con.register("ticket_rows", frame)
    con.execute(
        """CREATE OR REPLACE TABLE tickets AS SELECT * REPLACE (
               CAST(created_at AS TIMESTAMPTZ) AS created_at,
               CAST(first_response_at AS TIMESTAMPTZ) AS first_response_at,
               CAST(resolved_at AS TIMESTAMPTZ) AS resolved_at,
               CAST(csat_score AS BIGINT) AS csat_score)
           FROM ticket_rows"""
    )
    return "tickets"


def _analytics(con, rows: list[dict]) -> pd.DataFrame:
    table = _tickets(con, rows)
    sql = rules.ticket_analytics_sql(table, f"TIMESTAMPTZ '{AS_OF}'")
    return con.execute(sql).df().set_index("ticket_id")


# (priority, first-response target, resolution target), in minutes: contract 4.4.
TARGETS = [("urgent", 60, 240), ("high", 240, 1440), ("medium", 480, 2880), ("low", 1440, 4320)]


@pytest.mark.parametrize(("priority", "fr_target", "res_target"), TARGETS)
def test_exactly_on_target_is_not_breached_and_a_minute_over_is(
    con, priority, fr_target, res_target
):
    created = pd.Timestamp("2024-02-20 08:00", tz="UTC")
    on_time = {
        "ticket_id": "on",
        "priority": priority,
        "created_at": str(created),
        "first_response_at": str(created + pd.Timedelta(minutes=fr_target)),
        "resolved_at": str(created + pd.Timedelta(minutes=res_target)),
        "status": "resolved",
    }
    late = {
        **on_time,
        "ticket_id": "late",
        "first_response_at": str(created + pd.Timedelta(minutes=fr_target + 1)),
        "resolved_at": str(created + pd.Timedelta(minutes=res_target + 1)),
    }
    rows = _analytics(con, [on_time, late])
    assert rows.loc["on", "first_response_target_minutes"] == fr_target
    assert rows.loc["on", "resolution_target_minutes"] == res_target
    assert rows.loc["on", "first_response_minutes"] == fr_target
    assert rows.loc["on", "resolution_minutes"] == res_target
    assert not rows.loc["on", "first_response_breached"]
    assert not rows.loc["on", "resolution_breached"]
    assert rows.loc["late", "first_response_minutes"] == fr_target + 1
    assert rows.loc["late", "first_response_breached"]
    assert rows.loc["late", "resolution_breached"]


@pytest.mark.parametrize(("priority", "fr_target", "res_target"), TARGETS)
def test_never_answered_breaches_only_once_the_target_lies_before_the_as_of_time(
    con, priority, fr_target, res_target
):
    as_of = pd.Timestamp(AS_OF)
    rows = _analytics(
        con,
        [
            # both targets passed a minute before the as-of time
            {"ticket_id": "past", "priority": priority,
             "created_at": str(as_of - pd.Timedelta(minutes=res_target + 1))},
            # the first-response target lies exactly at the as-of time: not before it
            {"ticket_id": "at", "priority": priority,
             "created_at": str(as_of - pd.Timedelta(minutes=fr_target))},
            # both targets still ahead
            {"ticket_id": "ahead", "priority": priority,
             "created_at": str(as_of - pd.Timedelta(minutes=fr_target - 1))},
            # answered in time, never resolved, resolution target passed
            {"ticket_id": "answered", "priority": priority,
             "created_at": str(as_of - pd.Timedelta(minutes=res_target + 30)),
             "first_response_at": str(as_of - pd.Timedelta(minutes=res_target + 29))},
        ],
    )  # fmt: skip
    assert rows.loc["past", ["first_response_breached", "resolution_breached"]].tolist() == [
        True,
        True,
    ]
    assert rows.loc["at", ["first_response_breached", "resolution_breached"]].tolist() == [
        False,
        False,
    ]
    assert rows.loc["ahead", ["first_response_breached", "resolution_breached"]].tolist() == [
        False,
        False,
    ]
    assert rows.loc["answered", ["first_response_breached", "resolution_breached"]].tolist() == [
        False,
        True,
    ]
    assert pd.isna(rows.loc["past", "first_response_minutes"])
    assert rows.loc["answered", "first_response_minutes"] == 1.0


def test_minutes_are_calendar_time_not_rounded_and_day_is_the_utc_creation_day(con):
    rows = _analytics(
        con,
        [
            {
                "ticket_id": "t",
                "priority": "low",
                # 21:30 at -03:00 is 00:30 UTC the next day
                "created_at": "2024-02-28T21:30:00-03:00",
                "first_response_at": "2024-02-29T00:31:30Z",
                "resolved_at": "2024-03-01T02:30:15Z",
            }
        ],
    )
    assert rows.loc["t", "date"].date() == date(2024, 2, 29)
    assert rows.loc["t", "first_response_minutes"] == 1.5
    assert rows.loc["t", "resolution_minutes"] == 24 * 60 + 120 + 0.25


def test_a_response_after_the_as_of_time_is_compared_with_its_target(con):
    """An event that came (even later than the as-of time) is judged by when it came."""
    rows = _analytics(
        con,
        [
            {"ticket_id": "t", "priority": "urgent", "created_at": "2024-03-01 23:30:00+00",
             "first_response_at": "2024-03-02 00:20:00+00"},
        ],
    )  # fmt: skip
    assert not rows.loc["t", "first_response_breached"]


def test_the_sla_check_query_finds_a_flag_that_disagrees(con):
    analytics = _analytics(
        con,
        [
            {"ticket_id": "ok", "priority": "high", "created_at": "2024-02-20 08:00:00+00",
             "first_response_at": "2024-02-20 08:10:00+00"},
            {"ticket_id": "bad", "priority": "high", "created_at": "2024-02-20 08:00:00+00",
             "first_response_at": "2024-02-20 18:00:00+00"},
        ],
    ).reset_index()  # fmt: skip
    con.register("stored", analytics)
    as_of = f"TIMESTAMPTZ '{AS_OF}'"
    assert con.execute(rules.sla_inconsistencies_sql("stored", as_of)).fetchall() == []
    tampered = analytics.assign(
        first_response_breached=analytics["ticket_id"].eq("ok")
        | analytics["first_response_breached"]
    )
    con.register("stored", tampered)
    assert con.execute(rules.sla_inconsistencies_sql("stored", as_of)).fetchall() == [("ok",)]
    wrong_target = analytics.assign(first_response_target_minutes=60)
    con.register("stored", wrong_target)
    assert len(con.execute(rules.sla_inconsistencies_sql("stored", as_of)).fetchall()) == 2


# Each tampering breaks one thing the check compares; the flags stay as they were unless
# the tampering is of a flag. The ticket: high priority, created 2024-02-20 08:00, answered
# 08:10 (10 min, target 240), resolved 09:00 (60 min, target 1440), so nothing breached.
SLA_TAMPERINGS = {
    "first response minutes disagree with the timestamps": {"first_response_minutes": 100.0},
    "resolution minutes disagree with the timestamps": {"resolution_minutes": 30.0},
    "a resolution target not the priority's": {"resolution_target_minutes": 60},
    "a first-response target not the priority's": {"first_response_target_minutes": 480},
    "a first response flagged breached within its target": {"first_response_breached": True},
    "a resolution flagged breached within its target": {"resolution_breached": True},
    # never answered, and the as-of time is far past the target: it has breached
    "an unanswered ticket past its target not flagged": {
        "first_response_at": pd.NaT, "first_response_minutes": float("nan"),
    },
    "an unresolved ticket past its target not flagged": {
        "resolved_at": pd.NaT, "resolution_minutes": float("nan"),
    },
}  # fmt: skip


@pytest.mark.parametrize("tampering", list(SLA_TAMPERINGS))
def test_the_sla_check_query_finds_each_kind_of_disagreement(con, tampering):
    analytics = _analytics(
        con,
        [
            {"ticket_id": ticket, "priority": "high", "created_at": "2024-02-20 08:00:00+00",
             "first_response_at": "2024-02-20 08:10:00+00",
             "resolved_at": "2024-02-20 09:00:00+00", "status": "resolved"}
            for ticket in ("kept", "tampered")
        ],
    ).reset_index()  # fmt: skip
    as_of = f"TIMESTAMPTZ '{AS_OF}'"
    con.register("stored", analytics)
    assert con.execute(rules.sla_inconsistencies_sql("stored", as_of)).fetchall() == []
    tampered = analytics.copy()
    for column, value in SLA_TAMPERINGS[tampering].items():
        tampered.loc[tampered["ticket_id"] == "tampered", column] = value
    con.register("stored", tampered)
    assert con.execute(rules.sla_inconsistencies_sql("stored", as_of)).fetchall() == [("tampered",)]


def test_the_as_of_time_is_the_end_of_the_latest_delivered_day(con):
    con.execute(
        "CREATE TABLE deliveries AS SELECT * FROM (VALUES (DATE '2024-03-01'), (DATE '2024-02-29'))"
        " t(date)"
    )
    assert con.execute(f"SELECT {rules.as_of_day_sql('deliveries')}").fetchall() == [
        (date(2024, 3, 1),)
    ]
    (as_of,) = con.execute(f"SELECT {rules.as_of_sql('deliveries')}").fetchall()[0]
    assert as_of == pd.Timestamp(AS_OF)


def test_agent_daily_counts_the_agents_tickets_of_the_day(con):
    analytics = _analytics(
        con,
        [
            {"ticket_id": "a", "agent_id": "A1", "priority": "urgent",
             "created_at": "2024-03-01 08:00:00+00", "first_response_at": "2024-03-01 08:30:00+00",
             "resolved_at": "2024-03-01 10:00:00+00", "csat_score": 5},
            {"ticket_id": "b", "agent_id": "A1", "priority": "urgent",
             "created_at": "2024-03-01 09:00:00+00", "first_response_at": "2024-03-01 10:30:00+00",
             "csat_score": 2},
            {"ticket_id": "c", "agent_id": None, "created_at": "2024-03-01 09:00:00+00"},
            {"ticket_id": "d", "agent_id": "A1", "created_at": "2024-02-29 09:00:00+00"},
        ],
    ).reset_index()  # fmt: skip
    con.register("analytics", analytics)
    con.execute("CREATE TABLE agents AS SELECT 'A1' AS agent_id, 'Ana' AS name, 'Payments' AS team")
    rows = con.execute(rules.agent_daily_sql("analytics", "agents")).df()
    day = rows[rows["date"] == pd.Timestamp("2024-03-01")].iloc[0]
    assert (day["agent_name"], day["team"]) == ("Ana", "Payments")
    assert (day["tickets_handled"], day["tickets_resolved"]) == (2, 1)
    assert day["mean_first_response_minutes"] == (30 + 90) / 2
    assert day["mean_resolution_hours"] == 2.0
    # b: responded after 90 minutes (urgent target 60), and unresolved past 4 hours
    assert day["sla_breaches"] == 1
    assert day["mean_csat"] == 3.5
    assert len(rows) == 2  # the unassigned ticket has no agent row


def test_agent_daily_counts_a_ticket_with_either_target_breached(con):
    """`sla_breaches` counts tickets with either target breached (contract 4.4, docs
    support_agent_daily), not only those with both. Urgent targets: 60 min / 240 min.
    x: created 08:00, answered 09:30 (90 > 60: late), resolved 10:00 (120 <= 240: on time).
    y: created 08:00, answered 08:30 (on time), resolved 12:30 (270 > 240: late).
    Each breached one target only: 2 breaches."""
    analytics = _analytics(
        con,
        [
            {"ticket_id": "x", "agent_id": "A1", "priority": "urgent", "status": "resolved",
             "created_at": "2024-03-01 08:00:00+00", "first_response_at": "2024-03-01 09:30:00+00",
             "resolved_at": "2024-03-01 10:00:00+00"},
            {"ticket_id": "y", "agent_id": "A1", "priority": "urgent", "status": "resolved",
             "created_at": "2024-03-01 08:00:00+00", "first_response_at": "2024-03-01 08:30:00+00",
             "resolved_at": "2024-03-01 12:30:00+00"},
        ],
    )  # fmt: skip
    assert analytics[["first_response_breached", "resolution_breached"]].values.tolist() == [
        [True, False],
        [False, True],
    ]
    con.register("analytics", analytics.reset_index())
    con.execute("CREATE TABLE agents AS SELECT 'A1' AS agent_id, 'Ana' AS name, 'Payments' AS team")
    rows = con.execute(rules.agent_daily_sql("analytics", "agents")).df()
    assert rows["sla_breaches"].tolist() == [2]


def test_customer_segments_follow_the_documented_order(con):
    rows = []
    # C1: 2 of 2 breached -> at_risk; C2: 1 ticket, CSAT 5, no breach -> delighted;
    # C3: the most tickets, none breached, CSAT 3 -> high_effort; C4..C10: one steady ticket.
    for n in range(2):
        rows.append({"ticket_id": f"c1-{n}", "customer_id": "C1", "priority": "urgent",
                     "created_at": "2024-02-01 08:00:00+00"})  # fmt: skip
    rows.append({"ticket_id": "c2", "customer_id": "C2", "created_at": "2024-03-01 08:00:00+00",
                 "first_response_at": "2024-03-01 08:05:00+00", "csat_score": 5})  # fmt: skip
    for n in range(4):
        rows.append({"ticket_id": f"c3-{n}", "customer_id": "C3", "csat_score": 3,
                     "created_at": "2024-03-01 08:00:00+00",
                     "first_response_at": "2024-03-01 08:05:00+00"})  # fmt: skip
    for n in range(4, 11):
        rows.append({"ticket_id": f"c{n}", "customer_id": f"C{n}",
                     "created_at": "2024-03-01 08:00:00+00",
                     "first_response_at": "2024-03-01 09:00:00+00"})  # fmt: skip
    analytics = _analytics(con, rows).reset_index()
    con.register("analytics", analytics)
    con.execute(
        "CREATE TABLE customers AS SELECT 'C1' AS customer_id, 'Pro' AS plan, 'NA' AS region"
    )
    insights = con.execute(rules.customer_insights_sql("analytics", "customers")).df()
    segment = insights.set_index("customer_id")["segment"]
    assert segment["C1"] == "at_risk"
    assert segment["C2"] == "delighted"
    assert segment["C3"] == "high_effort"
    assert segment["C4"] == "steady"
    c1 = insights.set_index("customer_id").loc["C1"]
    assert (c1["plan"], c1["tickets"], c1["breach_share"]) == ("Pro", 2, 1.0)
    assert pd.isna(c1["mean_csat"])


# Tickets of a customer, by how they went (as of 2024-03-02 00:00):
# ok: medium, created 03-01 08:00, answered 08:05 (target 480 min), resolution target
#     03-03 08:00 still ahead: nothing breached.
# late_reply: urgent, created 08:00, answered 09:30 (90 > 60 min), resolved 10:00 (120 <= 240).
# late_fix: urgent, created 08:00, answered 08:30 (30 <= 60), resolved 12:30 (270 > 240).
SEGMENT_TICKETS = {
    "ok": {"priority": "medium", "first_response_at": "2024-03-01 08:05:00+00"},
    "late_reply": {"priority": "urgent", "status": "resolved",
                   "first_response_at": "2024-03-01 09:30:00+00",
                   "resolved_at": "2024-03-01 10:00:00+00"},
    "late_fix": {"priority": "urgent", "status": "resolved",
                 "first_response_at": "2024-03-01 08:30:00+00",
                 "resolved_at": "2024-03-01 12:30:00+00"},
}  # fmt: skip
FILLERS = {f"F{n}": [("ok", None)] for n in range(1, 10)}  # nine customers of one ticket

# (customers: id -> [(ticket kind, csat)], C's expected breach_share, C's expected segment).
# The segment rules of docs/support.md, at their boundaries.
SEGMENT_BOUNDARIES = {
    # breach_share = tickets with either target breached ÷ tickets (contract 4.4): 1 of 1
    "a late first response resolved in time is a breached ticket": (
        {"C": [("late_reply", None)]}, 1.0, "at_risk"),
    "a late resolution answered in time is a breached ticket": (
        {"C": [("late_fix", None)]}, 1.0, "at_risk"),
    # at_risk: breach_share >= 0.5; 1 of 2 is exactly 0.5
    "half the tickets breached is at risk": (
        {"C": [("late_reply", None), ("ok", None)]}, 0.5, "at_risk"),
    # at_risk: mean_csat <= 2; (1 + 3) / 2 is exactly 2
    "a mean CSAT of exactly 2 is at risk": ({"C": [("ok", 1), ("ok", 3)]}, 0.0, "at_risk"),
    # high_effort: percent rank >= 0.9 and 3 or more tickets. Eleven customers: B 4 tickets,
    # C 3, nine of 1; C ranks 10th of 11, percent rank (10 - 1) / (11 - 1) = 0.9 exactly
    "three tickets at the 90th percentile is high effort": (
        {"C": [("ok", None)] * 3, "B": [("ok", None)] * 4, **FILLERS}, 0.0, "high_effort"),
    # delighted: mean_csat >= 4.5 and no breached ticket; CSAT 5 with 1 of 3 breached is
    # neither at_risk (1/3 < 0.5) nor high_effort (percent rank 0, B has more) nor delighted
    "CSAT 5 with a breached ticket is not delighted": (
        {"C": [("ok", 5), ("ok", 5), ("late_reply", 5)], "B": [("ok", None)] * 4},
        1 / 3, "steady"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SEGMENT_BOUNDARIES))
def test_customer_breach_share_and_segment_at_the_boundaries(con, case):
    customers, breach_share, segment = SEGMENT_BOUNDARIES[case]
    rows = [
        {"ticket_id": f"{customer}-{n}", "customer_id": customer, "csat_score": csat,
         "created_at": "2024-03-01 08:00:00+00", **SEGMENT_TICKETS[kind]}
        for customer, tickets in customers.items()
        for n, (kind, csat) in enumerate(tickets)
    ]  # fmt: skip
    con.register("analytics", _analytics(con, rows).reset_index())
    con.execute(
        "CREATE TABLE customers AS SELECT 'C' AS customer_id, 'Pro' AS plan, 'NA' AS region"
    )
    insights = con.execute(rules.customer_insights_sql("analytics", "customers")).df()
    c = insights.set_index("customer_id").loc["C"]
    assert c["breach_share"] == pytest.approx(breach_share)
    assert c["segment"] == segment


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail me at jane.doe+x@example.co.uk please", "mail me at [email] please"),
        ("call +1 555-123-4567 or (555) 123-4567", "call [phone] or [phone]"),
        ("my number is 555.123.4567.", "my number is [phone]."),
        ("+44 20 7946 0958 and +55 11 91234-5678", "[phone] and [phone]"),
        ("order #482133 of 2024-01-05 for $1,299.99", "order #482133 of 2024-01-05 for $1,299.99"),
    ],
)
def test_silver_ticket_text_masks_email_addresses_and_phone_numbers(con, text, masked):
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-03-01' AS date, 'f' AS source_file, "
        "1 AS line_number, NULL AS reject_reason, 'T1' AS ticket_id, 'C1' AS customer_id, "
        "NULL AS agent_id, TIMESTAMPTZ '2024-03-01 08:00:00+00' AS created_at, "
        "NULL::TIMESTAMPTZ AS first_response_at, NULL::TIMESTAMPTZ AS resolved_at, "
        "'open' AS status, 'low' AS priority, 'web' AS channel, NULL AS category, "
        "? AS subject, ? AS description, NULL::BIGINT AS csat_score",
        [text, text],
    )
    subject, description = con.execute(
        f"SELECT subject, description FROM ({silver_rules.silver_ticket_versions_sql('typed')})"
    ).fetchall()[0]
    assert subject == description == masked


def test_the_plan_check_query_finds_a_missing_skill_and_an_agent_over_capacity(con):
    con.execute(
        """CREATE TABLE agents AS SELECT * FROM (VALUES
               ('A1', 'Billing; Returns', 2), ('A2', 'technical', 5)) t(agent_id, skills, max_open_tickets);
           CREATE TABLE tickets AS SELECT * FROM (VALUES
               ('T1', 'A1', 'open'), ('T2', 'A2', 'resolved')) t(ticket_id, agent_id, status);
           CREATE TABLE good AS SELECT * FROM (VALUES
               ('N1', 'billing', 'A1'), ('N2', 'shipping', NULL)) t(ticket_id, category, agent_id);
           CREATE TABLE bad AS SELECT * FROM (VALUES
               ('N1', 'returns', 'A1'), ('N2', 'billing', 'A1'), ('N3', 'billing', 'A2'),
               ('N4', NULL, 'A2')) t(ticket_id, category, agent_id);"""
    )
    assert con.execute(rules.plan_violations_sql("good", "agents", "tickets")).fetchall() == [
        (0, 0)
    ]
    # A1 holds 1 open and gets 2 (max 2); A2 lacks billing, and N4 has no category.
    assert con.execute(rules.plan_violations_sql("bad", "agents", "tickets")).fetchall() == [(2, 1)]


def test_the_plan_check_reads_skills_as_the_planner_does(con):
    # The planner strips a skill as Python does; trim() left the tab, and the check called
    # the planner's own choice a ticket without its skill.
    con.execute(
        """CREATE TABLE agents AS SELECT e'Billing;\tReturns\n' AS skills, 'A1' AS agent_id,
                                         3 AS max_open_tickets;
           CREATE TABLE tickets AS SELECT 'T1' AS ticket_id, 'A1' AS agent_id, 'open' AS status;
           CREATE TABLE plan AS SELECT * FROM (VALUES ('N1', e'returns\t', 'A1'))
               t(ticket_id, category, agent_id);"""
    )
    assert assign._skills(con.execute("SELECT skills FROM agents").fetchone()[0]) == {
        "billing",
        "returns",
    }
    assert con.execute(rules.plan_violations_sql("plan", "agents", "tickets")).fetchall() == [
        (0, 0)
    ]


def test_misordered_intervals_are_counted(con):
    """lo_95 <= lo_80 <= forecast <= hi_80 <= hi_95 must hold (docs: forecast_intervals_ordered).
    Misordered: a lo_80 above the forecast, a missing lo_95, and an 80% interval reaching
    above the 95% one (hi_80 15 > hi_95 14, every other bound in order): 3."""
    con.execute(
        """CREATE TABLE forecast AS SELECT * FROM (VALUES
               (10.0, 8.0, 12.0, 6.0, 14.0), (10.0, 10.0, 10.0, 10.0, 10.0),
               (10.0, 11.0, 12.0, 6.0, 14.0), (10.0, 8.0, 12.0, NULL, 14.0),
               (10.0, 8.0, 15.0, 6.0, 14.0))
           t(forecast, lo_80, hi_80, lo_95, hi_95)"""
    )
    assert con.execute(rules.misordered_intervals_sql("forecast")).fetchall() == [(3,)]


def test_low_confidence_or_no_prediction_needs_review_at_the_configured_threshold(con):
    con.execute(
        """CREATE TABLE predictions AS SELECT * FROM (VALUES
               (DATE '2024-03-01', 'T1', 'billing', 0.55), (DATE '2024-03-01', 'T2', 'billing', 0.6),
               (DATE '2024-03-01', 'T3', NULL, NULL))
           t(date, ticket_id, predicted_category, confidence)"""
    )
    rows = con.execute(model_inputs.ticket_categories_sql("predictions", 0.6)).fetchall()
    assert [(ticket, review) for _, ticket, _, _, review in rows] == [
        ("T1", True),
        ("T2", False),
        ("T3", True),
    ]
    stricter = con.execute(model_inputs.ticket_categories_sql("predictions", 0.7)).fetchall()
    assert [review for *_, review in stricter] == [True, True, True]


def test_an_agents_means_are_the_same_to_the_last_digit_whatever_order_tickets_come_in(con):
    analytics = pd.DataFrame(
        {
            "date": date(2024, 3, 1),
            "agent_id": "A1",
            "resolved_at": pd.Timestamp("2024-03-01 10:00", tz="UTC"),
            "first_response_minutes": ORDER_SENSITIVE,
            "resolution_minutes": [minutes * 60 for minutes in ORDER_SENSITIVE],
            "first_response_breached": False,
            "resolution_breached": False,
            "csat_score": 5,
        }
    )
    con.execute("CREATE TABLE agents AS SELECT 'A1' AS agent_id, 'Ana' AS name, 'Payments' AS team")
    query = rules.agent_daily_sql("analytics", "agents")
    assert len(results_in_every_order(con, analytics, "analytics", query)) == 1


def test_the_models_count_a_category_whatever_its_case_and_spaces(con):
    """`Billing`, `billing` and ` billing ` are one forecast series and one label to learn
    (they were two series); a blank category is predicted like a missing one."""
    delivered = [("T1", "Billing"), ("T2", "billing"), ("T3", " billing "), ("T4", "  "),
                 ("T5", None)]  # fmt: skip
    tickets = _tickets(con, [
        {"ticket_id": ticket, "created_at": f"2024-03-01 {9 + n:02d}:00:00+00",
         "category": category, "agent_id": None, "subject": "invoice", "description": "help"}
        for n, (ticket, category) in enumerate(delivered)
    ])  # fmt: skip
    con.execute(
        """CREATE TABLE predictions AS SELECT * FROM (VALUES
               ('T4', 'shipping'), ('T5', 'shipping')) t(ticket_id, predicted_category)"""
    )
    con.execute("CREATE TABLE deliveries AS SELECT DATE '2024-03-01' AS date")

    daily = con.execute(
        model_inputs.daily_created_sql(tickets, "predictions", "deliveries")
    ).fetchall()
    training = con.execute(
        model_inputs.categorized_tickets_sql(tickets, f"TIMESTAMPTZ '{AS_OF}'", 100)
    ).df()
    to_predict = con.execute(model_inputs.uncategorized_tickets_sql(tickets)).df()
    plan_input = con.execute(model_inputs.unassigned_open_tickets_sql(tickets, "predictions")).df()

    assert daily == [(date(2024, 3, 1), "billing", 3), (date(2024, 3, 1), "shipping", 2)]
    assert training["category"].tolist() == ["billing"] * 3
    assert to_predict["ticket_id"].tolist() == ["T4", "T5"]
    # the plan shows a category as delivered, trimmed (skills are compared in any case)
    assert plan_input.set_index("ticket_id")["category"].to_dict() == {
        "T1": "Billing", "T2": "billing", "T3": "billing", "T4": "shipping", "T5": "shipping",
    }  # fmt: skip


def test_the_classifier_trains_only_on_tickets_created_before_the_as_of_time(con):
    """Training rows: tickets with a category created before the as-of time (docs,
    Categorization), the most recent `limit` of them. The latest day's file may hold a
    ticket created after midnight (a day of slack): K5 at 00:30 is not training data, nor is
    K4, created exactly at the as-of time (not before it). With a limit of 2: K2 and K3."""
    created = [("K1", "2024-03-01 21:00"), ("K2", "2024-03-01 22:00"), ("K3", "2024-03-01 23:59"),
               ("K4", "2024-03-02 00:00"), ("K5", "2024-03-02 00:30")]  # fmt: skip
    tickets = _tickets(con, [
        {"ticket_id": ticket, "created_at": f"{at}:00+00", "subject": "invoice",
         "description": "help"}
        for ticket, at in created
    ])  # fmt: skip
    as_of = f"TIMESTAMPTZ '{AS_OF}'"
    every = con.execute(model_inputs.categorized_tickets_sql(tickets, as_of, 100)).df()
    newest = con.execute(model_inputs.categorized_tickets_sql(tickets, as_of, 2)).df()
    assert every["ticket_id"].tolist() == ["K1", "K2", "K3"]
    assert newest["ticket_id"].tolist() == ["K2", "K3"]


def test_the_plan_ranks_an_unanswered_ticket_by_its_first_response_deadline(con):
    """The SLA deadline is the first-response target while no response came, else the
    resolution target (docs, Assignment). Medium: 480 min / 2,880 min. T1, created 10:00 and
    unanswered: 18:00 the same day. T2, created 06:00 and answered at 07:00: 06:00 + 48 h,
    two days later. One free slot: T1 ranks first and takes it, T2 is outranked."""
    tickets = _tickets(con, [
        {"ticket_id": "T1", "agent_id": None, "created_at": "2024-03-01 10:00:00+00"},
        {"ticket_id": "T2", "agent_id": None, "created_at": "2024-03-01 06:00:00+00",
         "first_response_at": "2024-03-01 07:00:00+00"},
    ])  # fmt: skip
    con.execute(
        "CREATE TABLE predictions AS SELECT NULL AS ticket_id, NULL AS predicted_category "
        "WHERE FALSE"
    )
    open_tickets = con.execute(
        model_inputs.unassigned_open_tickets_sql(tickets, "predictions")
    ).df()
    deadlines = open_tickets.set_index("ticket_id")["sla_deadline"]
    assert deadlines["T1"] == pd.Timestamp("2024-03-01 18:00", tz="UTC")
    assert deadlines["T2"] == pd.Timestamp("2024-03-03 06:00", tz="UTC")
    agents = pd.DataFrame(
        {"agent_id": ["A1"], "skills": ["billing"], "max_open_tickets": [1], "open_tickets": [0]}
    )
    plan = assign.plan_assignments(open_tickets, agents).assignments.set_index("ticket_id")
    assert plan.loc["T1", "agent_id"] == "A1"
    assert pd.isna(plan.loc["T2", "agent_id"])
    assert plan.loc["T2", "reason"] == assign.OUTRANKED.format(category="billing")
