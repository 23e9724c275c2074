"""Customer personal data kept out of the calls tables: the transcript and any extra fields
reach neither silver nor gold, and a call id that would carry personal data to gold is
quarantined."""

from __future__ import annotations

import pytest
from dagster._serdes import serialize_value

from cx_assets_tests.calls.landing_rows import DAY, EVERYTHING, GOLD_TABLES, call


def test_customer_personal_data_reaches_neither_silver_nor_gold(lake):
    record = call(
        "PII",
        "Agent: Am I speaking with Maria Silva? Customer: Yes, maria.silva@example.com, "
        "phone 555-0199. Sign me up.",
        customer_name="Maria Silva",
        customer_email="maria.silva@example.com",
    )
    lake.land_jsonl("calls", "transcripts", DAY, [record])
    lake.materialize(EVERYTHING, day=DAY)

    silver = lake.query("SELECT * FROM silver.calls_transcripts")
    assert len(silver) == 1
    assert "transcript_text" not in silver.columns
    assert silver["customer_id"].tolist() == ["CUST-PII"]  # the id is kept as delivered
    frames = {"silver": silver, **{table: lake.gold(table) for table in GOLD_TABLES}}
    for name, frame in frames.items():
        text = frame.astype(str).to_csv()
        for secret in ("maria", "silva", "555-0199", "example.com"):
            assert secret not in text.lower(), (name, secret)


@pytest.mark.parametrize(
    "call_id", ["maria.silva@example.com", "+55 11 94242-0150", "C 7", "555-201-3344"]
)
def test_a_call_id_that_is_not_opaque_is_quarantined(lake, call_id):
    """Gold keeps the call id: one holding an e-mail address, a phone number as people write
    it or whitespace (a name) would carry it there."""
    records = [call(call_id, "Sign me up.", customer_id="CUST-1"), call("C8", "No.")]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    lake.materialize(EVERYTHING, day=DAY)

    (rejected,) = lake.quarantine("calls_transcripts").itertuples()
    assert rejected.line_number == 1 and "call_id" in rejected.reason
    assert lake.gold("calls_performance")["call_id"].tolist() == ["C8"]


def test_an_agent_name_holding_an_email_or_a_phone_is_quarantined(lake):
    """Seen in an audit: a customer's e-mail address as `agent_name`, alone or after a
    staff name, reached calls_performance, calls_agent_daily and the command centre. The
    agent's name is the agent in calls (the grain of calls_agent_daily): masked, every such
    agent would be one `[email]`, and `Caio Mendes ([email])` another agent than Caio
    Mendes; so the call is quarantined, naming the field. Staff names go through."""
    agents = [
        "zuleica.prado@gmail.com",
        "Caio Mendes (zuleica.prado@gmail.com)",
        "Caio Mendes +55 11 98888-7777",
        "Caio Mendes",
        "Ana-Maria O'Neil 2",
    ]
    records = [call(f"C{n}", "Sign me up.", agent=agent) for n, agent in enumerate(agents, 1)]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    assert lake.materialize(EVERYTHING, day=DAY).success

    rejected = lake.quarantine("calls_transcripts").sort_values("line_number")
    assert rejected["line_number"].tolist() == [1, 2, 3]
    assert all("agent_name" in reason for reason in rejected["reason"])
    assert all("zuleica" not in reason for reason in rejected["reason"])
    daily = lake.gold("calls_agent_daily")
    assert sorted(daily["agent_name"]) == ["Ana-Maria O'Neil 2", "Caio Mendes"]
    for table in GOLD_TABLES:
        text = lake.gold(table).astype(str).to_csv()
        assert "zuleica" not in text and "98888" not in text, table


def test_no_personal_data_reaches_dagsters_event_log(lake):
    """What a run logs and records (step logs, metadata, check results, failures) is kept
    with every run and shown in the UI: bad records are named by file, line and reason,
    never by their values, and samples are masked. Personal data in every place a call can
    carry it: a quarantined call id, a duration that is not a number, an unknown field, the
    transcript."""
    records = [
        call("maria.silva@example.com", "Sign me up."),
        call("C2", "No.", duration_seconds="call maria.silva@example.com"),
        call("C3", "Yes. maria.silva@example.com, phone 555-0199", customer_email="x"),
        {**call("C4", "No."), "agent_name": None, "note": "maria.silva@example.com"},
    ]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    result = lake.materialize(EVERYTHING, day=DAY, raise_on_error=False)

    assert len(lake.quarantine("calls_transcripts")) == 3
    logged = "\n".join(
        serialize_value(entry) for entry in lake.instance.all_logs(result.run_id)
    ).lower()
    assert "calls_transcripts" in logged  # the run's events are what was searched
    for secret in ("maria", "silva", "555-0199", "example.com"):
        assert secret not in logged, secret
