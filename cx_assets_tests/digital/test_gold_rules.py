"""The digital gold tables' rules on hand-worked rows: the SQL of
`cx_assets.digital.gold_rules` over leakage calls the rules made of hand-made silver tables."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from cx_assets.digital import gold_rules, rules
from cx_assets.digital.actions import DEFAULT_FALLBACK_ACTION
from cx_assets.digital.rules import DigitalRules
from cx_assets_tests.digital.silver_rows import DAY, NOON, Silver
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order

# --------------------------------------------------------------------------- gold, per day


def _leak(silver: Silver, at: datetime, member: str, reason: str = "billing", **event) -> str:
    silver.event(at - timedelta(minutes=5), journey_type=reason, member=member, **event)
    return silver.call(at, reason=reason, member=member)


def test_segment_drilldown_and_root_cause(silver):
    silver.member("N1", "MAPD", 2)
    silver.member("N2", "MAPD", 2)
    silver.member("T1", "MAPD", 40)
    silver.call(NOON - timedelta(days=3), member="N1")  # makes N1's leakage call a repeat
    silver.call_rows[-1]["sentiment_score"] = None
    _leak(silver, NOON, "N1")
    _leak(silver, NOON + timedelta(hours=1), "N2", code="CARD_DECLINED")
    _leak(silver, NOON + timedelta(hours=2), "T1", action="abandon")
    silver.call_rows[-1]["sentiment_score"] = 0.5
    silver.leakage()
    drill = silver.query(gold_rules.segment_drilldown_sql("leakage")).set_index("member_category")
    assert drill.loc["MAPD New", "calls"] == 2
    assert drill.loc["MAPD New", "cost"] == 16.0
    assert drill.loc["MAPD New", "repeat_call_pct"] == 50.0
    assert drill.loc["MAPD New", "avg_sentiment"] == -0.5
    assert drill.loc["MAPD Tenured", "avg_sentiment"] == 0.5
    assert drill.loc["MAPD Tenured", "repeat_call_pct"] == 0.0
    causes = silver.query(gold_rules.root_cause_sql("leakage"))
    assert sorted(causes["pct"]) == pytest.approx([100 / 3] * 3)
    assert causes["error_code"].isna().sum() == 1  # the abandon
    assert causes["leakage_calls"].sum() == 3


def test_a_root_causes_pct_is_its_share_of_the_days_calls_of_its_journey_type(silver):
    """Billing on DAY: two PAY_TIMEOUT calls on the mobile app and one abandon, 3 in all:
    PAY_TIMEOUT holds 100 x 2 / 3 = 66.67%, the abandon 100 x 1 / 3 = 33.33%. An id_card
    call that day is of another type: 100% of its own."""
    _leak(silver, NOON, "M1", session="S1")
    _leak(silver, NOON + timedelta(hours=1), "M2", session="S2")
    _leak(silver, NOON + timedelta(hours=2), "M3", session="S3", action="abandon")
    _leak(silver, NOON + timedelta(hours=3), "M4", reason="id_card", session="S4")
    silver.leakage()
    causes = silver.query(gold_rules.root_cause_sql("leakage"))
    pct = {
        (row.journey_type, row.error_code, row.leakage_calls): row.pct
        for row in causes.itertuples()
    }
    assert pct == pytest.approx(
        {
            ("billing", "PAY_TIMEOUT", 2): 200 / 3,
            ("billing", None, 1): 100 / 3,
            ("id_card", "PAY_TIMEOUT", 1): 100.0,
        }
    )


def _summary(silver: Silver, day: date, config: DigitalRules = rules.DEFAULT_RULES) -> pd.DataFrame:
    sql = gold_rules.daily_summary_sql("leakage", "calls", [day], config)
    return silver.query(sql).set_index("journey_type")


def test_daily_summary_cost_segment_and_trend(silver):
    start = date(2024, 1, 1)
    silver.member("N1", "MAPD", 2)
    silver.member("C1", "Commercial", 2)
    # 14 days, each with calls; billing leakage: 2 a day in the first week, 3 a day after.
    for offset in range(14):
        noon = datetime.combine(start + timedelta(days=offset), NOON.time())
        for k in range(2 if offset < 7 else 3):
            _leak(silver, noon + timedelta(hours=k), "N1" if k else "C1")
        silver.call(noon + timedelta(hours=6), reason="claims", member="X")
    _leak(silver, datetime(2024, 1, 14, 20), "C1", reason="pharmacy")
    silver.leakage(days=[start + timedelta(days=o) for o in range(14)])
    summary = _summary(silver, date(2024, 1, 14))
    billing = summary.loc["billing"]
    assert billing["leakage_calls"] == 3
    assert billing["daily_cost"] == 24.0
    assert billing["primary_segment"] == "MAPD New"
    assert billing["trend_pct"] == pytest.approx(100 * (21 - 14) / 14)
    # No pharmacy leakage in the week before: no trend (0 denominator).
    assert summary.loc["pharmacy", "leakage_calls"] == 1
    assert pd.isna(summary.loc["pharmacy", "trend_pct"])
    # Day 13 has no 14 days of history behind it.
    assert pd.isna(_summary(silver, date(2024, 1, 13)).loc["billing", "trend_pct"])
    # A 2-day trend is configurable: days 13-14 (3+3) vs 11-12 (3+3).
    short = _summary(silver, date(2024, 1, 14), DigitalRules(trend_days=2))
    assert short.loc["billing", "trend_pct"] == 0.0


def test_a_tie_for_the_primary_segment_goes_to_the_first_alphabetically(silver):
    """One billing leakage call from a MAPD New member, one from a Commercial member: the
    tie goes to `Commercial` (docs/digital.md)."""
    silver.member("N1", "MAPD", 2)
    silver.member("C1", "Commercial", 2)
    _leak(silver, NOON, "N1")
    _leak(silver, NOON + timedelta(hours=1), "C1")
    silver.leakage()
    assert _summary(silver, DAY).loc["billing", "primary_segment"] == "Commercial"


def test_daily_summary_keeps_a_type_that_stopped_leaking(silver):
    start = date(2024, 1, 1)
    for offset in range(14):
        noon = datetime.combine(start + timedelta(days=offset), NOON.time())
        silver.call(noon, reason="claims", member="X")
        if offset < 7:
            _leak(silver, noon + timedelta(hours=1), "M1", reason="id_card", code="PDF_RENDER")
    silver.leakage(days=[start + timedelta(days=o) for o in range(14)])
    row = _summary(silver, date(2024, 1, 14)).loc["id_card"]
    assert row["leakage_calls"] == 0 and row["daily_cost"] == 0.0
    assert pd.isna(row["primary_segment"])
    assert row["trend_pct"] == -100.0


def test_daily_summary_of_an_empty_day_has_no_rows(silver):
    silver.leakage()
    assert _summary(silver, DAY).empty


def test_timeline_tells_the_story_in_order(silver):
    midnight = datetime(2024, 1, 8)
    start = midnight - timedelta(minutes=20)
    silver.event(start, action="start", session="S1", day=date(2024, 1, 7))
    silver.event(start + timedelta(minutes=5), action="error", session="S1", day=date(2024, 1, 7))
    silver.event(start + timedelta(minutes=6), action="error", session="S1", day=date(2024, 1, 7))
    silver.event(midnight - timedelta(hours=3), action="start", session="S0", day=date(2024, 1, 7))
    call = silver.call(midnight + timedelta(minutes=4))
    silver.call(midnight + timedelta(hours=5), reason="claims")
    silver.event(
        midnight + timedelta(hours=6), action="complete", session="S2", journey_type="id_card"
    )
    silver.call(NOON, member="M9", reason="claims")  # not a leaking member
    silver.leakage()
    sql = gold_rules.journey_timeline_sql("leakage", "journeys", "calls", [DAY])
    timeline = silver.query(sql)
    assert timeline["sequence"].tolist() == [1, 2, 3, 4, 5, 6]
    assert set(timeline["member_id"]) == {"M1"}
    assert timeline["event_kind"].tolist() == ["journey_event"] * 3 + [
        "call",
        "call",
        "journey_event",
    ]
    assert timeline["is_attributed_event"].tolist() == [False, False, True, False, False, False]
    assert timeline["is_leakage_call"].tolist() == [False, False, False, True, False, False]
    leak = timeline[timeline["call_id"] == call].iloc[0]
    assert leak["time_to_call_minutes"] == 18.0 and leak["journey_type"] == "billing"
    assert "S0" not in set(timeline["session_id"])  # the day before, not the attributed session


def test_an_event_two_calls_were_attributed_to_is_told_once(silver):
    """M1's error at 11:55, then calls at 12:00 and 12:10, both leakage calls counted
    against that one error: the story is the error once, then the two calls (3 rows)."""
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    silver.call(NOON + timedelta(minutes=10))
    silver.leakage()
    timeline = silver.query(gold_rules.journey_timeline_sql("leakage", "journeys", "calls", [DAY]))
    assert timeline["event_kind"].tolist() == ["journey_event", "call", "call"]
    assert timeline["is_attributed_event"].tolist() == [True, False, False]
    assert timeline["is_leakage_call"].tolist() == [False, True, True]


def test_two_members_leaking_on_one_day_each_have_their_own_calls_once(silver):
    """M1 and M2 each leak once on DAY (an error, then a call 5 minutes later): each one's
    story is their own event and call, sequence 1, 2; neither holds the other's call."""
    first = _leak(silver, NOON, "M1", session="S1")
    second = _leak(silver, NOON + timedelta(hours=1), "M2", session="S2")
    silver.leakage()
    timeline = silver.query(gold_rules.journey_timeline_sql("leakage", "journeys", "calls", [DAY]))
    story = {
        member: rows[["sequence", "event_kind", "call_id"]].values.tolist()
        for member, rows in timeline.groupby("member_id")
    }
    assert story == {
        "M1": [[1, "journey_event", None], [2, "call", first]],
        "M2": [[1, "journey_event", None], [2, "call", second]],
    }


def test_an_event_and_a_call_at_the_same_instant_tell_the_cause_first(silver):
    """An error at 12:00:00 and the call it led to at 12:00:00 (0 minutes to call): the
    journey event comes first in the story, then the call."""
    silver.event(NOON)
    silver.call(NOON)
    silver.leakage()
    sql = gold_rules.journey_timeline_sql("leakage", "journeys", "calls", [DAY])
    timeline = silver.query(sql)
    assert timeline["event_kind"].tolist() == ["journey_event", "call"]
    assert timeline["sequence"].tolist() == [1, 2]
    assert timeline["time_to_call_minutes"].tolist()[1] == 0.0


def test_a_timeline_in_a_range_holds_what_a_run_of_the_day_alone_holds(silver):
    """The attributed session's events are read from the day and the day before, whatever
    else a range run reads: a session begun two days before the call's loses its first
    event in both."""
    midnight = datetime(2024, 1, 8)
    silver.event(midnight - timedelta(days=1, hours=1), action="start", day=date(2024, 1, 6))
    silver.event(midnight - timedelta(minutes=5), action="error", day=date(2024, 1, 7))
    silver.call(midnight + timedelta(minutes=5))
    days = (date(2024, 1, 6), date(2024, 1, 7), DAY)
    silver.leakage(days=days)
    columns = ["member_id", "sequence", "event_kind", "event_at", "action", "session_id"]
    ranged = silver.query(gold_rules.journey_timeline_sql("leakage", "journeys", "calls", days))
    ranged = ranged[ranged["date"] == pd.Timestamp(DAY)][columns].reset_index(drop=True)
    silver.leakage(days=(DAY,))
    # What a run of DAY alone reads: journeys of the day and the day before.
    read = "(SELECT * FROM journeys WHERE date >= DATE '2024-01-07')"
    alone = silver.query(gold_rules.journey_timeline_sql("leakage", read, "calls", [DAY]))[columns]
    pd.testing.assert_frame_equal(ranged, alone)
    assert ranged["action"].tolist() == ["error", None]


# --------------------------------------------------------------------------- gold, whole history


def test_savings_formula(silver):
    # 3 materialized days; billing leaks 2 + 0 + 1 = 3 times, id_card once.
    for offset in range(3):
        silver.call(NOON + timedelta(days=offset, hours=5), reason="claims", member="X")
    _leak(silver, NOON, "M1")
    _leak(silver, NOON + timedelta(hours=1), "M2")
    _leak(silver, NOON + timedelta(days=2), "M1")
    _leak(silver, NOON + timedelta(days=2, hours=3), "M3", reason="id_card", code="PDF_RENDER")
    silver.leakage(days=[DAY + timedelta(days=o) for o in range(3)])
    model = silver.query(gold_rules.savings_model_sql("leakage", 3)).set_index("journey_type")
    billing = model.loc["billing"]
    assert billing["observed_days"] == 3 and billing["total_leakage_calls"] == 3
    assert billing["avoidable_calls_per_day"] == 1.0
    assert billing["annualized_cost"] == 1.0 * 8 * 365 == 2920.0
    assert (
        billing["savings_low_fix"],
        billing["savings_mid_fix"],
        billing["savings_high_fix"],
    ) == (
        pytest.approx(292.0),
        pytest.approx(730.0),
        pytest.approx(1460.0),
    )
    assert model.loc["id_card", "avoidable_calls_per_day"] == pytest.approx(1 / 3)
    assert model.loc["id_card", "annualized_cost"] == pytest.approx(8 * 365 / 3)
    custom = DigitalRules(cost_per_call=10.0, fix_rates=(0.2, 0.3, 0.4))
    billing = silver.query(gold_rules.savings_model_sql("leakage", 3, custom)).iloc[0]
    assert billing["annualized_cost"] == 3650.0
    assert billing["savings_high_fix"] == pytest.approx(1460.0)
    assert billing["high_fix_rate"] == 0.4


def test_savings_over_one_materialized_day_are_that_days_calls(silver):
    """One materialized day, billing leaking twice: 2 calls / 1 day = 2 a day, 2 x $8 x 365
    = $5,840 a year; at 10% 584.0. (A day count of 1 is no empty denominator.)"""
    _leak(silver, NOON, "M1")
    _leak(silver, NOON + timedelta(hours=1), "M2")
    silver.leakage()
    (billing,) = silver.query(gold_rules.savings_model_sql("leakage", 1)).itertuples()
    assert (billing.observed_days, billing.avoidable_calls_per_day) == (1, 2.0)
    assert billing.annualized_cost == 5840.0
    assert billing.savings_low_fix == pytest.approx(584.0)


def test_the_five_largest_causes_get_an_action_by_default(silver):
    """Six unknown error codes of billing, one call each (docs/digital.md: the 5 largest
    causes). Each saves 1 call / 1 day x $8 x 365 x the fallback's 25% = $730; the tie goes
    by code, so E6 is the one left without an action."""
    for k in range(6):
        _leak(silver, NOON + timedelta(hours=k), f"M{k}", code=f"E{k + 1}")
    silver.leakage()
    actions = silver.query(gold_rules.action_recommendations_sql("leakage", 1))
    assert actions["error_code"].tolist() == ["E1", "E2", "E3", "E4", "E5"]
    assert actions["estimated_annual_savings"].tolist() == [pytest.approx(730.0)] * 5


def test_action_recommendations_rank_the_largest_root_causes(silver):
    for offset in range(2):
        silver.call(NOON + timedelta(days=offset, hours=5), reason="claims", member="X")
    for k in range(4):  # PAY_TIMEOUT: 4 calls on mobile_app, 1 on desktop (80%: one device)
        _leak(silver, NOON + timedelta(hours=k), f"P{k}")
    _leak(silver, NOON + timedelta(hours=4), "P9", device="desktop")
    for k, device in enumerate(["desktop", "mobile_web", "mobile_app"]):  # spread: all devices
        _leak(
            silver,
            NOON + timedelta(days=1, hours=k),
            f"R{k}",
            reason="pharmacy",
            code="RX_NOT_FOUND",
            device=device,
        )
    for k in range(3):  # abandons on desktop: 3 calls
        _leak(
            silver,
            NOON + timedelta(days=1, hours=5 + k),
            f"A{k}",
            action="abandon",
            device="desktop",
        )
    for k in range(2):  # an unknown code: 2 calls
        _leak(silver, NOON + timedelta(days=1, hours=9 + k), f"U{k}", code="NEW_BUG")
    _leak(silver, NOON + timedelta(hours=9), "Z", code="CARD_DECLINED")  # 1 call: cut at 4
    silver.leakage(days=[DAY, DAY + timedelta(days=1)])
    config = DigitalRules(max_actions=4)
    actions = silver.query(gold_rules.action_recommendations_sql("leakage", 2, config))
    assert actions["rank"].tolist() == [1, 2, 3, 4]
    by_code = actions.set_index(actions["error_code"].fillna("(abandon)"))
    top = actions.iloc[0]
    assert (top["error_code"], top["device_type"], top["leakage_calls"]) == (
        "PAY_TIMEOUT",
        "mobile_app",
        4,
    )
    assert top["owner"] == "Payments Engineering" and top["effort"] == "medium"
    assert "on mobile_app" in top["action"]
    assert top["estimated_annual_savings"] == pytest.approx(4 / 2 * 8 * 365 * 0.5)
    spread = by_code.loc["RX_NOT_FOUND"]
    assert pd.isna(spread["device_type"]) and spread["leakage_calls"] == 3
    assert "all devices" in spread["action"]
    assert spread["estimated_annual_savings"] == pytest.approx(3 / 2 * 8 * 365 * 0.35)
    abandon = by_code.loc["(abandon)"]
    assert abandon["owner"] == "Digital Product & UX Research"
    assert abandon["action"] == (
        "Run a UX review of where members abandon the billing journey on desktop "
        "and simplify those steps"
    )
    assert abandon["device_type"] == "desktop"
    assert abandon["estimated_annual_savings"] == pytest.approx(3 / 2 * 8 * 365 * 0.2)
    unknown = by_code.loc["NEW_BUG"]
    assert "NEW_BUG" in unknown["action"] and "billing" in unknown["action"]
    assert unknown["fix_rate"] == DEFAULT_FALLBACK_ACTION.fix_rate
    assert "CARD_DECLINED" not in by_code.index
    # Ranked by estimated savings, not by calls.
    assert actions["estimated_annual_savings"].is_monotonic_decreasing
    # The device focus is configurable: at 90% PAY_TIMEOUT is an every-device cause.
    wide = silver.query(
        gold_rules.action_recommendations_sql("leakage", 2, DigitalRules(device_focus_share=0.9))
    ).set_index("error_code")
    assert pd.isna(wide.loc["PAY_TIMEOUT", "device_type"])
    assert wide.loc["PAY_TIMEOUT", "leakage_calls"] == 5


def test_a_cause_on_one_device_at_exactly_the_focus_share_targets_that_device(silver):
    """PAY_TIMEOUT: 3 calls on mobile_app, 2 on desktop over 2 days: 60%, the default focus
    share, so the action targets mobile_app with its 3 calls: 3 / 2 days x $8 x 365 x 50%."""
    for offset in range(2):
        silver.call(NOON + timedelta(days=offset, hours=5), reason="claims", member="X")
    for k in range(3):
        _leak(silver, NOON + timedelta(hours=k), f"P{k}")
    for k in range(2):
        _leak(silver, NOON + timedelta(days=1, hours=k), f"D{k}", device="desktop")
    silver.leakage(days=[DAY, DAY + timedelta(days=1)])
    (action,) = silver.query(gold_rules.action_recommendations_sql("leakage", 2)).itertuples()
    assert (action.device_type, action.leakage_calls) == ("mobile_app", 3)
    assert action.estimated_annual_savings == pytest.approx(3 / 2 * 8 * 365 * 0.5)


def test_the_causes_kept_are_the_largest_by_the_calls_an_action_would_address(silver):
    """With one action: PAY_TIMEOUT has 6 calls but 4 on mobile_app (67%, one device: 4 to
    address); RX_NOT_FOUND has 2 + 2 + 1 on three devices (spread: 5). RX_NOT_FOUND's 5 is
    the larger, though PAY_TIMEOUT has more calls in all."""
    silver.call(NOON + timedelta(hours=20), reason="claims", member="X")
    for k, device in enumerate(["mobile_app"] * 4 + ["desktop"] * 2):
        _leak(silver, NOON + timedelta(minutes=40 * k), f"P{k}", device=device)
    for k, device in enumerate(["desktop", "desktop", "mobile_web", "mobile_web", "mobile_app"]):
        _leak(
            silver,
            NOON + timedelta(hours=6, minutes=40 * k),
            f"R{k}",
            reason="pharmacy",
            code="RX_NOT_FOUND",
            device=device,
        )
    silver.leakage()
    config = DigitalRules(max_actions=1, action_templates={})  # one fix rate for both
    (action,) = silver.query(
        gold_rules.action_recommendations_sql("leakage", 1, config)
    ).itertuples()
    assert (action.error_code, action.leakage_calls) == ("RX_NOT_FOUND", 5)


def test_leakage_share_per_day(silver):
    _leak(silver, NOON, "M1")
    silver.call(NOON + timedelta(hours=1), reason="claims")
    silver.call(NOON + timedelta(hours=2), reason="claims")
    silver.call(NOON + timedelta(hours=3), reason="claims")
    silver.leakage()
    sql = gold_rules.leakage_share_sql("leakage", "calls").format(days="date IS NOT NULL")
    assert silver.query(sql)["ratio"].tolist() == [0.25]


def test_a_day_of_calls_without_leakage_has_a_share_of_zero(silver):
    """Calls but no journey events (their file never came): the share is 0, a row the band
    check warns about, not a day without a ratio."""
    for hours in range(3):
        silver.call(NOON + timedelta(hours=hours), reason="claims")
    silver.leakage()
    sql = gold_rules.leakage_share_sql("leakage", "calls").format(days="date IS NOT NULL")
    assert silver.query(sql)["ratio"].tolist() == [0.0]


def test_a_segments_mean_sentiment_is_the_same_to_the_last_digit_whatever_order_calls_come_in():
    leakage = pd.DataFrame(
        {
            "date": date(2024, 1, 8),
            "journey_type": "billing",
            "member_category": "MAPD New",
            "is_repeat_call": False,
            "sentiment_score": ORDER_SENSITIVE,
        }
    )
    con = duckdb.connect()
    try:
        query = gold_rules.segment_drilldown_sql("leakage")
        assert len(results_in_every_order(con, leakage, "leakage", query)) == 1
    finally:
        con.close()


def test_two_errors_of_a_session_in_the_same_second_keep_their_sequence_whatever_the_row_order(
    silver,
):
    """A session logging two errors in one second (two codes, or the same code on two
    devices) has them in the timeline in one order, however the journey rows are stored: the
    sequence left the tie to the order rows reached the window, which a run's threads change."""
    silver.event(NOON - timedelta(minutes=5), code="PAY_TIMEOUT")
    silver.event(NOON - timedelta(minutes=5), code="CARD_DECLINED")
    silver.event(NOON - timedelta(minutes=5), code="CARD_DECLINED", device="desktop_web")
    silver.call(NOON)
    silver.leakage()
    sql = gold_rules.journey_timeline_sql("leakage", "journeys", "calls", [DAY])
    silver.con.execute("SET threads = 1")  # rows reach the window in the stored order
    timelines = set()
    for order in ("line_number", "line_number DESC", "error_code, device_type DESC"):
        silver.con.execute(f"CREATE OR REPLACE TABLE journeys AS FROM journeys ORDER BY {order}")
        timeline = silver.query(sql)[["sequence", "device_type", "error_code"]]
        timelines.add(tuple(map(tuple, timeline.itertuples(index=False))))
    assert len(timelines) == 1
