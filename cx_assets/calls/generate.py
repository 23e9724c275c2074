"""Synthetic landing data for the `calls` source: recorded sales and service call transcripts.

Layout (contract §2), per day under `<landing>/calls/transcripts/<YYYY-MM-DD>/`:

- `transcripts-part-NNNN.jsonl` — most calls, one object a line, in time order, 2,000 a file;
- `transcripts-batch.json` — about a tenth of the calls as one JSON array (a batch export);
- `call-<call_id>.json` — a handful of calls, each a single JSON object (a one-off re-export).

Each record holds `call_id` (`CALL-<YYYYMMDD>-<seq>`, so unique across days), `agent_name`,
`customer_id`, `timestamp`, `duration_seconds` (left out of ~3% of records: it is optional) and
`transcript_text`. Timestamps fall inside the day in UTC; ~80% carry no offset (UTC by contract),
~10% end in `Z` and ~10% in `+00:00`.

Volumes (contract §3): ~5,000 calls a day across ~20 agents at scale 1.0, a pool of ~40,000
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
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from faker import Faker

from cx_assets.lakehouse.landing_writer import (
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
LOWERCASE_TRANSCRIPT_SHARE = 0.04

JSONL_FILE_PATTERN = "transcripts-part-*.jsonl"
ARRAY_FILE_NAME = "transcripts-batch.json"
SINGLE_FILE_PATTERN = "call-*.json"

AGENT = "Agent"
CUSTOMER = "Customer"
Line = tuple[str, str]  # (speaker, sentence)

# Hour-of-day weights in UTC: quiet overnight, busiest during US business hours (~14:00-23:00 UTC).
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 6, 8, 10, 11, 11, 11, 10, 10, 9, 8, 6, 4)
HOUR_CUM_WEIGHTS = tuple(accumulate(HOUR_WEIGHTS))

CALL_KINDS = ("sales", "service", "appointment")
CALL_KIND_CUM_WEIGHTS = tuple(accumulate((0.55, 0.30, 0.15)))
AGENT_CONVERSION_RATE = 0.25  # the team's call-weighted mean; each agent differs by up to ±0.10
# Multiplies the agent's own conversion rate; weighted by call kind this averages ~1.0.
CONVERSION_FACTOR = {"sales": 1.25, "service": 0.5, "appointment": 1.2}
UPSELL_OFFER_RATE = {"sales": 0.55, "service": 0.30, "appointment": 0.35}
SECOND_UPSELL_RATE = 0.25
UPSELL_WITHOUT_AMOUNT_RATE = 0.10
PLAIN_PRICE_RATE = {"sales": 0.20, "service": 0.55, "appointment": 0.20}
TWO_CONVERSION_PHRASES_RATE = 0.15

# Mood shares by whether the call converted and its kind.
MOODS = ("positive", "neutral", "negative")
MOOD_WEIGHTS = {
    (True, "sales"): (0.65, 0.25, 0.10),
    (True, "service"): (0.60, 0.25, 0.15),
    (True, "appointment"): (0.65, 0.25, 0.10),
    (False, "sales"): (0.40, 0.30, 0.30),
    (False, "service"): (0.25, 0.25, 0.50),
    (False, "appointment"): (0.40, 0.30, 0.30),
}

# ---------------------------------------------------------------------------------------------
# Text pools. Lines outside the sentiment pools must hold no sentiment word, no upsell word, no
# dollar amount and no conversion phrase, so each call's KPIs are exactly what was planned.
# ---------------------------------------------------------------------------------------------

NEUTRAL_OPENINGS = (
    "Hello, you've reached Brightline, this is {agent}. How can I help you today?",
    "Hi, this is {agent} at Brightline. What can I do for you?",
    "Brightline customer care, {agent} speaking. How can I help?",
    "Hi there, you're speaking with {agent} from Brightline. What's the reason for your call?",
)
# Says "thanks", so it is only used when the call has a positive word to spend.
POSITIVE_OPENING = "Thanks for holding, this is {agent}. What can I help you with?"

REASONS = {
    "sales": (
        "I'm looking at getting a new phone.",
        "I saw the ad for the fiber plan and I'd like to know more.",
        "We're adding a line for my daughter.",
        "My contract's up next month, so I'm shopping around.",
        "I want to switch my home internet over to you.",
        "I'm calling about the new tablets, are they in stock?",
    ),
    "service": (
        "My internet keeps dropping every evening.",
        "I've got a question about my bill.",
        "My phone won't connect to the network since yesterday.",
        "I'm moving next month and need to transfer my service.",
        "I can't log in to the app anymore.",
        "I think I was charged twice this month.",
    ),
    "appointment": (
        "I need someone to come out and look at the router.",
        "I'd like to schedule the installation for my new service.",
        "The technician never showed up last week, so I need to reschedule.",
        "Can someone come install the new cable box?",
        "The wall jack isn't working and I can't fix it myself.",
    ),
}

VERIFICATIONS = (
    (
        (AGENT, "Can I get the phone number on the account?"),
        (CUSTOMER, "Sure, it's the number I'm calling from."),
    ),
    (
        (AGENT, "Before we start, can you confirm the billing zip code?"),
        (CUSTOMER, "Yes, it's the same one as always."),
    ),
    (
        (AGENT, "I've pulled up your account."),
        (CUSTOMER, "Okay."),
    ),
    (
        (AGENT, "For security, what's the name of your first pet?"),
        (CUSTOMER, "Hold on, let me think. Okay, I've got it."),
    ),
)

EXCHANGES = {
    "sales": (
        (
            (AGENT, "We've got a few options depending on how much data you use."),
            (CUSTOMER, "I don't use that much, mostly streaming at night."),
        ),
        (
            (AGENT, "The fiber plan is available at your address."),
            (CUSTOMER, "Okay, and how long does it take to set up?"),
        ),
        (
            (AGENT, "It's usually two to three days for delivery."),
            (CUSTOMER, "That's fine with me."),
        ),
        (
            (AGENT, "You're eligible for the trade-in offer on your current phone."),
            (CUSTOMER, "I didn't know that, how does it work?"),
        ),
        (
            (AGENT, "We're running a promotion on the family plan this month."),
            (CUSTOMER, "How many lines does that cover?"),
        ),
        (
            (AGENT, "There's no contract, so you can cancel anytime."),
            (CUSTOMER, "That's good to know."),
        ),
        (
            (CUSTOMER, "Does it come in black?"),
            (AGENT, "Yes, we've got it in black and in silver."),
        ),
        (
            (CUSTOMER, "Will my number stay the same?"),
            (AGENT, "It will, we'll port it over for you."),
        ),
    ),
    "service": (
        (
            (AGENT, "I'm running a quick test on your line now."),
            (CUSTOMER, "Okay, I'll wait."),
        ),
        (
            (AGENT, "It looks like there was an outage in your area this morning."),
            (CUSTOMER, "I didn't get any notice about that."),
        ),
        (
            (AGENT, "Can you try restarting the modem for me?"),
            (CUSTOMER, "I've already done that twice."),
        ),
        (
            (AGENT, "I see the charge you're talking about."),
            (CUSTOMER, "I don't understand why it's there."),
        ),
        (
            (AGENT, "I've reset your password, you should get a text in a minute."),
            (CUSTOMER, "Got it, it's working now."),
        ),
        (
            (AGENT, "I can't see any problem on our side."),
            (CUSTOMER, "Well, it's still not working for me."),
        ),
        (
            (AGENT, "Let me check your account history."),
            (CUSTOMER, "Sure, take your time."),
        ),
        (
            (CUSTOMER, "Why does this keep happening?"),
            (AGENT, "We're replacing some equipment in your neighborhood this week."),
        ),
    ),
    "appointment": (
        (
            (AGENT, "We have openings on Tuesday and Thursday."),
            (CUSTOMER, "Thursday works better for me."),
        ),
        (
            (AGENT, "The technician will call you thirty minutes before arriving."),
            (CUSTOMER, "Okay, that works."),
        ),
        (
            (AGENT, "It's a two-hour window, between ten and noon."),
            (CUSTOMER, "I won't be home until eleven, is that a problem?"),
        ),
        (
            (AGENT, "Is someone over eighteen going to be home?"),
            (CUSTOMER, "Yes, my son will be there."),
        ),
        (
            (AGENT, "The visit itself doesn't cost anything."),
            (CUSTOMER, "Okay, good."),
        ),
        (
            (CUSTOMER, "Do I need to do anything before the visit?"),
            (AGENT, "Just make sure the technician can get to the modem."),
        ),
    ),
}

PITCHES = (
    "Would you like me to set that up for you today?",
    "Should I go ahead with that?",
    "Do you want to move forward today?",
    "Want me to get that started for you?",
)
APPOINTMENT_PITCHES = (
    "Should I put you down for that slot?",
    "Do you want me to lock in that time?",
)

# Conversion lines, keyed by the configured phrase each one matches after cleaning. The
# variants are how customers say it: contractions, different casing, extra words around it.
CONVERSION_LINES = {
    "sign me up": (
        "Sign me up!",
        "Okay, sign me up.",
        "Yes, SIGN ME UP.",
        "Alright, go on and sign me up for that.",
        "You know what, Sign Me Up.",
    ),
    "book that appointment": (
        "Please book that appointment.",
        "Yes, book that appointment for Thursday morning.",
        "Book that appointment, please.",
        "Okay, BOOK THAT APPOINTMENT.",
    ),
    "let us proceed with the purchase": (
        "Let's proceed with the purchase.",
        "Okay, let's proceed with the purchase.",
        "Alright then, Let's proceed with the purchase.",
        "Yes, let us proceed with the purchase.",
    ),
    "i will take it": (
        "I'll take it.",
        "Alright, I'll take it!",
        "Fine, I will take it.",
        "Okay, I'LL TAKE IT.",
        "Yeah, I'll take it, why not?",
    ),
    "count me in": (
        "Count me in!",
        "Count me in.",
        "Yeah, count me in.",
        "Yeah, COUNT ME IN!",
    ),
    "go ahead and place the order": (
        "Go ahead and place the order.",
        "Please go ahead and place the order.",
        "Yes, go ahead and place the order for the black one.",
        "Sure, Go ahead and place the order.",
    ),
}
CONVERSION_PHRASES_BY_KIND = {
    "sales": (
        "sign me up",
        "let us proceed with the purchase",
        "i will take it",
        "count me in",
        "go ahead and place the order",
    ),
    "service": ("sign me up", "go ahead and place the order", "book that appointment"),
    "appointment": ("book that appointment", "book that appointment", "count me in"),
}
CONFIRMATIONS = {
    "sales": (
        "Perfect, I'll get that set up for you now.",
        "You're all set, you'll get a confirmation text shortly.",
        "Done, I've placed that for you.",
    ),
    "service": (
        "Done, it's on your account now.",
        "You're all set, you'll see it on your next statement.",
    ),
    "appointment": (
        "Okay, it's booked and you'll get a reminder the day before.",
        "You're all set for that slot.",
    ),
}

# Lines that come close to a conversion phrase but must not match one.
DECLINES = {
    "sales": (
        "I'll think about it and call back.",
        "I don't want to commit to anything today.",
        "Let me talk it over at home first.",
        "I'm not ready to sign up yet.",
        "I won't take it at that price.",
        "Can you e-mail me the details?",
    ),
    "service": (
        "Okay, I'll keep an eye on it.",
        "I'll call back if it happens again.",
        "Alright, that's all I needed.",
        "I can't deal with that right now.",
    ),
    "appointment": (
        "Let me check my calendar and call back.",
        "I can't do this week, I'll call again.",
        "I'll book the appointment online later.",
    ),
}
DECLINE_ACKNOWLEDGEMENTS = (
    "No problem, I've made a note on your account.",
    "Sure, I'll send that over by e-mail.",
    "That's fine, just call us when you're ready.",
)

CLOSING_QUESTIONS = (
    "Is there anything else I can help with today?",
    "Anything else I can do for you?",
)
CLOSING_ANSWERS = ("No, that's it.", "Nope, that's everything.", "No, I'm good.")
NEUTRAL_SIGN_OFFS = ("Have a good day.", "Take care.", "Bye now.")
POSITIVE_SIGN_OFFS = ("Thanks for calling Brightline.", "Thank you for calling, take care.")

# Each sentiment line holds exactly one sentiment word, so a call's counts are what was planned.
# A few are negated on purpose: a word-count scorer still counts the word.
POSITIVE_CUSTOMER_LINES = (
    "That's great.",
    "Thanks, that helps a lot.",
    "Thank you for walking me through it.",
    "I'm really happy with how fast that was.",
    "The technician last time was excellent.",
    "Honestly, that sounds fantastic.",
    "I'm satisfied with that answer.",
    "Thanks so much.",
    "I can't say I'm happy about the wait, but okay.",
)
POSITIVE_AGENT_LINES = (
    "I'm happy to help with that.",
    "Great question.",
    "Thanks for your patience.",
    "That's a great choice.",
)
NEGATIVE_CUSTOMER_LINES = (
    "I'm really frustrated with this.",
    "Honestly, I'm disappointed.",
    "This is unacceptable.",
    "My husband is angry about the bill.",
    "The last call was terrible.",
    "I'm frustrated that I've had to call three times.",
    "I'm not angry, I just want this fixed.",
    "It's been a terrible week for our internet.",
    "I'm disappointed it's taken this long.",
    "That's unacceptable for what we pay.",
    "I never thought it would be this terrible to get help.",
)

# Upsell offers: (template, price tier). `{amount}` is the offered price.
UPSELL_OFFERS = (
    ("I can upgrade you to our premium plan for {amount} a month.", "monthly"),
    ("For {amount} more a month, the premium tier gets you priority support.", "monthly"),
    ("Would you like to add the streaming add-on for {amount} a month?", "monthly"),
    ("You can get extra data for {amount} a month if you're running out.", "monthly"),
    ("There's an add-on for international calling at {amount} a month.", "monthly"),
    ("If you upgrade to the faster speed, it's only {amount} more per month.", "monthly"),
    ("We also offer an extended warranty for {amount} that covers accidental damage.", "warranty"),
    ("I'd recommend the warranty, it's {amount} for two years of coverage.", "warranty"),
    ("The extra protection plan is {amount} and it covers screen repairs.", "warranty"),
    ("If you upgrade to the new model today, it's {amount}, and that includes setup.", "device"),
    ("The premium bundle with the laptop comes to {amount}.", "device"),
    ("With the upgrade, the home theater package comes to {amount} in total.", "device"),
)
UPSELL_TIER_WEIGHTS = {"monthly": 6, "warranty": 3, "device": 1}
UPSELL_PRICES = {
    "monthly": (5, 9.99, 10, 14.99, 15, 19.99, 25, 25.99, 29.99, 50),
    "warranty": (49, 79.99, 99, 129.99, 149, 199, 249.99),
    "device": (999, 1049.99, 1199, 1299.99, 1499, 1899.99, 2499),
}
# Rare shapes: two prices in one upsell sentence, and a plain bill amount sharing a sentence
# with an upgrade price (the contract sums every amount in such a sentence).
TWO_PRICE_UPSELL = "The premium plan is {amount} a month, or {amount2} with the warranty included."
BILL_AND_UPSELL = "Your bill is {bill} now, and the premium upgrade would add {amount}."
TWO_PRICE_UPSELL_RATE = 0.02
BILL_AND_UPSELL_RATE = 0.02

UPSELL_REACTIONS = (
    "Hmm, I'm not sure I need that.",
    "Okay, that sounds reasonable.",
    "What does that include?",
    "No, I'll pass on that.",
    "Let me think about that one.",
)
UPSELL_WITHOUT_AMOUNT = (
    (AGENT, "I can also upgrade you to premium if you'd like."),
    (AGENT, "Would you be interested in our extended warranty?"),
    (AGENT, "There's an add-on for that, but I'd need to check the price."),
    (AGENT, "The extra storage is about fifty dollars more."),
    (CUSTOMER, "Is my phone still under warranty?"),
    (AGENT, "Premium members get free installation, just so you know."),
)

# Amounts in sentences with no upsell word: they must not count as upsell revenue.
PLAIN_PRICE_LINES = {
    "sales": (
        (CUSTOMER, "I'm already paying {amount} a month."),
        (CUSTOMER, "My current provider charges me {amount} a month."),
        (AGENT, "The phone on its own is {amount}, or you can pay it off monthly."),
        (AGENT, "The fiber plan is {amount} a month with no contract."),
    ),
    "service": (
        (AGENT, "Your current bill is {amount}."),
        (AGENT, "I see a charge of {amount} from last month."),
        (AGENT, "Your refund of {amount} will show up in three to five business days."),
        (AGENT, "The late fee was {amount}, and I've taken it off."),
        (CUSTOMER, "Last month it was {amount}, so why is it higher now?"),
        (AGENT, "Your next payment of {amount} is due on the fifteenth."),
    ),
    "appointment": (
        (AGENT, "Your balance is {amount} as of today."),
        (AGENT, "The installation fee is {amount}, and it goes on your next bill."),
        (CUSTOMER, "Last time you charged me {amount} for a visit, is that still the case?"),
    ),
}
LARGE_PLAIN_PRICE_RATE = 0.03


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


def generate(request: GenerationRequest) -> dict[str, int]:
    """Write calls landing files for request.dates; return records written per table ({"transcripts": n})."""
    pools = build_pools(request)
    calls_per_day = request.scaled(CALLS_PER_DAY, minimum=MIN_CALLS_PER_DAY)
    written = 0
    with request.progress(calls_per_day * request.days, f"{SOURCE}/{TABLE}") as progress:
        for day in request.dates:
            records = build_day(request, pools, day, calls_per_day)
            for count in write_day(request, day, records):
                written += count
                progress.update(count)
    return {TABLE: written}


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
        lines = compose_call(rng, agent, kind, converted)
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


def compose_call(rng: random.Random, agent: Agent, kind: str, converted: bool) -> list[Line]:
    """The (speaker, sentence) lines of one call, in order."""
    positive_words, negative_words = _plan_sentiment(rng, converted, kind)

    if positive_words and rng.random() < 0.2:
        opening = POSITIVE_OPENING
        positive_words -= 1
    else:
        opening = rng.choice(NEUTRAL_OPENINGS)
    lines: list[Line] = [(AGENT, opening.format(agent=agent.first_name))]
    lines.append((CUSTOMER, rng.choice(REASONS[kind])))
    if rng.random() < 0.7:
        lines.extend(rng.choice(VERIFICATIONS))

    # The middle of the call: small blocks of lines, with offers and prices dropped in anywhere.
    body: list[list[Line]] = [
        list(block) for block in rng.sample(EXCHANGES[kind], rng.randint(2, 4))
    ]
    if rng.random() < UPSELL_OFFER_RATE[kind]:
        _insert_block(rng, body, _upsell_offer(rng))
        if rng.random() < SECOND_UPSELL_RATE:
            _insert_block(rng, body, _upsell_offer(rng))
    if rng.random() < UPSELL_WITHOUT_AMOUNT_RATE:
        _insert_block(rng, body, [rng.choice(UPSELL_WITHOUT_AMOUNT)])
    if rng.random() < PLAIN_PRICE_RATE[kind]:
        _insert_block(rng, body, [_plain_price_line(rng, kind)])

    sign_off_is_positive = positive_words > 0 and rng.random() < 0.4
    if sign_off_is_positive:
        positive_words -= 1
    for _ in range(positive_words):
        if rng.random() < 0.7:
            _insert_block(rng, body, [(CUSTOMER, rng.choice(POSITIVE_CUSTOMER_LINES))])
        else:
            _insert_block(rng, body, [(AGENT, rng.choice(POSITIVE_AGENT_LINES))])
    for _ in range(negative_words):
        _insert_block(rng, body, [(CUSTOMER, rng.choice(NEGATIVE_CUSTOMER_LINES))])
    for block in body:
        lines.extend(block)

    lines.extend(_decision(rng, kind, converted))
    lines.append((AGENT, rng.choice(CLOSING_QUESTIONS)))
    lines.append((CUSTOMER, rng.choice(CLOSING_ANSWERS)))
    sign_offs = POSITIVE_SIGN_OFFS if sign_off_is_positive else NEUTRAL_SIGN_OFFS
    lines.append((AGENT, rng.choice(sign_offs)))
    return lines


def render_transcript(rng: random.Random, lines: Sequence[Line]) -> str:
    """`Agent: ... Customer: ...`, consecutive lines of one speaker merged into one turn."""
    turns: list[tuple[str, list[str]]] = []
    for speaker, sentence in lines:
        if turns and turns[-1][0] == speaker:
            turns[-1][1].append(sentence)
        else:
            turns.append((speaker, [sentence]))
    text = " ".join(f"{speaker}: {' '.join(sentences)}" for speaker, sentences in turns)
    if rng.random() < LOWERCASE_TRANSCRIPT_SHARE:
        return text.lower()
    return text


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


def _plan_sentiment(rng: random.Random, converted: bool, kind: str) -> tuple[int, int]:
    """How many positive and negative sentiment words the call gets."""
    (mood,) = rng.choices(MOODS, weights=MOOD_WEIGHTS[converted, kind])
    if mood == "positive":
        positive = rng.randint(1, 3)
        return positive, rng.randint(0, min(1, positive - 1))
    if mood == "negative":
        negative = rng.randint(1, 3)
        return rng.randint(0, min(1, negative - 1)), negative
    # Neutral: mostly no sentiment words at all, sometimes one of each that cancel out.
    return (1, 1) if rng.random() < 0.3 else (0, 0)


def _upsell_offer(rng: random.Random) -> list[Line]:
    roll = rng.random()
    if roll < TWO_PRICE_UPSELL_RATE:
        base = rng.choice(UPSELL_PRICES["monthly"])
        sentence = TWO_PRICE_UPSELL.format(
            amount=_dollars(base), amount2=_dollars(base + rng.choice((5, 10, 15)))
        )
    elif roll < TWO_PRICE_UPSELL_RATE + BILL_AND_UPSELL_RATE:
        sentence = BILL_AND_UPSELL.format(
            bill=_dollars(_plain_amount(rng)), amount=_dollars(rng.choice(UPSELL_PRICES["monthly"]))
        )
    else:
        template, tier = rng.choices(
            UPSELL_OFFERS, weights=[UPSELL_TIER_WEIGHTS[tier] for _, tier in UPSELL_OFFERS]
        )[0]
        sentence = template.format(amount=_dollars(rng.choice(UPSELL_PRICES[tier])))
    return [(AGENT, sentence), (CUSTOMER, rng.choice(UPSELL_REACTIONS))]


def _plain_price_line(rng: random.Random, kind: str) -> Line:
    speaker, template = rng.choice(PLAIN_PRICE_LINES[kind])
    return speaker, template.format(amount=_dollars(_plain_amount(rng)))


def _plain_amount(rng: random.Random) -> float:
    if rng.random() < LARGE_PLAIN_PRICE_RATE:
        return round(rng.uniform(1000, 1800), 2)
    if rng.random() < 0.3:
        return rng.randrange(20, 200, 5)
    return round(rng.uniform(19, 320), 2)


def _decision(rng: random.Random, kind: str, converted: bool) -> list[Line]:
    pitches = APPOINTMENT_PITCHES if kind == "appointment" else PITCHES
    lines: list[Line] = [(AGENT, rng.choice(pitches))]
    if not converted:
        lines.append((CUSTOMER, rng.choice(DECLINES[kind])))
        lines.append((AGENT, rng.choice(DECLINE_ACKNOWLEDGEMENTS)))
        return lines
    phrases = CONVERSION_PHRASES_BY_KIND[kind]
    lines.append((CUSTOMER, rng.choice(CONVERSION_LINES[rng.choice(phrases)])))
    if rng.random() < TWO_CONVERSION_PHRASES_RATE:
        # Customers often confirm twice; the call still counts once.
        lines.append((CUSTOMER, rng.choice(CONVERSION_LINES[rng.choice(phrases)])))
    lines.append((AGENT, rng.choice(CONFIRMATIONS[kind])))
    return lines


def _insert_block(rng: random.Random, body: list[list[Line]], block: list[Line]) -> None:
    body.insert(rng.randint(0, len(body)), block)


def _dollars(amount: float) -> str:
    # Whole prices are said without cents ($50), others with them ($25.99); thousands get commas.
    if float(amount).is_integer():
        return f"${int(amount):,}"
    return f"${amount:,.2f}"


def _format_timestamp(rng: random.Random, moment: datetime) -> str:
    roll = rng.random()
    text = moment.isoformat()
    if roll < 0.8:
        return text  # no offset: UTC by contract
    if roll < 0.9:
        return f"{text}Z"
    return f"{text}+00:00"
