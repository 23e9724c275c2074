"""A landed file named after a person (`ana.souza@example.com.csv`, `+55 11 94242-0150.csv`):
bronze and quarantine keep the name, to find the file by; silver's `source_file` shows it with
the e-mail address masked, and a tag that keeps two such files apart; the event log masks
phone numbers too. So is a CSV header's column named after one, quoted in a reason."""

from __future__ import annotations

import re

from dagster import serialize_value

from cx_assets_tests.digital.landing_rows import DIGITAL, EVERYTHING, member

D1 = "2024-01-05"
EMAIL, PHONE = "ana.souza@example.com", "+55 11 94242-0150"
PLANTED = ("ana.souza", "94242")
MEMBERS = [
    asset
    for asset in DIGITAL.assets
    if asset.key.path[-1] in ("digital_members", "digital_member_versions")
]


def _land_members_in_named_files(lake) -> None:
    bad = {**member("M9"), "tenure_months": "many"}
    # Without its optional `segment` column: the step says so, naming the file (found by
    # mutation testing: that line and its metadata named it unmasked, and every test passed).
    rows = [{k: v for k, v in row.items() if k != "segment"} for row in (member("M1"), bad)]
    lake.land_csv("digital", "members", D1, rows, name=f"{EMAIL}.csv")
    lake.land_csv("digital", "members", D1, [member("M2")], name=f"{PHONE}.csv")
    lake.land_csv("digital", "members", D1, [member("M3")], name="members.csv")
    lake.land("digital", "members", D1, f"{EMAIL}.txt", "not a member file\n")


def test_silver_shows_a_landed_files_name_with_its_contacts_masked(lake):
    _land_members_in_named_files(lake)
    assert lake.materialize(EVERYTHING, selection=MEMBERS, day=D1).success

    rows = lake.query(
        "SELECT member_id, source_file FROM silver.digital_member_versions ORDER BY member_id"
    )
    folder = f"landing/digital/members/{D1}/"
    shown = dict(rows.values.tolist())
    assert re.fullmatch(re.escape(f"{folder}[email].csv#") + "[0-9a-f]{8}", shown["M1"])
    # A phone number is masked in logs only: in silver it would order a day's versions
    # by its tag (below).
    assert shown["M2"] == f"{folder}{PHONE}.csv"
    assert shown["M3"] == f"{folder}members.csv"
    # Bronze and quarantine keep the name the file landed with.
    assert lake.quarantine("digital_members")["source_file"].tolist() == [f"{folder}{EMAIL}.csv"]
    bronze = lake.query("SELECT DISTINCT source_file FROM bronze.digital_members ORDER BY 1")
    assert f"{folder}{EMAIL}.csv" in bronze["source_file"].tolist()


def test_the_event_log_shows_a_landed_files_name_with_its_contacts_masked(lake):
    """What the run records outside bronze and quarantine (Dagster's SQLite files under the
    data root, the UI): the files a bronze step read, the files it did not read and why, the
    quarantined records' places, each in the step's log and in its materialization."""
    _land_members_in_named_files(lake)
    result = lake.materialize(EVERYTHING, selection=MEMBERS, day=D1)
    assert result.success

    recorded = "\n".join(serialize_value(entry) for entry in lake.instance.all_logs(result.run_id))
    for planted in PLANTED:
        assert planted not in recorded
    # Still said, masked: the ignored file, the files read, the quarantined record's place.
    assert re.search(
        r"ignoring landing/digital/members/2024-01-05/\[email\]\.txt#[0-9a-f]{8}: not one", recorded
    )
    assert re.search(
        r"quarantined landing/digital/members/2024-01-05/\[email\]\.csv#[0-9a-f]{8}:3: ", recorded
    )
    assert "[phone].csv#" in recorded


def test_a_days_files_order_a_members_versions_by_their_landed_names(lake):
    """An export named by epoch second (`members_1704454500.csv`) has ten digits in a row,
    as a phone number has: shown masked in silver, its tag (a keyed hash) and not its name
    ordered the day's versions of a key, and M1 kept the earlier file's plan (seen in a
    review). Silver masks only e-mail addresses in a name, so the later file's version wins."""
    lake.land_csv("digital", "members", D1, [member("M1", plan="PDP")], name="m_1704454500.csv")
    lake.land_csv("digital", "members", D1, [member("M1", plan="MAPD")], name="m_1704458100.csv")
    assert lake.materialize(EVERYTHING, selection=MEMBERS, day=D1).success

    current = lake.query("SELECT member_id, plan_type FROM silver.digital_members")
    assert current.values.tolist() == [["M1", "MAPD"]]
    versions = lake.query("SELECT source_file FROM silver.digital_member_versions ORDER BY 1")
    folder = f"landing/digital/members/{D1}/"
    assert versions["source_file"].tolist() == [
        f"{folder}m_1704454500.csv",
        f"{folder}m_1704458100.csv",
    ]


def test_a_csv_headers_repeated_names_are_quoted_with_their_contacts_masked(lake):
    """Seen in an audit: a CSV header naming a column twice is quarantined as `CSV header
    names a column more than once: "<name>"`, and that reason leaves quarantine (the step's
    log, the materialization's sample and reason counts, `cx-lakehouse run`'s summary): a
    spreadsheet's pivot whose columns are named by people's addresses put one in the event
    log. The names are quoted with their e-mail addresses and phone numbers masked, as a
    file's name is shown; the header stays whole in the quarantined record's text."""
    fields = "member_id,plan_type,tenure_months,segment,language_preference,enrollment_date"
    header = f"{fields},{EMAIL},{EMAIL},{PHONE},{PHONE}"
    lake.land("digital", "members", D1, "pivot.csv", f"{header}\nM1,MAPD,8,G,en,2024-01-01\n")
    lake.land_csv("digital", "members", D1, [member("M3")], name="members.csv")
    result = lake.materialize(EVERYTHING, selection=MEMBERS, day=D1)
    assert result.success

    (quarantined,) = lake.quarantine("digital_members").itertuples()
    said = 'file not read: CSV header names a column more than once: "[email]", "[phone]"'
    assert quarantined.reason == said
    assert quarantined.raw.startswith(header)
    recorded = "\n".join(serialize_value(entry) for entry in lake.instance.all_logs(result.run_id))
    assert said.replace('"', '\\"') in recorded
    for planted in PLANTED:
        assert planted not in recorded
