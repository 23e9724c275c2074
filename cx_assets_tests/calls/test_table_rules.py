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


def test_a_day_of_one_call_divides_by_that_one_call():
    # Ana's only call of the day, converted with 120.00 of upsell: a rate of 1/1 and an
    # average of 120.00/1, never the null of a day without calls.
    day = date(2024, 1, 8)
    performance = pd.DataFrame(
        {
            "date": [day],
            "agent_name": ["Ana"],
            "call_id": ["c1"],
            "converted": [True],
            "upsell_amount": [120.0],
            "sentiment": ["positive"],
        }
    )
    con = duckdb.connect()
    try:
        con.register("performance", performance)
        agents = con.execute(table_rules.agent_daily_sql("performance")).fetchall()
        kpis = con.execute(table_rules.kpis_daily_sql("performance", [day])).fetchall()
    finally:
        con.close()
    assert agents == [(day, "Ana", 1, 1, 1.0, 120.0, 120.0, 1, 0, 0)]
    assert kpis == [(day, 1, 1.0, 120.0, 120.0)]
