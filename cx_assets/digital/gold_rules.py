"""The digital gold tables' rules (contract section 4.3), as SQL builders over silver leakage
calls, calls and journey events, no Dagster: per day the summary, segments, root causes and
the journey timeline; over the whole history the savings model and the recommended actions.
Their configuration is `rules.DigitalRules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cx_assets.digital.rules import CALL, DEFAULT_RULES, JOURNEY_EVENT, DigitalRules
from cx_assets.lakehouse import sql

# --------------------------------------------------------------------------- gold, per day


def daily_summary_sql(
    leakage: str, calls: str, days: Sequence[date], rules: DigitalRules = DEFAULT_RULES
) -> str:
    """One row per day and journey type with leakage calls that day or in the trend span.

    - `leakage`, `calls`: silver leakage calls and silver calls of `days` and the
      `trend_lookback_days` before them;
    - `trend_pct` = 100 × (calls in the `trend_days` ending the date − calls in the
      `trend_days` before them) ÷ the latter; null unless every day of both spans has calls
      delivered (otherwise there is no history to compare), or when the earlier span had none.
    """
    span = int(rules.trend_days)
    lookback = int(rules.trend_lookback_days)
    cost = sql.number_literal(rules.cost_per_call)
    return f"""
    WITH days AS {sql.days_relation(days)},
    per_day AS (
        SELECT date, journey_type, count(*) AS leakage_calls FROM {leakage} GROUP BY ALL
    ),
    call_days AS (SELECT DISTINCT date FROM {calls}),
    history AS (
        SELECT d.date, count(c.date) AS days_with_calls
        FROM days d LEFT JOIN call_days c
          ON c.date BETWEEN d.date - INTERVAL {lookback} DAY AND d.date
        GROUP BY d.date
    ),
    day_types AS (
        SELECT DISTINCT d.date, p.journey_type
        FROM days d JOIN per_day p
          ON p.date BETWEEN d.date - INTERVAL {lookback} DAY AND d.date
    ),
    windows AS (
        SELECT t.date, t.journey_type,
               coalesce(sum(p.leakage_calls) FILTER (WHERE p.date = t.date), 0) AS leakage_calls,
               coalesce(sum(p.leakage_calls) FILTER (
                   WHERE p.date > t.date - INTERVAL {span} DAY), 0) AS current_span,
               coalesce(sum(p.leakage_calls) FILTER (
                   WHERE p.date <= t.date - INTERVAL {span} DAY), 0) AS previous_span
        FROM day_types t LEFT JOIN per_day p
          ON p.journey_type = t.journey_type
         AND p.date BETWEEN t.date - INTERVAL {lookback} DAY AND t.date
        GROUP BY t.date, t.journey_type
    ),
    segments AS (
        SELECT date, journey_type, member_category AS primary_segment
        FROM {leakage} WHERE {sql.in_days(days)}
        GROUP BY date, journey_type, member_category
        QUALIFY row_number() OVER (
            PARTITION BY date, journey_type ORDER BY count(*) DESC, member_category) = 1
    )
    SELECT w.date, w.journey_type, w.leakage_calls,
           w.leakage_calls * {cost} AS daily_cost,
           s.primary_segment,
           CASE WHEN h.days_with_calls = {lookback + 1}
                THEN 100.0 * (w.current_span - w.previous_span) / nullif(w.previous_span, 0)
           END AS trend_pct
    FROM windows w
    JOIN history h USING (date)
    LEFT JOIN segments s USING (date, journey_type)
    ORDER BY w.date, w.journey_type
    """


def segment_drilldown_sql(leakage: str, rules: DigitalRules = DEFAULT_RULES) -> str:
    cost = sql.number_literal(rules.cost_per_call)
    return f"""
    SELECT date, journey_type, member_category,
           count(*) AS calls,
           count(*) * {cost} AS cost,
           100.0 * count(*) FILTER (WHERE is_repeat_call) / count(*) AS repeat_call_pct,
           {sql.float_avg("sentiment_score")} AS avg_sentiment
    FROM {leakage}
    GROUP BY date, journey_type, member_category
    ORDER BY date, journey_type, member_category
    """


def root_cause_sql(leakage: str) -> str:
    """`pct`: share (0-100) of the day's leakage calls *of the same journey type*. A null
    `error_code` is an abandoned journey (or an error delivered without a code)."""
    return f"""
    SELECT date, journey_type, error_code, device_type,
           count(*) AS leakage_calls,
           100.0 * count(*) / sum(count(*)) OVER (PARTITION BY date, journey_type) AS pct
    FROM {leakage}
    GROUP BY date, journey_type, error_code, device_type
    ORDER BY date, journey_type, leakage_calls DESC, error_code NULLS LAST, device_type
    """


def journey_timeline_sql(
    leakage: str,
    journeys: str,
    calls: str,
    days: Sequence[date],
    rules: DigitalRules = DEFAULT_RULES,
) -> str:
    """Every member with a leakage call on a day: that day's journey events and calls, plus
    the whole session of each failure a leakage call was attributed to (which may have
    started the day before), in time order (`sequence` 1..n per member and day).

    - `leakage`: silver leakage calls of `days`;
    - `journeys`: silver journey events of `days` and the `journey_lookback_days` before
      (a session's events delivered earlier than that are left out, by a range run too);
    - `calls`: silver calls of `days`.
    """
    journey_days = int(rules.journey_lookback_days)
    return f"""
    WITH leaks AS (SELECT * FROM {leakage} WHERE {sql.in_days(days)}),
    leaking AS (
        SELECT date, member_id, any_value(member_category) AS member_category
        FROM leaks GROUP BY ALL
    ),
    attributed_events AS (
        SELECT DISTINCT date, member_id, session_id, event_at, journey_type,
               event_action AS action
        FROM leaks
    ),
    attributed_sessions AS (SELECT DISTINCT date, member_id, session_id FROM leaks),
    journey_events AS (
        SELECT l.date, j.member_id, j.event_at, j.journey_type, j.action, j.session_id,
               j.device_type, j.error_code
        FROM {journeys} j JOIN leaking l ON j.member_id = l.member_id AND j.date = l.date
        UNION
        SELECT s.date, j.member_id, j.event_at, j.journey_type, j.action, j.session_id,
               j.device_type, j.error_code
        FROM {journeys} j
        JOIN attributed_sessions s ON j.member_id = s.member_id AND j.session_id = s.session_id
        WHERE j.date BETWEEN s.date - {journey_days} AND s.date
    ),
    timeline AS (
        SELECT e.date, e.member_id, {sql.string_literal(JOURNEY_EVENT)} AS event_kind,
               e.event_at, e.journey_type, e.action, e.session_id, e.device_type, e.error_code,
               NULL::VARCHAR AS call_id, NULL::VARCHAR AS call_reason,
               FALSE AS is_leakage_call,
               a.session_id IS NOT NULL AS is_attributed_event,
               NULL::DOUBLE AS time_to_call_minutes, NULL::BOOLEAN AS is_repeat_call,
               NULL::DOUBLE AS sentiment_score
        FROM journey_events e
        LEFT JOIN attributed_events a
          ON a.date = e.date AND a.member_id = e.member_id AND a.session_id = e.session_id
         AND a.event_at = e.event_at AND a.journey_type = e.journey_type AND a.action = e.action
        UNION ALL
        SELECT c.date, c.member_id, {sql.string_literal(CALL)} AS event_kind,
               c.called_at AS event_at, k.journey_type,
               NULL::VARCHAR AS action, NULL::VARCHAR AS session_id,
               NULL::VARCHAR AS device_type, NULL::VARCHAR AS error_code,
               c.call_id, c.call_reason,
               k.call_id IS NOT NULL AS is_leakage_call,
               FALSE AS is_attributed_event,
               k.time_to_call_minutes, k.is_repeat_call, c.sentiment_score
        FROM {calls} c
        JOIN leaking l ON c.member_id = l.member_id AND c.date = l.date
        LEFT JOIN leaks k ON k.date = c.date AND k.call_id = c.call_id
    )
    SELECT t.date, t.member_id,
           row_number() OVER (
               PARTITION BY t.date, t.member_id
               ORDER BY t.event_at, t.event_kind DESC, t.session_id, t.action, t.call_id,
                        t.journey_type, t.device_type, t.error_code
           ) AS sequence,
           t.event_kind, t.event_at, t.journey_type, t.action, t.session_id, t.device_type,
           t.error_code, t.call_id, t.call_reason, t.is_leakage_call, t.is_attributed_event,
           t.time_to_call_minutes, t.is_repeat_call, t.sentiment_score, l.member_category
    FROM timeline t JOIN leaking l USING (date, member_id)
    ORDER BY t.date, t.member_id, sequence
    """


# --------------------------------------------------------------------------- gold, whole history


def observed_days_sql(materialized_days: int) -> str:
    """Days the savings model averages over: every materialized day (contract 4.3: a day
    without that type, even a day whose call files never came, counts 0)."""
    return f"(SELECT {int(materialized_days)})"


def savings_model_sql(
    leakage: str, materialized_days: int, rules: DigitalRules = DEFAULT_RULES
) -> str:
    """Per journey type: mean daily leakage calls over the `materialized_days` (a day without
    that type counts 0), its annual cost, and the savings at the low/mid/high fix rates."""
    cost = sql.number_literal(rules.cost_per_call)
    low, mid, high = (sql.number_literal(rate) for rate in rules.fix_rates)
    return f"""
    WITH observed AS (SELECT {observed_days_sql(materialized_days)} AS observed_days),
    per_type AS (
        SELECT journey_type, count(*) AS total_leakage_calls FROM {leakage} GROUP BY journey_type
    ),
    modelled AS (
        SELECT p.journey_type, p.total_leakage_calls, o.observed_days,
               p.total_leakage_calls / nullif(o.observed_days, 0) AS avoidable_calls_per_day
        FROM per_type p CROSS JOIN observed o
    )
    SELECT journey_type, avoidable_calls_per_day,
           avoidable_calls_per_day * {cost} * 365 AS annualized_cost,
           {low} AS low_fix_rate,
           avoidable_calls_per_day * {cost} * 365 * {low} AS savings_low_fix,
           {mid} AS mid_fix_rate,
           avoidable_calls_per_day * {cost} * 365 * {mid} AS savings_mid_fix,
           {high} AS high_fix_rate,
           avoidable_calls_per_day * {cost} * 365 * {high} AS savings_high_fix,
           {cost} AS cost_per_call,
           total_leakage_calls, observed_days
    FROM modelled
    ORDER BY annualized_cost DESC NULLS LAST, journey_type
    """


def _templates_sql(rules: DigitalRules) -> str:
    """The action templates as a relation (code, action, owner, effort, fix_rate, kind)."""
    rows = [(code, template, "code") for code, template in rules.action_templates.items()] + [
        (None, rules.abandon_action, "abandon"),
        (None, rules.fallback_action, "fallback"),
    ]
    values = ", ".join(
        "("
        + ", ".join(sql.string_literal(text) for text in (code, t.action, t.owner, t.effort))
        + f", {sql.number_literal(t.fix_rate)}, {sql.string_literal(kind)})"
        for code, t, kind in rows
    )
    return f"(VALUES {values}) AS templates(code, action, owner, effort, fix_rate, kind)"


def action_recommendations_sql(
    leakage: str, materialized_days: int, rules: DigitalRules = DEFAULT_RULES
) -> str:
    """One action for each of the `max_actions` largest root causes, over all history.

    A root cause is an error code of a journey type (no code: an abandoned journey). It
    targets one device when that device holds at least `device_focus_share` of the cause's
    leakage calls (then only those calls count), otherwise every device (`device_type`
    null): a failure spread evenly over devices is not a device's problem. The largest
    causes by leakage calls get an action from the templates: by error code; the abandon
    template when there is no code; the fallback for unknown codes.
    `estimated_annual_savings` = the cause's mean daily leakage calls over the materialized days
    × cost per call × 365 × the template's fix rate. Ranked by that, largest first.
    """
    cost = sql.number_literal(rules.cost_per_call)
    focus = sql.number_literal(rules.device_focus_share)

    def fill(text: str) -> str:
        return (
            f"replace(replace(replace({text}, '{{journey_type}}', c.journey_type), "
            f"'{{error_code}}', coalesce(c.error_code, 'none')), "
            f"'{{device}}', coalesce(c.device_type, 'all devices'))"
        )

    return f"""
    WITH observed AS (SELECT {observed_days_sql(materialized_days)} AS observed_days),
    by_device AS (
        SELECT journey_type, error_code, device_type, count(*) AS calls
        FROM {leakage} GROUP BY ALL
    ),
    by_code AS (
        SELECT journey_type, error_code, device_type AS top_device, calls AS top_calls,
               sum(calls) OVER (PARTITION BY journey_type, error_code) AS total_calls
        FROM by_device
        QUALIFY row_number() OVER (
            PARTITION BY journey_type, error_code ORDER BY calls DESC, device_type NULLS LAST
        ) = 1
    ),
    causes AS (
        SELECT journey_type, error_code,
               CASE WHEN focused THEN top_device END AS device_type,
               CASE WHEN focused THEN top_calls ELSE total_calls END AS leakage_calls
        FROM (
            SELECT *, top_device IS NOT NULL AND top_calls >= {focus} * total_calls AS focused
            FROM by_code
        )
        ORDER BY leakage_calls DESC, journey_type, error_code NULLS LAST, device_type NULLS LAST
        LIMIT {int(rules.max_actions)}
    ),
    templates AS (SELECT * FROM {_templates_sql(rules)}),
    matched AS (
        SELECT c.*, o.observed_days,
               c.leakage_calls / nullif(o.observed_days, 0) AS avoidable_calls_per_day,
               coalesce(t.action, CASE WHEN c.error_code IS NULL THEN ab.action ELSE fb.action END)
                   AS template_action,
               coalesce(t.owner, CASE WHEN c.error_code IS NULL THEN ab.owner ELSE fb.owner END)
                   AS owner,
               coalesce(t.effort, CASE WHEN c.error_code IS NULL THEN ab.effort ELSE fb.effort END)
                   AS effort,
               coalesce(t.fix_rate,
                        CASE WHEN c.error_code IS NULL THEN ab.fix_rate ELSE fb.fix_rate END)
                   AS fix_rate
        FROM causes c CROSS JOIN observed o
        LEFT JOIN templates t ON t.kind = 'code' AND t.code = c.error_code
        CROSS JOIN (SELECT * FROM templates WHERE kind = 'abandon') ab
        CROSS JOIN (SELECT * FROM templates WHERE kind = 'fallback') fb
    ),
    estimated AS (
        SELECT *, avoidable_calls_per_day * {cost} * 365 * fix_rate AS estimated_annual_savings
        FROM matched c
    )
    SELECT row_number() OVER (
               ORDER BY estimated_annual_savings DESC NULLS LAST, leakage_calls DESC,
                        journey_type, error_code NULLS LAST, device_type NULLS LAST
           ) AS rank,
           {fill("template_action")} AS action,
           owner, effort, estimated_annual_savings,
           journey_type, error_code, device_type,
           leakage_calls, avoidable_calls_per_day, fix_rate, observed_days
    FROM estimated c
    ORDER BY rank
    """


def leakage_share_sql(leakage_table: str, calls_table: str) -> str:
    """Leakage calls ÷ all calls, per day in `{days}` (a predicate on `date`, filled in by
    the band check); days without calls have no ratio."""
    return f"""
    WITH all_calls AS (
        SELECT date, count(*) AS calls FROM {calls_table} WHERE {{days}} GROUP BY date
    ),
    leaks AS (
        SELECT date, count(*) AS leakage_calls FROM {leakage_table} WHERE {{days}} GROUP BY date
    )
    SELECT a.date, coalesce(l.leakage_calls, 0) / a.calls AS ratio
    FROM all_calls a LEFT JOIN leaks l USING (date)
    ORDER BY a.date
    """
