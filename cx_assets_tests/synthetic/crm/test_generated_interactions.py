"""The §4.1 patterns the CRM generator must exercise in interactions: the noise mix, kinds, who
they are on and who owns them, threads, friction, their hours and their size. Noise, linkage,
threads and friction are re-derived here from the contract's rules, independently of the
generator's own code."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from cx_assets.synthetic.crm import generate
from cx_assets.synthetic.crm.text_pools import build_text_pools
from cx_assets_tests.synthetic.crm.landed_records import (
    WEDNESDAY,
    noise_reason,
    read_table,
    recipient_count,
    request,
)

FRIDAY = date(2024, 1, 5)

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


def has_friction_word(text: str) -> bool:
    return FRICTION.search(fold(text)) is not None


def is_friction(record: dict) -> bool:
    return has_friction_word(
        " ".join(record[field] or "" for field in ("Title", "EmailSubject", "Content"))
    )


@pytest.fixture(scope="module")
def interactions(landing: Path) -> list[dict]:
    return read_table(landing, "interactions", WEDNESDAY)


@pytest.fixture(scope="module")
def contacts_by_id(landing: Path) -> dict[int, dict]:
    return {record["Id"]: record for record in read_table(landing, "contacts")}


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
    assert all(record["Title"] == "E-mail recebido." for record in receipts)


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
    assert any("; ;" in record["EmailRecipients"] for record in masses)
    # Nine in ten mass e-mails are campaign sends, the rest customers' reply-alls.
    sent = sum(record["Title"] == "E-mail enviado." for record in masses) / len(masses)
    assert 0.8 <= sent <= 0.95


def test_inbound_e_mails_are_to_a_manager_and_outbound_ones_to_customers(interactions) -> None:
    """A valid inbound e-mail goes to the company's own domain, an outbound one never does."""
    for record in interactions:
        if noise_reason(record) is None and record["Title"] in EMAIL_TITLES:
            to_us = "@nuvemcx.com.br" in record["EmailRecipients"]
            assert to_us == (record["Title"] == "E-mail recebido."), record


def test_near_miss_subjects_stay_valid(interactions) -> None:
    valid_subjects = [
        record["EmailSubject"] or "" for record in interactions if noise_reason(record) is None
    ]
    assert any(REPLY_PREFIX.sub("", subject).startswith("Lidar ") for subject in valid_subjects)
    assert any(REPLY_PREFIX.sub("", subject).startswith("Entregues ") for subject in valid_subjects)
    assert any(
        record["Title"] == "E-mail enviado."
        and "sua mensagem foi entregue" in (record["Content"] or "").lower()
        for record in interactions
        if noise_reason(record) is None
    )


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
    kinds = {"Ligação": 2, "WhatsApp": 7, "Reunião": 4, "Visita": 5, None: 1}
    for record in interactions:
        if record["Title"] in kinds:
            assert record["TypeId"] == kinds[record["Title"]], record
        is_task = (record["Title"] or "").startswith("Tarefa")  # `Tarefa`, `Tarefa: ...`
        assert is_task == (record["TypeId"] == 6), record
    assert len({record["Title"] for record in interactions if record["TypeId"] == 6}) >= 3


def test_many_interactions_are_on_people_and_most_resolve(interactions, contacts_by_id) -> None:
    linkage = Counter()
    for record in interactions:
        contact = contacts_by_id.get(record["ContactId"])
        if contact is None:
            linkage["unresolved"] += 1
            linkage["unknown id"] += 1
        elif contact["TypeId"] == 2:
            linkage["direct"] += 1
        elif contact["CompanyId"] is not None:
            assert contacts_by_id[contact["CompanyId"]]["TypeId"] == 2
            linkage["via_person"] += 1
        else:
            linkage["unresolved"] += 1
            linkage["person without a company"] += 1
    total = len(interactions)
    assert linkage["via_person"] / total > 0.25
    assert 0.45 <= linkage["direct"] / total <= 0.65
    assert 0.01 <= linkage["unresolved"] / total <= 0.08
    # ~2.5% on a person without a company, ~1.5% on a deleted contact
    assert linkage["person without a company"] / total >= 0.01
    assert linkage["unknown id"] / total >= 0.005


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
    assert same / len(on_companies) > 0.8  # 85%, and a draw among the others may hit it


def company_of(record: dict, contacts_by_id: dict[int, dict]) -> int | None:
    """Contract §4.1: the contact itself when a company, a person's CompanyId, else None."""
    contact = contacts_by_id.get(record["ContactId"])
    if contact is None:
        return None
    return contact["Id"] if contact["TypeId"] == 2 else contact["CompanyId"]


def test_deals_linked_are_their_companys(landing: Path, interactions, contacts_by_id) -> None:
    deals = {record["Id"]: record for record in read_table(landing, "deals")}
    linked = [record for record in interactions if record["DealId"] is not None]
    assert len(linked) > 0.02 * len(interactions)
    for record in linked:
        assert deals[record["DealId"]]["ContactId"] == company_of(record, contacts_by_id)


def test_a_few_companies_are_far_busier(interactions, contacts_by_id) -> None:
    """Heavy-tailed activity: the busiest 5% of the 200 companies hold over a fifth."""
    per_company = Counter(company_of(record, contacts_by_id) for record in interactions)
    del per_company[None]
    busiest = sum(count for _, count in per_company.most_common(10))
    assert busiest > 0.2 * sum(per_company.values())


def test_e_mails_from_people_carry_their_phone(interactions, contacts_by_id) -> None:
    """Personal data typed into bodies: a person's signature holds their phone."""
    from_people = [
        record
        for record in interactions
        if noise_reason(record) is None
        and record["Title"] == "E-mail recebido."
        and contacts_by_id.get(record["ContactId"], {}).get("TypeId") == 1
    ]
    phones = sum(contacts_by_id[r["ContactId"]]["Phone"] in r["Content"] for r in from_people)
    assert phones > 0.9 * len(from_people)  # less than all: a phone may change on day two


# -- threads ---------------------------------------------------------------------------------


def test_threads_go_back_and_forth(interactions, contacts_by_id) -> None:
    threads: dict[tuple, list[str]] = defaultdict(list)
    owners: dict[tuple, set[int]] = defaultdict(set)
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
        key = (company, REPLY_PREFIX.sub("", subject).lower())
        threads[key].append(record["Title"])
        owners[key].add(record["OwnerId"])
    changes = [sum(a != b for a, b in pairwise(titles)) for titles in threads.values()]
    assert sum(change >= 3 for change in changes) >= 10
    # A reply switches direction 80% of the time (less here, as a day's threads of one
    # topic interleave); a thread keeps its owner.
    switches = [a != b for titles in threads.values() for a, b in pairwise(titles)]
    assert sum(switches) / len(switches) > 0.5
    assert sum(len(ids) > 1 for ids in owners.values()) <= 0.02 * len(owners)
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


def test_only_the_friction_pools_hold_friction_words(tmp_path: Path) -> None:
    pools = build_text_pools(request(tmp_path))
    assert all(has_friction_word(text) for text in pools.friction_sentences)
    clean = (
        *("first_names", "last_names", "cities", "jobs"),
        *("body_paragraphs", "note_sentences", "campaign_bodies"),
        "decoy_sentences",  # a friction word only inside a longer word
    )
    for name in clean:
        assert not any(has_friction_word(text) for text in getattr(pools, name)), name


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
    two_pm = [r for r in valid if datetime.fromisoformat(r["Date"]).hour == 14]
    assert share(two_pm) > 1.3 * share(morning)  # from 14:00, as the contract counts it


# -- hours and line size ---------------------------------------------------------------------


def test_business_hours_and_weekdays_are_heavier(interactions, tmp_path) -> None:
    hours = Counter(datetime.fromisoformat(record["Date"]).hour for record in interactions)
    assert sum(hours[hour] for hour in range(8, 19)) > 0.8 * len(interactions)
    sunday = WEDNESDAY + timedelta(days=4)
    generate(request(tmp_path, sunday, 1, scale=0.05, seed=7))
    assert len(read_table(tmp_path, "interactions", sunday)) < 0.15 * len(interactions)  # a tenth


def test_a_days_interactions_land_in_date_order(interactions) -> None:
    occurred = [datetime.fromisoformat(record["Date"]) for record in interactions]
    assert occurred == sorted(occurred)


def test_an_average_line_is_about_1_4_kb(interactions) -> None:
    sizes = [len(json.dumps(record, ensure_ascii=False).encode()) + 1 for record in interactions]
    assert 1_200 <= sum(sizes) / len(sizes) <= 1_600
