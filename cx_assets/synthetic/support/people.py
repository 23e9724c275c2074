"""Agents (staff in teams, with skills, a speed and a capacity) and customers (~30,000 on
day one, a trickle of new ones and changed versions after)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from cx_assets.synthetic.landing_writer import GenerationRequest
from cx_assets.synthetic.pool_files import load_pools
from cx_assets.synthetic.support.shape import (
    AGENT_SPEED_SIGMA,
    AGENTS,
    CATEGORIES,
    CATEGORY_SHARES,
    CHANGED_AGENTS_PER_DAY,
    CHANGED_CUSTOMER_SHARE,
    CUSTOMERS,
    MAX_OPEN_TICKETS,
    MIN_AGENTS,
    MIN_CUSTOMERS,
    NEW_CUSTOMER_SHARE,
    SOURCE,
    np_rng,
)

PEOPLE = load_pools(__package__, "people.json")
FIRST_NAMES = PEOPLE["first_names"]
LAST_NAMES = PEOPLE["last_names"]


def _choice(rng: np.random.Generator, weighted: tuple, size: int) -> np.ndarray:
    values = np.array([value for value, _ in weighted], dtype=object)
    weights = np.array([weight for _, weight in weighted], dtype=float)
    return values[rng.choice(len(values), size=size, p=weights / weights.sum())]


@dataclass
class Agents:
    ids: list[str]
    names: list[str]
    teams: list[str]
    skills: list[tuple[int, ...]]  # category indices, the team's own first
    hire_dates: list[date]
    max_open: np.ndarray
    speed: np.ndarray  # multiplies every delay of the agent's tickets
    workload: np.ndarray  # relative share of tickets the agent picks

    def row(self, agent: int) -> dict:
        return {
            "agent_id": self.ids[agent],
            "name": self.names[agent],
            "team": self.teams[agent],
            "skills": ";".join(CATEGORIES[c] for c in self.skills[agent]),
            "hire_date": self.hire_dates[agent].isoformat(),
            "max_open_tickets": int(self.max_open[agent]),
        }

    def by_category(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per category: the skilled agents and the chance each picks a ticket of it."""
        result = []
        for category in range(len(CATEGORIES)):
            skilled = np.array([a for a, s in enumerate(self.skills) if category in s])
            weights = self.workload[skilled]
            result.append((skilled, weights / weights.sum()))
        return result


def build_agents(request: GenerationRequest) -> Agents:
    rng = np_rng(request, SOURCE, "agents")
    count = request.scaled(AGENTS, minimum=MIN_AGENTS)
    # Every category has a team of its own, sized by its share of tickets.
    primary = np.concatenate(
        [
            np.arange(len(CATEGORIES)),
            rng.choice(len(CATEGORIES), count - len(CATEGORIES), p=CATEGORY_SHARES),
        ]
    )
    rng.shuffle(primary)
    skills = []
    for category in primary:
        extra = rng.choice(3, p=[0.45, 0.4, 0.15])
        others = rng.permutation([c for c in range(len(CATEGORIES)) if c != category])[:extra]
        skills.append((int(category), *sorted(int(c) for c in others)))
    names = [
        f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))]} {LAST_NAMES[rng.integers(len(LAST_NAMES))]}"
        for _ in range(count)
    ]
    return Agents(
        ids=[f"AGT-{n + 1:04d}" for n in range(count)],
        names=names,
        teams=[PEOPLE["teams"][CATEGORIES[c]] for c in primary],
        skills=skills,
        hire_dates=[request.start - timedelta(days=int(d)) for d in rng.integers(30, 2_500, count)],
        max_open=rng.integers(MAX_OPEN_TICKETS[0], MAX_OPEN_TICKETS[1] + 1, count),
        speed=np.clip(rng.lognormal(0.0, AGENT_SPEED_SIGMA, count), 0.4, 3.5),
        workload=rng.uniform(0.7, 1.3, count),
    )


def agent_changes(request: GenerationRequest, agents: Agents, day_index: int) -> list[int]:
    """The agents re-delivered on a later day, with a new `max_open_tickets` (a change of
    shift); applied to `agents`. Day 0 lands every agent instead."""
    rng = np_rng(request, SOURCE, "agent-changes", day_index)
    count = min(len(agents.ids), request.scaled(CHANGED_AGENTS_PER_DAY, minimum=1))
    changed = sorted(int(a) for a in rng.choice(len(agents.ids), count, replace=False))
    for agent in changed:
        step = int(rng.choice([-10, -5, 5, 10]))
        agents.max_open[agent] = int(
            np.clip(agents.max_open[agent] + step, MAX_OPEN_TICKETS[0], MAX_OPEN_TICKETS[1])
        )
    return changed


@dataclass
class Customers:
    ids: list[str]
    names: list[str]
    emails: list[str]
    phones: list[str]
    plans: np.ndarray
    regions: np.ndarray
    signup_dates: list[date]
    landing_day: np.ndarray  # request day index the customer first lands on
    activity: np.ndarray  # relative chance of writing a ticket

    def row(self, customer: int) -> dict:
        return {
            "customer_id": self.ids[customer],
            "name": self.names[customer],
            "email": self.emails[customer],
            "phone": self.phones[customer],
            "plan": self.plans[customer],
            "region": self.regions[customer],
            "signup_date": self.signup_dates[customer].isoformat(),
        }

    def existing(self, day_index: int) -> np.ndarray:
        return np.flatnonzero(self.landing_day <= day_index)


def _phone(rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, 8))
    style = rng.integers(5)
    area = f"{rng.integers(201, 990)}"
    if style == 0:
        return f"+1 {area}-{digits[:3]}-{digits[3:7]}"
    if style == 1:
        return f"({area}) {digits[:3]}-{digits[3:7]}"
    if style == 2:
        return f"{area}.{digits[:3]}.{digits[3:7]}"
    if style == 3:
        return f"+44 20 {digits[:4]} {digits[4:8]}"
    return f"+55 11 9{digits[:4]}-{digits[4:8]}"


def build_customers(request: GenerationRequest) -> Customers:
    """The day-one base plus, for every later day, its new customers."""
    rng = np_rng(request, SOURCE, "customers")
    base = request.scaled(CUSTOMERS, minimum=MIN_CUSTOMERS)
    new_per_day = max(1, round(base * NEW_CUSTOMER_SHARE))
    landing_day = np.concatenate(
        [np.zeros(base, dtype=int), np.repeat(np.arange(1, request.days), new_per_day)]
    )
    total = len(landing_day)
    first = rng.integers(len(FIRST_NAMES), size=total)
    last = rng.integers(len(LAST_NAMES), size=total)
    domains = PEOPLE["email_domains"]
    domain = rng.integers(len(domains), size=total)
    names = [f"{FIRST_NAMES[f]} {LAST_NAMES[s]}" for f, s in zip(first, last, strict=True)]
    emails = [
        f"{FIRST_NAMES[f].lower()}.{LAST_NAMES[s].lower()}{n + 1}@{domains[d]}"
        for n, (f, s, d) in enumerate(zip(first, last, domain, strict=True))
    ]
    signup = [
        request.start - timedelta(days=int(d))
        if day == 0
        else request.start + timedelta(days=int(day))
        for d, day in zip(rng.integers(1, 1_800, total), landing_day, strict=True)
    ]
    return Customers(
        ids=[f"CUS-{n + 1:07d}" for n in range(total)],
        names=names,
        emails=emails,
        phones=[_phone(rng) for _ in range(total)],
        plans=_choice(rng, PEOPLE["plans"], total),
        regions=_choice(rng, PEOPLE["regions"], total),
        signup_dates=signup,
        landing_day=landing_day,
        # Heavy-tailed: a few customers write many tickets.
        activity=rng.lognormal(0.0, 1.0, total),
    )


def customer_changes(request: GenerationRequest, customers: Customers, day_index: int) -> list[int]:
    """Customers of earlier days re-delivered with a new plan; applied to `customers`."""
    rng = np_rng(request, SOURCE, "customer-changes", day_index)
    earlier = np.flatnonzero(customers.landing_day < day_index)
    count = min(len(earlier), max(1, round(len(earlier) * CHANGED_CUSTOMER_SHARE)))
    changed = sorted(int(c) for c in rng.choice(earlier, count, replace=False))
    for customer in changed:
        customers.plans[customer] = _choice(rng, PEOPLE["plans"], 1)[0]
    return changed
