"""Calls landing contract (contract section 2, calls): every field but `duration_seconds`
is required."""

from cx_assets.lakehouse.parsing import Field, RecordSpec

TRANSCRIPT_SPEC = RecordSpec(
    fields=(
        Field("call_id", "call_id", "str"),
        Field("agent_name", "agent_name", "str"),
        Field("timestamp", "called_at", "timestamp"),
        Field("transcript_text", "transcript_text", "str"),
        Field("duration_seconds", "duration_seconds", "int", required=False),
        Field("customer_id", "customer_id", "str"),
    ),
    unique_key=("call_id",),
    unique_across_days=True,
)
