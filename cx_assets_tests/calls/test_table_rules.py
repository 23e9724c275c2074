"""The calls table rules (contract section 4.2) on small hand-worked DuckDB tables.

The features frame is the text rules applied to each typed record, silver keeps its model's
types on an empty day, and the gold KPIs hold one row a day whatever order the calls come in.
Every expected value below was worked out by hand from the contract, not by running the code.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from cx_assets.calls import table_rules
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order

# --------------------------------------------------------------------------- features frame


def test_the_features_frame_is_the_python_rule_keyed_by_record():
    texts = [
        "Agent: I can upgrade you to premium for $1,299.99. Customer: I'll take it, thanks!",
        "Customer: This is unacceptable. Would you like the warranty?",
    ]
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE typed AS SELECT 'f.jsonl' AS source_file, "
            "unnest([1, 2, 3]) AS line_number, "
            "unnest([?, ?, 'bad']) AS transcript_text, "
            "unnest([NULL, NULL, 'invalid JSON']) AS reject_reason",
            texts,
        )
        frame = table_rules.transcript_features(con, "typed")
    finally:
        con.close()
    assert frame["line_number"].tolist() == [1, 2]  # rejected records are not scored
    # Worked by hand: the first converts ("i will take it"), sells $1,299.99 in its upsell
    # sentence and thanks; the second names the warranty without a price and is unacceptable.
    expected = [
        {"converted": True, "conversion_phrase": "i will take it", "upsell_sentence_count": 1,
         "upsell_amount_count": 1, "upsell_amount": 1299.99, "upsell_without_amount": False,
         "positive_word_count": 1, "negative_word_count": 0, "sentiment": "positive",
         "sentiment_score": 1.0},
        {"converted": False, "conversion_phrase": None, "upsell_sentence_count": 1,
         "upsell_amount_count": 0, "upsell_amount": 0.0, "upsell_without_amount": True,
         "positive_word_count": 0, "negative_word_count": 1, "sentiment": "negative",
         "sentiment_score": -1.0},
    ]  # fmt: skip
    rows = frame.to_dict("records")
    for row, want in zip(rows, expected, strict=True):
        assert {name: row[name] for name in want} == want


def test_silver_is_checked_in_sql_on_a_day_without_transcripts():
    """An empty day's features frame has no types pandas could infer; silver still has the
    model's types, so its checks run as SQL (not Pandera's fallback)."""
    from cx_assets.calls.schemas import SilverTranscript
    from cx_assets.lakehouse.schema_sql import model_sql

    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE typed (date DATE, source_file VARCHAR, line_number BIGINT, "
            "reject_reason VARCHAR, call_id VARCHAR, agent_name VARCHAR, customer_id VARCHAR, "
            "called_at TIMESTAMPTZ, duration_seconds BIGINT, transcript_text VARCHAR)"
        )
        con.register(table_rules.FEATURES_VIEW, table_rules.transcript_features(con, "typed"))
        described = con.execute(
            f"DESCRIBE {table_rules.silver_transcripts_sql('typed')}"
        ).fetchall()
        types = {name: kind for name, kind, *_ in described}
    finally:
        con.close()
    assert types["converted"] == "BOOLEAN" and types["sentiment_score"] == "DOUBLE"
    assert "NULL" not in types.values()
    model_sql(SilverTranscript, types)  # raises Untranslatable for a NULL-typed column


def test_silver_is_the_good_records_trimmed_with_the_reason_of_each_bad_one():
    """Line 3 was rejected when typed: not in silver, even with features. Line 1's names are
    trimmed and its upsell is a trillion exactly (kept); line 2's blank customer is none and
    its upsell a dollar above a trillion; line 4's agent is an e-mail address."""
    typed = pd.DataFrame(
        {
            "date": [date(2024, 1, 8)] * 4,
            "source_file": "f.jsonl",
            "line_number": [1, 2, 3, 4],
            "reject_reason": [None, None, "invalid JSON", None],
            "call_id": ["c1", "c2", "c3", "c4"],
            "agent_name": [" Ana ", "Bea", "Ana", "ana@example.com"],
            "customer_id": [" K1 ", "  ", "K3", "K4"],
            "called_at": pd.Timestamp("2024-01-08 12:00", tz="UTC"),
            "duration_seconds": 60,
        }
    )
    features = pd.DataFrame(
        {
            "source_file": "f.jsonl",
            "line_number": [1, 2, 3, 4],
            "converted": False,
            "conversion_phrase": None,
            "upsell_sentence_count": 1,
            "upsell_amount_count": 1,
            "upsell_amount": [1e12, 1e12 + 1, 5.0, 5.0],
            "upsell_without_amount": False,
            "positive_word_count": 0,
            "negative_word_count": 0,
            "sentiment": "neutral",
            "sentiment_score": 0.0,
        }
    )
    con = duckdb.connect()
    try:
        con.register("typed", typed)
        con.register(table_rules.FEATURES_VIEW, features)
        rows = con.execute(
            "SELECT line_number, agent_name, customer_id, reject_reason "
            f"FROM ({table_rules.silver_transcripts_sql('typed')})"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        (1, "Ana", "K1", None),
        (2, "Bea", None,
         'the upsell amounts of field "transcript_text" sum above 1e12 (a trillion)'),
        (4, "ana@example.com", "K4",
         'field "agent_name" holds an e-mail address or phone number, not only a staff name'),
    ]  # fmt: skip


# --------------------------------------------------------------------------- performance


def test_performance_is_each_call_in_the_order_of_its_time_then_its_id():
    """c2 at 09:00 first; c0 and c1 both at 10:00, by id. The transcript's other columns
    stay in silver; each call keeps its own sentiment and score."""
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE transcripts AS SELECT * FROM (VALUES "
            "(DATE '2024-01-08', 'c1', 'Ana', TIMESTAMP '2024-01-08 10:00', TRUE, 20.0, "
            "'positive', 0.5, 'K1', 60), "
            "(DATE '2024-01-08', 'c2', 'Bea', TIMESTAMP '2024-01-08 09:00', FALSE, 0.0, "
            "'negative', -1.0, 'K2', 90), "
            "(DATE '2024-01-08', 'c0', 'Ana', TIMESTAMP '2024-01-08 10:00', FALSE, 0.0, "
            "'neutral', 0.0, 'K3', 30)) AS t(date, call_id, agent_name, called_at, converted, "
            "upsell_amount, sentiment, sentiment_score, customer_id, duration_seconds)"
        )
        performance = con.execute(table_rules.performance_sql("transcripts")).df()
    finally:
        con.close()
    assert performance.columns.tolist() == [
        "date", "call_id", "agent_name", "called_at", "converted", "upsell_amount",
        "sentiment", "sentiment_score",
    ]  # fmt: skip
    assert performance[["call_id", "agent_name", "converted", "upsell_amount"]].values.tolist() == [
        ["c2", "Bea", False, 0.0],
        ["c0", "Ana", False, 0.0],
        ["c1", "Ana", True, 20.0],
    ]
    assert performance["sentiment"].tolist() == ["negative", "neutral", "positive"]
    assert performance["sentiment_score"].tolist() == [-1.0, 0.0, 0.5]


# --------------------------------------------------------------------------- KPIs


def test_kpis_have_one_row_a_day_even_without_calls():
    first, second = date(2024, 1, 8), date(2024, 1, 9)
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE performance AS SELECT DATE '2024-01-08' AS date, "
            "unnest(['c1', 'c2']) AS call_id, unnest([TRUE, FALSE]) AS converted, "
            "unnest([50.0, 0.0]) AS upsell_amount"
        )
        rows = con.execute(table_rules.kpis_daily_sql("performance", [first, second])).fetchall()
        empty = con.execute(table_rules.kpis_daily_sql("performance", [])).fetchall()
    finally:
        con.close()
    assert rows == [(first, 2, 0.5, 50.0, 25.0), (second, 0, None, 0.0, None)]
    assert empty == []


def test_revenue_is_the_same_to_the_last_digit_whatever_order_the_calls_come_in():
    day = date(2024, 1, 8)
    performance = pd.DataFrame(
        {
            "date": day,
            "agent_name": "Ana",
            "call_id": ["c1", "c2", "c3"],
            "converted": True,
            "upsell_amount": ORDER_SENSITIVE,
            "sentiment": "neutral",
        }
    )
    con = duckdb.connect()
    try:
        for query in (
            table_rules.agent_daily_sql("performance"),
            table_rules.kpis_daily_sql("performance", [day]),
        ):
            assert len(results_in_every_order(con, performance, "performance", query)) == 1
    finally:
        con.close()


PERFORMANCE_COLUMNS = ["agent_name", "call_id", "converted", "upsell_amount", "sentiment"]


def _agents_and_kpis(day: date, *calls: tuple) -> tuple[list[tuple], list[tuple]]:
    """`calls_agent_daily` and `calls_kpis_daily` of `calls` (rows of PERFORMANCE_COLUMNS)
    on `day`."""
    performance = pd.DataFrame(list(calls), columns=PERFORMANCE_COLUMNS).assign(date=day)
    con = duckdb.connect()
    try:
        con.register("performance", performance)
        agents = con.execute(table_rules.agent_daily_sql("performance")).fetchall()
        kpis = con.execute(table_rules.kpis_daily_sql("performance", [day])).fetchall()
    finally:
        con.close()
    return agents, kpis


def test_a_day_of_one_call_divides_by_that_one_call():
    # Ana's only call of the day, converted with 120.00 of upsell: a rate of 1/1 and an
    # average of 120.00/1, never the null of a day without calls.
    day = date(2024, 1, 8)
    agents, kpis = _agents_and_kpis(day, ("Ana", "c1", True, 120.0, "positive"))
    assert agents == [(day, "Ana", 1, 1, 1.0, 120.0, 120.0, 1, 0, 0)]
    assert kpis == [(day, 1, 1.0, 120.0, 120.0)]


def test_an_agents_day_counts_every_call_and_each_sentiment_apart():
    """Bea (listed first) and Ana: the rows come out by agent name. Ana converts 2 of her 4
    calls with 100.00 + 50.00 of upsell: a rate of 2/4 and 150.00 over all 4 calls, 37.50,
    not over the 2 that sold; one positive, one neutral and two negative calls."""
    day = date(2024, 1, 8)
    agents, _ = _agents_and_kpis(
        day,
        ("Bea", "c5", False, 0.0, "neutral"),
        ("Ana", "c1", True, 100.0, "positive"),
        ("Ana", "c2", False, 0.0, "neutral"),
        ("Ana", "c3", False, 0.0, "negative"),
        ("Ana", "c4", True, 50.0, "negative"),
    )
    assert agents == [
        (day, "Ana", 4, 2, 0.5, 150.0, 37.5, 1, 1, 2),
        (day, "Bea", 1, 0, 0.0, 0.0, 0.0, 0, 1, 0),
    ]
