"""Duplicate keys (`duplicates.with_duplicates_rejected`, as `parse_bronze` calls it for a
`RecordSpec` with a `unique_key`): the first good copy of a key is kept by day, file, then
line, and each later copy names it; within a day, or across the days of one parse.

Bronze tables are built by hand (`parse_rows`). The step-level rule (a copy that a rule
or the model quarantines leaves the next good one kept) is in `test_silver_duplicates`.
"""

from __future__ import annotations

import pytest

from cx_assets.lakehouse.parsing import RecordSpec
from cx_assets_tests.lakehouse.parse_rows import (
    DAY,
    FILE_A,
    GOOD,
    KEYED,
    NEXT_DAY,
    SPEC,
    add,
    bronze_connection,
    parse,
    reasons,
)

FILE_B = "landing/crm/interactions/2024-01-05/b.jsonl"

con = pytest.fixture(bronze_connection, name="con")


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
        (FILE_A, 5): f"duplicate Id (first seen at {FILE_A}:1)",
        (FILE_B, 1): f"duplicate Id (first seen at {FILE_A}:3)",
        (FILE_B, 2): f"duplicate Id (first seen at {FILE_A}:1)",
        (FILE_B, 3): None,
    }


def test_line_order_is_numeric_not_text(con):
    add(con, {**GOOD, "Id": 1}, line=10)
    add(con, {**GOOD, "Id": 1}, line=9)
    rows = parse(con, KEYED)
    assert reasons(rows) == {9: None, 10: f"duplicate Id (first seen at {FILE_A}:9)"}


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
        (NEXT_DAY, 1, "duplicate Id (first delivered on 2024-01-05)"),
        (NEXT_DAY, 2, None),
    ]
