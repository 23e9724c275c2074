"""The CRM as it stands on the request's first day: managers, companies, people, topics, deals.

Drawn from `request.rng("crm", "universe")` plus a Faker seeded from it, in a fixed order of
draws (managers, companies, people, topics, deals), so a seed always gives the same universe.
"""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from random import Random

from faker import Faker

from cx_assets.synthetic.crm.deals import Deal, historical_deal
from cx_assets.synthetic.crm.shape import (
    COMPANIES,
    DEALS,
    FIRST_CONTACT_ID,
    FIRST_DEAL_ID,
    FIRST_USER_ID,
    FRICTION_TOPIC_SHARE,
    MANAGERS,
    MIN_COMPANIES,
    MIN_DEALS,
    MIN_MANAGERS,
    MIN_PEOPLE,
    OWN_COMPANY,
    OWN_DOMAIN,
    OWNER_IS_ACCOUNT_MANAGER,
    PEOPLE,
    SOURCE,
    business_second,
    local_timestamp,
)
from cx_assets.synthetic.crm.text_pools import (
    COMPANY_SUFFIXES,
    FREE_EMAIL_DOMAINS,
    FRICTION_TOPIC_SUBJECTS,
    SECTORS,
    TOPIC_SUBJECTS,
    TextPools,
    fill,
    has_friction_word,
    slug,
)
from cx_assets.synthetic.landing_writer import GenerationRequest


@dataclass(slots=True)
class Manager:
    id: int
    name: str
    email: str
    signature: str


@dataclass(slots=True)
class Topic:
    """A company's recurring conversation: its subject and the manager who handles it."""

    subject: str
    owner_id: int


@dataclass(slots=True, eq=False)
class Company:
    id: int
    name: str
    short_name: str
    domain: str
    owner_id: int
    email: str
    phone: str
    created: str
    created_order: tuple[int, int]
    activity: float
    people: list[Person] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Person:
    id: int
    name: str
    first_name: str
    company: Company | None
    owner_id: int
    email: str
    phone: str
    job: str
    created: str
    created_order: tuple[int, int]


@dataclass(frozen=True)
class Universe:
    """The CRM as it stands on the request's first day."""

    managers: list[Manager]
    companies: list[Company]
    people: list[Person]  # people of a company and people without one
    lone_people: list[Person]
    deals: list[Deal]
    company_cumulative_activity: list[float]
    all_emails: list[str]
    text: TextPools

    def pick_company(self, rng: Random) -> Company:
        total = self.company_cumulative_activity[-1]
        return self.companies[bisect(self.company_cumulative_activity, rng.random() * total)]


def phone(rng: Random) -> str:
    area = rng.choice((11, 11, 11, 21, 31, 41, 47, 48, 51, 61, 62, 71, 81, 85, 19))
    if rng.random() < 0.6:
        return f"+55 {area} 9{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    return f"({area}) {rng.randint(2000, 5999)}-{rng.randint(1000, 9999)}"


def person_name(rng: Random, text: TextPools) -> tuple[str, str]:
    """(first name, full name)."""
    first = rng.choice(text.first_names)
    last = rng.choice(text.last_names)
    if rng.random() < 0.4:
        last = f"{rng.choice(text.last_names)} {last}"
    return first, f"{first} {last}"


def person_email(first: str, name: str, domain: str, rng: Random) -> str:
    last = name.split()[-1]
    local = rng.choice(
        (f"{slug(first)}.{slug(last)}", f"{slug(first)[0]}{slug(last)}", slug(first))
    )
    return f"{local}@{domain}"


def build_universe(request: GenerationRequest, text: TextPools) -> Universe:
    """Managers, companies, people, topics and deals as of the request's first day."""
    rng = request.rng(SOURCE, "universe")
    fake = Faker("pt_BR")
    fake.seed_instance(rng.getrandbits(64))
    anchor = request.start

    managers = _managers(rng, fake, request.scaled(MANAGERS, minimum=MIN_MANAGERS))
    company_count = request.scaled(COMPANIES, minimum=MIN_COMPANIES)
    companies = _companies(rng, text, anchor, company_count, managers)
    cumulative_activity = list(accumulate(company.activity for company in companies))
    person_count = request.scaled(PEOPLE, minimum=MIN_PEOPLE)
    people = _people(rng, text, anchor, person_count, companies, cumulative_activity, managers)
    # Contact ids grow with creation time, as a CRM's do.
    contacts: list[Company | Person] = [*companies, *people]
    contacts.sort(key=lambda contact: contact.created_order)
    for offset, contact in enumerate(contacts):
        contact.id = FIRST_CONTACT_ID + offset
    _add_topics(rng, text, companies, managers)
    deals = [
        historical_deal(
            FIRST_DEAL_ID + index, rng, anchor, companies, cumulative_activity, managers
        )
        for index in range(request.scaled(DEALS, minimum=MIN_DEALS))
    ]
    for deal in deals:
        deal.company.deal_ids.append(deal.id)

    all_emails = [person.email for person in people] + [company.email for company in companies]
    return Universe(
        managers=managers,
        companies=companies,
        people=people,
        lone_people=[person for person in people if person.company is None],
        deals=deals,
        company_cumulative_activity=cumulative_activity,
        all_emails=all_emails,
        text=text,
    )


def _managers(rng: Random, fake: Faker, count: int) -> list[Manager]:
    managers: list[Manager] = []
    seen_names: set[str] = set()
    while len(managers) < count:
        first, last = fake.first_name(), fake.last_name()
        name = f"{first} {last}"
        if name in seen_names or has_friction_word(name):
            continue
        seen_names.add(name)
        email = f"{slug(first)}.{slug(last)}@{OWN_DOMAIN}"
        signature = (
            f"{name}\nExecutivo(a) de Contas | {OWN_COMPANY}\n{phone(rng)} | www.{OWN_DOMAIN}"
        )
        managers.append(Manager(FIRST_USER_ID + len(managers), name, email, signature))
    return managers


def _companies(
    rng: Random, text: TextPools, anchor: date, count: int, managers: list[Manager]
) -> list[Company]:
    # Some managers carry more accounts than others.
    manager_weights = [rng.uniform(0.5, 2.0) for _ in managers]
    companies: list[Company] = []
    seen_domains: set[str] = set()
    for index in range(count):
        stem = rng.choice(text.last_names)
        if rng.random() < 0.25:
            stem = f"{stem} & {rng.choice(text.last_names)}"
        sector = rng.choice(SECTORS)
        short_name = f"{stem} {sector}"
        name = f"{short_name} {rng.choice(COMPANY_SUFFIXES)}".strip()
        domain = slug(short_name)
        if domain in seen_domains:
            domain = f"{domain}{index}"
        seen_domains.add(domain)
        domain += ".com.br"
        age_days = rng.randint(60, 2000)
        second = business_second(rng)
        companies.append(
            Company(
                id=0,
                name=name,
                short_name=short_name,
                domain=domain,
                owner_id=rng.choices(managers, weights=manager_weights)[0].id,
                email=f"{rng.choice(('contato', 'comercial', 'financeiro', 'atendimento'))}@{domain}",
                phone=phone(rng),
                created=local_timestamp(anchor - timedelta(days=age_days), second),
                created_order=(-age_days, second),
                # Heavy tail: a few accounts are far busier than the rest.
                activity=min(60.0, rng.paretovariate(1.3)),
            )
        )
    return companies


def _people(
    rng: Random,
    text: TextPools,
    anchor: date,
    count: int,
    companies: list[Company],
    cumulative_activity: list[float],
    managers: list[Manager],
) -> list[Person]:
    """~5% people without a company, then one person for every company, then the busiest
    companies' other people."""
    people: list[Person] = []
    lone_count = max(1, round(count * 0.05))
    for index in range(count):
        company: Company | None
        if index < lone_count:
            company = None
        elif index - lone_count < len(companies):
            company = companies[index - lone_count]  # every company gets a first person
        else:
            company = companies[bisect(cumulative_activity, rng.random() * cumulative_activity[-1])]
        first, name = person_name(rng, text)
        if company is None:
            email = person_email(first, name, rng.choice(FREE_EMAIL_DOMAINS), rng)
            owner_id = rng.choice(managers).id
            company_age = 2000
        else:
            email = person_email(first, name, company.domain, rng)
            owner_id = company.owner_id
            company_age = -company.created_order[0]
        age_days = rng.randint(1, company_age)
        second = business_second(rng)
        person = Person(
            id=0,
            name=name,
            first_name=first,
            company=company,
            owner_id=owner_id,
            email=email,
            phone=phone(rng),
            job=rng.choice(text.jobs),
            created=local_timestamp(anchor - timedelta(days=age_days), second),
            created_order=(-age_days, second),
        )
        people.append(person)
        if company is not None:
            company.people.append(person)
    return people


def _add_topics(
    rng: Random, text: TextPools, companies: list[Company], managers: list[Manager]
) -> None:
    """3-6 topics a company, 5% of them with a friction subject, most with the account manager."""
    for company in companies:
        topic_count = rng.randint(3, 6)
        for template in rng.sample(TOPIC_SUBJECTS, topic_count):
            if rng.random() < FRICTION_TOPIC_SHARE:
                template = rng.choice(FRICTION_TOPIC_SUBJECTS)
            owner_id = (
                company.owner_id
                if rng.random() < OWNER_IS_ACCOUNT_MANAGER
                else rng.choice(managers).id
            )
            company.topics.append(Topic(fill(template, rng, text.cities), owner_id))
