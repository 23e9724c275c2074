"""Parquet files for bad records (`quarantine`): what is written and counted per day, days
cleared by a fixed re-delivery, and the masked sample and reason counts the event log gets
in place of the records' text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.parquet import DATA_FILE
from cx_assets_tests.lakehouse.day_streams import D1, D2, D3, US_UTC

AT = datetime(2024, 1, 8, 3, 0, tzinfo=UTC)
SECRET = "maria.silva@example.com"


def rejects(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "source_file", "line_number", "reason", "raw"])


def test_quarantine_write_and_count(tmp_path):
    q = tmp_path / "quarantine"
    frame = rejects(
        (D1, "landing/s/t/2024-01-05/b.jsonl", 1, "invalid JSON", "{"),
        (D1, "landing/s/t/2024-01-05/a.jsonl", 7, 'missing required field "Id"', "{}"),
        (D2, "landing/s/t/2024-01-06/a.jsonl", 2, "invalid JSON", "x"),
    )
    assert quarantine.write(q, "s_t", frame, [D1, D2], AT) == 3
    assert quarantine.count(q, "s_t", [D1]) == 2
    assert quarantine.count(q, "s_t", [D1, D2]) == 3
    assert quarantine.count(q, "s_t", [D3]) == 0

    path = q / "s_t" / "date=2024-01-05" / DATA_FILE
    schema = pq.read_schema(path)
    assert schema.names == ["source_file", "line_number", "reason", "raw", "quarantined_at"]
    assert schema.field("quarantined_at").type == US_UTC
    # The file alone (`partitioning=None`: pyarrow before 25 adds the folder's `date`).
    assert pq.read_table(path, partitioning=None).to_pylist() == [  # sorted by file, then line
        {
            "source_file": "landing/s/t/2024-01-05/a.jsonl",
            "line_number": 7,
            "reason": 'missing required field "Id"',
            "raw": "{}",
            "quarantined_at": AT,
        },
        {
            "source_file": "landing/s/t/2024-01-05/b.jsonl",
            "line_number": 1,
            "reason": "invalid JSON",
            "raw": "{",
            "quarantined_at": AT,
        },
    ]


def test_quarantine_days_without_rejects_are_cleared(tmp_path):
    q = tmp_path / "quarantine"
    quarantine.write(
        q,
        "s_t",
        rejects((D1, "f", 1, "r", "x"), (D2, "f", 2, "r", "y"), (D3, "f", 3, "r", "z")),
        [D1, D2, D3],
        AT,
    )
    # A fixed re-delivery of D2 and D3: D1 is not in this write and keeps its rows.
    assert quarantine.write(q, "s_t", rejects((D3, "g", 9, "r", "w")), [D2, D3], AT) == 1
    assert quarantine.count(q, "s_t", [D1]) == 1
    assert quarantine.count(q, "s_t", [D2]) == 0
    assert pq.read_table(q / "s_t" / "date=2024-01-06" / DATA_FILE).num_rows == 0
    assert pq.read_table(q / "s_t" / "date=2024-01-07" / DATA_FILE)["line_number"].to_pylist() == [
        9
    ]
    # No rejects at all: the dataset still reads, empty, with its columns.
    assert quarantine.write(q, "s_t", rejects(), [D1, D3], AT) == 0
    assert quarantine.count(q, "s_t", [D1, D2, D3]) == 0
    read = duckdb.sql(
        f"SELECT * FROM read_parquet('{q / 's_t'}/**/*.parquet', hive_partitioning = true)"
    )
    assert read.columns == ["source_file", "line_number", "reason", "raw", "quarantined_at", "date"]
    assert read.fetchall() == []


def test_quarantine_accepts_a_timestamp_date_column(tmp_path):
    # A `date` column straight from DuckDB/pandas is datetime64; its rows must not be lost.
    q = tmp_path / "quarantine"
    frame = rejects((D1, "f", 1, "invalid JSON", "{"), (D2, "f", 2, "invalid JSON", "["))
    frame["date"] = pd.to_datetime(frame["date"])
    assert quarantine.write(q, "s_t", frame, [D1, D2], AT) == 2
    assert quarantine.count(q, "s_t", [D1]) == 1
    assert quarantine.count(q, "s_t", [D2]) == 1


def test_masked_sample_never_holds_the_raw_text(tmp_path):
    frame = rejects(
        (D1, "b.jsonl", 3, "invalid JSON", f'{{"Email": "{SECRET}"'),
        (D1, "a.jsonl", 9, 'field "Id" is not an integer', f'{{"Id": "{SECRET}"}}'),
        (D1, "a.jsonl", 2, 'missing required field "Id"', SECRET),
    )
    sample = quarantine.masked_sample(frame, limit=2)
    assert sample == [
        {"source_file": "a.jsonl", "line_number": 2, "reason": 'missing required field "Id"'},
        {"source_file": "a.jsonl", "line_number": 9, "reason": 'field "Id" is not an integer'},
    ]
    assert SECRET not in repr(quarantine.masked_sample(frame))
    assert "maria" not in repr(quarantine.masked_sample(frame))


def test_reason_counts_groups_reasons_without_their_position():
    frame = rejects(
        (D1, "a", 3, "duplicate id (first seen at landing/s/t/2024-01-05/a.jsonl:1)", "x"),
        (D1, "a", 4, "duplicate id (first seen at landing/s/t/2024-01-05/a.jsonl:2)", "x"),
        (D1, "a", 5, 'missing required field "Id"', "x"),
        (D1, "b", 1, "invalid JSON: Expecting value (column 1)", "x"),
        (D1, "b", 2, "invalid JSON: Expecting value (column 7)", "x"),
        (D1, "b", 3, "invalid JSON: Expecting value (line 2 column 1)", "x"),
    )
    assert quarantine.reason_counts(frame) == {
        "invalid JSON: Expecting value": 3,
        "duplicate id": 2,
        'missing required field "Id"': 1,
    }
    assert quarantine.reason_counts(rejects()) == {}
    # ties in reason order, whatever order the rows came in (as the SQL path orders them)
    tied = rejects((D1, "a", 1, "z reason", "x"), (D1, "a", 2, "a reason", "x"))
    assert list(quarantine.reason_counts(tied)) == ["a reason", "z reason"]


def test_reason_counts_group_bytes_that_are_not_utf8_without_their_position():
    """Found in an audit: a binary file dropped among a day's transcripts was 78 records of
    eight reasons, `invalid UTF-8 at byte 0` to `at byte 7`, so the run's summary and the
    check's metadata listed each byte as a reason of its own."""
    frame = rejects(
        (D1, "a", 1, "invalid UTF-8 at byte 0", "x"),
        (D1, "a", 2, "invalid UTF-8 at byte 17", "x"),
        (D1, "b", 1, "file not read: CSV header is not UTF-8 (invalid UTF-8 at byte 2)", "x"),
        (D1, "c", 1, "file not read: CSV header is not UTF-8 (invalid UTF-8 at byte 9)", "x"),
    )
    assert quarantine.reason_counts(frame) == {
        "file not read: CSV header is not UTF-8 (invalid UTF-8)": 2,
        "invalid UTF-8": 2,
    }


def test_a_reason_naming_a_first_copy_shows_its_file_as_outside_quarantine():
    """The quarantine keeps a duplicate's reason as written (its first copy's landed file);
    the log and the event log show that file with an e-mail address or phone number masked."""
    folder = "landing/crm/interactions/2024-01-05/"
    reason = f"duplicate interaction_id (first seen at {folder}+55 11 94242-0150.jsonl:7)"
    shown = quarantine.shown_reason(reason)
    assert re.fullmatch(
        re.escape(f"duplicate interaction_id (first seen at {folder}[phone].jsonl#")
        + r"[0-9a-f]{8}:7\)",
        shown,
    )
    plain = f"duplicate interaction_id (first seen at {folder}part.jsonl:7)"
    assert quarantine.shown_reason(plain) == plain
    assert quarantine.shown_reason('field "Id" is not an integer') == 'field "Id" is not an integer'


def test_reasons_over_days_count_a_keys_repeats_as_one_whatever_their_first_day():
    """Found in a review: a week re-delivered each day after (a source sending its last 7
    days every day) quarantines repeats whose reasons differ by the day each key was first
    delivered, so the run's summary of a range listed one reason a day ("and 25 more
    reasons"), and the reject ratio's description counted each. Across days they are one
    reason, its first place the first record's; repeats of another key stay apart."""
    first_day = "duplicate call_id (first delivered on {})"
    kept_later = "duplicate call_id (already kept on {})"
    counted = {
        first_day.format("2024-01-04"): 2,
        first_day.format("2024-01-05"): 1,
        kept_later.format("2024-01-09"): 1,
        "duplicate Id (first delivered on 2024-01-05)": 1,
    }
    assert quarantine.reasons_across_days(counted) == {
        "duplicate call_id (first delivered on an earlier day)": 3,
        "duplicate call_id (already kept on a later day)": 1,
        "duplicate Id (first delivered on an earlier day)": 1,
    }


def test_the_summarys_reasons_count_a_keys_repeats_over_days_as_one(tmp_path):
    q = tmp_path / "quarantine"
    reason = "duplicate call_id (first delivered on {})"
    quarantine.write(q, "s_t", rejects(
        (D2, "b.csv", 3, reason.format("2024-01-05"), "x"),
        (D2, "b.csv", 2, reason.format("2024-01-05"), "x"),
        (D3, "a.csv", 1, reason.format("2024-01-06"), "x"),
        (D3, "a.csv", 4, "missing required field \"call_id\"", "x"),
    ), [D2, D3], AT)  # fmt: skip
    folder = quarantine.dataset_dir(q, "s_t")
    folders = [folder / f"date={day}" for day in (D2, D3)]

    reasons, files = quarantine.reasons_with_first_place(folders)

    assert files == 2
    assert reasons == [
        ("duplicate call_id (first delivered on an earlier day)", 3, "b.csv", 2),
        ('missing required field "call_id"', 1, "a.csv", 4),
    ]


def test_a_long_record_is_quarantined_whole_with_its_own_line(tmp_path):
    """Found by mutation testing: quarantine's `raw` cut to its first 200 characters, or its
    line moved by one, passed every test here (their records were a few characters, on
    lines the sort alone checked). A customer's long ticket, with accents, is kept as
    landed, so a fixed re-delivery can be made from it."""
    q = tmp_path / "quarantine"
    description = "Cliente relata cobrança em duplicidade; " * 150
    raw = f'{{"ticket_id": "TCK-1", "description": "{description}", "priority": 9}}'
    assert quarantine.write(q, "s_t", rejects((D1, "t.jsonl", 41, "bad priority", raw)), [D1], AT)
    (row,) = pq.read_table(q / "s_t" / "date=2024-01-05" / DATA_FILE).to_pylist()
    assert (row["line_number"], row["raw"]) == (41, raw)
    assert len(row["raw"]) == len(raw) > 6000


def test_the_event_logs_sample_masks_contacts_in_file_names_and_first_copies():
    """Found by mutation testing: the sample's file shown as landed, or its reason's first
    copy, passed every test here (their files' names held no contact): an address in a
    file's name reached the event log."""
    named = "landing/crm/contacts/2024-01-05/ana.souza@example.com.jsonl"
    frame = rejects(
        (D1, named, 3, "invalid JSON", SECRET),
        (
            D1,
            "landing/crm/contacts/2024-01-05/b.jsonl",
            2,
            f"duplicate Id (first seen at {named}:1)",
            "x",
        ),
    )
    sample = quarantine.masked_sample(frame)
    assert [row["line_number"] for row in sample] == [3, 2]
    assert "ana.souza" not in repr(sample)
    assert sample[0]["source_file"].startswith("landing/crm/contacts/2024-01-05/[email].jsonl#")
    assert re.fullmatch(
        r"duplicate Id \(first seen at landing/crm/contacts/2024-01-05/\[email\]\.jsonl#[0-9a-f]{8}:1\)",
        sample[1]["reason"],
    )


def test_a_json_records_break_on_a_later_line_is_one_reason_wherever_it_is():
    """A `.json` record spread over lines gives where it broke as `line L column C of the
    record` (`parsing.explain_invalid_json`); found by mutation testing: that form could be
    left out of the grouping, every test passing (they had `line L column C` alone)."""
    frame = rejects(
        (
            D1,
            "a.json",
            3,
            "invalid JSON: Expecting ',' delimiter (line 2 column 5 of the record)",
            "x",
        ),
        (
            D1,
            "a.json",
            9,
            "invalid JSON: Expecting ',' delimiter (line 4 column 1 of the record)",
            "x",
        ),
    )
    assert quarantine.reason_counts(frame) == {"invalid JSON: Expecting ',' delimiter": 2}


def test_the_summary_counts_every_file_a_days_records_came_from(tmp_path):
    """Found by mutation testing: one file counted a day passed every test (each of their
    days had one file)."""
    q = tmp_path / "quarantine"
    quarantine.write(q, "s_t", rejects(
        (D2, "a.csv", 3, "invalid JSON", "x"), (D2, "b.csv", 2, "invalid JSON", "x"),
        (D3, "a.csv", 1, "invalid JSON", "x"),
    ), [D2, D3], AT)  # fmt: skip
    folder = quarantine.dataset_dir(q, "s_t")

    reasons, files = quarantine.reasons_with_first_place(
        [folder / f"date={D2}", folder / f"date={D3}"]
    )

    assert (reasons, files) == ([("invalid JSON", 3, "a.csv", 3)], 2)


def test_a_days_reasons_are_counted_over_all_its_records(tmp_path):
    """What `records_only_in_quarantine` and the run's summary say of another day. Found by
    mutation testing: counting the day's first record alone passed every test here."""
    q = tmp_path / "quarantine"
    quarantine.write(q, "s_t", rejects(
        (D1, "a.csv", 1, "invalid UTF-8 at byte 3", "x"), (D1, "a.csv", 2, "invalid JSON", "x"),
        (D1, "b.csv", 5, "invalid UTF-8 at byte 9", "x"),
    ), [D1, D2], AT)  # fmt: skip
    folder = quarantine.dataset_dir(q, "s_t")

    assert quarantine.day_reasons(folder, D1) == {"invalid UTF-8": 2, "invalid JSON": 1}
    assert quarantine.day_reasons(folder, D2) == {}
    assert quarantine.day_reasons(folder, D3) == {}  # a day never written
