"""Bad calls records quarantined with their file and line while the rest of the day is kept:
each kind of bad record, a call timed after its file's day, and bronze reconciling with
silver plus quarantine."""

from __future__ import annotations

import json
from datetime import date, timedelta

from cx_assets.lakehouse.checks import RECONCILES_WITH_BRONZE, UNIQUE_KEY
from cx_assets_tests.calls.landing_rows import BAD_JSON_LINE, DAY, EVERYTHING, call
from cx_assets_tests.conftest import check_results


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
        call("PHONE", "Hi.", customer_id="555-201-3344"),
    ]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    result = lake.materialize(EVERYTHING, day=DAY)
    assert result.success

    assert lake.query("SELECT call_id FROM silver.calls_transcripts")["call_id"].tolist() == ["OK"]
    reasons = lake.quarantine("calls_transcripts").set_index("line_number")["reason"].to_dict()
    assert reasons[2] == 'missing required field "customer_id"'
    assert reasons[3] == 'field "duration_seconds" is not an integer'
    assert reasons[4] == 'field "timestamp" is not an ISO-8601 timestamp in years 1900-2199'
    assert reasons[5].startswith("duplicate call_id (first seen at ")
    assert reasons[6].startswith("column 'customer_id' failed opaque_id (no @, +, whitespace")
    assert reasons[7].startswith("column 'agent_name' failed")
    assert reasons[8] == "not a JSON object"
    assert reasons[9].startswith("column 'customer_id' failed opaque_id (no @, +, whitespace")
    assert len(reasons) == 8

    evaluations = check_results(result)
    reconciliation = evaluations[("silver/calls_transcripts", RECONCILES_WITH_BRONZE)]
    assert reconciliation.passed
    assert reconciliation.metadata["by_day"].data[DAY] == {
        "bronze": 9,
        "silver": 1,
        "quarantine": 8,
        "unaccounted": 0,
    }
    assert evaluations[("silver/calls_transcripts", UNIQUE_KEY)].passed


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


def test_a_jsonl_file_whose_lines_end_in_carriage_returns_keeps_its_good_records(lake):
    """Lines ended by a lone `\\r` (classic Mac OS text) are lines, as they are to `csv`:
    JSON Lines' `\\n` alone made the whole file one bad record, its good calls lost to
    silver."""
    lines = [json.dumps(call("A", "Hi.")), "{not json", json.dumps(call("B", "Hello."))]
    lake.land("calls", "transcripts", DAY, "mac.jsonl", "\r".join(lines) + "\r")

    result = lake.materialize(EVERYTHING, day=DAY)

    assert result.success
    kept = lake.query("SELECT call_id, line_number FROM silver.calls_transcripts ORDER BY 1")
    assert kept.to_dict("records") == [
        {"call_id": "A", "line_number": 1},
        {"call_id": "B", "line_number": 3},
    ]
    quarantined = lake.quarantine("calls_transcripts")
    assert quarantined[["line_number", "raw"]].to_dict("records") == [
        {"line_number": 2, "raw": "{not json"}
    ]
    assert check_results(result)[("silver/calls_transcripts", RECONCILES_WITH_BRONZE)].passed


def test_a_call_whose_upsell_sums_above_a_trillion_is_quarantined(lake):
    """Seen in a numbers audit: `$` and 400 nines is a finite number of digits but no finite
    float64: the call's `upsell_amount` and the day's revenue reached gold as infinity.
    Amounts are kept up to a trillion dollars a call, which no day's sum can overflow."""
    records = [
        call("C1", "The premium plan is $" + "9" * 400 + "."),
        call("C2", "The premium plan is $600,000,000,000. The extra one is $400,000,000,001."),
        call("C3", "The premium plan is $1,000,000,000,000."),  # exactly a trillion: kept
        call("C4", "The premium plan is $5."),
        # each a finite float, their sum not: the day's step failed in math.fsum's overflow
        call("C5", "The premium plan is $" + "9" * 308 + " and the extra one $" + "9" * 308 + "."),
    ]
    lake.land_jsonl("calls", "transcripts", DAY, records)
    assert lake.materialize(EVERYTHING, day=DAY).success

    rejected = lake.quarantine("calls_transcripts").sort_values("line_number")
    assert rejected["line_number"].tolist() == [1, 2, 5]
    assert set(rejected["reason"]) == {
        'the upsell amounts of field "transcript_text" sum above 1e12 (a trillion)'
    }
    kpis = lake.gold("calls_kpis_daily")
    assert kpis["total_upsell_revenue"].tolist() == [1e12 + 5.0]


def test_a_csv_file_in_a_table_landing_as_json_says_why_its_numbers_are_not(lake):
    """A CSV's values are all text: each of its numbers in a table whose values land typed
    was 'not an integer' with nothing saying why (a newcomer's audit, an export saved as
    CSV). Its records are quarantined saying so; a JSON file's wrong type is told as before."""
    lake.land_csv("calls", "transcripts", DAY, [call("CSV", "Hi.")], name="export.csv")
    lake.land_jsonl("calls", "transcripts", DAY, [call("TEXT", "Hi.", duration_seconds="300")])
    assert lake.materialize(EVERYTHING, day=DAY).success

    reasons = lake.quarantine("calls_transcripts").set_index("source_file")["reason"].to_dict()
    folder = f"landing/calls/transcripts/{DAY}"
    assert reasons == {
        f"{folder}/export.csv": 'field "duration_seconds" is not an integer (a CSV file\'s '
        "values are text, and this table lands as JSON, whose numbers and booleans are not quoted)",
        f"{folder}/part.jsonl": 'field "duration_seconds" is not an integer',
    }


def test_a_json_array_broken_twice_keeps_the_calls_after_each_break(lake):
    """A `.json` array missing a `,` after B and cut off in E's transcript: each break costs
    the text up to the next call (C; E's cut text), and the calls after it reach silver and
    gold at their own positions. The rest of the file after the first break was one bad
    record, its calls D, F and G with it."""
    calls = {call_id: json.dumps(call(call_id, "Agent: Hello.")) for call_id in "ABCDEFG"}
    cut = calls["E"][: calls["E"].index("Hello") + 3]  # `..."transcript_text": "Agent: Hel`
    lines = [
        "[",
        calls["A"] + ",",
        calls["B"],  # line 3: its `,` missing
        calls["C"] + ",",
        calls["D"] + ",",
        cut,  # line 6: cut off in a string, at the line's end
        calls["F"] + ",",
        calls["G"],
        "]",
    ]
    lake.land("calls", "transcripts", DAY, "batch.json", "\n".join(lines) + "\n")

    result = lake.materialize(EVERYTHING, day=DAY)

    assert result.success
    kept = lake.query("SELECT call_id, line_number FROM silver.calls_transcripts ORDER BY 1")
    assert kept.to_dict("records") == [
        {"call_id": "A", "line_number": 1},
        {"call_id": "B", "line_number": 2},
        {"call_id": "D", "line_number": 4},
        {"call_id": "F", "line_number": 6},
        {"call_id": "G", "line_number": 7},
    ]
    quarantined = lake.quarantine("calls_transcripts").sort_values("line_number")
    assert quarantined[["line_number", "raw", "reason"]].to_dict("records") == [
        {
            "line_number": 3,
            "raw": calls["C"],
            "reason": "invalid JSON: Expecting ',' delimiter (line 4 column 1), "
            "the array read again from line 5 column 1",
        },
        {
            "line_number": 5,
            "raw": cut,
            "reason": f"invalid JSON: Invalid control character at (line 6 column {len(cut) + 1}), "
            "the array read again from line 7 column 1",
        },
    ]
    assert sorted(lake.gold("calls_performance")["call_id"]) == ["A", "B", "D", "F", "G"]
    reconciliation = check_results(result)[("silver/calls_transcripts", RECONCILES_WITH_BRONZE)]
    assert reconciliation.passed
    assert reconciliation.metadata["by_day"].data[DAY] == {
        "bronze": 7,
        "silver": 5,
        "quarantine": 2,
        "unaccounted": 0,
    }


def test_a_broken_json_array_is_read_again_from_a_call_lacking_an_optional_field(lake):
    """The calls before the break all carry the optional `duration_seconds`; C is cut off,
    and D and E after it carry none. D is read again from (it holds every field a call
    requires), so only C's cut text is quarantined and D and E reach silver. They were C's
    one bad record, as D lacked a field every call before the break held."""
    calls = [json.dumps(call(call_id, "Agent: Hello.")) for call_id in "ABC"]
    unmeasured = [call(call_id, "Agent: Hello.") for call_id in "DE"]
    for record in unmeasured:
        del record["duration_seconds"]
    cut = calls[2][: calls[2].index("Hello") + 3]
    lines = ["[", calls[0] + ",", calls[1] + ",", cut, *(json.dumps(c) + "," for c in unmeasured)]
    lines[-1] = lines[-1].removesuffix(",")
    lake.land("calls", "transcripts", DAY, "batch.json", "\n".join([*lines, "]"]) + "\n")

    assert lake.materialize(EVERYTHING, day=DAY).success

    kept = lake.query(
        "SELECT call_id, line_number, duration_seconds FROM silver.calls_transcripts ORDER BY 1"
    )
    assert kept.to_dict("records") == [
        {"call_id": "A", "line_number": 1, "duration_seconds": 300},
        {"call_id": "B", "line_number": 2, "duration_seconds": 300},
        {"call_id": "D", "line_number": 4, "duration_seconds": None},
        {"call_id": "E", "line_number": 5, "duration_seconds": None},
    ]
    quarantined = lake.quarantine("calls_transcripts")
    assert quarantined[["line_number", "raw", "reason"]].to_dict("records") == [
        {
            "line_number": 3,
            "raw": cut,
            "reason": f"invalid JSON: Invalid control character at (line 4 column {len(cut) + 1}), "
            "the array read again from line 5 column 1",
        }
    ]
