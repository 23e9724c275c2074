"""One time-ordered pass over the requested range (see the package docstring).

Each day plans its calls and failures (leakage calls with their failed sessions, late calls,
calls without a failure, failures without a call), runs them in time order so the history only
ever sees the past, then adds sessions that complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random
from typing import NamedTuple

from cx_assets.synthetic.digital.history import History, LeakageSlot
from cx_assets.synthetic.digital.members import Members, base_pool_sequence
from cx_assets.synthetic.digital.rows import Rows
from cx_assets.synthetic.digital.shape import (
    AGENTS_AT_SCALE_1,
    ALL_REASONS,
    BILINGUAL_AGENT_SHARE,
    CATEGORIES,
    COMPLETED_SESSIONS_PER_DAY,
    COMPLETED_TYPE_CHOICE,
    DAY_SECONDS,
    DOUBLE_ERROR_SHARE,
    HOUR_CHOICE,
    LATE_CALLS_PER_DAY,
    LATE_TYPE_CHOICE,
    LEAKAGE_SENTIMENT,
    LEAKAGE_TYPES,
    LEAKAGE_WINDOW_SECONDS,
    MAX_SESSION_SPAN_SECONDS,
    NO_CALL_FAILURE_SESSIONS_PER_DAY,
    NO_CALL_TYPE_CHOICE,
    OTHER_CALL_SENTIMENT,
    OTHER_REASON_CALLS_PER_DAY,
    OTHER_REASON_CHOICE,
    POOL_CHOICE,
    POOLS,
    REASON_INDEX,
    REPEAT_RATE,
    REPEAT_SENTIMENT_PENALTY,
    SOURCE,
    UNPROMPTED_CALLS_PER_DAY,
    UNPROMPTED_REASON_CHOICE,
    clip,
    daily_leakage_target,
    pick,
)
from cx_assets.synthetic.landing_writer import GenerationRequest

LEAD = MAX_SESSION_SPAN_SECONDS


class Task(NamedTuple):
    """Something to place at `at`; `sequence` keeps ties in planning order."""

    at: int
    sequence: int
    kind: str  # leakage, late, call or failure
    reason: int
    gap: int  # seconds from the failure to the call (leakage and late calls)


@dataclass
class Today:
    """A day's running ids, and the members landed before it (random picks come from them)."""

    stamp: str
    landed_before: int
    sessions: int = 0
    calls: int = 0

    def session_id(self) -> str:
        self.sessions += 1
        return f"WS{self.stamp}{self.sessions:07d}"

    def call_id(self) -> str:
        self.calls += 1
        return f"CL{self.stamp}{self.calls:07d}"

    def any_member(self, rng: Random) -> int:
        return rng.randrange(self.landed_before)

    def member_where(self, rng: Random, fits: Callable[[int], bool]) -> int | None:
        """The first of up to ten random members that fits, if any."""
        for _attempt in range(10):
            member = self.any_member(rng)
            if fits(member):
                return member
        return None


class Simulation:
    def __init__(self, request: GenerationRequest) -> None:
        self.request = request
        self.members = Members()
        self.history = History(self.members)
        self.owed_repeats = dict.fromkeys(CATEGORIES, 0)
        agent_count = request.scaled(AGENTS_AT_SCALE_1, minimum=4)
        self.rows = Rows(
            origin=datetime(request.start.year, request.start.month, request.start.day),
            members=self.members,
            history=self.history,
            agents=[f"AGT{number:04d}" for number in range(1, agent_count + 1)],
            bilingual=max(1, round(agent_count * BILINGUAL_AGENT_SHARE)),
        )
        rng = request.rng(SOURCE, "members", "base")
        for pool in base_pool_sequence(rng, request.scale):
            self._add_member(rng, pool, landing_day=0, as_of=request.start)

    def _add_member(
        self, rng: Random, pool: int, landing_day: int, as_of: date, new: bool = False
    ) -> int:
        member = self.members.add(rng, pool, landing_day, as_of, new)
        for reason in LEAKAGE_TYPES:
            self.history.make_fresh(member, REASON_INDEX[reason])
        self.rows.member(member, landing_day)
        return member

    def planned_records(self, day: int) -> int:
        request = self.request
        return (
            sum(daily_leakage_target(request, t, day) for t in LEAKAGE_TYPES)
            + request.scaled(LATE_CALLS_PER_DAY)
            + request.scaled(UNPROMPTED_CALLS_PER_DAY)
            + request.scaled(OTHER_REASON_CALLS_PER_DAY)
            + request.scaled(NO_CALL_FAILURE_SESSIONS_PER_DAY)
            + request.scaled(COMPLETED_SESSIONS_PER_DAY, minimum=2)
        )

    def take_rows(self, table: str, day: int) -> list[dict]:
        return self.rows.take(table, day)

    # --- times -------------------------------------------------------------------------------

    @staticmethod
    def _time_in_day(rng: Random, day: int) -> int:
        return day * DAY_SECONDS + pick(rng, HOUR_CHOICE) * 3600 + rng.randrange(3600)

    def _call_time(self, rng: Random, day: int, lead_seconds: int) -> int:
        """A call time on `day` whose session (`lead_seconds` earlier) starts inside the range."""
        while True:
            call_at = self._time_in_day(rng, day)
            if call_at - lead_seconds >= 0:
                return call_at

    @staticmethod
    def _leakage_gap(rng: Random) -> int:
        """Failure-to-call seconds: mostly a few minutes, some close to and exactly at 30:00."""
        draw = rng.random()
        if draw < 0.03:
            return LEAKAGE_WINDOW_SECONDS
        if draw < 0.08:
            return rng.randint(LEAKAGE_WINDOW_SECONDS - 120, LEAKAGE_WINDOW_SECONDS - 1)
        gap = 60 + int(rng.gammavariate(2.0, 240))
        return gap if gap < LEAKAGE_WINDOW_SECONDS else rng.randint(60, LEAKAGE_WINDOW_SECONDS - 1)

    # --- one day -----------------------------------------------------------------------------

    def simulate_day(self, day: int) -> None:
        request = self.request
        day_date = request.start + timedelta(days=day)
        rng = request.rng(SOURCE, "day", day_date.isoformat())
        if day > 0:
            for member in self.members.change_segments(rng):
                self.rows.member(member, day)
        # Members are numbered in creation order and everyone existing now landed before today
        # (or with the base on day 0), so random picks from this prefix never precede a landing.
        today = Today(day_date.strftime("%Y%m%d"), landed_before=len(self.members.member_id))
        self.history.prune_recent(day * DAY_SECONDS)

        # Plan the day's tasks, then run them in time order so history checks see the past only.
        run = {
            "leakage": self._leakage_call,
            "late": self._late_call,
            "call": self._call_without_failure,
            "failure": self._failure_without_call,
        }
        for task in sorted(self._plan(rng, day)):
            self.history.refresh_due(task.at)
            run[task.kind](rng, task, today)

        # Completed sessions touch no call logic, so they need no ordering.
        for _ in range(request.scaled(COMPLETED_SESSIONS_PER_DAY, minimum=2)):
            member = today.any_member(rng)
            session_id = today.session_id()
            completed_at = self._call_time(rng, day, LEAD)
            journey_type = pick(rng, COMPLETED_TYPE_CHOICE)
            self.rows.completed_session(rng, member, session_id, journey_type, completed_at)

    def _plan(self, rng: Random, day: int) -> list[Task]:
        request = self.request
        tasks: list[Task] = []

        def add(at: int, kind: str, reason: int, gap: int = 0) -> None:
            tasks.append(Task(at, len(tasks), kind, reason, gap))

        for journey_type in LEAKAGE_TYPES:
            for _ in range(daily_leakage_target(request, journey_type, day)):
                gap = self._leakage_gap(rng)
                add(
                    self._call_time(rng, day, gap + LEAD),
                    "leakage",
                    REASON_INDEX[journey_type],
                    gap,
                )
        for _ in range(request.scaled(LATE_CALLS_PER_DAY)):
            gap = rng.randint(LEAKAGE_WINDOW_SECONDS + 60, 2 * LEAKAGE_WINDOW_SECONDS)
            reason = REASON_INDEX[pick(rng, LATE_TYPE_CHOICE)]
            add(self._call_time(rng, day, gap + LEAD), "late", reason, gap)
        for _ in range(request.scaled(UNPROMPTED_CALLS_PER_DAY)):
            reason = REASON_INDEX[pick(rng, UNPROMPTED_REASON_CHOICE)]
            add(self._time_in_day(rng, day), "call", reason)
        for _ in range(request.scaled(OTHER_REASON_CALLS_PER_DAY)):
            reason = REASON_INDEX[pick(rng, OTHER_REASON_CHOICE)]
            add(self._time_in_day(rng, day), "call", reason)
        for _ in range(request.scaled(NO_CALL_FAILURE_SESSIONS_PER_DAY)):
            reason = REASON_INDEX[pick(rng, NO_CALL_TYPE_CHOICE)]
            add(self._call_time(rng, day, LEAD), "failure", reason)
        return tasks

    def _leakage_call(self, rng: Random, task: Task, today: Today) -> None:
        """A failed session and, `task.gap` seconds after its failure, the call it causes."""
        journey_type = ALL_REASONS[task.reason]
        call_at, failure_at = task.at, task.at - task.gap
        retry_gap = rng.randint(20, 120) if rng.random() < DOUBLE_ERROR_SHARE else 0
        first_failure = failure_at - retry_gap
        # Conservative day of the session start (members must have landed by then).
        session_day = max(0, (first_failure - LEAD) // DAY_SECONDS)
        pool = pick(rng, POOL_CHOICE[journey_type])
        category = POOLS[pool][0]
        slot = LeakageSlot(pool, task.reason, first_failure, call_at, session_day)
        member, repeat = self._leakage_member(rng, category, slot)
        session_id = today.session_id()
        self.rows.failed_session(rng, member, session_id, journey_type, failure_at, retry_gap)
        mean, spread = LEAKAGE_SENTIMENT[category]
        sentiment = clip(rng.gauss(mean - (REPEAT_SENTIMENT_PENALTY if repeat else 0.0), spread))
        self.rows.call(rng, today.call_id(), member, task.reason, call_at, sentiment, repeat)

    def _leakage_member(self, rng: Random, category: str, slot: LeakageSlot) -> tuple[int, bool]:
        """Decide repeat vs first-time for the category's target rate; pay back owed repeats.
        A first-time call goes to a new enrollee when no member is free."""
        wants_repeat = rng.random() < REPEAT_RATE[category]
        paying_back = False
        if not wants_repeat and self.owed_repeats[category] > 0:
            wants_repeat = paying_back = True
        if wants_repeat:
            member = self.history.earlier_caller(rng, slot)
            if member is not None:
                if paying_back:
                    self.owed_repeats[category] -= 1
                return member, True
            if not paying_back:
                self.owed_repeats[category] += 1
        member = self.history.fresh_caller(rng, slot)
        if member is None:
            as_of = self.request.start + timedelta(days=slot.session_day)
            member = self._add_member(rng, slot.pool, slot.session_day, as_of, new=True)
        return member, False

    def _late_call(self, rng: Random, task: Task, today: Today) -> None:
        """A failure and a call 31-60 minutes later: just outside the leakage window."""
        journey_type = ALL_REASONS[task.reason]
        call_at, failure_at = task.at, task.at - task.gap
        history = self.history
        member = today.member_where(
            rng,
            lambda member: (
                history.can_fail(member, task.reason, failure_at)
                and history.can_call(member, task.reason, call_at)
            ),
        )
        if member is None:
            return
        self.rows.failed_session(rng, member, today.session_id(), journey_type, failure_at, 0)
        sentiment = self._other_sentiment(rng, member)
        self.rows.call(rng, today.call_id(), member, task.reason, call_at, sentiment, False)

    def _call_without_failure(self, rng: Random, task: Task, today: Today) -> None:
        member = today.member_where(
            rng, lambda member: self.history.can_call(member, task.reason, task.at)
        )
        if member is None:
            return
        sentiment = self._other_sentiment(rng, member)
        self.rows.call(rng, today.call_id(), member, task.reason, task.at, sentiment, False)

    def _failure_without_call(self, rng: Random, task: Task, today: Today) -> None:
        member = today.member_where(
            rng, lambda member: self.history.can_fail(member, task.reason, task.at)
        )
        if member is None:
            return
        journey_type = ALL_REASONS[task.reason]
        self.rows.failed_session(rng, member, today.session_id(), journey_type, task.at, 0)

    def _other_sentiment(self, rng: Random, member: int) -> float:
        mean, spread = OTHER_CALL_SENTIMENT[POOLS[self.members.pool[member]][0]]
        return clip(rng.gauss(mean, spread))
