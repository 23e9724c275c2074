"""The SLA rules of the ticket analytics, run as the very SQL the asset runs on hand-worked
tickets in an in-memory DuckDB: minutes, targets and breaches at every priority (exactly on
target, a minute over, never answered before and after the as-of time), and the as-of time
itself."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cx_assets.support import rules
from cx_assets_tests.support.ticket_rows import AS_OF, ticket_analytics

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
    rows = ticket_analytics(con, [on_time, late])
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
    rows = ticket_analytics(
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
    rows = ticket_analytics(
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
    rows = ticket_analytics(
        con,
        [
            {"ticket_id": "t", "priority": "urgent", "created_at": "2024-03-01 23:30:00+00",
             "first_response_at": "2024-03-02 00:20:00+00"},
        ],
    )  # fmt: skip
    assert not rows.loc["t", "first_response_breached"]


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
