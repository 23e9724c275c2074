"""The queries support's own checks run (`checks.py`), on hand-worked rows in an in-memory
DuckDB: SLA flags that disagree with the rule, a plan that gives a ticket to an agent
without its skill or over capacity, misordered forecast intervals. How each check reports
its result is in `test_checks.py` (the SLA flags) and `test_model_checks.py` (the plan and the
forecast intervals)."""

from __future__ import annotations

import pandas as pd
import pytest

from cx_assets.support import model_inputs, rules
from cx_assets.support.models import assign
from cx_assets_tests.support.ticket_rows import AS_OF, ticket_analytics


def test_the_sla_check_query_finds_a_flag_that_disagrees(con):
    analytics = ticket_analytics(
        con,
        [
            {"ticket_id": "ok", "priority": "high", "created_at": "2024-02-20 08:00:00+00",
             "first_response_at": "2024-02-20 08:10:00+00"},
            {"ticket_id": "bad", "priority": "high", "created_at": "2024-02-20 08:00:00+00",
             "first_response_at": "2024-02-20 18:00:00+00"},
            # answered on its 240-minute target, not after it: not breached, and agreeing
            {"ticket_id": "on_target", "priority": "high", "created_at": "2024-02-20 08:00:00+00",
             "first_response_at": "2024-02-20 12:00:00+00"},
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
    assert len(con.execute(rules.sla_inconsistencies_sql("stored", as_of)).fetchall()) == 3
    # A priority the rules do not know has no targets to agree with (found by mutation
    # testing: such rows left out of the check passed every test).
    unknown = analytics.assign(priority=analytics["ticket_id"].map({"ok": "critical"}))
    con.register("stored", unknown.fillna({"priority": "high"}))
    assert con.execute(rules.sla_inconsistencies_sql("stored", as_of)).fetchall() == [("ok",)]


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


# The field each tampering makes disagree.
SLA_TAMPERED_FIELDS = {
    "first response minutes disagree with the timestamps": "first_response_minutes",
    "resolution minutes disagree with the timestamps": "resolution_minutes",
    "a resolution target not the priority's": "resolution_target_minutes",
    "a first-response target not the priority's": "first_response_target_minutes",
    "a first response flagged breached within its target": "first_response_breached",
    "a resolution flagged breached within its target": "resolution_breached",
    "an unanswered ticket past its target not flagged": "first_response_breached",
    "an unresolved ticket past its target not flagged": "resolution_breached",
}


@pytest.mark.parametrize("tampering", list(SLA_TAMPERINGS))
def test_the_sla_check_query_finds_each_kind_of_disagreement(con, tampering):
    analytics = ticket_analytics(
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
    # the check's failure names the field the tampering broke, and only that one
    examples = rules.sla_inconsistency_examples_sql("stored", as_of, 5)
    assert [(ticket, fields) for _, ticket, fields in con.execute(examples).fetchall()] == [
        ("tampered", [SLA_TAMPERED_FIELDS[tampering]])
    ]


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


def test_the_planner_lowers_a_skill_letter_by_letter_as_the_labels_and_the_check_do(con):
    """The classifier's labels and the plan's check lower a category in DuckDB, letter by
    letter: `İade` (Turkish for a return) is the label `iade`, and `ΠΛΗΡΩΜΕΣ` ends in `σ`.
    Python's str.lower() gave `i̇ade` (with a combining dot) and a final `ς`: a ticket
    predicted `iade` found 'no agent has the skill iade' beside an agent listing `İade` with
    room (seen in an audit run), and a `ΠΛΗΡΩΜΕΣ` ticket went to an agent listing
    `πληρωμες`, a ticket without its skill to the ERROR check."""
    key = model_inputs.category_key_sql("'İade'")
    label = con.execute(f"SELECT {key}").fetchall()[0][0]  # the classifier's label
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2"],
            "priority": ["high", "high"],
            "category": [label, "ΠΛΗΡΩΜΕΣ"],
            "sla_deadline": pd.Timestamp("2024-03-01 12:00", tz="UTC"),
        }
    )
    agents = pd.DataFrame(
        [("A1", "İade", 2, 0), ("A2", "πληρωμες", 2, 0)],
        columns=["agent_id", "skills", "max_open_tickets", "open_tickets"],
    )
    plan = assign.plan_assignments(tickets, agents).assignments
    assert dict(zip(plan["ticket_id"], plan["agent_id"], strict=True)) == {"T1": "A1", "T2": None}
    con.register("plan", plan)
    con.register("agents", agents)
    con.execute("CREATE TABLE tickets (ticket_id VARCHAR, agent_id VARCHAR, status VARCHAR)")
    assert con.execute(rules.plan_violations_sql("plan", "agents", "tickets")).fetchall() == [
        (0, 0)
    ]


def test_misordered_intervals_are_counted(con):
    """lo_95 <= lo_80 <= forecast <= hi_80 <= hi_95 must hold (docs: forecast_intervals_ordered).
    Misordered: a lo_80 above the forecast, a missing lo_95, an 80% interval reaching
    above the 95% one (hi_80 15 > hi_95 14, every other bound in order), and a forecast
    above its hi_80 (13 > 12; found by mutation testing: that pair left unchecked passed
    every test): 4."""
    con.execute(
        """CREATE TABLE forecast AS SELECT * FROM (VALUES
               (10.0, 8.0, 12.0, 6.0, 14.0), (10.0, 10.0, 10.0, 10.0, 10.0),
               (10.0, 11.0, 12.0, 6.0, 14.0), (10.0, 8.0, 12.0, NULL, 14.0),
               (10.0, 8.0, 15.0, 6.0, 14.0), (13.0, 8.0, 12.0, 6.0, 14.0))
           t(forecast, lo_80, hi_80, lo_95, hi_95)"""
    )
    assert con.execute(rules.misordered_intervals_sql("forecast")).fetchall() == [(4,)]


def test_the_plan_check_counts_unknown_or_skill_less_agents_and_agents_without_open_tickets(con):
    """A1 takes billing (written so), A2 has no skills (null), A3 shipping with no capacity;
    A1's one ticket is resolved, so nobody holds an open one. N1 and N2 (`Billing` and
    `billing`: skills compare in any case) fill A1 to 2 of 2; N3 goes to A2, without the
    skill; N4 to A9, no agent; N5 takes A3 over its 0. Without the skill: N3 and N4 (2);
    over capacity: A3 alone (1), though it holds no open ticket."""
    con.execute(
        """CREATE TABLE agents AS SELECT * FROM (VALUES
               ('A1', 'billing', 2), ('A2', NULL, 5), ('A3', 'shipping', 0))
               t(agent_id, skills, max_open_tickets);
           CREATE TABLE tickets AS SELECT * FROM (VALUES ('T1', 'A1', 'resolved'))
               t(ticket_id, agent_id, status);
           CREATE TABLE plan AS SELECT * FROM (VALUES
               ('N1', 'Billing', 'A1'), ('N2', 'billing', 'A1'), ('N3', 'billing', 'A2'),
               ('N4', 'billing', 'A9'), ('N5', 'shipping', 'A3')) t(ticket_id, category, agent_id);"""
    )
    assert con.execute(rules.plan_violations_sql("plan", "agents", "tickets")).fetchall() == [
        (2, 1)
    ]
