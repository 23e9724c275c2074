"""Pandera models of every support silver and gold table.

Column descriptions are what the Dagster UI shows; the checks are the invariants a row must
satisfy (a silver row that fails is quarantined, a gold row that fails stops the run).
Customers' names never leave bronze; their e-mail addresses and phone numbers become keyed
hashes; ticket subjects and descriptions have addresses, numbers and customers' names masked.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.lakehouse.schemas import DERIVED_FROM, OPAQUE_ID, UTC_TIMESTAMP, LakeModel, Lineage
from cx_assets.support.rules import CHANNELS, PRIORITIES, SEGMENTS, STATUSES

# How a quarantine reason names the ticket's table-wide rule (Pandera takes a check's
# `error` as its name in a failure): the rule, and the fields it compares.
EVENTS_NOT_BEFORE_CREATION = (
    "events_not_before_creation (first_response_at and resolved_at not before created_at)"
)

# --------------------------------------------------------------------------- silver


class _TicketFields(LakeModel):
    ticket_id: Series[str] = pa.Field(str_matches=OPAQUE_ID, description="`ticket_id`.")
    customer_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID, description="`customer_id` of the customer who wrote (an opaque id)."
    )
    agent_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID,
        nullable=True,
        description="`agent_id` (an opaque staff id); null: unassigned.",
    )
    created_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="`created_at` (UTC; no offset means UTC)."
    )
    first_response_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, nullable=True, description="`first_response_at`; null: not yet."
    )
    resolved_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, nullable=True, description="`resolved_at`; null: not yet."
    )
    status: Series[str] = pa.Field(
        isin=list(STATUSES), description="open, pending (both open), resolved or closed."
    )
    priority: Series[str] = pa.Field(
        isin=list(PRIORITIES), description="urgent, high, medium or low."
    )
    channel: Series[str] = pa.Field(isin=list(CHANNELS), description="email, phone, chat, web.")
    category: Series[str] = pa.Field(nullable=True, description="`category` as delivered.")
    subject: Series[str] = pa.Field(
        description="`subject`, e-mail addresses, phone numbers and customers' names masked."
    )
    description: Series[str] = pa.Field(
        description="`description`, e-mail addresses, phone numbers and customers' names masked."
    )
    csat_score: Series[pd.Int64Dtype] = pa.Field(
        ge=1, le=5, nullable=True, description="`csat_score` 1..5; null: not given."
    )

    @pa.dataframe_check(name="events_not_before_creation", error=EVENTS_NOT_BEFORE_CREATION)
    def events_not_before_creation(cls, frame: pd.DataFrame) -> pd.Series:
        """A first response or resolution before the ticket was created is a bad record."""
        created = frame["created_at"]
        return (frame["first_response_at"].isna() | (frame["first_response_at"] >= created)) & (
            frame["resolved_at"].isna() | (frame["resolved_at"] >= created)
        )


class SilverTicketVersion(Lineage, _TicketFields):
    """Every delivered version of a ticket; the latest wins downstream."""


class CurrentTicket(_TicketFields):
    ticket_id: Series[str] = pa.Field(unique=True, description="`ticket_id`.")
    version_date: Series[Date] = pa.Field(description="Day the winning version was delivered.")


class _AgentFields(LakeModel):
    agent_id: Series[str] = pa.Field(
        str_matches=OPAQUE_ID, description="`agent_id` (an opaque staff id)."
    )
    name: Series[str] = pa.Field(description="The agent's name (staff names may appear).")
    team: Series[str] = pa.Field(
        nullable=True, description="`team`, e-mail addresses and phone numbers masked."
    )
    skills: Series[str] = pa.Field(
        nullable=True,
        description="`skills`: the categories the agent takes, `;`-separated, each trimmed and "
        "with e-mail addresses and phone numbers masked on its own, as a ticket's category.",
    )
    hire_date: Series[Date] = pa.Field(nullable=True, description="`hire_date`.")
    max_open_tickets: Series[int] = pa.Field(
        ge=0, description="`max_open_tickets`: open tickets the agent may hold at once."
    )


class SilverAgentVersion(Lineage, _AgentFields):
    """Every delivered version of an agent."""


class CurrentAgent(_AgentFields):
    agent_id: Series[str] = pa.Field(unique=True, description="`agent_id` (staff).")
    version_date: Series[Date] = pa.Field(description="Day the winning version was delivered.")


class _CustomerFields(LakeModel):
    customer_id: Series[str] = pa.Field(str_matches=OPAQUE_ID, description="`customer_id`.")
    email_hash: Series[str] = pa.Field(
        metadata={DERIVED_FROM: "email"},
        nullable=True,
        description="HMAC-SHA256 of the e-mail (trimmed, lower case), keyed with CX_HASH_KEY.",
    )
    phone_hash: Series[str] = pa.Field(
        metadata={DERIVED_FROM: "phone"},
        nullable=True,
        description="HMAC-SHA256 of the phone number's digits, keyed with CX_HASH_KEY.",
    )
    plan: Series[str] = pa.Field(nullable=True, description="`plan`.")
    region: Series[str] = pa.Field(nullable=True, description="`region`.")
    signup_date: Series[Date] = pa.Field(nullable=True, description="`signup_date`.")


class SilverCustomerVersion(Lineage, _CustomerFields):
    """Every delivered version of a customer; the name is dropped."""


class CurrentCustomer(_CustomerFields):
    customer_id: Series[str] = pa.Field(unique=True, description="`customer_id`.")
    version_date: Series[Date] = pa.Field(description="Day the winning version was delivered.")


class Delivery(LakeModel):
    date: Series[Date] = pa.Field(description="A materialized support day.")
    ticket_versions: Series[int] = pa.Field(ge=0, description="Ticket records kept that day.")
    agent_versions: Series[int] = pa.Field(ge=0, description="Agent records kept that day.")
    customer_versions: Series[int] = pa.Field(ge=0, description="Customer records kept that day.")


# --------------------------------------------------------------------------- gold


class TicketAnalytics(LakeModel):
    date: Series[Date] = pa.Field(description="UTC day the ticket was created.")
    ticket_id: Series[str] = pa.Field(description="The ticket, once, in its latest version.")
    customer_id: Series[str] = pa.Field(description="Its customer.")
    agent_id: Series[str] = pa.Field(nullable=True, description="Its agent; null: unassigned.")
    priority: Series[str] = pa.Field(isin=list(PRIORITIES), description="Priority.")
    channel: Series[str] = pa.Field(isin=list(CHANNELS), description="Channel.")
    category: Series[str] = pa.Field(nullable=True, description="Category as delivered.")
    status: Series[str] = pa.Field(isin=list(STATUSES), description="Status.")
    created_at: Series[pd.DatetimeTZDtype] = pa.Field(**UTC_TIMESTAMP, description="Created.")
    first_response_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, nullable=True, description="First response; null: none yet."
    )
    resolved_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, nullable=True, description="Resolved; null: not yet."
    )
    first_response_minutes: Series[float] = pa.Field(
        ge=0, nullable=True, description="Calendar minutes from creation to first response."
    )
    resolution_minutes: Series[float] = pa.Field(
        ge=0, nullable=True, description="Calendar minutes from creation to resolution."
    )
    first_response_target_minutes: Series[int] = pa.Field(
        gt=0, description="First-response target of the priority (urgent 60 … low 1440)."
    )
    resolution_target_minutes: Series[int] = pa.Field(
        gt=0, description="Resolution target of the priority (urgent 240 … low 4320)."
    )
    first_response_breached: Series[bool] = pa.Field(
        description="The first response came after its target, or has not come and the "
        "target lies before the as-of time."
    )
    resolution_breached: Series[bool] = pa.Field(
        description="The same rule for the resolution target."
    )
    csat_score: Series[pd.Int64Dtype] = pa.Field(
        ge=1, le=5, nullable=True, description="CSAT 1..5; null: not given."
    )


class AgentDaily(LakeModel):
    date: Series[Date] = pa.Field(description="UTC day the tickets were created.")
    agent_id: Series[str] = pa.Field(description="The agent.")
    agent_name: Series[str] = pa.Field(
        nullable=True, description="Latest name of the agent; null when never delivered."
    )
    team: Series[str] = pa.Field(
        nullable=True, description="Latest team of the agent (e-mails and phones masked)."
    )
    tickets_handled: Series[int] = pa.Field(ge=1, description="The agent's tickets that day.")
    tickets_resolved: Series[int] = pa.Field(ge=0, description="Of those, with a resolved_at.")
    mean_first_response_minutes: Series[float] = pa.Field(
        ge=0, nullable=True, description="Mean over those with a first response."
    )
    mean_resolution_hours: Series[float] = pa.Field(
        ge=0, nullable=True, description="Mean over the resolved ones, in hours."
    )
    sla_breaches: Series[int] = pa.Field(ge=0, description="Tickets with either target breached.")
    mean_csat: Series[float] = pa.Field(
        ge=1, le=5, nullable=True, description="Mean CSAT over those with one."
    )


class CustomerInsights(LakeModel):
    customer_id: Series[str] = pa.Field(unique=True, description="A customer with a ticket.")
    plan: Series[str] = pa.Field(nullable=True, description="Latest plan of the customer.")
    region: Series[str] = pa.Field(nullable=True, description="Latest region.")
    tickets: Series[int] = pa.Field(ge=1, description="Tickets, all history.")
    mean_csat: Series[float] = pa.Field(
        ge=1, le=5, nullable=True, description="Mean CSAT over tickets with one."
    )
    breach_share: Series[float] = pa.Field(
        ge=0, le=1, description="Tickets with either target breached ÷ tickets."
    )
    segment: Series[str] = pa.Field(
        isin=list(SEGMENTS),
        description="First that matches: at_risk (breach_share ≥ 0.5 or mean_csat ≤ 2), "
        "high_effort (in the top 10% of customers by tickets, 3 or more), delighted "
        "(mean_csat ≥ 4.5, no breach), steady.",
    )


class VolumeForecast(LakeModel):
    date: Series[Date] = pa.Field(description="A forecast day, 1..14 days after the as-of day.")
    category: Series[str] = pa.Field(description="A category (delivered, else predicted), or all.")
    forecast: Series[float] = pa.Field(ge=0, description="Tickets expected to be created.")
    lo_80: Series[float] = pa.Field(ge=0, description="80% interval, low (clipped at 0).")
    hi_80: Series[float] = pa.Field(ge=0, description="80% interval, high.")
    lo_95: Series[float] = pa.Field(ge=0, description="95% interval, low (clipped at 0).")
    hi_95: Series[float] = pa.Field(ge=0, description="95% interval, high.")
    model: Series[str] = pa.Field(description="The model chosen for the series by backtest.")
    backtest_mase: Series[float] = pa.Field(
        nullable=True, description="The chosen model's MASE in the backtest; null: none run."
    )
    baseline_mase: Series[float] = pa.Field(
        nullable=True, description="SeasonalNaive(7)'s MASE in the same backtest."
    )


class TicketCategory(LakeModel):
    date: Series[Date] = pa.Field(description="UTC day the ticket was created.")
    ticket_id: Series[str] = pa.Field(description="A ticket delivered without a category.")
    predicted_category: Series[str] = pa.Field(
        nullable=True, description="The classifier's category; null: no model yet."
    )
    confidence: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="Calibrated probability of that category."
    )
    needs_review: Series[bool] = pa.Field(
        description="Confidence under the review threshold (default 0.6), or no prediction."
    )


class AssignmentPlan(LakeModel):
    ticket_id: Series[str] = pa.Field(unique=True, description="An open ticket without agent.")
    priority: Series[str] = pa.Field(isin=list(PRIORITIES), description="Its priority.")
    category: Series[str] = pa.Field(
        nullable=True, description="Category as delivered, else predicted."
    )
    agent_id: Series[str] = pa.Field(
        nullable=True, description="The agent to take it; null when no agent can."
    )
    reason: Series[str] = pa.Field(
        nullable=True, description="Why no agent was planned (null when one was)."
    )
