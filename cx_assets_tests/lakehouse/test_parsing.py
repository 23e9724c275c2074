"""`parse_bronze`: typing bronze records against a `RecordSpec`, in DuckDB, and the reason
a record is rejected (not JSON, not an object, a reader's error, a missing field, a wrong
type), for JSON and for CSV's text values.

Bronze tables are built by hand (`parse_rows`); one test goes through the real readers
and the bronze Parquet writer instead. Duplicate keys are in `test_duplicate_keys`;
values DuckDB would take but the contract does not, in `test_strict_values`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cx_assets.lakehouse.bronze_stream import read_landed
from cx_assets.lakehouse.landing import discover
from cx_assets.lakehouse.parquet import publish_stream
from cx_assets.lakehouse.parsing import (
    Field,
    RecordSpec,
    after_delivery_sql,
    explain_csv_in_typed_table,
    explain_invalid_json,
    money_reason_sql,
)
from cx_assets_tests.lakehouse.parse_rows import (
    CSV_SPEC,
    DAY,
    FILE_A,
    GOOD,
    KEYED,
    NEXT_DAY,
    SPEC,
    add,
    bronze_connection,
    csv_row,
    parse,
    reasons,
)

con = pytest.fixture(bronze_connection, name="con")


# ---------------------------------------------------------------------------------------
# Typing
# ---------------------------------------------------------------------------------------


def test_good_record_is_typed(con):
    add(con, {**GOOD, "Note": "hi", "Amount": 12, "Extra": [1, 2]}, line=1)
    [row] = parse(con)
    assert row == {
        "date": DAY,
        "source_file": FILE_A,
        "line_number": 1,
        "reject_reason": None,
        "id": 1,
        "name": "Ana",
        "occurred_at": datetime(2024, 1, 5, 10, tzinfo=UTC),
        "note": "hi",
        "amount": 12.0,
    }


def test_typed_column_types(con):
    add(con, GOOD, line=1)
    parse(con)
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE typed)").fetchall())
    assert types["id"] == "BIGINT"
    assert types["name"] == "VARCHAR"
    assert types["occurred_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["amount"] == "DOUBLE"
    assert types["reject_reason"] == "VARCHAR"


def test_a_specs_landed_names_are_its_fields_sources():
    """What a landed record must hold is named as it lands (`Id`, not `id`): a CSV header's
    names, the fields a broken `.json` array is read again by, a duplicate's reason."""
    assert SPEC.landed_fields == ("Id", "Name", "Date", "Note", "Amount")
    assert SPEC.landed_required == ("Id", "Name", "Date")  # Note and Amount are optional
    assert KEYED.landed_key == ("Id",)


def test_missing_and_null_required_fields(con):
    add(con, {"Id": 1, "Date": "2024-01-05T10:00:00Z"}, line=1)  # no Name
    add(con, {**GOOD, "Name": None}, line=2)  # JSON null
    add(con, {"Name": "Ana", "Date": "2024-01-05T10:00:00Z"}, line=3)  # no Id
    rows = parse(con)
    assert reasons(rows) == {
        1: 'missing required field "Name"',
        2: 'missing required field "Name"',
        3: 'missing required field "Id"',
    }
    assert rows[0]["name"] is None


def test_nullable_field_absent_or_null_is_fine(con):
    add(con, GOOD, line=1)
    add(con, {**GOOD, "Note": None, "Amount": None}, line=2)
    rows = parse(con)
    assert reasons(rows) == {1: None, 2: None}
    assert [(row["note"], row["amount"]) for row in rows] == [(None, None), (None, None)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Id": "12"}, 'field "Id" is not an integer'),
        ({"Id": 1.5}, 'field "Id" is not an integer'),
        ({"Id": True}, 'field "Id" is not an integer'),
        ({"Id": 2**64}, 'field "Id" is not an integer'),  # does not fit BIGINT
        ({"Name": 5}, 'field "Name" is not a string'),
        ({"Name": -5}, 'field "Name" is not a string'),  # JSON type BIGINT, not UBIGINT
        ({"Name": {"first": "Ana"}}, 'field "Name" is not a string'),
        ({"Note": 5}, 'field "Note" is not a string'),  # nullable, but not any type
        ({"Amount": "3.5"}, 'field "Amount" is not a number'),
        ({"Date": "yesterday"}, 'field "Date" is not an ISO-8601 timestamp in years 1900-2199'),
        (
            {"Date": "2024-02-30T10:00:00Z"},
            'field "Date" is not an ISO-8601 timestamp in years 1900-2199',
        ),
        ({"Date": 1704448800}, 'field "Date" is not an ISO-8601 timestamp in years 1900-2199'),
    ],
)
def test_wrong_json_types_are_rejected(con, change, reason):
    add(con, {**GOOD, **change}, line=1)
    [row] = parse(con)
    assert row["reject_reason"] == reason


def test_number_accepts_json_integers(con):
    add(con, {**GOOD, "Amount": 3}, line=1)
    add(con, {**GOOD, "Amount": 2.25}, line=2)
    add(con, {**GOOD, "Amount": -3}, line=3)  # JSON type BIGINT, not UBIGINT
    rows = parse(con)
    assert [(row["reject_reason"], row["amount"]) for row in rows] == [
        (None, 3.0),
        (None, 2.25),
        (None, -3.0),
    ]


def test_date_and_bool_kinds(con):
    spec = RecordSpec(fields=[Field("Day", "day", "date"), Field("Ok", "ok", "bool")])
    add(con, {"Day": "2024-01-05", "Ok": True}, line=1)
    add(con, {"Day": "05/01/2024", "Ok": False}, line=2)
    add(con, {"Day": "2024-01-05", "Ok": "true"}, line=3)
    add(con, {"Day": "2024-01-05", "Ok": 1}, line=4)  # DuckDB would cast 1 to true
    rows = parse(con, spec)
    assert [(row["reject_reason"], row["day"], row["ok"]) for row in rows] == [
        (None, date(2024, 1, 5), True),
        ('field "Day" is not a YYYY-MM-DD date in years 1900-2199', None, False),
        ('field "Ok" is not true or false', date(2024, 1, 5), None),
        ('field "Ok" is not true or false', date(2024, 1, 5), None),
    ]


def test_timestamps_without_offset_are_utc_and_offsets_are_converted(con):
    add(con, {**GOOD, "Date": "2024-01-05T10:00:00"}, line=1)
    add(con, {**GOOD, "Date": "2024-01-05T10:00:00-03:00"}, line=2)
    add(con, {**GOOD, "Date": "2024-01-05T23:30:00+05:30"}, line=3)
    add(con, {**GOOD, "Date": "2024-01-05T10:00:00.250Z"}, line=4)
    rows = parse(con)
    assert reasons(rows) == {1: None, 2: None, 3: None, 4: None}
    assert [row["occurred_at"] for row in rows] == [
        datetime(2024, 1, 5, 10, tzinfo=UTC),
        datetime(2024, 1, 5, 13, tzinfo=UTC),
        datetime(2024, 1, 5, 18, tzinfo=UTC),
        datetime(2024, 1, 5, 10, 0, 0, 250_000, tzinfo=UTC),
    ]
    # The same instant, whichever zone it was written in.
    assert rows[1]["occurred_at"] == datetime(2024, 1, 5, 10, tzinfo=timezone(timedelta(hours=-3)))


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("E-mail Subject", 'missing required field "E-mail Subject"'),
        ('The "Subject"', 'missing required field "The "Subject""'),  # quoted in its path
    ],
)
def test_field_names_with_punctuation(con, name, missing):
    spec = RecordSpec(fields=[Field(name, "email_subject", "str")])
    add(con, {name: "Re: hi"}, line=1)
    add(con, {"E-mail": "x"}, line=2)
    rows = parse(con, spec)
    assert [(row["reject_reason"], row["email_subject"]) for row in rows] == [
        (None, "Re: hi"),
        (missing, None),
    ]


# ---------------------------------------------------------------------------------------
# Not JSON, not objects, reader errors
# ---------------------------------------------------------------------------------------


def test_records_that_are_not_json_objects(con):
    add(con, "[1, 2]", line=1)
    add(con, "42", line=2)
    add(con, '"text"', line=3)
    add(con, "null", line=4)
    add(con, '  {"Id": 1, "Name": "Ana", "Date": "2024-01-05T10:00:00Z"}', line=5)
    rows = parse(con)
    assert reasons(rows) == {
        1: "not a JSON object",
        2: "not a JSON object",
        3: "not a JSON object",
        4: "not a JSON object",
        5: None,  # leading spaces are fine
    }


@pytest.mark.parametrize("space", ["\t", "\n", "\r"], ids=["tab", "LF", "CR"])
def test_object_after_json_whitespace_other_than_spaces_is_an_object(con, space):
    # JSON allows tab, CR and LF around values; a JSONL line indented with a tab is an object.
    add(con, space + '{"Id": 1, "Name": "Ana", "Date": "2024-01-05T10:00:00Z"}', line=1)
    [row] = parse(con)
    assert row["reject_reason"] is None
    assert row["id"] == 1


def test_invalid_json(con):
    add(con, '{"Id": 1,', line=1)
    add(con, "not json", line=2)
    add(con, '{"Id": 1} trailing', line=3)
    add(con, "{'Id': 1}", line=4)
    assert reasons(parse(con)) == {
        1: "invalid JSON",
        2: "invalid JSON",
        3: "invalid JSON",
        4: "invalid JSON",
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"Id": 1, "Name": ', "invalid JSON: Expecting value (column 19)"),
        ('{"Id" 1}', "invalid JSON: Expecting ':' delimiter (column 7)"),
        ("not json", "invalid JSON: Expecting value (column 1)"),
        # valid JSON to Python, not to DuckDB: a lone surrogate is no character
        ('{"Name": "\\ud800"}', "invalid JSON: a string escapes a lone UTF-16 surrogate, "
         "which is no character"),
        ('{"Name": "\\udc00"}', "invalid JSON: a string escapes a lone UTF-16 surrogate, "
         "which is no character"),  # a pair's second half alone
        ("[" * 100_000, "invalid JSON: nested too deeply to read"),
    ],
)  # fmt: skip
def test_an_invalid_json_record_says_why_as_python_reads_it(raw, reason):
    """DuckDB says only `invalid JSON`; the quarantined record gets Python's reason and the
    column, as a `.json` file's element does from its reader."""
    assert explain_invalid_json("invalid JSON", raw) == reason
    assert (
        explain_invalid_json('field "Id" is not an integer', raw) == 'field "Id" is not an integer'
    )


@pytest.mark.parametrize(
    ("reason", "source_file", "explained"),
    [
        ('field "Id" is not an integer', "landing/crm/deals/2024-01-05/a.csv", True),
        ('field "Amount" is not a number', "landing/crm/deals/2024-01-05/a.csv", True),
        ('field "Won" is not true or false', "landing/crm/deals/2024-01-05/a.csv", True),
        ('field "Id" is not an integer', "landing/crm/deals/2024-01-05/A.CSV", True),
        ('field "Title" is not a string', "landing/crm/deals/2024-01-05/a.csv", False),
        ('field "Id" is not an integer', "landing/crm/deals/2024-01-05/a.jsonl", False),
    ],
)
def test_a_csv_files_unquoted_kinds_in_a_json_table_say_why(reason, source_file, explained):
    """A CSV file's values are all text: in a table that lands as JSON, its numbers and
    booleans are not, and the reason says so; a string field's reason, or a JSON file's,
    needs no such word."""
    why = (
        " (a CSV file's values are text, and this table lands as JSON, whose numbers and "
        "booleans are not quoted)"
    )
    expected = reason + why if explained else reason
    assert explain_csv_in_typed_table(reason, source_file) == expected


def test_duckdb_refuses_what_the_explanation_names(con):
    add(con, '{"Id": 1, "Name": "\\ud800", "Date": "2024-01-05T10:00:00Z"}', line=1)
    add(con, '{"Id": 2, "Name": "\\ud83d\\ude00", "Date": "2024-01-05T10:00:00Z"}', line=2)
    assert reasons(parse(con)) == {1: "invalid JSON", 2: None}  # a pair is one character


def test_a_field_named_twice_reads_its_first_value(con):
    """JSON leaves a repeated name's meaning open; the rule here is DuckDB's, the first value
    (docs/contract.md says so). The record is kept, and bronze keeps both values."""
    add(con, '{"Id": 1, "Name": "Ana", "Date": "2024-01-05T10:00:00Z", "Name": "Bob"}', line=1)
    add(con, '{"Id": 2, "Name": "Cy", "Date": "2024-01-05T10:00:00Z", "Id": "x"}', line=2)
    rows = parse(con)
    assert [(row["id"], row["name"], row["reject_reason"]) for row in rows] == [
        (1, "Ana", None),
        (2, "Cy", None),
    ]


def test_read_error_takes_precedence(con):
    # The raw text is a valid object missing every field; the reader's error still wins.
    add(con, '{"Id": "\ufffd"}', line=1, read_error="invalid UTF-8 at byte 7")
    add(con, "1,Ana", line=2, read_error="expected 3 fields, got 2")
    add(con, "[", line=3, read_error="invalid JSON: Expecting value (line 1 column 2)")
    assert reasons(parse(con)) == {
        1: "invalid UTF-8 at byte 7",
        2: "expected 3 fields, got 2",
        3: "invalid JSON: Expecting value (line 1 column 2)",
    }


# ---------------------------------------------------------------------------------------
# CSV: text values
# ---------------------------------------------------------------------------------------


def test_csv_text_values_are_cast(con):
    csv_row(con, 2, id="12", score="0.5", tenure="7")
    [row] = parse(con, CSV_SPEC)
    assert row["reject_reason"] is None
    assert (row["id"], row["name"], row["score"], row["tenure"]) == (12, "Ana", 0.5, 7)
    assert row["at"] == datetime(2024, 1, 5, 10, tzinfo=UTC)


def test_csv_empty_string_is_null(con):
    csv_row(con, 2, score="", tenure="")  # nullable: fine
    csv_row(con, 3, name="")  # required: missing
    csv_row(con, 4, id="")
    rows = parse(con, CSV_SPEC)
    assert reasons(rows) == {
        2: None,
        3: 'missing required field "name"',
        4: 'missing required field "id"',
    }
    assert (rows[0]["score"], rows[0]["tenure"]) == (None, None)


def test_csv_values_are_stripped_before_they_are_typed(con):
    # A CSV value is read without its surrounding whitespace (as `str.strip()`): a padded
    # number is that number, and a blank required value is a missing one.
    csv_row(con, 2, id=" 12 ", score="\t0.5 ", tenure=" 7")
    csv_row(con, 3, name="   ")
    rows = parse(con, CSV_SPEC)
    assert reasons(rows) == {2: None, 3: 'missing required field "name"'}
    assert (rows[0]["id"], rows[0]["score"], rows[0]["tenure"]) == (12, 0.5, 7)


def test_csv_values_that_do_not_cast_are_rejected(con):
    csv_row(con, 2, id="abc")
    csv_row(con, 3, score="high")
    csv_row(con, 4, at="5 Jan 2024")
    csv_row(con, 5, tenure="12 months")
    assert reasons(parse(con, CSV_SPEC)) == {
        2: 'field "id" is not an integer',
        3: 'field "score" is not a number',
        4: 'field "at" is not an ISO-8601 timestamp in years 1900-2199',
        5: 'field "tenure" is not an integer',
    }


def test_csv_decimal_text_is_not_an_integer(con):
    # "1.5" is not an integer: it must be rejected, never silently rounded to 2.
    csv_row(con, 2, id="1.5")
    csv_row(con, 3, tenure="2.7")
    rows = parse(con, CSV_SPEC)
    assert reasons(rows) == {
        2: 'field "id" is not an integer',
        3: 'field "tenure" is not an integer',
    }


def test_csv_header_without_the_field_is_missing(con):
    add(con, "1,Ana", line=2, record={"id": "1", "name": "Ana"})
    [row] = parse(con, CSV_SPEC)
    assert row["reject_reason"] == 'missing required field "at"'


# ---------------------------------------------------------------------------------------
# Days
# ---------------------------------------------------------------------------------------


def test_only_the_requested_days_are_parsed(con):
    add(con, GOOD, line=1, day=DAY)
    add(con, GOOD, line=2, day=NEXT_DAY)
    add(con, GOOD, line=3, day=date(2024, 1, 7))
    assert [row["line_number"] for row in parse(con, dates=(NEXT_DAY,))] == [2]
    assert parse(con, dates=()) == []


# ---------------------------------------------------------------------------------------
# Through the real readers and bronze Parquet
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Reasons of the domains' rules: times after delivery, money out of bounds
# ---------------------------------------------------------------------------------------


def reasons_of(con, reason_sql: str, values: str) -> list[str | None]:
    """The reason `reason_sql` gives each row of `values` (SQL rows of `date`, `x`)."""
    query = f"SELECT {reason_sql} FROM (VALUES {values}) AS v(date, x)"
    return [reason for (reason,) in con.execute(query).fetchall()]


def test_a_time_from_two_days_after_its_files_day_is_after_delivery(con):
    values = (
        "(DATE '2024-01-05', TIMESTAMPTZ '2024-01-06 23:59:59.999999+00'),"
        "(DATE '2024-01-05', TIMESTAMPTZ '2024-01-06 21:00:00-03'),"  # 00:00 UTC on the 7th
        "(DATE '2024-01-05', TIMESTAMPTZ '2024-01-07 12:00:00+00')"
    )
    after = 'field "Date" is after the day after its file\'s day'
    assert reasons_of(con, after_delivery_sql("x", "Date"), values) == [None, after, after]


def test_money_below_zero_or_above_a_trillion_has_a_reason(con):
    values = "(NULL, -0.01), (NULL, 0.0), (NULL, 1e12), (NULL, 1000000000000.01), (NULL, NULL)"
    assert reasons_of(con, money_reason_sql("x", "Amount"), values) == [
        'field "Amount" is negative',
        None,
        None,
        'field "Amount" is above 1e12 (a trillion)',
        None,
    ]


def test_landed_files_through_bronze_parquet(tmp_path, con):
    data_dir = tmp_path / "data"
    folder = data_dir / "landing" / "crm" / "interactions" / DAY.isoformat()
    folder.mkdir(parents=True)
    good = json.dumps(GOOD)
    # line 1 good, 2 blank, 3 missing Name, 4 invalid UTF-8, 5 duplicate of line 1
    (folder / "a.jsonl").write_bytes(
        b"\xef\xbb\xbf"
        + good.encode()
        + b"\r\n\r\n"
        + json.dumps({"Id": 2, "Date": "2024-01-05T10:00:00Z"}).encode()
        + b"\r\n"
        + b'{"Id": 3, "Name": "\xff", "Date": "2024-01-05T10:00:00Z"}\n'
        + good.encode()
        + b"\n"
    )
    # array positions 1 and 2: Id 4 good, Id 5 with a string Id
    (folder / "b.json").write_text(
        json.dumps([{**GOOD, "Id": 4}, {**GOOD, "Id": "5"}]), encoding="utf-8"
    )
    files = discover(data_dir / "landing", "crm", "interactions", DAY)
    bronze_dir = data_dir / "bronze" / "crm_interactions"
    written = publish_stream(
        read_landed(files, datetime(2024, 1, 6, tzinfo=UTC)), bronze_dir, [DAY]
    )
    assert written == {DAY: 6}
    con.execute("DROP TABLE bronze.t")
    con.execute(
        f"CREATE VIEW bronze.t AS SELECT * FROM read_parquet("
        f"'{bronze_dir.as_posix()}/*/data.parquet', hive_partitioning = true, "
        f"hive_types = {{'date': DATE}})"
    )

    rows = parse(con, KEYED)

    a = "landing/crm/interactions/2024-01-05/a.jsonl"
    b = "landing/crm/interactions/2024-01-05/b.json"
    assert [(row["source_file"], row["line_number"], row["reject_reason"]) for row in rows] == [
        (a, 1, None),
        (a, 3, 'missing required field "Name"'),
        (a, 4, "invalid UTF-8 at byte 19"),
        (a, 5, f"duplicate Id (first seen at {a}:1)"),
        (b, 1, None),
        (b, 2, 'field "Id" is not an integer'),
    ]
    assert [row["id"] for row in rows if row["reject_reason"] is None] == [1, 4]
