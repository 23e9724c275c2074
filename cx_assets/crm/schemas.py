"""Pandera models of every CRM silver and gold table.

Column descriptions are what the Dagster UI shows; the checks are the invariants a row
must satisfy (a silver row that fails is quarantined, a gold row that fails stops the run).
No model carries customers' names, e-mail addresses or phone numbers (contract section 5):
silver keeps hashes, gold keeps ids.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.lakehouse.parsing import MAX_MONEY
from cx_assets.lakehouse.schemas import DERIVED_FROM, UTC_TIMESTAMP, LakeModel, Lineage

DIRECTIONS = ["inbound", "outbound"]
NOISE_REASONS = ["read_receipt", "delivery_receipt", "mass_email"]
LINKAGES = ["direct", "via_person", "unresolved"]
DEAL_STATUSES = ["open", "won", "lost"]
NOISE_CATEGORIES = [*NOISE_REASONS, "noise_total", "valid"]
RISK_BANDS = ["low", "medium", "high"]


# --------------------------------------------------------------------------- silver


class SilverInteraction(Lineage):
    interaction_id: Series[int] = pa.Field(
        description="CRM interaction `Id`; unique over all days."
    )
    contact_id: Series[int] = pa.Field(description="`ContactId`: a person or a company.")
    owner_id: Series[int] = pa.Field(description="`OwnerId`: the account manager (a user).")
    occurred_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="`Date`, converted to UTC."
    )
    type_id: Series[int] = pa.Field(description="`TypeId`: the CRM's interaction type.")
    title: Series[str] = pa.Field(
        nullable=True,
        description="`Title` (system titles such as `E-mail recebido.`), people's names, "
        "e-mail addresses and phone numbers masked.",
    )
    deal_id: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="`DealId`, if any.")
    content_bytes: Series[pd.Int64Dtype] = pa.Field(
        ge=1,
        nullable=True,
        metadata={DERIVED_FROM: "content"},
        description="Bytes of `Content` (UTF-8), null when it is missing or empty (the text is "
        "not kept): noise and friction read it, so a day delivered without it is warned of.",
    )
    recipient_count: Series[int] = pa.Field(
        ge=0,
        description="Non-empty, trimmed addresses in `EmailRecipients` (the addresses are not kept).",
    )
    direction: Series[str] = pa.Field(
        isin=DIRECTIONS, nullable=True, description="inbound/outbound for e-mails, null otherwise."
    )
    thread_subject_key: Series[str] = pa.Field(
        nullable=True,
        metadata={DERIVED_FROM: "email_subject"},
        description="Keyed hash (SHA-256 of CX_HASH_KEY and the subject as written, leading "
        "RE:/RES:/FW:/FWD:/ENC: removed, trimmed and lower-cased): with the owner and the "
        "company it identifies a thread. The subject itself is not kept.",
    )
    noise_reason: Series[str] = pa.Field(
        isin=NOISE_REASONS, nullable=True, description="First noise rule that matches, or null."
    )
    is_noise: Series[bool] = pa.Field(description="True when a noise rule matches.")
    urgency_flag: Series[int] = pa.Field(
        isin=[0, 1], description="Urgency words present (valid only)."
    )
    failure_flag: Series[int] = pa.Field(
        isin=[0, 1], description="Failure words present (valid only)."
    )
    escalation_flag: Series[int] = pa.Field(
        isin=[0, 1], description="Escalation words present (valid only)."
    )
    is_friction: Series[bool] = pa.Field(description="A valid interaction with at least one flag.")
    company_id: Series[pd.Int64Dtype] = pa.Field(
        nullable=True,
        description="The company: the contact itself, or a person's company, as of the day.",
    )
    linkage: Series[str] = pa.Field(isin=LINKAGES, description="How the company was resolved.")


class _ContactFields(LakeModel):
    contact_id: Series[int] = pa.Field(description="Contact `Id`.")
    contact_type: Series[str] = pa.Field(
        isin=["person", "company"], description="From `TypeId` 1/2."
    )
    company_id: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, description="A person's `CompanyId`."
    )
    owner_id: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, description="Account manager `OwnerId`."
    )
    company_name: Series[str] = pa.Field(
        metadata={DERIVED_FROM: "name"},
        nullable=True,
        description="`Name` of companies, e-mail addresses and phone numbers masked; null "
        "for people (a person's name is personal data).",
    )
    email_hash: Series[str] = pa.Field(
        metadata={DERIVED_FROM: "email"},
        nullable=True,
        description="HMAC-SHA256 of the trimmed, lower-cased e-mail, keyed with CX_HASH_KEY.",
    )
    phone_hash: Series[str] = pa.Field(
        metadata={DERIVED_FROM: "phone"},
        nullable=True,
        description="HMAC-SHA256 of the phone's digits, keyed with CX_HASH_KEY.",
    )
    created_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, nullable=True, description="`CreateDate` (UTC)."
    )


class _DealFields(LakeModel):
    deal_id: Series[int] = pa.Field(description="Deal `Id`.")
    company_id: Series[int] = pa.Field(description="`ContactId`: the company of the deal.")
    owner_id: Series[int] = pa.Field(description="`OwnerId`: the deal's manager.")
    title: Series[str] = pa.Field(nullable=True, description="Deal `Title`.")
    # The silver rules quarantine an amount out of these bounds with their own reason
    # (`parsing.money_reason_sql`); the model states them too, as the table's schema.
    amount: Series[float] = pa.Field(
        ge=0, le=MAX_MONEY, nullable=True, description="`Amount` in the source currency."
    )
    stage_id: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="`StageId`.")
    status: Series[str] = pa.Field(isin=DEAL_STATUSES, description="From `StatusId` 1/2/3.")
    created_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="`CreateDate` (UTC)."
    )
    finished_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, nullable=True, description="`FinishDate` (UTC)."
    )


class _UserFields(LakeModel):
    user_id: Series[int] = pa.Field(description="User `Id` (account managers are users).")
    name: Series[str] = pa.Field(
        nullable=True, description="Staff name (staff names may appear in gold)."
    )
    email_hash: Series[str] = pa.Field(
        metadata={DERIVED_FROM: "email"},
        nullable=True,
        description="HMAC-SHA256 of the e-mail, keyed with CX_HASH_KEY.",
    )


class SilverContactVersion(Lineage, _ContactFields):
    """Every delivered version of a contact."""


class SilverDealVersion(Lineage, _DealFields):
    """Every delivered version of a deal."""


class SilverUserVersion(Lineage, _UserFields):
    """Every delivered version of a user."""


class _Current(LakeModel):
    version_date: Series[Date] = pa.Field(description="Day the winning version was delivered.")


class CurrentContact(_ContactFields, _Current):
    contact_id: Series[int] = pa.Field(unique=True, description="Contact `Id`.")


class CurrentDeal(_DealFields, _Current):
    deal_id: Series[int] = pa.Field(unique=True, description="Deal `Id`.")


class CurrentUser(_UserFields, _Current):
    user_id: Series[int] = pa.Field(unique=True, description="User `Id`.")


# --------------------------------------------------------------------------- gold


class NoiseSummary(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day.")
    category: Series[str] = pa.Field(
        isin=NOISE_CATEGORIES, description="Noise rule, noise_total or valid."
    )
    count: Series[int] = pa.Field(ge=0, description="Interactions in the category that day.")
    pct: Series[float] = pa.Field(
        ge=0,
        le=100,
        nullable=True,
        description="Share of all that day's interactions, 0-100; null on an empty day.",
    )


class FrictionHeuristic(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day.")
    interaction_id: Series[int] = pa.Field(description="The friction interaction.")
    occurred_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="When it happened (UTC)."
    )
    owner_id: Series[int] = pa.Field(description="Its manager.")
    company_id: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, description="Its company, if resolved."
    )
    urgency_score: Series[int] = pa.Field(isin=[0, 1], description="Urgency words present.")
    failure_score: Series[int] = pa.Field(isin=[0, 1], description="Failure words present.")
    escalation_score: Series[int] = pa.Field(isin=[0, 1], description="Escalation words present.")
    friction_score: Series[int] = pa.Field(ge=1, le=3, description="Sum of the three scores.")


class CxVolumetrics(LakeModel):
    owner_id: Series[int] = pa.Field(description="Manager.")
    company_id: Series[int] = pa.Field(description="Company.")
    total_interactions: Series[int] = pa.Field(
        ge=1, description="Valid interactions of the pair, all history."
    )
    first_interaction_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="First one (UTC)."
    )
    last_interaction_at: Series[pd.DatetimeTZDtype] = pa.Field(
        **UTC_TIMESTAMP, description="Last one (UTC)."
    )
    interaction_velocity: Series[float] = pa.Field(
        gt=0, description="total ÷ max(1, days between first and last ÷ 7): interactions a week."
    )
    manager_load: Series[float] = pa.Field(
        gt=0, description="Mean total_interactions over the manager's companies."
    )
    neediness_ratio: Series[float] = pa.Field(
        nullable=True,
        description="total ÷ sum of the company's deal Amount; null when that is 0 or missing "
        "(or so small the ratio overflows).",
    )
    long_thread_count: Series[int] = pa.Field(
        ge=0,
        description="The pair's e-mail threads with 3 or more inbound/outbound direction changes.",
    )


class TemporalHeat(LakeModel):
    day_of_week: Series[int] = pa.Field(
        ge=0, le=6, description="0 = Monday … 6 = Sunday (America/Sao_Paulo)."
    )
    hour: Series[int] = pa.Field(ge=0, le=23, description="Local hour (America/Sao_Paulo).")
    interaction_count: Series[int] = pa.Field(
        ge=0, description="Valid interactions in the slot, all history."
    )
    friction_count: Series[int] = pa.Field(ge=0, description="Friction interactions in the slot.")
    friday_afternoon_friction_count: Series[int] = pa.Field(
        ge=0, description="friction_count on Friday from 14:00, 0 in other slots."
    )


class ContactLinkage(LakeModel):
    date: Series[Date] = pa.Field(description="Partition day.")
    direct_count: Series[int] = pa.Field(ge=0, description="Interactions on a company contact.")
    via_person_count: Series[int] = pa.Field(ge=0, description="On a person with a company.")
    unresolved_count: Series[int] = pa.Field(
        ge=0, description="On a person without company or an unknown contact."
    )
    direct_share: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="direct ÷ all (0-1)."
    )
    via_person_share: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="via_person ÷ all."
    )
    unresolved_share: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="unresolved ÷ all."
    )


class SalesVelocity(LakeModel):
    owner_id: Series[int] = pa.Field(description="Manager.")
    open_deals: Series[int] = pa.Field(ge=0, description="Deals currently open.")
    win_rate: Series[float] = pa.Field(ge=0, le=1, nullable=True, description="won ÷ (won + lost).")
    avg_won_amount: Series[float] = pa.Field(nullable=True, description="Mean Amount of won deals.")
    avg_cycle_days: Series[float] = pa.Field(
        nullable=True, description="Mean FinishDate − CreateDate of won deals, days."
    )
    velocity_per_day: Series[float] = pa.Field(
        nullable=True, description="open_deals × win_rate × avg_won_amount ÷ avg_cycle_days."
    )


class ChurnRisk(LakeModel):
    company_id: Series[int] = pa.Field(description="Company.")
    churn_risk_score: Series[float] = pa.Field(ge=0, le=100, description="0-100, see docs/crm.md.")
    risk_band: Series[str] = pa.Field(isin=RISK_BANDS, description="low < 30 ≤ medium < 60 ≤ high.")
    days_since_last_healthy_interaction: Series[float] = pa.Field(
        nullable=True,
        description="Days from the last valid non-friction interaction to the end of the as-of day.",
    )
    recency_component: Series[float] = pa.Field(
        ge=0, le=1, description="min(1, silent days ÷ 90); 1 with none."
    )
    trend_component: Series[float] = pa.Field(
        ge=0,
        le=1,
        description="max(0, 1 − recent ÷ earlier peak); 0 without an earlier peak, 1 with no "
        "healthy interaction.",
    )
    friction_share: Series[float] = pa.Field(
        ge=0,
        le=1,
        nullable=True,
        description="Friction ÷ valid interactions; null without valid interactions (0 in the "
        "score).",
    )
    lost_deal_share: Series[float] = pa.Field(
        ge=0,
        le=1,
        nullable=True,
        description="lost ÷ (won + lost) deals; null without a closed deal (0 in the score).",
    )
    recent_healthy_interactions: Series[int] = pa.Field(
        ge=0, description="Healthy interactions in the 30 days up to the end of the as-of day."
    )
    earlier_peak_interactions: Series[int] = pa.Field(
        ge=0,
        description="The most valid interactions in 30 days from any one of them, before "
        "those 30 days.",
    )
    valid_interactions: Series[int] = pa.Field(ge=0, description="Valid interactions, all history.")
    friction_interactions: Series[int] = pa.Field(
        ge=0, description="Friction interactions, all history."
    )
    as_of_date: Series[Date] = pa.Field(
        description="Latest materialized day of silver interactions (a day without files counts)."
    )


class SegmentationMatrix(LakeModel):
    segment: Series[str] = pa.Field(
        isin=["champions", "sleeping_giants", "rising", "dormant"],
        unique=True,
        description="Value × engagement cell.",
    )
    value_tier: Series[str] = pa.Field(
        isin=["high", "low"], description="Won deal value at or above the median."
    )
    engagement_tier: Series[str] = pa.Field(
        isin=["high", "low"], description="90-day interactions at or above the median."
    )
    company_count: Series[int] = pa.Field(ge=0, description="Companies in the cell.")
    total_won_amount: Series[float] = pa.Field(ge=0, description="Sum of their won deal amounts.")
    total_interactions_90d: Series[int] = pa.Field(
        ge=0, description="Their valid interactions in the 90 days to as_of_date."
    )
    value_threshold: Series[float] = pa.Field(
        ge=0, description="Median won amount of companies that won any deal."
    )
    engagement_threshold: Series[float] = pa.Field(
        ge=0, description="Median 90-day interactions of engaged companies."
    )
    as_of_date: Series[Date] = pa.Field(
        nullable=True,
        description="Latest materialized day of silver interactions (a day without files counts).",
    )
