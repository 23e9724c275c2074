"""Digital landing contracts (contract section 2, digital). CSV values arrive as text and
are cast; an empty value is a missing one."""

from cx_assets.digital.rules import JOURNEY_EVENT_KEY
from cx_assets.lakehouse.parsing import Field, RecordSpec

JOURNEY_SPEC = RecordSpec(
    fields=(
        Field("member_id", "member_id", "str"),
        Field("session_id", "session_id", "str"),
        Field("timestamp", "event_at", "timestamp"),
        Field("journey_type", "journey_type", "str"),
        Field("action", "action", "str"),
        Field("device_type", "device_type", "str", required=False),
        Field("error_code", "error_code", "str", required=False),
        Field("error_message", "error_message", "str", required=False),
    ),
    text_values=True,
    # Journey events have no id: a second record of the same event on a day is a duplicate.
    unique_key=JOURNEY_EVENT_KEY,
)
CALL_SPEC = RecordSpec(
    fields=(
        Field("call_id", "call_id", "str"),
        Field("member_id", "member_id", "str"),
        Field("call_timestamp", "called_at", "timestamp"),
        Field("ivr_path", "ivr_path", "str", required=False),
        Field("handle_time_seconds", "handle_time_seconds", "int", required=False),
        Field("agent_id", "agent_id", "str", required=False),
        Field("call_reason", "call_reason", "str"),
        Field("sentiment_score", "sentiment_score", "number", required=False),
        Field("resolution_status", "resolution_status", "str", required=False),
    ),
    text_values=True,
    unique_key=("call_id",),
    unique_across_days=True,
)
MEMBER_SPEC = RecordSpec(
    fields=(
        Field("member_id", "member_id", "str"),
        Field("plan_type", "plan_type", "str"),
        Field("tenure_months", "tenure_months", "int"),
        Field("segment", "segment", "str", required=False),
        Field("language_preference", "language_preference", "str", required=False),
        Field("enrollment_date", "enrollment_date", "date", required=False),
    ),
    text_values=True,
)
