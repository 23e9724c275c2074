"""Digital leakage: failed portal journeys that turn into calls. The executive overview (journey
types ranked by cost, with their trend), the segment drill-down, one member's journey played
back step by step, the savings model with an adjustable fix rate, root causes and the
next-best actions. Filters: days and journey types."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cx_assets.command_centre import charts, ui

PLAYBACK_MEMBERS = 200  # members offered for playback: those with most leakage calls
ACTIONS_WRITTEN_OUT = 3  # the first next-best actions, in full above their table
# A journey event's action as the playback says it: "the member abandons billing".
ACTION_VERBS = {
    "start": "starts", "view": "views", "submit": "submits", "complete": "completes",
    "abandon": "abandons", "error": "hits an error on",
}  # fmt: skip

st.title("Digital leakage")
# The summary alone is required: every other table is read in a section of its own, which
# says in its place when the table is not written yet.
ui.require(
    ["leakage_daily_summary"],
    source="digital",
    what="leakage gold tables",
    none_means=(
        "No call came within the leakage window after an abandoned or failed portal journey "
        "of the same member and type: no leakage to show."
    ),
)

days = ui.query("SELECT DISTINCT date FROM leakage_daily_summary", ["leakage_daily_summary"])
first, last = ui.date_filter(list(days["date"].dt.date), key="leakage_days")
known_types = ui.query(
    "SELECT DISTINCT journey_type FROM leakage_daily_summary ORDER BY journey_type",
    ["leakage_daily_summary"],
)["journey_type"].tolist()
types = ui.dimension_filter("Journey types", known_types, key="leakage_types")
in_range = [first, last, types]
st.caption(
    f"{ui.days_caption(first, last)} · "
    f"{'all journey types' if len(types) == len(known_types) else ui.listed(types)}"
)

# --------------------------------------------------------------------------- overview
overview = ui.query(
    """SELECT journey_type, sum(leakage_calls)::BIGINT AS leakage_calls, sum(daily_cost) AS cost,
              -- the latest day's, missing or not (`arg_max` passes over a missing one)
              first(trend_pct ORDER BY date DESC) AS latest_trend_pct
       FROM leakage_daily_summary
       WHERE date BETWEEN ? AND ? AND list_contains(?, journey_type)
       GROUP BY journey_type ORDER BY cost DESC, journey_type""",
    ["leakage_daily_summary"],
    in_range,
)
overview["primary_segment"] = None  # the drill-down's, when it is written and readable
with ui.section():
    segments = ui.query(
        # the most calls, a tie to the first category by name, as gold's each day
        """SELECT journey_type,
                  first(member_category ORDER BY calls DESC, member_category) AS primary_segment
           FROM (SELECT journey_type, member_category, sum(calls) AS calls
                 FROM leakage_segment_drilldown WHERE date BETWEEN ? AND ?
                 GROUP BY ALL)
           GROUP BY journey_type""",
        ["leakage_segment_drilldown"],
        [first, last],
    )
    overview["primary_segment"] = overview["journey_type"].map(
        dict(zip(segments["journey_type"], segments["primary_segment"], strict=True))
    )
SAVINGS = (
    "SELECT * FROM leakage_savings_model WHERE list_contains(?, journey_type) "
    "ORDER BY annualized_cost DESC"
)
kpi = st.columns(4)
kpi[0].metric("Leakage calls", ui.count(overview["leakage_calls"].sum()))
kpi[1].metric("Their cost", ui.money(overview["cost"].sum()))
ANNUALIZED = "Annualized cost (all history)"
with kpi[2], ui.section(figure=ANNUALIZED):
    annual = ui.query(SAVINGS, ["leakage_savings_model"], [types])
    st.metric(ANNUALIZED, ui.money(annual["annualized_cost"].sum()))
worst = overview.dropna(subset=["latest_trend_pct"]).sort_values("latest_trend_pct")
# A type whose leakage fell, or held, is not growing: when none grew, the card says so
# rather than naming the one that fell least.
growing = worst[worst["latest_trend_pct"] > 0]
if len(growing):
    top = growing.iloc[-1]
    said = {
        "value": ui.markdown_text(top["journey_type"]),
        **ui.delta(f"{top['latest_trend_pct']:+.1f}% week on week", colour="inverse"),
    }
elif len(worst):
    least = worst.iloc[-1]
    said = {
        "value": ui.MISSING,
        # `z`: a fall too small to show reads +0.0%, as a type that held, never -0.0%.
        "help": "No journey type's leakage grew week on week (the least fall: "
        f"{least['journey_type']}, {least['latest_trend_pct']:+z.1f}%).",
    }
else:
    said = {
        "value": ui.MISSING,
        "help": "No week-on-week trend: it needs calls delivered on each of the 14 days up "
        "to the latest day, and leakage calls of the type in the earlier week.",
    }
kpi[3].metric("Fastest growing", **said)

st.header("Executive overview")
st.caption(
    "Journey types ranked by the cost of their leakage calls; trend = the latest week over the "
    "week before (blank without 14 days of calls to compare)."
)
# The summary keeps a type for two weeks after its last leakage call, with zero calls.
leaked = overview[overview["leakage_calls"] > 0]
if leaked.empty:
    st.caption("No leakage calls in these days for these journey types.")
else:
    left, right = st.columns(2)
    with left:
        ui.chart(
            charts.bars(
                overview, x="journey_type", y="cost", title="Cost of leakage calls",
                horizontal=True, value_format="$,.0f",
            ),
            key="leakage_cost",
        )  # fmt: skip
    with right:
        # Every day built in the range for each type shown: the summary has no row for a
        # type on a day without its leakage calls in the two weeks before (its first calls,
        # or a quiet spell), and a line skipped the day instead of reading 0.
        built = [day for day in ui.lake().days("leakage_daily_summary") if first <= day <= last]
        daily = ui.query(
            """WITH days AS (SELECT unnest(?::DATE[]) AS date),
                    types AS (SELECT DISTINCT journey_type FROM leakage_daily_summary
                              WHERE date BETWEEN ? AND ? AND list_contains(?, journey_type))
               SELECT days.date, types.journey_type,
                      coalesce(s.leakage_calls, 0)::BIGINT AS leakage_calls
               FROM days CROSS JOIN types
               LEFT JOIN leakage_daily_summary s
                    ON s.date = days.date AND s.journey_type = types.journey_type
               ORDER BY days.date, types.journey_type""",
            ["leakage_daily_summary"],
            [built, *in_range],
        )
        ui.chart(
            charts.lines(
                daily, x="date", y="leakage_calls", colour="journey_type",
                title="Leakage calls a day",
            ),
            key="leakage_daily",
        )  # fmt: skip
    ui.table(
        overview,
        name="leakage_overview",
        column_config={
            "cost": st.column_config.NumberColumn(format=ui.WHOLE_DOLLARS_FORMAT),
            "latest_trend_pct": "trend",
        },
        changes=["latest_trend_pct"],
    )

# --------------------------------------------------------------------------- drill-down
st.header("Segment drill-down")
with ui.section():
    if leaked.empty:
        st.caption("No leakage calls in these days.")
    else:
        journey = st.selectbox("Journey type", leaked["journey_type"], key="leakage_drill_type")
        drill = ui.query(
            """SELECT member_category, sum(calls)::BIGINT AS calls, sum(cost) AS cost,
                      sum(calls * repeat_call_pct) / sum(calls) AS repeat_call_pct,
                      sum(calls * avg_sentiment) FILTER (WHERE avg_sentiment IS NOT NULL)
                          / sum(calls) FILTER (WHERE avg_sentiment IS NOT NULL) AS avg_sentiment
               FROM leakage_segment_drilldown
               WHERE date BETWEEN ? AND ? AND journey_type = ?
               GROUP BY member_category ORDER BY calls DESC""",
            ["leakage_segment_drilldown"],
            [first, last, journey],
        )
        left, right = st.columns(2)
        with left:
            ui.chart(
                charts.bars(
                    drill, x="member_category", y="calls", title=f"{journey}: leakage calls by member category",
                    height=300,
                ),
                key="leakage_drill_calls",
            )  # fmt: skip
        with right:
            ui.table(
                drill,
                name=f"leakage_segments_{journey}",
                column_config={
                    "cost": st.column_config.NumberColumn(format=ui.WHOLE_DOLLARS_FORMAT),
                    "repeat_call_pct": st.column_config.NumberColumn(
                        "repeat calls", format="%.1f%%"
                    ),
                    "avg_sentiment": st.column_config.NumberColumn(format="%.2f"),
                },
            )

# --------------------------------------------------------------------------- playback
st.header("Journey playback")
with ui.section():
    members = ui.query(
        # Ranked by their leakage calls of the journey types chosen, as the rest of the page is.
        f"""SELECT member_id, any_value(member_category) AS member_category,
                   count(*) FILTER (WHERE is_leakage_call AND list_contains(?, journey_type))
                       AS leakage_calls,
                   max(date) AS last_day
            FROM leakage_journey_timeline WHERE date BETWEEN ? AND ?
            GROUP BY member_id
            HAVING leakage_calls > 0
            ORDER BY leakage_calls DESC, member_id LIMIT {PLAYBACK_MEMBERS}""",
        ["leakage_journey_timeline"],
        [types, first, last],
    )
    if members.empty:
        st.caption("No leaking member in these days.")
    else:
        labels = {
            row.member_id: f"{row.member_id} · {row.member_category} · {row.leakage_calls} "
            f"leakage call{'' if row.leakage_calls == 1 else 's'}"
            for row in members.itertuples()
        }
        member = st.selectbox(
            f"Member (the {len(members)} with most leakage calls)",
            list(labels),
            format_func=labels.get,
            key="leakage_member",
        )
        member_days = ui.query(
            """SELECT DISTINCT date FROM leakage_journey_timeline
               WHERE member_id = ? AND date BETWEEN ? AND ?
                 AND is_leakage_call AND list_contains(?, journey_type)
               ORDER BY date DESC""",
            ["leakage_journey_timeline"],
            [member, first, last, types],
        )["date"].dt.date.tolist()
        day = st.selectbox("Day", member_days, key="leakage_member_day")
        timeline = ui.query(
            """SELECT sequence, event_kind, event_at, journey_type, action, device_type, error_code,
                      call_id, call_reason, sentiment_score, is_leakage_call, is_attributed_event,
                      time_to_call_minutes, is_repeat_call
               FROM leakage_journey_timeline WHERE member_id = ? AND date = ? ORDER BY sequence""",
            ["leakage_journey_timeline"],
            [member, day],
        )
        steps = int(timeline["sequence"].max())
        step = st.slider("Step", 1, steps, steps, key="leakage_step") if steps > 1 else steps
        current = timeline[timeline["sequence"] == step].iloc[0]
        if current["event_kind"] == "call":
            repeat = current["is_repeat_call"]
            said = (
                f"calls about **{ui.markdown_text(current['call_reason'])}**"
                + (
                    f", {current['time_to_call_minutes']:.0f} min after the failure: a leakage call"
                    if bool(current["is_leakage_call"])
                    else ""
                )
                # numpy's True_ in a queried frame (`is True` was never so); null: not known
                + (" (a repeat call)" if pd.notna(repeat) and bool(repeat) else "")
            )
        else:
            action = current["action"]
            # A portal event without an action (gold allows one) read "the member None".
            verb = ACTION_VERBS.get(action, action) if pd.notna(action) else "has an event on"
            said = f"{ui.markdown_text(verb)} **{ui.markdown_text(current['journey_type'])}**" + (
                f" (error {ui.markdown_text(current['error_code'])})"
                if pd.notna(current["error_code"])
                else ""
            )
        st.markdown(
            f"Step {step} of {steps}, {current['event_at']:%H:%M:%S} UTC: the member {said}."
        )
        ui.chart(
            charts.journey_playback(timeline, step, title=f"{member} on {day}"),
            key="leakage_playback",
        )
        ui.table(
            timeline[timeline["sequence"] <= step],
            name=f"leakage_timeline_{member}_{day}",
            column_config={
                "time_to_call_minutes": st.column_config.NumberColumn(format="%.1f"),
                "sentiment_score": st.column_config.NumberColumn(format="%.2f"),
                # Sized from the first rows, portal events without a call or an error:
                # "CL20261", "PAY_TIMEOU".
                "call_id": st.column_config.TextColumn(width="medium"),
                "error_code": st.column_config.TextColumn(width="medium"),
            },
        )

# --------------------------------------------------------------------------- savings
st.header("Savings model")
with ui.section():
    annual = ui.query(SAVINGS, ["leakage_savings_model"], [types])
    st.caption(
        "All history, whatever the days chosen: each journey type's leakage calls a day on "
        "average over the days built, and their cost over a year."
    )
    fix_rate = st.slider(
        "Fix rate: share of the avoidable calls a fix removes", 0, 100, 25, step=5, format="%d%%",
        key="leakage_fix_rate",
    )  # fmt: skip
    savings = annual[["journey_type", "avoidable_calls_per_day", "annualized_cost"]].copy()
    savings["annual_savings"] = savings["annualized_cost"] * fix_rate / 100
    left, right = st.columns([1, 2])
    left.metric(f"Annual savings at {fix_rate}%", ui.money(savings["annual_savings"].sum()))
    left.metric("Annualized cost without a fix", ui.money(savings["annualized_cost"].sum()))
    with right:
        ui.chart(
            charts.bars(
                savings, x="journey_type", y="annual_savings", horizontal=True,
                title=f"Annual savings at a {fix_rate}% fix rate", value_format="$,.0f",
            ),
            key="leakage_savings",
        )  # fmt: skip
    ui.table(
        savings,
        name="leakage_savings",
        column_config={
            "avoidable_calls_per_day": st.column_config.NumberColumn(format=ui.TENTHS_FORMAT),
            "annualized_cost": st.column_config.NumberColumn(format=ui.WHOLE_DOLLARS_FORMAT),
            "annual_savings": st.column_config.NumberColumn(format=ui.WHOLE_DOLLARS_FORMAT),
        },
    )

# --------------------------------------------------------------------------- root causes
st.header("Root causes")
with ui.section():
    # Each type's total is a join, not a window: DuckDB 2.0 computes a window over Parquet read
    # with hive partitioning as if the filter on the partition column (`date`) were not there.
    causes = ui.query(
        """WITH causes AS (
               SELECT journey_type, coalesce(error_code, '(abandoned)') AS error_code,
                      coalesce(device_type, '(unknown)') AS device_type,
                      sum(leakage_calls)::BIGINT AS leakage_calls
               FROM leakage_root_cause
               WHERE date BETWEEN ? AND ? AND list_contains(?, journey_type)
               GROUP BY 1, 2, 3
           ),
           of_type AS (SELECT journey_type, sum(leakage_calls) AS calls FROM causes GROUP BY 1)
           SELECT causes.*, 100.0 * leakage_calls / of_type.calls AS pct_of_type
           FROM causes JOIN of_type USING (journey_type)
           ORDER BY leakage_calls DESC, journey_type, error_code, device_type""",
        ["leakage_root_cause"],
        in_range,
    )
    if causes.empty:
        st.caption("No root causes in these days.")
    else:
        top = causes.head(15).copy()
        top["cause"] = top["journey_type"] + " · " + top["error_code"] + " · " + top["device_type"]
        ui.chart(
            charts.bars(
                top, x="cause", y="leakage_calls", horizontal=True,
                title="The largest causes: journey type · error code · device",
            ),
            key="leakage_root_causes",
        )  # fmt: skip
        ui.table(
            causes,
            name="leakage_root_causes",
            column_config={
                "pct_of_type": st.column_config.NumberColumn("share of type", format="%.1f%%")
            },
        )

# --------------------------------------------------------------------------- actions
st.header("Next-best actions")
with ui.section():
    actions = ui.query(
        # The savings beside the action: after the owner and the effort they were past the
        # table's right edge, behind a scroll, on a laptop's page.
        """SELECT rank, action, estimated_annual_savings, owner, effort, journey_type, error_code,
                  device_type, leakage_calls, fix_rate
           FROM leakage_action_recommendations
           WHERE list_contains(?, journey_type) ORDER BY rank""",
        ["leakage_action_recommendations"],
        [types],
    )
    st.caption(
        "Ranked from the largest root causes over all history, with the templates' fix rates."
    )
    # Streamlit's tables cut a cell at its column's width and do not wrap: an action of
    # 80-130 characters read "Raise the payment gateway timeout and add idempot…". The
    # first ones are written out whole, with what they would save and who owns them.
    st.markdown(
        "\n".join(
            f"- **{action.rank}. {ui.markdown_text(action.action)}**: "
            f"{ui.markdown_text(ui.money(action.estimated_annual_savings))} a year · "
            f"{ui.markdown_text(action.owner)} · {ui.markdown_text(action.effort)} effort"
            for action in actions.head(ACTIONS_WRITTEN_OUT).itertuples()
        )
    )
    ui.table(
        actions,
        name="leakage_actions",
        shares=["fix_rate"],
        column_config={
            "estimated_annual_savings": st.column_config.NumberColumn(
                format=ui.WHOLE_DOLLARS_FORMAT
            ),
        },
    )
