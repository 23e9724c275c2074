"""The overview page of the command centre rendered headless (Streamlit's AppTest) on a small
hand-made gold dataset (`gold_rows`, numbers worked out there): every domain's headline, the
freshness of every gold table, and headlines that count what they say they count."""

from __future__ import annotations

import shutil

import pandas as pd

from cx_assets.crm import schemas as crm_schemas
from cx_assets_tests.command_centre import gold_rows
from cx_assets_tests.command_centre.gold_copies import with_t4_resolved_late
from cx_assets_tests.command_centre.gold_rows import DAY2
from cx_assets_tests.command_centre.rendered import column_formats, metrics, render


def test_overview_headlines_freshness_and_checks(gold_root, monkeypatch):
    app = render("overview", gold_root, monkeypatch)
    shown = metrics(app)
    assert shown["Calls"] == "40"  # the latest day
    assert shown["Conversion rate"] == "30.0%"
    assert shown["Upsell revenue"] == "$300"  # Alice's $300 on the latest day
    # The CRM's latest day: 80 valid, 20 of noise (gold's `pct` 20.0: 20.0%), 1 friction.
    assert (shown["Valid interactions"], shown["System noise"]) == ("80", "20.0%")
    assert shown["Friction interactions"] == "1"
    assert shown["Leakage calls"] == "25"
    assert shown["Their cost"] == "$200"  # billing 20 and pharmacy 5 calls at $8
    # Under "Latest day", a figure of every day built says so (the latest day's 25 calls a
    # year would be $73,000): its label read "Annualized leakage cost", as if of that day.
    assert shown["Annualized cost (all history)"] == "$58,400"
    assert shown["Companies at high churn risk"] == "1"
    assert shown["Tickets created"] == "1"
    assert shown["Within SLA"] == "100.0%"  # T4, neither target breached
    assert shown["Open tickets planned"] == "1 of 1"  # T3, planned for A1
    fresh = app.dataframe[0].value
    assert len(fresh) == 25 and set(fresh["domain"]) == {
        "CRM friction", "Calls", "Digital leakage", "Support"
    }  # fmt: skip
    kpis = fresh.set_index("table").loc["calls_kpis_daily"]
    assert (kpis["rows"], kpis["days"], str(kpis["latest day"])) == (2, 2, str(DAY2))
    # A whole-history table has no days to count: blank, not 0.
    heat = fresh.set_index("table").loc["crm_temporal_heat"]
    assert (heat["kind"], heat["rows"]) == ("whole history", 168) and pd.isna(heat["days"])
    assert column_formats(app.dataframe[0])["rows"] == "%,d"  # "2,195", as cards write it
    assert column_formats(app.dataframe[0])["age (h)"] == "%.1f"  # "7.0", not "7"
    assert any("no runs recorded yet" in caption.value for caption in app.caption)


def test_overview_says_when_the_latest_day_delivered_nothing(tmp_path, monkeypatch):
    """A source that delivered nothing on its latest day still has that day's rows, all
    zero: the card says so, instead of "0" beside a noise share or conversion rate of "—"."""
    from cx_assets.calls import schemas as calls_schemas

    data_dir = tmp_path / "data"
    gold_rows.write_crm(data_dir)
    gold_rows.write_calls(data_dir)
    gold_rows.publish(data_dir, "crm_noise_summary", crm_schemas.NoiseSummary, [
        {"date": day, "category": name, "count": count, "pct": pct}
        for day, count, pct in ((gold_rows.DAY1, 5, 50.0), (DAY2, 0, None))
        for name in ("read_receipt", "delivery_receipt", "mass_email", "noise_total", "valid")
    ])  # fmt: skip
    gold_rows.publish(data_dir, "calls_kpis_daily", calls_schemas.KpisDaily, [
        {"date": gold_rows.DAY1, "total_calls": 20, "conversion_rate": 0.3,
         "total_upsell_revenue": 100.0, "avg_upsell_per_call": 5.0},
        {"date": DAY2, "total_calls": 0, "conversion_rate": None, "total_upsell_revenue": 0.0,
         "avg_upsell_per_call": None},
    ])  # fmt: skip

    app = render("overview", data_dir, monkeypatch)

    captions = [block.value for block in app.caption]
    assert "No CRM interactions landed that day." in captions
    assert "No calls landed that day." in captions
    shown = metrics(app)
    assert "—" not in shown.values(), shown
    assert not {"System noise", "Valid interactions", "Calls", "Conversion rate"} & set(shown)
    assert shown["Companies at high churn risk"] == "1"  # whole history: still shown


def test_a_latest_day_of_noise_alone_shows_its_noise(tmp_path, monkeypatch):
    """The CRM's latest day delivered 5 read receipts and no valid interaction: something
    landed, so the card shows it (0 valid, 100.0% noise) rather than saying nothing did."""
    data_dir = tmp_path / "data"
    gold_rows.write_crm(data_dir)
    counts = {"read_receipt": 5, "delivery_receipt": 0, "mass_email": 0, "noise_total": 5,
              "valid": 0}  # fmt: skip
    gold_rows.publish(data_dir, "crm_noise_summary", crm_schemas.NoiseSummary, [
        {"date": DAY2, "category": name, "count": n, "pct": 100.0 * n / 5}
        for name, n in counts.items()
    ])  # fmt: skip

    app = render("overview", data_dir, monkeypatch)

    assert "No CRM interactions landed that day." not in [block.value for block in app.caption]
    shown = metrics(app)
    assert (shown["Valid interactions"], shown["System noise"]) == ("0", "100.0%")


def test_open_tickets_planned_counts_those_given_an_agent(gold_root, tmp_path, monkeypatch):
    """T3 planned for A1 and T6 left without one (no agent of its category): 1 of 2."""
    from cx_assets.support import schemas as support_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(
        data_dir,
        "support_assignment_plan",
        support_schemas.AssignmentPlan,
        gold_rows.PLAN_WITH_ONE_UNPLANNED,
    )
    assert metrics(render("overview", data_dir, monkeypatch))["Open tickets planned"] == "1 of 2"


def test_overview_counts_a_ticket_resolved_late_as_out_of_sla(gold_root, tmp_path, monkeypatch):
    """Within SLA is neither target breached (§4.4), not the first response alone."""
    app = render("overview", with_t4_resolved_late(gold_root, tmp_path), monkeypatch)
    shown = metrics(app)
    # The latest day has one ticket, T4: first response in time, resolution late. 1 of 1
    # tickets breached a target: 0 of 1 within SLA (first responses alone: 1 of 1, 100.0%).
    assert shown["Tickets created"] == "1"
    assert shown["Within SLA"] == "0.0%"


def test_overview_counts_only_the_high_band_as_high_churn_risk(gold_root, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    risks = pd.read_parquet(data_dir / "gold" / "crm_churn_risk")
    beta = risks["company_id"] == 20
    risks.loc[beta, ["churn_risk_score", "risk_band"]] = [45.0, "medium"]  # 30 <= 45 < 60
    gold_rows.publish(data_dir, "crm_churn_risk", crm_schemas.ChurnRisk, risks.to_dict("records"))
    app = render("overview", data_dir, monkeypatch)
    # Acme Ltda high (75), Beta S.A. medium (45): one company in the high band, not two.
    assert metrics(app)["Companies at high churn risk"] == "1"


def test_a_repeated_row_in_the_noise_summary_leaves_the_overview_standing(
    gold_root, tmp_path, monkeypatch
):
    """Found in an audit: the latest day's noise summary written twice (a broken grain, its
    ERROR check failing) ended the overview with a pandas error: every card and table after
    the CRM's, the failed checks among them, were gone. A category is read once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    expected = metrics(render("overview", gold_root, monkeypatch))
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    latest = sorted((data_dir / "gold" / "crm_noise_summary").rglob("*.parquet"))[-1]
    rows = pq.read_table(latest)
    pq.write_table(pa.concat_tables([rows, rows]), latest)

    shown = metrics(render("overview", data_dir, monkeypatch))

    assert shown["Valid interactions"] == expected["Valid interactions"]
    assert shown["System noise"] == expected["System noise"]
    assert {"Calls", "Leakage calls", "Tickets created"} <= set(shown)


def test_a_latest_day_built_without_tickets_is_the_support_cards_day(
    gold_root, tmp_path, monkeypatch
):
    """Found in an audit of every number against gold: support delivered nothing on the
    latest day built (its partition written, empty), and the support card, headed "Latest
    day", showed the day before's tickets and SLA share under that day's date, beside cards
    of the latest day; it now shows the latest day built, with no ticket created. So does
    the leakage card, whose summary is empty on a day without leakage calls."""
    from datetime import timedelta

    import pyarrow.parquet as pq

    from cx_assets.lakehouse import parquet

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    day3 = DAY2 + timedelta(days=1)
    for table in ("support_ticket_analytics", "leakage_daily_summary"):
        dataset = data_dir / "gold" / table
        (day2_file,) = parquet.partition_folder(dataset, DAY2).glob("*.parquet")
        empty = pq.read_table(day2_file).slice(0, 0)
        parquet.publish(empty, parquet.partition_folder(dataset, day3))

    app = render("overview", data_dir, monkeypatch)

    assert [caption.value for caption in app.caption].count(f"Latest day {day3}") == 2
    shown = metrics(app)
    assert (shown["Tickets created"], shown["Leakage calls"], shown["Their cost"]) == (
        "0", "0", "$0"
    )  # fmt: skip
    assert "Within SLA" not in shown  # no share of no tickets


def test_the_age_of_a_gold_table_grows_while_no_run_rewrites_it(gold_root, monkeypatch):
    """Found in an audit of a server left running: the freshness table, cached until a run
    rewrites gold, kept each table's age as of its first view, so the morning after a day
    without a run it still read the few minutes of the evening before, where the age is
    there to show that no run came."""
    import datetime as clock

    app = render("overview", gold_root, monkeypatch)
    before = app.dataframe[0].value.set_index("table")["age (h)"]

    class TenHoursLater(clock.datetime):
        @classmethod
        def now(cls, tz=None):
            return super().now(tz) + clock.timedelta(hours=10)

    monkeypatch.setattr(clock, "datetime", TenHoursLater)
    app.run()  # the same session, nothing rewritten: the cached freshness
    assert not app.exception
    after = app.dataframe[0].value.set_index("table")["age (h)"]
    assert ((after - before).dropna().between(9.9, 10.1)).all(), after - before
    assert after.notna().sum() == 25


def test_a_domain_added_beside_the_four_is_named_in_the_freshness_table(tmp_path, monkeypatch):
    """Seen adding a toy domain by docs/architecture.md's steps, its tables' prefix given to
    `data.GOLD_PREFIXES` as they say: the overview's freshness table put its tables under
    "other", the page keeping a list of the domains' prefixes of its own. A domain without a
    title of the page's is named by its source."""
    from datetime import date

    import pyarrow as pa

    from cx_assets.command_centre import data
    from cx_assets.lakehouse import parquet
    from cx_assets.lakehouse.settings import DataLayout

    monkeypatch.setitem(data.GOLD_PREFIXES, "surveys", "surveys_")
    data_dir = tmp_path / "data"
    gold_rows.write_calls(data_dir)
    dataset = DataLayout(data_dir).gold_dir / "surveys_nps_daily"
    day = date(2024, 3, 5)
    parquet.publish(
        pa.table({"date": [day], "responses": [3]}), parquet.partition_folder(dataset, day)
    )

    app = render("overview", data_dir, monkeypatch)

    domains = app.dataframe[0].value.set_index("table")["domain"]
    assert domains["surveys_nps_daily"] == "surveys"
    assert domains["calls_kpis_daily"] == "Calls"


def test_the_checks_that_failed_are_listed_with_their_latest_failing_day(
    gold_root, tmp_path, monkeypatch
):
    """The run history written by hand (`run_history.history_by_hand`, worked out in
    `test_data.test_runs_and_check_problems_are_read_as_recorded`): `freshness` could not
    run, `grain` failed on days 1 and 2 (2024-01-01, -02), and the step's schema verdict
    warned on the same two days: 2 failing, 1 warning, latest failing day 2024-01-02."""
    from cx_assets_tests.command_centre.run_history import history_by_hand

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    history_by_hand(data_dir / "dagster_home")
    app = render("overview", data_dir, monkeypatch)

    assert any(
        caption.value.startswith("2 failing (ERROR), 1 warning (WARN)") for caption in app.caption
    )
    (checks,) = [frame.value for frame in app.dataframe if "check" in frame.value]
    listed = checks.set_index("check")
    assert listed.loc["grain", "failing days"] == 2
    assert listed.loc["grain", "latest failing day"] == "2024-01-02"
    assert pd.isna(listed.loc["freshness", "latest failing day"])


def test_a_tables_age_is_shown_to_a_tenth_of_an_hour(gold_root, tmp_path, monkeypatch):
    """`calls_kpis_daily` last written 90 minutes ago: 1.5 hours (whole hours would say 2)."""
    import os
    import time

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    ninety_minutes_ago = time.time() - 90 * 60
    for path in (data_dir / "gold" / "calls_kpis_daily").rglob("*.parquet"):
        os.utime(path, (ninety_minutes_ago, ninety_minutes_ago))
    app = render("overview", data_dir, monkeypatch)
    ages = app.dataframe[0].value.set_index("table")["age (h)"]
    assert ages["calls_kpis_daily"] == 1.5
