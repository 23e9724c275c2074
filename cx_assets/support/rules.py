"""The support rules (contract section 4.4) as SQL builders and configuration, no Dagster.

Each function returns SQL over named relations (a table or a parenthesised subquery); the
unit tests run exactly this SQL on hand-worked rows in an in-memory DuckDB.

- Durations are calendar time, from microsecond timestamps: minutes are not rounded.
- SLA targets per priority (first response / resolution): urgent 1 h / 4 h, high 4 h / 24 h,
  medium 8 h / 48 h, low 24 h / 72 h.
- A target is breached when its event came after it (exactly on target is not breached), or
  the event has not come and the target lies before the as-of time.
- The as-of time is the end of the latest materialized support day: the latest day in
  `silver.support_deliveries`, which gets a row for every materialized day, even one with
  no files. Whole-history tables and models are computed as of it, never the wall clock.
- A ticket is open while its status is `open` or `pending`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cx_assets.lakehouse import sql

PRIORITIES = ("urgent", "high", "medium", "low")  # most urgent first
STATUSES = ("open", "pending", "resolved", "closed")
OPEN_STATUSES = ("open", "pending")
CHANNELS = ("email", "phone", "chat", "web")
ALL_SERIES = "all"  # the forecast series of every ticket, whatever its category
SEGMENTS = ("at_risk", "high_effort", "delighted", "steady")


@dataclass(frozen=True)
class SlaTarget:
    first_response_minutes: int
    resolution_minutes: int


SLA_TARGETS: dict[str, SlaTarget] = {
    "urgent": SlaTarget(60, 4 * 60),
    "high": SlaTarget(4 * 60, 24 * 60),
    "medium": SlaTarget(8 * 60, 48 * 60),
    "low": SlaTarget(24 * 60, 72 * 60),
}

# Words that make the keyword baseline of the classifier say a category (whole words,
# lower case). The classifier must beat this and the majority class.
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "billing": ("invoice", "charged", "charge", "bill", "payment", "refund", "card"),
    "technical": ("error", "crash", "crashes", "bug", "app", "login", "broken", "loading"),
    "account": ("password", "account", "profile", "username", "locked", "verification"),
    "shipping": ("delivery", "package", "tracking", "shipped", "courier", "arrived"),
    "returns": ("return", "exchange", "label", "damaged", "wrong", "size"),
    "general": ("question", "information", "hours", "feedback", "suggestion"),
}


@dataclass(frozen=True)
class SupportRules:
    """The support configuration; the defaults are the contract's and the documented ones."""

    sla_targets: Mapping[str, SlaTarget] = field(default_factory=SLA_TARGETS.copy)
    # breach_share_in_band: tickets with either target breached ÷ tickets, created in the
    # window ending on the as-of day (WARN outside, run config).
    breach_share_band: tuple[float, float] = (0.05, 0.35)
    breach_share_window_days: int = 7
    # support_ticket_categories.needs_review: confidence under this (run config).
    review_threshold: float = 0.6
    # Customer segment, first rule that matches (docs/support.md).
    at_risk_breach_share: float = 0.5
    at_risk_csat: float = 2.0
    # high_effort: among the customers with most tickets (this share of them), and at least
    # this many; relative, because a count threshold would be met by everyone in time.
    high_effort_top_share: float = 0.1
    high_effort_min_tickets: int = 3
    delighted_csat: float = 4.5
    category_keywords: Mapping[str, tuple[str, ...]] = field(default_factory=CATEGORY_KEYWORDS.copy)


DEFAULT_RULES = SupportRules()

# --------------------------------------------------------------------------- as of


def as_of_day_sql(deliveries: str) -> str:
    """Scalar subquery: the latest materialized day (null before any)."""
    return f"(SELECT max({sql.PARTITION_COLUMN}) FROM {deliveries})"


def as_of_sql(deliveries: str) -> str:
    """Scalar subquery: the as-of time, the end (next midnight, UTC) of the latest day."""
    return f"(SELECT CAST(max({sql.PARTITION_COLUMN}) + INTERVAL 1 DAY AS TIMESTAMPTZ) FROM {deliveries})"


# --------------------------------------------------------------------------- SLA


def targets_relation(rules: SupportRules = DEFAULT_RULES) -> str:
    """(priority, first_response_target_minutes, resolution_target_minutes)."""
    rows = ", ".join(
        f"({sql.string_literal(priority)}, {target.first_response_minutes}, "
        f"{target.resolution_minutes})"
        for priority, target in rules.sla_targets.items()
    )
    return (
        f"(SELECT * FROM (VALUES {rows}) AS targets(priority, "
        f"first_response_target_minutes, resolution_target_minutes))"
    )


def minutes_between_sql(start: str, end: str) -> str:
    """Calendar minutes from `start` to `end`, not rounded (null when `end` is null)."""
    return f"((epoch_us({end}) - epoch_us({start})) / 60000000.0)"


def breached_sql(event: str, created: str, target_minutes: str, as_of: str) -> str:
    """The contract's breach rule for one target."""
    deadline = f"({created} + to_minutes(CAST({target_minutes} AS BIGINT)))"
    return (
        f"(CASE WHEN {event} IS NOT NULL THEN {event} > {deadline} "
        f"ELSE coalesce({deadline} < {as_of}, false) END)"
    )


def ticket_analytics_sql(tickets: str, as_of: str, rules: SupportRules = DEFAULT_RULES) -> str:
    """Every current ticket under the UTC day it was created, with its SLA measures."""
    fr_breached = breached_sql(
        "t.first_response_at", "t.created_at", "g.first_response_target_minutes", "a.as_of"
    )
    res_breached = breached_sql(
        "t.resolved_at", "t.created_at", "g.resolution_target_minutes", "a.as_of"
    )
    return f"""
        SELECT CAST(t.created_at AS DATE) AS date, t.ticket_id, t.customer_id, t.agent_id,
               t.priority, t.channel, t.category, t.status, t.created_at,
               t.first_response_at, t.resolved_at,
               {minutes_between_sql("t.created_at", "t.first_response_at")}
                   AS first_response_minutes,
               {minutes_between_sql("t.created_at", "t.resolved_at")} AS resolution_minutes,
               g.first_response_target_minutes, g.resolution_target_minutes,
               {fr_breached} AS first_response_breached,
               {res_breached} AS resolution_breached,
               t.csat_score
        FROM {tickets} t
        JOIN {targets_relation(rules)} g USING (priority)
        CROSS JOIN (SELECT {as_of} AS as_of) a
        ORDER BY date, t.ticket_id
    """


def _sla_disagreements(as_of: str) -> list[tuple[str, str]]:
    """(field, condition) pairs: each condition holds of a row of the ticket analytics
    (alias `a`, joined to the targets as `g`) whose field disagrees with the priority, the
    timestamps or the breach rule as of `as_of`."""
    expected_fr = breached_sql(
        "a.first_response_at", "a.created_at", "a.first_response_target_minutes", as_of
    )
    expected_res = breached_sql(
        "a.resolved_at", "a.created_at", "a.resolution_target_minutes", as_of
    )
    return [
        ("first_response_target_minutes",
         "g.first_response_target_minutes IS DISTINCT FROM a.first_response_target_minutes"),
        ("resolution_target_minutes",
         "g.resolution_target_minutes IS DISTINCT FROM a.resolution_target_minutes"),
        ("first_response_minutes",
         f"{minutes_between_sql('a.created_at', 'a.first_response_at')}"
         " IS DISTINCT FROM a.first_response_minutes"),
        ("resolution_minutes",
         f"{minutes_between_sql('a.created_at', 'a.resolved_at')}"
         " IS DISTINCT FROM a.resolution_minutes"),
        ("first_response_breached",
         "(a.first_response_minutes IS NOT NULL AND a.first_response_breached"
         " <> (a.first_response_minutes > a.first_response_target_minutes))"
         f" OR a.first_response_breached IS DISTINCT FROM {expected_fr}"),
        ("resolution_breached",
         "(a.resolution_minutes IS NOT NULL AND a.resolution_breached"
         " <> (a.resolution_minutes > a.resolution_target_minutes))"
         f" OR a.resolution_breached IS DISTINCT FROM {expected_res}"),
    ]  # fmt: skip


def sla_inconsistencies_sql(analytics: str, as_of: str, rules: SupportRules = DEFAULT_RULES) -> str:
    """Rows of the ticket analytics whose targets, minutes or breach flags disagree with the
    priority, the timestamps and the breach rule as of `as_of` (the check's query)."""
    disagrees = " OR ".join(f"({condition})" for _, condition in _sla_disagreements(as_of))
    return f"""
        SELECT a.ticket_id
        FROM {analytics} a
        LEFT JOIN {targets_relation(rules)} g USING (priority)
        WHERE {disagrees}
    """


def sla_inconsistency_examples_sql(
    analytics: str, as_of: str, limit: int, rules: SupportRules = DEFAULT_RULES
) -> str:
    """The first `limit` rows `sla_inconsistencies_sql` finds (by day created, then ticket):
    (date, ticket_id, the fields that disagree), what the check's failure shows."""
    pairs = _sla_disagreements(as_of)
    fields = ", ".join(
        f"CASE WHEN {condition} THEN {sql.string_literal(field)} END" for field, condition in pairs
    )
    disagrees = " OR ".join(f"({condition})" for _, condition in pairs)
    return f"""
        SELECT a.date, a.ticket_id, list_filter([{fields}], lambda f: f IS NOT NULL) AS fields
        FROM {analytics} a
        LEFT JOIN {targets_relation(rules)} g USING (priority)
        WHERE {disagrees}
        ORDER BY a.date, a.ticket_id
        LIMIT {int(limit)}
    """


def breach_share_sql(analytics: str, as_of_day: str, window_days: int) -> str:
    """(tickets, breached, share) over tickets created in the `window_days` days ending on
    the as-of day. Counted back from it, never its first day computed: a window of an
    operator's "everything" (a million days) lies before any date DuckDB holds."""
    return f"""
        SELECT count(*) AS tickets,
               count(*) FILTER (WHERE first_response_breached OR resolution_breached) AS breached,
               CASE WHEN count(*) > 0 THEN
                   count(*) FILTER (WHERE first_response_breached OR resolution_breached)
                   / count(*) END AS share
        FROM {analytics}
        WHERE date <= {as_of_day} AND date_diff('day', date, {as_of_day}) < {int(window_days)}
    """


# --------------------------------------------------------------------------- gold rollups


def agent_daily_sql(analytics: str, agents: str) -> str:
    """Per created day and agent: the agent's tickets created that day."""
    either = "(a.first_response_breached OR a.resolution_breached)"
    return f"""
        SELECT a.date, a.agent_id, g.name AS agent_name, g.team,
               count(*) AS tickets_handled,
               count(a.resolved_at) AS tickets_resolved,
               {sql.float_avg("a.first_response_minutes")} AS mean_first_response_minutes,
               {sql.float_avg("a.resolution_minutes / 60.0")} AS mean_resolution_hours,
               count(*) FILTER (WHERE {either}) AS sla_breaches,
               avg(a.csat_score) AS mean_csat
        FROM {analytics} a
        LEFT JOIN {agents} g USING (agent_id)
        WHERE a.agent_id IS NOT NULL
        GROUP BY a.date, a.agent_id, g.name, g.team
        ORDER BY a.date, a.agent_id
    """


def customer_insights_sql(
    analytics: str, customers: str, rules: SupportRules = DEFAULT_RULES
) -> str:
    """Per customer with at least one ticket: volume, CSAT, breach share and the segment."""
    return f"""
        WITH per_customer AS (
            SELECT customer_id, count(*) AS tickets, avg(csat_score) AS mean_csat,
                   count(*) FILTER (WHERE first_response_breached OR resolution_breached)
                       / count(*) AS breach_share,
                   -- share of customers with fewer tickets
                   percent_rank() OVER (ORDER BY count(*)) AS ticket_rank
            FROM {analytics}
            GROUP BY customer_id
        )
        SELECT p.customer_id, c.plan, c.region, p.tickets, p.mean_csat, p.breach_share,
               CASE WHEN p.breach_share >= {sql.number_literal(rules.at_risk_breach_share)}
                         OR p.mean_csat <= {sql.number_literal(rules.at_risk_csat)}
                        THEN 'at_risk'
                    WHEN p.ticket_rank >= {sql.number_literal(1 - rules.high_effort_top_share)}
                         AND p.tickets >= {int(rules.high_effort_min_tickets)}
                        THEN 'high_effort'
                    WHEN p.mean_csat >= {sql.number_literal(rules.delighted_csat)}
                         AND p.breach_share = 0 THEN 'delighted'
                    ELSE 'steady' END AS segment
        FROM per_customer p
        LEFT JOIN {customers} c USING (customer_id)
        ORDER BY p.customer_id
    """


# --------------------------------------------------------------------------- checks


def _plan_tables(plan: str, agents: str, tickets: str) -> str:
    """The plan's tickets with an agent, the agents' skills and capacity, their open tickets
    held, and the tickets the plan adds to each: what both plan rules read."""
    statuses = ", ".join(sql.string_literal(s) for s in OPEN_STATUSES)
    return f"""
        WITH planned AS (SELECT * FROM {plan} WHERE agent_id IS NOT NULL),
        crew AS (
            SELECT agent_id, max_open_tickets,
                   [lower({sql.stripped("s")}) FOR s IN string_split(coalesce(skills, ''), ';')]
                       AS skill_list
            FROM {agents}
        ),
        held AS (
            SELECT agent_id, count(*) AS open_tickets FROM {tickets}
            WHERE status IN ({statuses}) AND agent_id IS NOT NULL GROUP BY agent_id
        ),
        added AS (SELECT agent_id, count(*) AS new_tickets FROM planned GROUP BY agent_id)
    """


# Planned tickets whose agent lacks the category as a skill (or is unknown).
_WITHOUT_SKILL = f"""
    FROM planned p LEFT JOIN crew c USING (agent_id)
    WHERE c.agent_id IS NULL OR p.category IS NULL
       OR NOT list_contains(c.skill_list, lower({sql.stripped("p.category")}))
"""
# Agents whose open tickets plus planned ones exceed `max_open_tickets`.
_OVER_CAPACITY = """
    FROM added a JOIN crew c USING (agent_id) LEFT JOIN held h USING (agent_id)
    WHERE coalesce(h.open_tickets, 0) + a.new_tickets > c.max_open_tickets
"""


def plan_violations_sql(plan: str, agents: str, tickets: str) -> str:
    """(without_skill, over_capacity): planned tickets whose agent lacks the category as a
    skill (or is unknown), and agents whose open tickets plus planned ones exceed
    `max_open_tickets`."""
    return f"""{_plan_tables(plan, agents, tickets)}
        SELECT (SELECT count(*) {_WITHOUT_SKILL}) AS without_skill,
               (SELECT count(*) {_OVER_CAPACITY}) AS over_capacity
    """


def plan_violation_examples_sql(
    plan: str, agents: str, tickets: str, limit: int
) -> tuple[str, str]:
    """The first `limit` of each kind `plan_violations_sql` counts: (ticket_id, agent_id,
    category) of tickets without the skill; (agent_id, open, planned, max_open_tickets) of
    agents over capacity."""
    tables = _plan_tables(plan, agents, tickets)
    return (
        f"{tables} SELECT p.ticket_id, p.agent_id, p.category {_WITHOUT_SKILL} "
        f"ORDER BY p.ticket_id LIMIT {int(limit)}",
        f"{tables} SELECT a.agent_id, coalesce(h.open_tickets, 0), a.new_tickets, "
        f"c.max_open_tickets {_OVER_CAPACITY} ORDER BY a.agent_id LIMIT {int(limit)}",
    )


# A forecast row whose bounds are missing or out of order.
_MISORDERED = """
    (lo_95 <= lo_80 AND lo_80 <= forecast AND forecast <= hi_80 AND hi_80 <= hi_95) IS NOT TRUE
"""


def misordered_intervals_sql(forecast: str) -> str:
    """Forecast rows whose bounds are missing or out of order
    (lo_95 ≤ lo_80 ≤ forecast ≤ hi_80 ≤ hi_95 must hold)."""
    return f"SELECT count(*) FROM {forecast} WHERE {_MISORDERED}"


def misordered_interval_examples_sql(forecast: str, limit: int) -> str:
    """(date, category) of the first `limit` rows `misordered_intervals_sql` counts."""
    return (
        f"SELECT date, category FROM {forecast} WHERE {_MISORDERED} "
        f"ORDER BY date, category LIMIT {int(limit)}"
    )
