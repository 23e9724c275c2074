"""The CRM gold rules (contract section 4.1) as SQL builders, no Dagster: the per-day
tables (noise summary, friction heuristics, contact linkage) and the whole-history ones
(volumetrics, the day x hour heat map, sales velocity), the latter as of the latest
materialized day (`as_of_day_sql`). Churn risk and segmentation are `company_rules`'."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cx_assets.crm.rules import LOCAL_TIMEZONE
from cx_assets.lakehouse import sql

# --------------------------------------------------------------------------- gold, per day

NOISE_CATEGORY_SQL = {
    "read_receipt": "count(*) FILTER (WHERE noise_reason = 'read_receipt')",
    "delivery_receipt": "count(*) FILTER (WHERE noise_reason = 'delivery_receipt')",
    "mass_email": "count(*) FILTER (WHERE noise_reason = 'mass_email')",
    "noise_total": "count(*) FILTER (WHERE is_noise)",
    "valid": "count(*) FILTER (WHERE NOT is_noise)",
}


def noise_summary_sql(interactions: str, days: Sequence[date]) -> str:
    """Five rows a day, empty days included (counts 0, pct null)."""
    counts = ",\n".join(
        f"{expr.replace('count(*)', 'count(i.date)')} AS {name}"
        for name, expr in NOISE_CATEGORY_SQL.items()
    )
    return f"""
    WITH per_day AS (
        SELECT d.date, count(i.date) AS total, {counts}
        FROM {sql.days_relation(days)} AS d LEFT JOIN {interactions} AS i ON i.date = d.date
        GROUP BY d.date
    )
    SELECT date, category, count, 100.0 * count / nullif(total, 0) AS pct
    FROM per_day
    UNPIVOT (count FOR category IN ({", ".join(NOISE_CATEGORY_SQL)}))
    ORDER BY date, category
    """


def friction_heuristics_sql(interactions: str) -> str:
    return f"""
    SELECT date, interaction_id, occurred_at, owner_id, company_id,
           urgency_flag AS urgency_score, failure_flag AS failure_score,
           escalation_flag AS escalation_score,
           urgency_flag + failure_flag + escalation_flag AS friction_score
    FROM {interactions}
    WHERE is_friction
    ORDER BY date, occurred_at, interaction_id
    """


def contact_linkage_sql(interactions: str, days: Sequence[date]) -> str:
    return f"""
    WITH per_day AS (
        SELECT d.date, count(i.date) AS total,
               count(i.date) FILTER (WHERE i.linkage = 'direct') AS direct_count,
               count(i.date) FILTER (WHERE i.linkage = 'via_person') AS via_person_count,
               count(i.date) FILTER (WHERE i.linkage = 'unresolved') AS unresolved_count
        FROM {sql.days_relation(days)} AS d LEFT JOIN {interactions} AS i ON i.date = d.date
        GROUP BY d.date
    )
    SELECT date, direct_count, via_person_count, unresolved_count,
           direct_count / nullif(total, 0) AS direct_share,
           via_person_count / nullif(total, 0) AS via_person_share,
           unresolved_count / nullif(total, 0) AS unresolved_share
    FROM per_day ORDER BY date
    """


# --------------------------------------------------------------------------- gold, whole history


def as_of_day_sql(interactions: str, latest_day: date | None = None) -> str:
    """Whole-history tables are computed as of the latest materialized day (`latest_day`,
    a day without files included: silence grows through an outage), never the wall clock,
    so a re-run gives the same result; without it, the latest day with interactions."""
    latest_with_rows = f"(SELECT max(date) FROM {interactions})"
    if latest_day is None:
        return latest_with_rows
    return f"greatest({sql.date_literal(latest_day)}, {latest_with_rows})"


def end_of_local_day_sql(day: str) -> str:
    """The instant a CRM day ends: midnight after it in America/Sao_Paulo (a CRM day is a
    local day; UTC midnight would end it three hours early)."""
    return f"timezone('{LOCAL_TIMEZONE}', CAST({day} + INTERVAL 1 DAY AS TIMESTAMP))"


def cx_volumetrics_sql(interactions: str, current_deals: str) -> str:
    return f"""
    WITH valid AS (
        SELECT * FROM {interactions} WHERE NOT is_noise AND company_id IS NOT NULL
    ),
    pairs AS (
        SELECT owner_id, company_id, count(*) AS total_interactions,
               min(occurred_at) AS first_interaction_at, max(occurred_at) AS last_interaction_at
        FROM valid GROUP BY owner_id, company_id
    ),
    email_sequence AS (
        SELECT owner_id, company_id, thread_subject_key, direction,
               lag(direction) OVER (
                   PARTITION BY owner_id, company_id, thread_subject_key
                   ORDER BY occurred_at, interaction_id) AS previous_direction
        FROM valid
        WHERE direction IS NOT NULL AND thread_subject_key IS NOT NULL
    ),
    threads AS (
        SELECT owner_id, company_id, thread_subject_key,
               count(*) FILTER (WHERE direction <> previous_direction) AS direction_changes
        FROM email_sequence GROUP BY ALL
    ),
    long_threads AS (
        SELECT owner_id, company_id, count(*) AS long_thread_count
        FROM threads WHERE direction_changes >= 3 GROUP BY ALL
    ),
    deal_value AS (
        SELECT company_id, {sql.float_sum("amount")} AS deal_amount
        FROM {current_deals} GROUP BY company_id
    )
    SELECT p.owner_id, p.company_id, p.total_interactions,
           p.first_interaction_at, p.last_interaction_at,
           p.total_interactions / greatest(
               1.0, (epoch(p.last_interaction_at) - epoch(p.first_interaction_at)) / 86400.0 / 7.0
           ) AS interaction_velocity,
           avg(p.total_interactions) OVER (PARTITION BY p.owner_id) AS manager_load,
           -- null without a deal amount, and when the amount is so small (a deal of 1e-310)
           -- that the ratio overflows a double: infinity is no ratio
           CASE WHEN isfinite(p.total_interactions / nullif(d.deal_amount, 0))
                THEN p.total_interactions / d.deal_amount END AS neediness_ratio,
           coalesce(t.long_thread_count, 0) AS long_thread_count
    FROM pairs p
    LEFT JOIN deal_value d USING (company_id)
    LEFT JOIN long_threads t USING (owner_id, company_id)
    ORDER BY p.owner_id, p.company_id
    """


def temporal_heat_sql(interactions: str) -> str:
    return f"""
    WITH valid AS (
        SELECT timezone('{LOCAL_TIMEZONE}', occurred_at) AS local_time, is_friction
        FROM {interactions} WHERE NOT is_noise
    ),
    slots AS (
        SELECT isodow(local_time) - 1 AS day_of_week, hour(local_time) AS hour,
               count(*) AS interaction_count,
               count(*) FILTER (WHERE is_friction) AS friction_count
        FROM valid GROUP BY ALL
    ),
    grid AS (
        SELECT day_of_week, hour FROM range(7) AS d(day_of_week) CROSS JOIN range(24) AS h(hour)
    )
    SELECT g.day_of_week, g.hour,
           coalesce(s.interaction_count, 0) AS interaction_count,
           coalesce(s.friction_count, 0) AS friction_count,
           CASE WHEN g.day_of_week = 4 AND g.hour >= 14
                THEN coalesce(s.friction_count, 0) ELSE 0 END AS friday_afternoon_friction_count
    FROM grid g LEFT JOIN slots s USING (day_of_week, hour)
    ORDER BY g.day_of_week, g.hour
    """


def sales_velocity_sql(current_deals: str, current_users: str) -> str:
    return f"""
    WITH managers AS (
        SELECT owner_id FROM {current_deals}
        UNION SELECT user_id AS owner_id FROM {current_users}
    ),
    per_manager AS (
        SELECT m.owner_id,
               count(d.deal_id) FILTER (WHERE d.status = 'open') AS open_deals,
               count(d.deal_id) FILTER (WHERE d.status = 'won') AS won,
               count(d.deal_id) FILTER (WHERE d.status = 'lost') AS lost,
               {sql.float_avg("d.amount")} FILTER (WHERE d.status = 'won') AS avg_won_amount,
               {sql.float_avg("(epoch(d.finished_at) - epoch(d.created_at)) / 86400.0")}
                   FILTER (WHERE d.status = 'won' AND d.finished_at IS NOT NULL) AS avg_cycle_days
        FROM managers m LEFT JOIN {current_deals} d ON d.owner_id = m.owner_id
        GROUP BY m.owner_id
    )
    SELECT owner_id, open_deals,
           won / nullif(won + lost, 0) AS win_rate,
           avg_won_amount, avg_cycle_days,
           open_deals * (won / nullif(won + lost, 0)) * avg_won_amount
               / nullif(avg_cycle_days, 0) AS velocity_per_day
    FROM per_manager ORDER BY owner_id
    """
