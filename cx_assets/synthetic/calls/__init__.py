"""Synthetic landing data for the `calls` source: recorded sales and service call transcripts.

Layout (contract §2), per day under `<landing>/calls/transcripts/<YYYY-MM-DD>/`:

- `transcripts-part-NNNN.jsonl` — most calls, one object a line, in time order, 2,000 a file;
- `transcripts-batch.json` — about a tenth of the calls as one JSON array (a batch export);
- `call-<call_id>.json` — a handful of calls, each a single JSON object (a one-off re-export).

Each record holds `call_id` (`CALL-<YYYYMMDD>-<seq>`, so unique across days), `agent_name`,
`customer_id`, `timestamp`, `duration_seconds` (left out of ~3% of records: it is optional) and
`transcript_text`. Timestamps fall inside the day in UTC; ~80% carry no offset (UTC by contract),
~10% end in `Z` and ~10% in `+00:00`.

Volumes (contract §3): ~5,000 calls a day across ~20 agents at scale 1.0 (a Poisson count
around it, `calls_on`: days differ by about 1.4%, by more at small scales), a pool of ~40,000
customers skewed so some call more than once. Tiny scales keep at least 6 calls and 3 agents.

Transcripts are `Agent: ... Customer: ...` turns joined by single spaces; every sentence ends in
`.`, `!` or `?` followed by a space (or the end), so sentence splitting per contract §4.2 works.
About 4% are lower-cased whole (speech-to-text output without casing). Patterns the §4.2 KPIs
must handle, with their approximate shares of calls:

- Conversion (~25%, varying by agent and by call kind: sales, service, appointment): a customer
  says a conversion phrase as people say it — `Sign me up!`, `Okay, I'll take it.`,
  `Let's proceed with the purchase.`, `Yeah, COUNT ME IN!`, `Please go ahead and place the
  order.`, `Book that appointment, please.` — which only matches the configured phrases after
  lower-casing and expanding contractions (`I'll` → `i will`, `let's` → `let us`). About 15% of
  converted calls say two phrases. Near misses that must NOT count appear in other calls:
  `I'm not ready to sign up yet.`, `I won't take it at that price.`, `I'll book the appointment
  online later.`
- Upsell offers (~45%): agent sentences holding an upsell word (upgrade, premium, extra,
  warranty, add-on) and a dollar amount: `$15`, `$25.99`, or for devices `$1,299.99` (about 5%
  of offers, which only parse as one amount if `,` and `.` inside a number are kept). About a
  quarter of offering calls make a second offer; ~1% of calls have two amounts in one upsell
  sentence, and ~1% a bill amount and an upgrade price in the same sentence (both count, by the
  contract's sentence rule). ~10% of calls hold an upsell sentence without a parsable amount
  (`The extra storage is about fifty dollars more.`, `Is my phone still under warranty?`).
- Prices that must not count (~30%): amounts in sentences with no upsell word, e.g.
  `Your current bill is $45.`, `I'm already paying $89.99 a month.`, rarely above $1,000.
- Sentiment: sentiment lines each hold exactly one word from the default lists (positive:
  excellent, fantastic, great, satisfied, happy, thank, thanks; negative: frustrated,
  disappointed, unacceptable, angry, terrible); every other line holds none. A call's mood sets
  how many of each it gets, giving ~43% positive, ~29% negative and ~28% neutral calls (neutral
  is either no sentiment words or one of each). Converted calls lean positive, service calls
  negative. Negations (not, can't, never, won't) are common in ordinary lines, and a few
  sentiment lines are negated (`I'm not angry, I just want this fixed.`), which a word count
  still scores by the word.
- Contractions everywhere (I'll, I'm, I've, can't, don't, won't, let's, it's, we're, you're,
  that's), always with the ASCII apostrophe.

Determinism: every day draws from its own generator (`request.rng("calls", "transcripts", day)`),
so a day's bytes depend only on the seed, the scale and the date — never on which other days
were generated. Faker (en_US) is used once per run to build the agent and customer pools, never
per call, because it is slow and its output would otherwise tie days together.

Where things are: `conversation` composes what one call says, from the text pools in
`pools/*.json`; this module picks the day's calls (time, agent, customer, kind, outcome) and
writes them in the three file shapes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from faker import Faker

from cx_assets.synthetic.calls.conversation import compose_call, render_transcript
from cx_assets.synthetic.landing_writer import (
    GenerationRequest,
    chunked,
    landing_file,
    remove_stale,
    write_json,
    write_jsonl,
)

SOURCE = "calls"
TABLE = "transcripts"

CALLS_PER_DAY = 5_000
MIN_CALLS_PER_DAY = 6  # enough for one call in each of the three file shapes plus a few more
AGENTS = 20
MIN_AGENTS = 3
CUSTOMERS = 40_000
MIN_CUSTOMERS = 10

JSONL_PART_SIZE = 2_000
ARRAY_FILE_SHARE = 0.10
SINGLE_OBJECT_FILES = 10  # per day at scale 1; at least one at any scale
DURATION_MISSING_SHARE = 0.03

JSONL_FILE_PATTERN = "transcripts-part-*.jsonl"
ARRAY_FILE_NAME = "transcripts-batch.json"
SINGLE_FILE_PATTERN = "call-*.json"

# Hour-of-day weights in UTC: quiet overnight, busiest during US business hours (~14:00-23:00 UTC).
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 6, 8, 10, 11, 11, 11, 10, 10, 9, 8, 6, 4)
HOUR_CUM_WEIGHTS = tuple(accumulate(HOUR_WEIGHTS))

CALL_KINDS = ("sales", "service", "appointment")
CALL_KIND_CUM_WEIGHTS = tuple(accumulate((0.55, 0.30, 0.15)))
AGENT_CONVERSION_RATE = 0.25  # the team's call-weighted mean; each agent differs by up to ±0.10
# Multiplies the agent's own conversion rate; weighted by call kind this averages ~1.0.
CONVERSION_FACTOR = {"sales": 1.25, "service": 0.5, "appointment": 1.2}


@dataclass(frozen=True)
class Agent:
    name: str
    first_name: str  # how the agent introduces themselves on the call
    conversion_rate: float  # chance a call converts, before the call kind's factor


@dataclass(frozen=True)
class Pools:
    """Per-run lookups built once with Faker; days draw from them with their own generators."""

    agents: tuple[Agent, ...]
    agent_cum_weights: tuple[float, ...]
    customer_ids: tuple[str, ...]


# Megabytes of landing files in a scale-1 day: ~5,000 transcripts.
# Linear in the scale (measured at 0.1 and 1): `cx-lakehouse generate` refuses a request
# whose files cannot fit on the disk.
DAY_MEGABYTES = 5.5


def generate(request: GenerationRequest) -> dict[str, int]:
    """Write calls landing files for request.dates; return records written per table ({"transcripts": n})."""
    pools = build_pools(request)
    volumes = {day: calls_on(request, day) for day in request.dates}
    written = 0
    with request.progress(sum(volumes.values()), f"{SOURCE}/{TABLE}") as progress:
        for day in request.dates:
            records = build_day(request, pools, day, volumes[day])
            for count in write_day(request, day, records):
                written += count
                progress.update(count)
    return {TABLE: written}


def calls_on(request: GenerationRequest, day: date) -> int:
    """The calls of `day`: about CALLS_PER_DAY × scale, drawn from the day's own stream (a
    Poisson count, approximated by a normal draw), so days differ as a contact centre's do and
    the day's bytes still depend only on the seed, the scale and the date."""
    level = CALLS_PER_DAY * request.scale
    drawn = request.rng(SOURCE, "volume", day.isoformat()).gauss(level, math.sqrt(level))
    return max(MIN_CALLS_PER_DAY, round(drawn))


def build_pools(request: GenerationRequest) -> Pools:
    rng = request.rng(SOURCE, "pools")
    fake = Faker("en_US")
    fake.seed_instance(rng.getrandbits(64))

    agent_count = request.scaled(AGENTS, minimum=MIN_AGENTS)
    names: dict[str, str] = {}  # full name -> first name, in drawing order
    while len(names) < agent_count:
        first_name = fake.first_name()
        names.setdefault(f"{first_name} {fake.last_name()}", first_name)
    # Some agents take more calls than others (shift length, queue routing).
    workloads = [rng.uniform(0.6, 1.4) for _ in names]
    # A spread of skill so per-agent conversion rates differ, re-centred so the call-weighted
    # team rate is exactly the target: with a handful of agents a raw draw could drift far off.
    skills = [rng.uniform(-0.10, 0.10) for _ in names]
    team_skill = sum(s * w for s, w in zip(skills, workloads, strict=True)) / sum(workloads)
    agents = tuple(
        Agent(name, first_name, AGENT_CONVERSION_RATE + skill - team_skill)
        for (name, first_name), skill in zip(names.items(), skills, strict=True)
    )

    customer_count = request.scaled(CUSTOMERS, minimum=MIN_CUSTOMERS)
    customer_ids = tuple(fake.unique.numerify("CUST-########") for _ in range(customer_count))
    return Pools(agents, tuple(accumulate(workloads)), customer_ids)


def build_day(
    request: GenerationRequest, pools: Pools, day: date, calls_per_day: int
) -> list[dict[str, Any]]:
    rng = request.rng(SOURCE, TABLE, day.isoformat())
    day_start = datetime.combine(day, time())
    offsets = sorted(
        timedelta(
            hours=rng.choices(range(24), cum_weights=HOUR_CUM_WEIGHTS)[0],
            seconds=rng.randrange(3600),
        )
        for _ in range(calls_per_day)
    )

    records = []
    for sequence, offset in enumerate(offsets, start=1):
        agent = rng.choices(pools.agents, cum_weights=pools.agent_cum_weights)[0]
        kind = rng.choices(CALL_KINDS, cum_weights=CALL_KIND_CUM_WEIGHTS)[0]
        converted = rng.random() < agent.conversion_rate * CONVERSION_FACTOR[kind]
        lines = compose_call(rng, agent.first_name, kind, converted)
        record: dict[str, Any] = {
            "call_id": f"CALL-{day:%Y%m%d}-{sequence:06d}",
            "agent_name": agent.name,
            # Squaring skews picks to the front of the pool: some customers call repeatedly.
            "customer_id": pools.customer_ids[int(len(pools.customer_ids) * rng.random() ** 2)],
            "timestamp": _format_timestamp(rng, day_start + offset),
        }
        if rng.random() >= DURATION_MISSING_SHARE:
            seconds_per_line = rng.uniform(10, 28)
            record["duration_seconds"] = int(len(lines) * seconds_per_line + rng.randint(20, 90))
        record["transcript_text"] = render_transcript(rng, lines)
        records.append(record)
    return records


def write_day(
    request: GenerationRequest, day: date, records: list[dict[str, Any]]
) -> Iterator[int]:
    """Write one day's records in the three file shapes; yields the records written per file."""
    rng = request.rng(SOURCE, TABLE, day.isoformat(), "files")
    single_count = max(1, min(request.scaled(SINGLE_OBJECT_FILES, minimum=1), len(records) // 20))
    array_count = max(1, round(len(records) * ARRAY_FILE_SHARE))
    picked = rng.sample(range(len(records)), single_count + array_count)
    single_indices = set(picked[:single_count])
    array_indices = set(picked[single_count:])

    def path(name: str) -> Path:
        return landing_file(request.landing_dir, SOURCE, TABLE, day, name)

    written: set[Path] = set()
    in_jsonl = [
        record
        for index, record in enumerate(records)
        if index not in single_indices and index not in array_indices
    ]
    for part, part_records in enumerate(chunked(in_jsonl, JSONL_PART_SIZE), start=1):
        target = path(f"transcripts-part-{part:04d}.jsonl")
        yield write_jsonl(target, part_records)
        written.add(target)

    array_records = [records[index] for index in sorted(array_indices)]
    written.add(write_json(path(ARRAY_FILE_NAME), array_records))
    yield len(array_records)

    for index in sorted(single_indices):
        record = records[index]
        written.add(write_json(path(f"call-{record['call_id']}.json"), record))
        yield 1

    # Leftover parts of an earlier, larger run would duplicate this day's call_ids.
    remove_stale(path(ARRAY_FILE_NAME).parent, (JSONL_FILE_PATTERN, SINGLE_FILE_PATTERN), written)


def _format_timestamp(rng: random.Random, moment: datetime) -> str:
    roll = rng.random()
    text = moment.isoformat()
    if roll < 0.8:
        return text  # no offset: UTC by contract
    if roll < 0.9:
        return f"{text}Z"
    return f"{text}+00:00"
