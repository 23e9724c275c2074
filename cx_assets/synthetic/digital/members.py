"""The member base: sized for the first week's first-time leakage calls, grown by new MAPD
enrollees when no member is free, and changed by ~1% new segments a day (see the package
docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from cx_assets.synthetic.digital.shape import (
    CATEGORY_MIX,
    DAILY_CHANGED_MEMBER_SHARE,
    LEAKAGE_CALLS_PER_DAY_AT_SCALE_1,
    LEAKAGE_TYPES,
    MAPD_NEW,
    MAPD_TENURED,
    MIN_BASE_MEMBERS,
    MIN_POOL_SIZE,
    NON_SPANISH_CHOICE,
    OTHER,
    OTHER_PLAN_CHOICE,
    POOL_HEADROOM,
    POOLS,
    REPEAT_RATE,
    SEGMENT_CHOICE,
    SPANISH_SHARE,
    pick,
)


@dataclass
class Members:
    """The member dimension as parallel lists indexed by an int member number (fast lookups)."""

    member_id: list[str] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)
    plan_type: list[str] = field(default_factory=list)
    tenure_months: list[int] = field(default_factory=list)
    segment: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    enrollment_date: list[date] = field(default_factory=list)
    landing_day: list[int] = field(default_factory=list)

    def row(self, member: int) -> dict:
        return {
            "member_id": self.member_id[member],
            "plan_type": self.plan_type[member],
            "tenure_months": self.tenure_months[member],
            "segment": self.segment[member],
            "language_preference": self.language[member],
            "enrollment_date": self.enrollment_date[member].isoformat(),
        }

    def add(self, rng: Random, pool: int, landing_day: int, as_of: date, new: bool = False) -> int:
        """A member of `pool` as of `as_of` (a `new` MAPD enrollee has no tenure yet)."""
        category, spanish = POOLS[pool]
        if category == MAPD_NEW:
            tenure = 0 if new else min(11, int(rng.triangular(0, 12, 0)))
        elif category == MAPD_TENURED:
            tenure = min(240, 12 + int(rng.expovariate(1 / 40)))
        else:
            tenure = min(300, int(rng.expovariate(1 / 30)))
        plan = "MAPD" if category in (MAPD_NEW, MAPD_TENURED) else "Commercial"
        if category == OTHER:
            plan = pick(rng, OTHER_PLAN_CHOICE)
        # Whole months of tenure at `as_of`: tenure * 30.44 days plus less than a month.
        enrolled = as_of - timedelta(days=int(tenure * 30.4375) + rng.randrange(29))
        member = len(self.member_id)
        self.member_id.append(f"M{member + 1:08d}")
        self.pool.append(pool)
        self.plan_type.append(plan)
        self.tenure_months.append(tenure)
        self.segment.append(pick(rng, SEGMENT_CHOICE[category]))
        self.language.append("Spanish" if spanish else pick(rng, NON_SPANISH_CHOICE))
        self.enrollment_date.append(enrolled)
        self.landing_day.append(landing_day)
        return member

    def change_segments(self, rng: Random) -> list[int]:
        """~1% of the members so far get a new segment; category-defining fields never change.
        Returns the changed members in number order."""
        landed_before = len(self.member_id)
        count = max(1, round(DAILY_CHANGED_MEMBER_SHARE * landed_before))
        changed = []
        for member in sorted(rng.sample(range(landed_before), min(count, landed_before))):
            category = POOLS[self.pool[member]][0]
            options = [s for s in SEGMENT_CHOICE[category][0] if s != self.segment[member]]
            if not options:
                continue
            self.segment[member] = rng.choice(options)
            changed.append(member)
        return changed


def base_pool_sequence(rng: Random, scale: float) -> list[int]:
    """The pool of each base member in member order: each pool sized for the first week's
    first-time calls, interleaved so member ids do not reveal the category."""
    sizes = []
    for category, spanish in POOLS:
        weekly_first_calls = 0.0
        for journey_type in LEAKAGE_TYPES:
            share = CATEGORY_MIX[journey_type][category] * (
                SPANISH_SHARE[journey_type] if spanish else 1 - SPANISH_SHARE[journey_type]
            )
            demand = (7 * scale * LEAKAGE_CALLS_PER_DAY_AT_SCALE_1[journey_type] * share) * (
                1 - REPEAT_RATE[category]
            )
            weekly_first_calls = max(weekly_first_calls, demand)
        sizes.append(max(MIN_POOL_SIZE, math.ceil(POOL_HEADROOM * weekly_first_calls)))
    shortfall = MIN_BASE_MEMBERS - sum(sizes)
    if shortfall > 0:  # tiny scales: spread a minimum base over the pools
        sizes = [size + math.ceil(shortfall / len(sizes)) for size in sizes]
    pool_sequence = [pool for pool, size in enumerate(sizes) for _ in range(size)]
    rng.shuffle(pool_sequence)
    return pool_sequence
