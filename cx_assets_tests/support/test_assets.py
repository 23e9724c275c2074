"""The support domain end to end on hand-landed files, materialized once for the module:
day 1 alone (phase A), then days 2 and 3 (phase B), each followed by the whole-history
tables and models. Tickets live over several days: later deliveries update their rows
under the day they were created, breach flags move with the as-of time, bad records are
quarantined, and no customer's name, e-mail or phone reaches silver, gold or the models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity

from cx_assets.lakehouse.checks import NON_EMPTY, REJECT_RATIO
from cx_assets.support.checks import (
    BREACH_SHARE_IN_BAND,
    CLASSIFIER_BEATS_BASELINES,
    FORECAST_FELL_BACK,
)
from cx_assets.support.models.assign import NO_SKILL, OUTRANKED
from cx_assets_tests.conftest import Lake, check_results
from cx_assets_tests.lakehouse.silver_chunks import spy_on_silver_chunks
from cx_assets_tests.support.landing_rows import (
    D0,
    D1,
    D2,
    D3,
    GOLD,
    SUPPORT,
    agent,
    customer,
    t,
    ticket,
)

MARIA = customer("C1", "Maria Souza", "maria.souza@example.com", "+1 555-123-4567")
JOAO = customer("C2", "João Silva", "joao.silva@example.org", "(555) 987-6543", plan="Basic")
WARN = AssetCheckSeverity.WARN
PERSONAL = ("Maria", "Souza", "João", "Silva", "maria.souza", "joao.silva", "555-123-4567",
            "5551234567", "987-6543")  # fmt: skip


def land_day_1(lake: Lake) -> None:
    lake.land_csv(
        "support",
        "agents",
        D1,
        [
            agent("A1", "Ana Agent", "Payments", "Billing; returns", "4"),
            agent("A2", "Bo Tech", "Tech Support", "technical", "2"),
            agent("A3", "Cy Ship", "Logistics", "shipping", "5"),
            agent("A4", "Di Broken", max_open="many"),  # not an integer: quarantined
        ],
    )
    lake.land_csv(
        "support",
        "customers",
        D1,
        [MARIA, JOAO, customer("C3", "Zed Doe", "z@example.net", "555.111.2222")],
    )
    tickets = [
        # created the day before and settled: its created day never changes again
        ticket("T0", t(D0, "10:00:00"), "low", agent="A3", first_response=t(D0, "11:00:00"),
               resolved=t(D0, "12:00:00"), status="resolved", category="shipping"),
        ticket("T1", t(D1, "09:00:00"), "urgent", agent="A1", first_response=t(D1, "09:30:00"),
               resolved=t(D1, "12:00:00"), status="resolved"),
        ticket("T2", t(D1, "23:30:00"), "urgent", category="technical"),
        ticket("T3", t(D1, "22:00:00"), "medium"),
        ticket("T4", t(D1, "10:00:00"), "high", customer="C1", agent="A1",
               first_response=t(D1, "10:30:00"), category=None,
               subject="Refund for maria.souza@example.com",
               description="I need a refund for my invoice. This is MARIA  Souza: call me on "
               "+1 555-123-4567 or write to maria.souza@example.com. Thanks, maria."),
        ticket("T11", t(D1, "11:00:00"), "low", agent="A1", first_response=t(D1, "12:00:00")),
        ticket("T12", t(D1, "11:30:00"), "low", agent="A1", first_response=t(D1, "12:00:00")),
        # an earlier line of T6, then the later one of the same day, which wins
        ticket("T6", t(D1, "08:00:00-03:00"), "low", category="shipping"),
        ticket("T6", t(D1, "08:00:00-03:00"), "low", category="shipping", agent="A3",
               first_response=t(D1, "12:00:00Z"), status="pending"),
    ]  # fmt: skip
    lines = [json.dumps(row) for row in tickets]
    lines.insert(3, "{not json")
    lines.append(json.dumps(ticket("TX", t(D1, "10:00:00"), "critical")))  # not a priority
    lines.append(json.dumps({**ticket("TY", t(D1, "10:00:00")), "subject": None}))  # required
    lake.land_jsonl("support", "tickets", D1, lines)


def land_days_2_and_3(lake: Lake) -> None:
    lake.land_csv("support", "customers", D2, [{**JOAO, "plan": "Pro"}])
    lake.land_jsonl(
        "support",
        "tickets",
        D2,
        [
            ticket("T1", t(D1, "09:00:00"), "urgent", agent="A1", first_response=t(D1, "09:30:00"),
                   resolved=t(D1, "12:00:00"), status="closed", csat=5),
            # answered in time, resolved 5.5 hours after creation: resolution breached
            ticket("T2", t(D1, "23:30:00"), "urgent", category="technical", agent="A2",
                   first_response=t(D2, "00:20:00"), resolved=t(D2, "05:00:00"),
                   status="resolved", csat=2),
            ticket("T7", t(D2, "20:00:00"), "urgent"),
            ticket("T8", t(D2, "21:00:00"), "high", category="technical"),
            ticket("T9", t(D2, "21:30:00"), "high", category="legal"),
        ],
    )  # fmt: skip
    lake.land_csv(
        "support", "agents", D3, [agent("A2", "Bo Tech", "Tech Support", "technical", "4")]
    )
    lake.land_jsonl(
        "support",
        "tickets",
        D3,
        [
            ticket("T6", t(D1, "08:00:00-03:00"), "low", category="shipping", agent="A3",
                   first_response=t(D1, "12:00:00Z"), resolved=t(D3, "01:00:00"),
                   status="resolved", customer="C2"),
            ticket("T10", t(D3, "10:00:00"), "medium", category="shipping", customer="C2"),
        ],
    )  # fmt: skip


@dataclass
class Phase:
    partitioned: Any
    rollups: Any
    gold: dict[str, pd.DataFrame]
    mtimes: dict[str, int]

    @property
    def checks(self) -> dict:
        return {**check_results(self.partitioned), **check_results(self.rollups)}


def _phase(lake: Lake, day: str, last_day: str | None = None) -> Phase:
    partitioned = lake.materialize(
        SUPPORT.everything, selection=SUPPORT.partitioned, day=day, last_day=last_day
    )
    rollups = lake.materialize(SUPPORT.everything, selection=SUPPORT.whole_history)
    files = sorted((lake.layout.gold_dir / "support_ticket_analytics").rglob("*.parquet"))
    return Phase(
        partitioned,
        rollups,
        {table: lake.gold(table) for table in GOLD},
        {str(path.relative_to(lake.layout.gold_dir)): path.stat().st_mtime_ns for path in files},
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[tuple[Lake, Phase, Phase]]:
    lake = Lake(tmp_path_factory.mktemp("support") / "data")
    land_day_1(lake)
    first = _phase(lake, D1)
    land_days_2_and_3(lake)
    second = _phase(lake, D2, D3)
    yield lake, first, second
    lake.instance.dispose()


def _row(phase: Phase, table: str, key: str, value: str) -> pd.Series:
    rows = phase.gold[table]
    (match,) = rows.index[rows[key] == value]
    return rows.loc[match]


def _warned(phase: Phase) -> dict[tuple[str, str, str | None], AssetCheckSeverity]:
    """The severity of each check that did not pass, by (asset, check, day judged): a
    range run judges each day apart."""
    return {
        (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.partition): (
            evaluation.severity
        )
        for result in (phase.partitioned, phase.rollups)
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    }


def test_every_run_succeeds_and_every_check_passes_but_the_expected_warnings(run):
    """Found in a test audit: no ERROR check failing after a run that succeeded could not
    fail (a blocking ERROR fails the run first); every check of the domain is evaluated,
    and only these WARN."""
    _, first, second = run
    every_check = {(key.asset_key.to_user_string(), key.name) for key in SUPPORT.check_keys}
    for phase in (first, second):
        assert phase.partitioned.success and phase.rollups.success
        assert set(phase.checks) == every_check
    # Three days of history and a handful of tickets, most of them late: WARN, no more.
    rollups = {
        ("gold/support_ticket_analytics", BREACH_SHARE_IN_BAND, None): WARN,
        ("model/support_volume_forecaster", FORECAST_FELL_BACK, None): WARN,
        ("model/support_ticket_classifier", CLASSIFIER_BEATS_BASELINES, None): WARN,
    }
    # Day 1 quarantines one line of four of its agents and tickets.
    assert _warned(first) == {
        ("silver/support_agent_versions", REJECT_RATIO, D1): WARN,
        ("silver/support_ticket_versions", REJECT_RATIO, D1): WARN,
        **rollups,
    }
    # Day 2 lands no agents and day 3 no customers: WARN, empty partition, not a failed run.
    assert _warned(second) == {
        ("bronze/support_agents", NON_EMPTY, D2): WARN,
        ("bronze/support_customers", NON_EMPTY, D3): WARN,
        **rollups,
    }


def test_bad_records_are_quarantined_and_the_rest_kept(run):
    lake, _, _ = run
    tickets = lake.quarantine("support_tickets").sort_values("line_number")
    assert tickets["line_number"].tolist() == [4, 11, 12]
    reasons = " | ".join(tickets["reason"])
    assert "invalid JSON" in reasons and "priority" in reasons and '"subject"' in reasons
    agents = lake.quarantine("support_agents")
    assert len(agents) == 1 and "max_open_tickets" in agents["reason"].iloc[0]
    versions = lake.query("SELECT count(*) AS n FROM silver.support_ticket_versions")
    assert versions["n"][0] == 9 + 5 + 2


def test_the_latest_version_wins_a_later_day_then_a_later_line(run):
    lake, _, _ = run
    current = lake.query("SELECT * FROM silver.support_tickets").set_index("ticket_id")
    assert current.loc["T1", "status"] == "closed" and current.loc["T1", "csat_score"] == 5
    assert str(current.loc["T1", "version_date"])[:10] == D2
    assert (
        current.loc["T6", "status"] == "resolved"
        and str(current.loc["T6", "version_date"])[:10] == D3
    )
    agents = lake.query("SELECT * FROM silver.support_agents").set_index("agent_id")
    assert agents.loc["A2", "max_open_tickets"] == 4
    assert agents.loc["A1", "skills"] == "Billing;returns"


def test_each_ticket_is_counted_once_under_its_utc_creation_day(run):
    _, _, second = run
    analytics = second.gold["support_ticket_analytics"]
    assert analytics["ticket_id"].is_unique
    days = dict(zip(analytics["ticket_id"], analytics["date"].astype(str), strict=True))
    assert days == {
        "T0": D0, "T1": D1, "T2": D1, "T3": D1, "T4": D1, "T6": D1, "T11": D1, "T12": D1,
        "T7": D2, "T8": D2, "T9": D2, "T10": D3,
    }  # fmt: skip
    t6 = _row(second, "support_ticket_analytics", "ticket_id", "T6")
    assert t6["created_at"] == pd.Timestamp(f"{D1} 11:00", tz="UTC")  # 08:00 at -03:00


def test_a_later_delivery_updates_the_row_under_its_creation_day(run):
    _, first, second = run
    before = _row(first, "support_ticket_analytics", "ticket_id", "T2")
    after = _row(second, "support_ticket_analytics", "ticket_id", "T2")
    # As of the end of day 1 the urgent ticket of 23:30 was not late yet.
    assert (before["status"], before["first_response_breached"], before["resolution_breached"]) == (
        "open",
        False,
        False,
    )
    assert after["agent_id"] == "A2" and after["first_response_minutes"] == 50.0
    assert not after["first_response_breached"] and after["resolution_breached"]
    assert after["resolution_minutes"] == 330.0 and after["csat_score"] == 2


def test_breach_flags_move_with_the_as_of_time_without_a_delivery(run):
    _, first, second = run
    # T3 (medium, 22:00 on day 1) was never answered: its 8-hour target passed on day 2.
    assert not _row(first, "support_ticket_analytics", "ticket_id", "T3")["first_response_breached"]
    assert _row(second, "support_ticket_analytics", "ticket_id", "T3")["first_response_breached"]


def test_only_changed_created_days_are_rewritten(run):
    _, first, second = run
    day_0 = f"support_ticket_analytics/date={D0}/data.parquet"
    day_1 = f"support_ticket_analytics/date={D1}/data.parquet"
    assert second.mtimes[day_0] == first.mtimes[day_0]  # settled before: untouched
    assert second.mtimes[day_1] != first.mtimes[day_1]
    metadata = second.rollups.asset_materializations_for_node("gold__support_ticket_analytics")
    (event,) = metadata
    assert event.metadata["days_rewritten"].value == 3  # day 1 changed, 2 and 3 are new
    assert event.metadata["dagster/row_count"].value == 12


def test_gold_is_hive_partitioned_by_creation_day_without_a_date_column(run):
    lake, _, _ = run
    for table in ("support_ticket_analytics", "support_agent_daily", "support_ticket_categories"):
        folder = lake.layout.gold_dir / table
        folders = sorted(path.name for path in folder.glob("date=*"))
        assert folders and all(name.startswith("date=") for name in folders), table
        for file in folder.glob("date=*/*.parquet"):
            assert "date" not in pq.read_schema(file).names
    pattern = str(lake.layout.gold_dir / "support_ticket_analytics" / "**" / "*.parquet")
    counted = duckdb.sql(
        f"SELECT date, count(*) FROM read_parquet('{pattern}', hive_partitioning = true) "
        "GROUP BY date ORDER BY date"
    ).fetchall()
    assert [(str(day), n) for day, n in counted] == [(D0, 1), (D1, 7), (D2, 3), (D3, 1)]
    for table in ("support_customer_insights", "support_assignment_plan"):
        assert (lake.layout.gold_dir / table / "data.parquet").exists()


def test_agent_daily_and_customer_insights(run):
    _, _, second = run
    daily = second.gold["support_agent_daily"]
    a1 = daily[(daily["agent_id"] == "A1") & (daily["date"].astype(str) == D1)].iloc[0]
    assert (a1["agent_name"], a1["team"], a1["tickets_handled"], a1["tickets_resolved"]) == (
        "Ana Agent", "Payments", 4, 1,
    )  # fmt: skip
    assert a1["mean_csat"] == 5.0
    insights = second.gold["support_customer_insights"].set_index("customer_id")
    assert insights.loc["C2", "plan"] == "Pro"  # the latest version
    assert insights.loc["C2", "tickets"] == 2
    assert set(insights["segment"]) <= {"at_risk", "high_effort", "delighted", "steady"}


def test_uncategorized_tickets_need_review_without_a_model(run):
    _, _, second = run
    categories = second.gold["support_ticket_categories"]
    assert categories["ticket_id"].tolist() == ["T4"]
    assert categories["needs_review"].all() and categories["predicted_category"].isna().all()


def test_the_forecast_falls_back_for_the_14_days_after_the_as_of_day(run):
    _, _, second = run
    forecast = second.gold["support_volume_forecast"]
    days = sorted(forecast["date"].astype(str).unique())
    assert days[0] == "2024-03-07" and len(days) == 14
    assert {"all", "billing", "shipping", "technical", "legal"} == set(forecast["category"])
    assert set(forecast["model"]) == {"Naive"}


def test_intervals_have_width_once_a_second_day_shows_a_change(run):
    """docs/support.md: Naive sizes its intervals by the day-to-day changes seen so far, so
    on the first day they have no width (to be read as unknown)."""
    _, first, second = run
    one_day = first.gold["support_volume_forecast"]
    for bound in ("lo_95", "lo_80", "hi_80", "hi_95"):
        assert (one_day[bound] == one_day["forecast"]).all(), bound
    two_days = second.gold["support_volume_forecast"]
    assert (two_days["hi_95"] > two_days["hi_80"]).any()
    assert (two_days["hi_80"] > two_days["forecast"]).any()


def test_the_plan_honours_skills_and_capacity(run):
    _, first, second = run
    plan = second.gold["support_assignment_plan"].set_index("ticket_id")
    # A1 (max 4) holds T4, T11, T12: one slot, for the urgent T7 before the medium T3.
    assert plan.loc["T7", "agent_id"] == "A1"
    assert pd.isna(plan.loc["T3", "agent_id"])
    assert plan.loc["T3", "reason"] == OUTRANKED.format(category="billing")
    assert plan.loc["T8", "agent_id"] == "A2"
    assert plan.loc["T9", "reason"] == NO_SKILL.format(category="legal")
    assert plan.loc["T10", "agent_id"] == "A3"
    assert sorted(plan.index) == ["T10", "T3", "T7", "T8", "T9"]
    assert (
        first.gold["support_assignment_plan"].set_index("ticket_id").loc["T3", "agent_id"] == "A1"
    )


def _text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="ignore")


def test_no_personal_data_in_silver_gold_or_the_models(run):
    lake, _, _ = run
    tables = lake.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('silver', 'gold') AND table_type = 'BASE TABLE'"
    )
    assert len(tables) >= 13
    for schema, table in tables.itertuples(index=False):
        text = lake.query(f'SELECT * FROM "{schema}"."{table}"').astype(str).to_csv()
        for value in PERSONAL:
            assert value not in text, (schema, table, value)
    texts = lake.query(
        "SELECT subject, description FROM silver.support_tickets WHERE ticket_id = 'T4'"
    )
    assert texts.iloc[0].tolist() == [
        "Refund for [email]",
        "I need a refund for my invoice. This is [name]: call me on [phone] or write to "
        "[email]. Thanks, [name].",
    ]
    customers = lake.query("SELECT * FROM silver.support_customers").set_index("customer_id")
    assert "name" not in customers.columns
    assert len(customers.loc["C1", "email_hash"]) == 64
    for folder in (lake.layout.gold_dir, lake.layout.models_dir):
        for path in folder.rglob("*.*"):
            for value in PERSONAL:
                assert value not in _text_of(path), (path, value)


def test_a_range_types_its_silver_versions_a_day_at_a_time_as_day_runs_do(lake, monkeypatch):
    """A range's silver ticket versions held every day's typed records at once (seen
    building 21 support days at scale 0.5 in one run: 2.05 GB, against 0.91 GB for 7 days);
    ticket, agent and customer versions now type and write one day at a time, with the rows,
    masks and quarantine of one-day runs in date order."""
    days = [D1, D2]
    for number, day in enumerate(days):
        lake.land_csv("support", "customers", day, [customer("C1", name=f"Maria Souza{number}")])
        lake.land_csv("support", "agents", day, [agent("A1", max_open=str(5 + number))])
        tickets = [
            ticket("T1", t(day, "09:00:00"), subject=f"Maria Souza{number} was charged twice"),
            ticket(f"X{number}", "not a time"),
        ]
        lake.land_jsonl("support", "tickets", day, [json.dumps(row) for row in tickets])

    typed = spy_on_silver_chunks(monkeypatch)
    tables = ("support_ticket_versions", "support_agent_versions", "support_customer_versions")
    typed_tables = [
        a for a in SUPPORT.partitioned if a.key.path[0] == "bronze" or a.key.path[1] in tables
    ]
    assert lake.materialize(
        SUPPORT.everything, selection=typed_tables, day=days[0], last_day=days[-1]
    ).success
    assert {chunk for _, chunk in typed} == {(day,) for day in days}, typed
    as_range = {name: lake.query(f"SELECT * FROM silver.{name} ORDER BY ALL") for name in tables}
    quarantined = lake.quarantine("support_tickets").drop(columns="quarantined_at")
    assert len(quarantined) == 2
    # Each day's subject masks the name delivered on either day.
    assert not as_range["support_ticket_versions"]["subject"].str.contains("Souza").any()

    for day in days:
        assert lake.materialize(SUPPORT.everything, selection=typed_tables, day=day).success
    for name in tables:
        by_day = lake.query(f"SELECT * FROM silver.{name} ORDER BY ALL")
        pd.testing.assert_frame_equal(as_range[name], by_day)
    again = lake.quarantine("support_tickets").drop(columns="quarantined_at")
    pd.testing.assert_frame_equal(quarantined, again)
