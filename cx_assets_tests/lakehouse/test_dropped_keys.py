"""Where `records_only_in_quarantine` looks for other days' copies (`dropped_keys`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pytest

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.dropped_keys import KeyedTable, _days_outside, copies_of_dropped_keys
from cx_assets.lakehouse.parquet import DATA_FILE, DamagedParquetError, partition_folder

# Calls kept once over all days: silver.calls, its copies in digital_calls' quarantine.
CALLS = KeyedTable("silver", "calls", ("call_id",), ("call_id",), "digital_calls", "digital")


def calls_warehouse(kept: list[str]) -> duckdb.DuckDBPyConnection:
    """A warehouse with an empty bronze.digital_calls and silver.calls keeping `kept`."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA bronze; CREATE SCHEMA silver")
    con.execute(
        "CREATE TABLE bronze.digital_calls (date DATE, source_file VARCHAR, "
        "line_number BIGINT, record VARCHAR, raw VARCHAR)"
    )
    con.execute("CREATE TABLE silver.calls (call_id VARCHAR)")
    for key in kept:
        con.execute("INSERT INTO silver.calls VALUES (?)", [key])
    return con


def test_only_folders_named_by_a_day_are_other_days(tmp_path):
    """A stray folder in a quarantine dataset (`date=junk`, a file) is no day to read."""
    for name in ("date=2024-01-01", "date=2024-01-02", "date=junk", "notes"):
        (tmp_path / name).mkdir()
    (tmp_path / "date=2024-01-03.txt").write_text("")

    assert _days_outside(tmp_path, ["2024-01-02"]) == ["2024-01-01"]
    assert _days_outside(tmp_path / "missing", []) == []
    assert _days_outside(tmp_path / "date=2024-01-03.txt", []) == []  # a file, no dataset


def test_a_record_kept_on_no_day_is_found_by_its_copies_quarantined_elsewhere(tmp_path):
    """A run of 2024-01-05, re-delivered without calls C1 and C3, whose copies the next day's
    quarantine holds as repeats first delivered on the 5th: both are kept on no day, and
    named with the run that keeps them. Copies of a call kept (C2, and C4 as padded ` C4 `
    in a CSV row, typed stripped) or naming another day (C5) are not, nor is the 7th's copy
    of C2 at the same file and line as the 6th's of C1 (a copy is its own day's record).
    Found by mutation testing: reading a JSON copy's key from `record` alone (null but for
    CSV rows), the stripped form or the named day left out, or the count, days or command
    wrong passed every unit test (only two whole runs, one copy each, saw this); so did
    a copy joined to another day's record at its file and line (D13), the quarantine
    looked for under the silver table's name (D22), the run's own days read (D21), and a
    silver table never built not answered as none (D18)."""
    run_day, next_day, later = "2024-01-05", "2024-01-06", "2024-01-07"
    first = f"duplicate call_id (first delivered on {run_day})"
    elsewhere = "duplicate call_id (first delivered on 2024-01-03)"
    kept = f"duplicate call_id (already kept on {run_day})"
    copies = [  # day, line, record (CSV rows), raw, why it was quarantined
        (next_day, 1, None, '{"call_id": "C1"}', first),
        (next_day, 2, None, '{"call_id": "C2"}', first),
        (next_day, 3, '{"call_id": " C4 "}', " C4 ,M1", first),
        (next_day, 4, None, '{"call_id": "C5"}', elsewhere),
        (next_day, 5, '{"call_id": "C3"}', "C3,M2", kept),
        (later, 1, None, '{"call_id": "C2"}', first),
    ]  # fmt: skip
    con = calls_warehouse(["C2", "C4"])
    for day, line, record, raw, _ in copies:
        con.execute(
            "INSERT INTO bronze.digital_calls VALUES (?, 'calls.csv', ?, ?, ?)",
            [date.fromisoformat(day), line, record, raw],
        )
    rejects = pd.DataFrame(
        [(day, "calls.csv", line, reason, raw) for day, line, _, raw, reason in copies],
        columns=["date", "source_file", "line_number", "reason", "raw"],
    )
    days = [date.fromisoformat(day) for day in (run_day, next_day, later)]
    quarantine.write(tmp_path, "digital_calls", rejects, days, datetime(2024, 1, 8, tzinfo=UTC))

    found = copies_of_dropped_keys(con, CALLS, tmp_path, [run_day])

    assert (found.of_days, found.holding, found.records) == ((run_day,), (next_day,), 2)
    assert found.command() == (
        f"cx-lakehouse run --date {run_day} --to {next_day} --select group:digital"
    )
    assert copies_of_dropped_keys(con, CALLS, tmp_path, ["2024-01-04"]) is None
    assert copies_of_dropped_keys(con, CALLS, tmp_path, [run_day, next_day]) is None
    assert copies_of_dropped_keys(con, CALLS, tmp_path, []) is None
    never_built = KeyedTable("silver", "absent", ("call_id",), ("call_id",), "digital_calls", "x")
    assert copies_of_dropped_keys(con, never_built, tmp_path, [run_day]) is None


def test_a_damaged_quarantine_file_of_another_day_is_named_with_the_run_that_writes_it(tmp_path):
    """Found by mutation testing: reading the files without asking `quarantine.day_rows`
    first (D06) failed naming the file alone, not the run that writes it anew."""
    folder = partition_folder(tmp_path / "digital_calls", date(2024, 1, 6))
    folder.mkdir(parents=True)
    (folder / DATA_FILE).write_bytes(b"not parquet")

    with pytest.raises(DamagedParquetError) as raised:
        copies_of_dropped_keys(calls_warehouse([]), CALLS, tmp_path, ["2024-01-05"])

    assert str(raised.value).startswith(f"{folder / DATA_FILE} cannot be read as Parquet")
    assert str(raised.value).endswith(
        ": it is the quarantine of 2024-01-06, which running that day again writes anew: "
        "cx-lakehouse run --date 2024-01-06 --select group:digital"
    )
