"""CRM bronze and silver (contract section 4.1): the four landed tables as delivered, every
typed version of a contact, deal and user, the latest version of each, and the interactions
with their noise and friction flags and the company resolved as of the interaction's day
(the versions delivered up to that day, read through `all_days` and filtered in SQL).

Personal data stops here: people's names are dropped, e-mails and phones become keyed
hashes, bodies and addresses stay in bronze, titles have people's names masked, and titles
and companies' names have e-mail addresses and phone numbers masked.
"""

import threading
from datetime import date
from pathlib import Path

import pyarrow
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    Output,
)

from cx_assets.crm import schemas, silver_rules
from cx_assets.crm.records import CONTACT_SPEC, DEAL_SPEC, INTERACTION_SPEC, USER_SPEC
from cx_assets.lakehouse import written_days
from cx_assets.lakehouse.asset_factories import bronze_asset, latest_version_asset
from cx_assets.lakehouse.assets import LANDED_KEY, lake_asset
from cx_assets.lakehouse.bronze_views import bronze_files_state
from cx_assets.lakehouse.checks import (
    NAMES_MASKED_ON_OTHER_DAYS,
    CheckRun,
    DeclaredCheck,
    names_left_on_other_days,
    timed_on_file_day,
)
from cx_assets.lakehouse.inputs import all_days, same_day
from cx_assets.lakehouse.io_managers import DayTables, TableRef
from cx_assets.lakehouse.parsing import after_delivery_sql
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.privacy import (
    RECORD_HASHES,
    mask_contacts_sql,
    record_hashes,
    staff_name_holding_contacts_sql,
)
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.sql import in_days, qualified
from cx_assets.lakehouse.steps import RULE_REASON, TYPED_RECORDS, silver_from_bronze
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets.lakehouse.warehouse_tables import table_exists

GROUP = "crm"
LINEAGE = "date, source_file, line_number"

# --------------------------------------------------------------------------- bronze

bronze_interactions = bronze_asset(
    GROUP, "interactions", "CRM interactions (Ploomes-style JSONL).", INTERACTION_SPEC
)
bronze_contacts = bronze_asset(
    GROUP, "contacts", "CRM contacts (Ploomes-style JSONL).", CONTACT_SPEC
)
bronze_deals = bronze_asset(GROUP, "deals", "CRM deals (Ploomes-style JSONL).", DEAL_SPEC)
bronze_users = bronze_asset(GROUP, "users", "CRM users (Ploomes-style JSONL).", USER_SPEC)

# --------------------------------------------------------------------------- silver

# The titled tables, by the column naming the contact a title is on.
TITLED_TABLES = {"crm_interactions": "contact_id", "crm_deal_versions": "company_id"}


def _names_masked_on_other_days() -> DeclaredCheck:
    """WARN when a person first delivered on the step's days is named in a title of another
    day (an interaction or a deal on them, their company or a colleague): that day ran
    before the person's record landed. Running it again masks the name; the check names the
    days and the command."""

    def evaluate(run: CheckRun) -> AssetCheckResult:
        by_day: dict[str, int] = {}
        with run.warehouse.connect() as con:
            for table, contact_column in TITLED_TABLES.items():
                if not (
                    table_exists(con, *bronze_contacts.key.path)
                    and table_exists(con, "silver", table)
                    # Only where other days were built: a day's own titles know its people.
                    and con.execute(
                        f"SELECT 1 FROM {qualified('silver', table)} "
                        f"WHERE NOT {in_days(run.days or [])} LIMIT 1"
                    ).fetchone()
                ):
                    continue
                found = con.execute(
                    silver_rules.names_left_in_other_days_sql(
                        qualified("silver", table),
                        contact_column,
                        # the table this check is on (its asset is defined below)
                        qualified("silver", "crm_contact_versions"),
                        qualified(*bronze_contacts.key.path),
                        run.days or [],
                        # Found in an audit: the run that mends a day warned of it, its
                        # titles read before its own step rebuilt them.
                        rebuilt=run.days_built_too(AssetKey(["silver", table])),
                    )
                ).fetchall()
                for day, titles in found:
                    by_day[day.isoformat()] = by_day.get(day.isoformat(), 0) + titles
        return names_left_on_other_days(
            by_day, rows="title(s)", person="person", group=GROUP, metadata_key="titles_by_day"
        )

    return DeclaredCheck(
        NAMES_MASKED_ON_OTHER_DAYS,
        "WARN when a person first delivered on these days is named in a title of another "
        "day on them, their company or a colleague (that day ran before the person landed).",
        evaluate,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverContactVersion,
    reconciles_with=bronze_contacts,
    keyed_hashes=True,
    own_checks=[_names_masked_on_other_days()],
    ins={"bronze": same_day(bronze_contacts)},
)
def crm_contact_versions(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """Every delivered version of a CRM contact (people and companies). People's names are
    dropped and e-mails/phones hashed; a company's name (it reaches gold) is kept with an
    e-mail address or phone number typed into it masked. The latest version wins
    downstream."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=CONTACT_SPEC,
        model=schemas.SilverContactVersion,
        select_sql=f"""
        SELECT {LINEAGE}, contact_id,
               CASE type_id WHEN 1 THEN 'person' WHEN 2 THEN 'company' END AS contact_type,
               company_id, owner_id,
               -- per row: companies' names are as many as companies; once per distinct
               -- name (`MaskedLabels`) took as long, with a join more (24,000 contacts)
               CASE WHEN type_id = 2 THEN {mask_contacts_sql("name")} END AS company_name,
               h.email_hash, h.phone_hash, created_at,
               coalesce(
                   CASE WHEN type_id NOT IN (1, 2)
                        THEN 'field "TypeId" is neither 1 (person) nor 2 (company)' END,
                   {after_delivery_sql("created_at", "CreateDate")}) AS {RULE_REASON}
        FROM {TYPED_RECORDS} JOIN {RECORD_HASHES} AS h USING (source_file, line_number)
        WHERE reject_reason IS NULL""",
        derived_frames=record_hashes,
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverDealVersion,
    reconciles_with=bronze_deals,
    ins={
        "bronze": same_day(bronze_deals),
        # The names to mask in a title: its company's people, under every name delivered.
        "contacts": all_days(bronze_contacts),
    },
)
def crm_deal_versions(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    lake: Lake,
    bronze: TableRef,
    contacts: TableRef,
) -> Output[DayTables]:
    """Every delivered version of a CRM deal. The latest version wins downstream. A title
    has the names of its company's people masked, as well as e-mails and phone numbers."""
    person_names = _person_names(warehouse, lake, contacts)
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=DEAL_SPEC,
        model=schemas.SilverDealVersion,
        select_sql=silver_rules.silver_deals_sql(
            TYPED_RECORDS, person_names=PERSON_NAMES if person_names is not None else None
        ),
        derived_frames=_frames_of(person_names),
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverUserVersion,
    reconciles_with=bronze_users,
    keyed_hashes=True,
    ins={"bronze": same_day(bronze_users)},
)
def crm_user_versions(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """Every delivered version of a CRM user (account managers). A name holding an e-mail
    address or phone number is a bad record (`privacy.staff_name_holding_contacts_sql`): the
    name reaches gold as the manager's (`crm_managers`), as an agent's does."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=USER_SPEC,
        model=schemas.SilverUserVersion,
        select_sql=f"""
        SELECT {LINEAGE}, user_id, name, h.email_hash,
               {staff_name_holding_contacts_sql("name", "Name")} AS {RULE_REASON}
        FROM {TYPED_RECORDS} JOIN {RECORD_HASHES} AS h USING (source_file, line_number)
        WHERE reject_reason IS NULL""",
        derived_frames=record_hashes,
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverInteraction,
    grain=["interaction_id"],
    grain_across_days=True,
    metadata={LANDED_KEY: list(INTERACTION_SPEC.landed_key)},
    reconciles_with=bronze_interactions,
    keyed_hashes=True,
    bands=[timed_on_file_day("occurred_at", INTERACTION_SPEC)],
    ins={
        "bronze": same_day(bronze_interactions),
        # A person's company as of the day: every version delivered up to it.
        "contact_versions": all_days(crm_contact_versions),
        # The names to mask in a title (its people's, under every name delivered).
        "contacts": all_days(bronze_contacts),
    },
)
def crm_interactions(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    lake: Lake,
    bronze: TableRef,
    contact_versions: TableRef,
    contacts: TableRef,
) -> Output[DayTables]:
    """CRM interactions with noise flags and reason, direction, thread key, friction flags
    and the company resolved as of the day. E-mail bodies, subjects and recipient addresses
    stay in bronze; a title has people's names masked (on a company, any of its people's;
    on a person, theirs and their colleagues'; anyone's full name), and e-mails and phones."""
    days = partition_dates(context)
    person_names = _person_names(warehouse, lake, contacts)
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=INTERACTION_SPEC,
        model=schemas.SilverInteraction,
        select_sql=silver_rules.silver_interactions_sql(
            TYPED_RECORDS,
            contact_versions.rows,
            days[-1] if days else None,
            person_names=PERSON_NAMES if person_names is not None else None,
        ),
        derived_frames=_frames_of(person_names),
        by_day=True,
    )


# The view of every person contact's names the SQL of interactions and deals masks titles with.
PERSON_NAMES = "person_names"

# The person names last computed, by what they were computed from (the warehouse, the rows
# read and the bronze contact files then): the deal and interaction steps of a run read the
# same contacts, every version ever delivered, which took each of them about 0.1 s over a
# scale-1 history of 1 or 14 days (24,000 contacts, then a trickle) and grows with it. The
# step that comes second, the interactions' on the run's longest path, waits for the first
# and takes its names. One entry: a run's steps share it, a later run with other contacts
# replaces it. Names stay in this process's memory only.
_person_names_cache: dict[tuple, pyarrow.Table | None] = {}
_person_names_lock = threading.Lock()


def _person_names(warehouse: Warehouse, lake: Lake, contacts: TableRef) -> pyarrow.Table | None:
    """Every person's names (`silver_rules.person_names_sql`), once for a step rather than for
    each part of each day, and once for the steps of a run that read the same contacts;
    None before any contact landed."""
    key = (
        str(Path(warehouse.path).resolve()),
        contacts.rows,
        bronze_files_state(lake.layout.bronze_dir, contacts.table),
    )
    with _person_names_lock:
        if key not in _person_names_cache:
            with warehouse.connect() as con:
                if not table_exists(con, contacts.schema, contacts.table):
                    names = None
                else:
                    names = con.sql(silver_rules.person_names_sql(contacts.rows)).to_arrow_table()
            _person_names_cache.clear()
            _person_names_cache[key] = names
        return _person_names_cache[key]


def _frames_of(person_names: pyarrow.Table | None):
    """The step's person names as a view of each part's query (`PERSON_NAMES`)."""
    if person_names is None:
        return None

    def known_person_names(con, typed) -> dict:
        return {PERSON_NAMES: person_names}

    return known_person_names


def latest_materialized_day(warehouse: Warehouse) -> date | None:
    """The latest day `crm_interactions` was materialized for, a day whose files never came
    included: whole-history tables are as of it (contract 4.1), so a company's silence keeps
    growing through an outage. None before any. As the warehouse holds it, not as Dagster's
    history remembers (a new `DAGSTER_HOME`, a warehouse moved aside and rebuilt)."""
    layer, table = crm_interactions.key.path
    with warehouse.connect() as con:
        return written_days.latest_day_built(con, layer, table)


crm_contacts = latest_version_asset(
    crm_contact_versions,
    name="crm_contacts",
    key_column="contact_id",
    model=schemas.CurrentContact,
    description="Latest version of every CRM contact.",
)
crm_deals = latest_version_asset(
    crm_deal_versions,
    name="crm_deals",
    key_column="deal_id",
    model=schemas.CurrentDeal,
    description="Latest version of every CRM deal.",
)
crm_users = latest_version_asset(
    crm_user_versions,
    name="crm_users",
    key_column="user_id",
    model=schemas.CurrentUser,
    description="Latest version of every CRM user.",
)
