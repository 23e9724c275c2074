"""CRM friction: where customers struggle, by manager. Heat map of friction by weekday and
hour, needy clients (by `neediness_ratio`, with names), the urgency timeline, the churn list
and how interactions link to companies. Filters: days and managers."""

from __future__ import annotations

import streamlit as st

from cx_assets.command_centre import charts, ui
from cx_assets.crm.rules import LOCAL_TIMEZONE
from cx_assets.lakehouse.sql import string_literal

# The tables the filters read, required; every other one is read in a section of its own,
# which says in its place when it is not written yet.
REQUIRED = ["crm_noise_summary", "crm_friction_heuristics", "crm_cx_volumetrics", "crm_managers"]
LOCAL = string_literal(LOCAL_TIMEZONE)
# A manager or company without a delivered name shows its id.
MANAGER = "coalesce(m.name, 'manager ' || CAST({owner} AS VARCHAR))"
COMPANY = "coalesce(c.name, 'company ' || CAST({company} AS VARCHAR))"
WHOLE_HISTORY = "All history, as of the latest day built: the days chosen do not apply."

st.title("CRM friction")
ui.require(REQUIRED, source="crm", what="CRM gold tables")
interactions = ui.query(
    """SELECT coalesce(sum("count"), 0) AS n FROM crm_noise_summary
       WHERE category IN ('noise_total', 'valid')""",
    ["crm_noise_summary"],
)["n"][0]
ui.stop_when_nothing_landed(int(interactions), source="crm", what="CRM interactions")

days = ui.query("SELECT DISTINCT date FROM crm_noise_summary", ["crm_noise_summary"])["date"]
first, last = ui.date_filter(list(days.dt.date), key="crm_days")
managers = ui.query(
    f"""SELECT DISTINCT v.owner_id, {MANAGER.format(owner="v.owner_id")} AS manager
        FROM (SELECT owner_id FROM crm_cx_volumetrics UNION SELECT owner_id FROM crm_managers) v
        LEFT JOIN crm_managers m USING (owner_id) ORDER BY manager, v.owner_id""",
    ["crm_cx_volumetrics", "crm_managers"],
)
# Two managers of one name (common in a large sales team) are two options, told apart by
# their ids: keyed by name they were one, which chose only one of them, and the needy
# clients of every manager left out the other's companies.
shared = managers["manager"].duplicated(keep=False)
managers.loc[shared, "manager"] = (
    managers["manager"] + " (" + managers["owner_id"].astype(str) + ")"
)[shared]
by_label = dict(zip(managers["manager"], managers["owner_id"], strict=True))
picked = ui.dimension_filter("Managers", list(by_label), key="crm_managers")
every_manager = len(picked) == len(by_label)
owners = tuple(int(by_label[label]) for label in picked)
# Every manager chosen: every row, an owner the CRM never delivered as a user included.
IN_OWNERS = "(? OR list_contains(?, owner_id))"
in_range = [first, last, every_manager, owners]
st.caption(
    f"{ui.days_caption(first, last)} · "
    f"{'all managers' if every_manager else ui.listed(picked)} · weekdays and hours in "
    f"{LOCAL_TIMEZONE} time, timestamps in UTC"
)

# --------------------------------------------------------------------------- headline
friction = ui.query(
    f"""SELECT count(*) AS friction, coalesce(sum(urgency_score), 0) AS urgent,
              coalesce(sum(escalation_score), 0) AS escalations,
              count(DISTINCT company_id) AS companies
       FROM crm_friction_heuristics
       WHERE date BETWEEN ? AND ? AND {IN_OWNERS}""",
    ["crm_friction_heuristics"],
    in_range,
).iloc[0]
kpi = st.columns(4)
kpi[0].metric("Friction interactions", ui.count(friction["friction"]))
kpi[1].metric("Urgent", ui.count(friction["urgent"]))
kpi[2].metric("Escalations", ui.count(friction["escalations"]))
with kpi[3], ui.section(figure="Companies at high churn risk"):
    at_risk = ui.query(
        """SELECT count(*) AS n FROM crm_churn_risk r JOIN crm_companies c USING (company_id)
           WHERE r.risk_band = 'high' AND (? OR list_contains(?, c.owner_id))""",
        ["crm_churn_risk", "crm_companies"],
        [every_manager, owners],
    )["n"].iloc[0]
    st.metric(
        "Companies at high churn risk",
        ui.count(at_risk),
        help=WHOLE_HISTORY,
    )

# --------------------------------------------------------------------------- heat map
st.header("When friction happens")
in_slot, all_history = st.tabs(["Friction in the selected days", "All managers, all history"])
with in_slot:
    cells = ui.query(
        f"""SELECT isodow(timezone({LOCAL}, occurred_at)) - 1 AS day_of_week,
                   hour(timezone({LOCAL}, occurred_at)) AS hour, count(*) AS friction
            FROM crm_friction_heuristics
            WHERE date BETWEEN ? AND ? AND {IN_OWNERS} GROUP BY ALL""",
        ["crm_friction_heuristics"],
        in_range,
    )
    if cells.empty:
        st.caption("No friction interaction in these days for these managers.")
    else:
        ui.chart(
            charts.weekday_hour_heatmap(
                cells, "friction", title="Friction interactions by weekday and local hour"
            ),
            key="crm_heat_friction",
        )
with all_history, ui.section():
    heat = ui.query("SELECT * FROM crm_temporal_heat", ["crm_temporal_heat"])
    heat_metrics = {
        "interaction_count": "Valid interactions",
        "friction_count": "Friction interactions",
        "friday_afternoon_friction_count": "Friction on Friday afternoons",
    }
    metric = st.radio(
        "Show",
        list(heat_metrics),
        format_func=heat_metrics.get,
        horizontal=True,
        key="crm_heat_metric",
    )
    ui.chart(
        charts.weekday_hour_heatmap(
            heat, metric, title=f"{heat_metrics[metric]} by weekday and local hour, all history"
        ),
        key="crm_heat_history",
    )

# --------------------------------------------------------------------------- needy clients
st.header("Needy clients")
with ui.section():
    st.caption(
        "Valid interactions per unit of deal value (`neediness_ratio`, all history), summed over "
        "the chosen managers' work with the company: the clients who ask most for what they bring."
    )
    top = st.slider("How many", 5, 50, 15, key="crm_needy_top")
    needy = ui.query(
        f"""SELECT {COMPANY.format(company="v.company_id")} AS company, any_value(c.segment) AS segment,
                   string_agg(DISTINCT {MANAGER.format(owner="v.owner_id")}, ', '
                              ORDER BY {MANAGER.format(owner="v.owner_id")}) AS managers,
                   sum(v.neediness_ratio) AS neediness_ratio,
                   sum(v.total_interactions)::BIGINT AS total_interactions,
                   sum(v.long_thread_count)::BIGINT AS long_thread_count,
                   max(v.last_interaction_at) AS last_interaction_at, v.company_id
            FROM crm_cx_volumetrics v
            LEFT JOIN crm_companies c USING (company_id)
            LEFT JOIN crm_managers m ON m.owner_id = v.owner_id
            WHERE v.neediness_ratio IS NOT NULL AND list_contains(?, v.owner_id)
            GROUP BY v.company_id, c.name
            ORDER BY neediness_ratio DESC, v.company_id LIMIT ?""",
        ["crm_cx_volumetrics", "crm_companies", "crm_managers"],
        [owners, top],
    )
    if needy.empty:
        st.caption("No company of these managers has deals to weigh its interactions against.")
    else:
        ui.chart(
            charts.bars(
                needy, x="company", y="neediness_ratio", colour="segment", horizontal=True,
                title="Interactions per unit of deal value", value_format=".3g",
                axis_format="~g",  # `0.01`, not `.3g`'s `0.0100` beside `0.100`
            ),
            key="crm_needy_chart",
        )  # fmt: skip
        ui.table(
            needy,
            name="crm_needy_clients",
            # Three significant digits, as the bars' labels (Streamlit's default: 0.1065, 0.0469).
            column_config={"neediness_ratio": st.column_config.NumberColumn(format="%.3g")},
        )

# --------------------------------------------------------------------------- urgency timeline
st.header("Urgency timeline")
# Every built day of the range, a day without friction at 0 (its line would skip it).
timeline = ui.query(
    f"""WITH days AS (SELECT DISTINCT date FROM crm_noise_summary WHERE date BETWEEN ? AND ?),
            flags AS (
                SELECT date, sum(urgency_score) AS urgency, sum(failure_score) AS failure,
                       sum(escalation_score) AS escalation
                FROM crm_friction_heuristics
                WHERE date BETWEEN ? AND ? AND {IN_OWNERS}
                GROUP BY date
            )
       SELECT date, coalesce(urgency, 0) AS urgency, coalesce(failure, 0) AS failure,
              coalesce(escalation, 0) AS escalation
       FROM days LEFT JOIN flags USING (date) ORDER BY date""",
    ["crm_noise_summary", "crm_friction_heuristics"],
    [first, last, *in_range],
)
if not timeline[["urgency", "failure", "escalation"]].to_numpy().any():
    st.caption("No friction flag in these days for these managers.")
else:
    long = timeline.melt(id_vars=["date"], var_name="flag", value_name="interactions")
    ui.chart(
        charts.lines(long, x="date", y="interactions", colour="flag", title="Friction flags a day"),
        key="crm_urgency_timeline",
    )

# --------------------------------------------------------------------------- churn list
st.header("Churn list")
with ui.section():
    bands = st.multiselect(
        "Risk bands", ["high", "medium", "low"], default=["high", "medium"], key="crm_bands"
    )
    churn = ui.query(
        f"""SELECT {COMPANY.format(company="r.company_id")} AS company,
                   {MANAGER.format(owner="c.owner_id")} AS manager, c.segment,
                   r.churn_risk_score, r.risk_band, r.days_since_last_healthy_interaction,
                   r.friction_share, r.lost_deal_share, r.valid_interactions, r.company_id
            FROM crm_churn_risk r
            LEFT JOIN crm_companies c USING (company_id)
            LEFT JOIN crm_managers m ON m.owner_id = c.owner_id
            WHERE list_contains(?, r.risk_band) AND (? OR list_contains(?, c.owner_id))
            ORDER BY r.churn_risk_score DESC, r.company_id""",
        ["crm_churn_risk", "crm_companies", "crm_managers"],
        [tuple(bands), every_manager, owners],
    )
    st.caption(
        f"{ui.plural(len(churn), 'company', 'companies')}, riskiest first (score 0-100, see "
        f"docs/crm.md). {WHOLE_HISTORY}"
    )
    ui.table(
        churn,
        name="crm_churn_list",
        shares=["friction_share", "lost_deal_share"],
        # Headed short: gold's longest name pushed the last four columns behind the scroll.
        column_config={
            "churn_risk_score": st.column_config.ProgressColumn(
                "churn risk", width="small", min_value=0, max_value=100, format="%.0f"
            ),
            "days_since_last_healthy_interaction": st.column_config.NumberColumn(
                "days since healthy",
                help="Days since the company's last healthy interaction (docs/crm.md)",
                format="%.1f",
            ),
        },
    )

# --------------------------------------------------------------------------- linkage
st.header("Contact linkage")
with ui.section():
    st.caption("How the days' interactions (noise included, all managers) resolve to a company.")
    linkage = ui.query(
        """SELECT date, direct_share, via_person_share, unresolved_share
           FROM crm_contact_linkage WHERE date BETWEEN ? AND ? ORDER BY date""",
        ["crm_contact_linkage"],
        [first, last],
    )
    ui.chart(
        charts.stacked_area(
            linkage, x="date", title="Share of interactions by linkage", y_format=".0%",
            ys={"direct_share": "direct", "via_person_share": "via a person",
                "unresolved_share": "unresolved"},
        ),
        key="crm_linkage",
    )  # fmt: skip
