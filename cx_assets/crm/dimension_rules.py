"""SQL of the CRM dimensions (contract section 4.1: `crm_managers`, `crm_companies`): who a
manager is and what a company is called, so pages and BI tools show names, not ids.

The segment of a company is the segmentation's own rule: `company_rules.company_segments_sql`
shares its tiers with `company_rules.segmentation_sql` (documented in docs/crm.md).
"""

from __future__ import annotations

from datetime import date

from cx_assets.crm import company_rules
from cx_assets.crm.rules import DEFAULT_RULES, CrmRules


def managers_sql(current_users: str) -> str:
    """Every CRM user (managers are users), with the name of its latest version."""
    return f"""
    SELECT user_id AS owner_id, name, version_date
    FROM {current_users}
    ORDER BY owner_id
    """


def companies_sql(
    interactions: str,
    current_contacts: str,
    current_deals: str,
    rules: CrmRules = DEFAULT_RULES,
    as_of_day: date | None = None,
) -> str:
    """Every company the segmentation counts, with the name and manager of its latest version
    (null for a company known only as a person's `CompanyId`) and its segment."""
    return f"""
    WITH segmented AS (
        {
        company_rules.company_segments_sql(
            interactions, current_contacts, current_deals, rules, as_of_day
        )
    }
    ),
    named AS (
        SELECT contact_id AS company_id, company_name AS name, owner_id, version_date
        FROM {current_contacts} WHERE contact_type = 'company'
    )
    SELECT s.company_id, n.name, n.owner_id, s.segment, s.value_tier, s.engagement_tier,
           s.won_amount, s.interactions_90d, n.version_date, s.as_of_date
    FROM segmented s LEFT JOIN named n USING (company_id)
    ORDER BY s.company_id
    """
