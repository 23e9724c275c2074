"""The SQL of the calls tables (contract section 4.2): silver transcripts from the typed
records joined to the features `rules.call_features` scores, and the gold aggregations per
call, per agent and day, and per day. No Dagster."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from operator import attrgetter

import duckdb
import pandas as pd

from cx_assets.calls.rules import DEFAULT_RULES, CallsRules, call_features
from cx_assets.lakehouse import sql
from cx_assets.lakehouse.parsing import MAX_MONEY, after_delivery_sql
from cx_assets.lakehouse.privacy import staff_name_holding_contacts_sql
from cx_assets.lakehouse.steps import RULE_REASON

# The features' SQL types. Silver casts the frame's columns to them: pandas infers nothing
# for an empty frame, or a column of only nulls (a day without a conversion), and DuckDB
# would then see NULL-typed columns that the silver model's checks cannot be run on in SQL.
FEATURE_TYPES = {
    "converted": "BOOLEAN",
    "conversion_phrase": "VARCHAR",
    "upsell_sentence_count": "BIGINT",
    "upsell_amount_count": "BIGINT",
    "upsell_amount": "DOUBLE",
    "upsell_without_amount": "BOOLEAN",
    "positive_word_count": "BIGINT",
    "negative_word_count": "BIGINT",
    "sentiment": "VARCHAR",
    "sentiment_score": "DOUBLE",
}
FEATURE_COLUMNS = tuple(FEATURE_TYPES)
FEATURES_VIEW = "transcript_features"
_UPSELL_TOO_LARGE = sql.string_literal(
    'the upsell amounts of field "transcript_text" sum above 1e12 (a trillion)'
)


def transcript_features(
    con: duckdb.DuckDBPyConnection, typed: str, rules: CallsRules = DEFAULT_RULES
) -> pd.DataFrame:
    """The features of every good transcript in `typed`, keyed by (source_file, line_number).

    Scored in Python (`call_features`) rather than as a DuckDB Python UDF: a UDF outlives
    the cursor that registered it in a shared database and crashes when called later, and
    a day is ~5,000 transcripts, well within pandas' reach.
    """
    texts = con.execute(
        f"SELECT source_file, line_number, transcript_text FROM {typed} WHERE reject_reason IS NULL"
    ).df()
    # Rows as tuples: `dataclasses.asdict` deep-copies every field (~15 µs a call).
    as_row = attrgetter(*FEATURE_COLUMNS)
    features = pd.DataFrame(
        [as_row(call_features(text, rules)) for text in texts["transcript_text"]],
        columns=list(FEATURE_COLUMNS),
    )
    return pd.concat([texts[["source_file", "line_number"]], features], axis=1)


def silver_transcripts_sql(typed: str, features: str = FEATURES_VIEW) -> str:
    """Silver calls from the good typed records of `typed` joined to their `features`
    (see `transcript_features`).

    `agent_name` and `customer_id` are trimmed (an empty one fails validation and is
    quarantined; a `call_id` with spaces around it fails its pattern); the transcript
    itself is scored and dropped: only its features reach silver. A call timed after the
    day after its file's day is a bad record (`after_delivery_sql`), and so is one whose
    `agent_name` holds an e-mail address or phone number
    (`privacy.staff_name_holding_contacts_sql`), and one whose upsell amounts sum above a
    trillion dollars (`parsing.MAX_MONEY`: `$` and 400 nines is no finite float64, and
    infinity reached gold).
    """
    columns = ",\n".join(
        f"CAST(f.{name} AS {kind}) AS {name}" for name, kind in FEATURE_TYPES.items()
    )
    return f"""
    SELECT t.date, t.source_file, t.line_number,
           t.call_id,
           nullif({sql.stripped("t.agent_name")}, '') AS agent_name,
           nullif({sql.stripped("t.customer_id")}, '') AS customer_id,
           t.called_at, t.duration_seconds,
           {columns},
           coalesce({after_delivery_sql("t.called_at", "timestamp", "t.date")},
                    {staff_name_holding_contacts_sql("t.agent_name", "agent_name")},
                    CASE WHEN f.upsell_amount > {MAX_MONEY:.0f} THEN {_UPSELL_TOO_LARGE} END)
               AS {RULE_REASON}
    FROM {typed} t JOIN {features} f USING (source_file, line_number)
    WHERE t.reject_reason IS NULL
    ORDER BY t.date, t.source_file, t.line_number
    """


def performance_sql(transcripts: str) -> str:
    return f"""
    SELECT date, call_id, agent_name, called_at, converted, upsell_amount,
           sentiment, sentiment_score
    FROM {transcripts}
    ORDER BY date, called_at, call_id
    """


def agent_daily_sql(performance: str) -> str:
    """One row per agent with calls that day; `avg_upsell_per_call` divides by all calls."""
    revenue = sql.float_sum("upsell_amount")
    return f"""
    SELECT date, agent_name,
           count(*) AS calls,
           count(*) FILTER (WHERE converted) AS conversions,
           count(*) FILTER (WHERE converted) / nullif(count(*), 0) AS conversion_rate,
           {revenue} AS upsell_revenue,
           {revenue} / nullif(count(*), 0) AS avg_upsell_per_call,
           count(*) FILTER (WHERE sentiment = 'positive') AS positive_calls,
           count(*) FILTER (WHERE sentiment = 'neutral') AS neutral_calls,
           count(*) FILTER (WHERE sentiment = 'negative') AS negative_calls
    FROM {performance}
    GROUP BY date, agent_name
    ORDER BY date, agent_name
    """


def kpis_daily_sql(performance: str, days: Sequence[date]) -> str:
    """Exactly one row per day, empty days included (0 calls, null rates, 0.0 revenue)."""
    revenue = sql.float_sum("p.upsell_amount")
    return f"""
    SELECT d.date,
           count(p.call_id) AS total_calls,
           count(p.call_id) FILTER (WHERE p.converted) / nullif(count(p.call_id), 0)
               AS conversion_rate,
           coalesce({revenue}, 0.0) AS total_upsell_revenue,
           {revenue} / nullif(count(p.call_id), 0) AS avg_upsell_per_call
    FROM {sql.days_relation(days)} AS d LEFT JOIN {performance} AS p ON p.date = d.date
    GROUP BY d.date
    ORDER BY d.date
    """
