"""The digital-to-call leakage rules (contract section 4.3), as pure functions with no Dagster.

A scale-1 day is ~50,000 journey events and ~14,000 calls, so the rules run as DuckDB SQL:
each function here returns a SQL expression or query over named relations (a table name or
a parenthesised subquery). Unit tests run the very same SQL in an in-memory DuckDB on
hand-worked rows, so there is one implementation.

Configuration lives in `DigitalRules`, whose defaults are the contract's: a 30-minute
window (inclusive), reasons matching journey types by identical name, repeat calls within
7 × 24 hours, $8 a call, savings at 10/25/50% fix rates, and the action templates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from cx_assets.lakehouse import sql
from cx_assets.lakehouse.parsing import after_delivery_sql
from cx_assets.lakehouse.privacy import mask_contacts_sql
from cx_assets.lakehouse.steps import RULE_REASON

MAPD_NEW, MAPD_TENURED, COMMERCIAL, OTHER = "MAPD New", "MAPD Tenured", "Commercial", "Other"
MEMBER_CATEGORIES = (MAPD_NEW, MAPD_TENURED, COMMERCIAL, OTHER)
ACTIONS = ("start", "view", "submit", "complete", "abandon", "error")
EFFORTS = ("low", "medium", "high")
JOURNEY_EVENT = "journey_event"
CALL = "call"
EVENT_KINDS = (JOURNEY_EVENT, CALL)

# A journey event has no id: this natural key identifies it. A later record with the same
# key on the same day is a re-delivered duplicate and is quarantined (`RecordSpec.unique_key`).
JOURNEY_EVENT_KEY = ("member_id", "session_id", "event_at", "journey_type", "action")


@dataclass(frozen=True)
class ActionTemplate:
    """What to do about a root cause. `action` may use `{journey_type}`, `{error_code}` and
    `{device}` (the root cause's device type, or "all devices"), filled in per root cause."""

    action: str
    owner: str
    effort: str  # low / medium / high
    fix_rate: float  # share of the root cause's leakage calls the action is expected to remove


DEFAULT_ACTION_TEMPLATES: Mapping[str, ActionTemplate] = {
    "PAY_TIMEOUT": ActionTemplate(
        "Raise the payment gateway timeout and add idempotent retry with a clear "
        "'payment pending' state to the billing flow on {device}",
        "Payments Engineering",
        "medium",
        0.50,
    ),
    "CARD_DECLINED": ActionTemplate(
        "Explain card declines in plain language and offer another payment method on {device}",
        "Digital Product (Billing)",
        "low",
        0.25,
    ),
    "AUTOPAY_ENROLL_FAILED": ActionTemplate(
        "Fix autopay enrollment failures on {device} and confirm enrollment by e-mail",
        "Payments Engineering",
        "medium",
        0.40,
    ),
    "PDF_RENDER": ActionTemplate(
        "Fix ID card PDF rendering on {device} and offer a wallet card / image fallback",
        "Member Portal Engineering",
        "medium",
        0.50,
    ),
    "LANG_MISSING": ActionTemplate(
        "Translate the ID card journey (Spanish first) for members' preferred languages "
        "on {device}",
        "Localization & Content",
        "medium",
        0.60,
    ),
    "CARD_NOT_READY": ActionTemplate(
        "Show ID card production status and a temporary card on {device}",
        "Member Portal Engineering",
        "low",
        0.30,
    ),
    "RX_NOT_FOUND": ActionTemplate(
        "Improve prescription matching (PBM sync, fuzzy drug search) behind {journey_type} "
        "lookups on {device}",
        "Pharmacy Integration",
        "high",
        0.35,
    ),
    "FORMULARY_LOOKUP_FAILED": ActionTemplate(
        "Make the formulary lookup service resilient (cache, fallback) on {device}",
        "Pharmacy Integration",
        "medium",
        0.40,
    ),
    "REFILL_TOO_SOON": ActionTemplate(
        "Show the next eligible refill date instead of an error on {device}",
        "Digital Product (Pharmacy)",
        "low",
        0.50,
    ),
    "PHARMACY_LOCATOR_DOWN": ActionTemplate(
        "Add monitoring and a static fallback list to the pharmacy locator on {device}",
        "Pharmacy Integration",
        "low",
        0.40,
    ),
    "CLAIM_STATUS_UNAVAILABLE": ActionTemplate(
        "Make claim status available when the claims system is slow (cache) on {device}",
        "Claims Engineering",
        "medium",
        0.40,
    ),
    "EOB_RENDER": ActionTemplate(
        "Fix Explanation of Benefits rendering on {device}",
        "Member Portal Engineering",
        "low",
        0.40,
    ),
}
# Root causes without an error code: the member abandoned the journey.
DEFAULT_ABANDON_ACTION = ActionTemplate(
    "Run a UX review of where members abandon the {journey_type} journey on {device} "
    "and simplify those steps",
    "Digital Product & UX Research",
    "medium",
    0.20,
)
# Error codes without a template of their own.
DEFAULT_FALLBACK_ACTION = ActionTemplate(
    "Investigate and fix error {error_code} in the {journey_type} journey on {device}",
    "Digital Product",
    "medium",
    0.25,
)


@dataclass(frozen=True)
class DigitalRules:
    # A leakage call follows a failure event of its journey type by at most this (inclusive).
    leakage_window_minutes: int = 30
    failure_actions: Sequence[str] = ("abandon", "error")
    # Call reason -> journey type it matches. Reasons not listed match the journey type of the
    # same name; a reason mapped to None matches no journey type.
    reason_to_journey_type: Mapping[str, str | None] = field(default_factory=dict)
    # A repeat call: the member called with the same reason in the previous `repeat_window_hours`.
    repeat_window_hours: int = 7 * 24
    # Member category: MAPD with tenure below this many months is "MAPD New".
    mapd_new_max_tenure_months: int = 12
    cost_per_call: float = 8.0
    # Savings scenarios of leakage_savings_model: the low, mid and high fix rates (0-1).
    fix_rates: tuple[float, float, float] = (0.10, 0.25, 0.50)
    # leakage_daily_summary.trend_pct compares the `trend_days` ending a date with the ones before.
    trend_days: int = 7
    # leakage_action_recommendations: one action for each of the largest root causes (an
    # error code of a journey type), aimed at one device when it holds this share of them.
    max_actions: int = 5
    device_focus_share: float = 0.6
    action_templates: Mapping[str, ActionTemplate] = field(
        default_factory=DEFAULT_ACTION_TEMPLATES.copy
    )
    abandon_action: ActionTemplate = DEFAULT_ABANDON_ACTION
    fallback_action: ActionTemplate = DEFAULT_FALLBACK_ACTION
    # Check band: leakage calls ÷ all calls of a day (the generator yields ~0.84).
    leakage_share_band: tuple[float, float] = (0.50, 0.95)

    @property
    def journey_lookback_days(self) -> int:
        """Earlier days of journey events a day's calls need (a window crossing midnight)."""
        return max(1, math.ceil(self.leakage_window_minutes / (24 * 60)))

    @property
    def call_lookback_days(self) -> int:
        """Earlier days of calls a day's calls need to find repeats."""
        return max(1, math.ceil(self.repeat_window_hours / 24))

    @property
    def trend_lookback_days(self) -> int:
        """Earlier days of leakage a day's trend needs: the day's window and the one before."""
        return 2 * self.trend_days - 1


DEFAULT_RULES = DigitalRules()


# --------------------------------------------------------------------------- row rules


def member_category_sql(
    plan_type: str, tenure_months: str, rules: DigitalRules = DEFAULT_RULES
) -> str:
    """`MAPD New` (MAPD, tenure below 12 months), `MAPD Tenured`, `Commercial`, `Other`.
    Plan types compare case-insensitively."""
    plan = f"lower({sql.stripped(plan_type)})"
    return f"""CASE
        WHEN {plan} = 'mapd' AND {tenure_months} < {int(rules.mapd_new_max_tenure_months)}
            THEN {sql.string_literal(MAPD_NEW)}
        WHEN {plan} = 'mapd' THEN {sql.string_literal(MAPD_TENURED)}
        WHEN {plan} = 'commercial' THEN {sql.string_literal(COMMERCIAL)}
        ELSE {sql.string_literal(OTHER)} END"""


def matched_journey_type_sql(call_reason: str, rules: DigitalRules = DEFAULT_RULES) -> str:
    """The journey type a call reason matches (identical name unless configured)."""
    if not rules.reason_to_journey_type:
        return call_reason
    cases = " ".join(
        f"WHEN {sql.string_literal(reason)} THEN {sql.string_literal(journey)}"
        for reason, journey in rules.reason_to_journey_type.items()
    )
    return f"(CASE {call_reason} {cases} ELSE {call_reason} END)"


# --------------------------------------------------------------------------- silver

LINEAGE = "date, source_file, line_number"

# The labels that reach gold (journey type, device, error code, call reason, resolution,
# plan, segment, language) are text an export may put anything in: an e-mail address or a
# phone number in one is masked, as in free text. (An id with one is quarantined instead:
# masked, two ids would become one.)


def silver_journeys_sql(typed: str) -> str:
    return f"""
    SELECT {LINEAGE}, member_id, session_id, event_at,
           {mask_contacts_sql("journey_type")} AS journey_type, action,
           {mask_contacts_sql("device_type")} AS device_type,
           {mask_contacts_sql("error_code")} AS error_code,
           {mask_contacts_sql("error_message")} AS error_message,
           {after_delivery_sql("event_at", "timestamp")} AS {RULE_REASON}
    FROM {typed} WHERE reject_reason IS NULL
    ORDER BY date, source_file, line_number
    """


def silver_calls_sql(typed: str) -> str:
    """The day's calls, the IVR path masked. A call_id delivered again (that day or on a
    later one) was already rejected while typing: the call spec's key is unique across
    days, as a call happened once and a later export repeating it would count it twice."""
    return f"""
    SELECT {LINEAGE}, call_id, member_id, called_at,
           {mask_contacts_sql("ivr_path")} AS ivr_path, handle_time_seconds, agent_id,
           {mask_contacts_sql("call_reason")} AS call_reason, sentiment_score,
           {mask_contacts_sql("resolution_status")} AS resolution_status,
           {after_delivery_sql("called_at", "call_timestamp")} AS {RULE_REASON}
    FROM {typed} WHERE reject_reason IS NULL
    ORDER BY date, source_file, line_number
    """


def silver_member_versions_sql(typed: str, rules: DigitalRules = DEFAULT_RULES) -> str:
    return f"""
    SELECT {LINEAGE}, member_id, {mask_contacts_sql("plan_type")} AS plan_type, tenure_months,
           {mask_contacts_sql("segment")} AS segment,
           {mask_contacts_sql("language_preference")} AS language_preference, enrollment_date,
           {member_category_sql("plan_type", "tenure_months", rules)} AS member_category
    FROM {typed} WHERE reject_reason IS NULL
    ORDER BY date, source_file, line_number
    """


def leakage_calls_sql(
    calls: str,
    journeys: str,
    member_versions: str,
    days: Sequence[date],
    rules: DigitalRules = DEFAULT_RULES,
) -> str:
    """Leakage calls of `days` (contract 4.3), one row per call.

    - `calls`: silver calls of `days` and the `call_lookback_days` before them (for repeats);
    - `journeys`: silver journey events of `days` and the `journey_lookback_days` before them
      (a failure late on one day leads to a call early the next);
    - `member_versions`: every delivered member version; the category is the one delivered on
      or before the call's day (the latest version of that day), so a re-run of a day gives
      the same answer whatever landed later.

    A call leaks when its member had a failure event (`abandon`/`error`) of the journey type
    its reason matches at most `leakage_window_minutes` before it (both ends inclusive; an
    event after the call does not count). It is attributed once, to the latest such event
    (ties: the later-landed record). `is_repeat_call`: the member made another call with the
    same reason in the `repeat_window_hours` before (inclusive), strictly earlier.

    A call of day D is matched only with events and calls delivered on D and the lookback
    days before it, never a later day's, even when a range run reads them: a call may be
    timed up to the end of the day after its file's day, and a range run would otherwise
    find an event delivered the next day that a run of D alone does not see.
    """
    window = int(rules.leakage_window_minutes)
    repeat_hours = int(rules.repeat_window_hours)
    journey_days = int(rules.journey_lookback_days)
    call_days = int(rules.call_lookback_days)
    failure_actions = ", ".join(sql.string_literal(action) for action in rules.failure_actions)
    last_day = sql.date_literal(max(days)) if days else "NULL::DATE"
    return f"""
    WITH todays AS (
        SELECT *, {matched_journey_type_sql("call_reason", rules)} AS matched_journey_type
        FROM {calls} WHERE {sql.in_days(days)}
    ),
    failures AS (
        SELECT date AS event_date, member_id, session_id, event_at, journey_type, action,
               device_type, error_code, source_file AS event_file, line_number AS event_line
        FROM {journeys} WHERE action IN ({failure_actions})
    ),
    attributed AS (
        SELECT c.*, f.event_date, f.session_id, f.event_at, f.journey_type,
               f.action AS event_action, f.device_type, f.error_code
        FROM todays c
        JOIN failures f
          ON f.member_id = c.member_id
         AND f.journey_type = c.matched_journey_type
         AND f.event_at <= c.called_at
         AND f.event_at >= c.called_at - INTERVAL {window} MINUTE
         AND f.event_date BETWEEN c.date - {journey_days} AND c.date
        QUALIFY row_number() OVER (
            PARTITION BY c.date, c.call_id
            ORDER BY f.event_at DESC, f.event_date DESC, f.event_file DESC, f.event_line DESC
        ) = 1
    ),
    repeats AS (
        SELECT DISTINCT a.date, a.call_id
        FROM attributed a
        JOIN {calls} p
          ON p.member_id = a.member_id
         AND p.call_reason = a.call_reason
         AND p.called_at < a.called_at
         AND p.called_at >= a.called_at - INTERVAL {repeat_hours} HOUR
         AND p.call_id <> a.call_id
         AND p.date BETWEEN a.date - {call_days} AND a.date
    ),
    member_day AS (
        -- one version per member and day: the last delivered (by file, then line)
        SELECT date AS version_date, member_id, member_category
        FROM {member_versions}
        WHERE date <= {last_day}
        QUALIFY row_number() OVER (
            PARTITION BY member_id, date ORDER BY source_file DESC, line_number DESC) = 1
    )
    SELECT a.date, a.source_file, a.line_number,
           a.call_id, a.member_id, a.called_at, a.call_reason, a.journey_type,
           coalesce(m.member_category, {sql.string_literal(OTHER)}) AS member_category,
           m.member_category IS NOT NULL AS member_found,
           a.event_at, a.event_date, a.session_id, a.event_action, a.error_code, a.device_type,
           (epoch(a.called_at) - epoch(a.event_at)) / 60.0 AS time_to_call_minutes,
           r.call_id IS NOT NULL AS is_repeat_call,
           a.sentiment_score, a.handle_time_seconds, a.agent_id, a.resolution_status
    FROM attributed a
    LEFT JOIN repeats r ON r.date = a.date AND r.call_id = a.call_id
    ASOF LEFT JOIN member_day m ON a.member_id = m.member_id AND a.date >= m.version_date
    ORDER BY a.date, a.called_at, a.call_id
    """


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
               ORDER BY t.event_at, t.event_kind DESC, t.session_id, t.action, t.call_id
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
