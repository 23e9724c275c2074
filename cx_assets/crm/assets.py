"""CRM friction: bronze (as landed) → silver (typed, noise-flagged, linked; `silver.py`) →
gold (contract section 4.1), this module. One function per table; the rules are SQL in
`rules.py` and its siblings.

Which view of a contact each table uses: `crm_interactions` resolves a person's company as
of the interaction's day (the versions delivered up to that day, read through `all_days`
and filtered in SQL), and the per-day gold tables use that resolution. Whole-history tables
(volumetrics, churn risk, segmentation) resolve it again through the latest version of each
contact (`rules.with_current_company_sql`), as the contract computes them as of the latest
materialized date.
"""

import pandas as pd
from dagster import AssetExecutionContext, Output

from cx_assets.crm import company_rules, gold_rules, plots, rules, schemas
from cx_assets.crm.rules import DEFAULT_RULES
from cx_assets.crm.silver import (
    GROUP,
    crm_contacts,
    crm_deals,
    crm_interactions,
    crm_users,
    latest_materialized_day,
)
from cx_assets.lakehouse.assets import Band, lake_asset
from cx_assets.lakehouse.derived import query_validated
from cx_assets.lakehouse.inputs import all_days, same_day, whole_table
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.warehouse import Warehouse

# Check names (band checks are named by their declaration).
NOISE_RATIO = "noise_ratio_in_band"
RESOLVED_LINKAGE_SHARE = "resolved_linkage_share"


# --------------------------------------------------------------------------- gold, per day

noise_low, noise_high = DEFAULT_RULES.noise_ratio_band


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.NoiseSummary,
    grain=["category"],
    bands=[
        Band(
            name=NOISE_RATIO,
            ratio_sql="SELECT date, pct / 100.0 AS ratio FROM {table} "
            "WHERE category = 'noise_total' AND {days}",
            low=noise_low,
            high=noise_high,
            description="Share of a day's interactions that are system noise.",
        )
    ],
    ins={"interactions": same_day(crm_interactions)},
)
def crm_noise_summary(
    context: AssetExecutionContext, warehouse: Warehouse, interactions: TableRef
) -> pd.DataFrame:
    """Per day: interactions by noise rule, all noise, and valid, with their share."""
    return query_validated(
        warehouse,
        gold_rules.noise_summary_sql(interactions.rows, partition_dates(context)),
        schemas.NoiseSummary,
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.FrictionHeuristic,
    grain=["interaction_id"],
    ins={"interactions": same_day(crm_interactions)},
)
def crm_friction_heuristics(warehouse: Warehouse, interactions: TableRef) -> pd.DataFrame:
    """Per day: every valid interaction with urgency, failure or escalation words."""
    return query_validated(
        warehouse, gold_rules.friction_heuristics_sql(interactions.rows), schemas.FrictionHeuristic
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.ContactLinkage,
    grain=[],
    bands=[
        Band(
            name=RESOLVED_LINKAGE_SHARE,
            ratio_sql="SELECT date, direct_share + via_person_share AS ratio "
            "FROM {table} WHERE {days}",
            low=DEFAULT_RULES.min_resolved_linkage_share,
            high=1.0,
            description="Share of a day's interactions resolved to a company (directly or "
            "via a person).",
        )
    ],
    ins={"interactions": same_day(crm_interactions)},
)
def crm_contact_linkage(
    context: AssetExecutionContext, warehouse: Warehouse, interactions: TableRef
) -> pd.DataFrame:
    """Per day: how interactions (noise included) resolve to a company."""
    return query_validated(
        warehouse,
        gold_rules.contact_linkage_sql(interactions.rows, partition_dates(context)),
        schemas.ContactLinkage,
    )


# --------------------------------------------------------------------------- gold, whole history


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.CxVolumetrics,
    partitioned=False,
    grain=["owner_id", "company_id"],
    ins={
        "interactions": all_days(crm_interactions),
        "contacts": whole_table(crm_contacts),
        "deals": whole_table(crm_deals),
    },
)
def crm_cx_volumetrics(
    warehouse: Warehouse, interactions: TableRef, contacts: TableRef, deals: TableRef
) -> pd.DataFrame:
    """Manager × company, all history: volume, velocity, load, neediness, long threads. The
    company of an interaction is the one its contact has in its latest version."""
    resolved = rules.with_current_company_sql(interactions.rows, contacts.rows)
    return query_validated(
        warehouse, gold_rules.cx_volumetrics_sql(resolved, deals.rows), schemas.CxVolumetrics
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.TemporalHeat,
    partitioned=False,
    grain=["day_of_week", "hour"],
    row_count=168,
    ins={"interactions": all_days(crm_interactions)},
)
def crm_temporal_heat(warehouse: Warehouse, interactions: TableRef) -> Output[pd.DataFrame]:
    """Day of week × local hour (America/Sao_Paulo), all history: 168 rows."""
    heat = query_validated(
        warehouse, gold_rules.temporal_heat_sql(interactions.rows), schemas.TemporalHeat
    )
    return Output(heat, metadata=plots.temporal_heat_metadata(heat))


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.SalesVelocity,
    partitioned=False,
    grain=["owner_id"],
    ins={"deals": whole_table(crm_deals), "users": whole_table(crm_users)},
)
def crm_sales_velocity(warehouse: Warehouse, deals: TableRef, users: TableRef) -> pd.DataFrame:
    """Per manager: open deals, win rate, won amount, cycle and sales velocity."""
    return query_validated(
        warehouse, gold_rules.sales_velocity_sql(deals.rows, users.rows), schemas.SalesVelocity
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.ChurnRisk,
    partitioned=False,
    grain=["company_id"],
    ins={
        "interactions": all_days(crm_interactions),
        "contacts": whole_table(crm_contacts),
        "deals": whole_table(crm_deals),
    },
)
def crm_churn_risk(
    warehouse: Warehouse,
    interactions: TableRef,
    contacts: TableRef,
    deals: TableRef,
) -> pd.DataFrame:
    """Per company: 0-100 churn risk from silence, trend, friction and lost deals (companies
    as the latest version of each contact has them), as of the latest materialized day."""
    resolved = rules.with_current_company_sql(interactions.rows, contacts.rows)
    return query_validated(
        warehouse,
        company_rules.churn_risk_sql(
            resolved, contacts.rows, deals.rows, as_of_day=latest_materialized_day(warehouse)
        ),
        schemas.ChurnRisk,
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.SegmentationMatrix,
    partitioned=False,
    grain=["segment"],
    ins={
        "interactions": all_days(crm_interactions),
        "contacts": whole_table(crm_contacts),
        "deals": whole_table(crm_deals),
    },
)
def crm_segmentation_matrix(
    warehouse: Warehouse,
    interactions: TableRef,
    contacts: TableRef,
    deals: TableRef,
) -> pd.DataFrame:
    """Companies by won-deal value × engagement in the 90 days to the latest materialized
    day: four segments (companies as the latest version of each contact has them)."""
    resolved = rules.with_current_company_sql(interactions.rows, contacts.rows)
    return query_validated(
        warehouse,
        company_rules.segmentation_sql(
            resolved, contacts.rows, deals.rows, as_of_day=latest_materialized_day(warehouse)
        ),
        schemas.SegmentationMatrix,
    )
