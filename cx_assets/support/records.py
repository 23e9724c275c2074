"""Support landing contracts (contract section 2, support). Tickets are JSON with strict
types (support ids are strings); agents and customers are CSV, whose values arrive as text
and are cast (an empty value is a missing one).

No `unique_key`: a ticket, agent or customer delivered twice on a day is two versions, and
the later line wins downstream (`latest_version_asset`), never a duplicate to quarantine.
"""

from cx_assets.lakehouse.parsing import Field, RecordSpec

TICKET_SPEC = RecordSpec(
    fields=(
        Field("ticket_id", "ticket_id", "str"),
        Field("customer_id", "customer_id", "str"),
        Field("agent_id", "agent_id", "str", required=False),
        Field("created_at", "created_at", "timestamp"),
        Field("first_response_at", "first_response_at", "timestamp", required=False),
        Field("resolved_at", "resolved_at", "timestamp", required=False),
        Field("status", "status", "str"),
        Field("priority", "priority", "str"),
        Field("channel", "channel", "str"),
        Field("category", "category", "str", required=False),
        Field("subject", "subject", "str"),
        Field("description", "description", "str"),
        Field("csat_score", "csat_score", "int", required=False),
    ),
)
AGENT_SPEC = RecordSpec(
    fields=(
        Field("agent_id", "agent_id", "str"),
        Field("name", "name", "str"),
        Field("team", "team", "str", required=False),
        Field("skills", "skills", "str", required=False),
        Field("hire_date", "hire_date", "date", required=False),
        Field("max_open_tickets", "max_open_tickets", "int"),
    ),
    text_values=True,
)
CUSTOMER_SPEC = RecordSpec(
    fields=(
        Field("customer_id", "customer_id", "str"),
        Field("name", "name", "str", required=False),
        Field("email", "email", "str", required=False),
        Field("phone", "phone", "str", required=False),
        Field("plan", "plan", "str", required=False),
        Field("region", "region", "str", required=False),
        Field("signup_date", "signup_date", "date", required=False),
    ),
    text_values=True,
)
