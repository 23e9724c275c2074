"""Deals: the historical ones of the universe, those each later day creates, and the `deals` file
of a day (every deal on the first day, afterwards the ones created or changed that day)."""

from __future__ import annotations

import math
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import TYPE_CHECKING, Any

from cx_assets.synthetic.crm.shape import (
    NEW_DEAL_ID_BASE,
    NEW_DEAL_IDS_PER_DAY,
    NEW_DEALS_PER_DAY,
    SOURCE,
    STATUS_LOST,
    STATUS_OPEN,
    STATUS_WON,
    WON_STAGE,
    business_second,
    day_number,
    local_timestamp,
)
from cx_assets.synthetic.crm.text_pools import PRODUCTS
from cx_assets.synthetic.landing_writer import GenerationRequest

if TYPE_CHECKING:
    from cx_assets.synthetic.crm.universe import Company, Manager, Universe


@dataclass(slots=True, eq=False)
class Deal:
    id: int
    company: Company
    owner_id: int
    title: str
    amount: float
    created_day: date
    created_second: int
    decided_day: date  # won or lost from this day on; far in the future for deals left open
    decided_second: int
    outcome: int
    lost_stage: int

    def status_on(self, day: date) -> int:
        return STATUS_OPEN if day < self.decided_day else self.outcome

    def stage_on(self, day: date) -> int:
        """Open deals move through stages 1-4 evenly over their life; won ones sit at stage 5."""
        if day >= self.decided_day:
            return WON_STAGE if self.outcome == STATUS_WON else self.lost_stage
        life = max(1, (self.decided_day - self.created_day).days)
        return 1 + min(3, 4 * (day - self.created_day).days // life)

    def record(self, day: date) -> dict[str, Any]:
        status = self.status_on(day)
        return {
            "Id": self.id,
            "ContactId": self.company.id,
            "OwnerId": self.owner_id,
            "Title": self.title,
            "Amount": self.amount,
            "StageId": self.stage_on(day),
            "StatusId": status,
            "CreateDate": local_timestamp(self.created_day, self.created_second),
            "FinishDate": None
            if status == STATUS_OPEN
            else local_timestamp(self.decided_day, self.decided_second),
        }


def _deal_amount(rng: Random) -> float:
    return round(min(500_000.0, max(1_000.0, rng.lognormvariate(math.log(25_000), 1.1))), 2)


def _deal_cycle_days(rng: Random) -> int:
    return max(3, min(180, round(rng.lognormvariate(math.log(30), 0.7))))


def _deal_title(rng: Random, company: Company) -> str:
    return f"{rng.choice(PRODUCTS)} - {company.short_name}"


def historical_deal(
    deal_id: int,
    rng: Random,
    anchor: date,
    companies: list[Company],
    cumulative_activity: list[float],
    managers: list[Manager],
) -> Deal:
    """A deal as of `anchor`: ~40% still open (decided within 60 days after), the rest won/lost."""
    company = companies[bisect(cumulative_activity, rng.random() * cumulative_activity[-1])]
    owner_id = company.owner_id if rng.random() < 0.9 else rng.choice(managers).id
    cycle = _deal_cycle_days(rng)
    draw = rng.random()
    if draw < 0.40:
        decided_day = anchor + timedelta(days=rng.randint(1, 60))
        created_day = max(
            anchor - timedelta(days=rng.randint(1, 180)), decided_day - timedelta(days=cycle)
        )
        created_day = min(created_day, anchor - timedelta(days=1))
        outcome = STATUS_WON if rng.random() < 0.55 else STATUS_LOST
    else:
        decided_day = anchor - timedelta(days=rng.randint(1, 540))
        created_day = decided_day - timedelta(days=cycle)
        outcome = STATUS_WON if draw < 0.75 else STATUS_LOST
    return Deal(
        id=deal_id,
        company=company,
        owner_id=owner_id,
        title=_deal_title(rng, company),
        amount=_deal_amount(rng),
        created_day=created_day,
        created_second=business_second(rng),
        decided_day=decided_day,
        decided_second=business_second(rng),
        outcome=outcome,
        lost_stage=rng.randint(1, 4),
    )


class DealBook:
    """Deals through a request: the historical ones plus those each later day creates.

    A deal's status and stage are functions of the day, so a day's file is just the deals whose
    state changed that day; new deals of earlier days are re-drawn from their own day's generator.
    """

    def __init__(self, universe: Universe, request: GenerationRequest) -> None:
        self.universe = universe
        self.request = request
        self._created_on: dict[date, list[Deal]] = {}

    def created_on(self, day: date) -> list[Deal]:
        if day not in self._created_on:
            rng = self.request.rng(SOURCE, "deals", day.isoformat())
            first_id = NEW_DEAL_ID_BASE + day_number(day) * NEW_DEAL_IDS_PER_DAY
            count = self.request.scaled(NEW_DEALS_PER_DAY, minimum=1)
            self._created_on[day] = [
                self._new_deal(rng, first_id + offset, day) for offset in range(count)
            ]
        return self._created_on[day]

    def _new_deal(self, rng: Random, deal_id: int, day: date) -> Deal:
        company = self.universe.pick_company(rng)
        # Seven in ten new deals are decided within months; the rest stay open for long.
        decided_in = _deal_cycle_days(rng) if rng.random() < 0.7 else 3650
        return Deal(
            id=deal_id,
            company=company,
            owner_id=company.owner_id,
            title=_deal_title(rng, company),
            amount=_deal_amount(rng),
            created_day=day,
            created_second=business_second(rng),
            decided_day=day + timedelta(days=decided_in),
            decided_second=business_second(rng),
            outcome=STATUS_WON if rng.random() < 0.55 else STATUS_LOST,
            lost_stage=rng.randint(1, 4),
        )

    def records(self, day: date) -> list[dict[str, Any]]:
        start = self.request.start
        if day == start:
            return [deal.record(day) for deal in self.universe.deals]
        known = list(self.universe.deals)
        for offset in range(1, (day - start).days):
            known.extend(self.created_on(start + timedelta(days=offset)))
        previous = day - timedelta(days=1)
        changed = [
            deal
            for deal in known
            if deal.status_on(day) != deal.status_on(previous)
            or deal.stage_on(day) != deal.stage_on(previous)
        ]
        return [deal.record(day) for deal in changed + self.created_on(day)]
