"""Support: bronze (as landed) → silver (typed versions, latest versions, deliveries) →
gold (the six tables of contract section 4.4), the two models behind two of them, and
the assignment solver behind a third. This
module holds the SLA tables and is the domain's assets module: it re-exports the silver
assets (`silver.py`) and the models with their tables (`model_assets.py`).

Every ticket is counted once, in its latest version, under the UTC day it was created.
Those per-created-day tables are whole-history assets that return `DayRows`: each run
computes every row as of the latest materialized day and rewrites only the days whose
rows changed (`by_day.py`), so a re-delivery on a later day updates its ticket's row under
its creation day, and a target passing the as-of time flips its breach flag there.
"""

import pandas as pd
from dagster import AssetExecutionContext

from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.by_day import rows_of_changed_days
from cx_assets.lakehouse.derived import query_validated
from cx_assets.lakehouse.inputs import all_days, whole_table
from cx_assets.lakehouse.io_managers import DayRows, TableRef
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets.lakehouse.warehouse_tables import scalar
from cx_assets.support import rules, schemas
from cx_assets.support.model_assets import (
    support_assignment_plan,
    support_ticket_categories,
    support_ticket_classifier,
    support_volume_forecast,
    support_volume_forecaster,
)
from cx_assets.support.silver import (
    GROUP,
    bronze_agents,
    bronze_customers,
    bronze_tickets,
    support_agent_versions,
    support_agents,
    support_customer_versions,
    support_customers,
    support_deliveries,
    support_ticket_versions,
    support_tickets,
)

__all__ = [
    "GROUP",
    "bronze_agents",
    "bronze_customers",
    "bronze_tickets",
    "support_agent_daily",
    "support_agent_versions",
    "support_agents",
    "support_assignment_plan",
    "support_customer_insights",
    "support_customer_versions",
    "support_customers",
    "support_deliveries",
    "support_ticket_analytics",
    "support_ticket_categories",
    "support_ticket_classifier",
    "support_ticket_versions",
    "support_tickets",
    "support_volume_forecast",
    "support_volume_forecaster",
]

RULES = rules.DEFAULT_RULES


def _metadata(context: AssetExecutionContext, as_of_day, rows: DayRows, changed) -> None:
    context.add_output_metadata(
        {
            "as_of_day": str(as_of_day),
            "days_rewritten": len(rows.days or []),
            "days_changed": len(changed),
            "first_day_rewritten": str(min(rows.days)) if rows.days else "",
        }
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.TicketAnalytics,
    partitioned=False,
    grain=["ticket_id"],
    ins={"tickets": whole_table(support_tickets), "deliveries": all_days(support_deliveries)},
)
def support_ticket_analytics(
    context: AssetExecutionContext, warehouse: Warehouse, tickets: TableRef, deliveries: TableRef
) -> DayRows:
    """Per created day (UTC), every ticket once in its latest version: times, calendar
    minutes to first response and resolution, the priority's targets, and whether each
    target is breached as of the end of the latest materialized day."""
    schema, table = context.asset_key.path
    with warehouse.connect() as con:
        as_of_day = scalar(con, f"SELECT {rules.as_of_day_sql(deliveries.rows)}")
        rows, changed = rows_of_changed_days(
            con,
            rules.ticket_analytics_sql(tickets.rows, rules.as_of_sql(deliveries.rows), RULES),
            schema,
            table,
            schemas.TicketAnalytics,
            every_day=f"SELECT date FROM {deliveries.rows}",
        )
    _metadata(context, as_of_day, rows, changed)
    return rows


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.AgentDaily,
    partitioned=False,
    grain=["date", "agent_id"],
    ins={
        "analytics": whole_table(support_ticket_analytics),
        "agents": whole_table(support_agents),
        "deliveries": all_days(support_deliveries),
    },
)
def support_agent_daily(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    analytics: TableRef,
    agents: TableRef,
    deliveries: TableRef,
) -> DayRows:
    """Per created day and agent, over the agent's tickets created that day: tickets
    handled and resolved, mean minutes to first response, mean hours to resolution, SLA
    breaches (either target) and mean CSAT; the agent's latest name and team."""
    schema, table = context.asset_key.path
    with warehouse.connect() as con:
        as_of_day = scalar(con, f"SELECT {rules.as_of_day_sql(deliveries.rows)}")
        rows, changed = rows_of_changed_days(
            con,
            rules.agent_daily_sql(analytics.rows, agents.rows),
            schema,
            table,
            schemas.AgentDaily,
            every_day=f"SELECT date FROM {deliveries.rows}",
        )
    _metadata(context, as_of_day, rows, changed)
    return rows


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.CustomerInsights,
    partitioned=False,
    grain=["customer_id"],
    ins={
        "analytics": whole_table(support_ticket_analytics),
        "customers": whole_table(support_customers),
    },
)
def support_customer_insights(
    warehouse: Warehouse, analytics: TableRef, customers: TableRef
) -> pd.DataFrame:
    """Per customer with at least one ticket, all history: plan, region, tickets, mean
    CSAT, breach share and the segment (at_risk, high_effort, delighted, steady)."""
    return query_validated(
        warehouse,
        rules.customer_insights_sql(analytics.rows, customers.rows, RULES),
        schemas.CustomerInsights,
    )
