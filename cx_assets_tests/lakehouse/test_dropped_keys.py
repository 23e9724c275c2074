"""Where `records_only_in_quarantine` looks for other days' copies (`dropped_keys`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cx_assets.lakehouse.dropped_keys import _days_outside


def test_only_folders_named_by_a_day_are_other_days(tmp_path):
    """A stray folder in a quarantine dataset (`date=junk`, a file) is no day to read."""
    for name in ("date=2024-01-01", "date=2024-01-02", "date=junk", "notes"):
        (tmp_path / name).mkdir()
    (tmp_path / "date=2024-01-03.txt").write_text("")

    assert _days_outside(tmp_path, ["2024-01-02"]) == ["2024-01-01"]
    assert _days_outside(tmp_path / "missing", []) == []


def test_a_record_kept_on_no_day_is_found_by_its_copies_quarantined_elsewhere(tmp_path):
    """A run of 2024-01-05, re-delivered without calls C1 and C3, whose copies the next day's
    quarantine holds as repeats first delivered on the 5th: both are kept on no day, and
    named with the run that keeps them. Copies of a call kept (C2, and C4 as padded ` C4 `
    in a CSV row, typed stripped) or naming another day (C5) are not. Found by mutation
    testing: reading a JSON copy's key from `record` alone (null but for CSV rows), the
    stripped form or the named day left out, or the count, days or command wrong passed
    every unit test (only two whole runs, one copy each, saw this)."""
    from datetime import date

    import duckdb

    from cx_assets.lakehouse import quarantine
    from cx_assets.lakehouse.dropped_keys import KeyedTable, copies_of_dropped_keys

    run_day, next_day = "2024-01-05", "2024-01-06"
    copies = [  # line, record (CSV rows), raw, why it was quarantined
        (1, None, '{"call_id": "C1"}', f"duplicate call_id (first delivered on {run_day})"),
        (2, None, '{"call_id": "C2"}', f"duplicate call_id (first delivered on {run_day})"),
        (3, '{"call_id": " C4 "}', " C4 ,M1", f"duplicate call_id (first delivered on {run_day})"),
        (4, None, '{"call_id": "C5"}', "duplicate call_id (first delivered on 2024-01-03)"),
        (5, '{"call_id": "C3"}', "C3,M2", f"duplicate call_id (already kept on {run_day})"),
    ]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA bronze; CREATE SCHEMA silver")
    con.execute(
        "CREATE TABLE bronze.digital_calls (date DATE, source_file VARCHAR, "
        "line_number BIGINT, record VARCHAR, raw VARCHAR)"
    )
    for line, record, raw, _ in copies:
        con.execute(
            "INSERT INTO bronze.digital_calls VALUES (?, 'calls.csv', ?, ?, ?)",
            [date.fromisoformat(next_day), line, record, raw],
        )
    con.execute(
        "CREATE TABLE silver.digital_calls AS SELECT * FROM (VALUES ('C2'), ('C4')) t(call_id)"
    )
    rejects = pd.DataFrame(
        [(next_day, "calls.csv", line, reason, raw) for line, _, raw, reason in copies],
        columns=["date", "source_file", "line_number", "reason", "raw"],
    )
    days = [date.fromisoformat(day) for day in (run_day, next_day)]
    quarantine.write(tmp_path, "digital_calls", rejects, days, datetime(2024, 1, 7, tzinfo=UTC))
    table = KeyedTable(
        "silver", "digital_calls", ("call_id",), ("call_id",), "digital_calls", "digital"
    )

    found = copies_of_dropped_keys(con, table, tmp_path, [run_day])

    assert (found.of_days, found.holding, found.records) == ((run_day,), (next_day,), 2)
    assert found.command() == (
        f"cx-lakehouse run --date {run_day} --to {next_day} --select group:digital"
    )
    assert copies_of_dropped_keys(con, table, tmp_path, ["2024-01-04"]) is None
