"""Customer insights, run as the very SQL the asset runs on hand-worked tickets in an
in-memory DuckDB: a customer's tickets, CSAT and breach share, and the segment rules of
docs/support.md in their documented order and at their boundaries."""

from __future__ import annotations

import pandas as pd
import pytest

from cx_assets.support import rules
from cx_assets_tests.support.ticket_rows import ticket_analytics


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
    analytics = ticket_analytics(con, rows).reset_index()
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
    # delighted: mean_csat >= 4.5 and no breached ticket; (4 + 5) / 2 is exactly 4.5
    "a mean CSAT of exactly 4.5 without a breach is delighted": (
        {"C": [("ok", 4), ("ok", 5)]}, 0.0, "delighted"),
    # CSAT 5 with 1 of 3 breached is
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
    con.register("analytics", ticket_analytics(con, rows).reset_index())
    con.execute(
        "CREATE TABLE customers AS SELECT 'C' AS customer_id, 'Pro' AS plan, 'NA' AS region"
    )
    insights = con.execute(rules.customer_insights_sql("analytics", "customers")).df()
    c = insights.set_index("customer_id").loc["C"]
    assert c["breach_share"] == pytest.approx(breach_share)
    assert c["segment"] == segment
