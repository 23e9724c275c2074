"""Support bronze and silver: the landed tables as delivered, every typed version of a ticket,
agent and customer (quarantining bad records), the latest version of each, and the
deliveries table that fixes the as-of day of everything built on the whole history.

Personal data stops here: customers' names are dropped and their e-mail addresses and
phone numbers become keyed hashes (`lakehouse.privacy`); ticket subjects and descriptions
have addresses, numbers, the ticket's customer's names and any customer's full name masked.
"""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Output,
)

from cx_assets.lakehouse.asset_factories import bronze_asset, latest_version_asset
from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.checks import (
    NAMES_MASKED_ON_OTHER_DAYS,
    CheckRun,
    DeclaredCheck,
    names_left_on_other_days,
)
from cx_assets.lakehouse.derived import query_validated
from cx_assets.lakehouse.inputs import all_days, same_day
from cx_assets.lakehouse.io_managers import DayTables, TableRef
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.privacy import record_hashes
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.sql import qualified
from cx_assets.lakehouse.steps import TYPED_RECORDS, silver_from_bronze
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets.lakehouse.warehouse_tables import table_exists
from cx_assets.support import schemas, silver_rules
from cx_assets.support.records import AGENT_SPEC, CUSTOMER_SPEC, TICKET_SPEC

GROUP = "support"

# --------------------------------------------------------------------------- bronze

bronze_tickets = bronze_asset(GROUP, "tickets", "Ticketing-system tickets (JSONL).", TICKET_SPEC)
bronze_agents = bronze_asset(GROUP, "agents", "Support agents (CSV).", AGENT_SPEC)
bronze_customers = bronze_asset(GROUP, "customers", "Support customers (CSV).", CUSTOMER_SPEC)

# --------------------------------------------------------------------------- silver, per day

LINEAGE_GRAIN = ["source_file", "line_number"]


def _names_masked_on_other_days() -> DeclaredCheck:
    """WARN when a customer delivered on the step's days has a ticket on another day whose
    text still holds their name: the ticket's day ran before the customer's record landed.
    Running that day again masks it; the check names the days and the command."""

    def evaluate(run: CheckRun) -> AssetCheckResult:
        with run.warehouse.connect() as con:
            found = (
                con.execute(
                    silver_rules.names_left_in_other_days_sql(
                        # the table this check is on (its asset is defined below)
                        qualified("silver", "support_ticket_versions"),
                        qualified(*bronze_customers.key.path),
                        run.days,
                    )
                ).fetchall()
                if table_exists(con, *bronze_customers.key.path)
                else []
            )
        return names_left_on_other_days(
            {day.isoformat(): tickets for day, tickets in found},
            rows="ticket version(s)",
            person="customer",
            group=GROUP,
            metadata_key="tickets_by_day",
        )

    return DeclaredCheck(
        NAMES_MASKED_ON_OTHER_DAYS,
        "WARN when a customer delivered on these days has tickets of another day whose "
        "text still holds their name, or category their full name (that day ran before the "
        "customer landed).",
        evaluate,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverTicketVersion,
    grain=LINEAGE_GRAIN,
    reconciles_with=bronze_tickets,
    own_checks=[_names_masked_on_other_days()],
    ins={
        "bronze": same_day(bronze_tickets),
        # The names to mask in the ticket's text: its customer's, as delivered so far.
        "customers": all_days(bronze_customers),
    },
)
def support_ticket_versions(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    lake: Lake,
    bronze: TableRef,
    customers: TableRef,
) -> Output[DayTables]:
    """Every delivered version of a ticket, typed, with subject and description masked for
    e-mail addresses, phone numbers, the ticket's customer's names and any customer's full
    name. A ticket delivered
    twice on a day is two versions (the later line wins downstream)."""
    with warehouse.connect() as con:
        landed = table_exists(con, customers.schema, customers.table)
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=TICKET_SPEC,
        model=schemas.SilverTicketVersion,
        select_sql=silver_rules.silver_ticket_versions_sql(
            TYPED_RECORDS, customers.rows if landed else None
        ),
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverAgentVersion,
    grain=LINEAGE_GRAIN,
    reconciles_with=bronze_agents,
    ins={"bronze": same_day(bronze_agents)},
)
def support_agent_versions(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """Every delivered version of an agent (staff), typed."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=AGENT_SPEC,
        model=schemas.SilverAgentVersion,
        select_sql=silver_rules.silver_agent_versions_sql(TYPED_RECORDS),
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverCustomerVersion,
    grain=LINEAGE_GRAIN,
    reconciles_with=bronze_customers,
    keyed_hashes=True,
    ins={"bronze": same_day(bronze_customers)},
)
def support_customer_versions(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """Every delivered version of a customer: the name dropped, e-mail and phone as keyed
    hashes (HMAC-SHA256 with CX_HASH_KEY)."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=CUSTOMER_SPEC,
        model=schemas.SilverCustomerVersion,
        select_sql=silver_rules.silver_customer_versions_sql(TYPED_RECORDS),
        derived_frames=record_hashes,
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.Delivery,
    grain=[],
    ins={
        "tickets": same_day(support_ticket_versions),
        "agents": same_day(support_agent_versions),
        "customers": same_day(support_customer_versions),
    },
)
def support_deliveries(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    tickets: TableRef,
    agents: TableRef,
    customers: TableRef,
) -> pd.DataFrame:
    """One row per materialized day (even one without files): the ticket, agent and customer
    versions kept that day. Its latest day is the as-of day of every support table and model
    built on the whole history."""
    return query_validated(
        warehouse,
        silver_rules.deliveries_sql(
            partition_dates(context), tickets.rows, agents.rows, customers.rows
        ),
        schemas.Delivery,
    )


# --------------------------------------------------------------------------- silver, latest versions

support_tickets = latest_version_asset(
    support_ticket_versions,
    name="support_tickets",
    key_column="ticket_id",
    model=schemas.CurrentTicket,
    description="The latest version of every ticket (a later day over an earlier one, then a "
    "later file and line), with the day it was delivered.",
)
support_agents = latest_version_asset(
    support_agent_versions,
    name="support_agents",
    key_column="agent_id",
    model=schemas.CurrentAgent,
    description="The latest version of every agent: team, skills and capacity.",
)
support_customers = latest_version_asset(
    support_customer_versions,
    name="support_customers",
    key_column="customer_id",
    model=schemas.CurrentCustomer,
    description="The latest version of every customer, e-mail and phone as keyed hashes.",
)
