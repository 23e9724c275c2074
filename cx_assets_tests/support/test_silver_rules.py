"""Support silver rules on a hand-worked row in an in-memory DuckDB, with the same SQL the
asset runs: a ticket's subject and description with email addresses and phone numbers
masked, and its customer's name."""

from __future__ import annotations

from datetime import date

import pytest

from cx_assets.support import silver_rules


def _silver_ticket_text(con, subject: str, description: str, customers: str | None = None):
    """One typed ticket T1 of customer C1 with `subject` and `description`, through the
    silver SQL (`customers`: the bronze customer records, or none): (subject, description)."""
    con.execute(
        "CREATE TABLE typed AS SELECT DATE '2024-03-01' AS date, 'f' AS source_file, "
        "1 AS line_number, NULL AS reject_reason, 'T1' AS ticket_id, 'C1' AS customer_id, "
        "NULL AS agent_id, TIMESTAMPTZ '2024-03-01 08:00:00+00' AS created_at, "
        "NULL::TIMESTAMPTZ AS first_response_at, NULL::TIMESTAMPTZ AS resolved_at, "
        "'open' AS status, 'low' AS priority, 'web' AS channel, NULL AS category, "
        "? AS subject, ? AS description, NULL::BIGINT AS csat_score",
        [subject, description],
    )
    query = silver_rules.silver_ticket_versions_sql("typed", customers)
    return con.execute(f"SELECT subject, description FROM ({query})").fetchall()[0]


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
    subject, description = _silver_ticket_text(con, text, text)
    assert subject == description == masked


def test_a_part_of_its_customers_name_is_masked_where_no_full_name_is(con):
    """C1 is Rita Lopes; her ticket names her by her first name alone, so its text holds no
    customer's full name (first and last words): the part is masked all the same, contract 5
    (no customer's name outside bronze)."""
    con.execute(
        """CREATE TABLE customers AS
           SELECT '{"customer_id": "C1", "name": "Rita Lopes"}'::JSON AS record,
                  NULL AS read_error"""
    )
    subject, description = _silver_ticket_text(
        con, "My card, Rita", "Rita called again about the card.", customers="customers"
    )
    assert (subject, description) == ("My card, [name]", "[name] called again about the card.")


def test_deliveries_count_each_days_versions_and_0_for_a_day_without_files(con):
    """Two days: March 1 delivers two ticket versions and one agent, March 2 nothing at all.
    Each day has its row; what did not come counts 0 (not null, nor anything else)."""
    con.execute(
        "CREATE TABLE tickets AS SELECT DATE '2024-03-01' AS date FROM range(2); "
        "CREATE TABLE agents AS SELECT DATE '2024-03-01' AS date; "
        "CREATE TABLE customers (date DATE)"
    )
    days = [date(2024, 3, 1), date(2024, 3, 2)]
    query = silver_rules.deliveries_sql(days, "tickets", "agents", "customers")
    assert con.execute(query).fetchall() == [(days[0], 2, 1, 0), (days[1], 0, 0, 0)]


def test_a_days_customers_names_still_in_other_days_tickets_are_counted_by_day(con):
    """The run of March 5: C6 landed on March 4 as Zed Doe and on March 5 as Zed Smith (a
    rename), C7 on March 5 as Ana Lima, C9 on March 4 as Bia Reis and on March 5 without a
    name. Counted, per other day, the ticket versions whose subject or description holds
    any name their customer was delivered with (on any day, whole or a part), or whose
    category holds their full name: March 1's T1 ("Doe", C6's March 4 name) and T3 ("Zed
    Smith" in a category), not T2 (no name), T4 (a part alone in a category) nor T6 (C9's
    March 5 record names nobody); March 2's T5 ("Ana" in a description); March 5's T7 is a
    day of the run, not another day."""
    con.execute(
        """CREATE TABLE customers AS SELECT * FROM (VALUES
               (DATE '2024-03-04', '{"customer_id": "C6", "name": "Zed Doe"}'),
               (DATE '2024-03-05', '{"customer_id": "C6", "name": "Zed Smith"}'),
               (DATE '2024-03-05', '{"customer_id": "C7", "name": "Ana Lima"}'),
               (DATE '2024-03-04', '{"customer_id": "C9", "name": "Bia Reis"}'),
               (DATE '2024-03-05', '{"customer_id": "C9", "name": null}')
           ) t(date, record);
           ALTER TABLE customers ALTER record TYPE JSON;
           ALTER TABLE customers ADD COLUMN read_error VARCHAR;
           CREATE TABLE versions AS SELECT * FROM (VALUES
               (DATE '2024-03-01', 'T1', 'C6', 'Doe again', NULL, 'general'),
               (DATE '2024-03-01', 'T2', 'C6', 'help', 'the card', 'general'),
               (DATE '2024-03-01', 'T3', 'C6', 'refund', NULL, 'refund Zed Smith'),
               (DATE '2024-03-01', 'T4', 'C6', 'refund', NULL, 'refund Zed'),
               (DATE '2024-03-01', 'T6', 'C9', 'Bia called', NULL, 'general'),
               (DATE '2024-03-02', 'T5', 'C7', 'help', 'Ana here', 'general'),
               (DATE '2024-03-05', 'T7', 'C6', 'Zed again', NULL, 'general')
           ) t(date, ticket_id, customer_id, subject, description, category)"""
    )
    query = silver_rules.names_left_in_other_days_sql("versions", "customers", [date(2024, 3, 5)])
    assert con.execute(query).fetchall() == [(date(2024, 3, 1), 2), (date(2024, 3, 2), 1)]


def test_an_agents_skills_are_trimmed_around_each_semicolon_and_blank_ones_dropped(con):
    """A1's ` Billing ; ;returns; ` is `Billing;returns` (each skill trimmed, as written
    otherwise; the blank ones dropped); A2's ` ; ` holds no skill and A3 has none: null."""
    con.execute(
        """CREATE TABLE typed AS SELECT * FROM (VALUES
               ('A1', ' Billing ; ;returns; ', 1), ('A2', ' ; ', 2), ('A3', NULL, 3))
               t(agent_id, skills, line_number);
           CREATE TABLE typed_agents AS SELECT DATE '2024-03-01' AS date, 'f' AS source_file,
               line_number, NULL::VARCHAR AS reject_reason, agent_id, 'Ana Lima' AS name,
               'tier 1' AS team, skills, DATE '2020-01-01' AS hire_date, 5 AS max_open_tickets
           FROM typed"""
    )
    query = silver_rules.silver_agent_versions_sql("typed_agents")
    assert con.execute(f"SELECT agent_id, skills FROM ({query}) ORDER BY agent_id").fetchall() == [
        ("A1", "Billing;returns"), ("A2", None), ("A3", None),
    ]  # fmt: skip
