"""Overview: the headline figures of every domain on its latest day, how fresh each gold table
is, and what the runs recorded (latest runs, checks that failed or warned)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from cx_assets.command_centre import runs, ui
from cx_assets.command_centre.data import SUGGESTED_DAYS, GoldLake, source_of, suggested_days

# The pages' titles of the sources (`data.GOLD_PREFIXES` says which tables are whose): a
# domain added without one is named by its source, where a list of prefixes of the page's
# own put it under "other".
DOMAINS = {
    "crm": "CRM friction",
    "calls": "Calls",
    "digital": "Digital leakage",
    "support": "Support",
}


def domain_of(table: str) -> str:
    source = source_of(table)
    return DOMAINS.get(source, source) if source else "other"


@st.cache_data(max_entries=64, show_spinner=False)
def freshness(data_dir: str, version: tuple) -> pd.DataFrame:
    """The freshness table, ages aside (`with_ages`, at each render)."""
    del version
    rows = [
        {
            "domain": domain_of(item.table),
            "table": item.table,
            # Beside the table: a wide table put it out of sight at the far right.
            "problem": item.problem,
            "kind": ("per day" if item.per_day else "whole history") if item.files else None,
            "rows": item.rows,
            "days": item.days or None,
            "first day": item.first_day,
            "latest day": item.last_day,
            "written (UTC)": item.written_at.replace(tzinfo=None) if item.written_at else None,
        }
        for item in GoldLake(Path(data_dir)).freshness()
    ]
    frame = pd.DataFrame(rows)
    if "days" in frame:  # a count, blank for a whole-history table (not 2.0 in the CSV)
        frame["days"] = frame["days"].astype("Int64")
    if "problem" in frame and frame["problem"].isna().all():
        frame = frame.drop(columns="problem")  # shown only when a table has one
    return frame


def with_ages(frame: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """`frame` with each table's age in hours at `now`. Asked at each render, as a run's
    shown status: the table is cached until a run rewrites gold, and an age cached with it
    stood still (the morning after a day without a run, it read the minutes of the evening
    before, where the age is there to show that no run came)."""
    written = pd.to_datetime(frame["written (UTC)"])
    ages = (now.astimezone(UTC).replace(tzinfo=None) - written).dt.total_seconds() / 3600
    return frame.assign(**{"age (h)": ages.round(1)})


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0)
    except PermissionError:  # `runs.read_history` says so in its section
        return (-1, -1)
    return (stat.st_mtime_ns, stat.st_size)


@st.cache_data(max_entries=16, show_spinner=False)
def history(home: str, stamps: tuple) -> runs.RunHistory:
    del stamps
    return runs.read_history(Path(home))


def latest(table: str, sql: str) -> pd.DataFrame | None:
    """`sql` over the table's latest day built (parameter `?`), or None when the table has no
    rows. The latest day built, not the latest with rows: a day a source delivered nothing
    is written without rows, and the day before's figures read as that day's."""
    if not ui.has_rows(table):
        return None
    day = pd.Timestamp(ui.lake().days(table)[-1])
    frame = ui.query(sql, [table], [day.date()])
    frame.attrs["day"] = day
    return frame


def say_nothing_yet(domain: str, table: str, source: str) -> None:
    """The caption of a headline whose table has no rows: never written, written while no
    file of its source had landed, or written from days that gave it none."""
    gold = ui.lake()
    if not gold.files(table):
        st.caption(f"No {domain} gold yet.")
    elif not gold.landed_days(source):
        st.caption(f"No {domain} yet: no {source} files have landed.")
    else:
        st.caption(f"No {domain} in the days built so far.")


def headline_crm() -> None:
    noise = latest(
        "crm_noise_summary",
        "SELECT category, count, pct FROM crm_noise_summary WHERE date = ?",
    )
    if noise is None:
        st.caption("No CRM gold yet.")
        return
    # By category, a row each; a category repeated (a broken grain, which its ERROR check
    # reports below) is read once, where it made the card fail.
    counts = dict(zip(noise["category"], noise["count"], strict=True))
    shares = dict(zip(noise["category"], noise["pct"], strict=True))
    st.caption(f"Latest day {noise.attrs['day']:%Y-%m-%d}")
    if counts.get("valid", 0) + counts.get("noise_total", 0) == 0:
        # A day the CRM delivered nothing: said, rather than a noise share of "—".
        st.caption("No CRM interactions landed that day.")
    else:
        st.metric("Valid interactions", ui.count(counts.get("valid")))
        noise_pct = shares.get("noise_total")
        st.metric("System noise", ui.share(None if noise_pct is None else noise_pct / 100))
    if ui.has_rows("crm_friction_heuristics"):
        friction = ui.query(
            "SELECT count(*) AS n FROM crm_friction_heuristics WHERE date = ?",
            ["crm_friction_heuristics"],
            [noise.attrs["day"]],
        )["n"].iloc[0]
        st.metric("Friction interactions", ui.count(friction))
    if ui.has_rows("crm_churn_risk"):
        high = ui.query(
            "SELECT count(*) FILTER (WHERE risk_band = 'high') AS n FROM crm_churn_risk",
            ["crm_churn_risk"],
        )["n"].iloc[0]
        st.metric("Companies at high churn risk", ui.count(high))


def headline_calls() -> None:
    kpis = latest(
        "calls_kpis_daily",
        "SELECT total_calls, conversion_rate, total_upsell_revenue FROM calls_kpis_daily "
        "WHERE date = ?",
    )
    if kpis is None or kpis.empty:
        st.caption("No calls gold yet.")
        return
    row = kpis.iloc[0]
    st.caption(f"Latest day {kpis.attrs['day']:%Y-%m-%d}")
    if not row["total_calls"]:
        st.caption("No calls landed that day.")
        return
    st.metric("Calls", ui.count(row["total_calls"]))
    st.metric("Conversion rate", ui.share(row["conversion_rate"]))
    st.metric("Upsell revenue", ui.money(row["total_upsell_revenue"]))


def headline_leakage() -> None:
    summary = latest(
        "leakage_daily_summary",
        "SELECT coalesce(sum(leakage_calls), 0) AS calls, coalesce(sum(daily_cost), 0) AS cost "
        "FROM leakage_daily_summary WHERE date = ?",
    )
    if summary is None:
        say_nothing_yet("leakage", "leakage_daily_summary", "digital")
        return
    st.caption(f"Latest day {summary.attrs['day']:%Y-%m-%d}")
    st.metric("Leakage calls", ui.count(summary["calls"].iloc[0]))
    st.metric("Their cost", ui.money(summary["cost"].iloc[0]))
    if ui.has_rows("leakage_savings_model"):
        annual = ui.query(
            "SELECT sum(annualized_cost) AS cost FROM leakage_savings_model",
            ["leakage_savings_model"],
        )["cost"].iloc[0]
        # All history, as the leakage page's card: under "Latest day" it read as that day's.
        st.metric(
            "Annualized cost (all history)",
            ui.money(annual),
            help="Each journey type's leakage calls a day on average over every day built, "
            "and their cost over a year (the leakage page's savings model).",
        )


def headline_support() -> None:
    tickets = latest(
        "support_ticket_analytics",
        "SELECT count(*) AS tickets, "
        "avg(CAST(first_response_breached OR resolution_breached AS DOUBLE)) AS breach_share "
        "FROM support_ticket_analytics WHERE date = ?",
    )
    if tickets is None:
        say_nothing_yet("support", "support_ticket_analytics", "support")
        return
    st.caption(f"Latest day {tickets.attrs['day']:%Y-%m-%d}")
    st.metric("Tickets created", ui.count(tickets["tickets"].iloc[0]))
    breach = tickets["breach_share"].iloc[0]
    if not pd.isna(breach):  # no SLA share of no tickets
        st.metric("Within SLA", ui.share(1 - breach))
    if ui.has_rows("support_assignment_plan"):
        plan = ui.query(
            "SELECT count(*) AS open, count(agent_id) AS planned FROM support_assignment_plan",
            ["support_assignment_plan"],
        )
        # A short label: a card is a quarter of the page, and a longer one was cut off.
        st.metric(
            "Open tickets planned",
            f"{plan['planned'].iloc[0]:,} of {plan['open'].iloc[0]:,}",
            help="Open tickets without an agent that the assignment plan gives one, of all "
            "of them, as of the latest day.",
        )


st.title("CX command centre")
gold = ui.lake()
st.caption(
    f"Data root `{gold.data_dir}`: gold Parquet only (never `warehouse.duckdb`), refreshed "
    "when a run rewrites a table."
)

tables = gold.tables()
if not tables:
    first, last = suggested_days()
    st.info(
        f"No gold tables under `{gold.gold_dir}` yet. Generate and materialize some days "
        f"first: `cx-lakehouse generate --start {first} --days {SUGGESTED_DAYS}` and then "
        f"`cx-lakehouse run --date {first} --to {last}` (or `make demo` in the repository)."
    )

st.header("Headlines")
crm, calls, leakage, support = st.columns(4)
for column, title, show in (
    (crm, "CRM friction", headline_crm),
    (calls, "Calls", headline_calls),
    (leakage, "Digital leakage", headline_leakage),
    (support, "Support", headline_support),
):
    # A damaged file behind one card is said in that card, the rest of the page still shown.
    with column.container(border=True), ui.section():
        st.subheader(title)
        show()

st.header("Freshness of the gold tables")
if tables:
    fresh = with_ages(freshness(str(gold.data_dir), gold.version(tables)), datetime.now(UTC))
    ui.table(
        fresh,
        name="gold_freshness",
        column_config={
            "written (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "age (h)": st.column_config.NumberColumn(format="%.1f"),  # 7.0, not 7 beside 6.9
        },
    )
else:
    st.caption("No gold tables yet.")

st.header("Runs and checks")
home = runs.dagster_home(gold.data_dir)
stamps = tuple(
    _stamp(home / "history" / name)
    for name in ("runs.db", "runs.db-wal", "runs/index.db", "runs/index.db-wal")
)
recorded = history(str(home), stamps)
if not recorded.readable:
    st.caption(f"Run history in `{home}`: {recorded.reason}.")
else:
    st.subheader("Latest runs")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": run.run_id[:8],
                    "status": run.shown_status,
                    "days": run.days,
                    "trigger": run.trigger,
                    "started (UTC)": run.started_at.replace(tzinfo=None)
                    if run.started_at
                    else None,
                    "ended (UTC)": run.ended_at.replace(tzinfo=None) if run.ended_at else None,
                }
                for run in recorded.runs
            ]
        ),
        hide_index=True,
        placeholder=ui.MISSING,
    )
    st.subheader("Checks that failed or warned")
    if not recorded.problems:
        st.success("Every check passed at its latest evaluation.")
    else:
        errors = sum(problem.severity == "ERROR" for problem in recorded.problems)
        warned = len(recorded.problems) - errors
        st.caption(
            f"{errors} failing (ERROR), {ui.plural(warned, 'warning')} (WARN), at each "
            "check's latest evaluation"
        )
        problems = pd.DataFrame(
            [
                {
                    "severity": problem.severity,
                    "asset": problem.asset,
                    "check": problem.check,
                    "failing days": len(problem.days) or None,
                    "latest failing day": problem.days[-1] if problem.days else None,
                    "description": problem.description,
                    "run": problem.run_id[:8],
                }
                for problem in recorded.problems
            ]
        ).dropna(axis="columns", how="all")
        ui.table(problems, name="check_problems")
