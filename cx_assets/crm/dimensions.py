"""CRM dimensions (contract section 4.1): `crm_managers` and `crm_companies`, so the command
centre and BI tools show a manager's and a company's name rather than an id. Whole-history
tables from the current (latest) versions; a company's segment is the segmentation's rule
applied per company (`dimension_rules`)."""

import pandas as pd

from cx_assets.crm import dimension_rules, dimension_schemas, rules, silver
from cx_assets.crm.silver import GROUP
from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.derived import query_validated
from cx_assets.lakehouse.inputs import all_days, whole_table
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.warehouse import Warehouse


@lake_asset(
    "gold",
    group=GROUP,
    model=dimension_schemas.Manager,
    partitioned=False,
    grain=["owner_id"],
    ins={"users": whole_table(silver.crm_users)},
)
def crm_managers(warehouse: Warehouse, users: TableRef) -> pd.DataFrame:
    """Per manager (every CRM user): the name of the user's latest version."""
    return query_validated(
        warehouse, dimension_rules.managers_sql(users.rows), dimension_schemas.Manager
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=dimension_schemas.Company,
    partitioned=False,
    grain=["company_id"],
    ins={
        "interactions": all_days(silver.crm_interactions),
        "contacts": whole_table(silver.crm_contacts),
        "deals": whole_table(silver.crm_deals),
    },
)
def crm_companies(
    warehouse: Warehouse,
    interactions: TableRef,
    contacts: TableRef,
    deals: TableRef,
) -> pd.DataFrame:
    """Per company (those the segmentation counts): name, manager and segment of its latest
    version."""
    # the same companies, as of the latest contact versions, as the segmentation matrix
    resolved = rules.with_current_company_sql(interactions.rows, contacts.rows)
    return query_validated(
        warehouse,
        dimension_rules.companies_sql(
            resolved,
            contacts.rows,
            deals.rows,
            as_of_day=silver.latest_materialized_day(warehouse),
        ),
        dimension_schemas.Company,
    )
