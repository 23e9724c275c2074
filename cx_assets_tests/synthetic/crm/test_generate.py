"""The CRM landing-data generator: layout, determinism, schema, and the §4.1 patterns it must
exercise. Noise, linkage, threads and friction are re-derived here from the contract's rules,
independently of the generator's own code."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from cx_assets.synthetic import crm
from cx_assets.synthetic.crm import generate
from cx_assets.synthetic.landing_writer import GenerationRequest

WEDNESDAY = date(2024, 1, 3)
FRIDAY = date(2024, 1, 5)
TABLES = ("interactions", "contacts", "deals", "users")

FRICTION_WORDS = (
    "urgente", "prioridade", "asap", "pra ontem", "grave", "emergencia",
    "erro", "problema", "falha", "nao funciona", "reclamacao", "defeito",
    "gerente", "diretor", "supervisor", "advogado", "presidente", "ceo",
)  # fmt: skip
FRICTION = re.compile(r"\b(?:" + "|".join(w.replace(" ", r"\s+") for w in FRICTION_WORDS) + r")\b")
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|res|fw|fwd|enc)\s*:\s*)+", re.IGNORECASE)
EMAIL_TITLES = ("E-mail recebido.", "E-mail enviado.")
RECEIPTS = ("read_receipt", "delivery_receipt")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def noise_reason(record: dict) -> str | None:
    """Contract §4.1, in its order."""
    subject = (record["EmailSubject"] or "").lstrip().lower()
    if subject.startswith(("lida:", "read:")):
        return "read_receipt"
    if subject.startswith(("entregue:", "delivered:")) or (
        record["Title"] == "E-mail recebido."
        and "sua mensagem foi entregue" in (record["Content"] or "").lower()
    ):
        return "delivery_receipt"
    if recipient_count(record) >= 4:
        return "mass_email"
    return None


def recipient_count(record: dict) -> int:
    return len([part for part in (record["EmailRecipients"] or "").split(";") if part.strip()])


def is_friction(record: dict) -> bool:
    text = " ".join(record[field] or "" for field in ("Title", "EmailSubject", "Content"))
    return FRICTION.search(fold(text)) is not None


def read_table(root: Path, table: str, day: date | None = None) -> list[dict]:
    folder = root / "crm" / table
    pattern = f"{day.isoformat()}/*.jsonl" if day else "*/*.jsonl"
    records = []
    for path in sorted(folder.glob(pattern)):
        with open(path, encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle)
    return records


def file_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def request(root: Path, start: date = WEDNESDAY, days: int = 1, **options) -> GenerationRequest:
    options.setdefault("scale", 0.01)
    return GenerationRequest(root, start, days, show_progress=False, **options)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """Two days (Wednesday, Thursday) at scale 0.05: ~10,000 interactions a day."""
    root = tmp_path_factory.mktemp("crm_landing")
    generate(request(root, WEDNESDAY, 2, scale=0.05, seed=7))
    return root


@pytest.fixture(scope="module")
def interactions(landing: Path) -> list[dict]:
    return read_table(landing, "interactions", WEDNESDAY)


@pytest.fixture(scope="module")
def contacts_by_id(landing: Path) -> dict[int, dict]:
    return {record["Id"]: record for record in read_table(landing, "contacts")}


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
    monkeypatch.setattr(crm, "LINES_PER_FILE", 500)
    stale = tmp_path / "crm" / "interactions" / WEDNESDAY.isoformat() / "interactions-0099.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n", encoding="utf-8")
    mine = stale.with_name("manual-export.jsonl")
    mine.write_text("{}\n", encoding="utf-8")

    counts = generate(request(tmp_path, scale=0.01))

    names = sorted(path.name for path in stale.parent.iterdir())
    expected_files = -(-counts["interactions"] // 500)
    assert expected_files >= 4
    assert names == sorted(
        [f"interactions-{index:04d}.jsonl" for index in range(1, expected_files + 1)]
        + ["manual-export.jsonl"]
    )
    for name in names[:-1]:
        lines = (stale.parent / name).read_text(encoding="utf-8").splitlines()
        assert 0 < len(lines) <= 500


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


def test_ids_are_unique_across_days(landing: Path) -> None:
    ids = [record["Id"] for record in read_table(landing, "interactions")]
    assert len(ids) == len(set(ids))


def test_dates_are_local_times_inside_the_folder_day(landing: Path) -> None:
    for day in (WEDNESDAY, WEDNESDAY + timedelta(days=1)):
        for record in read_table(landing, "interactions", day):
            occurred = datetime.fromisoformat(record["Date"])
            assert occurred.date() == day
            assert record["Date"].endswith("-03:00")
    for table, field in (("contacts", "CreateDate"), ("deals", "CreateDate")):
        for record in read_table(landing, table):
            assert datetime.fromisoformat(record[field]).utcoffset() is not None


def test_business_hours_and_weekdays_are_heavier(interactions, tmp_path) -> None:
    hours = Counter(datetime.fromisoformat(record["Date"]).hour for record in interactions)
    assert sum(hours[hour] for hour in range(8, 19)) > 0.8 * len(interactions)
    sunday = WEDNESDAY + timedelta(days=4)
    generate(request(tmp_path, sunday, 1, scale=0.05, seed=7))
    assert len(read_table(tmp_path, "interactions", sunday)) < 0.3 * len(interactions)


# -- noise -----------------------------------------------------------------------------------


def test_noise_mix_matches_the_contract_shares(interactions) -> None:
    assert 9_000 <= len(interactions) <= 11_000
    reasons = Counter(noise_reason(record) for record in interactions)
    total = len(interactions)
    assert 0.30 <= reasons["mass_email"] / total <= 0.40
    assert 0.002 <= reasons["read_receipt"] / total <= 0.01
    assert 0.0005 <= reasons["delivery_receipt"] / total <= 0.005
    assert 0.30 <= (total - reasons[None]) / total <= 0.40


def test_receipts_come_in_every_shape(interactions) -> None:
    receipts = [record for record in interactions if noise_reason(record) in RECEIPTS]
    subjects = [record["EmailSubject"] for record in receipts]
    assert any(subject.startswith("Lida:") for subject in subjects)
    assert any(subject.lower().startswith("read:") for subject in subjects)
    assert any(subject != subject.lstrip() for subject in subjects)  # leading spaces
    assert any(subject.lower().startswith(("entregue:", "delivered:")) for subject in subjects)
    by_content = [
        record
        for record in receipts
        if noise_reason(record) == "delivery_receipt"
        and not record["EmailSubject"].lstrip().lower().startswith(("entregue:", "delivered:"))
    ]
    assert by_content
    assert all(record["Title"] == "E-mail recebido." for record in by_content)


def test_valid_emails_have_one_to_three_recipients_some_with_empty_entries(interactions) -> None:
    valid_emails = [
        record
        for record in interactions
        if noise_reason(record) is None and record["Title"] in EMAIL_TITLES
    ]
    counts = Counter(recipient_count(record) for record in valid_emails)
    assert set(counts) <= {1, 2, 3} and counts[1] and counts[3]
    with_empty_entries = [
        record
        for record in valid_emails
        if any(not part.strip() for part in record["EmailRecipients"].split(";"))
    ]
    assert with_empty_entries
    masses = [record for record in interactions if noise_reason(record) == "mass_email"]
    assert all(record["Title"] in EMAIL_TITLES and record["EmailSubject"] for record in masses)


def test_near_miss_subjects_stay_valid(interactions) -> None:
    valid_subjects = [
        record["EmailSubject"] or "" for record in interactions if noise_reason(record) is None
    ]
    assert any(REPLY_PREFIX.sub("", subject).startswith("Lidar ") for subject in valid_subjects)
    assert any(REPLY_PREFIX.sub("", subject).startswith("Entregues ") for subject in valid_subjects)


# -- kinds, linkage, owners ------------------------------------------------------------------


def test_interaction_kinds(interactions) -> None:
    titles = Counter(record["Title"] for record in interactions)
    assert titles["E-mail recebido."] and titles["E-mail enviado."] and titles[None]
    other_titles = {title for title in titles if title and title not in EMAIL_TITLES}
    assert {"Ligação", "Reunião", "WhatsApp"} <= other_titles
    assert any(title.startswith("Tarefa") for title in other_titles)
    type_ids = {
        record["Title"]: record["TypeId"]
        for record in interactions
        if record["Title"] in ("Ligação", "Reunião", "E-mail enviado.")
    }
    assert len(set(type_ids.values())) == 3


def test_many_interactions_are_on_people_and_most_resolve(interactions, contacts_by_id) -> None:
    linkage = Counter()
    for record in interactions:
        contact = contacts_by_id.get(record["ContactId"])
        if contact is None:
            linkage["unresolved"] += 1
        elif contact["TypeId"] == 2:
            linkage["direct"] += 1
        elif contact["CompanyId"] is not None:
            assert contacts_by_id[contact["CompanyId"]]["TypeId"] == 2
            linkage["via_person"] += 1
        else:
            linkage["unresolved"] += 1
    total = len(interactions)
    assert linkage["via_person"] / total > 0.25
    assert 0.45 <= linkage["direct"] / total <= 0.65
    assert 0.01 <= linkage["unresolved"] / total <= 0.08


def test_owners_are_managers_usually_the_account_manager(
    landing: Path, interactions, contacts_by_id
) -> None:
    users = {record["Id"] for record in read_table(landing, "users", WEDNESDAY)}
    assert {record["OwnerId"] for record in interactions} <= users
    on_companies = [
        record
        for record in interactions
        if contacts_by_id.get(record["ContactId"], {}).get("TypeId") == 2
    ]
    same = sum(
        record["OwnerId"] == contacts_by_id[record["ContactId"]]["OwnerId"]
        for record in on_companies
    )
    assert same / len(on_companies) > 0.7


# -- threads ---------------------------------------------------------------------------------


def test_threads_go_back_and_forth(interactions, contacts_by_id) -> None:
    threads: dict[tuple, list[str]] = defaultdict(list)
    prefixes = set()
    for record in sorted(interactions, key=lambda record: record["Date"]):
        if noise_reason(record) or record["Title"] not in EMAIL_TITLES:
            continue
        contact = contacts_by_id.get(record["ContactId"])
        if contact is None:
            continue
        company = contact["Id"] if contact["TypeId"] == 2 else contact["CompanyId"]
        if company is None:
            continue
        subject = record["EmailSubject"]
        prefix = REPLY_PREFIX.match(subject)
        if prefix:
            prefixes.add(prefix.group(0).strip())
        key = (record["OwnerId"], company, REPLY_PREFIX.sub("", subject).lower())
        threads[key].append(record["Title"])
    changes = [sum(a != b for a, b in pairwise(titles)) for titles in threads.values()]
    assert sum(change >= 3 for change in changes) >= 10
    folded = {prefix.upper() for prefix in prefixes}
    assert {"RE:", "RES:", "ENC:", "FW:", "FWD:"} <= folded
    assert any(prefix.count(":") >= 2 for prefix in prefixes)
    assert any(prefix != prefix.upper() for prefix in prefixes)


def test_thread_subjects_continue_on_the_next_day(landing: Path) -> None:
    def subjects(day: date) -> set[str]:
        return {
            REPLY_PREFIX.sub("", record["EmailSubject"]).lower()
            for record in read_table(landing, "interactions", day)
            if record["Title"] in EMAIL_TITLES and record["EmailSubject"]
        }

    shared = subjects(WEDNESDAY) & subjects(WEDNESDAY + timedelta(days=1))
    assert len(shared) > 100


# -- friction --------------------------------------------------------------------------------


def test_friction_share_and_spellings(interactions) -> None:
    valid = [record for record in interactions if noise_reason(record) is None]
    share = sum(is_friction(record) for record in valid) / len(valid)
    assert 0.08 <= share <= 0.18

    text = "\n".join(
        " ".join(record[field] or "" for field in ("Title", "EmailSubject", "Content"))
        for record in valid
    )
    lowered = text.lower()
    for accented, plain in (
        ("não funciona", "nao funciona"),
        ("reclamação", "reclamacao"),
        ("emergência", "emergencia"),
    ):
        assert accented in lowered and plain in lowered, (accented, plain)
    assert "URGENTE" in text and "urgente" in text
    assert re.search(r"\bCEO\b", text) and re.search(r"\bceo\b", text)
    for word in ("gerente", "advogado", "defeito", "pra ontem", "asap"):
        assert word in lowered, word


def test_decoys_appear_but_are_not_whole_words(interactions) -> None:
    valid = [record for record in interactions if noise_reason(record) is None]
    contents = [record["Content"] or "" for record in valid]
    for decoy in ("terrorismo", "receoso", "gravemente", "problemático"):
        holding = [content for content in contents if decoy in content]
        assert holding, decoy
    decoy_only = [
        record
        for record in valid
        if "terrorismo" in (record["Content"] or "") and not is_friction(record)
    ]
    assert decoy_only  # a substring match on "erro" would wrongly flag these


def test_friday_afternoon_has_more_friction(tmp_path: Path) -> None:
    generate(request(tmp_path, FRIDAY, 1, scale=0.05, seed=3))
    valid = [
        record
        for record in read_table(tmp_path, "interactions", FRIDAY)
        if noise_reason(record) is None
    ]

    def share(records: list[dict]) -> float:
        return sum(is_friction(record) for record in records) / len(records)

    afternoon = [r for r in valid if datetime.fromisoformat(r["Date"]).hour >= 14]
    morning = [r for r in valid if datetime.fromisoformat(r["Date"]).hour < 14]
    assert share(afternoon) > 1.3 * share(morning)


def test_an_average_line_is_about_1_4_kb(interactions) -> None:
    sizes = [len(json.dumps(record, ensure_ascii=False).encode()) + 1 for record in interactions]
    assert 1_200 <= sum(sizes) / len(sizes) <= 1_600


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


def test_deals_have_every_status_and_sane_dates(landing: Path) -> None:
    first = read_table(landing, "deals", WEDNESDAY)
    second = read_table(landing, "deals", WEDNESDAY + timedelta(days=1))
    assert len(first) == 75 and 0 < len(second) < len(first)
    assert Counter(record["StatusId"] for record in first).keys() == {1, 2, 3}
    companies = {
        record["Id"] for record in read_table(landing, "contacts") if record["TypeId"] == 2
    }
    for record in first + second:
        assert record["ContactId"] in companies
        assert 1_000 <= record["Amount"] <= 500_000
        created = datetime.fromisoformat(record["CreateDate"])
        if record["StatusId"] == 1:
            assert record["FinishDate"] is None
        else:
            assert datetime.fromisoformat(record["FinishDate"]) > created
        assert created.date() <= WEDNESDAY + timedelta(days=1)


def test_deal_changes_over_weeks(tmp_path: Path) -> None:
    generate(request(tmp_path, WEDNESDAY, 21, scale=0.001))
    later = [
        record
        for offset in range(1, 21)
        for record in read_table(tmp_path, "deals", WEDNESDAY + timedelta(days=offset))
    ]
    statuses = Counter(record["StatusId"] for record in later)
    assert statuses[1] and statuses[2] + statuses[3]


def test_users_are_the_full_list_every_day(landing: Path) -> None:
    first = read_table(landing, "users", WEDNESDAY)
    second = read_table(landing, "users", WEDNESDAY + timedelta(days=1))
    assert first == second and len(first) >= 3
    assert all(record["Email"].endswith("@nuvemcx.com.br") for record in first)


def test_a_tiny_scale_is_still_coherent(tmp_path: Path) -> None:
    counts = generate(request(tmp_path, scale=0.001))
    assert counts["users"] >= 3 and counts["deals"] >= 6
    contacts = read_table(tmp_path, "contacts")
    assert sum(record["TypeId"] == 2 for record in contacts) >= 5
    reasons = Counter(noise_reason(record) for record in read_table(tmp_path, "interactions"))
    assert reasons["read_receipt"] and reasons["delivery_receipt"] and reasons["mass_email"]
    assert reasons[None] > counts["interactions"] / 2
