"""Whom an interaction is on and by whom, and the `Draft` it becomes before its prose is written.

Who an interaction is on (drawn once per e-mail thread): 60% a company, 36% a person of a
company, 2.5% a person without a company and 1.5% an id that is not in the contacts. The owner
is the account manager 85% of the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from cx_assets.synthetic.crm.shape import (
    DEAL_LINK_RATE,
    ON_COMPANY,
    ON_COMPANY_PERSON,
    ON_LONE_PERSON,
    OWNER_IS_ACCOUNT_MANAGER,
    UNKNOWN_CONTACT_ID_BASE,
)
from cx_assets.synthetic.crm.text_pools import FREE_EMAIL_DOMAINS
from cx_assets.synthetic.crm.universe import (
    Company,
    Person,
    Universe,
    person_email,
    person_name,
)


@dataclass(slots=True)
class Target:
    """Whom an interaction is on, and how to address them."""

    contact_id: int
    company: Company | None
    person: Person | None
    greeting_name: str | None  # None: greet the team
    email: str
    signature: str


@dataclass(slots=True)
class Draft:
    """An interaction with every decision made except its prose, which is written at output time
    (so a day's ~300 MB of text never sits in memory at once)."""

    second: int
    contact_id: int
    owner_id: int
    type_id: int
    title: str | None
    subject: str | None
    recipients: str | None
    deal_id: int | None
    content: tuple  # (kind, ...) read by `Prose.content`


class Targets:
    """Picks targets, owners, linked deals and recipients from the day's generator."""

    def __init__(self, universe: Universe, rng: Random) -> None:
        self.universe = universe
        self.rng = rng
        self.manager_ids = [manager.id for manager in universe.managers]
        self.managers_by_id = {manager.id: manager for manager in universe.managers}

    def pick(self) -> Target:
        rng = self.rng
        draw = rng.random()
        if draw < ON_COMPANY_PERSON:
            company = self.universe.pick_company(rng)
            if draw < ON_COMPANY or not company.people:
                return self.company(company)
            return self.person(rng.choice(company.people))
        if draw < ON_LONE_PERSON:
            return self.person(rng.choice(self.universe.lone_people))
        # A contact deleted from the CRM after its interactions were logged.
        contact_id = UNKNOWN_CONTACT_ID_BASE + rng.randrange(100_000_000)
        first, name = person_name(rng, self.universe.text)
        email = person_email(first, name, rng.choice(FREE_EMAIL_DOMAINS), rng)
        return Target(contact_id, None, None, first, email, name)

    @staticmethod
    def company(company: Company) -> Target:
        return Target(
            company.id, company, None, None, company.email, f"Equipe {company.short_name}"
        )

    @staticmethod
    def person(person: Person) -> Target:
        company_line = person.company.name if person.company else ""
        signature = f"{person.name}\n{person.job}\n{company_line}\n{person.phone}"
        return Target(person.id, person.company, person, person.first_name, person.email, signature)

    def owner_for(self, target: Target) -> int:
        if target.company is not None and self.rng.random() < OWNER_IS_ACCOUNT_MANAGER:
            return target.company.owner_id
        if target.person is not None and self.rng.random() < OWNER_IS_ACCOUNT_MANAGER:
            return target.person.owner_id
        return self.rng.choice(self.manager_ids)

    def deal_for(self, target: Target) -> int | None:
        company = target.company
        if company is None or not company.deal_ids or self.rng.random() >= DEAL_LINK_RATE:
            return None
        return self.rng.choice(company.deal_ids)

    def colleagues(self, target: Target, count: int) -> list[str]:
        if target.company is None or count <= 0:
            return []
        people = target.company.people
        return [self.rng.choice(people).email for _ in range(count)] if people else []

    def recipients(self, addresses: list[str]) -> str:
        """`;`-joined addresses; now and then with an empty entry, as Outlook exports leave them."""
        rng = self.rng
        addresses = list(dict.fromkeys(addresses))
        if rng.random() < 0.06:
            addresses.insert(rng.randint(1, len(addresses)), rng.choice(("", " ", "  ")))
        separator = "; " if rng.random() < 0.7 else ";"
        joined = separator.join(addresses)
        if rng.random() < 0.02:
            joined += ";"
        return joined
