"""The leakage rules on hand-worked rows: the SQL of `cx_assets.digital.rules` (the window,
repeat calls, members, silver's masking), run in an in-memory DuckDB on tables shaped like
the silver tables (one implementation)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from cx_assets.digital import rules
from cx_assets.digital.actions import (
    DEFAULT_ABANDON_ACTION,
    DEFAULT_ACTION_TEMPLATES,
    DEFAULT_FALLBACK_ACTION,
    ActionTemplate,
)
from cx_assets.digital.rules import DigitalRules
from cx_assets_tests.digital.silver_rows import DAY, NOON

# --------------------------------------------------------------------------- the window


def test_exactly_30_minutes_counts_and_31_does_not(silver):
    silver.event(NOON - timedelta(minutes=30), member="M1")
    inside = silver.call(NOON, member="M1")
    silver.event(NOON - timedelta(minutes=31), member="M2")
    silver.call(NOON, member="M2")
    leakage = silver.leakage()
    assert list(leakage["call_id"]) == [inside]
    assert leakage.loc[0, "time_to_call_minutes"] == 30.0


def test_time_to_call_is_not_rounded(silver):
    silver.event(NOON - timedelta(minutes=12, seconds=20))
    silver.call(NOON)
    assert silver.leakage().loc[0, "time_to_call_minutes"] == pytest.approx(12 + 20 / 60, abs=1e-12)


def test_reason_must_match_the_journey_type(silver):
    silver.event(NOON - timedelta(minutes=5), journey_type="pharmacy", code="RX_NOT_FOUND")
    silver.call(NOON, reason="billing")
    assert silver.leakage().empty


def test_reason_mapping_and_window_are_configurable(silver):
    silver.event(NOON - timedelta(minutes=5), journey_type="billing")
    silver.call(NOON, reason="payments", member="M1")
    silver.event(NOON - timedelta(minutes=20), journey_type="id_card", member="M2", code="X")
    silver.call(NOON, reason="id_card", member="M2")
    config = DigitalRules(
        reason_to_journey_type={"payments": "billing", "id_card": None},
        leakage_window_minutes=10,
    )
    leakage = silver.leakage(config=config)
    assert list(leakage["call_reason"]) == ["payments"]
    assert list(leakage["journey_type"]) == ["billing"]
    # Identical names by default: "payments" matches nothing, id_card is inside 30 minutes.
    assert list(silver.leakage()["call_reason"]) == ["id_card"]


@pytest.mark.parametrize("action", ["start", "view", "submit", "complete"])
def test_only_abandon_and_error_lead_to_leakage(silver, action):
    silver.event(NOON - timedelta(minutes=5), action=action)
    silver.call(NOON)
    assert silver.leakage().empty


def test_an_abandon_counts_with_no_error_code(silver):
    silver.event(NOON - timedelta(minutes=5), action="abandon")
    silver.call(NOON)
    leakage = silver.leakage()
    assert list(leakage["event_action"]) == ["abandon"]
    assert leakage["error_code"].isna().all()


def test_a_call_before_the_event_is_not_leakage(silver):
    silver.call(NOON)
    silver.event(NOON + timedelta(minutes=1))
    assert silver.leakage().empty


def test_an_event_at_the_same_instant_as_the_call_counts(silver):
    silver.event(NOON)
    silver.call(NOON)
    assert silver.leakage()["time_to_call_minutes"].tolist() == [0.0]


def test_other_members_events_do_not_count(silver):
    silver.event(NOON - timedelta(minutes=5), member="M2")
    silver.call(NOON, member="M1")
    assert silver.leakage().empty


def test_two_qualifying_events_count_once_against_the_latest(silver):
    silver.event(NOON - timedelta(minutes=25), code="CARD_DECLINED", session="S1")
    silver.event(NOON - timedelta(minutes=10), code="PAY_TIMEOUT", session="S2", device="desktop")
    silver.event(NOON + timedelta(minutes=2), code="LATER", session="S3")
    call = silver.call(NOON)
    leakage = silver.leakage()
    assert list(leakage["call_id"]) == [call]
    row = leakage.iloc[0]
    assert (row["error_code"], row["session_id"], row["device_type"]) == (
        "PAY_TIMEOUT",
        "S2",
        "desktop",
    )
    assert row["time_to_call_minutes"] == 10.0


def test_events_at_the_same_instant_count_against_the_later_landed_one(silver):
    """Each member's call at noon follows two errors at 11:55; the tie goes to the
    later-landed record. M1: lines 2 and 3 of one file, A then B: B. M2: D in the day's file,
    C in the day before's (timed into the day, as a file's records may be): D, the later
    day, though on a later line. M3: F in b.csv, E on a later line of a.csv: F, the later
    file of the day."""
    before = NOON - timedelta(minutes=5)
    silver.event(before, member="M1", code="A")
    silver.event(before, member="M1", code="B")
    silver.event(before, member="M2", code="D")
    silver.event(before, member="M2", code="C", day=DAY - timedelta(days=1))
    silver.event(before, member="M3", code="F", file="b.csv")
    silver.event(before, member="M3", code="E", file="a.csv")
    for member in ("M1", "M2", "M3"):
        silver.call(NOON, member=member)
    leakage = silver.leakage()
    assert leakage.set_index("member_id")["error_code"].to_dict() == {
        "M1": "B",
        "M2": "D",
        "M3": "F",
    }


def test_an_event_late_on_the_day_before_leads_to_a_call_after_midnight(silver):
    midnight = datetime(2024, 1, 8)
    silver.event(midnight - timedelta(minutes=12), day=date(2024, 1, 7))
    call = silver.call(midnight + timedelta(minutes=8))
    leakage = silver.leakage(days=(DAY,))
    assert list(leakage["call_id"]) == [call]
    assert leakage.loc[0, "date"] == pd.Timestamp(DAY)
    assert leakage.loc[0, "event_date"] == pd.Timestamp(date(2024, 1, 7))
    assert leakage.loc[0, "time_to_call_minutes"] == 20.0
    # The call belongs to its own day: the day of the event has no leakage.
    assert silver.leakage(days=(date(2024, 1, 7),)).empty


def test_only_the_days_asked_for_are_computed(silver):
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    silver.event(NOON + timedelta(days=1, minutes=-5))
    silver.call(NOON + timedelta(days=1))
    assert len(silver.leakage(days=(DAY,))) == 1
    assert len(silver.leakage(days=(DAY, DAY + timedelta(days=1)))) == 2


def test_a_call_is_matched_only_with_events_delivered_by_its_day_in_a_range_too(silver):
    """A call of DAY's file may be timed early the next day; the failure before it, in the
    next day's file, is not seen by a run of DAY alone, so a range must not see it either
    (a range and one-day runs gave different leakage, and the timeline lost the event)."""
    midnight = datetime(2024, 1, 9)
    silver.event(midnight, action="abandon", day=date(2024, 1, 9))
    silver.call(midnight + timedelta(minutes=10), day=DAY)
    assert silver.leakage(days=(DAY,)).empty
    assert silver.leakage(days=(DAY, date(2024, 1, 9))).empty


def test_a_range_finds_no_repeat_that_a_run_of_the_day_alone_cannot_see(silver):
    silver.call(NOON - timedelta(hours=2), day=date(2024, 1, 9))  # delivered a day late
    silver.event(NOON - timedelta(minutes=5))
    call = silver.call(NOON)
    alone = silver.leakage(days=(DAY,))
    ranged = silver.leakage(days=(DAY, date(2024, 1, 9)))
    assert alone["is_repeat_call"].tolist() == [False]
    assert ranged.loc[ranged["call_id"] == call, "is_repeat_call"].tolist() == [False]


# --------------------------------------------------------------------------- repeat calls


@pytest.mark.parametrize(
    ("earlier", "repeat"),
    [
        (timedelta(hours=1), True),
        (timedelta(days=6, hours=23), True),
        (timedelta(days=7), True),  # exactly 7 × 24 hours: inclusive
        (timedelta(days=7, seconds=1), False),
        (timedelta(days=8), False),
    ],
)
def test_repeat_call_within_seven_days(silver, earlier, repeat):
    silver.call(NOON - earlier, reason="billing")
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON, reason="billing")
    leakage = silver.leakage()
    assert leakage["is_repeat_call"].tolist() == [repeat]


def test_a_repeat_needs_the_same_member_and_reason(silver):
    silver.call(NOON - timedelta(days=2), reason="pharmacy")
    silver.call(NOON - timedelta(days=2), reason="billing", member="M2")
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    assert silver.leakage()["is_repeat_call"].tolist() == [False]


def test_calls_at_the_same_instant_are_not_each_others_repeats(silver):
    """A repeat needs a call strictly earlier (docs/digital.md): two billing calls at 12:00
    after an abandon at 11:50 are two leakage calls, neither a repeat."""
    silver.event(NOON - timedelta(minutes=10), action="abandon")
    silver.call(NOON)
    silver.call(NOON)
    assert silver.leakage()["is_repeat_call"].tolist() == [False, False]


def test_a_later_call_does_not_make_an_earlier_one_a_repeat(silver):
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    silver.call(NOON + timedelta(hours=2))
    assert silver.leakage()["is_repeat_call"].tolist() == [False]


# --------------------------------------------------------------------------- members


@pytest.mark.parametrize(
    ("plan", "tenure", "category"),
    [
        ("MAPD", 0, "MAPD New"),
        ("MAPD", 11, "MAPD New"),
        ("MAPD", 12, "MAPD Tenured"),
        ("mapd", 40, "MAPD Tenured"),
        ("Commercial", 3, "Commercial"),
        ("Medicaid", 3, "Other"),
    ],
)
def test_member_category(plan, tenure, category):
    con = duckdb.connect()
    sql = rules.member_category_sql("plan", "tenure")
    assert (
        con.execute(
            f"SELECT {sql} FROM (SELECT ? AS plan, ? AS tenure)", [plan, tenure]
        ).fetchone()[0]
        == category
    )


def test_member_category_is_the_one_delivered_by_the_calls_day(silver):
    silver.member("M1", "MAPD", 3, day=date(2024, 1, 1))
    silver.member("M1", "Commercial", 3, day=date(2024, 1, 8), line=2)
    silver.member("M1", "MAPD", 30, day=date(2024, 1, 8), line=3)  # later line of the day wins
    silver.member("M1", "Medicaid", 3, day=date(2024, 1, 9))  # landed after the call's day
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    leakage = silver.leakage()
    assert leakage["member_category"].tolist() == ["MAPD Tenured"]
    assert leakage["member_found"].tolist() == [True]


def test_a_members_version_of_a_day_is_from_the_days_later_file(silver):
    """Two member files of one day: b.csv (MAPD, 3 months: MAPD New) is later than a.csv
    (Commercial), whatever their lines."""
    silver.member("M1", "Commercial", 3, day=DAY, line=9, file="a.csv")
    silver.member("M1", "MAPD", 3, day=DAY, line=2, file="b.csv")
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    assert silver.leakage()["member_category"].tolist() == ["MAPD New"]


def test_in_a_range_each_days_calls_take_the_member_version_delivered_by_their_day(silver):
    """M1 is MAPD with 3 months' tenure (MAPD New) from Jan 1, Commercial from the day
    after DAY: a run of both days gives DAY's call MAPD New and the next day's Commercial,
    as a run of each day alone does."""
    silver.member("M1", "MAPD", 3)
    silver.member("M1", "Commercial", 3, day=DAY + timedelta(days=1))
    for offset in range(2):
        silver.event(NOON + timedelta(days=offset, minutes=-5))
        silver.call(NOON + timedelta(days=offset))
    leakage = silver.leakage(days=(DAY, DAY + timedelta(days=1)))
    assert leakage["member_category"].tolist() == ["MAPD New", "Commercial"]


def test_an_unknown_member_is_other_and_flagged(silver):
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    leakage = silver.leakage()
    assert leakage["member_category"].tolist() == ["Other"]
    assert leakage["member_found"].tolist() == [False]


def test_error_messages_keep_no_contact_details():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-01-08' AS date, 'f.csv' AS source_file, "
        "2 AS line_number, 'M1' AS member_id, 'S1' AS session_id, "
        "TIMESTAMPTZ '2024-01-08 10:00:00+00' AS event_at, 'billing' AS journey_type, "
        "'error' AS action, 'web' AS device_type, 'E1' AS error_code, "
        "'card of ana@example.com declined, call +1 555 123 4567' AS error_message, "
        "NULL AS reject_reason"
    )
    (message, rule) = con.execute(rules.silver_journeys_sql("typed")).fetchone()[-2:]
    assert message == "card of [email] declined, call [phone]"
    assert rule is None  # on its delivery day


def test_an_ivr_path_keeps_no_contact_details():
    """A free-form path a telephony export may fill with the caller's callback number."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE typed AS SELECT * FROM (VALUES "
        "('main>billing>callback +55 11 94242-0150'), ('main>billing')) AS t(ivr_path)"
    )
    con.execute(
        "CREATE TABLE calls AS SELECT DATE '2024-01-08' AS date, 'f.csv' AS source_file, "
        "row_number() OVER () AS line_number, 'C' || line_number AS call_id, 'M1' AS member_id, "
        "TIMESTAMPTZ '2024-01-08 10:00:00+00' AS called_at, ivr_path, 60 AS handle_time_seconds, "
        "'A1' AS agent_id, 'billing' AS call_reason, 0.1 AS sentiment_score, "
        "'resolved' AS resolution_status, NULL AS reject_reason FROM typed"
    )
    paths = con.execute(f"SELECT ivr_path FROM ({rules.silver_calls_sql('calls')})").fetchall()
    assert paths == [("main>billing>callback [phone]",), ("main>billing",)]


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"fix_rates": (0.5, 0.25, 0.1)}, "fix_rates must be ordered low <= mid <= high"),
        ({"fix_rates": (0.1, 0.25, 1.5)}, "fix_rates must lie in 0-1"),
        ({"fix_rates": (-0.1, 0.25, 0.5)}, "fix_rates must lie in 0-1"),
        ({"fix_rates": (0.1, float("nan"), 0.5)}, "fix_rates must lie in 0-1"),
        ({"cost_per_call": -8.0}, "cost_per_call must be a finite number >= 0"),
        ({"cost_per_call": float("inf")}, "cost_per_call must be a finite number >= 0"),
        ({"cost_per_call": float("nan")}, "cost_per_call must be a finite number >= 0"),
    ],
)
def test_a_cost_model_that_breaks_the_savings_ranges_is_refused_saying_why(overrides, refusal):
    """Seen in a numbers audit: fix rates (0.5, 0.25, 0.1) gave a low saving above the high
    one, silently; a rate of 1.5 saved more than the leakage cost (the gold check failed at
    run time), and a NaN cost wrote SQL naming a column `nan` (a binder error mid-run)."""
    with pytest.raises(ValueError, match=re.escape(refusal)):
        DigitalRules(**overrides)


def test_equal_fix_rates_and_a_zero_cost_are_a_valid_cost_model():
    DigitalRules(cost_per_call=0.0, fix_rates=(0.0, 0.0, 1.0))
    DigitalRules(fix_rates=(0.3, 0.3, 0.3))


def _template(effort: str = "medium", fix_rate: float = 0.5) -> ActionTemplate:
    return ActionTemplate("Fix {error_code} on {device}", "Engineering", effort, fix_rate)


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"action_templates": {"PAY_TIMEOUT": _template(fix_rate=1.5)}}, "PAY_TIMEOUT"),
        ({"action_templates": {"PAY_TIMEOUT": _template(fix_rate=-0.1)}}, "fix_rate"),
        ({"action_templates": {"PAY_TIMEOUT": _template(fix_rate=float("nan"))}}, "fix_rate"),
        ({"action_templates": {"PAY_TIMEOUT": _template(effort="urgent")}}, "effort"),
        ({"abandon_action": _template(fix_rate=2.0)}, "abandon_action"),
        ({"fallback_action": _template(effort="")}, "fallback_action"),
        ({"device_focus_share": float("nan")}, "device_focus_share must lie in 0-1"),
        ({"device_focus_share": 1.5}, "device_focus_share must lie in 0-1"),
    ],
)
def test_an_action_template_that_breaks_the_recommendations_is_refused_saying_why(
    overrides, refusal
):
    """Seen in a models audit: a template's fix rate of 1.5, or an effort of 'urgent',
    failed leakage_action_recommendations' schema mid-run (fix_rate <= 1, effort low,
    medium or high), never written; a NaN fix rate (or focus share) wrote SQL naming a
    column `nan`, a binder error."""
    with pytest.raises(ValueError, match=re.escape(refusal)):
        DigitalRules(**overrides)


def test_templates_of_any_fix_rate_from_0_to_1_and_a_known_effort_are_kept():
    templates = {"A": _template("low", 0.0), "B": _template("high", 1.0)}
    assert DigitalRules(action_templates=templates, device_focus_share=1.0).action_templates
    # The focus share's ends are both kept: 0 targets the top device always, 1 only a
    # cause on one device alone.
    assert DigitalRules(device_focus_share=0.0).device_focus_share == 0.0


def test_every_error_code_the_portal_sends_has_a_template_of_its_own_naming_the_device():
    """A template keyed by a misspelt code is never used: its code falls to the fallback's
    "investigate and fix". Each action is filled in per root cause, its device included; the
    abandon template names the journey (an abandon has no error code to name)."""
    from cx_assets.synthetic.digital.shape import ERROR_MESSAGES

    assert set(DEFAULT_ACTION_TEMPLATES) == set(ERROR_MESSAGES)
    templates = [
        *DEFAULT_ACTION_TEMPLATES.values(),
        DEFAULT_ABANDON_ACTION,
        DEFAULT_FALLBACK_ACTION,
    ]
    assert [t.action for t in templates if "{device}" not in t.action] == []
    assert "{journey_type}" in DEFAULT_ABANDON_ACTION.action
    assert "{error_code}" not in DEFAULT_ABANDON_ACTION.action
    assert "{error_code}" in DEFAULT_FALLBACK_ACTION.action


@pytest.mark.parametrize(
    ("overrides", "journey_days", "call_days", "trend_days"),
    [
        # The defaults: 30 minutes reach into the day before; 168 hours are 7 days; a
        # week's trend compares 7 days ending the day with 7 before: 6 + 7 = 13 days back.
        ({}, 1, 7, 13),
        # A window of exactly one day (1,440 minutes, 24 hours) reaches one day back...
        ({"leakage_window_minutes": 1440, "repeat_window_hours": 24, "trend_days": 1}, 1, 1, 1),
        # ...a minute or an hour more, one day further: 1,441 / 1,440 and 49 / 24 rounded up.
        ({"leakage_window_minutes": 1441, "repeat_window_hours": 49, "trend_days": 2}, 2, 3, 3),
        # No window at all still reads the day before: a file's records may be timed up to
        # the end of the day after its day, so an event at a call's very instant may be in
        # the day before's file.
        ({"leakage_window_minutes": 0}, 1, 7, 13),
    ],
)
def test_the_days_read_back_cover_the_configured_windows(
    overrides, journey_days, call_days, trend_days
):
    """docs/digital.md: journeys read back ceil(window / 1 day) days, calls ceil(hours /
    24), at least one. Read back too few and a window longer than a day misses events."""
    config = DigitalRules(**overrides)
    assert (config.journey_lookback_days, config.call_lookback_days) == (journey_days, call_days)
    assert config.trend_lookback_days == trend_days
