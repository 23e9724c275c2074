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

Where things are: `shape` sets the numbers above; `members` holds the member base, `history`
what members did so far and who fits a new call, `rows` turns sessions and calls into rows, and
`simulation` runs the days; this module writes the files.
"""

from __future__ import annotations

import math

from cx_assets.synthetic.digital.shape import (
    CALL_COLUMNS,
    JOURNEY_COLUMNS,
    LEAKAGE_CALLS_PER_DAY_AT_SCALE_1,
    MEMBER_COLUMNS,
    SOURCE,
    WEEKLY_GROWTH,
    daily_leakage_target,
)
from cx_assets.synthetic.digital.simulation import Simulation
from cx_assets.synthetic.landing_writer import GenerationRequest, landing_file, write_csv

__all__ = ["daily_leakage_target", "generate"]


# Megabytes of landing files in a scale-1 day: journeys, calls and members' changes.
# Linear in the scale (measured at 0.1 and 1): `cx-lakehouse generate` refuses a request
# whose files cannot fit on the disk.
DAY_MEGABYTES = 9
# What a range is made of (measured at scale 1): the whole member base on its first day, and
# each day's journeys, calls and member changes, of which a part does not grow and the rest
# is the leakage, which grows week on week from `--start` (contract 4.3).
MEMBER_BASE_MEGABYTES = 2.8
STEADY_DAY_MEGABYTES = 1.3
LEAKAGE_DAY_MEGABYTES = 4.8  # a first-week day's, on average
# A day's growth counted at most this far (the longest request stays a finite number).
MAX_ESTIMATED_GROWTH = 1e6


def days_megabytes(days: int) -> float:
    """About how many megabytes `days` days from `--start` write at scale 1: the leakage's
    weekly growth makes 26 weeks about 2.6 times 182 days of DAY_MEGABYTES, and a year 30
    times (`cx-lakehouse generate` checks the free disk space with it)."""
    level = sum(LEAKAGE_CALLS_PER_DAY_AT_SCALE_1.values())
    growth = dict.fromkeys(LEAKAGE_CALLS_PER_DAY_AT_SCALE_1, 0.0)
    for journey_type, calls in LEAKAGE_CALLS_PER_DAY_AT_SCALE_1.items():
        weekly = math.log(WEEKLY_GROWTH[journey_type])
        first_week = sum(math.exp(weekly * k / 7) for k in range(7)) / 7
        growth[journey_type] = (
            sum(
                min(MAX_ESTIMATED_GROWTH, math.exp(min(50.0, weekly * day / 7)))
                for day in range(days)
            )
            * calls
            / level
            / first_week
        )
    return (
        MEMBER_BASE_MEGABYTES
        + STEADY_DAY_MEGABYTES * days
        + LEAKAGE_DAY_MEGABYTES * sum(growth.values())
    )


def generate(request: GenerationRequest) -> dict[str, int]:
    """Write digital landing files for request.dates; return records written per table
    ({"journeys": n, "calls": n, "members": n})."""
    simulation = Simulation(request)
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
