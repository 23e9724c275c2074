"""The leakage rules on hand-worked rows: the SQL of `cx_assets.digital.rules`, run in an
in-memory DuckDB on tables shaped like the silver tables (one implementation)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from cx_assets.digital import rules
from cx_assets.digital.rules import DigitalRules
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order

DAY = date(2024, 1, 8)
NOON = datetime(2024, 1, 8, 12, 0, 0)


def _ts(value: datetime) -> str:
    return value.isoformat(sep=" ")


class Silver:
    """Hand-made silver tables in an in-memory DuckDB."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.journey_rows: list[dict] = []
        self.call_rows: list[dict] = []
        self.member_rows: list[dict] = []

    def event(
        self,
        at: datetime,
        action: str = "error",
        journey_type: str = "billing",
        member: str = "M1",
        session: str = "S1",
        code: str | None = "PAY_TIMEOUT",
        device: str = "mobile_app",
        day: date | None = None,
    ) -> None:
        self.journey_rows.append(
            {
                "date": day or at.date(),
                "source_file": "journeys.csv",
                "line_number": len(self.journey_rows) + 2,
                "member_id": member,
                "session_id": session,
                "event_at": _ts(at),
                "journey_type": journey_type,
                "action": action,
                "device_type": device,
                "error_code": code if action == "error" else None,
            }
        )

    def call(
        self,
        at: datetime,
        reason: str = "billing",
        member: str = "M1",
        call_id: str | None = None,
        sentiment: float | None = -0.5,
        day: date | None = None,
    ) -> str:
        call_id = call_id or f"C{len(self.call_rows) + 1}"
        self.call_rows.append(
            {
                "date": day or at.date(),
                "source_file": "calls.csv",
                "line_number": len(self.call_rows) + 2,
                "call_id": call_id,
                "member_id": member,
                "called_at": _ts(at),
                "call_reason": reason,
                "sentiment_score": sentiment,
                "handle_time_seconds": 300,
                "agent_id": "AGT0001",
                "resolution_status": "resolved",
            }
        )
        return call_id

    def member(
        self, member: str, plan: str, tenure: int, day: date = date(2024, 1, 1), line: int = 2
    ) -> None:
        self.member_rows.append(
            {
                "date": day,
                "source_file": "members.csv",
                "line_number": line,
                "member_id": member,
                "plan_type": plan,
                "tenure_months": tenure,
            }
        )

    def _load(self) -> None:
        journeys = pd.DataFrame(
            self.journey_rows,
            columns=[
                "date",
                "source_file",
                "line_number",
                "member_id",
                "session_id",
                "event_at",
                "journey_type",
                "action",
                "device_type",
                "error_code",
            ],
        )
        calls = pd.DataFrame(
            self.call_rows,
            columns=[
                "date",
                "source_file",
                "line_number",
                "call_id",
                "member_id",
                "called_at",
                "call_reason",
                "sentiment_score",
                "handle_time_seconds",
                "agent_id",
                "resolution_status",
            ],
        )
        members = pd.DataFrame(
            self.member_rows,
            columns=[
                "date",
                "source_file",
                "line_number",
                "member_id",
                "plan_type",
                "tenure_months",
            ],
        )
        for name, frame in (("journey_frame", journeys), ("call_frame", calls)):
            self.con.register(name, frame.astype({"date": "datetime64[ns]"}))
        self.con.register("member_frame", members.astype({"date": "datetime64[ns]"}))
        self.con.execute(
            """CREATE OR REPLACE TABLE journeys AS
               SELECT date::DATE AS date, source_file, line_number::BIGINT AS line_number,
                      member_id::VARCHAR AS member_id, session_id::VARCHAR AS session_id,
                      event_at::TIMESTAMPTZ AS event_at, journey_type::VARCHAR AS journey_type,
                      action::VARCHAR AS action, device_type::VARCHAR AS device_type,
                      error_code::VARCHAR AS error_code
               FROM journey_frame"""
        )
        self.con.execute(
            """CREATE OR REPLACE TABLE calls AS
               SELECT date::DATE AS date, source_file, line_number::BIGINT AS line_number,
                      call_id::VARCHAR AS call_id, member_id::VARCHAR AS member_id,
                      called_at::TIMESTAMPTZ AS called_at, call_reason::VARCHAR AS call_reason,
                      sentiment_score::DOUBLE AS sentiment_score,
                      handle_time_seconds::BIGINT AS handle_time_seconds,
                      agent_id::VARCHAR AS agent_id, resolution_status::VARCHAR AS resolution_status
               FROM call_frame"""
        )
        category = rules.member_category_sql("plan_type", "tenure_months")
        self.con.execute(
            f"""CREATE OR REPLACE TABLE members AS
                SELECT date::DATE AS date, source_file, line_number::BIGINT AS line_number,
                       member_id::VARCHAR AS member_id, plan_type::VARCHAR AS plan_type,
                       tenure_months::BIGINT AS tenure_months, {category} AS member_category
                FROM member_frame"""
        )

    def leakage(self, days=(DAY,), config: DigitalRules = rules.DEFAULT_RULES) -> pd.DataFrame:
        self._load()
        sql = rules.leakage_calls_sql("calls", "journeys", "members", list(days), config)
        self.con.execute(f"CREATE OR REPLACE TABLE leakage AS {sql}")
        return self.con.execute("SELECT * FROM leakage ORDER BY date, called_at").df()

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()


@pytest.fixture
def silver() -> Silver:
    return Silver()


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


def test_an_unknown_member_is_other_and_flagged(silver):
    silver.event(NOON - timedelta(minutes=5))
    silver.call(NOON)
    leakage = silver.leakage()
    assert leakage["member_category"].tolist() == ["Other"]
    assert leakage["member_found"].tolist() == [False]


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
    drill = silver.query(rules.segment_drilldown_sql("leakage")).set_index("member_category")
    assert drill.loc["MAPD New", "calls"] == 2
    assert drill.loc["MAPD New", "cost"] == 16.0
    assert drill.loc["MAPD New", "repeat_call_pct"] == 50.0
    assert drill.loc["MAPD New", "avg_sentiment"] == -0.5
    assert drill.loc["MAPD Tenured", "avg_sentiment"] == 0.5
    assert drill.loc["MAPD Tenured", "repeat_call_pct"] == 0.0
    causes = silver.query(rules.root_cause_sql("leakage"))
    assert sorted(causes["pct"]) == pytest.approx([100 / 3] * 3)
    assert causes["error_code"].isna().sum() == 1  # the abandon
    assert causes["leakage_calls"].sum() == 3


def _summary(silver: Silver, day: date, config: DigitalRules = rules.DEFAULT_RULES) -> pd.DataFrame:
    sql = rules.daily_summary_sql("leakage", "calls", [day], config)
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
    sql = rules.journey_timeline_sql("leakage", "journeys", "calls", [DAY])
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
    ranged = silver.query(rules.journey_timeline_sql("leakage", "journeys", "calls", days))
    ranged = ranged[ranged["date"] == pd.Timestamp(DAY)][columns].reset_index(drop=True)
    silver.leakage(days=(DAY,))
    # What a run of DAY alone reads: journeys of the day and the day before.
    read = "(SELECT * FROM journeys WHERE date >= DATE '2024-01-07')"
    alone = silver.query(rules.journey_timeline_sql("leakage", read, "calls", [DAY]))[columns]
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
    model = silver.query(rules.savings_model_sql("leakage", 3)).set_index("journey_type")
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
    billing = silver.query(rules.savings_model_sql("leakage", 3, custom)).iloc[0]
    assert billing["annualized_cost"] == 3650.0
    assert billing["savings_high_fix"] == pytest.approx(1460.0)
    assert billing["high_fix_rate"] == 0.4


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
    actions = silver.query(rules.action_recommendations_sql("leakage", 2, config))
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
    assert abandon["owner"] == rules.DEFAULT_ABANDON_ACTION.owner
    assert abandon["device_type"] == "desktop"
    assert abandon["estimated_annual_savings"] == pytest.approx(3 / 2 * 8 * 365 * 0.2)
    unknown = by_code.loc["NEW_BUG"]
    assert "NEW_BUG" in unknown["action"] and "billing" in unknown["action"]
    assert unknown["fix_rate"] == rules.DEFAULT_FALLBACK_ACTION.fix_rate
    assert "CARD_DECLINED" not in by_code.index
    # Ranked by estimated savings, not by calls.
    assert actions["estimated_annual_savings"].is_monotonic_decreasing
    # The device focus is configurable: at 90% PAY_TIMEOUT is an every-device cause.
    wide = silver.query(
        rules.action_recommendations_sql("leakage", 2, DigitalRules(device_focus_share=0.9))
    ).set_index("error_code")
    assert pd.isna(wide.loc["PAY_TIMEOUT", "device_type"])
    assert wide.loc["PAY_TIMEOUT", "leakage_calls"] == 5


def test_leakage_share_per_day(silver):
    _leak(silver, NOON, "M1")
    silver.call(NOON + timedelta(hours=1), reason="claims")
    silver.call(NOON + timedelta(hours=2), reason="claims")
    silver.call(NOON + timedelta(hours=3), reason="claims")
    silver.leakage()
    sql = rules.leakage_share_sql("leakage", "calls").format(days="date IS NOT NULL")
    assert silver.query(sql)["ratio"].tolist() == [0.25]


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
        query = rules.segment_drilldown_sql("leakage")
        assert len(results_in_every_order(con, leakage, "leakage", query)) == 1
    finally:
        con.close()
