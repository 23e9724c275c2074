"""The `contacts` and `users` files of a day.

Contacts: every company and person on the request's first day; each later day only the contacts
created or changed that day (a new phone, e-mail or name spelling), the latest version of an `Id`
winning. Users: every account manager, every day.
"""

from __future__ import annotations

from datetime import date
from random import Random
from typing import Any

from cx_assets.synthetic.crm.shape import (
    CHANGED_CONTACTS_PER_DAY,
    NEW_CONTACT_ID_BASE,
    NEW_CONTACT_IDS_PER_DAY,
    NEW_CONTACTS_PER_DAY,
    SOURCE,
    business_second,
    day_number,
    local_timestamp,
)
from cx_assets.synthetic.crm.text_pools import COMPANY_SUFFIXES, SECTORS, slug
from cx_assets.synthetic.crm.universe import (
    Company,
    Person,
    Universe,
    person_email,
    person_name,
    phone,
)
from cx_assets.synthetic.landing_writer import GenerationRequest


def _company_record(company: Company) -> dict[str, Any]:
    return {
        "Id": company.id,
        "Name": company.name,
        "TypeId": 2,
        "CompanyId": None,
        "OwnerId": company.owner_id,
        "Email": company.email,
        "Phone": company.phone,
        "CreateDate": company.created,
    }


def _person_record(person: Person) -> dict[str, Any]:
    return {
        "Id": person.id,
        "Name": person.name,
        "TypeId": 1,
        "CompanyId": person.company.id if person.company else None,
        "OwnerId": person.owner_id,
        "Email": person.email,
        "Phone": person.phone,
        "CreateDate": person.created,
    }


def contact_records(universe: Universe, request: GenerationRequest, day: date) -> list[dict]:
    """All contacts on the first day; afterwards the ones created or changed that day."""
    if day == request.start:
        records = [_company_record(company) for company in universe.companies]
        records += [_person_record(person) for person in universe.people]
        records.sort(key=lambda record: record["Id"])
        return records

    rng = request.rng(SOURCE, "contacts", day.isoformat())
    everyone: list[Company | Person] = [*universe.companies, *universe.people]
    changed_count = min(len(everyone), request.scaled(CHANGED_CONTACTS_PER_DAY, minimum=1))
    records = [
        _changed_record(rng, universe, contact)
        for contact in sorted(rng.sample(everyone, changed_count), key=lambda contact: contact.id)
    ]
    first_id = NEW_CONTACT_ID_BASE + day_number(day) * NEW_CONTACT_IDS_PER_DAY
    for offset in range(request.scaled(NEW_CONTACTS_PER_DAY, minimum=1)):
        records.append(_new_record(rng, universe, day, first_id, offset))
    return records


def _changed_record(rng: Random, universe: Universe, contact: Company | Person) -> dict[str, Any]:
    """A contact's next version: half a new phone, else a new e-mail or a name fixed by hand."""
    record = _company_record(contact) if isinstance(contact, Company) else _person_record(contact)
    change = rng.random()
    if change < 0.5:
        record["Phone"] = phone(rng)
    elif change < 0.8 and isinstance(contact, Person):
        domain = contact.email.split("@", 1)[1]
        record["Email"] = person_email(contact.first_name, contact.name, domain, rng)
    elif isinstance(contact, Person):
        # A name fixed or completed by hand.
        record["Name"] = f"{contact.name} {rng.choice(universe.text.last_names)}"
    else:
        record["Name"] = f"{contact.short_name} {rng.choice(COMPANY_SUFFIXES[:4])}"
    return record


def _new_record(
    rng: Random, universe: Universe, day: date, first_id: int, offset: int
) -> dict[str, Any]:
    """A contact created on `day`: 15% a new company, otherwise a new person of a company."""
    text = universe.text
    second = business_second(rng)
    if rng.random() < 0.15:
        stem = rng.choice(text.last_names)
        short_name = f"{stem} {rng.choice(SECTORS)}"
        domain = f"{slug(short_name)}{offset}.com.br"
        return {
            "Id": first_id + offset,
            "Name": f"{short_name} {rng.choice(COMPANY_SUFFIXES)}".strip(),
            "TypeId": 2,
            "CompanyId": None,
            "OwnerId": rng.choice(universe.managers).id,
            "Email": f"contato@{domain}",
            "Phone": phone(rng),
            "CreateDate": local_timestamp(day, second),
        }
    company = universe.pick_company(rng)
    first, name = person_name(rng, text)
    return {
        "Id": first_id + offset,
        "Name": name,
        "TypeId": 1,
        "CompanyId": company.id,
        "OwnerId": company.owner_id,
        "Email": person_email(first, name, company.domain, rng),
        "Phone": phone(rng),
        "CreateDate": local_timestamp(day, second),
    }


def user_records(universe: Universe) -> list[dict[str, Any]]:
    return [
        {"Id": manager.id, "Name": manager.name, "Email": manager.email}
        for manager in universe.managers
    ]
