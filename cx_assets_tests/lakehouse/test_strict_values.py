"""Values DuckDB would take but the contract does not: `parse_bronze` matches text before it
casts it, so timestamps, dates and numbers DuckDB would read (`infinity`, `epoch`, `+99:00`,
year 9999, `NaN`, `1_000`) are rejected, and JSON only DuckDB's lenient parser takes is
invalid; the legitimate values still pass.

Bronze tables are built by hand (`parse_rows`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cx_assets.lakehouse.parsing import Field, RecordSpec
from cx_assets_tests.lakehouse.parse_rows import (
    CSV_SPEC,
    GOOD,
    add,
    bronze_connection,
    csv_row,
    parse,
    reasons,
)

con = pytest.fixture(bronze_connection, name="con")


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
        "2024-01-05T1:00:00Z",  # an hour of one digit
        "2024-01-05T10:00:00.Z",  # a point without fraction digits: DuckDB reads 10:00
        "2024-01-05T10:15:60Z",  # a 60th second is a leap second, at the end of a UTC day only
        "2016-12-31T23:59:60-03:00",  # 02:59:60 UTC
        "2016-12-31T23:59:61Z",
        "2016-12-31T23:60:00Z",
        "1950-06-30T10:15:60Z",  # before 1970 too, where the instant is a negative epoch
    ],
)
def test_timestamps_duckdb_would_cast_but_the_contract_refuses(con, value):
    add(con, {**GOOD, "Date": value}, line=1)
    [row] = parse(con)
    assert row["reject_reason"] == 'field "Date" is not an ISO-8601 timestamp in years 1900-2199'
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
        # A leap second is ISO-8601 (and UTC's); it is read as the second after it, as
        # PostgreSQL does. Seen in a time audit: quarantined as "not an ISO-8601 timestamp".
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC)),
        ("2016-12-31T23:59:60", datetime(2017, 1, 1, tzinfo=UTC)),
        ("2016-12-31 23:59:60.5", datetime(2017, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2016-12-31T20:59:60-03:00", datetime(2017, 1, 1, tzinfo=UTC)),
        ("2015-07-01T05:29:60+05:30", datetime(2015, 7, 1, tzinfo=UTC)),
        ("1972-06-30T23:59:60Z", datetime(1972, 7, 1, tzinfo=UTC)),
        ("1969-12-31T23:59:60Z", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_legitimate_timestamps_still_pass(con, value, expected):
    add(con, {**GOOD, "Date": value}, line=1)
    [row] = parse(con)
    assert (row["reject_reason"], row["occurred_at"]) == (None, expected)


OFFSET_SPEC = RecordSpec(fields=[Field("Date", "occurred_at", "offset_timestamp")])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240105T101500Z", datetime(2024, 1, 5, 10, 15, tzinfo=UTC)),
        ("20240105T101500-0300", datetime(2024, 1, 5, 13, 15, tzinfo=UTC)),
        ("20240105T101500+05", datetime(2024, 1, 5, 5, 15, tzinfo=UTC)),
        ("20240105T1015Z", datetime(2024, 1, 5, 10, 15, tzinfo=UTC)),
        ("20240105T101500.25Z", datetime(2024, 1, 5, 10, 15, 0, 250000, tzinfo=UTC)),
        ("20240105T101500", datetime(2024, 1, 5, 10, 15, tzinfo=UTC)),  # no offset: UTC
        ("20161231T235960Z", datetime(2017, 1, 1, tzinfo=UTC)),  # a leap second
    ],
)
def test_iso_8601_basic_format_timestamps_are_read(con, value, expected):
    """ISO-8601's basic format (`20261201T101500Z`, `20261201T101500-0300`) is ISO-8601 too:
    it was quarantined as `not an ISO-8601 timestamp` (seen landing such a call transcript,
    CRM interaction, ticket and journey event), a reason its sender could only dispute."""
    add(con, {**GOOD, "Date": value}, line=1)
    [row] = parse(con)
    assert (row["reject_reason"], row["occurred_at"]) == (None, expected)


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-05T101500Z",  # extended date, basic time: ISO-8601 mixes neither way
        "20240105T10:15:00Z",
        "20240105T101500-03:00",  # basic date and time, extended offset
        "20240105 101500Z",  # the basic format's `T` is required
        "20240105T101500+99",  # the extended format's limits hold
        "22000105T101500Z",
        "20240105T101560Z",  # a 60th second only at the end of a UTC day
        "20240105T1015000Z",
    ],
)
def test_basic_format_timestamps_outside_the_contract_are_refused(con, value):
    add(con, {**GOOD, "Date": value}, line=1)
    [row] = parse(con)
    assert row["reject_reason"] == 'field "Date" is not an ISO-8601 timestamp in years 1900-2199'


def test_a_basic_format_crm_time_without_an_offset_is_refused(con):
    add(con, {"Date": "20240105T101500"}, line=1)
    add(con, {"Date": "20240105T071500-0300"}, line=2)
    rows = parse(con, OFFSET_SPEC)
    assert [(row["reject_reason"], row["occurred_at"]) for row in rows] == [
        ('field "Date" is not an ISO-8601 timestamp with an offset, in years 1900-2199', None),
        (None, datetime(2024, 1, 5, 10, 15, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("value", "reason", "expected"),
    [
        ("2024-01-05T10:00:00-03:00", None, datetime(2024, 1, 5, 13, tzinfo=UTC)),
        ("2024-01-05T10:00:00.250Z", None, datetime(2024, 1, 5, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2016-12-31T21:59:60-02:00", None, datetime(2017, 1, 1, tzinfo=UTC)),
        ("2016-12-31T23:59:60", "no offset", None),
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
        assert (
            row["reject_reason"]
            == 'field "Date" is not an ISO-8601 timestamp with an offset, in years 1900-2199'
        )
    else:
        assert row["reject_reason"] is None
    assert row["occurred_at"] == expected


def test_offset_timestamp_is_a_timestamptz_column(con):
    add(con, {"Date": "2024-01-05T10:00:00Z"}, line=1)
    parse(con, OFFSET_SPEC)
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE typed)").fetchall())
    assert types["occurred_at"] == "TIMESTAMP WITH TIME ZONE"


@pytest.mark.parametrize(
    "value",
    [
        "infinity",
        "epoch",
        "2024-1-5",
        "1899-12-31",
        "3000-01-01",
        # A timestamp is no date: DuckDB's cast would keep its day as written, the 5th,
        # where this instant is the 6th in UTC.
        "2024-01-05T23:30:00-03:00",
        "2024-01-05T10:00:00",
    ],
)
def test_dates_outside_the_contract_are_rejected(con, value):
    spec = RecordSpec(fields=[Field("Day", "day", "date")])
    add(con, {"Day": value}, line=1)
    [row] = parse(con, spec)
    assert (row["reject_reason"], row["day"]) == (
        'field "Day" is not a YYYY-MM-DD date in years 1900-2199',
        None,
    )


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
        ("at", "infinity", 'field "at" is not an ISO-8601 timestamp in years 1900-2199'),
        ("at", "epoch", 'field "at" is not an ISO-8601 timestamp in years 1900-2199'),
        (
            "at",
            "2024-01-05T10:00:00+99:00",
            'field "at" is not an ISO-8601 timestamp in years 1900-2199',
        ),
        ("at", "2024-01-05 10:00:00", None),  # no offset: UTC
        ("score", "-0.25", None),
        ("score", "1e3", None),
        ("score", "-2.5E-3", None),
        ("id", "-12", None),
        ("tenure", "+7", None),
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
