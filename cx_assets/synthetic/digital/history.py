"""What members did so far in the simulation, and the members that fit a new call or failure.

It keeps every call and failure per (member, reason), so a new event is only placed where it
cannot change what the pipeline finds: a non-leakage call never has a same-type failure in the
30 minutes before it, a new failure never lands in the 30 minutes before an existing call, and a
repeat call goes to a real earlier caller while a first-time call goes to a member with no call
of that reason in the last 7 days.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from random import Random

from cx_assets.synthetic.digital.members import Members
from cx_assets.synthetic.digital.shape import (
    ALL_REASONS,
    DAY_SECONDS,
    LEAKAGE_TYPES,
    LEAKAGE_WINDOW_SECONDS,
    POOLS,
    REASON_INDEX,
    REPEAT_WINDOW_SECONDS,
)


@dataclass(frozen=True, slots=True)
class LeakageSlot:
    """Where a leakage call goes: the member pool and reason, the session's first failure, the
    call, and the conservative day of the session start (members must have landed by then)."""

    pool: int
    reason: int
    first_failure: int
    call_at: int
    session_day: int


class History:
    def __init__(self, members: Members) -> None:
        self.members = members
        # History per (member, reason) key = member * len(ALL_REASONS) + reason index.
        self.call_times: dict[int, list[int]] = {}  # appended in time order -> sorted
        self.failure_times: dict[int, list[int]] = {}
        # Members free for a first-time call: no call of that reason in the last 7 days.
        self.fresh: dict[tuple[int, int], list[int]] = {}
        self.fresh_position: dict[tuple[int, int], dict[int, int]] = {}
        # Calls per (pool, reason), in time order, to find real earlier callers for repeats.
        self.recent_times: dict[tuple[int, int], list[int]] = {}
        self.recent_members: dict[tuple[int, int], list[int]] = {}
        self.refresh_queue: deque[tuple[int, int, int]] = deque()  # (due time, member, reason)
        for pool_index in range(len(POOLS)):
            for reason in LEAKAGE_TYPES:
                key = (pool_index, REASON_INDEX[reason])
                self.fresh[key], self.fresh_position[key] = [], {}
                self.recent_times[key], self.recent_members[key] = [], []

    # --- recording ---------------------------------------------------------------------------

    def make_fresh(self, member: int, reason: int) -> None:
        key = (self.members.pool[member], reason)
        positions = self.fresh_position[key]
        if member not in positions:
            positions[member] = len(self.fresh[key])
            self.fresh[key].append(member)

    def _make_stale(self, member: int, reason: int) -> None:
        key = (self.members.pool[member], reason)
        positions = self.fresh_position[key]
        position = positions.pop(member, None)
        if position is None:
            return
        members = self.fresh[key]
        last = members.pop()
        if last != member:  # swap-remove keeps removal O(1)
            members[position] = last
            positions[last] = position

    def refresh_due(self, now: int) -> None:
        """Members whose last call of a reason is over 7 days (+10 min margin) old are fresh again."""
        queue = self.refresh_queue
        while queue and queue[0][0] <= now:
            _, member, reason = queue.popleft()
            times = self.call_times[member * len(ALL_REASONS) + reason]
            if times[-1] + REPEAT_WINDOW_SECONDS + 600 <= now:
                self.make_fresh(member, reason)

    def register_failure(self, member: int, reason: int, failure_at: int) -> None:
        self.failure_times.setdefault(member * len(ALL_REASONS) + reason, []).append(failure_at)

    def register_call(self, member: int, reason: int, call_at: int) -> None:
        self.call_times.setdefault(member * len(ALL_REASONS) + reason, []).append(call_at)
        if ALL_REASONS[reason] in LEAKAGE_TYPES:
            key = (self.members.pool[member], reason)
            self._make_stale(member, reason)
            self.recent_times[key].append(call_at)
            self.recent_members[key].append(member)
            self.refresh_queue.append((call_at + REPEAT_WINDOW_SECONDS + 600, member, reason))

    def prune_recent(self, now: int) -> None:
        oldest_needed = now - REPEAT_WINDOW_SECONDS - DAY_SECONDS
        for key, times in self.recent_times.items():
            cut = bisect.bisect_left(times, oldest_needed)
            if cut:
                del times[:cut]
                del self.recent_members[key][:cut]

    # --- what fits ---------------------------------------------------------------------------

    def can_call(self, member: int, reason: int, call_at: int) -> bool:
        """No failure of this journey type in the window before the call (else it would leak)."""
        failures = self.failure_times.get(member * len(ALL_REASONS) + reason)
        if not failures:
            return True
        return not any(call_at - LEAKAGE_WINDOW_SECONDS <= f <= call_at for f in failures)

    def can_fail(self, member: int, reason: int, failure_at: int) -> bool:
        """No existing call of this reason in the window after the failure (it would start leaking)."""
        calls = self.call_times.get(member * len(ALL_REASONS) + reason)
        if not calls:
            return True
        for call_at in reversed(calls):  # sorted ascending
            if call_at < failure_at:
                return True
            if call_at <= failure_at + LEAKAGE_WINDOW_SECONDS:
                return False
        return True

    def _fits(self, member: int, slot: LeakageSlot) -> bool:
        return (
            self.members.landing_day[member] <= slot.session_day
            and self.can_fail(member, slot.reason, slot.first_failure)
            and self.can_call(member, slot.reason, slot.call_at)
        )

    def earlier_caller(self, rng: Random, slot: LeakageSlot) -> int | None:
        """A member whose own earlier call of this reason makes this call a real repeat."""
        key = (slot.pool, slot.reason)
        times = self.recent_times[key]
        low = bisect.bisect_left(times, slot.call_at - REPEAT_WINDOW_SECONDS + 600)
        high = bisect.bisect_left(times, slot.first_failure - 60)
        if high <= low:
            return None
        for _ in range(8):
            member = self.recent_members[key][rng.randrange(low, high)]
            if self._fits(member, slot):
                return member
        return None

    def fresh_caller(self, rng: Random, slot: LeakageSlot) -> int | None:
        """A member with no call of this reason in 7 days, if one of a few tries fits."""
        candidates = self.fresh[(slot.pool, slot.reason)]
        for _ in range(8):
            if not candidates:
                break
            member = candidates[rng.randrange(len(candidates))]
            if self._fits(member, slot):
                return member
        return None
