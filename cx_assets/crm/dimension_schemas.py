"""Pandera models of the CRM dimensions (`crm_managers`, `crm_companies`).

Names here are staff names and companies' names, which the contract allows in gold; people's
names never reach these tables (a company's row takes its name only from a company contact).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.crm.company_rules import SEGMENTS
from cx_assets.lakehouse.schemas import LakeModel

TIERS = ["high", "low"]


class Manager(LakeModel):
    owner_id: Series[int] = pa.Field(
        unique=True, description="Manager: the CRM user `Id` (`OwnerId` in the other tables)."
    )
    name: Series[str] = pa.Field(
        nullable=True, description="Staff name, from the user's latest version."
    )
    version_date: Series[Date] = pa.Field(description="Day the latest version was delivered.")


class Company(LakeModel):
    company_id: Series[int] = pa.Field(unique=True, description="Company: its contact `Id`.")
    name: Series[str] = pa.Field(
        nullable=True,
        description="Company `Name` from its latest version (e-mails and phones masked); null "
        "for a company known only as a person's `CompanyId`.",
    )
    owner_id: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, description="Account manager (`OwnerId`) of the latest version."
    )
    segment: Series[str] = pa.Field(
        isin=[name for name, _, _ in SEGMENTS],
        description="Value × engagement segment, as in crm_segmentation_matrix.",
    )
    value_tier: Series[str] = pa.Field(
        isin=TIERS, description="Won deal value at or above the median of companies that won."
    )
    engagement_tier: Series[str] = pa.Field(
        isin=TIERS, description="90-day valid interactions at or above the median of engaged ones."
    )
    won_amount: Series[float] = pa.Field(ge=0, description="Sum of its won deals' Amount.")
    interactions_90d: Series[int] = pa.Field(
        ge=0, description="Its valid interactions in the 90 days to as_of_date."
    )
    version_date: Series[Date] = pa.Field(
        nullable=True, description="Day its latest version was delivered; null if never."
    )
    as_of_date: Series[Date] = pa.Field(
        nullable=True,
        description="Latest materialized day of silver interactions (a day without files counts).",
    )
