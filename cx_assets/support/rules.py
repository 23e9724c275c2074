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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from cx_assets.lakehouse import sql
from cx_assets.lakehouse.parsing import after_delivery_sql
from cx_assets.lakehouse.privacy import (
    RECORD_HASHES,
    mask_contacts_sql,
    mask_names_sql,
    name_variants_sql,
)
from cx_assets.lakehouse.steps import RULE_REASON

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


# --------------------------------------------------------------------------- silver

LINEAGE = "date, source_file, line_number"


def silver_ticket_versions_sql(typed: str, customers: str | None = None) -> str:
    """Every good ticket record of the day, with subject and description masked: e-mail
    addresses and phone numbers, and the ticket's own customer's name (whole, and each part
    of 3 letters or more) under every name the customer was delivered with, on any day:
    a day run again after a customer was renamed masks the new name too (privacy before
    the same text on a re-run; gold does not carry the text). `customers`: the bronze
    customer records (None: none landed yet). The ids are trimmed, as the customers' and
    agents' CSV read theirs, so they still join and " T-1" is the ticket "T-1" (a blank id is
    then empty and fails the model, as an id with whitespace inside fails `OPAQUE_ID`). The
    category reaches gold: an e-mail address or phone number typed into it is masked. A
    ticket created, answered or resolved after the day after its file's day is a bad record
    (`after_delivery_sql`): its creation day would be a gold partition in the future."""
    names = customer_names_sql(customers)
    return f"""
        WITH tickets AS (
            SELECT * REPLACE ({sql.stripped("ticket_id")} AS ticket_id,
                              {sql.stripped("agent_id")} AS agent_id),
                   {sql.stripped("customer_id")} AS trimmed_customer_id
            FROM {typed} WHERE reject_reason IS NULL
        ),
        customer_names AS ({names}),
        ticket_names AS (
            SELECT t.source_file, t.line_number,
                   flatten(list(DISTINCT {name_variants_sql("n.name")})) AS names
            FROM tickets t JOIN customer_names n
              ON n.customer_id = t.trimmed_customer_id
            WHERE n.name IS NOT NULL
            GROUP BY ALL
        )
        SELECT {LINEAGE}, ticket_id, trimmed_customer_id AS customer_id, agent_id, created_at,
               first_response_at,
               resolved_at, status, priority, channel, {mask_contacts_sql("category")} AS category,
               {mask_names_sql(mask_contacts_sql("subject"), "names")} AS subject,
               {mask_names_sql(mask_contacts_sql("description"), "names")} AS description,
               csat_score,
               coalesce({after_delivery_sql("created_at", "created_at")},
                        {after_delivery_sql("first_response_at", "first_response_at")},
                        {after_delivery_sql("resolved_at", "resolved_at")}) AS {RULE_REASON}
        FROM tickets LEFT JOIN ticket_names USING (source_file, line_number)
    """


def customer_names_sql(customers: str | None, where: str = "TRUE") -> str:
    """The (customer_id, name) of every bronze customer record (`where` narrows them; None:
    no customers landed yet), the id trimmed as the customers' CSV reads it."""
    if not customers:
        return "SELECT NULL AS customer_id, NULL AS name WHERE FALSE"
    return f"""SELECT {sql.stripped("json_extract_string(record, '$.customer_id')")} AS customer_id,
                      json_extract_string(record, '$.name') AS name
               FROM {customers} WHERE read_error IS NULL AND {where}"""


def names_left_in_other_days_sql(versions: str, customers: str, days: Sequence[date]) -> str:
    """Per day outside `days`: the ticket versions whose subject or description still holds a
    name their customer was delivered with (on any day), among the customers delivered on
    `days`. A ticket's text is masked with the names known when its day ran, so a customer
    whose record landed after that day leaves their name in it until the day runs again."""
    delivered = customer_names_sql(customers, sql.in_days(days))
    every_name = customer_names_sql(customers)
    return f"""
        WITH delivered AS (SELECT DISTINCT customer_id FROM ({delivered}) WHERE name IS NOT NULL),
        names AS (
            SELECT customer_id, flatten(list(DISTINCT {name_variants_sql("name")})) AS names
            FROM ({every_name})
            WHERE name IS NOT NULL AND customer_id IN (SELECT customer_id FROM delivered)
            GROUP BY customer_id
        )
        SELECT v.date, count(*) AS tickets
        FROM {versions} v JOIN names n USING (customer_id)
        WHERE NOT {sql.in_days(days)}
          AND ({mask_names_sql("v.subject", "n.names")} IS DISTINCT FROM v.subject
               OR {mask_names_sql("v.description", "n.names")} IS DISTINCT FROM v.description)
        GROUP BY v.date
        ORDER BY v.date
    """


def silver_agent_versions_sql(typed: str) -> str:
    """Every good agent record; skills trimmed around each `;`."""
    return f"""
        SELECT {LINEAGE}, agent_id, name, team,
               nullif(array_to_string(
                   [{sql.stripped("s")} FOR s IN string_split(coalesce(skills, ''), ';') IF {sql.has_text("s")}],
                   ';'), '') AS skills,
               hire_date, max_open_tickets
        FROM {typed}
        WHERE reject_reason IS NULL
    """


def silver_customer_versions_sql(typed: str, hashes: str = RECORD_HASHES) -> str:
    """Every good customer record: the name dropped, e-mail and phone as keyed hashes, and
    an e-mail address or phone number typed into the plan or region (they reach gold) masked."""
    return f"""
        SELECT t.date, t.source_file, t.line_number, t.customer_id,
               h.email_hash, h.phone_hash, {mask_contacts_sql("t.plan")} AS plan,
               {mask_contacts_sql("t.region")} AS region, t.signup_date
        FROM {typed} t
        JOIN {hashes} h USING (source_file, line_number)
        WHERE t.reject_reason IS NULL
    """


def deliveries_sql(days: Sequence[date], tickets: str, agents: str, customers: str) -> str:
    """One row per day of the step, with the versions kept that day (0 without files)."""

    def counted(relation: str, column: str) -> str:
        return (
            f"LEFT JOIN (SELECT date, count(*) AS {column} FROM {relation} GROUP BY date) "
            f"USING (date)"
        )

    return f"""
        SELECT date,
               coalesce(ticket_versions, 0) AS ticket_versions,
               coalesce(agent_versions, 0) AS agent_versions,
               coalesce(customer_versions, 0) AS customer_versions
        FROM {sql.days_relation(days)}
        {counted(tickets, "ticket_versions")}
        {counted(agents, "agent_versions")}
        {counted(customers, "customer_versions")}
        ORDER BY date
    """


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


def sla_inconsistencies_sql(analytics: str, as_of: str, rules: SupportRules = DEFAULT_RULES) -> str:
    """Rows of the ticket analytics whose targets, minutes or breach flags disagree with the
    priority, the timestamps and the breach rule as of `as_of` (the check's query)."""
    expected_fr = breached_sql(
        "a.first_response_at", "a.created_at", "a.first_response_target_minutes", as_of
    )
    expected_res = breached_sql(
        "a.resolved_at", "a.created_at", "a.resolution_target_minutes", as_of
    )
    return f"""
        SELECT a.ticket_id
        FROM {analytics} a
        LEFT JOIN {targets_relation(rules)} g USING (priority)
        WHERE g.first_response_target_minutes IS DISTINCT FROM a.first_response_target_minutes
           OR g.resolution_target_minutes IS DISTINCT FROM a.resolution_target_minutes
           OR {minutes_between_sql("a.created_at", "a.first_response_at")}
                  IS DISTINCT FROM a.first_response_minutes
           OR {minutes_between_sql("a.created_at", "a.resolved_at")}
                  IS DISTINCT FROM a.resolution_minutes
           OR (a.first_response_minutes IS NOT NULL AND a.first_response_breached
                   <> (a.first_response_minutes > a.first_response_target_minutes))
           OR (a.resolution_minutes IS NOT NULL AND a.resolution_breached
                   <> (a.resolution_minutes > a.resolution_target_minutes))
           OR a.first_response_breached IS DISTINCT FROM {expected_fr}
           OR a.resolution_breached IS DISTINCT FROM {expected_res}
    """


def breach_share_sql(analytics: str, as_of_day: str, window_days: int) -> str:
    """(tickets, breached, share) over tickets created in the `window_days` days ending on
    the as-of day."""
    return f"""
        SELECT count(*) AS tickets,
               count(*) FILTER (WHERE first_response_breached OR resolution_breached) AS breached,
               CASE WHEN count(*) > 0 THEN
                   count(*) FILTER (WHERE first_response_breached OR resolution_breached)
                   / count(*) END AS share
        FROM {analytics}
        WHERE date > {as_of_day} - {int(window_days)} AND date <= {as_of_day}
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


def plan_violations_sql(plan: str, agents: str, tickets: str) -> str:
    """(without_skill, over_capacity): planned tickets whose agent lacks the category as a
    skill (or is unknown), and agents whose open tickets plus planned ones exceed
    `max_open_tickets`."""
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
        SELECT
            (SELECT count(*) FROM planned p LEFT JOIN crew c USING (agent_id)
             WHERE c.agent_id IS NULL OR p.category IS NULL
                OR NOT list_contains(c.skill_list, lower({sql.stripped("p.category")}))) AS without_skill,
            (SELECT count(*) FROM added a JOIN crew c USING (agent_id)
             LEFT JOIN held h USING (agent_id)
             WHERE coalesce(h.open_tickets, 0) + a.new_tickets > c.max_open_tickets)
                AS over_capacity
    """


def misordered_intervals_sql(forecast: str) -> str:
    """Forecast rows whose bounds are missing or out of order
    (lo_95 ≤ lo_80 ≤ forecast ≤ hi_80 ≤ hi_95 must hold)."""
    return f"""
        SELECT count(*) FROM {forecast}
        WHERE (lo_95 <= lo_80 AND lo_80 <= forecast AND forecast <= hi_80 AND hi_80 <= hi_95)
              IS NOT TRUE
    """
