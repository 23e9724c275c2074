"""Calls: conversion, upsell and sentiment of recorded calls. KPI scorecards (against the
period before), agents compared on conversion and upsell, conversion vs upsell, the sentiment
mix, the daily trend and a sortable agent table. Filters: days and agents.

Rates are re-aggregated from counts over the filter (`sum(conversions) ÷ sum(calls)`), never
averaged from daily rates."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from cx_assets.command_centre import charts, ui

REQUIRED = ["calls_kpis_daily", "calls_agent_daily"]  # the others, in a section of their own
# A bar for each agent of a team up to this size (a step of 22 px each: 660 px).
AGENTS_CHARTED = 30
SENTIMENTS = {
    "positive_calls": "positive",
    "neutral_calls": "neutral",
    "negative_calls": "negative",
}
PER_AGENT = """
    SELECT agent_name, sum(calls)::BIGINT AS calls, sum(conversions)::BIGINT AS conversions,
           sum(conversions) / nullif(sum(calls), 0) AS conversion_rate,
           sum(upsell_revenue) AS upsell_revenue,
           sum(upsell_revenue) / nullif(sum(calls), 0) AS avg_upsell_per_call,
           sum(positive_calls)::BIGINT AS positive_calls, sum(neutral_calls)::BIGINT AS neutral_calls,
           sum(negative_calls)::BIGINT AS negative_calls
    FROM calls_agent_daily
    WHERE date BETWEEN ? AND ? AND list_contains(?, agent_name)
    GROUP BY agent_name ORDER BY conversion_rate DESC, agent_name
"""

st.title("Calls")
ui.require(REQUIRED, source="calls", what="calls gold tables")

days = ui.query("SELECT DISTINCT date FROM calls_kpis_daily", ["calls_kpis_daily"])["date"]
first, last = ui.date_filter(list(days.dt.date), key="calls_days")
agents_known = ui.query(
    "SELECT DISTINCT agent_name FROM calls_agent_daily ORDER BY agent_name", ["calls_agent_daily"]
)["agent_name"].tolist()
agents = ui.dimension_filter("Agents", agents_known, key="calls_agents")
every_agent = len(agents) == len(agents_known)
st.caption(f"{ui.days_caption(first, last)} · {'all agents' if every_agent else ui.listed(agents)}")

per_agent = ui.query(PER_AGENT, ["calls_agent_daily"], [first, last, agents])
span = last - first + timedelta(days=1)
before_first, before_last = first - span, first - timedelta(days=1)
# Deltas only against a period as long as this one and wholly built: against days never
# built (before the first one landed), a rise would only say that they are missing.
built = set(days.dt.date)
before_built = all(before_first + timedelta(days=n) in built for n in range(span.days))
before = ui.query(PER_AGENT, ["calls_agent_daily"], [before_first, before_last, agents])


def totals(frame):
    calls = frame["calls"].sum()
    return {
        "calls": calls,
        "conversion_rate": frame["conversions"].sum() / calls if calls else None,
        "upsell_revenue": frame["upsell_revenue"].sum(),
        "avg_upsell_per_call": frame["upsell_revenue"].sum() / calls if calls else None,
        "positive_share": frame["positive_calls"].sum() / calls if calls else None,
    }


now, then = totals(per_agent), totals(before)


def delta(key: str, render) -> dict:
    """A card's delta, as `st.metric`'s keyword arguments (`ui.delta`)."""
    if not before_built or now[key] is None or then[key] is None:
        return ui.delta(None)
    return ui.delta(render(now[key] - then[key]))


def points(change: float) -> str:
    """A change of a rate, in percentage points (not a relative change in %). One that
    rounds to none reads `+0.0 pp` whichever way it went (`z`: never `-0.0 pp`)."""
    return f"{change * 100:+z.1f} pp"


def cents(value: float | None) -> str:
    shown = ui.number(value, ",.2f")  # a NaN reads as missing too (it read `$nan`)
    return shown if shown == ui.MISSING else f"${shown}"


def cents_change(value: float) -> str:
    return ui.money_change(value, decimals=2)


# --------------------------------------------------------------------------- scorecards
kpi = st.columns(5)
kpi[0].metric("Calls", ui.count(now["calls"]), **delta("calls", ui.count))
kpi[1].metric(
    "Conversion rate",
    ui.share(now["conversion_rate"]),
    **delta("conversion_rate", points),
)
kpi[2].metric(
    "Upsell revenue", ui.money(now["upsell_revenue"]), **delta("upsell_revenue", ui.money_change)
)
kpi[3].metric(
    "Upsell per call",
    cents(now["avg_upsell_per_call"]),
    **delta("avg_upsell_per_call", cents_change),
)
kpi[4].metric("Positive calls", ui.share(now["positive_share"]), **delta("positive_share", points))
if before_built:
    st.caption(
        f"Deltas against the {ui.plural(span.days, 'day')} before ({before_first} to "
        f"{before_last}); rates in percentage points."
    )
else:
    st.caption(
        f"No deltas: the {ui.plural(span.days, 'day')} before ({before_first} to "
        f"{before_last}) {'is not built' if span.days == 1 else 'are not all built'}."
    )

if per_agent.empty:
    st.info("No calls in these days for these agents.")
    st.stop()

# --------------------------------------------------------------------------- agents compared
st.header("Agents compared")
# Every agent, a bar each, its name on a line of its own: side by side under vertical bars, a
# team of 20 (the contract's volumes) had about 23 px of a half-page chart for each name,
# and the names ran into one smear. A larger team's bars are of its busiest agents, as the
# titles say: at 800 agents (scale 40) each chart was 17,700 px tall, the rest of the page
# 17 screens below; the scatter and the table keep every agent.
charted = per_agent
busiest = ""
if len(per_agent) > AGENTS_CHARTED:
    charted = (
        per_agent.sort_values("calls", ascending=False, kind="stable")
        .head(AGENTS_CHARTED)
        .sort_index()  # back in the order of conversion
    )
    busiest = f" (the {AGENTS_CHARTED} busiest)"
    st.caption(
        f"Bars for the {AGENTS_CHARTED} agents with the most calls of these "
        f"{len(per_agent):,}; every agent is on the scatter below and in the agents' table."
    )
left, right = st.columns(2)
with left:
    ui.chart(
        charts.bars(
            charted, x="agent_name", y="conversion_rate", title=f"Conversion rate{busiest}",
            horizontal=True, value_format=".1%", axis_format=".0%",
            labels={"agent_name": "agent", "conversion_rate": "conversion"},
        ),
        key="calls_conversion_by_agent",
    )  # fmt: skip
with right:
    ui.chart(
        charts.bars(
            charted.sort_values("upsell_revenue", ascending=False), x="agent_name",
            y="upsell_revenue", title=f"Upsell revenue{busiest}", horizontal=True,
            value_format="$,.0f", axis_format="$,.0f",
            labels={"agent_name": "agent", "upsell_revenue": "revenue"},
        ),
        key="calls_upsell_by_agent",
    )  # fmt: skip
left, right = st.columns(2)
with left:
    ui.chart(
        charts.scatter(
            per_agent, x="conversion_rate", y="avg_upsell_per_call", size="calls",
            label="agent_name", title="Conversion vs upsell per call (size: calls)",
            x_format="~%", y_format="$,.2f",
            labels={"conversion_rate": "conversion rate", "avg_upsell_per_call": "upsell per call"},
        ),
        key="calls_scatter",
    )  # fmt: skip
with right:
    sentiment = (
        per_agent[["positive_calls", "neutral_calls", "negative_calls"]]
        .sum()
        .rename(index=SENTIMENTS)
        .rename_axis("sentiment")
        .reset_index(name="calls")
    )
    ui.chart(
        charts.donut(sentiment, names="sentiment", values="calls", title="Sentiment mix"),
        key="calls_sentiment",
    )

# --------------------------------------------------------------------------- trend
st.header("Daily trend")
# Every built day of the range (`calls_kpis_daily` has a row for a day without calls, the
# agents' table none): such a day is $0 of revenue and no rate, not a day the lines skip.
daily = ui.query(
    """WITH days AS (SELECT DISTINCT date FROM calls_kpis_daily WHERE date BETWEEN ? AND ?),
            agents AS (
                SELECT date, sum(calls) AS calls, sum(conversions) AS conversions,
                       sum(upsell_revenue) AS upsell_revenue
                FROM calls_agent_daily WHERE date BETWEEN ? AND ? AND list_contains(?, agent_name)
                GROUP BY date
            )
       SELECT date, coalesce(calls, 0)::BIGINT AS calls,
              conversions / nullif(calls, 0) AS conversion_rate,
              coalesce(upsell_revenue, 0.0) AS upsell_revenue
       FROM days LEFT JOIN agents USING (date) ORDER BY date""",
    ["calls_kpis_daily", "calls_agent_daily"],
    [first, last, first, last, agents],
)
left, right = st.columns(2)
with left:
    ui.chart(
        charts.lines(
            daily, x="date", y="conversion_rate", title="Conversion rate a day", y_format=".0%"
        ),
        key="calls_trend_conversion",
    )
with right:
    ui.chart(
        charts.lines(
            daily, x="date", y="upsell_revenue", title="Upsell revenue a day", y_format="$,.0f"
        ),
        key="calls_trend_upsell",
    )

# --------------------------------------------------------------------------- tables
st.header("Agents")
st.caption("Click a column header to sort.")
ui.table(
    per_agent,
    name="calls_agents",
    shares=["conversion_rate"],
    # A total in whole dollars, as its card and bars write it; a call's mean to the cent.
    column_config={
        "upsell_revenue": st.column_config.NumberColumn(format=ui.WHOLE_DOLLARS_FORMAT),
        "avg_upsell_per_call": st.column_config.NumberColumn(format=ui.CENTS_FORMAT),
    },
)
st.header("Largest upsells")
with ui.section():
    upsells = ui.query(
        """SELECT call_id, agent_name, called_at, upsell_amount, converted, sentiment
           FROM calls_performance
           WHERE date BETWEEN ? AND ? AND list_contains(?, agent_name) AND upsell_amount > 0
           ORDER BY upsell_amount DESC, call_id LIMIT 20""",
        ["calls_performance"],
        [first, last, agents],
    )
    if upsells.empty:
        st.caption("No upsell in these days for these agents.")
    else:
        ui.table(
            upsells,
            name="calls_largest_upsells",
            column_config={"upsell_amount": st.column_config.NumberColumn(format=ui.CENTS_FORMAT)},
        )
