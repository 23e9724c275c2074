"""The shape of the digital data: volumes and trends, member mix, how sessions fail, the contact
centre, and the weighted choices drawn from them. The other modules only apply these numbers.
"""

from __future__ import annotations

import bisect
from random import Random

from cx_assets.synthetic.landing_writer import GenerationRequest

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
    4, 3, 2, 1.5, 1, 0.8, 0.8, 1, 1.5, 2.5, 4, 6,
    8, 9, 10, 10, 10, 9.5, 9, 8.5, 8, 7, 6, 5,
)  # fmt: skip
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


def weighted(pairs) -> tuple[tuple, tuple]:
    """(value, weight) pairs -> (values, cumulative weights) for `pick`."""
    pairs = tuple(pairs)
    values = tuple(value for value, _ in pairs)
    cumulative, total = [], 0.0
    for _, weight in pairs:
        total += weight
        cumulative.append(total)
    return values, tuple(cumulative)


def pick(rng: Random, table: tuple[tuple, tuple]):
    values, cumulative = table
    return values[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def clip(value: float) -> float:
    return round(min(1.0, max(-1.0, value)), 3)


OTHER_PLAN_CHOICE = weighted(OTHER_PLAN_TYPES)
SEGMENT_CHOICE = {category: weighted(pairs) for category, pairs in SEGMENTS.items()}
NON_SPANISH_CHOICE = weighted(NON_SPANISH_LANGUAGES)
DEVICE_CHOICE = weighted(zip(DEVICES, DEVICE_WEIGHTS, strict=True))
HOUR_CHOICE = weighted(enumerate(HOUR_WEIGHTS))
RESOLUTION_CHOICE = {key: weighted(pairs) for key, pairs in RESOLUTION.items()}
UNPROMPTED_REASON_CHOICE = weighted(UNPROMPTED_REASON_WEIGHTS.items())
OTHER_REASON_CHOICE = weighted(OTHER_REASON_WEIGHTS.items())
NO_CALL_TYPE_CHOICE = weighted(NO_CALL_FAILURE_TYPE_WEIGHTS.items())
COMPLETED_TYPE_CHOICE = weighted(COMPLETED_SESSION_TYPE_WEIGHTS.items())
LATE_TYPE_CHOICE = weighted(LEAKAGE_CALLS_PER_DAY_AT_SCALE_1.items())
POOL_CHOICE = {
    journey_type: weighted(
        (
            pool_index,
            CATEGORY_MIX[journey_type][category]
            * (SPANISH_SHARE[journey_type] if spanish else 1 - SPANISH_SHARE[journey_type]),
        )
        for pool_index, (category, spanish) in enumerate(POOLS)
    )
    for journey_type in LEAKAGE_TYPES
}
