"""The digital-to-call leakage rules (contract section 4.3), as pure functions with no Dagster.

A scale-1 day is ~50,000 journey events and ~14,000 calls, so the rules run as DuckDB SQL:
each function here returns a SQL expression or query over named relations (a table name or
a parenthesised subquery). Unit tests run the very same SQL in an in-memory DuckDB on
hand-worked rows, so there is one implementation.

Configuration lives in `DigitalRules`, whose defaults are the contract's: a 30-minute
window (inclusive), reasons matching journey types by identical name, repeat calls within
7 × 24 hours, $8 a call, savings at 10/25/50% fix rates, and the action templates
(`actions`). Here: the row rules, silver and the leakage match; the gold tables' SQL is in
`gold_rules`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from cx_assets.digital.actions import (
    DEFAULT_ABANDON_ACTION,
    DEFAULT_ACTION_TEMPLATES,
    DEFAULT_FALLBACK_ACTION,
    ActionTemplate,
)
from cx_assets.lakehouse import sql
from cx_assets.lakehouse.parsing import after_delivery_sql
from cx_assets.lakehouse.privacy import MaskedLabels
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
    mapd_new_below_tenure_months: int = 12
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
    # Check band: leakage calls ÷ all calls of a day (the generator yields ~0.84 in its first
    # week, past 0.95 after 15 weeks of growth: docs/digital.md).
    leakage_share_band: tuple[float, float] = (0.50, 0.95)

    def __post_init__(self) -> None:
        # The cost model is checked when it is built, not when a gold step fails on it (or,
        # fix rates out of order, writes a low saving above the high one).
        if not (math.isfinite(self.cost_per_call) and self.cost_per_call >= 0):
            raise ValueError(
                f"DigitalRules.cost_per_call must be a finite number >= 0: {self.cost_per_call}"
            )
        if not all(0 <= rate <= 1 for rate in self.fix_rates):
            raise ValueError(f"DigitalRules.fix_rates must lie in 0-1: {self.fix_rates}")
        low, mid, high = self.fix_rates
        if not low <= mid <= high:
            raise ValueError(
                f"DigitalRules.fix_rates must be ordered low <= mid <= high: {self.fix_rates}"
            )
        # So are the recommendations' templates: a fix rate above 1 or an unknown effort
        # failed leakage_action_recommendations' schema mid-run, a NaN wrote SQL naming `nan`.
        templates = {
            **{f"action_templates[{code!r}]": t for code, t in self.action_templates.items()},
            "abandon_action": self.abandon_action,
            "fallback_action": self.fallback_action,
        }
        for name, template in templates.items():
            if not 0 <= template.fix_rate <= 1:
                raise ValueError(
                    f"DigitalRules.{name}.fix_rate must lie in 0-1: {template.fix_rate}"
                )
            if template.effort not in EFFORTS:
                raise ValueError(
                    f"DigitalRules.{name}.effort must be one of {', '.join(EFFORTS)}: "
                    f"{template.effort!r}"
                )
        if not 0 <= self.device_focus_share <= 1:
            raise ValueError(
                f"DigitalRules.device_focus_share must lie in 0-1: {self.device_focus_share}"
            )

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
        WHEN {plan} = 'mapd' AND {tenure_months} < {int(rules.mapd_new_below_tenure_months)}
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
    labels = MaskedLabels("kept", ("journey_type", "device_type", "error_code", "error_message"))
    return f"""
    WITH kept AS (SELECT * FROM {typed} WHERE reject_reason IS NULL),
         {labels.table}
    SELECT {LINEAGE}, member_id, session_id, event_at,
           {labels["journey_type"]} AS journey_type, action,
           {labels["device_type"]} AS device_type,
           {labels["error_code"]} AS error_code,
           {labels["error_message"]} AS error_message,
           {after_delivery_sql("event_at", "timestamp")} AS {RULE_REASON}
    FROM kept {labels.joins}
    ORDER BY date, source_file, line_number
    """


def silver_calls_sql(typed: str) -> str:
    """The day's calls, the IVR path masked. A call_id delivered again (that day or on a
    later one) was already rejected while typing: the call spec's key is unique across
    days, as a call happened once and a later export repeating it would count it twice."""
    labels = MaskedLabels("kept", ("ivr_path", "call_reason", "resolution_status"))
    return f"""
    WITH kept AS (SELECT * FROM {typed} WHERE reject_reason IS NULL),
         {labels.table}
    SELECT {LINEAGE}, call_id, member_id, called_at,
           {labels["ivr_path"]} AS ivr_path, handle_time_seconds, agent_id,
           {labels["call_reason"]} AS call_reason, sentiment_score,
           {labels["resolution_status"]} AS resolution_status,
           {after_delivery_sql("called_at", "call_timestamp")} AS {RULE_REASON}
    FROM kept {labels.joins}
    ORDER BY date, source_file, line_number
    """


def silver_member_versions_sql(typed: str, rules: DigitalRules = DEFAULT_RULES) -> str:
    labels = MaskedLabels("kept", ("plan_type", "segment", "language_preference"))
    return f"""
    WITH kept AS (SELECT * FROM {typed} WHERE reject_reason IS NULL),
         {labels.table}
    SELECT {LINEAGE}, member_id, {labels["plan_type"]} AS plan_type, tenure_months,
           {labels["segment"]} AS segment,
           {labels["language_preference"]} AS language_preference, enrollment_date,
           {member_category_sql("kept.plan_type", "tenure_months", rules)} AS member_category
    FROM kept {labels.joins}
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
