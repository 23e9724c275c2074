"""What the support models read and write, as SQL over silver and gold (no Dagster): the
classifier's training rows and the tickets to categorize, the categories table, the daily
series of the forecast, and the assignment plan's open tickets and agents' capacity."""

from __future__ import annotations

from cx_assets.lakehouse import sql
from cx_assets.support.rules import (
    DEFAULT_RULES,
    OPEN_STATUSES,
    SupportRules,
    as_of_day_sql,
    targets_relation,
)


def ticket_text_sql(alias: str = "t") -> str:
    return f"concat_ws(' ', {alias}.subject, {alias}.description)"


def category_key_sql(column: str) -> str:
    """A delivered category as the models count it: trimmed and in lower case, blank as none.
    `Billing` and `billing` are one category, as the assignment plan's skills already
    compare them; the analytics table keeps each as delivered."""
    return f"nullif(lower({sql.stripped(column)}), '')"


def categorized_tickets_sql(tickets: str, as_of: str, limit: int) -> str:
    """Training rows of the classifier: the `limit` most recent tickets delivered with a
    category and created before the as-of time, oldest first."""
    return f"""
        SELECT * FROM (
            SELECT t.ticket_id, t.created_at, {ticket_text_sql()} AS text,
                   {category_key_sql("t.category")} AS category
            FROM {tickets} t
            WHERE {category_key_sql("t.category")} IS NOT NULL AND t.created_at < {as_of}
            ORDER BY t.created_at DESC, t.ticket_id DESC
            LIMIT {int(limit)}
        ) ORDER BY created_at, ticket_id
    """


def uncategorized_tickets_sql(tickets: str) -> str:
    """Tickets delivered without a category (in their latest version), by created day."""
    return f"""
        SELECT CAST(t.created_at AS DATE) AS date, t.ticket_id, {ticket_text_sql()} AS text
        FROM {tickets} t
        WHERE {category_key_sql("t.category")} IS NULL
        ORDER BY t.ticket_id
    """


def ticket_categories_sql(predictions: str, review_threshold: float) -> str:
    """The categories table from the classifier's predictions (`date`, `ticket_id`,
    `predicted_category`, `confidence`): low confidence, or none, needs review."""
    return f"""
        SELECT CAST(date AS DATE) AS date, ticket_id, predicted_category, confidence,
               (confidence IS NULL OR confidence < {sql.number_literal(review_threshold)})
                   AS needs_review
        FROM {predictions}
        ORDER BY date, ticket_id
    """


def daily_created_sql(tickets: str, categories: str, deliveries: str) -> str:
    """Tickets created per UTC day and category (delivered, else predicted; null when
    neither), from the first delivered day to the as-of day."""
    return f"""
        SELECT CAST(t.created_at AS DATE) AS day,
               coalesce({category_key_sql("t.category")}, c.predicted_category) AS category,
               count(*) AS tickets
        FROM {tickets} t
        LEFT JOIN {categories} c USING (ticket_id)
        WHERE CAST(t.created_at AS DATE) BETWEEN (SELECT min(date) FROM {deliveries})
                                             AND {as_of_day_sql(deliveries)}
        GROUP BY ALL
        ORDER BY day, category
    """


def deadline_sql() -> str:
    """The ticket's next SLA deadline: first response while none came, else resolution."""
    return (
        "CASE WHEN t.first_response_at IS NULL "
        "THEN t.created_at + to_minutes(CAST(g.first_response_target_minutes AS BIGINT)) "
        "ELSE t.created_at + to_minutes(CAST(g.resolution_target_minutes AS BIGINT)) END"
    )


def unassigned_open_tickets_sql(
    tickets: str, categories: str, rules: SupportRules = DEFAULT_RULES
) -> str:
    """Open tickets without an agent, with their category (delivered, else predicted) and
    their next SLA deadline."""
    statuses = ", ".join(sql.string_literal(s) for s in OPEN_STATUSES)
    return f"""
        SELECT t.ticket_id, t.priority,
               -- as delivered, trimmed (skills are compared in any case); a blank one is
               -- predicted like a missing one
               coalesce(nullif({sql.stripped("t.category")}, ''), c.predicted_category) AS category,
               {deadline_sql()} AS sla_deadline
        FROM {tickets} t
        JOIN {targets_relation(rules)} g USING (priority)
        LEFT JOIN {categories} c USING (ticket_id)
        WHERE t.status IN ({statuses}) AND t.agent_id IS NULL
        ORDER BY t.ticket_id
    """


def agent_capacity_sql(agents: str, tickets: str) -> str:
    """Every agent with skills, capacity and the open tickets they already hold."""
    statuses = ", ".join(sql.string_literal(s) for s in OPEN_STATUSES)
    return f"""
        SELECT g.agent_id, g.skills, g.max_open_tickets,
               coalesce(o.open_tickets, 0) AS open_tickets
        FROM {agents} g
        LEFT JOIN (
            SELECT agent_id, count(*) AS open_tickets FROM {tickets}
            WHERE status IN ({statuses}) AND agent_id IS NOT NULL
            GROUP BY agent_id
        ) o USING (agent_id)
        ORDER BY g.agent_id
    """
