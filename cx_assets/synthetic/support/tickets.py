"""Every ticket of the requested days and its life, drawn in bulk with numpy per creation day:
created → picked by an agent → first response → resolved → closed, and a CSAT answer.
Times are seconds since the Unix epoch (UTC); NaN means "never" (within the simulation).

A day's delivery is then every ticket with an event that day, in its state at the end of
the day (`versions_of_day`), plus a few earlier lines of the same day for tickets that
changed during it (the later line wins)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

import numpy as np

from cx_assets.synthetic.landing_writer import GenerationRequest
from cx_assets.synthetic.support.people import Agents, Customers
from cx_assets.synthetic.support.shape import (
    CATEGORIES,
    CATEGORY_GROWTH,
    CATEGORY_SHARES,
    CHANNEL_SHARES,
    CLOSED_SHARE,
    CSAT_SHARE,
    DAY,
    FIRST_RESPONSE_MINUTES,
    FIRST_RESPONSE_TARGET,
    HOUR,
    HOUR_WEIGHTS,
    INTRADAY_REVISION_SHARE,
    LINGERING_SHARE,
    MINUTE,
    MISLABELLED_SHARE,
    NON_UTC_OFFSET_SHARE,
    PENDING_SHARE,
    PRIORITY_SHARES,
    QUEUE_MINUTES,
    RESOLUTION_MINUTES,
    RESOLUTION_TARGET,
    SOURCE,
    STUCK_IN_QUEUE_SHARE,
    UNCATEGORIZED_SHARE,
    Z_SUFFIX_SHARE,
    expected_new_tickets,
    np_rng,
)
from cx_assets.synthetic.support.text import TextPlan

UNLABELLED = -1
# How a ticket's timestamps are written: no offset (UTC), a `Z`, or local time at -03:00.
PLAIN, ZULU, MINUS_THREE = 0, 1, 2


@dataclass
class Tickets:
    """Parallel arrays, one entry per ticket, in creation order."""

    ids: np.ndarray
    created: np.ndarray
    priority: np.ndarray
    channel: np.ndarray
    category: np.ndarray  # the true category (what the text is about)
    label: np.ndarray  # the delivered category; UNLABELLED: none
    customer: np.ndarray
    agent: np.ndarray
    assigned: np.ndarray
    first_response: np.ndarray
    resolved: np.ndarray
    closed: np.ndarray
    csat_at: np.ndarray
    csat: np.ndarray
    pending: np.ndarray
    time_style: np.ndarray
    text: TextPlan

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def concat(cls, batches: list[Tickets]) -> Tickets:
        values = {}
        for item in fields(cls):
            if item.name == "text":
                continue
            values[item.name] = np.concatenate([getattr(b, item.name) for b in batches])
        values["text"] = TextPlan(
            **{
                item.name: np.concatenate([getattr(b.text, item.name) for b in batches])
                for item in fields(TextPlan)
            }
        )
        return cls(**values)


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def simulate_day(
    request: GenerationRequest,
    day_index: int,
    agents: Agents,
    customers: Customers,
    skilled: list[tuple[np.ndarray, np.ndarray]],
) -> Tickets:
    """The tickets created on the request's day `day_index`, with their whole life. One
    random stream a day, drawn from in a fixed order (the helpers below, in turn), so a
    seed gives the same tickets."""
    day = request.dates[day_index]
    rng = np_rng(request, SOURCE, "tickets", day.isoformat())
    n = int(rng.poisson(expected_new_tickets(request, day_index, day)))
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS)
    created = np.sort(_epoch(day) + hours * HOUR + rng.integers(0, HOUR, size=n))
    priority = rng.choice(len(PRIORITY_SHARES), size=n, p=PRIORITY_SHARES)
    category, label = _categories(rng, n, day_index)
    customer, agent = _people(rng, customers, day_index, skilled, category)
    life = _Life.drawn(rng, priority, created, agents.speed[agent])
    csat = _csat(rng, priority, created, life.first_response, life.resolved)
    style_roll = rng.random(n)
    time_style = np.where(
        style_roll < NON_UTC_OFFSET_SHARE,
        MINUS_THREE,
        np.where(style_roll < NON_UTC_OFFSET_SHARE + Z_SUFFIX_SHARE, ZULU, PLAIN),
    )
    return Tickets(
        ids=np.array([f"TCK-{day:%Y%m%d}-{k + 1:06d}" for k in range(n)], dtype=object),
        created=created,
        priority=priority,
        channel=rng.choice(len(CHANNEL_SHARES), size=n, p=CHANNEL_SHARES),
        category=category,
        label=label,
        customer=customer,
        agent=agent,
        assigned=life.assigned,
        first_response=life.first_response,
        resolved=life.resolved,
        closed=life.closed,
        csat_at=life.csat_at,
        csat=csat,
        pending=rng.random(n) < PENDING_SHARE,
        time_style=time_style,
        text=TextPlan.draw(rng, category),
    )


def _categories(rng: np.random.Generator, n: int, day_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Each ticket's true category (the mix drifting week by week) and the one delivered:
    none for a share, another category for a share of the rest (mislabelled)."""
    shares = CATEGORY_SHARES * CATEGORY_GROWTH ** (day_index / 7)
    category = rng.choice(len(CATEGORIES), size=n, p=shares / shares.sum())
    roll = rng.random(n)
    wrong = (category + rng.integers(1, len(CATEGORIES), size=n)) % len(CATEGORIES)
    labelled_wrong = (roll >= UNCATEGORIZED_SHARE) & (
        roll < UNCATEGORIZED_SHARE + (1 - UNCATEGORIZED_SHARE) * MISLABELLED_SHARE
    )
    label = np.where(
        roll < UNCATEGORIZED_SHARE, UNLABELLED, np.where(labelled_wrong, wrong, category)
    )
    return category, label


def _people(
    rng: np.random.Generator,
    customers: Customers,
    day_index: int,
    skilled: list[tuple[np.ndarray, np.ndarray]],
    category: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each ticket's customer (the active ones more often) and agent (one with the
    category's skill, as `skilled` weighs them)."""
    existing = customers.existing(day_index)
    weights = customers.activity[existing]
    customer = existing[rng.choice(len(existing), size=len(category), p=weights / weights.sum())]
    agent = np.empty(len(category), dtype=int)
    for c, (candidates, chances) in enumerate(skilled):
        of_category = category == c
        agent[of_category] = rng.choice(candidates, size=int(of_category.sum()), p=chances)
    return customer, agent


@dataclass(frozen=True)
class _Life:
    """When each ticket was assigned, first answered, resolved, closed and rated, in epoch
    seconds (closed and rated NaN: never)."""

    assigned: np.ndarray
    first_response: np.ndarray
    resolved: np.ndarray
    closed: np.ndarray
    csat_at: np.ndarray

    @classmethod
    def drawn(
        cls,
        rng: np.random.Generator,
        priority: np.ndarray,
        created: np.ndarray,
        speed: np.ndarray,
    ) -> _Life:
        """A queue wait by priority (some stuck for hours), then the agent's pace
        (`speed`) for the first response and the work; a share lingers for days."""
        n = len(created)
        wait = rng.exponential(QUEUE_MINUTES[priority]) * MINUTE
        stuck = rng.random(n) < STUCK_IN_QUEUE_SHARE
        wait = np.where(stuck, rng.uniform(6, 30, size=n) * HOUR, wait)
        assigned = created + wait
        first_response = (
            assigned + rng.exponential(FIRST_RESPONSE_MINUTES[priority] * speed) * MINUTE
        )
        work = rng.gamma(2.0, RESOLUTION_MINUTES[priority] * speed / 2.0) * MINUTE
        lingering = created + rng.uniform(5, 20, size=n) * DAY
        resolved = np.where(rng.random(n) < LINGERING_SHARE, lingering, first_response + work)
        closed = np.where(
            rng.random(n) < CLOSED_SHARE, resolved + rng.uniform(1, 3, size=n) * DAY, np.nan
        )
        csat_at = np.where(
            rng.random(n) < CSAT_SHARE, resolved + rng.uniform(1, 30, size=n) * HOUR, np.nan
        )
        return cls(assigned, first_response, resolved, closed, csat_at)


def _csat(
    rng: np.random.Generator,
    priority: np.ndarray,
    created: np.ndarray,
    first_response: np.ndarray,
    resolved: np.ndarray,
) -> np.ndarray:
    """1..5: falls with a breached target and with a long wait relative to the target."""
    response_ratio = (first_response - created) / (FIRST_RESPONSE_TARGET[priority] * MINUTE)
    resolution_ratio = (resolved - created) / (RESOLUTION_TARGET[priority] * MINUTE)
    score = (
        4.7
        - 1.3 * (response_ratio > 1)
        - 1.3 * (resolution_ratio > 1)
        - 0.5 * np.log1p(np.nan_to_num(resolution_ratio, nan=1.0))
        + rng.normal(0, 0.6, size=len(priority))
    )
    return np.clip(np.rint(score), 1, 5).astype(int)


@dataclass(frozen=True)
class DayVersions:
    """The tickets delivered on a day, each in its end-of-day state, and the ones that also
    get an earlier line (their state right after creation)."""

    tickets: np.ndarray
    revised_early: np.ndarray


def versions_of_day(request: GenerationRequest, tickets: Tickets, day_index: int) -> DayVersions:
    day = request.dates[day_index]
    start, end = _epoch(day), _epoch(day) + DAY
    events = (
        tickets.created,
        tickets.assigned,
        tickets.first_response,
        tickets.resolved,
        tickets.closed,
        tickets.csat_at,
    )
    touched = np.zeros(len(tickets), dtype=bool)
    for times in events:
        touched |= (times >= start) & (times < end)
    delivered = np.flatnonzero(touched)
    created_today = tickets.created[delivered] >= start
    changed_today = tickets.assigned[delivered] < end
    rng = np_rng(request, SOURCE, "revisions", day.isoformat())
    revised = delivered[
        created_today & changed_today & (rng.random(len(delivered)) < INTRADAY_REVISION_SHARE)
    ]
    return DayVersions(delivered, revised)
