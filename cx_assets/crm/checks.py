"""CRM asset checks: the machinery's builders applied to CRM tables, plus the CRM bands."""

from cx_assets.crm import assets
from cx_assets.crm.rules import DEFAULT_RULES
from cx_assets.lakehouse.checks import (
    landing_checks,
    ratio_band_check,
    row_count_check,
    unique_key_check,
)

NOISE_RATIO = "noise_ratio_in_band"
RESOLVED_LINKAGE_SHARE = "resolved_linkage_share"

landed_table_checks = landing_checks(
    assets.SOURCE,
    {
        "interactions": "crm_interactions",
        "contacts": "crm_contact_versions",
        "deals": "crm_deal_versions",
        "users": "crm_user_versions",
    },
)

key_checks = [
    unique_key_check(["silver", "crm_interactions"], ["interaction_id"]),
    unique_key_check(["silver", "crm_contacts"], ["contact_id"], partitioned=False),
    unique_key_check(["silver", "crm_deals"], ["deal_id"], partitioned=False),
    unique_key_check(["silver", "crm_users"], ["user_id"], partitioned=False),
    unique_key_check(["gold", "crm_noise_summary"], ["category"]),
    unique_key_check(["gold", "crm_friction_heuristics"], ["interaction_id"]),
    unique_key_check(["gold", "crm_contact_linkage"], []),
    unique_key_check(["gold", "crm_cx_volumetrics"], ["owner_id", "company_id"], partitioned=False),
    unique_key_check(["gold", "crm_sales_velocity"], ["owner_id"], partitioned=False),
    unique_key_check(["gold", "crm_churn_risk"], ["company_id"], partitioned=False),
    unique_key_check(["gold", "crm_segmentation_matrix"], ["segment"], partitioned=False),
    row_count_check(["gold", "crm_temporal_heat"], expected=168),
]

noise_low, noise_high = DEFAULT_RULES.noise_ratio_band
band_checks = [
    ratio_band_check(
        ["gold", "crm_noise_summary"],
        name=NOISE_RATIO,
        ratio_sql="SELECT date, pct / 100.0 AS ratio FROM gold.crm_noise_summary "
        "WHERE category = 'noise_total' AND {days}",
        low=noise_low,
        high=noise_high,
        description="Share of a day's interactions that are system noise.",
    ),
    ratio_band_check(
        ["gold", "crm_contact_linkage"],
        name=RESOLVED_LINKAGE_SHARE,
        ratio_sql="SELECT date, direct_share + via_person_share AS ratio "
        "FROM gold.crm_contact_linkage WHERE {days}",
        low=DEFAULT_RULES.min_resolved_linkage_share,
        high=1.0,
        description="Share of a day's interactions resolved to a company (directly or via a person).",
    ),
]

all_checks = [*landed_table_checks, *key_checks, *band_checks]
