"""CRM friction assets: bronze (as landed) → silver (typed, noise-flagged, linked) → gold.

The rules themselves are in `rules.py`; this module only wires tables together.
"""

from cx_assets.crm import rules, schemas
from cx_assets.lakehouse.assets import (
    bronze_asset,
    gold_asset,
    latest_version_asset,
    silver_asset,
)
from cx_assets.lakehouse.parsing import Field, RecordSpec

GROUP = "crm"
SOURCE = "crm"
TABLES = ("interactions", "contacts", "deals", "users")

# Landing contracts (contract section 2, crm): fields without "|null" are required.
INTERACTION_SPEC = RecordSpec(
    fields=(
        Field("Id", "interaction_id", "int"),
        Field("ContactId", "contact_id", "int"),
        Field("OwnerId", "owner_id", "int"),
        Field("Date", "occurred_at", "timestamp"),
        Field("TypeId", "type_id", "int"),
        Field("Title", "title", "str", required=False),
        Field("Content", "content", "str", required=False),
        Field("EmailSubject", "email_subject", "str", required=False),
        Field("EmailRecipients", "email_recipients", "str", required=False),
        Field("DealId", "deal_id", "int", required=False),
    ),
    unique_key=("interaction_id",),
)
CONTACT_SPEC = RecordSpec(
    fields=(
        Field("Id", "contact_id", "int"),
        Field("Name", "name", "str"),
        Field("TypeId", "type_id", "int"),
        Field("CompanyId", "company_id", "int", required=False),
        Field("OwnerId", "owner_id", "int", required=False),
        Field("Email", "email", "str"),
        Field("Phone", "phone", "str"),
        Field("CreateDate", "created_at", "timestamp"),
    )
)
DEAL_SPEC = RecordSpec(
    fields=(
        Field("Id", "deal_id", "int"),
        Field("ContactId", "company_id", "int"),
        Field("OwnerId", "owner_id", "int"),
        Field("Title", "title", "str"),
        Field("Amount", "amount", "number"),
        Field("StageId", "stage_id", "int"),
        Field("StatusId", "status_id", "int"),
        Field("CreateDate", "created_at", "timestamp"),
        Field("FinishDate", "finished_at", "timestamp", required=False),
    )
)
USER_SPEC = RecordSpec(
    fields=(
        Field("Id", "user_id", "int"),
        Field("Name", "name", "str"),
        Field("Email", "email", "str"),
    )
)

bronze_assets = [
    bronze_asset(SOURCE, table, f"CRM {table} export (Ploomes-style JSONL).") for table in TABLES
]

LINEAGE = "date, source_file, line_number"

silver_contact_versions = silver_asset(
    source=SOURCE,
    table="contacts",
    silver_table="crm_contact_versions",
    spec=CONTACT_SPEC,
    model=schemas.SilverContactVersion,
    description="Every delivered version of a CRM contact (people and companies). People's "
    "names are dropped and e-mails/phones hashed. The latest version wins downstream.",
    select_sql=lambda typed, inputs, days: (
        f"""
        SELECT {LINEAGE}, contact_id,
               CASE type_id WHEN 1 THEN 'person' WHEN 2 THEN 'company' END AS contact_type,
               company_id, owner_id,
               CASE WHEN type_id = 2 THEN name END AS company_name,
               {rules.hash_sql("email")} AS email_hash,
               {rules.phone_hash_sql("phone")} AS phone_hash,
               created_at
        FROM {typed} WHERE reject_reason IS NULL"""
    ),
)

silver_deal_versions = silver_asset(
    source=SOURCE,
    table="deals",
    silver_table="crm_deal_versions",
    spec=DEAL_SPEC,
    model=schemas.SilverDealVersion,
    description="Every delivered version of a CRM deal. The latest version wins downstream.",
    select_sql=lambda typed, inputs, days: (
        f"""
        SELECT {LINEAGE}, deal_id, company_id, owner_id, title, amount, stage_id,
               CASE status_id WHEN 1 THEN 'open' WHEN 2 THEN 'won' WHEN 3 THEN 'lost' END
                   AS status,
               created_at, finished_at
        FROM {typed} WHERE reject_reason IS NULL"""
    ),
)

silver_user_versions = silver_asset(
    source=SOURCE,
    table="users",
    silver_table="crm_user_versions",
    spec=USER_SPEC,
    model=schemas.SilverUserVersion,
    description="Every delivered version of a CRM user (account managers).",
    select_sql=lambda typed, inputs, days: (
        f"""
        SELECT {LINEAGE}, user_id, name, {rules.hash_sql("email")} AS email_hash
        FROM {typed} WHERE reject_reason IS NULL"""
    ),
)

silver_interactions = silver_asset(
    source=SOURCE,
    table="interactions",
    silver_table="crm_interactions",
    spec=INTERACTION_SPEC,
    model=schemas.SilverInteraction,
    description="CRM interactions with noise flags and reason, direction, thread key, friction "
    "flags and the company resolved as of the day. E-mail bodies, subjects and recipient "
    "addresses stay in bronze.",
    extra_ins={"contact_versions": ["silver", "crm_contact_versions"]},
    select_sql=lambda typed, inputs, days: rules.silver_interactions_sql(
        typed, inputs["contact_versions"].name, days[-1] if days else "NULL"
    ),
)

silver_contacts = latest_version_asset(
    versions_key=["silver", "crm_contact_versions"],
    table="crm_contacts",
    key_column="contact_id",
    group=GROUP,
    model=schemas.CurrentContact,
    description="Latest version of every CRM contact.",
)
silver_deals = latest_version_asset(
    versions_key=["silver", "crm_deal_versions"],
    table="crm_deals",
    key_column="deal_id",
    group=GROUP,
    model=schemas.CurrentDeal,
    description="Latest version of every CRM deal.",
)
silver_users = latest_version_asset(
    versions_key=["silver", "crm_user_versions"],
    table="crm_users",
    key_column="user_id",
    group=GROUP,
    model=schemas.CurrentUser,
    description="Latest version of every CRM user.",
)

INTERACTIONS = ["silver", "crm_interactions"]
CONTACTS = ["silver", "crm_contacts"]
DEALS = ["silver", "crm_deals"]
USERS = ["silver", "crm_users"]

crm_noise_summary = gold_asset(
    "crm_noise_summary",
    group=GROUP,
    model=schemas.NoiseSummary,
    description="Per day: interactions by noise rule, all noise, and valid, with their share.",
    ins={"interactions": INTERACTIONS},
    sql=lambda inputs, days: rules.noise_summary_sql(inputs["interactions"].rows, days),
)
crm_friction_heuristics = gold_asset(
    "crm_friction_heuristics",
    group=GROUP,
    model=schemas.FrictionHeuristic,
    description="Per day: every valid interaction with urgency, failure or escalation words.",
    ins={"interactions": INTERACTIONS},
    sql=lambda inputs, days: rules.friction_heuristics_sql(inputs["interactions"].rows),
)
crm_contact_linkage = gold_asset(
    "crm_contact_linkage",
    group=GROUP,
    model=schemas.ContactLinkage,
    description="Per day: how interactions (noise included) resolve to a company.",
    ins={"interactions": INTERACTIONS},
    sql=lambda inputs, days: rules.contact_linkage_sql(inputs["interactions"].rows, days),
)
crm_cx_volumetrics = gold_asset(
    "crm_cx_volumetrics",
    group=GROUP,
    model=schemas.CxVolumetrics,
    description="Manager × company, all history: volume, velocity, load, neediness, long threads.",
    ins={"interactions": INTERACTIONS, "deals": DEALS},
    sql=lambda inputs, days: rules.cx_volumetrics_sql(
        inputs["interactions"].name, inputs["deals"].name
    ),
    partitioned=False,
)
crm_temporal_heat = gold_asset(
    "crm_temporal_heat",
    group=GROUP,
    model=schemas.TemporalHeat,
    description="Day of week × local hour (America/Sao_Paulo), all history: 168 rows.",
    ins={"interactions": INTERACTIONS},
    sql=lambda inputs, days: rules.temporal_heat_sql(inputs["interactions"].name),
    partitioned=False,
)
crm_sales_velocity = gold_asset(
    "crm_sales_velocity",
    group=GROUP,
    model=schemas.SalesVelocity,
    description="Per manager: open deals, win rate, won amount, cycle and sales velocity.",
    ins={"deals": DEALS, "users": USERS},
    sql=lambda inputs, days: rules.sales_velocity_sql(inputs["deals"].name, inputs["users"].name),
    partitioned=False,
)
crm_churn_risk = gold_asset(
    "crm_churn_risk",
    group=GROUP,
    model=schemas.ChurnRisk,
    description="Per company: 0-100 churn risk from silence, trend, friction and lost deals.",
    ins={"interactions": INTERACTIONS, "contacts": CONTACTS, "deals": DEALS},
    sql=lambda inputs, days: rules.churn_risk_sql(
        inputs["interactions"].name, inputs["contacts"].name, inputs["deals"].name
    ),
    partitioned=False,
)
crm_segmentation_matrix = gold_asset(
    "crm_segmentation_matrix",
    group=GROUP,
    model=schemas.SegmentationMatrix,
    description="Companies by won-deal value × 90-day engagement: four segments.",
    ins={"interactions": INTERACTIONS, "contacts": CONTACTS, "deals": DEALS},
    sql=lambda inputs, days: rules.segmentation_sql(
        inputs["interactions"].name, inputs["contacts"].name, inputs["deals"].name
    ),
    partitioned=False,
)

partitioned_assets = [
    *bronze_assets,
    silver_contact_versions,
    silver_deal_versions,
    silver_user_versions,
    silver_interactions,
    crm_noise_summary,
    crm_friction_heuristics,
    crm_contact_linkage,
]
rollup_assets = [
    silver_contacts,
    silver_deals,
    silver_users,
    crm_cx_volumetrics,
    crm_temporal_heat,
    crm_sales_velocity,
    crm_churn_risk,
    crm_segmentation_matrix,
]
