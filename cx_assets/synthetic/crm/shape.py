"""The shape of the CRM data: volumes at scale 1.0, shares and rates, ids, kinds, and time.

Every number the package docstring promises is set here; the other modules only apply them.
"""

from __future__ import annotations

from bisect import bisect
from datetime import date, datetime
from functools import lru_cache
from itertools import accumulate
from random import Random
from zoneinfo import ZoneInfo

SOURCE = "crm"
TABLES = ("interactions", "contacts", "deals", "users")

# Volumes at scale 1.0 (contract §3) and the floors that keep tiny scales coherent.
INTERACTIONS_PER_WEEKDAY = 200_000
MIN_INTERACTIONS_PER_DAY = 60
COMPANIES = 4_000
MIN_COMPANIES = 5
PEOPLE = 20_000
MIN_PEOPLE = 15
DEALS = 1_500
MIN_DEALS = 6
MANAGERS = 12
MIN_MANAGERS = 3
CHANGED_CONTACTS_PER_DAY = 360  # ~1.5% of the contacts
NEW_CONTACTS_PER_DAY = 72  # ~0.3%
NEW_DEALS_PER_DAY = 20

# Monday..Sunday volume relative to a weekday.
WEEKDAY_VOLUME = (1.0, 1.0, 1.0, 1.0, 0.95, 0.25, 0.1)
# Local hour weights: business hours, a lunch dip, a thin night.
HOUR_WEIGHTS = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 4.0, 7.0, 8.0, 7.5,
    4.5, 5.0, 7.5, 8.0, 7.0, 5.5, 3.0, 1.8, 1.2, 0.9, 0.6, 0.4,
)  # fmt: skip

# Noise shares of all interactions (contract §3); receipts get at least one a day.
MASS_EMAIL_SHARE = 0.346
READ_RECEIPT_SHARE = 0.005
DELIVERY_RECEIPT_SHARE = 0.002
CAMPAIGN_SHARE_OF_MASS = 0.9
VALID_EMAIL_SHARE = 0.70  # of valid interactions; the rest are calls, meetings, tasks...

# Whom an interaction is on (cumulative thresholds): company, person of a company, person
# without a company, unknown id.
ON_COMPANY = 0.60
ON_COMPANY_PERSON = 0.96
ON_LONE_PERSON = 0.985

OWNER_IS_ACCOUNT_MANAGER = 0.85
REPLY_SWITCHES_DIRECTION = 0.80
FRICTION_TOPIC_SHARE = 0.05
FRICTION_SENTENCE_RATE = 0.085
FRIDAY_AFTERNOON_FRICTION_FACTOR = 2.0
DECOY_RATE = 0.03
DEAL_LINK_RATE = 0.25

# Ids: base entities get small sequential ids; anything created on a given day gets an id from
# that day's block, so days never collide and a day's ids do not depend on other days.
ID_EPOCH = date(2000, 1, 1)
FIRST_USER_ID = 40_001
FIRST_CONTACT_ID = 100_001
FIRST_DEAL_ID = 500_001
INTERACTION_IDS_PER_DAY = 10_000_000
UNKNOWN_CONTACT_ID_BASE = 1_500_000_000
NEW_CONTACT_ID_BASE = 2_000_000_000
NEW_CONTACT_IDS_PER_DAY = 100_000
NEW_DEAL_ID_BASE = 3_000_000_000
NEW_DEAL_IDS_PER_DAY = 10_000

TITLE_INBOUND = "E-mail recebido."
TITLE_OUTBOUND = "E-mail enviado."
EMAIL_TYPE_ID = 3
NOTE_TYPE_ID = 1
OTHER_KINDS = (  # (title, TypeId, weight)
    ("Ligação", 2, 30),
    ("WhatsApp", 7, 25),
    ("Reunião", 4, 15),
    ("Tarefa", 6, 15),
    ("Visita", 5, 5),
    (None, NOTE_TYPE_ID, 10),
)
STATUS_OPEN, STATUS_WON, STATUS_LOST = 1, 2, 3
WON_STAGE = 5

OWN_COMPANY = "Nuvem CX"
OWN_DOMAIN = "nuvemcx.com.br"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def day_number(day: date) -> int:
    """Days since ID_EPOCH: which block of ids a day's new records take."""
    number = (day - ID_EPOCH).days
    if number < 0:
        raise ValueError(f"CRM generation starts at {ID_EPOCH}, got {day}")
    return number


def local_timestamp(day: date, second_of_day: int) -> str:
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}{_utc_offsets(day)[hour]}"


@lru_cache(maxsize=4096)
def _utc_offsets(day: date) -> tuple[str, ...]:
    """The São Paulo offset (`-03:00`, or `-02:00` on the summer days before 2019) of each hour."""
    offsets = []
    for hour in range(24):
        text = datetime(day.year, day.month, day.day, hour, tzinfo=SAO_PAULO).strftime("%z")
        offsets.append(f"{text[:3]}:{text[3:]}")
    return tuple(offsets)


HOUR_CUMULATIVE = list(accumulate(HOUR_WEIGHTS))


def business_second(rng: Random) -> int:
    hour = bisect(HOUR_CUMULATIVE, rng.random() * HOUR_CUMULATIVE[-1])
    return hour * 3600 + rng.randrange(3600)
