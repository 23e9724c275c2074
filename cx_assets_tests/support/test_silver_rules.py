"""Support silver rules on a hand-worked row in an in-memory DuckDB, with the same SQL the
asset runs: a ticket's subject and description with email addresses and phone numbers
masked."""

from __future__ import annotations

import pytest

from cx_assets.support import silver_rules


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail me at jane.doe+x@example.co.uk please", "mail me at [email] please"),
        ("call +1 555-123-4567 or (555) 123-4567", "call [phone] or [phone]"),
        ("my number is 555.123.4567.", "my number is [phone]."),
        ("+44 20 7946 0958 and +55 11 91234-5678", "[phone] and [phone]"),
        ("order #482133 of 2024-01-05 for $1,299.99", "order #482133 of 2024-01-05 for $1,299.99"),
    ],
)
def test_silver_ticket_text_masks_email_addresses_and_phone_numbers(con, text, masked):
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-03-01' AS date, 'f' AS source_file, "
        "1 AS line_number, NULL AS reject_reason, 'T1' AS ticket_id, 'C1' AS customer_id, "
        "NULL AS agent_id, TIMESTAMPTZ '2024-03-01 08:00:00+00' AS created_at, "
        "NULL::TIMESTAMPTZ AS first_response_at, NULL::TIMESTAMPTZ AS resolved_at, "
        "'open' AS status, 'low' AS priority, 'web' AS channel, NULL AS category, "
        "? AS subject, ? AS description, NULL::BIGINT AS csat_score",
        [text, text],
    )
    subject, description = con.execute(
        f"SELECT subject, description FROM ({silver_rules.silver_ticket_versions_sql('typed')})"
    ).fetchall()[0]
    assert subject == description == masked
