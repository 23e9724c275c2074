"""`parse_bronze`: typing bronze records against a `RecordSpec`, in DuckDB.

Bronze tables are built by hand (one row per tuple below) in an in-memory DuckDB whose
session is UTC, as `Warehouse.connect` makes it; one test goes through the real readers
and the bronze Parquet writer instead.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import duckdb
import pytest

from cx_assets.lakehouse.bronze_stream import read_landed
from cx_assets.lakehouse.landing import discover
from cx_assets.lakehouse.parquet import publish_stream
from cx_assets.lakehouse.parsing import Field, RecordSpec, explain_invalid_json, parse_bronze

DAY = date(2024, 1, 5)
NEXT_DAY = date(2024, 1, 6)
FILE_A = "landing/crm/interactions/2024-01-05/a.jsonl"
FILE_B = "landing/crm/interactions/2024-01-05/b.jsonl"

SPEC = RecordSpec(
    fields=[
        Field("Id", "id", "int"),
        Field("Name", "name", "str"),
        Field("Date", "occurred_at", "timestamp"),
        Field("Note", "note", "str", required=False),
        Field("Amount", "amount", "number", required=False),
    ]
)
GOOD = {"Id": 1, "Name": "Ana", "Date": "2024-01-05T10:00:00Z"}


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("CREATE SCHEMA bronze")
    connection.execute(
        "CREATE TABLE bronze.t (date DATE, source_file VARCHAR, line_number BIGINT, "
        "ingested_at TIMESTAMPTZ, raw VARCHAR, record VARCHAR, read_error VARCHAR)"
    )
    yield connection
    connection.close()


def add(
    con,
    raw: str | dict,
    *,
    line: int,
    file: str = FILE_A,
    day: date = DAY,
    record: str | dict | None = None,
    read_error: str | None = None,
) -> None:
    raw_text = raw if isinstance(raw, str) else json.dumps(raw)
    record_text = record if record is None or isinstance(record, str) else json.dumps(record)
    con.execute(
        "INSERT INTO bronze.t VALUES (?, ?, ?, TIMESTAMPTZ '2024-01-06 00:00:00+00', ?, ?, ?)",
        [day, file, line, raw_text, record_text, read_error],
    )


def parse(con, spec: RecordSpec = SPEC, dates=(DAY,)) -> list[dict]:
    parse_bronze(con, spec, "bronze", "t", list(dates), into="typed")
    cursor = con.execute("SELECT * FROM typed ORDER BY date, source_file, line_number")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def reasons(rows: list[dict]) -> dict[int, str | None]:
    return {row["line_number"]: row["reject_reason"] for row in rows}


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
        ({"Date": "yesterday"}, 'field "Date" is not an ISO-8601 timestamp'),
        ({"Date": "2024-02-30T10:00:00Z"}, 'field "Date" is not an ISO-8601 timestamp'),
        ({"Date": 1704448800}, 'field "Date" is not an ISO-8601 timestamp'),
    ],
)
def test_wrong_json_types_are_rejected(con, change, reason):
    add(con, {**GOOD, **change}, line=1)
    [row] = parse(con)
    assert row["reject_reason"] == reason


def test_number_accepts_json_integers(con):
    add(con, {**GOOD, "Amount": 3}, line=1)
    add(con, {**GOOD, "Amount": 2.25}, line=2)
    rows = parse(con)
    assert [(row["reject_reason"], row["amount"]) for row in rows] == [(None, 3.0), (None, 2.25)]


def test_date_and_bool_kinds(con):
    spec = RecordSpec(fields=[Field("Day", "day", "date"), Field("Ok", "ok", "bool")])
    add(con, {"Day": "2024-01-05", "Ok": True}, line=1)
    add(con, {"Day": "05/01/2024", "Ok": False}, line=2)
    add(con, {"Day": "2024-01-05", "Ok": "true"}, line=3)
    rows = parse(con, spec)
    assert [(row["reject_reason"], row["day"], row["ok"]) for row in rows] == [
        (None, date(2024, 1, 5), True),
        ('field "Day" is not a YYYY-MM-DD date', None, False),
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


def test_field_names_with_punctuation(con):
    spec = RecordSpec(fields=[Field("E-mail Subject", "email_subject", "str")])
    add(con, {"E-mail Subject": "Re: hi"}, line=1)
    add(con, {"E-mail": "x"}, line=2)
    rows = parse(con, spec)
    assert [(row["reject_reason"], row["email_subject"]) for row in rows] == [
        (None, "Re: hi"),
        ('missing required field "E-mail Subject"', None),
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


def test_object_after_json_whitespace_other_than_spaces_is_an_object(con):
    # JSON allows tab, CR and LF around values; a JSONL line indented with a tab is an object.
    add(con, '\t{"Id": 1, "Name": "Ana", "Date": "2024-01-05T10:00:00Z"}', line=1)
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


def test_json_only_duckdbs_lenient_parser_takes_is_invalid(con):
    comma = "invalid JSON: a comma before a closing bracket"
    constant = "invalid JSON: NaN and Infinity are not JSON numbers"
    good = '{"Id": 1, "Name": "Ana", "Date": "2024-01-05T10:00:00Z"'
    cases = {
        1: (good + ",}", comma),
        2: (good + ', "Extra": [1, 2 ,\n]}', comma),
        3: (good + ', "Extra": NaN}', constant),  # an undeclared field: nothing else sees it
        4: (good + ', "Extra": -Infinity}', constant),
        # In strings they are text, and text is fine.
        5: (good + ', "Note": "NaN, Infinity ,} ,]"}', None),
        6: (good + ', "Note": "a \\" ,}"}', None),
        7: (good + ', "Note": "\\\\", "Extra": 1}', None),
        # A declared number says which field is wrong.
        8: (good + ', "Amount": NaN}', 'field "Amount" is not a number'),
    }
    for line, (raw, _) in cases.items():
        add(con, raw, line=line)
    assert reasons(parse(con)) == {line: reason for line, (_, reason) in cases.items()}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"Id": 1, "Name": ', "invalid JSON: Expecting value (column 19)"),
        ('{"Id" 1}', "invalid JSON: Expecting ':' delimiter (column 7)"),
        ("not json", "invalid JSON: Expecting value (column 1)"),
        # valid JSON to Python, not to DuckDB: a lone surrogate is no character
        ('{"Name": "\\ud800"}', "invalid JSON: a string escapes a lone UTF-16 surrogate, "
         "which is no character"),
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

CSV_SPEC = RecordSpec(
    fields=[
        Field("id", "id", "int"),
        Field("name", "name", "str"),
        Field("at", "at", "timestamp"),
        Field("score", "score", "number", required=False),
        Field("tenure", "tenure", "int", required=False),
    ],
    text_values=True,
)


def csv_row(con, line: int, **values: str) -> None:
    record = {"id": "1", "name": "Ana", "at": "2024-01-05 10:00:00", **values}
    add(con, ",".join(record.values()), line=line, record=record)


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
        4: 'field "at" is not an ISO-8601 timestamp',
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
# Duplicates and days
# ---------------------------------------------------------------------------------------

KEYED = RecordSpec(fields=SPEC.fields, unique_key=("id",))


def test_duplicate_key_within_a_day_keeps_the_first_by_file_then_line(con):
    add(con, {**GOOD, "Id": 1}, line=1, file=FILE_A)
    add(con, {**GOOD, "Id": 7}, line=3, file=FILE_A)
    add(con, {**GOOD, "Id": 1}, line=5, file=FILE_A)
    # b sorts after a: its line 1 comes after every line of a.
    add(con, {**GOOD, "Id": 7}, line=1, file=FILE_B)
    add(con, {**GOOD, "Id": 1}, line=2, file=FILE_B)
    add(con, {**GOOD, "Id": 2}, line=3, file=FILE_B)

    rows = parse(con, KEYED)

    by_place = {(row["source_file"], row["line_number"]): row["reject_reason"] for row in rows}
    assert by_place == {
        (FILE_A, 1): None,
        (FILE_A, 3): None,
        (FILE_A, 5): f"duplicate id (first seen at {FILE_A}:1)",
        (FILE_B, 1): f"duplicate id (first seen at {FILE_A}:3)",
        (FILE_B, 2): f"duplicate id (first seen at {FILE_A}:1)",
        (FILE_B, 3): None,
    }


def test_line_order_is_numeric_not_text(con):
    add(con, {**GOOD, "Id": 1}, line=10)
    add(con, {**GOOD, "Id": 1}, line=9)
    rows = parse(con, KEYED)
    assert reasons(rows) == {9: None, 10: f"duplicate id (first seen at {FILE_A}:9)"}


def test_a_bad_first_record_does_not_make_a_good_one_a_duplicate(con):
    add(con, {"Id": 1, "Date": "2024-01-05T10:00:00Z"}, line=1)  # no Name
    add(con, {**GOOD, "Id": 1}, line=2)
    assert reasons(parse(con, KEYED)) == {1: 'missing required field "Name"', 2: None}


def test_same_key_on_two_days_is_not_a_duplicate(con):
    add(con, {**GOOD, "Id": 1}, line=1, day=DAY)
    add(con, {**GOOD, "Id": 1}, line=1, day=NEXT_DAY, file=FILE_A.replace("05", "06"))
    rows = parse(con, KEYED, dates=(DAY, NEXT_DAY))
    assert [(row["date"], row["reject_reason"]) for row in rows] == [
        (DAY, None),
        (NEXT_DAY, None),
    ]


def test_a_key_unique_across_days_is_a_duplicate_on_the_later_day_of_one_parse(con):
    """A range run parses its days at once: an `Id` of the first day delivered again on the
    second is the second's duplicate (whole-history tables would count it twice)."""
    add(con, {**GOOD, "Id": 1}, line=1, day=DAY)
    add(con, {**GOOD, "Id": 1}, line=1, day=NEXT_DAY, file=FILE_A.replace("05", "06"))
    add(con, {**GOOD, "Id": 2}, line=2, day=NEXT_DAY, file=FILE_A.replace("05", "06"))
    across = RecordSpec(fields=SPEC.fields, unique_key=("id",), unique_across_days=True)
    rows = parse(con, across, dates=(DAY, NEXT_DAY))
    assert [(row["date"], row["id"], row["reject_reason"]) for row in rows] == [
        (DAY, 1, None),
        (NEXT_DAY, 1, "duplicate id (first delivered on 2024-01-05)"),
        (NEXT_DAY, 2, None),
    ]


def test_only_the_requested_days_are_parsed(con):
    add(con, GOOD, line=1, day=DAY)
    add(con, GOOD, line=2, day=NEXT_DAY)
    add(con, GOOD, line=3, day=date(2024, 1, 7))
    assert [row["line_number"] for row in parse(con, dates=(NEXT_DAY,))] == [2]
    assert parse(con, dates=()) == []


# ---------------------------------------------------------------------------------------
# Through the real readers and bronze Parquet
# ---------------------------------------------------------------------------------------


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
        (a, 5, f"duplicate id (first seen at {a}:1)"),
        (b, 1, None),
        (b, 2, 'field "Id" is not an integer'),
    ]
    assert [row["id"] for row in rows if row["reject_reason"] is None] == [1, 4]


# ---------------------------------------------------------------------------------------
# Values DuckDB would take but the contract does not
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "infinity",
        "-infinity",
        "epoch",
        "2024-01-05T10:00:00+99:00",  # offsets stop at ±18:00
        "2024-01-05T10:00:00+18:01",
        "2024-01-05T10:00:00-19:00",
        "2024-01-05T10:00:00+03:60",
        "2024-01-05T10:00:00 America/Sao_Paulo",  # a zone name is not ISO-8601
        "2024-01-05T10:00:00 UTC",
        "1899-12-31T23:59:59Z",  # accepted years: 1900-2199
        "2200-01-01T00:00:00Z",  # pandas' dates end in 2262: gold by day would not load
        "2300-01-01T00:00:00Z",
        "3000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "1899-12-31T23:30:00-01:00",  # years as written, whatever the offset
        "10000-01-01T00:00:00Z",
        "2024-1-5T10:00:00Z",
        "2024-01-05T10:00:00.Z",  # a point without fraction digits: DuckDB reads 10:00
    ],
)
def test_timestamps_duckdb_would_cast_but_the_contract_refuses(con, value):
    add(con, {**GOOD, "Date": value}, line=1)
    [row] = parse(con)
    assert row["reject_reason"] == 'field "Date" is not an ISO-8601 timestamp'
    assert row["occurred_at"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-05T10:00:00-03:00", datetime(2024, 1, 5, 13, tzinfo=UTC)),
        ("2024-01-05T10:00:00Z", datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("2024-01-05T10:00:00.123456Z", datetime(2024, 1, 5, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-01-05T10:00:00.5+05:30", datetime(2024, 1, 5, 4, 30, 0, 500000, tzinfo=UTC)),
        ("2024-01-05T10:00:00-0300", datetime(2024, 1, 5, 13, tzinfo=UTC)),
        ("2024-01-05T10:00:00+18:00", datetime(2024, 1, 4, 16, tzinfo=UTC)),
        ("2024-01-05T10:00:00-18:00", datetime(2024, 1, 6, 4, tzinfo=UTC)),
        ("2024-01-05 10:00", datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("2024-01-05", datetime(2024, 1, 5, tzinfo=UTC)),
        ("1900-01-01T00:00:00Z", datetime(1900, 1, 1, tzinfo=UTC)),
        ("2199-12-31T23:59:59.999999Z", datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_legitimate_timestamps_still_pass(con, value, expected):
    add(con, {**GOOD, "Date": value}, line=1)
    [row] = parse(con)
    assert (row["reject_reason"], row["occurred_at"]) == (None, expected)


OFFSET_SPEC = RecordSpec(fields=[Field("Date", "occurred_at", "offset_timestamp")])


@pytest.mark.parametrize(
    ("value", "reason", "expected"),
    [
        ("2024-01-05T10:00:00-03:00", None, datetime(2024, 1, 5, 13, tzinfo=UTC)),
        ("2024-01-05T10:00:00.250Z", None, datetime(2024, 1, 5, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2024-01-05T10:00:00", "no offset", None),
        ("2024-01-05 10:00", "no offset", None),
        ("2024-01-05", "no offset", None),
        ("2024-01-05T10:00:00+99:00", "no offset", None),
        ("epoch", "no offset", None),
    ],
)
def test_offset_timestamp_requires_an_offset(con, value, reason, expected):
    add(con, {"Date": value}, line=1)
    [row] = parse(con, OFFSET_SPEC)
    if reason:
        assert row["reject_reason"] == 'field "Date" is not an ISO-8601 timestamp with an offset'
    else:
        assert row["reject_reason"] is None
    assert row["occurred_at"] == expected


def test_offset_timestamp_is_a_timestamptz_column(con):
    add(con, {"Date": "2024-01-05T10:00:00Z"}, line=1)
    parse(con, OFFSET_SPEC)
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE typed)").fetchall())
    assert types["occurred_at"] == "TIMESTAMP WITH TIME ZONE"


@pytest.mark.parametrize("value", ["infinity", "epoch", "2024-1-5", "1899-12-31", "3000-01-01"])
def test_dates_outside_the_contract_are_rejected(con, value):
    spec = RecordSpec(fields=[Field("Day", "day", "date")])
    add(con, {"Day": value}, line=1)
    [row] = parse(con, spec)
    assert (row["reject_reason"], row["day"]) == ('field "Day" is not a YYYY-MM-DD date', None)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
@pytest.mark.parametrize("required", [True, False])
def test_json_numbers_that_are_not_finite_are_rejected(con, number, required):
    # Not valid JSON, but DuckDB's reader takes them; a required NaN used to become null.
    spec = RecordSpec(
        fields=[Field("Id", "id", "int"), Field("Amount", "amount", "number", required)]
    )
    add(con, '{"Id": 1, "Amount": ' + number + "}", line=1)
    [row] = parse(con, spec)
    assert (row["reject_reason"], row["amount"]) == ('field "Amount" is not a number', None)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("score", "NaN", 'field "score" is not a number'),
        ("score", "inf", 'field "score" is not a number'),
        ("score", "-Infinity", 'field "score" is not a number'),
        ("score", "1e999", 'field "score" is not a number'),
        ("at", "infinity", 'field "at" is not an ISO-8601 timestamp'),
        ("at", "epoch", 'field "at" is not an ISO-8601 timestamp'),
        ("at", "2024-01-05T10:00:00+99:00", 'field "at" is not an ISO-8601 timestamp'),
        ("at", "2024-01-05 10:00:00", None),  # no offset: UTC
        ("score", "-0.25", None),
        ("score", "1e3", None),
        ("score", ".5", None),
        ("score", "1_000", 'field "score" is not a number'),  # DuckDB's cast reads 1000
        ("score", "0x10", 'field "score" is not a number'),
        ("score", "1,5", 'field "score" is not a number'),
    ],
)
def test_csv_values_outside_the_contract_are_rejected(con, column, value, reason):
    csv_row(con, 2, **{column: value})
    [row] = parse(con, CSV_SPEC)
    assert row["reject_reason"] == reason
