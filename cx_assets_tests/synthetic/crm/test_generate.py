"""The CRM landing-data generator: the layout, determinism and schema of the four tables it
writes, and what the contacts, deals and users tables hold from one day to the next. The §4.1
patterns it must exercise in interactions are tested in test_generated_interactions.py."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path

import pytest

from cx_assets.synthetic import crm
from cx_assets.synthetic.crm import generate
from cx_assets_tests.synthetic.crm.landed_records import (
    WEDNESDAY,
    noise_reason,
    read_table,
    request,
)

TABLES = ("interactions", "contacts", "deals", "users")


def file_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# -- layout and determinism ------------------------------------------------------------------


def test_writes_every_table_per_day_and_returns_counts(tmp_path: Path) -> None:
    counts = generate(request(tmp_path, days=2))
    assert set(counts) == set(TABLES)
    for table in TABLES:
        for day in (WEDNESDAY, WEDNESDAY + timedelta(days=1)):
            assert list((tmp_path / "crm" / table / day.isoformat()).glob("*.jsonl")), (table, day)
        assert counts[table] == len(read_table(tmp_path, table)) > 0


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    generate(request(tmp_path / "a", days=2, seed=11))
    generate(request(tmp_path / "b", days=2, seed=11))
    first, second = file_bytes(tmp_path / "a"), file_bytes(tmp_path / "b")
    assert first.keys() == second.keys()
    assert first == second


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    generate(request(tmp_path / "a", seed=1))
    generate(request(tmp_path / "b", seed=2))
    for table in ("interactions", "contacts", "deals", "users"):
        assert read_table(tmp_path / "a", table) != read_table(tmp_path / "b", table), table


def test_a_days_interactions_do_not_depend_on_other_days(tmp_path: Path) -> None:
    thursday = WEDNESDAY + timedelta(days=1)
    generate(request(tmp_path / "both", WEDNESDAY, 2))
    generate(request(tmp_path / "alone", thursday, 1))
    folder = Path("crm/interactions") / thursday.isoformat()
    together = sorted((tmp_path / "both" / folder).iterdir())
    alone = sorted((tmp_path / "alone" / folder).iterdir())
    assert [path.name for path in together] == [path.name for path in alone]
    assert [path.read_bytes() for path in together] == [path.read_bytes() for path in alone]


def test_interactions_split_into_files_and_stale_files_go(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(crm, "LINES_PER_FILE", 300)
    stale = tmp_path / "crm" / "interactions" / WEDNESDAY.isoformat() / "interactions-0099.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n", encoding="utf-8")
    mine = stale.with_name("manual-export.jsonl")
    mine.write_text("{}\n", encoding="utf-8")

    counts = generate(request(tmp_path, scale=0.01))

    # A weekday's 200,000 at scale 0.01: six full files of 300 and a seventh of 200.
    assert counts["interactions"] == 2_000
    names = sorted(path.name for path in stale.parent.iterdir())
    assert names == [f"interactions-{index:04d}.jsonl" for index in range(1, 8)] + [
        "manual-export.jsonl"
    ]
    lines = [(stale.parent / name).read_text(encoding="utf-8").splitlines() for name in names[:-1]]
    assert [len(file_lines) for file_lines in lines] == [300] * 6 + [200]
    ids = [json.loads(line)["Id"] for file_lines in lines for line in file_lines]
    assert len(set(ids)) == 2_000  # the Ids go on from one file to the next


# -- schema ----------------------------------------------------------------------------------

INT, STR, NULL = int, str, type(None)
SCHEMAS = {
    "interactions": {
        "Id": (INT,),
        "ContactId": (INT,),
        "OwnerId": (INT,),
        "Date": (STR,),
        "TypeId": (INT,),
        "Title": (STR, NULL),
        "Content": (STR, NULL),
        "EmailSubject": (STR, NULL),
        "EmailRecipients": (STR, NULL),
        "DealId": (INT, NULL),
    },
    "contacts": {
        "Id": (INT,),
        "Name": (STR,),
        "TypeId": (INT,),
        "CompanyId": (INT, NULL),
        "OwnerId": (INT, NULL),
        "Email": (STR,),
        "Phone": (STR,),
        "CreateDate": (STR,),
    },
    "deals": {
        "Id": (INT,),
        "ContactId": (INT,),
        "OwnerId": (INT,),
        "Title": (STR,),
        "Amount": (float, INT),
        "StageId": (INT,),
        "StatusId": (INT,),
        "CreateDate": (STR,),
        "FinishDate": (STR, NULL),
    },
    "users": {"Id": (INT,), "Name": (STR,), "Email": (STR,)},
}


@pytest.mark.parametrize("table", TABLES)
def test_every_line_is_json_with_the_contract_fields(landing: Path, table: str) -> None:
    schema = SCHEMAS[table]
    paths = sorted((landing / "crm" / table).glob("*/*.jsonl"))
    assert paths
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert list(record) == list(schema), path
            for field, types in schema.items():
                assert isinstance(record[field], types), (path, field, record[field])
                assert not isinstance(record[field], bool), (path, field)


def test_ids_are_unique_across_days(landing: Path, weeks: Path) -> None:
    for root in (landing, weeks):  # two days, and three weeks: a weekday comes round again
        ids = [record["Id"] for record in read_table(root, "interactions")]
        assert len(ids) == len(set(ids)), root


def test_another_day_gives_other_interactions(landing: Path) -> None:
    wednesday, thursday = (
        [(r["ContactId"], r["EmailSubject"]) for r in read_table(landing, "interactions", day)]
        for day in (WEDNESDAY, WEDNESDAY + timedelta(days=1))
    )
    assert wednesday != thursday


def test_addresses_are_addresses(landing: Path) -> None:
    """Contacts', users' and recipients' e-mail addresses: no spaces, one @, a dotted domain."""
    address = re.compile(r"[a-z0-9._-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
    emails = [
        record["Email"] for table in ("contacts", "users") for record in read_table(landing, table)
    ]
    emails += [
        part.strip()
        for record in read_table(landing, "interactions", WEDNESDAY)
        for part in (record["EmailRecipients"] or "").split(";")
        if part.strip()
    ]
    assert [email for email in emails if not address.fullmatch(email)] == []


def test_dates_are_local_times_inside_the_folder_day(landing: Path) -> None:
    for day in (WEDNESDAY, WEDNESDAY + timedelta(days=1)):
        for record in read_table(landing, "interactions", day):
            occurred = datetime.fromisoformat(record["Date"])
            assert occurred.date() == day
            assert record["Date"].endswith("-03:00")
    for table, field in (("contacts", "CreateDate"), ("deals", "CreateDate")):
        for record in read_table(landing, table):
            assert datetime.fromisoformat(record[field]).utcoffset() is not None


# -- entities --------------------------------------------------------------------------------


def test_contacts_land_whole_then_changes(landing: Path) -> None:
    first = read_table(landing, "contacts", WEDNESDAY)
    second = read_table(landing, "contacts", WEDNESDAY + timedelta(days=1))
    types = Counter(record["TypeId"] for record in first)
    assert types[2] == 200 and types[1] == 1_000  # scale 0.05 of 4,000 / 20,000
    assert 0 < len(second) < 0.05 * len(first)
    first_ids = {record["Id"] for record in first}
    assert any(record["Id"] in first_ids for record in second)  # changed
    assert any(record["Id"] not in first_ids for record in second)  # created
    companies = {record["Id"] for record in first if record["TypeId"] == 2}
    people = [record for record in first if record["TypeId"] == 1]
    assert all(p["CompanyId"] in companies for p in people if p["CompanyId"] is not None)
    assert any(p["CompanyId"] is None for p in people)
    assert all(record["CompanyId"] is None for record in first if record["TypeId"] == 2)
    assert companies <= {p["CompanyId"] for p in people}  # every company has a person
    # The first day's contacts are history, their Ids growing with their creation time.
    by_id = sorted(first, key=itemgetter("Id"))
    created = [datetime.fromisoformat(record["CreateDate"]) for record in by_id]
    assert created == sorted(created) and created[-1].date() < WEDNESDAY


def test_a_contacts_next_version_changes_its_phone_e_mail_or_name(landing: Path) -> None:
    """A later day re-delivers a contact whole with one of its Phone, Email or Name changed,
    and lands new people of known companies created that day."""
    first = {record["Id"]: record for record in read_table(landing, "contacts", WEDNESDAY)}
    thursday = WEDNESDAY + timedelta(days=1)
    changes = Counter()
    new_people = []
    for record in read_table(landing, "contacts", thursday):
        earlier = first.get(record["Id"])
        if earlier is None:
            assert datetime.fromisoformat(record["CreateDate"]).date() == thursday
            if record["TypeId"] == 1:
                new_people.append(record)
            continue
        changed = [field for field in record if record[field] != earlier[field]]
        # A new e-mail may be drawn in the old address's form: a version that changed nothing.
        assert changed in ([], ["Phone"], ["Email"], ["Name"]), (earlier, record)
        changes[record["TypeId"], *changed] += 1
    assert changes[1, "Phone"] and changes[1, "Email"] and changes[1, "Name"]
    assert new_people
    assert all(first[person["CompanyId"]]["TypeId"] == 2 for person in new_people)


def assert_stage_fits_status(deal: dict) -> None:
    """Open deals sit at stages 1-4, won ones at stage 5, lost ones where they were lost."""
    if deal["StatusId"] == 1:
        assert 1 <= deal["StageId"] <= 4, deal
    else:
        assert (deal["StageId"] == 5) == (deal["StatusId"] == 2), deal


def test_deals_have_every_status_and_sane_dates(landing: Path) -> None:
    first = read_table(landing, "deals", WEDNESDAY)
    second = read_table(landing, "deals", WEDNESDAY + timedelta(days=1))
    assert len(first) == 75 and 0 < len(second) < len(first)
    assert Counter(record["StatusId"] for record in first).keys() == {1, 2, 3}
    companies = {
        record["Id"] for record in read_table(landing, "contacts") if record["TypeId"] == 2
    }
    for record in first + second:
        assert_stage_fits_status(record)
        assert record["ContactId"] in companies
        assert 1_000 <= record["Amount"] <= 500_000
        created = datetime.fromisoformat(record["CreateDate"])
        if record["StatusId"] == 1:
            assert record["FinishDate"] is None
        else:
            assert datetime.fromisoformat(record["FinishDate"]) > created
        assert created.date() <= WEDNESDAY + timedelta(days=1)


@pytest.fixture(scope="module")
def weeks(tmp_path_factory) -> Path:
    """Three weeks from a Wednesday at scale 0.001."""
    root = tmp_path_factory.mktemp("crm_weeks")
    generate(request(root, WEDNESDAY, 21, scale=0.001))
    return root


def later_days(root: Path, table: str) -> list[dict]:
    days = [WEDNESDAY + timedelta(days=offset) for offset in range(1, 21)]
    return [record for day in days for record in read_table(root, table, day)]


def versions_over_weeks(root: Path, table: str, kept: tuple[str, ...]) -> Counter:
    """Walk a table's later days: an Id not seen before is created that day, and a known Id's
    next version changes, keeping the `kept` fields; count the sets of fields that change."""
    latest = {record["Id"]: record for record in read_table(root, table, WEDNESDAY)}
    changes = Counter()
    for offset in range(1, 21):
        day = WEDNESDAY + timedelta(days=offset)
        records = read_table(root, table, day)
        assert records and len({record["Id"] for record in records}) == len(records), day
        for record in records:
            earlier = latest.get(record["Id"])
            if earlier is None:
                changes["created"] += 1
                assert datetime.fromisoformat(record["CreateDate"]).date() == day, record
            else:
                assert [record[field] for field in kept] == [earlier[field] for field in kept]
                changes[tuple(field for field in record if record[field] != earlier[field])] += 1
            latest[record["Id"]] = record
    return changes


def test_deal_changes_over_weeks(weeks: Path) -> None:
    statuses = Counter()
    for offset in range(1, 21):
        day = WEDNESDAY + timedelta(days=offset)
        for record in read_table(weeks, "deals", day):
            statuses[record["StatusId"]] += 1
            assert_stage_fits_status(record)
            if record["StatusId"] != 1:  # a decided deal lands once: on the day it is decided
                assert datetime.fromisoformat(record["FinishDate"]).date() == day, record
    assert statuses[1] and statuses[2] + statuses[3]
    changes = versions_over_weeks(weeks, "deals", ("ContactId", "Title", "Amount", "CreateDate"))
    assert changes["created"] >= 20
    first = {record["Id"] for record in read_table(weeks, "deals", WEDNESDAY)}
    assert any(record["Id"] in first for record in later_days(weeks, "deals"))  # history moves
    assert changes["StageId",]  # an open deal moved to a later stage
    assert changes["StageId", "StatusId", "FinishDate"]  # won or lost


def test_contact_changes_over_weeks(weeks: Path) -> None:
    kept = ("TypeId", "CompanyId", "OwnerId", "CreateDate")
    changes = versions_over_weeks(weeks, "contacts", kept)
    assert changes["created"] >= 20 and changes["Phone",]
    first = {record["Id"] for record in read_table(weeks, "contacts", WEDNESDAY)}
    created = [record for record in later_days(weeks, "contacts") if record["Id"] not in first]
    # New companies, and new people of a company.
    assert {(record["TypeId"], record["CompanyId"] is None) for record in created} == {
        (2, True),
        (1, False),
    }


def test_users_are_the_full_list_every_day(landing: Path) -> None:
    first = read_table(landing, "users", WEDNESDAY)
    second = read_table(landing, "users", WEDNESDAY + timedelta(days=1))
    assert first == second and len(first) >= 3
    assert len({record["Id"] for record in first}) == len(first)
    assert all(record["Email"].endswith("@nuvemcx.com.br") for record in first)


def test_a_tiny_scale_is_still_coherent(tmp_path: Path) -> None:
    """A Sunday at scale 0.001, the smallest day: still every kind of noise in its share."""
    counts = generate(request(tmp_path, WEDNESDAY + timedelta(days=4), scale=0.001))
    assert counts["users"] >= 3 and counts["deals"] >= 6
    contacts = read_table(tmp_path, "contacts")
    assert sum(record["TypeId"] == 2 for record in contacts) >= 5
    interactions = read_table(tmp_path, "interactions")
    reasons = Counter(noise_reason(record) for record in interactions)
    assert reasons["read_receipt"] and reasons["delivery_receipt"]
    assert 0.30 <= reasons["mass_email"] / counts["interactions"] <= 0.40
    assert reasons[None] > counts["interactions"] / 2
    # Even a one-receipt day has a delivery receipt by its subject.
    subjects = [(record["EmailSubject"] or "").lstrip().lower() for record in interactions]
    assert any(subject.startswith(("entregue:", "delivered:")) for subject in subjects)
