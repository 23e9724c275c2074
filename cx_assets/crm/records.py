"""CRM landing contracts (contract section 2, crm): the fields of each landed table, their
types, and which are required (fields without "|null"). CRM times always carry their
offset (local Sao Paulo time): one without is a bad record, never guessed as UTC."""

from cx_assets.lakehouse.parsing import Field, RecordSpec

INTERACTION_SPEC = RecordSpec(
    fields=(
        Field("Id", "interaction_id", "int"),
        Field("ContactId", "contact_id", "int"),
        Field("OwnerId", "owner_id", "int"),
        Field("Date", "occurred_at", "offset_timestamp"),
        Field("TypeId", "type_id", "int"),
        Field("Title", "title", "str", required=False),
        Field("Content", "content", "str", required=False),
        Field("EmailSubject", "email_subject", "str", required=False),
        Field("EmailRecipients", "email_recipients", "str", required=False),
        Field("DealId", "deal_id", "int", required=False),
    ),
    unique_key=("interaction_id",),
    unique_across_days=True,
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
        Field("CreateDate", "created_at", "offset_timestamp"),
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
        Field("CreateDate", "created_at", "offset_timestamp"),
        Field("FinishDate", "finished_at", "offset_timestamp", required=False),
    )
)
USER_SPEC = RecordSpec(
    fields=(
        Field("Id", "user_id", "int"),
        Field("Name", "name", "str"),
        Field("Email", "email", "str"),
    )
)
