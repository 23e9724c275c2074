"""Pandera models of the calls silver and gold tables.

Column descriptions are what the Dagster UI shows; the checks are the invariants a row
must satisfy (a silver row that fails is quarantined, a gold row that fails stops the run).
No model carries a customer's name, e-mail address or phone number (contract section 5):
`customer_id` is an opaque id, and the transcript text stays in bronze (it may mention a
customer by name); silver keeps only what the rules derived from it.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.calls.rules import SENTIMENTS
from cx_assets.lakehouse.parsing import MAX_MONEY
from cx_assets.lakehouse.schemas import DERIVED_FROM, OPAQUE_ID, UTC_TIMESTAMP, LakeModel, Lineage

# --------------------------------------------------------------------------- silver


class SilverTranscript(Lineage):
    call_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID,
        description="`call_id`; unique over all days (a repeat, that day or later, is "
        "quarantined naming its first delivery).",
    )
    agent_name: Series[str] = pa.Field(
        description="`agent_name`, trimmed: the company's own agent (staff names may appear)."
    )
    customer_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID,
        description="`customer_id`, trimmed, kept as delivered: an opaque id (never a name, "
        "e-mail or phone; a value holding `@`, `+`, whitespace or a parenthesis is quarantined).",
    )
    called_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="`timestamp` in UTC (no offset in the source = UTC)."
    )
    duration_seconds: Series[pd.Int64Dtype] = pa.Field(
        ge=0, nullable=True, description="`duration_seconds`; optional, null when not sent."
    )
    converted: Series[bool] = pa.Field(
        description="The cleaned transcript contains a configured conversion phrase."
    )
    conversion_phrase: Series[str] = pa.Field(
        metadata={DERIVED_FROM: "transcript_text"},
        nullable=True,
        description="The configured conversion phrase found first, if any.",
    )
    upsell_sentence_count: Series[int] = pa.Field(
        ge=0, description="Sentences holding an upsell word (whole word)."
    )
    upsell_amount_count: Series[int] = pa.Field(
        ge=0, description="Dollar amounts in those sentences."
    )
    upsell_amount: Series[float] = pa.Field(
        ge=0,
        le=MAX_MONEY,
        description="Sum of those amounts (source currency); 0.0 when there is none.",
    )
    upsell_without_amount: Series[bool] = pa.Field(
        description="An upsell word was said but no dollar amount could be parsed in any "
        "upsell sentence (e.g. `about fifty dollars more`)."
    )
    positive_word_count: Series[int] = pa.Field(
        ge=0, description="Occurrences of positive lexicon words (whole words)."
    )
    negative_word_count: Series[int] = pa.Field(
        ge=0, description="Occurrences of negative lexicon words (negations never count)."
    )
    sentiment: Series[str] = pa.Field(
        isin=list(SENTIMENTS), description="positive / negative by the larger count, else neutral."
    )
    sentiment_score: Series[float] = pa.Field(
        ge=-1, le=1, description="(positive − negative) ÷ (positive + negative); 0 when both are 0."
    )


# --------------------------------------------------------------------------- gold


class CallPerformance(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day (the landing date folder).")
    call_id: Series[str] = pa.Field(description="The call.")
    agent_name: Series[str] = pa.Field(description="Its agent.")
    called_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="When the call happened (UTC)."
    )
    converted: Series[bool] = pa.Field(
        description="The cleaned transcript contains a configured conversion phrase."
    )
    upsell_amount: Series[float] = pa.Field(
        ge=0,
        le=MAX_MONEY,
        description="Sum of dollar amounts in sentences that also hold an upsell word; 0.0 "
        "when there is none.",
    )
    sentiment: Series[str] = pa.Field(
        isin=list(SENTIMENTS),
        description="positive when positive words outnumber negative ones, negative when the "
        "reverse, else neutral.",
    )
    sentiment_score: Series[float] = pa.Field(
        ge=-1, le=1, description="(positive − negative) ÷ (positive + negative); 0 when both are 0."
    )


class AgentDaily(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day.")
    agent_name: Series[str] = pa.Field(description="The agent.")
    calls: Series[int] = pa.Field(ge=1, description="The agent's calls that day.")
    conversions: Series[int] = pa.Field(ge=0, description="Of those, converted calls.")
    conversion_rate: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="conversions ÷ calls (0-1)."
    )
    upsell_revenue: Series[float] = pa.Field(ge=0, description="Sum of upsell_amount.")
    avg_upsell_per_call: Series[float] = pa.Field(
        ge=0,
        nullable=True,
        description="upsell_revenue ÷ all the agent's calls (not only upsells).",
    )
    positive_calls: Series[int] = pa.Field(ge=0, description="Calls with positive sentiment.")
    neutral_calls: Series[int] = pa.Field(ge=0, description="Calls with neutral sentiment.")
    negative_calls: Series[int] = pa.Field(ge=0, description="Calls with negative sentiment.")


class KpisDaily(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day; one row a day, empty days included.")
    total_calls: Series[int] = pa.Field(ge=0, description="Calls that day.")
    conversion_rate: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="Converted ÷ all calls (0-1); null with no calls."
    )
    total_upsell_revenue: Series[float] = pa.Field(
        ge=0, description="Sum of upsell_amount; 0.0 with no calls."
    )
    avg_upsell_per_call: Series[float] = pa.Field(
        ge=0, nullable=True, description="total_upsell_revenue ÷ all calls; null with no calls."
    )
