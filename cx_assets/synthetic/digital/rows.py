"""The rows the simulation produces: portal sessions as journey events, contact-centre calls and
member versions, held until the day they land on is final."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random

from cx_assets.synthetic.digital.history import History
from cx_assets.synthetic.digital.members import Members
from cx_assets.synthetic.digital.shape import (
    ALL_REASONS,
    DAY_SECONDS,
    DEVICE_CHOICE,
    ERROR_MESSAGES,
    FAILURE_PROFILES,
    HANDLE_SECONDS,
    IVR_MENUS,
    MAPD_NEW,
    POOLS,
    REASON_INDEX,
    RESOLUTION_CHOICE,
    pick,
)


@dataclass
class PendingRows:
    """Rows generated but not yet written, keyed by the day (offset from the start) they land on."""

    journeys: dict[int, list[tuple[int, dict]]] = field(default_factory=dict)  # day -> rows
    calls: list[tuple[int, dict]] = field(default_factory=list)
    members: dict[int, list[dict]] = field(default_factory=dict)


class Rows:
    """Writes sessions, calls and member versions as rows, recording calls and failures in the
    history as it goes; timestamps are seconds from `origin`, the first day's midnight."""

    def __init__(
        self,
        origin: datetime,
        members: Members,
        history: History,
        agents: list[str],
        bilingual: int,
    ) -> None:
        self.origin = origin
        self.members = members
        self.history = history
        self.agents = agents
        self.bilingual_agents = agents[:bilingual]
        self.pending = PendingRows()

    def member(self, member: int, day: int) -> None:
        self.pending.members.setdefault(day, []).append(self.members.row(member))

    def _timestamp(self, seconds: int) -> str:
        return (self.origin + timedelta(seconds=seconds)).isoformat()

    def _event(self, member, session_id, at, journey_type, action, device, code="") -> None:
        row = {
            "member_id": self.members.member_id[member],
            "session_id": session_id,
            "timestamp": self._timestamp(at),
            "journey_type": journey_type,
            "action": action,
            "device_type": device,
            "error_code": code if action == "error" else "",
            "error_message": ERROR_MESSAGES[code] if action == "error" else "",
        }
        self.pending.journeys.setdefault(at // DAY_SECONDS, []).append((at, row))

    def failed_session(self, rng, member, session_id, journey_type, failure_at, retry_gap) -> None:
        """start -> view -> (submit) -> abandon/error, ending at `failure_at`; records failures."""
        english = self.members.language[member] == "English"
        action, code, device = pick(rng, FAILURE_PROFILES[(journey_type, english)])
        steps: list[tuple[int, str]] = [(failure_at, action)]
        if action == "error" and retry_gap:
            # error, retry (submit), error again: the call must count once, against the latest
            retry_at = failure_at - rng.randint(5, retry_gap - 5)
            steps += [(retry_at, "submit"), (failure_at - retry_gap, "error")]
        at = steps[-1][0]
        # Errors mostly follow a submit; abandons mostly happen while browsing.
        if rng.random() < (0.8 if action == "error" else 0.3):
            at -= rng.randint(15, 240)
            steps.append((at, "submit"))
        if rng.random() < 0.7:
            at -= rng.randint(15, 240)
            steps.append((at, "view"))
        steps.append((at - rng.randint(15, 240), "start"))
        for step_at, step_action in reversed(steps):
            self._event(member, session_id, step_at, journey_type, step_action, device, code)
            if step_action in ("error", "abandon"):
                self.history.register_failure(member, REASON_INDEX[journey_type], step_at)

    def completed_session(self, rng, member, session_id, journey_type, completed_at) -> None:
        device = pick(rng, DEVICE_CHOICE)
        steps = [(completed_at, "complete")]
        at = completed_at
        for action, probability in (("submit", 0.7), ("view", 0.9)):
            if rng.random() < probability:
                at -= rng.randint(15, 240)
                steps.append((at, action))
        steps.append((at - rng.randint(15, 240), "start"))
        for step_at, action in reversed(steps):
            self._event(member, session_id, step_at, journey_type, action, device)

    def call(
        self,
        rng: Random,
        call_id: str,
        member: int,
        reason: int,
        call_at: int,
        sentiment: float,
        repeat: bool,
    ) -> None:
        category, spanish = POOLS[self.members.pool[member]]
        menu = IVR_MENUS[ALL_REASONS[reason]]
        ivr = f"main>espanol>{menu}" if spanish else f"main>{menu}"
        if rng.random() < 0.3:
            ivr += ">self_service_failed"
        handle = HANDLE_SECONDS[ALL_REASONS[reason]] * rng.lognormvariate(0, 0.4)
        handle *= (1.25 if category == MAPD_NEW else 1.0) * (1.15 if repeat else 1.0)
        agent = rng.choice(self.bilingual_agents if spanish else self.agents)
        row = {
            "call_id": call_id,
            "member_id": self.members.member_id[member],
            "call_timestamp": self._timestamp(call_at),
            "ivr_path": ivr + ">agent",
            "handle_time_seconds": max(30, int(handle)),
            "agent_id": agent,
            "call_reason": ALL_REASONS[reason],
            "sentiment_score": sentiment,
            "resolution_status": pick(
                rng, RESOLUTION_CHOICE.get(category, RESOLUTION_CHOICE["default"])
            ),
        }
        self.pending.calls.append((call_at, row))
        self.history.register_call(member, reason, call_at)

    def take(self, table: str, day: int) -> list[dict]:
        """Final rows of a table for a day, in time order (journeys, calls) or id order (members)."""
        if table == "members":
            rows = self.pending.members.pop(day, [])
            return sorted(rows, key=lambda row: row["member_id"])
        if table == "calls":
            rows, self.pending.calls = self.pending.calls, []
        else:
            rows = self.pending.journeys.pop(day, [])
        rows.sort(key=lambda item: item[0])  # stable: ties keep generation order
        return [row for _, row in rows]
