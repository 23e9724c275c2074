"""The shape of the support data: volumes, weekly pattern and trend, mixes, how long work
takes and how satisfied customers are. The other modules only apply these numbers."""

from __future__ import annotations

from datetime import date

import numpy as np

from cx_assets.synthetic.landing_writer import GenerationRequest

SOURCE = "support"

AGENT_COLUMNS = ("agent_id", "name", "team", "skills", "hire_date", "max_open_tickets")
CUSTOMER_COLUMNS = ("customer_id", "name", "email", "phone", "plan", "region", "signup_date")

# --- volumes at scale 1 ---------------------------------------------------------------------

# New tickets a day, averaged over the first generated week. With re-deliveries (first
# responses, resolutions, closing and CSAT on later days) a day lands ~20,000 records.
NEW_TICKETS_PER_DAY = 7_500
MIN_NEW_TICKETS_PER_DAY = 20
AGENTS = 150
MIN_AGENTS = 6
CUSTOMERS = 30_000
MIN_CUSTOMERS = 60
NEW_CUSTOMER_SHARE = 0.004  # of the base, a day
CHANGED_CUSTOMER_SHARE = 0.002
CHANGED_AGENTS_PER_DAY = 2  # at scale 1; at least one a day

# Monday .. Sunday: busy Mondays, quiet weekends (re-scaled to average 1 over a week).
WEEKDAY_FACTORS = np.array([1.40, 1.18, 1.06, 1.00, 0.93, 0.52, 0.45])
WEEKDAY_FACTORS = WEEKDAY_FACTORS / WEEKDAY_FACTORS.mean()
WEEKLY_GROWTH = 1.02
# Hour of day (UTC): quiet nights, busy office hours.
HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 9, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1], dtype=float
)
HOUR_WEIGHTS = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()

# --- tickets --------------------------------------------------------------------------------

CATEGORIES = ("billing", "technical", "account", "shipping", "returns", "general")
CATEGORY_SHARES = np.array([0.24, 0.26, 0.15, 0.15, 0.12, 0.08])
# Weekly growth differs by category, so the category series trend apart.
CATEGORY_GROWTH = np.array([1.01, 1.035, 1.0, 1.02, 1.02, 0.995])
PRIORITIES = ("urgent", "high", "medium", "low")
PRIORITY_SHARES = np.array([0.06, 0.20, 0.44, 0.30])
CHANNELS = ("email", "phone", "chat", "web")
CHANNEL_SHARES = np.array([0.38, 0.12, 0.26, 0.24])
UNCATEGORIZED_SHARE = 0.20
MISLABELLED_SHARE = 0.10  # of the categorized: the label names another category
AMBIGUOUS_TEXT_SHARE = 0.15  # one sentence of another category's vocabulary
VAGUE_TEXT_SHARE = 0.06  # a generic subject and one telling sentence among shared ones
CONTACT_IN_TEXT_SHARE = 0.05  # the customer's e-mail or phone typed into the description
INTRADAY_REVISION_SHARE = 0.02  # an earlier line of the same day for a ticket that changed
NON_UTC_OFFSET_SHARE = 0.05  # timestamps written in -03:00 local time
Z_SUFFIX_SHARE = 0.10

# SLA targets in minutes (contract 4.4), used to shape the delays, never written.
FIRST_RESPONSE_TARGET = np.array([60, 240, 480, 1440], dtype=float)
RESOLUTION_TARGET = np.array([240, 1440, 2880, 4320], dtype=float)
# Mean minutes in the queue before an agent picks the ticket, per priority.
QUEUE_MINUTES = np.array([6, 20, 40, 90], dtype=float)
STUCK_IN_QUEUE_SHARE = 0.015  # unrouted for 6..30 hours
# Mean minutes from pick-up to first response for an agent of speed 1, per priority.
FIRST_RESPONSE_MINUTES = np.array([20, 75, 150, 420], dtype=float)
# Mean minutes of work from first response to resolution (gamma, shape 2), speed 1.
RESOLUTION_MINUTES = np.array([75, 420, 900, 1300], dtype=float)
# Lingering tickets: resolved only 5..20 days later (always breached).
LINGERING_SHARE = 0.02
PENDING_SHARE = 0.5  # waiting on the customer between first response and resolution
CLOSED_SHARE = 0.6  # resolved tickets closed 1..3 days later
CSAT_SHARE = 0.45  # resolved tickets whose customer answers the survey, 1..30 hours later
# Agents' speed multiplies their delays: lognormal, so a few are much slower.
AGENT_SPEED_SIGMA = 0.5
# Open tickets an agent may hold, drawn per agent.
MAX_OPEN_TICKETS = (25, 70)

MINUTE = 60
HOUR = 3600
DAY = 86_400


def np_rng(request: GenerationRequest, *parts: object) -> np.random.Generator:
    """A numpy generator seeded from the request seed plus a label (see `request.rng`)."""
    return np.random.default_rng(request.rng(*parts).getrandbits(64))


def expected_new_tickets(request: GenerationRequest, day_index: int, day: date) -> float:
    """New tickets expected on the request's day `day_index`: the weekday's factor times a
    weekly growth, with the first generated week averaging `NEW_TICKETS_PER_DAY`."""
    level = max(MIN_NEW_TICKETS_PER_DAY, NEW_TICKETS_PER_DAY * request.scale)
    growth = WEEKLY_GROWTH ** (np.arange(7) / 7)
    first_week = (
        sum(WEEKDAY_FACTORS[(request.start.weekday() + k) % 7] * growth[k] for k in range(7)) / 7
    )
    return float(
        level * WEEKDAY_FACTORS[day.weekday()] * WEEKLY_GROWTH ** (day_index / 7) / first_week
    )
