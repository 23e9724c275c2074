"""The calls assets and checks end to end: landing files → bronze → silver → gold + checks.

Transcripts are hand-worked; expected KPIs are computed by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity, AssetKey

from cx_assets.calls.assets import CONVERSION_RATE, UPSELL_WITHOUT_AMOUNT
from cx_assets.lakehouse.checks import (
    NON_EMPTY,
    RECONCILES_WITH_BRONZE,
    UNIQUE_KEY,
)
from cx_assets.synthetic.calls import generate
from cx_assets.synthetic.landing_writer import GenerationRequest
from cx_assets_tests.conftest import Domain, check_results

DAY = "2024-01-05"
CALLS = Domain.named("calls")
EVERYTHING = CALLS.everything
GOLD_TABLES = ("calls_performance", "calls_agent_daily", "calls_kpis_daily")


def call(call_id: str, text: str, *, agent: str = "Dana Reyes", **extra) -> dict:
    record = {
        "call_id": call_id,
        "agent_name": agent,
        "timestamp": "2024-01-05T10:00:00",
        "transcript_text": text,
        "duration_seconds": 300,
        "customer_id": f"CUST-{call_id}",
    }
    record.update(extra)
    return record


# Dana: A converted, $1,299.99 upsell, 2 positive → positive 1.0
CALL_A = call(
    "A",
    "Agent: Hi, this is Dana. I can upgrade you to our premium plan for $1,299.99. "
    "Customer: Okay, I'll take it! That's great, thanks.",
    timestamp="2024-01-05T09:00:00",
)
# Dana: B not converted; two upsell sentences $49.99 + $5; the $45 bill does not count; neutral
CALL_B = call(
    "B",
    "Agent: The extended warranty is $49.99. Customer: Hmm, I can't decide. "
    "Agent: And the streaming add-on is $5 a month! Your current bill is $45.",
    timestamp="2024-01-05T09:30:00Z",
)
# Dana: D converted (let's → let us); frustrated, disappointed vs excellent → -1/3
CALL_D = call(
    "D",
    "Customer: I'm frustrated   and disappointed,\nbut the agent was excellent. "
    "Let's proceed with the purchase.",
    timestamp="2024-01-05T11:00:00+00:00",
)
# Sam (array element 1): near misses only; unacceptable → negative -1.0
CALL_E = call(
    "E",
    "Customer: I'm not ready to sign up yet. I won't take it at that price. This is unacceptable.",
    agent="Sam Ortiz",
    timestamp="2024-01-05T12:00:00",
)
# Sam (array element 2): converted (count me in); great → positive 1.0
CALL_F = call(
    "F",
    "customer:   count   me   in!\n\nagent: great.",
    agent="Sam Ortiz",
    timestamp="2024-01-05T13:00:00",
)
# Sam (single-object .json): no duration, +02:00 offset; thanks → positive; the $20 balance
# is in a sentence without an upsell word
CALL_G = {
    key: value
    for key, value in call(
        "G",
        "Agent: Your balance is $20. Customer: Thanks, bye.",
        agent="Sam Ortiz",
        timestamp="2024-01-05T16:00:00+02:00",
    ).items()
    if key != "duration_seconds"
}
BAD_JSON_LINE = '{"call_id": "C", "agent_name": "Dana Reyes", oops'


@pytest.fixture
def landed(lake):
    lake.land_jsonl(
        "calls",
        "transcripts",
        DAY,
        [CALL_A, CALL_B, BAD_JSON_LINE, CALL_D],
        name="part-0001.jsonl",
    )
    lake.land("calls", "transcripts", DAY, "batch.json", json.dumps([CALL_E, CALL_F], indent=2))
    lake.land("calls", "transcripts", DAY, "call-G.json", json.dumps(CALL_G))
    lake.land("calls", "transcripts", DAY, "_in-flight.jsonl", json.dumps(call("X", "ignored")))
    return lake


def test_a_day_of_calls_gives_the_contract_gold_tables(landed):
    result = landed.materialize(EVERYTHING, day=DAY)
    assert result.success

    performance = landed.gold("calls_performance").set_index("call_id").sort_index()
    assert list(performance.index) == ["A", "B", "D", "E", "F", "G"]
    assert performance["date"].astype(str).unique().tolist() == [DAY]  # from the folder name
    assert performance["converted"].to_dict() == {
        "A": True,
        "B": False,
        "D": True,
        "E": False,
        "F": True,
        "G": False,
    }
    assert performance["upsell_amount"].to_dict() == pytest.approx(
        {"A": 1299.99, "B": 54.99, "D": 0.0, "E": 0.0, "F": 0.0, "G": 0.0}
    )
    assert performance["sentiment"].to_dict() == {
        "A": "positive",
        "B": "neutral",
        "D": "negative",
        "E": "negative",
        "F": "positive",
        "G": "positive",
    }
    assert performance["sentiment_score"].to_dict() == pytest.approx(
        {"A": 1.0, "B": 0.0, "D": -1 / 3, "E": -1.0, "F": 1.0, "G": 1.0}
    )
    called_at = performance["called_at"]
    assert str(called_at.dtype) == "datetime64[us, UTC]"
    assert called_at["A"] == pd.Timestamp("2024-01-05T09:00:00Z")  # no offset: UTC
    assert called_at["G"] == pd.Timestamp("2024-01-05T14:00:00Z")  # +02:00 converted

    agents = landed.gold("calls_agent_daily").set_index("agent_name").sort_index()
    assert [column for column in agents.columns if column != "date"] == [
        "calls",
        "conversions",
        "conversion_rate",
        "upsell_revenue",
        "avg_upsell_per_call",
        "positive_calls",
        "neutral_calls",
        "negative_calls",
    ]
    dana, sam = agents.loc["Dana Reyes"], agents.loc["Sam Ortiz"]
    assert (dana["calls"], dana["conversions"]) == (3, 2)
    assert dana["conversion_rate"] == pytest.approx(2 / 3)
    assert dana["upsell_revenue"] == pytest.approx(1354.98)
    assert dana["avg_upsell_per_call"] == pytest.approx(1354.98 / 3)  # ÷ all calls
    assert (dana["positive_calls"], dana["neutral_calls"], dana["negative_calls"]) == (1, 1, 1)
    assert (sam["calls"], sam["conversions"], sam["upsell_revenue"]) == (3, 1, 0.0)
    assert sam["avg_upsell_per_call"] == 0.0
    assert (sam["positive_calls"], sam["neutral_calls"], sam["negative_calls"]) == (2, 0, 1)

    (kpis,) = landed.gold("calls_kpis_daily").drop(columns="date").to_dict("records")
    assert kpis == pytest.approx(
        {
            "total_calls": 6,
            "conversion_rate": 0.5,
            "total_upsell_revenue": 1354.98,
            "avg_upsell_per_call": 1354.98 / 6,
        }
    )

    evaluations = check_results(result)
    assert len(evaluations) == len(CALLS.check_keys)
    # The one bad line of seven is quarantined, and its share is worth a WARN.
    rejects = evaluations.pop(("silver/calls_transcripts", "reject_ratio"))
    assert not rejects.passed and rejects.severity == AssetCheckSeverity.WARN
    assert rejects.metadata["reject_ratio_by_day"].value == {DAY: pytest.approx(1 / 7)}
    assert all(evaluation.passed for evaluation in evaluations.values())


def test_bad_records_are_quarantined_with_their_line_and_the_rest_kept(landed):
    landed.materialize(EVERYTHING, day=DAY)
    quarantined = landed.quarantine("calls_transcripts")
    assert quarantined[["source_file", "line_number", "reason", "raw"]].to_dict("records") == [
        {
            "source_file": f"landing/calls/transcripts/{DAY}/part-0001.jsonl",
            "line_number": 3,
            "reason": "invalid JSON: Expecting property name enclosed in double quotes (column 46)",
            "raw": BAD_JSON_LINE,
        }
    ]
    lineage = landed.query(
        "SELECT call_id, source_file, line_number, duration_seconds "
        "FROM silver.calls_transcripts ORDER BY call_id"
    )
    folder = f"landing/calls/transcripts/{DAY}"
    assert lineage.to_dict("records") == [
        {"call_id": "A", "source_file": f"{folder}/part-0001.jsonl", "line_number": 1, "duration_seconds": 300},
        {"call_id": "B", "source_file": f"{folder}/part-0001.jsonl", "line_number": 2, "duration_seconds": 300},
        {"call_id": "D", "source_file": f"{folder}/part-0001.jsonl", "line_number": 4, "duration_seconds": 300},
        # .json array: the element's 1-based position is its line number
        {"call_id": "E", "source_file": f"{folder}/batch.json", "line_number": 1, "duration_seconds": 300},
        {"call_id": "F", "source_file": f"{folder}/batch.json", "line_number": 2, "duration_seconds": 300},
        {"call_id": "G", "source_file": f"{folder}/call-G.json", "line_number": 1, "duration_seconds": None},
    ]  # fmt: skip


def test_each_kind_of_bad_record_is_quarantined_and_bronze_reconciles(lake):
    good = call("OK", "Agent: Hello. Customer: Sign me up.")
    records = [
        good,
        {key: value for key, value in call("NOCUST", "Hi.").items() if key != "customer_id"},
        call("WRONGTYPE", "Hi.", duration_seconds="five minutes"),
        call("BADTIME", "Hi.", timestamp="yesterday at noon"),
        call("OK", "Agent: A second delivery of the same call_id."),
        call("EMAIL", "Hi.", customer_id="maria.silva@example.com"),
        call("NOAGENT", "Hi.", agent="   "),
        [1, 2, 3],
    ]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success

    assert lake.query("SELECT call_id FROM silver.calls_transcripts")["call_id"].tolist() == ["OK"]
    reasons = lake.quarantine("calls_transcripts").set_index("line_number")["reason"].to_dict()
    assert reasons[2] == 'missing required field "customer_id"'
    assert reasons[3] == 'field "duration_seconds" is not an integer'
    assert reasons[4] == 'field "timestamp" is not an ISO-8601 timestamp'
    assert reasons[5].startswith("duplicate call_id (first seen at ")
    assert reasons[6].startswith("column 'customer_id' failed str_matches")
    assert reasons[7].startswith("column 'agent_name' failed")
    assert reasons[8] == "not a JSON object"
    assert len(reasons) == 7

    evaluations = check_results(result)
    reconciliation = evaluations[("silver/calls_transcripts", RECONCILES_WITH_BRONZE)]
    assert reconciliation.passed
    assert reconciliation.metadata["by_day"].data[DAY] == {
        "bronze": 8,
        "silver": 1,
        "quarantine": 7,
        "unaccounted": 0,
    }
    assert evaluations[("silver/calls_transcripts", UNIQUE_KEY)].passed


def test_a_day_without_files_writes_empty_gold_and_warns(lake):
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success

    for table in ("calls_performance", "calls_agent_daily"):
        assert lake.gold(table).empty, table
        assert (lake.layout.gold_dir / table / f"date={DAY}").is_dir(), table
    kpis = lake.gold("calls_kpis_daily")
    assert len(kpis) == 1
    row = kpis.iloc[0]
    assert row["total_calls"] == 0
    assert row["total_upsell_revenue"] == 0.0
    assert pd.isna(row["conversion_rate"]) and pd.isna(row["avg_upsell_per_call"])

    evaluations = check_results(result)
    empty = evaluations[("bronze/calls_transcripts", NON_EMPTY)]
    assert not empty.passed and empty.severity == AssetCheckSeverity.WARN
    failed = {key for key, evaluation in evaluations.items() if not evaluation.passed}
    assert failed == {("bronze/calls_transcripts", NON_EMPTY)}


def test_a_range_run_gives_one_kpi_row_per_day_empty_days_included(lake):
    lake.land_jsonl("calls", "transcripts", "2024-01-06", [call("N1", "Count me in."), "not json"])
    result = lake.materialize(EVERYTHING, day="2024-01-05", last_day="2024-01-07")
    assert result.success
    kpis = lake.query("SELECT * FROM gold.calls_kpis_daily ORDER BY date")
    assert kpis["date"].astype(str).tolist() == ["2024-01-05", "2024-01-06", "2024-01-07"]
    assert kpis["total_calls"].tolist() == [0, 1, 0]
    assert kpis["conversion_rate"].isna().tolist() == [True, False, True]
    assert kpis["conversion_rate"][1] == 1.0
    # Each day's materialization counts its own rows, bronze (a stream), silver and gold.
    for table in ("bronze/calls_transcripts", "silver/calls_transcripts", "gold/calls_performance"):
        counts = {
            event.partition: event.materialization.metadata["dagster/row_count"].value
            for event in result.get_asset_materialization_events()
            if event.asset_key.to_user_string() == table
        }
        assert counts == {
            "2024-01-05": 0,
            "2024-01-06": 2 if "bronze" in table else 1,
            "2024-01-07": 0,
        }, table
    silver = {
        event.partition: {
            name: event.materialization.metadata[name].value
            for name in ("bronze_rows", "quarantined_rows")
        }
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "silver/calls_transcripts"
    }
    assert silver == {
        "2024-01-05": {"bronze_rows": 0, "quarantined_rows": 0},
        "2024-01-06": {"bronze_rows": 2, "quarantined_rows": 1},
        "2024-01-07": {"bronze_rows": 0, "quarantined_rows": 0},
    }


def test_band_checks_warn_without_failing_the_run(lake):
    # Every call converts (rate 1.0 > 0.60) and every call names an upsell it gives no
    # amount for (share 1.0 > 0.25).
    lake.land_jsonl(
        "calls",
        "transcripts",
        DAY,
        [call(f"C{n}", "Agent: Want the warranty? Customer: Count me in.") for n in range(4)],
    )
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success
    evaluations = check_results(result)
    for key in [
        ("gold/calls_kpis_daily", CONVERSION_RATE),
        ("silver/calls_transcripts", UPSELL_WITHOUT_AMOUNT),
    ]:
        evaluation = evaluations[key]
        assert not evaluation.passed, key
        assert evaluation.severity == AssetCheckSeverity.WARN, key
        assert evaluation.metadata["ratio_by_day"].data == {DAY: 1.0}, key


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


@pytest.mark.parametrize("call_id", ["maria.silva@example.com", "+55 11 94242-0150", "C 7"])
def test_a_call_id_that_is_not_opaque_is_quarantined(lake, call_id):
    """Gold keeps the call id: one holding an e-mail address, a phone number as people write
    it or whitespace (a name) would carry it there."""
    records = [call(call_id, "Sign me up.", customer_id="CUST-1"), call("C8", "No.")]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    lake.materialize(EVERYTHING, day=DAY)

    (rejected,) = lake.quarantine("calls_transcripts").itertuples()
    assert rejected.line_number == 1 and "call_id" in rejected.reason
    assert lake.gold("calls_performance")["call_id"].tolist() == ["C8"]


def test_a_call_timed_after_the_day_after_its_files_day_is_quarantined(lake):
    """A day's file holds that day's calls, with a day of slack for an export named by its
    local date; a year typed wrong (2199) was counted in the day's KPIs."""
    next_day = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
    after = (date.fromisoformat(DAY) + timedelta(days=2)).isoformat()
    records = [
        call("C1", "Sign me up.", timestamp="2199-12-31T23:59:59"),
        call("C2", "No.", timestamp=f"{after}T00:00:00"),
        call("C3", "No.", timestamp=f"{next_day}T23:59:59"),  # within the slack
        call("C4", "No.", timestamp="2020-01-01T10:00:00"),  # earlier: kept
    ]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    lake.materialize(EVERYTHING, day=DAY)

    rejected = lake.quarantine("calls_transcripts").sort_values("line_number")
    assert rejected["line_number"].tolist() == [1, 2]
    assert set(rejected["reason"]) == {'field "timestamp" is after the day after its file\'s day'}
    assert sorted(lake.gold("calls_performance")["call_id"]) == ["C3", "C4"]


def test_a_redelivered_file_replaces_the_partition(lake):
    lake.land_jsonl("calls", "transcripts", DAY, [call("R1", "Sign me up."), call("R2", "No.")])
    lake.materialize(EVERYTHING, day=DAY)
    lake.land_jsonl("calls", "transcripts", DAY, [call("R1", "No thanks.")])
    lake.materialize(EVERYTHING, day=DAY)

    assert lake.gold("calls_performance")["call_id"].tolist() == ["R1"]
    (kpis,) = lake.gold("calls_kpis_daily").to_dict("records")
    assert (kpis["total_calls"], kpis["conversion_rate"]) == (1, 0.0)


def test_gold_parquet_is_hive_partitioned_and_readable_by_duckdb(landed):
    landed.materialize(EVERYTHING, day=DAY)
    gold = landed.layout.gold_dir
    for table in GOLD_TABLES:
        files = list((gold / table / f"date={DAY}").glob("*.parquet"))
        assert files, table
        for file in files:
            assert "date" not in pq.read_schema(file).names, file
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT date, sum(calls) AS calls, sum(conversions) / sum(calls) AS rate "
            "FROM read_parquet(?, hive_partitioning = true) GROUP BY date",
            [str(gold / "calls_agent_daily" / "**" / "*.parquet")],
        ).fetchall()
    finally:
        con.close()
    assert rows == [(date(2024, 1, 5), 6, 0.5)]


def test_a_generated_day_passes_every_check(lake):
    generate(
        GenerationRequest(
            landing_dir=lake.layout.landing_dir,
            start=date.fromisoformat(DAY),
            days=1,
            scale=0.02,
            show_progress=False,
        )
    )
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success
    failed = [key for key, evaluation in check_results(result).items() if not evaluation.passed]
    assert failed == []
    (kpis,) = lake.gold("calls_kpis_daily").to_dict("records")
    assert kpis["total_calls"] == 100
    assert lake.quarantine("calls_transcripts").empty


def kept_and_quarantined(lake, *, column_only: bool = False):
    """Silver's (day, call_id) and the quarantine's (day, line, reason), sorted; with
    `column_only`, a model check's reason up to its column (`column 'agent_name'`)."""
    silver = lake.query("SELECT date, call_id FROM silver.calls_transcripts ORDER BY 1, 2")
    quarantined = lake.quarantine("calls_transcripts")[["date", "line_number", "reason"]]
    return (
        [(str(day)[:10], call_id) for day, call_id in silver.itertuples(index=False)],
        sorted(
            (str(day)[:10], line, reason.split(" failed ")[0] if column_only else reason)
            for day, line, reason in quarantined.itertuples(index=False)
        ),
    )


def test_a_call_delivered_again_on_a_later_day_is_quarantined(lake):
    """`call_id` is unique (contract section 2) across days too: the first delivery wins and
    a later day's repeat is quarantined naming that day, so the KPIs count the call once,
    whether the days run one by one, as one range, or again."""
    days = ("2024-01-05", "2024-01-06", "2024-01-07")
    lake.land_jsonl("calls", "transcripts", days[0], [call("A", "Hi."), call("B", "Hi.")])
    lake.land_jsonl(
        "calls",
        "transcripts",
        days[1],
        [call("C", "Hi.", timestamp=f"{days[1]}T10:00:00"), call("A", "Hi.")],
    )
    lake.land_jsonl("calls", "transcripts", days[2], [call("B", "Again.")])
    kept = [(days[0], "A"), (days[0], "B"), (days[1], "C")]
    repeats = [
        (days[1], 2, f"duplicate call_id (first delivered on {days[0]})"),
        (days[2], 1, f"duplicate call_id (first delivered on {days[0]})"),
    ]

    for day in days:
        assert lake.materialize(EVERYTHING, day=day).success
    assert kept_and_quarantined(lake) == (kept, repeats)
    for _ in range(2):  # the range over days already run, then again
        assert lake.materialize(EVERYTHING, day=days[0], last_day=days[2]).success
        assert kept_and_quarantined(lake) == (kept, repeats)
    calls = lake.query("SELECT date, total_calls FROM gold.calls_kpis_daily ORDER BY date")
    assert calls["total_calls"].tolist() == [2, 1, 0]


def test_a_repeat_on_a_later_day_of_one_range_run_is_quarantined(lake):
    days = ("2024-01-05", "2024-01-06")
    lake.land_jsonl("calls", "transcripts", days[0], [call("A", "Hi.")])
    lake.land_jsonl("calls", "transcripts", days[1], [call("A", "Hi."), call("A", "Hi.")])

    assert lake.materialize(EVERYTHING, day=days[0], last_day=days[1]).success

    quarantined = lake.quarantine("calls_transcripts").sort_values("line_number")
    assert quarantined["reason"].tolist() == [
        f"duplicate call_id (first delivered on {days[0]})",
        f"duplicate call_id (first delivered on {days[0]})",
    ]


def test_days_run_out_of_order_keep_a_repeated_call_once(lake):
    """A later day run first keeps the call (it is the first delivery seen); the earlier day,
    run after it, quarantines its copy naming the day that kept it, so no run fails and the
    call counts once. Running both days together restores first delivery wins."""
    days = ("2024-01-05", "2024-01-06")
    lake.land_jsonl("calls", "transcripts", days[0], [call("A", "Hi.")])
    lake.land_jsonl("calls", "transcripts", days[1], [call("A", "Hi.")])

    def kept_and_reasons():
        silver = lake.query("SELECT date, call_id FROM silver.calls_transcripts")
        reasons = lake.quarantine("calls_transcripts")[["date", "reason"]]
        return (
            [(str(day)[:10], call_id) for day, call_id in silver.itertuples(index=False)],
            [(str(day)[:10], reason) for day, reason in reasons.itertuples(index=False)],
        )

    assert lake.materialize(EVERYTHING, day=days[1]).success
    assert lake.materialize(EVERYTHING, day=days[0]).success  # its unique_key check passes
    assert kept_and_reasons() == (
        [(days[1], "A")],
        [(days[0], f"duplicate call_id (already kept on {days[1]})")],
    )

    assert lake.materialize(EVERYTHING, day=days[0], last_day=days[1]).success
    assert kept_and_reasons() == (
        [(days[0], "A")],
        [(days[1], f"duplicate call_id (first delivered on {days[0]})")],
    )


def test_a_bad_first_copy_does_not_make_a_good_later_one_a_duplicate(lake):
    """A key's first copy is its first good one. The first copies here fail validation (an
    empty agent name, a customer id that is an e-mail): the good later copies are kept, in
    the same file and on a later day, whether the days run one by one or as one range; a
    copy after a kept one is still a duplicate of it."""
    days = ("2024-01-05", "2024-01-06")
    lake.land_jsonl(
        "calls",
        "transcripts",
        days[0],
        [
            call("A", "Hi.", agent=""),  # line 1: bad, A's copy on the next day is kept
            call("B", "Hi.", customer_id="b@example.com"),  # 2: bad
            call("B", "Hi."),  # 3: B's first good copy
            call("C", "Hi.", agent=" "),  # 4: bad
            call("C", "Hi.", customer_id="c@example.com"),  # 5: bad
            call("C", "Hi."),  # 6: C's first good copy
            call("C", "Again."),  # 7: a duplicate of line 6
        ],
    )
    lake.land_jsonl(
        "calls", "transcripts", days[1], [call("A", "Hi.", timestamp=f"{days[1]}T10:00:00")]
    )

    first_file = f"landing/calls/transcripts/{days[0]}/part.jsonl"
    expected = (
        [(days[0], "B"), (days[0], "C"), (days[1], "A")],
        [
            (days[0], 1, "column 'agent_name'"),
            (days[0], 2, "column 'customer_id'"),
            (days[0], 4, "column 'agent_name'"),
            (days[0], 5, "column 'customer_id'"),
            (days[0], 7, f"duplicate call_id (first seen at {first_file}:6)"),
        ],
    )
    for day in days:
        assert lake.materialize(EVERYTHING, day=day).success
    assert kept_and_quarantined(lake, column_only=True) == expected
    assert lake.materialize(EVERYTHING, day=days[0], last_day=days[1]).success
    assert kept_and_quarantined(lake, column_only=True) == expected


def test_a_day_read_that_no_run_built_fails_the_step_saying_which(landed):
    """As the UI's Materialize on one gold partition does: the table it reads was built for
    DAY and never for the day after. That day's step fails naming the table and the day,
    instead of writing gold from no rows with every check passing."""
    performance = AssetKey(["gold", "calls_performance"])
    assert landed.materialize(EVERYTHING, day=DAY).success
    assert landed.materialize(EVERYTHING, selection=[performance], day=DAY).success

    unbuilt = landed.materialize(
        EVERYTHING, selection=[performance], day="2024-01-06", raise_on_error=False
    )

    assert not unbuilt.success
    (failure,) = [event for event in unbuilt.all_events if event.is_step_failure]
    assert failure.step_key == "gold__calls_performance"
    assert (
        "silver/calls_transcripts was never built for 2024-01-06: materialize it for those "
        "days first" in failure.step_failure_data.error.message
    ), failure.step_failure_data.error.message
    assert not (landed.layout.gold_dir / "calls_performance" / "date=2024-01-06").exists()

    # Seen in an audit of the UI: an asset-graph backfill carried its days to every later
    # day, and the advice to materialize 1,060 days never landed was all it said.
    backfilled = landed.materialize(
        EVERYTHING, selection=[performance], day="2024-01-06", last_day="2024-01-07",
        tags={"dagster/backfill": "abcdefgh"}, raise_on_error=False,
    )  # fmt: skip
    (failure,) = [event for event in backfilled.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "was never built for 2024-01-06 (and 1 more day)" in message
    assert "This run is part of backfill abcdefgh" in message
    assert "backfill a range from the daily_partitions job instead" in message
    # A backfill of that one day: the day itself was never built, no fan-out to explain.
    one_day = landed.materialize(
        EVERYTHING, selection=[performance], day="2024-01-06",
        tags={"dagster/backfill": "ijklmnop"}, raise_on_error=False,
    )  # fmt: skip
    (failure,) = [event for event in one_day.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "was never built for 2024-01-06: materialize it" in message
    assert "part of backfill" not in message
