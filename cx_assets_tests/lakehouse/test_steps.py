"""How a silver step's range is cut into the chunks of days it types at once
(`steps.day_chunks`) by their bronze files' sizes: small days together, a large day alone;
a day into parts of whole files (`steps._file_parts`); which keys kept on other days a
chunk's copies meet (`steps._kept_keys`); and when a key a JSON file holds, or a column a
CSV header names, is taken for an optional field's rename (`steps.spelled_alike`), for a
required field's spelling, or said missing."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pandas as pd
import pyarrow
import pyarrow.parquet as pq
import pytest

from cx_assets.lakehouse import steps
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.parquet import DATA_FILE, partition_folder
from cx_assets.lakehouse.parsing import CSV_IN_TYPED_TABLE, Field, RecordSpec
from cx_assets.lakehouse.steps import spelled_alike

DAYS = [date(2024, 1, 1) + timedelta(days=n) for n in range(8)]


@pytest.fixture
def small_bounds(monkeypatch):
    """Chunks of at most 10 records and 1,000 bytes."""
    monkeypatch.setattr(steps, "GROUP_ROWS", 10)
    monkeypatch.setattr(steps, "GROUP_BYTES", 1_000)


def test_small_days_are_typed_together_and_a_large_day_alone(monkeypatch, small_bounds):
    """Each chunk costs a silver step about 0.2 s however few its records: a range of 90
    small digital days typed one at a time spent 13-25 s in each of silver journeys and
    calls, 6-8 s in chunks. Consecutive small days share a chunk up to the bounds; a day
    above a bound, or of no known size, is alone, so a range of large days still holds one
    day's records at a time."""
    days = DAYS[:6]
    sizes = {
        DAYS[0]: (4, 100),
        DAYS[1]: (6, 100),  # 10 records with the day before: still one chunk
        DAYS[2]: (1, 100),  # 11: a chunk of its own begins
        DAYS[3]: (1, 950),  # 1,050 bytes with the day before
        DAYS[4]: (11, 10),  # a large day
        DAYS[5]: None,  # its bronze file could not be read
    }
    assert steps.day_chunks(days, sizes) == [
        [DAYS[0], DAYS[1]],
        [DAYS[2]],
        [DAYS[3]],
        [DAYS[4]],
        [DAYS[5]],
    ]
    assert steps.day_chunks(days, dict.fromkeys(days, (1, 1))) == [days]
    # A day typed in parts (`PART_ROWS`) is never grouped with another.
    monkeypatch.setattr(steps, "PART_ROWS", 1)
    assert steps.day_chunks(days, dict.fromkeys(days, (1, 1))) == [[day] for day in days]
    assert steps.day_chunks(days, {}) == [[day] for day in days]


def test_a_day_at_a_bound_is_small_and_a_large_days_chunk_takes_no_other(small_bounds):
    """A bound is the most a chunk holds, not the least it refuses; the small day after a
    large day begins a chunk of its own."""
    sizes = {
        DAYS[0]: (10, 100),  # as many records as a chunk holds
        DAYS[1]: (0, 0),  # a day of an empty file: it fits
        DAYS[2]: (1, 1_000),  # as many bytes as a chunk holds
        DAYS[3]: (0, 0),
        DAYS[4]: (1, 400),
        DAYS[5]: (1, 600),  # 1,000 bytes with the day before
        DAYS[6]: (11, 10),  # a large day
        DAYS[7]: (1, 1),
    }
    assert steps.day_chunks(DAYS, sizes) == [
        [DAYS[0], DAYS[1]],
        [DAYS[2], DAYS[3]],
        [DAYS[4], DAYS[5]],
        [DAYS[6]],
        [DAYS[7]],
    ]


def test_a_days_size_is_its_bronze_files_records_and_bytes_or_none_unread(tmp_path):
    """Read from each bronze file's footer; a day whose file is missing or is no Parquet
    file is None (typed alone, where its reading says why); a one-day step reads none."""
    folder = tmp_path / "bronze" / "keyed"
    for day, records in [(DAYS[0], 2), (DAYS[1], 1)]:
        partition_folder(folder, day).mkdir(parents=True)
        table = pyarrow.table({"raw": ["{}"] * records})
        pq.write_table(table, partition_folder(folder, day) / DATA_FILE)
    partition_folder(folder, DAYS[2]).mkdir()
    (partition_folder(folder, DAYS[2]) / DATA_FILE).write_bytes(b"not parquet")
    lake = SimpleNamespace(layout=SimpleNamespace(bronze_dir=tmp_path / "bronze"))
    bronze = TableRef("bronze", "keyed")

    sizes = steps._bronze_day_sizes(lake, bronze, DAYS[:4])

    def written_bytes(day: date) -> int:
        return (
            pq.read_metadata(partition_folder(folder, day) / DATA_FILE).row_group(0).total_byte_size
        )

    assert sizes == {
        DAYS[0]: (2, written_bytes(DAYS[0])),
        DAYS[1]: (1, written_bytes(DAYS[1])),
        DAYS[2]: None,
        DAYS[3]: None,
    }
    assert steps._bronze_day_sizes(lake, bronze, DAYS[:1]) == {}


# For each optional field of the landing formats (docs/contract.md): the names an exporter
# renaming it would send (its case, punctuation, the table's name before it, a unit or time
# word swapped or a unit left out, a common abbreviation), and the fields it sends beside
# it that are no rename (an `_id`, `_by`, `_count` or `_at` sibling, a sub-category, a
# second timestamp). Seen in review: `resolved`, `subcategory`, `category_id`,
# `EmailRecipientsCount` named as renames on every file without the field, `csat`,
# `callDuration`, `duration_ms`, `resolved_time` never.
RENAME, EXTRA = True, False
ALIKE_CASES = [
    # crm interactions
    ("crm_interactions", "Title", "title", RENAME),
    ("crm_interactions", "Title", "InteractionTitle", RENAME),
    ("crm_interactions", "Title", "SubTitle", EXTRA),
    ("crm_interactions", "Title", "TitleId", EXTRA),
    ("crm_interactions", "Content", "interaction_content", RENAME),
    ("crm_interactions", "Content", "ContentText", RENAME),
    ("crm_interactions", "Content", "ContentType", EXTRA),
    ("crm_interactions", "Content", "ContentLength", EXTRA),
    ("crm_interactions", "EmailSubject", "Email Subject", RENAME),
    ("crm_interactions", "EmailSubject", "EmailSubjectLength", EXTRA),
    ("crm_interactions", "EmailRecipients", "EmailRecipient", RENAME),
    ("crm_interactions", "EmailRecipients", "Recipients", RENAME),  # may be
    ("crm_interactions", "EmailRecipients", "EmailRecipientsCount", EXTRA),
    ("crm_interactions", "EmailRecipients", "EmailRecipientCount", EXTRA),
    ("crm_interactions", "DealId", "interaction_deal_id", RENAME),
    ("crm_interactions", "DealId", "DealStageId", EXTRA),
    ("crm_interactions", "DealId", "DealTitle", EXTRA),
    # crm contacts
    ("crm_contacts", "CompanyId", "company_id", RENAME),
    ("crm_contacts", "CompanyId", "Company ID", RENAME),
    ("crm_contacts", "CompanyId", "contact_company_id", RENAME),
    # Another word before the field's: which of the two is a rename, one rule cannot tell,
    # so both are named (the warning says it may be one) rather than a rename lost.
    ("crm_contacts", "CompanyId", "OwnerCompanyId", RENAME),
    ("crm_contacts", "CompanyId", "ParentCompanyId", RENAME),  # may be
    ("crm_contacts", "CompanyId", "CompanyName", EXTRA),
    ("crm_contacts", "OwnerId", "ContactOwnerId", RENAME),
    ("crm_contacts", "OwnerId", "OwnerName", EXTRA),
    ("crm_contacts", "OwnerId", "PreviousOwnerId", EXTRA),  # `ownerid`: under 8 letters
    # crm deals
    ("crm_deals", "FinishDate", "finish_date", RENAME),
    ("crm_deals", "FinishDate", "FinishedAt", RENAME),
    ("crm_deals", "FinishDate", "FinishDateTime", RENAME),
    ("crm_deals", "FinishDate", "deal_finish_date", RENAME),
    ("crm_deals", "FinishDate", "ExpectedFinishDate", EXTRA),  # `finish`: under 8 letters
    ("crm_deals", "FinishDate", "FinishedBy", EXTRA),
    ("crm_deals", "FinishDate", "CreateDate", EXTRA),
    # calls transcripts
    ("calls_transcripts", "duration_seconds", "durationSeconds", RENAME),
    ("calls_transcripts", "duration_seconds", "duration", RENAME),
    ("calls_transcripts", "duration_seconds", "duration_secs", RENAME),
    ("calls_transcripts", "duration_seconds", "duration_ms", RENAME),
    ("calls_transcripts", "duration_seconds", "callDuration", RENAME),
    ("calls_transcripts", "duration_seconds", "transcript_duration_seconds", RENAME),
    ("calls_transcripts", "duration_seconds", "talk_duration_seconds", RENAME),  # may be
    ("calls_transcripts", "duration_seconds", "duration_seconds_billed", EXTRA),
    ("calls_transcripts", "duration_seconds", "duration_at", EXTRA),
    # support tickets
    ("support_tickets", "agent_id", "agentId", RENAME),
    ("support_tickets", "agent_id", "ticket_agent_id", RENAME),
    ("support_tickets", "agent_id", "agent_name", EXTRA),
    ("support_tickets", "agent_id", "previous_agent_id", EXTRA),
    ("support_tickets", "agent_id", "agent_group_id", EXTRA),
    ("support_tickets", "first_response_at", "firstResponseAt", RENAME),
    ("support_tickets", "first_response_at", "first_response_time", RENAME),
    ("support_tickets", "first_response_at", "ticket_first_response_at", RENAME),
    ("support_tickets", "first_response_at", "first_resp_at", RENAME),
    ("support_tickets", "first_response_at", "first_response_by", EXTRA),
    ("support_tickets", "first_response_at", "first_response_minutes", EXTRA),
    ("support_tickets", "first_response_at", "last_response_at", EXTRA),
    ("support_tickets", "resolved_at", "ResolvedAt", RENAME),
    ("support_tickets", "resolved_at", "resolved_time", RENAME),
    ("support_tickets", "resolved_at", "resolved_date", RENAME),
    ("support_tickets", "resolved_at", "resolved_on", RENAME),
    ("support_tickets", "resolved_at", "ticket_resolved_at", RENAME),
    ("support_tickets", "resolved_at", "resolved", EXTRA),  # a flag: no time word
    ("support_tickets", "resolved_at", "resolved_by", EXTRA),
    ("support_tickets", "resolved_at", "resolved_by_id", EXTRA),
    ("support_tickets", "resolved_at", "reopened_at", EXTRA),
    ("support_tickets", "category", "ticket_category", RENAME),
    ("support_tickets", "category", "category_name", RENAME),
    ("support_tickets", "category", "subcategory", EXTRA),
    ("support_tickets", "category", "sub_category", EXTRA),
    ("support_tickets", "category", "SubCategory", EXTRA),
    ("support_tickets", "category", "category_id", EXTRA),
    ("support_tickets", "category", "parent_category", RENAME),  # may be
    ("support_tickets", "csat_score", "CSATScore", RENAME),
    ("support_tickets", "csat_score", "csat-score", RENAME),
    ("support_tickets", "csat_score", "CSAT Score", RENAME),
    ("support_tickets", "csat_score", "ticket_csat_score", RENAME),
    ("support_tickets", "csat_score", "csat", RENAME),
    ("support_tickets", "csat_score", "CSAT", RENAME),
    ("support_tickets", "csat_score", "csat_rating", RENAME),
    ("support_tickets", "csat_score", "csat_comment", EXTRA),
    ("support_tickets", "csat_score", "csat_score_at", EXTRA),
    ("support_tickets", "csat_score", "csat_survey_sent_at", EXTRA),
    ("support_tickets", "csat_score", "Score", EXTRA),  # `score`: any name may hold it
    ("support_tickets", "csat_score", "tags", EXTRA),
    ("support_tickets", "csat_score", "satisfaction", EXTRA),  # other words: not told
    # digital journeys, calls and members (CSV)
    ("digital_journeys", "device_type", "deviceType", RENAME),
    ("digital_journeys", "device_type", "device_id", EXTRA),
    ("digital_journeys", "error_code", "err_code", RENAME),
    ("digital_journeys", "error_code", "error_count", EXTRA),
    ("digital_journeys", "error_message", "error_msg", RENAME),
    ("digital_journeys", "error_message", "error_message_id", EXTRA),
    ("digital_calls", "ivr_path", "IVR Path", RENAME),
    ("digital_calls", "ivr_path", "call_ivr_path", RENAME),
    ("digital_calls", "ivr_path", "ivr_path_length", EXTRA),
    ("digital_calls", "handle_time_seconds", "handle_time", RENAME),
    ("digital_calls", "handle_time_seconds", "handleTimeSecs", RENAME),
    ("digital_calls", "handle_time_seconds", "handle_time_ms", RENAME),
    ("digital_calls", "handle_time_seconds", "hold_time_seconds", EXTRA),
    ("digital_calls", "handle_time_seconds", "handle_time_target_seconds", EXTRA),
    ("digital_calls", "agent_id", "call_agent_id", RENAME),
    ("digital_calls", "agent_id", "agent_name", EXTRA),
    ("digital_calls", "sentiment_score", "sentiment", RENAME),
    ("digital_calls", "sentiment_score", "sentiment_label", EXTRA),
    ("digital_calls", "sentiment_score", "sentiment_magnitude", EXTRA),
    ("digital_calls", "resolution_status", "resolutionStatus", RENAME),
    ("digital_calls", "resolution_status", "resolution_status_id", EXTRA),
    ("digital_calls", "resolution_status", "resolution_code", EXTRA),
    ("digital_members", "segment", "member_segment", RENAME),
    ("digital_members", "segment", "segment_name", RENAME),
    ("digital_members", "segment", "segment_id", EXTRA),
    ("digital_members", "segment", "sub_segment", EXTRA),
    ("digital_members", "language_preference", "lang_pref", RENAME),
    ("digital_members", "language_preference", "language_preference_updated_at", EXTRA),
    ("digital_members", "enrollment_date", "enrollment_dt", RENAME),
    ("digital_members", "enrollment_date", "enrolled_at", RENAME),
    ("digital_members", "enrollment_date", "member_enrollment_date", RENAME),
    ("digital_members", "enrollment_date", "disenrollment_date", EXTRA),
    ("digital_members", "enrollment_date", "reenrollment_date", EXTRA),
    ("digital_members", "enrollment_date", "enrollment_id", EXTRA),
    # support agents and customers (CSV)
    ("support_agents", "team", "agent_team", RENAME),
    ("support_agents", "team", "team_name", RENAME),
    ("support_agents", "team", "team_id", EXTRA),
    ("support_agents", "team", "team_lead", EXTRA),
    ("support_agents", "skills", "skill", RENAME),
    ("support_agents", "skills", "agent_skills", RENAME),
    ("support_agents", "skills", "skills_count", EXTRA),
    ("support_agents", "hire_date", "hired_at", RENAME),
    ("support_agents", "hire_date", "rehire_date", EXTRA),
    ("support_customers", "name", "customer_name", RENAME),
    ("support_customers", "name", "company_name", EXTRA),
    ("support_customers", "email", "e-mail", RENAME),
    ("support_customers", "email", "email_address", RENAME),
    ("support_customers", "email", "customer_email", RENAME),
    ("support_customers", "email", "email_verified", EXTRA),
    ("support_customers", "phone", "phone_number", RENAME),
    ("support_customers", "phone", "phone_type", EXTRA),
    ("support_customers", "plan", "plan_name", RENAME),
    ("support_customers", "plan", "plan_id", EXTRA),
    ("support_customers", "region", "customer_region", RENAME),
    ("support_customers", "region", "region_id", EXTRA),
    ("support_customers", "signup_date", "sign_up_date", RENAME),
    ("support_customers", "signup_date", "signed_up_at", RENAME),
    ("support_customers", "signup_date", "signup_source", EXTRA),
]


@pytest.mark.parametrize(("table", "field", "key", "alike"), ALIKE_CASES)
def test_an_undeclared_key_is_taken_for_an_optional_fields_rename_when_spelled_alike(
    table, field, key, alike
):
    assert spelled_alike(key, field, table) is alike


# --------------------------------------------------------------------------- a chunk's records

ONCE_SPEC = RecordSpec(
    fields=(
        Field("Id", "record_id", "int"),
        Field("Date", "day", "str"),
        Field("Label", "label", "str", required=False),
        Field("csat_score", "csat_score", "int", required=False),
    ),
    unique_key=("record_id",),
    unique_across_days=True,
)
SPEC = RecordSpec(fields=ONCE_SPEC.fields, unique_key=ONCE_SPEC.unique_key)


def _bronze(con, *rows: tuple) -> TableRef:
    """A bronze table of (day, file, line, record) rows, the record its raw text too."""
    con.execute("CREATE SCHEMA IF NOT EXISTS bronze")
    con.execute(
        "CREATE TABLE bronze.keyed (date DATE, source_file VARCHAR, line_number BIGINT, "
        "record VARCHAR, raw VARCHAR, read_error VARCHAR)"
    )
    for day, source_file, line, record in rows:
        con.execute(
            "INSERT INTO bronze.keyed VALUES (?, ?, ?, ?, ?, NULL)",
            [day, source_file, line, record, record or ""],
        )
    return TableRef("bronze", "keyed")


def test_a_day_is_typed_in_parts_of_whole_files_in_name_order(con, monkeypatch):
    """A part holds files up to `PART_ROWS` records together; a file above it is a part
    of its own, never split, and the next file begins another."""
    monkeypatch.setattr(steps, "PART_ROWS", 3)
    counts = [("d.jsonl", 1), ("a.jsonl", 4), ("c.jsonl", 2), ("b.jsonl", 1), ("e.jsonl", 1)]
    bronze = _bronze(
        con,
        *[(DAYS[0], name, line, "{}") for name, count in counts for line in range(count)],
        (DAYS[1], "f.jsonl", 1, "{}"),
    )
    assert steps._file_parts(con, bronze, DAYS[0]) == [
        ["a.jsonl"],
        ["b.jsonl", "c.jsonl"],  # 3 records
        ["d.jsonl", "e.jsonl"],
    ]


def test_the_keys_a_chunk_meets_are_those_kept_outside_the_steps_days(con):
    """A key unique across days: the chunk's copies meet the keys kept before its first day
    or after the step's last; the step's own days are typed again. A key unique within a
    day meets none, nor does a table not yet built."""
    assert steps._kept_keys(con, ONCE_SPEC, "silver", "keyed", DAYS[1], DAYS[3]) is None
    con.execute("CREATE SCHEMA silver")
    con.execute("CREATE TABLE silver.keyed (date DATE, record_id BIGINT)")
    con.executemany("INSERT INTO silver.keyed VALUES (?, ?)", [[d, n] for n, d in enumerate(DAYS)])

    query = steps._kept_keys(con, ONCE_SPEC, "silver", "keyed", DAYS[1], DAYS[3])

    assert con.execute(f"{query} ORDER BY 1").fetchall() == [
        (DAYS[0], 0),
        (DAYS[4], 4),
        (DAYS[5], 5),
        (DAYS[6], 6),
        (DAYS[7], 7),
    ]
    assert steps._kept_keys(con, SPEC, "silver", "keyed", DAYS[1], DAYS[3]) is None


def test_a_csv_files_header_is_read_from_its_first_record_read(con):
    """A file whose first row is a bad record (no fields: `record` null) still has its
    header's names, from the next; a file of the step's other days is not read."""
    bronze = _bronze(
        con,
        (DAYS[0], "b.csv", 2, '{"Id": "2"}'),
        (DAYS[0], "a.csv", 2, None),
        (DAYS[0], "a.csv", 3, '{"Id": "1", "Label": "x"}'),
        (DAYS[1], "c.csv", 2, '{"Date": "x"}'),
    )
    assert steps._csv_headers(con, bronze, [DAYS[0]]) == [
        ("a.csv", ["Id", "Label"]),
        ("b.csv", ["Id"]),
    ]


def test_a_csv_header_without_an_optional_column_or_spelling_a_required_one_is_named():
    """A required field's column missing quarantines every record, which is seen; only an
    optional one is said missing. A required field's column spelled otherwise is named
    where the header lacks the field's own spelling."""
    headers = [
        ("a.csv", ["id", "Date", "Label"]),
        ("b.csv", ["Id", "ID", "Date", "Label", "csat_score"]),
    ]
    assert steps._missing_optional_columns(headers, SPEC) == {"a.csv": ["csat_score"]}
    assert steps._required_spelled_otherwise(headers, SPEC) == {"a.csv": {"id": "Id"}}


def test_a_json_files_first_records_missing_each_required_field_are_read_for_its_spelling():
    """The first records quarantined as missing a field, of each field and file: a record
    truly without `Id`, or the first five missing `Date`, do not hide a later one sending
    `id`. A record holding both spellings, one quarantined for another reason, or one not
    an object says nothing."""
    missing_id, missing_date = 'missing required field "Id"', 'missing required field "Date"'
    rejects = pd.DataFrame(
        [
            ("a.jsonl", 'invalid JSON: expected ","', '{"ID": 1, "Date": "d"}'),
            ("a.jsonl", missing_id, '{"Date": "d", "Label": "x"}'),
            ("a.jsonl", missing_id, '{"id": 2, "Date": "d"}'),
            ("b.jsonl", missing_date, "not json"),
            ("b.jsonl", missing_date, "[1]"),
            *[("b.jsonl", missing_date, f'{{"Id": {n}}}') for n in range(3)],
            ("b.jsonl", missing_id, '{"id": 9, "Date": "d"}'),
            ("c.jsonl", missing_id, '{"Id": null, "id": 4, "Date": "d"}'),
        ],
        columns=["source_file", "reason", "raw"],
    )
    assert steps._json_required_spelled_otherwise(rejects, SPEC) == {
        "a.jsonl": {"id": "Id"},
        "b.jsonl": {"id": "Id"},
    }


def test_a_file_lacking_an_optional_field_is_named_with_the_keys_spelled_as_it():
    """Only the absent fields a key is spelled as, and only those keys, are named; a file
    holding the field is not, nor is a key no field name looks like (a value sent as a key
    is kept out of the log)."""
    keys_by_file = [
        ("a.jsonl", ["CSATScore", "Date", "Id", "csat_comment"]),
        ("b.jsonl", ["CSATScore", "Date", "Id", "Label", "csat_score"]),
        ("c.jsonl", ["#csat_score", "Date", "Id", "csat+score"]),
    ]
    assert steps._likely_renamed(keys_by_file, SPEC, "support_tickets") == {
        "a.jsonl": {"absent": ["csat_score"], "undeclared": ["CSATScore"]}
    }


def test_a_json_file_is_read_for_renames_where_an_optional_field_is_null_in_every_record(con):
    """Only such a file can lack the field's key in every record; in every other file each
    optional field has a value somewhere. A table without optional fields has none."""
    con.execute(
        f"CREATE TEMP TABLE {steps.TYPED_RECORDS} AS SELECT * FROM (VALUES "
        "('a.jsonl', 'x', NULL), ('a.jsonl', NULL, NULL), "
        "('b.jsonl', 'x', 1), ('b.jsonl', 'y', NULL)) AS t(source_file, label, csat_score)"
    )
    assert steps._optional_unfilled_files(con, SPEC) == ["a.jsonl"]
    required_only = RecordSpec(fields=[item for item in SPEC.fields if item.required])
    assert steps._optional_unfilled_files(con, required_only) == []


def test_a_chunks_rejects_are_every_parse_rule_and_model_reject_in_file_and_line_order(con):
    """Worked by hand: of five typed records, two fail typing (one not JSON, one a CSV
    file's text number), one a rule and one the model; one is kept. Each is quarantined
    once, from its own day's bronze record, in file then line order, with why its JSON or
    number is not one; the five are counted, and the rule's and model's two are those
    rejected after typing (found by mutation testing: the order by line alone, either
    explanation left out or applied to a CSV file of a text table passed every test of
    the module)."""
    not_an_integer = 'field "Id" is not an integer'
    bronze = _bronze(
        con,
        (DAYS[0], "b.jsonl", 1, '{"Id": 1,'),
        (DAYS[0], "a.jsonl", 3, '{"Id": 3}'),
        (DAYS[0], "a.jsonl", 1, '{"Id": 1}'),
        (DAYS[0], "a.jsonl", 2, '{"Id": 2}'),
        (DAYS[0], "a.csv", 2, '{"Id": "4"}'),
        (DAYS[1], "a.jsonl", 1, '{"Id": 9}'),  # another day's: not read
    )
    con.execute(
        f"CREATE TEMP TABLE {steps.TYPED_RECORDS} AS SELECT * FROM (VALUES "
        "('b.jsonl', 1, 'invalid JSON'), ('a.jsonl', 3, NULL), ('a.jsonl', 1, NULL), "
        f"('a.jsonl', 2, NULL), ('a.csv', 2, '{not_an_integer}')) "
        "AS t(source_file, line_number, reject_reason)"
    )
    con.execute(
        f"CREATE TEMP TABLE {steps.CANDIDATES} AS SELECT * FROM (VALUES "
        "('a.jsonl', 3, 'the rule rejects it'), ('a.jsonl', 1, NULL), ('a.jsonl', 2, NULL)) "
        f"AS t(source_file, line_number, {steps.RULE_REASON})"
    )
    model_rejects = pd.DataFrame(
        [("a.jsonl", 1, "column 'label' failed")], columns=["source_file", "line_number", "reason"]
    )
    con.register("model_rejects", model_rejects)

    def rejected(typed_values: bool) -> tuple[list, int, list]:
        rejects, bronze_rows, after_typing = steps._rejected_records(
            con, bronze, [DAYS[0]], None, True, typed_values=typed_values
        )
        rows = [tuple(row) for row in rejects.itertuples(index=False)]
        return rows, bronze_rows, sorted(after_typing)

    csv_said = f"{not_an_integer} ({CSV_IN_TYPED_TABLE})"
    not_json = "invalid JSON: Expecting property name enclosed in double quotes (column 10)"
    assert rejected(typed_values=True) == (
        [
            (DAYS[0], "a.csv", 2, csv_said, '{"Id": "4"}'),
            (DAYS[0], "a.jsonl", 1, "column 'label' failed", '{"Id": 1}'),
            (DAYS[0], "a.jsonl", 3, "the rule rejects it", '{"Id": 3}'),
            (DAYS[0], "b.jsonl", 1, not_json, '{"Id": 1,'),
        ],
        5,
        [("a.jsonl", 1), ("a.jsonl", 3)],
    )
    # A table whose values land as text: a CSV file's number is not explained as JSON's.
    assert rejected(typed_values=False)[0][0][3] == not_an_integer
