"""The digital generator writes contract-shaped landing files that reproduce the §4.3 leakage patterns.

Leakage is recomputed here from the contract's words with pandas (a call whose member had an
`abandon`/`error` event of the call's reason at most 30 minutes before it, counted once against
the latest such event; a repeat call has an earlier same-reason call of the member within 7 x 24
hours), so the tests judge the data, not the pipeline's implementation.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cx_assets.synthetic.digital import daily_leakage_target, generate
from cx_assets.synthetic.digital.shape import MAX_SESSION_SPAN_SECONDS
from cx_assets.synthetic.landing_writer import GenerationRequest

START = date(2024, 1, 1)
SEED = 11

JOURNEY_COLUMNS = [
    "member_id",
    "session_id",
    "timestamp",
    "journey_type",
    "action",
    "device_type",
    "error_code",
    "error_message",
]
CALL_COLUMNS = [
    "call_id",
    "member_id",
    "call_timestamp",
    "ivr_path",
    "handle_time_seconds",
    "agent_id",
    "call_reason",
    "sentiment_score",
    "resolution_status",
]
MEMBER_COLUMNS = [
    "member_id",
    "plan_type",
    "tenure_months",
    "segment",
    "language_preference",
    "enrollment_date",
]
LEAKAGE_TYPES = ("billing", "id_card", "pharmacy")
JOURNEY_TYPES = {*LEAKAGE_TYPES, "claims"}
CALL_REASONS = {*LEAKAGE_TYPES, "claims", "benefits", "other"}
ACTIONS = {"start", "view", "submit", "complete", "abandon", "error"}
DEVICES = {"mobile_app", "mobile_web", "desktop"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def _request(
    tmp: Path, scale: float, days: int, seed: int = SEED, start: date = START
) -> GenerationRequest:
    return GenerationRequest(
        landing_dir=tmp, start=start, days=days, scale=scale, seed=seed, show_progress=False
    )


def _read(landing: Path, table: str) -> pd.DataFrame:
    frames = []
    for path in sorted((landing / "digital" / table).glob("*/*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["folder"] = path.parent.name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _member_categories(members: pd.DataFrame) -> pd.DataFrame:
    latest = members.sort_values("folder", kind="stable").drop_duplicates("member_id", keep="last")
    mapd = latest["plan_type"] == "MAPD"
    tenure = latest["tenure_months"].astype(int)
    category = pd.Series("Other", index=latest.index)
    category[mapd & (tenure < 12)] = "MAPD New"
    category[mapd & (tenure >= 12)] = "MAPD Tenured"
    category[latest["plan_type"] == "Commercial"] = "Commercial"
    return latest.assign(category=category)[["member_id", "category", "language_preference"]]


def _leakage(landing: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference leakage: (leakage calls with their failure, all calls with is_repeat)."""
    journeys, calls = _read(landing, "journeys"), _read(landing, "calls")
    journeys["at"] = pd.to_datetime(journeys["timestamp"])
    calls["at"] = pd.to_datetime(calls["call_timestamp"])
    calls = calls.sort_values(["member_id", "call_reason", "at"])
    previous = calls.groupby(["member_id", "call_reason"])["at"].shift()
    calls["is_repeat"] = (calls["at"] - previous) <= pd.Timedelta(days=7)
    failures = journeys[journeys["action"].isin(["abandon", "error"])].rename(
        columns={"at": "failed_at", "folder": "failure_folder"}
    )
    matched = pd.merge_asof(
        calls.sort_values("at"),
        failures.sort_values("failed_at")[
            [
                "member_id",
                "journey_type",
                "failed_at",
                "failure_folder",
                "error_code",
                "device_type",
            ]
        ],
        left_on="at",
        right_on="failed_at",
        left_by=["member_id", "call_reason"],
        right_by=["member_id", "journey_type"],
        tolerance=pd.Timedelta(minutes=30),
        direction="backward",
    )
    leakage = matched[matched["failed_at"].notna()].copy()
    leakage["gap_seconds"] = (leakage["at"] - leakage["failed_at"]).dt.total_seconds()
    leakage["sentiment"] = leakage["sentiment_score"].astype(float)
    leakage = leakage.merge(_member_categories(_read(landing, "members")), on="member_id")
    return leakage, matched


@pytest.fixture(scope="module")
def two_weeks(
    tmp_path_factory,
) -> tuple[GenerationRequest, dict[str, int], pd.DataFrame, pd.DataFrame]:
    landing = tmp_path_factory.mktemp("digital_landing")
    request = _request(landing, scale=0.05, days=14)
    counts = generate(request)
    leakage, calls = _leakage(landing)
    return request, counts, leakage, calls


def test_same_request_writes_identical_bytes(tmp_path):
    first = _request(tmp_path / "a", scale=0.01, days=3)
    second = _request(tmp_path / "b", scale=0.01, days=3)
    assert generate(first) == generate(second)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.csv"))
    assert files_a == files_b and len(files_a) == 9
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()
    # Another seed reaches every draw: the member base (the first day's members file) and each
    # day's plan (the calls' times), not only the member ids the calls name.
    generate(_request(tmp_path / "c", scale=0.01, days=3, seed=SEED + 1))
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() != (tmp_path / "c" / relative).read_bytes()
    call_times_a = set(_read(tmp_path / "a", "calls")["call_timestamp"])
    assert call_times_a != set(_read(tmp_path / "c", "calls")["call_timestamp"])


@pytest.mark.parametrize("days", [1, 2])
def test_headers_and_layout_follow_the_contract(tmp_path, days):
    """Every requested day gets each table's file, a one-day request too."""
    request = _request(tmp_path, scale=0.005, days=days)
    counts = generate(request)
    expected = {"journeys": JOURNEY_COLUMNS, "calls": CALL_COLUMNS, "members": MEMBER_COLUMNS}
    for table, columns in expected.items():
        folders = sorted(p.name for p in (tmp_path / "digital" / table).iterdir())
        assert folders == [day.isoformat() for day in request.dates]
        rows = 0
        for path in (tmp_path / "digital" / table).glob("*/*.csv"):
            with open(path, encoding="utf-8") as handle:
                assert handle.readline().rstrip("\r\n").split(",") == columns
            rows += len(pd.read_csv(path, dtype=str))
        assert counts[table] == rows
    assert not list(tmp_path.rglob("_*")), "no in-flight files left behind"


def test_ranges_a_year_apart_repeat_no_call_or_session_id(tmp_path):
    """A call_id is unique over all days (docs/contract.md), and a later `generate` into the
    same landing zone, a year on, must not deliver the earlier range's ids again."""
    for start in (START, START.replace(year=START.year + 1)):
        generate(_request(tmp_path, scale=0.001, days=1, start=start))
    calls, journeys = _read(tmp_path, "calls"), _read(tmp_path, "journeys")
    assert calls["call_id"].is_unique
    sessions = journeys.groupby(journeys["folder"].str[:4])["session_id"].agg(set)
    assert len(sessions) == 2 and sessions.iloc[0].isdisjoint(sessions.iloc[1])


def test_values_come_from_the_allowed_sets(tmp_path):
    generate(_request(tmp_path, scale=0.02, days=3))
    journeys, calls = _read(tmp_path, "journeys"), _read(tmp_path, "calls")
    members = _read(tmp_path, "members")
    assert set(journeys["journey_type"]) <= JOURNEY_TYPES
    assert set(journeys["action"]) == ACTIONS
    assert set(journeys["device_type"]) == DEVICES
    assert set(calls["call_reason"]) <= CALL_REASONS
    assert set(LEAKAGE_TYPES) <= set(calls["call_reason"])
    errors = journeys["action"] == "error"
    assert (journeys.loc[errors, "error_code"] != "").all()
    assert (journeys.loc[errors, "error_message"] != "").all()
    assert (journeys.loc[~errors, ["error_code", "error_message"]] == "").all().all()
    assert journeys["timestamp"].str.match(ISO_UTC).all()
    assert calls["call_timestamp"].str.match(ISO_UTC).all()
    # A file sits in the folder of its records' UTC date.
    assert (journeys["timestamp"].str[:10] == journeys["folder"]).all()
    assert (calls["call_timestamp"].str[:10] == calls["folder"]).all()
    sentiment = calls["sentiment_score"].astype(float)
    assert sentiment.between(-1, 1).all()
    assert calls["call_id"].is_unique
    assert (calls["handle_time_seconds"].astype(int) > 0).all()
    assert journeys.groupby("session_id")["member_id"].nunique().eq(1).all()
    assert members["tenure_months"].astype(int).ge(0).all()
    pd.to_datetime(members["enrollment_date"], format="%Y-%m-%d")


def test_members_land_no_later_than_their_activity(tmp_path):
    generate(_request(tmp_path, scale=0.02, days=4))
    members = _read(tmp_path, "members")
    first_landed = members.groupby("member_id")["folder"].min()
    assert members.loc[members["folder"] == "2024-01-01", "member_id"].is_unique
    # Later days land only new members and a few changed versions of existing ones.
    later = members[members["folder"] > "2024-01-01"]
    assert 0 < len(later) < 0.2 * (members["folder"] == "2024-01-01").sum()
    changed_versions = later["member_id"].map(first_landed) < later["folder"]
    assert changed_versions.any()
    # A changed version never moves a member to another category (plan and tenure are stable).
    stable = members.groupby("member_id")[["plan_type", "tenure_months"]].nunique()
    assert (stable == 1).all().all()
    for table in ("journeys", "calls"):
        activity = _read(tmp_path, table)
        landed = activity["member_id"].map(first_landed)
        assert landed.notna().all()
        assert (landed <= activity["folder"]).all()


def test_member_volumes_follow_the_docs(two_weeks):
    """docs/contract.md: about 55,000 members on the first day, then new and changed ones:
    about 550 a day in the first week, about 1,200 to 1,500 a day in the second, as new MAPD
    enrollees join for the growing billing leakage (members free again a week after a call)."""
    request = two_weeks[0]
    per_day = _read(request.landing_dir, "members").groupby("folder").size() / request.scale
    assert per_day.iloc[0] == pytest.approx(55_000, rel=0.05)
    assert per_day.iloc[1:7].between(450, 650).all()
    assert 1_000 <= per_day.iloc[7:14].mean() <= 2_000


@pytest.mark.parametrize("scale", [0.001, 0.0001])
def test_tiny_scale_still_has_every_leakage_type_each_day(tmp_path, scale):
    """At 0.0001 a day's level rounds to 0 calls of a type: each type still has one."""
    request = _request(tmp_path, scale=scale, days=3)
    generate(request)
    leakage, _ = _leakage(tmp_path)
    per_day = leakage.groupby(["folder", "call_reason"]).size().unstack(fill_value=0)
    assert list(per_day.index) == [d.isoformat() for d in request.dates]
    assert (per_day[list(LEAKAGE_TYPES)] >= 1).all().all()


def test_leakage_counts_follow_the_planned_levels_and_trends(two_weeks):
    request, _, leakage, _ = two_weeks
    per_day = leakage.groupby(["folder", "call_reason"]).size().unstack(fill_value=0)
    for offset, day in enumerate(request.dates):
        for journey_type in LEAKAGE_TYPES:
            # Exactly the planned calls: no non-leakage call slips into the window.
            assert per_day.loc[day.isoformat(), journey_type] == daily_leakage_target(
                request, journey_type, offset
            )
    first_week, second_week = per_day.iloc[:7].sum(), per_day.iloc[7:14].sum()
    shares = first_week / first_week.sum()
    assert shares["billing"] == pytest.approx(5 / 12, abs=0.01)
    assert shares["id_card"] == pytest.approx(3 / 12, abs=0.01)
    assert shares["pharmacy"] == pytest.approx(4 / 12, abs=0.01)
    # The first week averages the stated level at this scale.
    assert first_week["billing"] / 7 == pytest.approx(5_000 * request.scale, rel=0.01)
    growth = second_week / first_week
    assert growth["billing"] == pytest.approx(1.14, abs=0.01)
    assert growth["id_card"] == pytest.approx(1.08, abs=0.01)
    assert growth["pharmacy"] == pytest.approx(1.03, abs=0.01)


def test_segments_and_root_causes_stand_out(two_weeks):
    _, _, leakage, _ = two_weeks
    by_type = leakage.groupby("call_reason")
    billing_categories = by_type.get_group("billing")["category"].value_counts(normalize=True)
    assert billing_categories.idxmax() == "MAPD New" and billing_categories["MAPD New"] > 0.7
    spanish = (leakage["language_preference"] == "Spanish").groupby(leakage["call_reason"]).mean()
    assert spanish["id_card"] > 0.7 and spanish["billing"] < 0.3
    pharmacy_categories = by_type.get_group("pharmacy")["category"].value_counts(normalize=True)
    assert pharmacy_categories.max() < 0.4, "pharmacy leakage is mixed across categories"
    billing_causes = by_type.get_group("billing").groupby(["error_code", "device_type"]).size()
    assert billing_causes.idxmax() == ("PAY_TIMEOUT", "mobile_app")
    id_card_codes = by_type.get_group("id_card")["error_code"].value_counts()
    assert set(id_card_codes.index[:2]) == {"PDF_RENDER", "LANG_MISSING"}
    rx = by_type.get_group("pharmacy")
    rx_devices = rx.loc[rx["error_code"] == "RX_NOT_FOUND", "device_type"].value_counts(
        normalize=True
    )
    assert rx_devices.max() < 0.45, "RX_NOT_FOUND is spread across devices"


def test_repeat_calls_and_sentiment_by_category(two_weeks):
    _, _, leakage, _ = two_weeks
    mapd_new = leakage[leakage["category"] == "MAPD New"]
    assert mapd_new["is_repeat"].mean() == pytest.approx(0.28, abs=0.04)
    assert mapd_new["sentiment"].mean() == pytest.approx(-0.65, abs=0.05)
    others = leakage[leakage["category"] != "MAPD New"]
    assert others.groupby("category")["sentiment"].mean().between(-0.35, 0.35).all()
    assert others["is_repeat"].mean() < mapd_new["is_repeat"].mean()
    # Repeat calls are the angrier ones.
    by_repeat = mapd_new.groupby("is_repeat")["sentiment"].mean()
    assert by_repeat[True] < by_repeat[False]


def test_window_edges_and_midnight(two_weeks):
    request, _, leakage, calls = two_weeks
    # ~3% of leakage calls come exactly 30 minutes after the failure (the inclusive bound).
    assert 0.01 < (leakage["gap_seconds"] == 30 * 60).mean() < 0.06
    assert leakage["gap_seconds"].between(0, 30 * 60).all()
    crossing = leakage[leakage["failure_folder"] != leakage["folder"]]
    assert len(crossing) > 0
    day_after = pd.to_datetime(crossing["failure_folder"]) + timedelta(days=1)
    assert (pd.to_datetime(crossing["folder"]) == day_after).all()
    # Calls on top of leakage: portal reasons without a failure in the window, and claims.
    non_leakage = calls[calls["failed_at"].isna()]
    assert set(non_leakage["call_reason"]) >= {*LEAKAGE_TYPES, "claims"}
    # ~2,400 of them a day at scale 1.0, on top of the leakage.
    per_day = len(non_leakage) / len(request.dates) / request.scale
    assert per_day == pytest.approx(2_400, rel=0.1)


def test_late_calls_fall_just_outside_the_window(two_weeks):
    landing = two_weeks[0].landing_dir
    journeys, calls = _read(landing, "journeys"), _read(landing, "calls")
    journeys["at"] = pd.to_datetime(journeys["timestamp"])
    calls["at"] = pd.to_datetime(calls["call_timestamp"])
    failures = journeys[journeys["action"].isin(["abandon", "error"])]
    pairs = calls.merge(
        failures, left_on=["member_id", "call_reason"], right_on=["member_id", "journey_type"]
    )
    gap = pairs["at_x"] - pairs["at_y"]
    late = gap.between(pd.Timedelta(minutes=31), pd.Timedelta(minutes=60))
    assert late.any()
    late_calls = set(pairs.loc[late, "call_id"])
    within = set(pairs.loc[gap.between(pd.Timedelta(0), pd.Timedelta(minutes=30)), "call_id"])
    assert late_calls - within, "some calls have only a failure 31-60 minutes earlier"
    # 31-60 minutes: no call's latest failure is between 30:00 and 31:00 before it.
    latest = gap[gap >= pd.Timedelta(0)].groupby(pairs["call_id"]).min()
    just_out = (pd.Timedelta(minutes=30), pd.Timedelta(minutes=31))
    assert not latest.between(*just_out, inclusive="neither").any()


def test_sessions_fail_then_call_or_complete(two_weeks):
    request, counts, leakage, _ = two_weeks
    landing = request.landing_dir
    journeys = _read(landing, "journeys")
    journeys["at"] = pd.to_datetime(journeys["timestamp"])
    ordered = journeys.sort_values(["session_id", "at"], kind="stable")
    first_actions = ordered.groupby("session_id")["action"].first()
    assert (first_actions == "start").all()
    last_actions = ordered.groupby("session_id")["action"].last()
    assert set(last_actions) == {"complete", "abandon", "error"}
    # Some sessions fail twice (error, retry, error): the call still counts once.
    errors_per_session = ordered[ordered["action"] == "error"].groupby("session_id").size()
    assert (errors_per_session == 2).any()
    # The first day keeps its sessions after midnight by the longest a session lasts.
    span = ordered.groupby("session_id")["at"].agg(["min", "max"])
    assert ((span["max"] - span["min"]).dt.total_seconds() < MAX_SESSION_SPAN_SECONDS).all()
    assert journeys["timestamp"].min() >= START.isoformat()
    assert leakage["call_id"].is_unique
    # ~50,000 events a day at scale 1.0 in the first week.
    first_week = journeys[journeys["folder"] < (START + timedelta(days=7)).isoformat()]
    assert len(first_week) / 7 / request.scale == pytest.approx(50_000, rel=0.15)
    assert counts["journeys"] == len(journeys)
