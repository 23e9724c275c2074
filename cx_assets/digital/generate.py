"""Synthetic landing data for digital-to-call leakage (health-plan member portal + contact centre).

Writes the `digital` part of the landing zone (contract section 2): for every requested date,
`digital/journeys/<date>/…csv` (portal events), `digital/calls/<date>/…csv` (contact-centre calls)
and `digital/members/<date>/…csv` (member records; the first date lands the whole member base,
later dates land new members and changed versions, the latest version of a member winning).

The data is built for the leakage definition of contract section 4.3: a call is a *leakage call*
when the same member had a journey event with action `abandon` or `error` of the journey type equal
to the call's reason at most 30 minutes (inclusive) before the call. Patterns reproduced at
scale 1.0, per day:

* Leakage calls: ~5,000 `billing` (78% `MAPD New` members; root cause `PAY_TIMEOUT` on
  `mobile_app`), ~3,000 `id_card` (80% Spanish-speaking members; `LANG_MISSING` for members whose
  language is not English, `PDF_RENDER` for everyone) and ~4,000 `pharmacy` (mixed member
  categories; `RX_NOT_FOUND` spread evenly across devices).
* Trends: day d (counted from `request.start`) has `level * growth ** (d / 7) / norm` leakage
  calls of a type, with weekly growth 14% billing, 8% id_card, 3% pharmacy. `norm` is the mean of
  `growth ** (k / 7)` over k = 0..6, so the FIRST generated week averages exactly the stated level
  and every later 7-day window is `growth` times the one before it (the pipeline's `trend_pct`).
* Repeat calls (the same member called with the same reason in the 7 x 24 hours before): ~28% of
  MAPD New leakage calls, 10-16% for the other categories. A repeat is never a flag in the data:
  the member is picked among REAL earlier callers with that reason, and a first-time call is
  given to a member with no call of that reason in the previous 7 days, so the pipeline finds
  exactly what was intended. Repeats that cannot be placed yet (first hours of the range) are
  owed and placed as soon as earlier callers exist.
* Sentiment (-1..1): MAPD New leakage calls average ~-0.65 (repeat calls are angrier); the other
  categories sit between about -0.15 and 0.1.
* Calls on top of leakage (~2,400 a day): calls with a portal reason but no failure before them,
  calls with reasons that have no portal journey (`claims`, `benefits`, `other`), and calls 31-60
  minutes after a failure, which fall just outside the window and must not count.
* Edge cases the pipeline must get right: ~3% of leakage calls come exactly 30 minutes after the
  failure (inclusive bound), some sessions fail twice (error, retry, error) so the call must
  count once against the latest event, failures shortly before midnight lead to calls after it
  (the events land in D's folder, the call in D+1's), and failures that lead to no call plus
  sessions that `complete` give the pipeline events to ignore.
* ~50,000 journey events a day in the first week (each failed session is start -> view ->
  (submit) -> abandon/error; error_code/error_message are only set on `error` events).

Every call and failure is placed through one time-ordered simulation over the whole requested
range, which checks each new event against the member's history: a non-leakage call never has a
same-type failure in the 30 minutes before it, and a new failure never lands in the 30 minutes
before an existing call of that member. So the leakage calls the pipeline finds per date and type
are exactly the ones planned here (as long as it applies the contract's definition).

Member base size: the contract lists ~10,000 members, but ~28% repeats cannot coexist with
~12,000 leakage calls a day on 10,000 members (every member would call about once a day, making
nearly every call a repeat). Non-repeat MAPD New calls need a distinct member-reason pair each per
7 days, so the base is sized from the first week's demand (~55,000 members at scale 1.0) and, as
billing leakage grows, new MAPD enrollees join when no member is free for a first-time call. They
land on the day they first appear, together with ~1% changed versions (a new `segment`; plan and
tenure never change, so a member's category is the same in every version).

Deterministic: every random draw comes from `request.rng(...)` and the simulation runs in a fixed
order, so the same request writes identical bytes. Timestamps are ISO-8601 UTC without offset.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random

from cx_assets.lakehouse.landing_writer import GenerationRequest, landing_file, write_csv

SOURCE = "digital"

JOURNEY_COLUMNS = (
    "member_id",
    "session_id",
    "timestamp",
    "journey_type",
    "action",
    "device_type",
    "error_code",
    "error_message",
)
CALL_COLUMNS = (
    "call_id",
    "member_id",
    "call_timestamp",
    "ivr_path",
    "handle_time_seconds",
    "agent_id",
    "call_reason",
    "sentiment_score",
    "resolution_status",
)
MEMBER_COLUMNS = (
    "member_id",
    "plan_type",
    "tenure_months",
    "segment",
    "language_preference",
    "enrollment_date",
)

# --- leakage volumes and trends (contract 4.3) -------------------------------------------------

LEAKAGE_TYPES = ("billing", "id_card", "pharmacy")
LEAKAGE_CALLS_PER_DAY_AT_SCALE_1 = {"billing": 5_000, "id_card": 3_000, "pharmacy": 4_000}
WEEKLY_GROWTH = {"billing": 1.14, "id_card": 1.08, "pharmacy": 1.03}

LEAKAGE_WINDOW_SECONDS = 30 * 60
REPEAT_WINDOW_SECONDS = 7 * 24 * 3600
DAY_SECONDS = 24 * 3600
# Upper bound of a session's length before its failure event; the first day's sessions are
# kept after the range start with it, so nothing lands outside the requested dates.
MAX_SESSION_SPAN_SECONDS = 1_500

# Journey types and call reasons share one index space so (member, reason) keys are plain ints.
ALL_REASONS = ("billing", "id_card", "pharmacy", "claims", "benefits", "other")
REASON_INDEX = {reason: index for index, reason in enumerate(ALL_REASONS)}

# --- non-leakage volumes at scale 1 (per day) -----------------------------------------------------

UNPROMPTED_CALLS_PER_DAY = 1_100  # portal reasons, no failure in the 30 minutes before
OTHER_REASON_CALLS_PER_DAY = 1_100  # reasons with no portal journey of the same name
LATE_CALLS_PER_DAY = 150  # 31-60 minutes after a failure: just outside the window
NO_CALL_FAILURE_SESSIONS_PER_DAY = 700  # failures the member never calls about
COMPLETED_SESSIONS_PER_DAY = 1_500  # sessions that end in `complete`
AGENTS_AT_SCALE_1 = 450
DAILY_CHANGED_MEMBER_SHARE = 0.01

UNPROMPTED_REASON_WEIGHTS = {"billing": 0.4, "id_card": 0.2, "pharmacy": 0.4}
OTHER_REASON_WEIGHTS = {"claims": 0.5, "benefits": 0.3, "other": 0.2}
NO_CALL_FAILURE_TYPE_WEIGHTS = {"billing": 0.35, "id_card": 0.2, "pharmacy": 0.3, "claims": 0.15}
COMPLETED_SESSION_TYPE_WEIGHTS = {"billing": 0.3, "id_card": 0.2, "pharmacy": 0.35, "claims": 0.15}

# --- members --------------------------------------------------------------------------------------

MAPD_NEW, MAPD_TENURED, COMMERCIAL, OTHER = "MAPD New", "MAPD Tenured", "Commercial", "Other"
CATEGORIES = (MAPD_NEW, MAPD_TENURED, COMMERCIAL, OTHER)
# A pool is a member category split by Spanish speakers, because id_card leakage is chosen by
# language and the others by category. Pool index = category index * 2 + is_spanish.
POOLS = tuple((category, spanish) for category in CATEGORIES for spanish in (False, True))

CATEGORY_MIX = {
    "billing": {MAPD_NEW: 0.78, MAPD_TENURED: 0.09, COMMERCIAL: 0.09, OTHER: 0.04},
    "id_card": {MAPD_NEW: 0.18, MAPD_TENURED: 0.22, COMMERCIAL: 0.25, OTHER: 0.35},
    "pharmacy": {MAPD_NEW: 0.24, MAPD_TENURED: 0.30, COMMERCIAL: 0.30, OTHER: 0.16},
}
SPANISH_SHARE = {"billing": 0.12, "id_card": 0.80, "pharmacy": 0.12}
REPEAT_RATE = {MAPD_NEW: 0.28, MAPD_TENURED: 0.14, COMMERCIAL: 0.10, OTHER: 0.16}
# Mean sentiment of a first-time leakage call; a repeat call is REPEAT_SENTIMENT_PENALTY lower.
# MAPD New: 0.72 * -0.62 + 0.28 * -0.72 = -0.648.
LEAKAGE_SENTIMENT = {
    MAPD_NEW: (-0.62, 0.18),
    MAPD_TENURED: (-0.05, 0.3),
    COMMERCIAL: (0.1, 0.3),
    OTHER: (-0.15, 0.3),
}
REPEAT_SENTIMENT_PENALTY = 0.10
OTHER_CALL_SENTIMENT = {
    MAPD_NEW: (-0.3, 0.3),
    MAPD_TENURED: (0.05, 0.35),
    COMMERCIAL: (0.1, 0.35),
    OTHER: (0.0, 0.35),
}
# The base covers the first week's first-time calls with this much to spare; growth beyond it
# brings in new members.
POOL_HEADROOM = 1.15
MIN_POOL_SIZE = 3
MIN_BASE_MEMBERS = 40

OTHER_PLAN_TYPES = (("Medicaid", 0.5), ("Medigap", 0.3), ("ACA Individual", 0.2))
SEGMENTS = {
    MAPD_NEW: (("Individual", 0.65), ("Dual Eligible", 0.2), ("Group Retiree", 0.15)),
    MAPD_TENURED: (("Individual", 0.65), ("Dual Eligible", 0.2), ("Group Retiree", 0.15)),
    COMMERCIAL: (("Employer Group", 0.8), ("Individual", 0.2)),
    OTHER: (("Low Income", 0.5), ("Individual", 0.35), ("Dual Eligible", 0.15)),
}
NON_SPANISH_LANGUAGES = (
    ("English", 0.93),
    ("Chinese", 0.02),
    ("Vietnamese", 0.02),
    ("Korean", 0.015),
    ("Tagalog", 0.015),
)

# --- journeys ------------------------------------------------------------------------------------

DEVICES = ("mobile_app", "mobile_web", "desktop")
DEVICE_WEIGHTS = (0.45, 0.33, 0.22)

ERROR_MESSAGES = {
    "PAY_TIMEOUT": "Payment gateway timed out. Your payment was not processed.",
    "CARD_DECLINED": "Your card was declined by the issuing bank.",
    "AUTOPAY_ENROLL_FAILED": "We couldn't set up automatic payments. Please try again later.",
    "PDF_RENDER": "We couldn't generate your ID card PDF.",
    "LANG_MISSING": "This page is not available in your preferred language.",
    "CARD_NOT_READY": "Your new ID card is not ready yet.",
    "RX_NOT_FOUND": "We couldn't find this prescription on file.",
    "FORMULARY_LOOKUP_FAILED": "Drug coverage lookup is temporarily unavailable.",
    "REFILL_TOO_SOON": "This prescription is not yet eligible for a refill.",
    "PHARMACY_LOCATOR_DOWN": "Pharmacy search is temporarily unavailable.",
    "CLAIM_STATUS_UNAVAILABLE": "Claim status is temporarily unavailable.",
    "EOB_RENDER": "We couldn't display your Explanation of Benefits.",
}


def _profile(*entries: tuple[str, str, dict[str, float]]) -> tuple[tuple, tuple]:
    """Flatten (action, error_code, {device: weight}) into choices + cumulative weights."""
    choices, weights = [], []
    for action, code, per_device in entries:
        for device, weight in per_device.items():
            choices.append((action, code, device))
            weights.append(weight)
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return tuple(choices), tuple(cumulative)


# How sessions of each journey type fail, skewed so one root cause per type stands out.
# Keyed by (journey type, member reads English); LANG_MISSING only hits non-English members.
_BILLING_FAILURES = _profile(
    ("error", "PAY_TIMEOUT", {"mobile_app": 48, "mobile_web": 7, "desktop": 3}),
    ("error", "CARD_DECLINED", {"mobile_app": 4, "mobile_web": 3, "desktop": 3}),
    ("error", "AUTOPAY_ENROLL_FAILED", {"mobile_web": 4, "desktop": 6}),
    ("abandon", "", {"mobile_app": 10, "mobile_web": 7, "desktop": 5}),
)
_PHARMACY_FAILURES = _profile(
    ("error", "RX_NOT_FOUND", {"mobile_app": 14, "mobile_web": 13, "desktop": 13}),
    ("error", "FORMULARY_LOOKUP_FAILED", {"mobile_app": 5, "mobile_web": 4, "desktop": 6}),
    ("error", "REFILL_TOO_SOON", {"mobile_app": 4, "mobile_web": 3, "desktop": 3}),
    ("error", "PHARMACY_LOCATOR_DOWN", {"mobile_app": 3, "mobile_web": 2, "desktop": 3}),
    ("abandon", "", {"mobile_app": 10, "mobile_web": 8, "desktop": 7}),
)
_CLAIMS_FAILURES = _profile(
    ("error", "CLAIM_STATUS_UNAVAILABLE", {"mobile_app": 10, "mobile_web": 8, "desktop": 7}),
    ("error", "EOB_RENDER", {"mobile_web": 5, "desktop": 10}),
    ("abandon", "", {"mobile_app": 25, "mobile_web": 20, "desktop": 15}),
)
FAILURE_PROFILES = {
    ("billing", True): _BILLING_FAILURES,
    ("billing", False): _BILLING_FAILURES,
    ("id_card", True): _profile(
        ("error", "PDF_RENDER", {"mobile_app": 30, "mobile_web": 18, "desktop": 6}),
        ("error", "CARD_NOT_READY", {"mobile_app": 5, "mobile_web": 4, "desktop": 3}),
        ("abandon", "", {"mobile_app": 15, "mobile_web": 12, "desktop": 7}),
    ),
    ("id_card", False): _profile(
        ("error", "LANG_MISSING", {"mobile_app": 18, "mobile_web": 14, "desktop": 8}),
        ("error", "PDF_RENDER", {"mobile_app": 14, "mobile_web": 10, "desktop": 4}),
        ("error", "CARD_NOT_READY", {"mobile_app": 2, "mobile_web": 1, "desktop": 1}),
        ("abandon", "", {"mobile_app": 10, "mobile_web": 8, "desktop": 6}),
    ),
    ("pharmacy", True): _PHARMACY_FAILURES,
    ("pharmacy", False): _PHARMACY_FAILURES,
    ("claims", True): _CLAIMS_FAILURES,
    ("claims", False): _CLAIMS_FAILURES,
}
# Share of error sessions where the member retries and fails again: the call must count once.
DOUBLE_ERROR_SHARE = 0.06

# --- contact centre ----------------------------------------------------------------------------

# UTC hour weights: a US plan, busiest 13:00-23:00 UTC, still active just after midnight UTC
# (evening on the east coast), which is what makes calls cross midnight.
HOUR_WEIGHTS = (
    4,
    3,
    2,
    1.5,
    1,
    0.8,
    0.8,
    1,
    1.5,
    2.5,
    4,
    6,
    8,
    9,
    10,
    10,
    10,
    9.5,
    9,
    8.5,
    8,
    7,
    6,
    5,
)
IVR_MENUS = {
    "billing": "billing>payments",
    "id_card": "member_services>id_card",
    "pharmacy": "pharmacy>prescriptions",
    "claims": "claims>status",
    "benefits": "member_services>benefits",
    "other": "operator",
}
HANDLE_SECONDS = {
    "billing": 420,
    "id_card": 300,
    "pharmacy": 480,
    "claims": 540,
    "benefits": 400,
    "other": 240,
}
RESOLUTION = {
    MAPD_NEW: (
        ("resolved", 0.55),
        ("unresolved", 0.2),
        ("escalated", 0.15),
        ("callback_scheduled", 0.1),
    ),
    "default": (
        ("resolved", 0.72),
        ("unresolved", 0.12),
        ("escalated", 0.08),
        ("callback_scheduled", 0.08),
    ),
}
BILINGUAL_AGENT_SHARE = 0.25


def daily_leakage_target(request: GenerationRequest, journey_type: str, day_offset: int) -> int:
    """Leakage calls of `journey_type` on the `day_offset`-th requested day (0 = request.start)."""
    growth = WEEKLY_GROWTH[journey_type]
    first_week_mean = sum(growth ** (k / 7) for k in range(7)) / 7
    level = (
        LEAKAGE_CALLS_PER_DAY_AT_SCALE_1[journey_type]
        * growth ** (day_offset / 7)
        / first_week_mean
    )
    return request.scaled(level, minimum=1)


def _weighted(pairs) -> tuple[tuple, tuple]:
    """(value, weight) pairs -> (values, cumulative weights) for `_pick`."""
    pairs = tuple(pairs)
    values = tuple(value for value, _ in pairs)
    cumulative, total = [], 0.0
    for _, weight in pairs:
        total += weight
        cumulative.append(total)
    return values, tuple(cumulative)


def _pick(rng: Random, table: tuple[tuple, tuple]):
    values, cumulative = table
    return values[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def _clip(value: float) -> float:
    return round(min(1.0, max(-1.0, value)), 3)


_OTHER_PLANS = _weighted(OTHER_PLAN_TYPES)
_SEGMENTS = {category: _weighted(pairs) for category, pairs in SEGMENTS.items()}
_NON_SPANISH = _weighted(NON_SPANISH_LANGUAGES)
_DEVICES = _weighted(zip(DEVICES, DEVICE_WEIGHTS, strict=True))
_HOURS = _weighted(enumerate(HOUR_WEIGHTS))
_RESOLUTION = {key: _weighted(pairs) for key, pairs in RESOLUTION.items()}
_UNPROMPTED_REASONS = _weighted(UNPROMPTED_REASON_WEIGHTS.items())
_OTHER_REASONS = _weighted(OTHER_REASON_WEIGHTS.items())
_NO_CALL_TYPES = _weighted(NO_CALL_FAILURE_TYPE_WEIGHTS.items())
_COMPLETED_TYPES = _weighted(COMPLETED_SESSION_TYPE_WEIGHTS.items())
_LATE_TYPES = _weighted(LEAKAGE_CALLS_PER_DAY_AT_SCALE_1.items())
_POOL_CHOICE = {
    journey_type: _weighted(
        (
            pool_index,
            CATEGORY_MIX[journey_type][category]
            * (SPANISH_SHARE[journey_type] if spanish else 1 - SPANISH_SHARE[journey_type]),
        )
        for pool_index, (category, spanish) in enumerate(POOLS)
    )
    for journey_type in LEAKAGE_TYPES
}


@dataclass
class _Members:
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


@dataclass
class _PendingRows:
    """Rows generated but not yet written, keyed by the day (offset from the start) they land on."""

    journeys: dict[int, list[tuple[int, dict]]] = field(default_factory=dict)  # day -> rows
    calls: list[tuple[int, dict]] = field(default_factory=list)
    members: dict[int, list[dict]] = field(default_factory=dict)


class _Simulation:
    """One time-ordered pass over the requested range; see the module docstring."""

    def __init__(self, request: GenerationRequest) -> None:
        self.request = request
        self.origin = datetime(request.start.year, request.start.month, request.start.day)
        self.members = _Members()
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
        self.owed_repeats = dict.fromkeys(CATEGORIES, 0)
        for pool_index in range(len(POOLS)):
            for reason in LEAKAGE_TYPES:
                key = (pool_index, REASON_INDEX[reason])
                self.fresh[key], self.fresh_position[key] = [], {}
                self.recent_times[key], self.recent_members[key] = [], []
        agents = request.scaled(AGENTS_AT_SCALE_1, minimum=4)
        self.agents = [f"AGT{number:04d}" for number in range(1, agents + 1)]
        self.bilingual_agents = self.agents[: max(1, round(agents * BILINGUAL_AGENT_SHARE))]
        self.output = _PendingRows()
        self._build_base(request.rng(SOURCE, "members", "base"))

    # --- members ---------------------------------------------------------------------------

    def _build_base(self, rng: Random) -> None:
        """Size each pool for the first week's first-time calls (see module docstring)."""
        sizes = []
        for category, spanish in POOLS:
            weekly_first_calls = 0.0
            for journey_type in LEAKAGE_TYPES:
                share = CATEGORY_MIX[journey_type][category] * (
                    SPANISH_SHARE[journey_type] if spanish else 1 - SPANISH_SHARE[journey_type]
                )
                demand = (
                    7 * self.request.scale * LEAKAGE_CALLS_PER_DAY_AT_SCALE_1[journey_type] * share
                ) * (1 - REPEAT_RATE[category])
                weekly_first_calls = max(weekly_first_calls, demand)
            sizes.append(max(MIN_POOL_SIZE, math.ceil(POOL_HEADROOM * weekly_first_calls)))
        shortfall = MIN_BASE_MEMBERS - sum(sizes)
        if shortfall > 0:  # tiny scales: spread a minimum base over the pools
            sizes = [size + math.ceil(shortfall / len(sizes)) for size in sizes]
        # Interleave pools so member ids do not reveal the category.
        pool_sequence = [pool for pool, size in enumerate(sizes) for _ in range(size)]
        rng.shuffle(pool_sequence)
        for pool in pool_sequence:
            self._add_member(rng, pool, landing_day=0, as_of=self.request.start)

    def _add_member(
        self, rng: Random, pool: int, landing_day: int, as_of: date, new: bool = False
    ) -> int:
        category, spanish = POOLS[pool]
        if category == MAPD_NEW:
            tenure = 0 if new else min(11, int(rng.triangular(0, 12, 0)))
        elif category == MAPD_TENURED:
            tenure = min(240, 12 + int(rng.expovariate(1 / 40)))
        else:
            tenure = min(300, int(rng.expovariate(1 / 30)))
        plan = "MAPD" if category in (MAPD_NEW, MAPD_TENURED) else "Commercial"
        if category == OTHER:
            plan = _pick(rng, _OTHER_PLANS)
        # Whole months of tenure at `as_of`: tenure * 30.44 days plus less than a month.
        enrolled = as_of - timedelta(days=int(tenure * 30.4375) + rng.randrange(29))
        members = self.members
        member = len(members.member_id)
        members.member_id.append(f"M{member + 1:08d}")
        members.pool.append(pool)
        members.plan_type.append(plan)
        members.tenure_months.append(tenure)
        members.segment.append(_pick(rng, _SEGMENTS[category]))
        members.language.append("Spanish" if spanish else _pick(rng, _NON_SPANISH))
        members.enrollment_date.append(enrolled)
        members.landing_day.append(landing_day)
        for reason in LEAKAGE_TYPES:
            self._make_fresh(member, REASON_INDEX[reason])
        self.output.members.setdefault(landing_day, []).append(members.row(member))
        return member

    def _changed_versions(self, rng: Random, day: int) -> None:
        """~1% of earlier members get a new segment; category-defining fields never change."""
        landed_before = len(self.members.member_id)  # called at day start: all landed earlier
        count = max(1, round(DAILY_CHANGED_MEMBER_SHARE * landed_before))
        for member in sorted(rng.sample(range(landed_before), min(count, landed_before))):
            category = POOLS[self.members.pool[member]][0]
            options = [s for s in _SEGMENTS[category][0] if s != self.members.segment[member]]
            if not options:
                continue
            self.members.segment[member] = rng.choice(options)
            self.output.members.setdefault(day, []).append(self.members.row(member))

    # --- call history ------------------------------------------------------------------------

    def _make_fresh(self, member: int, reason: int) -> None:
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

    def _refresh_due(self, now: int) -> None:
        """Members whose last call of a reason is over 7 days (+10 min margin) old are fresh again."""
        queue = self.refresh_queue
        while queue and queue[0][0] <= now:
            _, member, reason = queue.popleft()
            times = self.call_times[member * len(ALL_REASONS) + reason]
            if times[-1] + REPEAT_WINDOW_SECONDS + 600 <= now:
                self._make_fresh(member, reason)

    def _can_call(self, member: int, reason: int, call_at: int) -> bool:
        """No failure of this journey type in the window before the call (else it would leak)."""
        failures = self.failure_times.get(member * len(ALL_REASONS) + reason)
        if not failures:
            return True
        return not any(call_at - LEAKAGE_WINDOW_SECONDS <= f <= call_at for f in failures)

    def _can_fail(self, member: int, reason: int, failure_at: int) -> bool:
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

    def _register_call(self, member: int, reason: int, call_at: int) -> None:
        self.call_times.setdefault(member * len(ALL_REASONS) + reason, []).append(call_at)
        if ALL_REASONS[reason] in LEAKAGE_TYPES:
            key = (self.members.pool[member], reason)
            self._make_stale(member, reason)
            self.recent_times[key].append(call_at)
            self.recent_members[key].append(member)
            self.refresh_queue.append((call_at + REPEAT_WINDOW_SECONDS + 600, member, reason))

    def _prune_recent(self, now: int) -> None:
        oldest_needed = now - REPEAT_WINDOW_SECONDS - DAY_SECONDS
        for key, times in self.recent_times.items():
            cut = bisect.bisect_left(times, oldest_needed)
            if cut:
                del times[:cut]
                del self.recent_members[key][:cut]

    # --- picking members -----------------------------------------------------------------------

    def _fits(
        self, member: int, reason: int, first_failure: int, call_at: int, session_day: int
    ) -> bool:
        return (
            self.members.landing_day[member] <= session_day
            and self._can_fail(member, reason, first_failure)
            and self._can_call(member, reason, call_at)
        )

    def _earlier_caller(self, rng, pool, reason, first_failure, call_at, session_day) -> int | None:
        """A member whose own earlier call of this reason makes this call a real repeat."""
        key = (pool, reason)
        times = self.recent_times[key]
        low = bisect.bisect_left(times, call_at - REPEAT_WINDOW_SECONDS + 600)
        high = bisect.bisect_left(times, first_failure - 60)
        if high <= low:
            return None
        for _ in range(8):
            member = self.recent_members[key][rng.randrange(low, high)]
            if self._fits(member, reason, first_failure, call_at, session_day):
                return member
        return None

    def _first_time_caller(self, rng, pool, reason, first_failure, call_at, session_day) -> int:
        """A member with no call of this reason in 7 days; a new enrollee when none is free."""
        candidates = self.fresh[(pool, reason)]
        for _ in range(8):
            if not candidates:
                break
            member = candidates[rng.randrange(len(candidates))]
            if self._fits(member, reason, first_failure, call_at, session_day):
                return member
        as_of = self.request.start + timedelta(days=session_day)
        return self._add_member(rng, pool, landing_day=session_day, as_of=as_of, new=True)

    def _any_member(self, rng: Random, landed_before_today: int) -> int:
        return rng.randrange(landed_before_today)

    # --- events ----------------------------------------------------------------------------------

    def _timestamp(self, seconds: int) -> str:
        return (self.origin + timedelta(seconds=seconds)).isoformat()

    def _time_in_day(self, rng: Random, day: int) -> int:
        return day * DAY_SECONDS + _pick(rng, _HOURS) * 3600 + rng.randrange(3600)

    def _emit_event(self, member, session_id, at, journey_type, action, device, code="") -> None:
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
        self.output.journeys.setdefault(at // DAY_SECONDS, []).append((at, row))

    def _failed_session(self, rng, member, session_id, journey_type, failure_at, retry_gap) -> None:
        """start -> view -> (submit) -> abandon/error, ending at `failure_at`; registers failures."""
        english = self.members.language[member] == "English"
        action, code, device = _pick(rng, FAILURE_PROFILES[(journey_type, english)])
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
        key = member * len(ALL_REASONS) + REASON_INDEX[journey_type]
        for step_at, step_action in reversed(steps):
            self._emit_event(member, session_id, step_at, journey_type, step_action, device, code)
            if step_action in ("error", "abandon"):
                self.failure_times.setdefault(key, []).append(step_at)

    def _completed_session(self, rng, member, session_id, journey_type, completed_at) -> None:
        device = _pick(rng, _DEVICES)
        steps = [(completed_at, "complete")]
        at = completed_at
        for action, probability in (("submit", 0.7), ("view", 0.9)):
            if rng.random() < probability:
                at -= rng.randint(15, 240)
                steps.append((at, action))
        steps.append((at - rng.randint(15, 240), "start"))
        for step_at, action in reversed(steps):
            self._emit_event(member, session_id, step_at, journey_type, action, device)

    def _emit_call(self, rng, call_id, member, reason, call_at, sentiment, repeat) -> None:
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
            "resolution_status": _pick(rng, _RESOLUTION.get(category, _RESOLUTION["default"])),
        }
        self.output.calls.append((call_at, row))
        self._register_call(member, reason, call_at)

    # --- one day -----------------------------------------------------------------------------

    def _leakage_gap(self, rng: Random) -> int:
        """Failure-to-call seconds: mostly a few minutes, some close to and exactly at 30:00."""
        draw = rng.random()
        if draw < 0.03:
            return LEAKAGE_WINDOW_SECONDS
        if draw < 0.08:
            return rng.randint(LEAKAGE_WINDOW_SECONDS - 120, LEAKAGE_WINDOW_SECONDS - 1)
        gap = 60 + int(rng.gammavariate(2.0, 240))
        return gap if gap < LEAKAGE_WINDOW_SECONDS else rng.randint(60, LEAKAGE_WINDOW_SECONDS - 1)

    def _call_time(self, rng: Random, day: int, lead_seconds: int) -> int:
        """A call time on `day` whose session (`lead_seconds` earlier) starts inside the range."""
        while True:
            call_at = self._time_in_day(rng, day)
            if call_at - lead_seconds >= 0:
                return call_at

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

    def simulate_day(self, day: int) -> None:
        request = self.request
        day_date = request.start + timedelta(days=day)
        rng = request.rng(SOURCE, "day", day_date.isoformat())
        stamp = day_date.strftime("%Y%m%d")
        if day > 0:
            self._changed_versions(rng, day)
        # Members are numbered in creation order and everyone existing now landed before today
        # (or with the base on day 0), so random picks from this prefix never precede a landing.
        landed_before_today = len(self.members.member_id)
        self._prune_recent(day * DAY_SECONDS)

        # Plan the day's tasks, then run them in time order so history checks see the past only.
        # (key time, sequence, kind, reason index, gap seconds)
        tasks: list[tuple[int, int, str, int, int]] = []
        lead = MAX_SESSION_SPAN_SECONDS
        for journey_type in LEAKAGE_TYPES:
            for _ in range(daily_leakage_target(request, journey_type, day)):
                gap = self._leakage_gap(rng)
                tasks.append(
                    (
                        self._call_time(rng, day, gap + lead),
                        len(tasks),
                        "leakage",
                        REASON_INDEX[journey_type],
                        gap,
                    )
                )
        for _ in range(request.scaled(LATE_CALLS_PER_DAY)):
            gap = rng.randint(LEAKAGE_WINDOW_SECONDS + 60, 2 * LEAKAGE_WINDOW_SECONDS)
            reason = REASON_INDEX[_pick(rng, _LATE_TYPES)]
            tasks.append((self._call_time(rng, day, gap + lead), len(tasks), "late", reason, gap))
        for _ in range(request.scaled(UNPROMPTED_CALLS_PER_DAY)):
            reason = REASON_INDEX[_pick(rng, _UNPROMPTED_REASONS)]
            tasks.append((self._time_in_day(rng, day), len(tasks), "call", reason, 0))
        for _ in range(request.scaled(OTHER_REASON_CALLS_PER_DAY)):
            reason = REASON_INDEX[_pick(rng, _OTHER_REASONS)]
            tasks.append((self._time_in_day(rng, day), len(tasks), "call", reason, 0))
        for _ in range(request.scaled(NO_CALL_FAILURE_SESSIONS_PER_DAY)):
            reason = REASON_INDEX[_pick(rng, _NO_CALL_TYPES)]
            tasks.append((self._call_time(rng, day, lead), len(tasks), "failure", reason, 0))
        tasks.sort()

        call_number = 0
        session_number = 0
        for key_time, _, kind, reason, gap in tasks:
            self._refresh_due(key_time)
            journey_type = ALL_REASONS[reason]
            if kind == "leakage":
                call_at, failure_at = key_time, key_time - gap
                retry_gap = rng.randint(20, 120) if rng.random() < DOUBLE_ERROR_SHARE else 0
                first_failure = failure_at - retry_gap
                # Conservative day of the session start (members must have landed by then).
                session_day = max(0, (first_failure - lead) // DAY_SECONDS)
                pool = _pick(rng, _POOL_CHOICE[journey_type])
                category = POOLS[pool][0]
                member, repeat = self._leakage_member(
                    rng, pool, category, reason, first_failure, call_at, session_day
                )
                session_number += 1
                self._failed_session(
                    rng,
                    member,
                    f"WS{stamp}{session_number:07d}",
                    journey_type,
                    failure_at,
                    retry_gap,
                )
                mean, spread = LEAKAGE_SENTIMENT[category]
                sentiment = _clip(
                    rng.gauss(mean - (REPEAT_SENTIMENT_PENALTY if repeat else 0.0), spread)
                )
                call_number += 1
                self._emit_call(
                    rng, f"CL{stamp}{call_number:07d}", member, reason, call_at, sentiment, repeat
                )
            elif kind == "late":
                call_at, failure_at = key_time, key_time - gap
                for _attempt in range(10):
                    member = self._any_member(rng, landed_before_today)
                    if self._can_fail(member, reason, failure_at) and self._can_call(
                        member, reason, call_at
                    ):
                        break
                else:
                    continue
                session_number += 1
                self._failed_session(
                    rng, member, f"WS{stamp}{session_number:07d}", journey_type, failure_at, 0
                )
                call_number += 1
                self._emit_call(
                    rng,
                    f"CL{stamp}{call_number:07d}",
                    member,
                    reason,
                    call_at,
                    self._other_sentiment(rng, member),
                    False,
                )
            elif kind == "call":
                for _attempt in range(10):
                    member = self._any_member(rng, landed_before_today)
                    if self._can_call(member, reason, key_time):
                        break
                else:
                    continue
                call_number += 1
                self._emit_call(
                    rng,
                    f"CL{stamp}{call_number:07d}",
                    member,
                    reason,
                    key_time,
                    self._other_sentiment(rng, member),
                    False,
                )
            else:  # a failure the member never calls about
                for _attempt in range(10):
                    member = self._any_member(rng, landed_before_today)
                    if self._can_fail(member, reason, key_time):
                        break
                else:
                    continue
                session_number += 1
                self._failed_session(
                    rng, member, f"WS{stamp}{session_number:07d}", journey_type, key_time, 0
                )

        # Completed sessions touch no call logic, so they need no ordering.
        for _ in range(request.scaled(COMPLETED_SESSIONS_PER_DAY, minimum=2)):
            member = self._any_member(rng, landed_before_today)
            session_number += 1
            completed_at = self._call_time(rng, day, lead)
            journey_type = _pick(rng, _COMPLETED_TYPES)
            self._completed_session(
                rng, member, f"WS{stamp}{session_number:07d}", journey_type, completed_at
            )

    def _leakage_member(
        self, rng, pool, category, reason, first_failure, call_at, session_day
    ) -> tuple[int, bool]:
        """Decide repeat vs first-time for the category's target rate; pay back owed repeats."""
        wants_repeat = rng.random() < REPEAT_RATE[category]
        paying_back = False
        if not wants_repeat and self.owed_repeats[category] > 0:
            wants_repeat = paying_back = True
        if wants_repeat:
            member = self._earlier_caller(rng, pool, reason, first_failure, call_at, session_day)
            if member is not None:
                if paying_back:
                    self.owed_repeats[category] -= 1
                return member, True
            if not paying_back:
                self.owed_repeats[category] += 1
        return self._first_time_caller(
            rng, pool, reason, first_failure, call_at, session_day
        ), False

    def _other_sentiment(self, rng: Random, member: int) -> float:
        mean, spread = OTHER_CALL_SENTIMENT[POOLS[self.members.pool[member]][0]]
        return _clip(rng.gauss(mean, spread))

    def take_rows(self, table: str, day: int) -> list[dict]:
        """Final rows of a table for a day, in time order (journeys, calls) or id order (members)."""
        if table == "members":
            rows = self.output.members.pop(day, [])
            return sorted(rows, key=lambda row: row["member_id"])
        if table == "calls":
            rows, self.output.calls = self.output.calls, []
        else:
            rows = self.output.journeys.pop(day, [])
        rows.sort(key=lambda item: item[0])  # stable: ties keep generation order
        return [row for _, row in rows]


def generate(request: GenerationRequest) -> dict[str, int]:
    """Write digital landing files for request.dates; return records written per table
    ({"journeys": n, "calls": n, "members": n})."""
    simulation = _Simulation(request)
    written = {"journeys": 0, "calls": 0, "members": 0}
    columns = {"journeys": JOURNEY_COLUMNS, "calls": CALL_COLUMNS, "members": MEMBER_COLUMNS}
    dates = request.dates

    def flush(table: str, day: int) -> None:
        path = landing_file(
            request.landing_dir, SOURCE, table, dates[day], f"{table}_{dates[day]:%Y%m%d}.csv"
        )
        written[table] += write_csv(path, columns[table], simulation.take_rows(table, day))

    total = sum(simulation.planned_records(day) for day in range(len(dates)))
    with request.progress(total, "digital") as progress:
        for day in range(len(dates)):
            simulation.simulate_day(day)
            flush("calls", day)
            # Day d's sessions can start shortly before midnight, so day d-1's journeys and the
            # members first seen in them are final only now.
            if day > 0:
                flush("journeys", day - 1)
                flush("members", day - 1)
            progress.update(simulation.planned_records(day))
        if dates:
            flush("journeys", len(dates) - 1)
            flush("members", len(dates) - 1)
    return written
