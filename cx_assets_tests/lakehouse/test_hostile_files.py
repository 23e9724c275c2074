"""Issue 8, end to end: one hostile file, or one hostile value, must not fail a day.

Each test lands a good day of a real domain plus hostile files beside it, materializes the
domain's definitions for the day, and expects a successful run: the hostile file becomes one
quarantined record naming it and why, the hostile value a quarantined record naming the
field, the good records reach gold, and bronze still reconciles with silver plus quarantine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from cx_assets.lakehouse import bronze_stream, readers
from cx_assets.lakehouse.checks import RECONCILES_WITH_BRONZE
from cx_assets_tests.conftest import Domain, check_results
from cx_assets_tests.digital.landing_rows import call as digital_call
from cx_assets_tests.digital.landing_rows import event, member

DAY = "2024-01-05"


def reasons_by_place(quarantine: pd.DataFrame) -> dict[tuple[str, int], str]:
    return {
        (Path(row.source_file).name, int(row.line_number)): row.reason
        for row in quarantine.itertuples()
    }


def assert_reconciles(result, *silver_tables: str) -> None:
    evaluations = check_results(result)
    for table in silver_tables:
        evaluation = evaluations[(f"silver/{table}", RECONCILES_WITH_BRONZE)]
        assert evaluation.passed, (table, evaluation.metadata)


# ---------------------------------------------------------------------------------------
# CRM: a name that is not UTF-8, a link to /etc/passwd, an unreadable file, bad values
# ---------------------------------------------------------------------------------------


def interaction(interaction_id: int, contact_id: int) -> dict:
    return {
        "Id": interaction_id, "ContactId": contact_id, "OwnerId": 1,
        "Date": f"{DAY}T10:00:00-03:00", "TypeId": 3, "Title": "E-mail recebido.",
        "Content": "Temos um problema urgente", "EmailSubject": "Proposta",
        "EmailRecipients": "a@x.com", "DealId": None,
    }  # fmt: skip


def deal(deal_id: int, company_id: int) -> dict:
    return {
        "Id": deal_id, "ContactId": company_id, "OwnerId": 1, "Title": f"Deal {deal_id}",
        "Amount": 1000.0, "StageId": 1, "StatusId": 2,
        "CreateDate": "2023-12-01T10:00:00-03:00", "FinishDate": "2023-12-21T10:00:00-03:00",
    }  # fmt: skip


def land_crm_day(lake) -> None:
    """A good day: a manager, a company, interactions 1-3 in part.jsonl."""
    lake.land_jsonl("crm", "users", DAY, [{"Id": 1, "Name": "Ana", "Email": "ana@empresa.com"}])
    company = {
        "Id": 10, "Name": "Empresa", "TypeId": 2, "CompanyId": None, "OwnerId": 1,
        "Email": "contato@empresa.com", "Phone": "1100000000",
        "CreateDate": "2023-06-01T09:00:00-03:00",
    }  # fmt: skip
    lake.land_jsonl("crm", "contacts", DAY, [company])
    lake.land_jsonl("crm", "interactions", DAY, [interaction(n, 10) for n in (1, 2, 3)])


def test_crm_day_survives_hostile_files_and_values(lake, tmp_path, monkeypatch):
    crm = Domain.named("crm")
    land_crm_day(lake)
    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    # A Latin-1 file name (`é` is byte 0xE9).
    with open(os.path.join(os.fsencode(folder), b"reenvio-\xe9.jsonl"), "wb") as handle:
        handle.write(json.dumps(interaction(40, 10)).encode() + b"\n")
    # A link out of the data root.
    secret = tmp_path / "etc" / "passwd"
    secret.parent.mkdir()
    secret.write_text('{"Id": 66, "root": "x:0:0:root:/root:/bin/bash"}\n')
    (folder / "passwd.jsonl").symlink_to(secret)
    # A file the process may not read (tests run as root, so fail `open`).
    lake.land_jsonl("crm", "interactions", DAY, [interaction(50, 10)], name="locked.jsonl")
    real_open = open

    def locked_open(path, *args, **kwargs):
        if Path(path).name == "locked.jsonl":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    # Both ways of reading a file open it: Arrow's for plain files, the readers' for others.
    monkeypatch.setattr(bronze_stream, "open", locked_open, raising=False)
    monkeypatch.setattr(readers, "open", locked_open, raising=False)
    # Values DuckDB would cast but the contract refuses, one per line.
    lake.land_jsonl(
        "crm",
        "interactions",
        DAY,
        [
            interaction(20, 10),
            {**interaction(21, 10), "Date": "2024-01-05T10:00:00"},  # CRM times carry an offset
            {**interaction(22, 10), "Date": "infinity"},
            {**interaction(23, 10), "Date": "epoch"},
            {**interaction(24, 10), "Date": "2024-01-05T10:00:00+99:00"},
        ],
        name="values.jsonl",
    )
    # A required `Amount` of NaN (not JSON, but DuckDB reads it) used to become null.
    nan_amount = json.dumps(deal(101, 10)).replace('"Amount": 1000.0', '"Amount": NaN')
    no_offset = {**deal(102, 10), "CreateDate": "2023-12-01T10:00:00"}
    lake.land_jsonl("crm", "deals", DAY, [deal(100, 10), nan_amount, no_offset])

    result = lake.materialize(crm.everything, day=DAY)

    assert result.success
    # In the run's event log, and on the bronze materialization for `cx-lakehouse run`.
    skipped = f"landing/crm/interactions/{DAY}/passwd.jsonl"
    logged = [entry.user_message for entry in lake.instance.all_logs(result.run_id)]
    assert f"ignoring {skipped}: a link to outside the landing folder" in logged
    (bronze,) = [
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key.path == ["bronze", "crm_interactions"]
    ]
    assert bronze.metadata["files_ignored"].value == [
        [skipped, "a link to outside the landing folder"]
    ]
    silver_ids = lake.query("SELECT interaction_id FROM silver.crm_interactions ORDER BY 1")
    assert silver_ids["interaction_id"].tolist() == [1, 2, 3, 20]
    offset = "is not an ISO-8601 timestamp with an offset, in years 1900-2199"
    assert reasons_by_place(lake.quarantine("crm_interactions")) == {
        ("locked.jsonl", 1): "file not read: PermissionError: Permission denied",
        ("reenvio-\\xe9.jsonl", 1): "file not read: its name is not UTF-8",
        ("values.jsonl", 2): f'field "Date" {offset}',
        ("values.jsonl", 3): f'field "Date" {offset}',
        ("values.jsonl", 4): f'field "Date" {offset}',
        ("values.jsonl", 5): f'field "Date" {offset}',
    }
    assert reasons_by_place(lake.quarantine("crm_deals")) == {
        ("part.jsonl", 2): 'field "Amount" is not a number',
        ("part.jsonl", 3): f'field "CreateDate" {offset}',
    }
    bronze = lake.query("SELECT source_file, raw FROM bronze.crm_interactions")
    assert not bronze["source_file"].str.contains("passwd").any()
    assert not bronze["raw"].str.contains("/bin/bash").any()
    occurred = lake.gold("crm_friction_heuristics")["occurred_at"]
    assert occurred.dt.year.eq(2024).all()
    assert_reconciles(result, "crm_interactions", "crm_deal_versions")


# ---------------------------------------------------------------------------------------
# Calls: a .json nested deeper than Python parses; array elements keep their own text
# ---------------------------------------------------------------------------------------


def transcript(call_id: str, **extra) -> dict:
    return {
        "call_id": call_id,
        "agent_name": "Dana Reyes",
        "timestamp": "2024-01-05T10:00:00",
        "transcript_text": "Agent: Hello. Customer: Sign me up, thanks.",
        "duration_seconds": 300,
        "customer_id": f"CUST-{call_id}",
        **extra,
    }


def test_calls_day_survives_a_deeply_nested_json_file(lake):
    calls = Domain.named("calls")
    lake.land_jsonl("calls", "transcripts", DAY, [transcript("A")])
    deep = '{"call_id": "Z", "nested": ' + "[" * 50_000 + "]" * 50_000 + "}"
    lake.land("calls", "transcripts", DAY, "deep.json", deep)
    # The second element's raw must be its own text: spacing and spelling as delivered.
    bad_element = (
        '{ "call_id":"C",  "timestamp": "infinity", "duration_seconds": 1E2,\n'
        '    "agent_name": "Dana Reyes", "transcript_text": "Hi.", "customer_id": "CUST-C" }'
    )
    batch = "[\n" + json.dumps(transcript("B")) + ",\n  " + bad_element + "\n]\n"
    lake.land("calls", "transcripts", DAY, "batch.json", batch)

    result = lake.materialize(calls.everything, day=DAY)

    assert result.success
    assert sorted(lake.gold("calls_performance")["call_id"]) == ["A", "B"]
    quarantine = lake.quarantine("calls_transcripts").set_index("source_file")
    folder = f"landing/calls/transcripts/{DAY}"
    assert quarantine.loc[f"{folder}/deep.json", "reason"] == (
        "invalid JSON: nested too deeply to read"
    )
    assert quarantine.loc[f"{folder}/deep.json", "line_number"] == 1
    assert quarantine.loc[f"{folder}/batch.json", "line_number"] == 2
    assert quarantine.loc[f"{folder}/batch.json", "raw"] == bad_element
    assert quarantine.loc[f"{folder}/batch.json", "reason"] == (
        'field "timestamp" is not an ISO-8601 timestamp in years 1900-2199'
    )
    assert_reconciles(result, "calls_transcripts")


def test_calls_bad_array_element_and_lenient_json_cost_only_their_records(lake):
    calls = Domain.named("calls")
    good = [json.dumps(transcript(call_id)) for call_id in ("D", "E")]
    lake.land("calls", "transcripts", DAY, "array.json", f"[{good[0]},\n{{oops}},\n{good[1]}]")
    trailing = json.dumps(transcript("F"))[:-1] + ",}"
    extra_nan = json.dumps(transcript("G"))[:-1] + ', "score": NaN}'
    lake.land("calls", "transcripts", DAY, "lines.jsonl", "\n".join([trailing, extra_nan]))

    result = lake.materialize(calls.everything, day=DAY)

    assert result.success
    assert sorted(lake.gold("calls_performance")["call_id"]) == ["D", "E"]
    assert reasons_by_place(lake.quarantine("calls_transcripts")) == {
        ("array.json", 2): "invalid JSON: Expecting property name enclosed in double quotes "
        "(line 2 column 2)",
        ("lines.jsonl", 1): "invalid JSON: a comma before a closing bracket",
        ("lines.jsonl", 2): "invalid JSON: NaN and Infinity are not JSON numbers",
    }
    assert_reconciles(result, "calls_transcripts")


def test_a_utf16_json_file_is_one_bad_record_saying_so(lake):
    """Seen in an audit: a UTF-16 `.jsonl` (a Windows "Unicode" export) gave "invalid UTF-8
    at byte 0" and a second bad record holding a NUL; CSV named UTF-16 plainly."""
    calls = Domain.named("calls")
    lake.land_jsonl("calls", "transcripts", DAY, [transcript("A")])
    lines = "\n".join(json.dumps(transcript(call_id)) for call_id in ("B", "C")) + "\n"
    lake.land("calls", "transcripts", DAY, "unicode.jsonl", lines.encode("utf-16"))
    lake.land("calls", "transcripts", DAY, "unicode.json", f"[{lines}]".encode("utf-16"))

    result = lake.materialize(calls.everything, day=DAY)

    assert result.success
    assert lake.gold("calls_performance")["call_id"].tolist() == ["A"]
    quarantined = lake.quarantine("calls_transcripts")
    assert reasons_by_place(quarantined) == {
        ("unicode.json", 1): "file not read: the file is UTF-16, not UTF-8",
        ("unicode.jsonl", 1): "file not read: the file is UTF-16, not UTF-8",
    }
    assert all('"call_id": "B"' in raw for raw in quarantined["raw"])  # its text, decoded
    assert_reconciles(result, "calls_transcripts")


# ---------------------------------------------------------------------------------------
# Digital: CSV headers that are not UTF-8 or name a column twice; hostile timestamps
# ---------------------------------------------------------------------------------------


def csv_text(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_csv(index=False)


def test_digital_day_survives_hostile_csv_files(lake):
    digital = Domain.named("digital")
    lake.land_csv("digital", "members", DAY, [member("M1"), member("M2")])
    events = [
        event("M1", "S1", "2024-01-05T10:00:00", "error"),
        event("M2", "S2", "2024-01-05T11:00:00", "start"),
    ]
    lake.land_csv("digital", "journeys", DAY, events)
    calls = [
        digital_call("C1", "M1", "2024-01-05T10:10:00"),
        digital_call("C2", "M2", "infinity"),
        digital_call("C3", "M2", "2024-01-05T11:00:00+99:00"),
        digital_call("C4", "M2", "2024-01-05T11:00:00", sentiment="NaN"),
    ]
    lake.land_csv("digital", "calls", DAY, calls)
    # Latin-1 header (`ã` is byte 14), UTF-16 with a byte order mark, `member_id` twice.
    latin1 = "member_id,sessão\nM1,S9\n".encode("latin-1")
    lake.land("digital", "journeys", DAY, "latin1.csv", latin1)
    utf16 = csv_text([digital_call("C9", "M1", "2024-01-05T12:00:00")]).encode("utf-16")
    lake.land("digital", "calls", DAY, "utf16.csv", utf16)
    duplicated = csv_text([member("M3")]).replace("segment", "member_id")
    lake.land("digital", "members", DAY, "duplicated.csv", duplicated)

    # A quote never closed on line 2 would have swallowed the rows after it.
    unclosed = csv_text(
        [event("M1", "S3", f"2024-01-05T12:0{minute}:00", "view") for minute in range(3)]
    )
    unclosed = unclosed.replace(",view,", ',"view,', 1)
    lake.land("digital", "journeys", DAY, "unclosed.csv", unclosed)

    result = lake.materialize(digital.everything, day=DAY)

    assert result.success
    assert reasons_by_place(lake.quarantine("digital_journeys")) == {
        ("latin1.csv", 1): "file not read: CSV header is not UTF-8 (invalid UTF-8 at byte 14)",
        ("unclosed.csv", 2): "unreadable CSV: a quote opened on this line is never closed",
    }
    assert lake.query(
        "SELECT count(*) AS n FROM silver.digital_journeys WHERE source_file LIKE '%unclosed.csv'"
    )["n"].tolist() == [2]
    assert reasons_by_place(lake.quarantine("digital_calls")) == {
        ("part.csv", 3): 'field "call_timestamp" is not an ISO-8601 timestamp in years 1900-2199',
        ("part.csv", 4): 'field "call_timestamp" is not an ISO-8601 timestamp in years 1900-2199',
        ("part.csv", 5): 'field "sentiment_score" is not a number',
        ("utf16.csv", 1): "file not read: the CSV is UTF-16, not UTF-8",
    }
    twice = 'file not read: CSV header names a column more than once: "member_id"'
    assert reasons_by_place(lake.quarantine("digital_members")) == {("duplicated.csv", 1): twice}
    assert lake.query("SELECT call_id FROM silver.digital_calls")["call_id"].tolist() == ["C1"]
    assert_reconciles(result, "digital_journeys", "digital_calls", "digital_member_versions")


def test_a_csv_file_without_its_header_row_loses_no_line(lake):
    """A CSV delivered without its header row: its first line is a record, which would be
    read as the header, so neither reached bronze nor quarantine (a one-line file vanished).
    The first line is quarantined as no header; every other line as a row no header names."""
    digital = Domain.named("digital")
    lake.land_csv("digital", "members", DAY, [member("M1")])
    lake.land_csv("digital", "journeys", DAY, [event("M1", "S1", "2024-01-05T10:00:00", "start")])
    headless_events = csv_text(
        [event("M1", "S2", f"2024-01-05T12:0{minute}:00", "view") for minute in range(3)]
    ).split("\n", 1)[1]
    lake.land("digital", "journeys", DAY, "headless.csv", headless_events)
    lake.land("digital", "members", DAY, "one.csv", "M2,MAPD,3,,en,2023-10-01\n")

    result = lake.materialize(digital.everything, day=DAY)

    assert result.success
    not_a_header = (
        "line 1 is not a header naming the table's fields (a file without its header row?)"
    )
    unnamed = "no header names this row's fields: line 1 of its file is not a header"
    assert reasons_by_place(lake.quarantine("digital_journeys")) == {
        ("headless.csv", 1): not_a_header,
        ("headless.csv", 2): unnamed,
        ("headless.csv", 3): unnamed,
    }
    quarantined = lake.quarantine("digital_journeys").sort_values("line_number")
    assert quarantined["raw"].tolist()[0] == headless_events.split("\n")[0]
    assert reasons_by_place(lake.quarantine("digital_members")) == {("one.csv", 1): not_a_header}
    assert lake.query("SELECT member_id FROM silver.digital_journeys")["member_id"].tolist() == [
        "M1"
    ]
    assert_reconciles(result, "digital_journeys", "digital_member_versions")


def test_a_csv_file_whose_columns_were_renamed_says_so(lake):
    """A later day's export of members with its columns renamed to another spelling
    (`MemberId`, `PlanType`, …): its header names none of the table's fields, so its lines
    are bad records, and the reason named a file without its header row, which it had. It
    names the renamed columns; the day's file in the table's own spelling goes through."""
    digital = Domain.named("digital")
    lake.land_csv("digital", "members", DAY, [member("M1")])
    renamed = csv_text([member("M2"), member("M3")]).replace(
        "member_id,plan_type,tenure_months,segment,language_preference,enrollment_date",
        "MemberId,PlanType,TenureMonths,Segment,LanguagePreference,EnrollmentDate",
    )
    lake.land("digital", "members", DAY, "renamed.csv", renamed)

    result = lake.materialize(digital.everything, day=DAY)

    assert result.success
    spelled = (
        "line 1 is not a header naming the table's fields (its columns are named as the "
        'fields, spelled otherwise: "MemberId" for "member_id", "PlanType" for "plan_type", '
        '"TenureMonths" for "tenure_months", "Segment" for "segment", "LanguagePreference" '
        'for "language_preference", "EnrollmentDate" for "enrollment_date")'
    )
    unnamed = "no header names this row's fields: line 1 of its file is not a header"
    assert reasons_by_place(lake.quarantine("digital_members")) == {
        ("renamed.csv", 1): spelled,
        ("renamed.csv", 2): unnamed,
        ("renamed.csv", 3): unnamed,
    }
    members = lake.query("SELECT member_id FROM silver.digital_member_versions")
    assert members["member_id"].tolist() == ["M1"]
    assert_reconciles(result, "digital_member_versions")


def test_a_range_names_every_day_folder_it_may_not_read(lake, monkeypatch):
    """Found in an audit: a 30-day run over ten date folders another user had made 0700
    failed naming the first, so each one fixed and the range run again found the next, ten
    runs to learn of ten folders. The step still fails (no day of the table is built from
    a landing it cannot see whole), naming each folder of the range it could not list, and
    the command's last line names them too (`not_writable_met`)."""
    from types import SimpleNamespace

    from cx_assets.cli.run_report import _innermost_error, not_writable_met
    from cx_assets_tests.lakehouse.test_landing_sensor_ignored import refuse_listing

    days = ["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"]
    for day in days:
        lake.land_jsonl("calls", "transcripts", day, [transcript(f"A-{day}")])
    folders = lake.layout.landing_dir / "calls" / "transcripts"
    refuse_listing(monkeypatch, {folders / "2024-01-06", folders / "2024-01-08"})
    (bronze,) = [a for a in Domain.named("calls").partitioned if a.key.path[0] == "bronze"]

    result = lake.materialize([bronze], day=days[0], last_day=days[-1], raise_on_error=False)

    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    said = _innermost_error(failure).message
    assert f"Permission denied: '{folders / '2024-01-06'}'" in said
    assert "and 1 more day folder of calls/transcripts it cannot read either: 2024-01-08" in said
    last = not_writable_met(SimpleNamespace(all_events=[failure]))
    assert last.filename == str(folders / "2024-01-06")
    assert last.strerror == (
        "Permission denied; and 1 more day folder of calls/transcripts it cannot read "
        "either: 2024-01-08"
    )
