"""Support: SLA compliance by priority, agent performance, the ticket volume forecast with its
intervals and backtest error, tickets whose predicted category needs review, and the plan for
open unassigned tickets. Filters: days (of ticket creation) and teams."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from cx_assets.command_centre import charts, ui
from cx_assets.support.model_inputs import category_key_sql

REQUIRED = ["support_ticket_analytics", "support_agent_daily"]  # the others, in sections
PRIORITY_ORDER = "['urgent', 'high', 'medium', 'low']"  # a DuckDB list, most urgent first
HISTORY_DAYS = 28  # delivered days shown before the forecast
# Waits to a tenth of a minute or hour, CSAT to two decimals as its card and scatter write it;
# headed with their units short, so the SLA table's eight columns fit the page's width.
TIMES_AND_CSAT = {
    "median_first_response_minutes": st.column_config.NumberColumn(
        "median first response (min)", format=ui.TENTHS_FORMAT
    ),
    "median_resolution_hours": st.column_config.NumberColumn(
        "median resolution (h)", format=ui.TENTHS_FORMAT
    ),
    "mean_first_response_minutes": st.column_config.NumberColumn(
        "mean first response (min)", format=ui.TENTHS_FORMAT
    ),
    "mean_resolution_hours": st.column_config.NumberColumn(
        "mean resolution (h)", format=ui.TENTHS_FORMAT
    ),
    "mean_csat": st.column_config.NumberColumn("mean CSAT", format="%.2f"),
}
# The shares as the cards above name them.
SLA_SHARES = {
    "sla_compliance": "within SLA",
    "first_response_breach_share": "first response late",
    "resolution_breach_share": "resolution late",
}
# An agent's team and name: the latest ones its daily rows give. A team missing on the
# latest day is no team (`arg_max` passes over a missing one, and kept the team left).
TEAMS = """(SELECT agent_id, first(team ORDER BY date DESC) AS team,
                   arg_max(agent_name, date) AS agent_name
            FROM support_agent_daily GROUP BY agent_id)"""

# The tickets of the chosen teams created in the chosen days (parameters: first, last, every
# team?, every team?, teams); with every team, unassigned tickets too.
IN_TEAMS = "(? OR list_contains(?, coalesce(g.team, '(no team)')))"
TICKETS = f"""(
    SELECT t.*, NOT (t.first_response_breached OR t.resolution_breached) AS within_sla
    FROM support_ticket_analytics t LEFT JOIN {TEAMS} g USING (agent_id)
    WHERE t.date BETWEEN ? AND ?
      AND (t.agent_id IS NULL AND ? OR t.agent_id IS NOT NULL AND {IN_TEAMS}))"""

st.title("Support")
ui.require(REQUIRED, source="support", what="support gold tables")

days = ui.query("SELECT DISTINCT date FROM support_ticket_analytics", ["support_ticket_analytics"])[
    "date"
]
first, last = ui.date_filter(list(days.dt.date), key="support_days")
# The teams agents are counted under (`TEAMS`, each agent's latest): a team every agent has
# left was offered, and picked no ticket.
known_teams = ui.query(
    f"SELECT DISTINCT coalesce(team, '(no team)') AS team FROM {TEAMS} ORDER BY team",
    ["support_agent_daily"],
)["team"].tolist()
teams = ui.dimension_filter("Teams", known_teams, key="support_teams")
every_team = len(teams) == len(known_teams)
st.caption(
    f"Tickets created {ui.days_caption(first, last)} · "
    f"{'all teams (unassigned tickets included)' if every_team else ui.listed(teams)}"
)
in_filter = [first, last, every_team, every_team, teams]

# --------------------------------------------------------------------------- SLA
totals = ui.query(
    f"""SELECT count(*) AS tickets, avg(CAST(within_sla AS DOUBLE)) AS within_sla,
               avg(CAST(first_response_breached AS DOUBLE)) AS first_response_late,
               avg(csat_score) AS mean_csat
        FROM {TICKETS}""",
    ["support_ticket_analytics", "support_agent_daily"],
    in_filter,
).iloc[0]
kpi = st.columns(4)
kpi[0].metric("Tickets created", ui.count(totals["tickets"]))
kpi[1].metric("Within SLA", ui.share(totals["within_sla"]))
kpi[2].metric("First responses late", ui.share(totals["first_response_late"]))
kpi[3].metric("Mean CSAT", ui.number(totals["mean_csat"], ".2f"))
sla = ui.query(
    f"""SELECT priority, count(*) AS tickets,
               avg(CAST(within_sla AS DOUBLE)) AS sla_compliance,
               avg(CAST(first_response_breached AS DOUBLE)) AS first_response_breach_share,
               avg(CAST(resolution_breached AS DOUBLE)) AS resolution_breach_share,
               median(first_response_minutes) AS median_first_response_minutes,
               median(resolution_minutes) / 60 AS median_resolution_hours,
               avg(csat_score) AS mean_csat
        FROM {TICKETS}
        GROUP BY priority
        ORDER BY list_position({PRIORITY_ORDER}, priority)""",
    ["support_ticket_analytics", "support_agent_daily"],
    in_filter,
)

st.header("SLA compliance by priority")
st.caption(
    "Within SLA: neither the first-response nor the resolution target breached (contract §4.4)."
)
ui.chart(
    charts.bars(
        sla, x="priority", y="sla_compliance", title="Tickets within SLA",
        value_format=".1%", axis_format=".0%", height=260, labels=SLA_SHARES,
    ),
    key="support_sla",
)  # fmt: skip
# The page's width: beside the chart, half of its eight columns were behind a scroll.
ui.table(
    sla,
    name="support_sla_by_priority",
    shares=list(SLA_SHARES),
    column_config={**TIMES_AND_CSAT, **SLA_SHARES},
)

# --------------------------------------------------------------------------- agents
st.header("Agent performance")
# From the tickets, not the daily means: a day's mean CSAT is of its rated tickets and its
# mean first response of its answered ones, which the daily rows do not count.
agents = ui.query(
    f"""SELECT t.agent_id, any_value(g.agent_name) AS agent_name,
               coalesce(any_value(g.team), '(no team)') AS team,
               count(*) AS tickets_handled,
               count(t.resolved_at) AS tickets_resolved,
               count(*) FILTER (WHERE NOT t.within_sla) AS sla_breaches,
               count(*) FILTER (WHERE NOT t.within_sla) / count(*) AS breach_share,
               avg(t.first_response_minutes) AS mean_first_response_minutes,
               avg(t.resolution_minutes) / 60 AS mean_resolution_hours,
               avg(t.csat_score) AS mean_csat
        FROM {TICKETS} t LEFT JOIN {TEAMS} g USING (agent_id)
        WHERE t.agent_id IS NOT NULL
        GROUP BY t.agent_id ORDER BY tickets_handled DESC, t.agent_id""",
    ["support_ticket_analytics", "support_agent_daily"],
    in_filter,
)
st.caption(
    "Over the tickets of these days: CSAT of the rated ones, first response of the answered "
    "ones, resolution of the resolved ones. Click a column header to sort."
)
if agents.empty:
    st.caption("No ticket of these teams was created in these days.")
else:
    agents["agent"] = agents["agent_name"].fillna(agents["agent_id"])
    top = agents.head(20)
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.bars(
                top, x="agent", y="tickets_handled", horizontal=True, colour="team",
                title="Tickets handled (the 20 busiest)",
            ),
            key="support_agent_tickets",
        )  # fmt: skip
    # Every agent, not the busiest alone: at the contract's 150 agents the worst breach
    # shares were of agents far down the ranking by tickets, and off a chart of the 20
    # busiest. An agent without a rated ticket has no CSAT to place (not a CSAT of 0).
    rated = agents.dropna(subset=["mean_csat"])
    with right:
        if rated.empty:
            st.caption("SLA breaches vs CSAT: no ticket of these agents was rated in these days.")
        else:
            ui.chart(
                charts.scatter(
                    rated, x="breach_share", y="mean_csat",
                    size="tickets_handled", label="agent", x_format="~%", y_format=".2f",
                    labels={"mean_csat": "mean CSAT"},
                    title="SLA breaches vs CSAT (size: tickets; agents with a rated ticket)",
                ),
                key="support_agent_scatter",
            )  # fmt: skip
    ui.table(
        agents.drop(columns="agent"),
        name="support_agents",
        shares=["breach_share"],
        # Headed short, as the SLA table: its ten columns in the page's width.
        column_config={
            **TIMES_AND_CSAT,
            "tickets_handled": "handled",
            "tickets_resolved": "resolved",
            "sla_breaches": "breaches",
        },
    )

# --------------------------------------------------------------------------- forecast
st.header("Ticket volume forecast")
with ui.section():
    ui.require_written("support_volume_forecast")
    if not ui.has_rows("support_volume_forecast"):
        st.caption("No forecast yet: it is written with the support rollups.")
    else:
        categories = ui.query(
            "SELECT DISTINCT category FROM support_volume_forecast ORDER BY category <> 'all', category",
            ["support_volume_forecast"],
        )["category"].tolist()
        category = st.selectbox("Category", categories, key="support_forecast_category")
        forecast = ui.query(
            "SELECT * FROM support_volume_forecast WHERE category = ? ORDER BY date",
            ["support_volume_forecast"],
            [category],
        )
        start = forecast["date"].min().date() - timedelta(days=HISTORY_DAYS)
        # The series the model was fitted on: the delivered category as the models count it
        # (trimmed, lower case), else the predicted one. Delivered ones alone drew a history a
        # quarter below the forecast, a jump that is not in the data.
        # Without the classifier's table (none yet, or not written): the delivered category.
        classified = ui.has_rows("support_ticket_categories")
        predicted = (
            "SELECT ticket_id, predicted_category FROM support_ticket_categories"
            if classified
            else "SELECT NULL AS ticket_id, NULL AS predicted_category WHERE FALSE"
        )
        history = ui.query(
            f"""SELECT t.date, count(*) AS tickets
                FROM support_ticket_analytics t LEFT JOIN ({predicted}) c USING (ticket_id)
                WHERE t.date >= ?
                  AND (? = 'all' OR coalesce({category_key_sql("t.category")},
                                             c.predicted_category) = ?)
                GROUP BY t.date ORDER BY t.date""",
            ["support_ticket_analytics", *(["support_ticket_categories"] if classified else [])],
            [start, category, category],
        )
        # A day built without tickets is a 0 in the model's series (its WARN says so), and
        # in the history: the query above sees only days with rows.
        counted = dict(zip(history["date"].dt.date, history["tickets"], strict=True))
        ahead = forecast["date"].min().date()
        shown_days = sorted(
            {*counted, *(day for day in ui.lake().days("support_ticket_analytics")
                         if start <= day < ahead)}
        )  # fmt: skip
        history = pd.DataFrame(
            {
                "date": pd.to_datetime(shown_days),
                "tickets": [int(counted.get(day, 0)) for day in shown_days],
            }
        )
        row = forecast.iloc[0]
        no_backtest = (
            "no backtest error: as forecast by the seasonal-naive baseline (too little history "
            "for a backtest, or none of its windows could be scored)"
            if pd.isna(row["backtest_mase"])
            else None
        )
        kpi = st.columns(3)
        horizon = forecast["date"].nunique()  # the forecaster's, as gold holds it
        kpi[0].metric(f"Next {horizon} days", ui.count(forecast["forecast"].sum()))
        kpi[1].metric("Backtest MASE", ui.number(row["backtest_mase"], ".2f"), help=no_backtest)
        kpi[2].metric(
            "Seasonal-naive MASE", ui.number(row["baseline_mase"], ".2f"), help=no_backtest
        )
        # A caption, not a card: a model's name (`SeasonalNaive`) was cut short in a card.
        st.caption(
            f"Model: **{ui.markdown_text(row['model'])}**"
            + (f" ({no_backtest})" if no_backtest else "")
        )
        ui.chart(
            charts.forecast_bands(history, forecast, title=f"Tickets created a day: {category}"),
            key="support_forecast",
        )
        st.caption(
            "Of every team's tickets, after the latest day built: the days and teams chosen do not "
            "apply. History as the model counts it: the delivered category, else the predicted "
            "one. MASE below 1 beats a naive forecast, and below the seasonal-naive MASE beats "
            "the baseline."
        )

# --------------------------------------------------------------------------- categories
st.header("Categories needing review")
with ui.section():
    ui.require_written("support_ticket_categories")
    # The tickets of the chosen teams' agents (with every team, those without an agent too).
    review = ui.query(
        f"""SELECT c.date, c.ticket_id, c.predicted_category, c.confidence
            FROM support_ticket_categories c
            LEFT JOIN (SELECT ticket_id, agent_id FROM support_ticket_analytics) t USING (ticket_id)
            LEFT JOIN {TEAMS} g USING (agent_id)
            WHERE c.needs_review AND c.date BETWEEN ? AND ?
              AND (t.agent_id IS NULL AND ? OR t.agent_id IS NOT NULL AND {IN_TEAMS})
            ORDER BY c.confidence NULLS FIRST, c.ticket_id""",
        ["support_ticket_categories", "support_ticket_analytics", "support_agent_daily"],
        in_filter,
    ) if ui.has_rows("support_ticket_categories") else None  # fmt: skip
    if review is None:
        st.caption("No uncategorized tickets yet.")
    else:
        st.caption(
            f"{ui.plural(len(review), 'ticket')} delivered without a category whose predicted "
            "category is uncertain (under the review threshold) or missing; least certain first."
        )
        ui.table(
            review,
            name="support_categories_to_review",
            shares=["confidence"],
            column_config={
                "confidence": st.column_config.ProgressColumn(
                    min_value=0, max_value=100, format=ui.PERCENT_FORMAT
                )
            },
        )

# --------------------------------------------------------------------------- plan
st.header("Assignment plan")
with ui.section():
    ui.require_written("support_assignment_plan")
    if not ui.has_rows("support_assignment_plan"):
        st.caption("No open ticket without an agent.")
    else:
        # The plan is of every open ticket without an agent, whatever the days: a team filter
        # narrows the table to the tickets planned to its agents, not the counts above it.
        plan = ui.query(
            f"""SELECT p.ticket_id, p.priority, p.category, p.agent_id, g.agent_name,
                       coalesce(g.team, '(no team)') AS team, p.reason
                FROM support_assignment_plan p LEFT JOIN {TEAMS} g USING (agent_id)
                ORDER BY p.agent_id NULLS LAST, p.ticket_id""",
            ["support_assignment_plan", "support_agent_daily"],
        )
        planned = plan["agent_id"].notna()
        of_teams = plan[planned & plan["team"].isin(teams)]
        kpi = st.columns(3)
        kpi[0].metric("Open tickets without an agent", ui.count(len(plan)))
        kpi[1].metric("Planned to an agent", ui.count(planned.sum()))
        if not every_team:
            kpi[2].metric("Planned to these teams' agents", ui.count(len(of_teams)))
        st.caption(
            "Every open ticket without an agent now, whatever the days chosen"
            + ("." if every_team else "; the table shows those planned to these teams' agents.")
        )
        unplanned = plan[~planned]
        if len(unplanned):
            reasons = unplanned.groupby("reason").size().reset_index(name="tickets")
            ui.chart(
                charts.bars(reasons, x="reason", y="tickets", horizontal=True,
                            title="Why the rest could not be planned"),
                key="support_plan_reasons",
            )  # fmt: skip
        ui.table(plan if every_team else of_teams, name="support_assignment_plan")
