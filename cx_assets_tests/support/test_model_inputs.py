"""What the support models read and write (`model_inputs.py`), run as the very SQL the assets
run on hand-worked tickets in an in-memory DuckDB: the categories table at the review
threshold, a category counted whatever its case and spaces, the classifier's training rows
before the as-of time, and the plan's SLA deadlines."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from pydantic import ValidationError

from cx_assets.support import model_inputs
from cx_assets.support.model_assets import CategoriesConfig
from cx_assets.support.models import assign
from cx_assets_tests.support.ticket_rows import AS_OF, ticket_table


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


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), 60.0, -0.1])
def test_a_review_threshold_that_is_no_confidence_is_refused_naming_it(threshold):
    """The threshold is a confidence, 0-1. A NaN (`.nan` in the launchpad) failed the step
    in DuckDB's 'Referenced column "nan" not found' (and `.inf` on "inf"); 60, meant as
    60%, silently sent every ticket to review."""
    with pytest.raises(ValidationError, match="review_threshold"):
        CategoriesConfig(review_threshold=threshold)


@pytest.mark.parametrize("threshold", [0.0, 0.6, 1.0])
def test_a_review_threshold_from_0_to_1_is_kept(threshold):
    assert CategoriesConfig(review_threshold=threshold).review_threshold == threshold


def test_the_models_count_a_category_whatever_its_case_and_spaces(con):
    """`Billing`, `billing` and ` billing ` are one forecast series and one label to learn
    (they were two series); a blank category is predicted like a missing one."""
    delivered = [("T1", "Billing"), ("T2", "billing"), ("T3", " billing "), ("T4", "  "),
                 ("T5", None)]  # fmt: skip
    tickets = ticket_table(con, [
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
    tickets = ticket_table(con, [
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
    tickets = ticket_table(con, [
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


def test_each_agent_holds_its_open_and_pending_tickets_and_one_without_any_0(con):
    """The plan's agents: A1 holds T1 (open) and T2 (pending), not T3 (resolved); A2 holds
    none and is kept with 0; T4, open without an agent, is nobody's."""
    con.execute(
        """CREATE TABLE agents AS SELECT * FROM (VALUES
               ('A2', 'billing', 3), ('A1', 'returns', 4)) t(agent_id, skills, max_open_tickets);
           CREATE TABLE tickets AS SELECT * FROM (VALUES
               ('T1', 'A1', 'open'), ('T2', 'A1', 'pending'), ('T3', 'A1', 'resolved'),
               ('T4', NULL, 'open')) t(ticket_id, agent_id, status);"""
    )
    assert con.execute(model_inputs.agent_capacity_sql("agents", "tickets")).fetchall() == [
        ("A1", "returns", 4, 2),
        ("A2", "billing", 3, 0),
    ]
