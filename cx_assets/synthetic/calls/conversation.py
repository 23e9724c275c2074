"""What is said in one call: its (speaker, sentence) lines and the transcript text.

The lines come from the text pools in `pools/*.json`; this module decides which, so that each
call holds exactly the conversion phrases, upsell offers, prices and sentiment words planned for
it (see the package docstring for the shares).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from cx_assets.synthetic.pool_files import load_pools

AGENT = "Agent"
CUSTOMER = "Customer"
Line = tuple[str, str]  # (speaker, sentence)

# Conversion: a converting customer says one configured phrase, sometimes two. Phrases by call
# kind (one listed twice is said twice as often).
TWO_CONVERSION_PHRASES_RATE = 0.15
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

# Upsell offers and prices that must not count.
UPSELL_OFFER_RATE = {"sales": 0.55, "service": 0.30, "appointment": 0.35}
SECOND_UPSELL_RATE = 0.25
UPSELL_WITHOUT_AMOUNT_RATE = 0.10
TWO_PRICE_UPSELL_RATE = 0.02
BILL_AND_UPSELL_RATE = 0.02
UPSELL_TIER_WEIGHTS = {"monthly": 6, "warranty": 3, "device": 1}
UPSELL_PRICES = {
    "monthly": (5, 9.99, 10, 14.99, 15, 19.99, 25, 25.99, 29.99, 50),
    "warranty": (49, 79.99, 99, 129.99, 149, 199, 249.99),
    "device": (999, 1049.99, 1199, 1299.99, 1499, 1899.99, 2499),
}
PLAIN_PRICE_RATE = {"sales": 0.20, "service": 0.55, "appointment": 0.20}
LARGE_PLAIN_PRICE_RATE = 0.03

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

LOWERCASE_TRANSCRIPT_SHARE = 0.04  # speech-to-text output without casing

# ---------------------------------------------------------------------------------------------
# Text pools, in `pools/*.json`. Lines outside the sentiment pools must hold no sentiment word, no
# upsell word, no dollar amount and no conversion phrase, so each call's KPIs are exactly what
# was planned. A line is (speaker, sentence); speakers are spelled `Agent` and `Customer`.
# ---------------------------------------------------------------------------------------------

_conversation = load_pools(__package__, "conversation.json")
NEUTRAL_OPENINGS: tuple[str, ...] = _conversation["neutral_openings"]
# Says "thanks", so it is only used when the call has a positive word to spend.
POSITIVE_OPENING: str = _conversation["positive_opening"]
REASONS: dict[str, tuple[str, ...]] = _conversation["reasons"]  # by call kind
VERIFICATIONS: tuple[tuple[Line, ...], ...] = _conversation["verifications"]
EXCHANGES: dict[str, tuple[tuple[Line, ...], ...]] = _conversation["exchanges"]  # by call kind
CLOSING_QUESTIONS: tuple[str, ...] = _conversation["closing_questions"]
CLOSING_ANSWERS: tuple[str, ...] = _conversation["closing_answers"]
NEUTRAL_SIGN_OFFS: tuple[str, ...] = _conversation["neutral_sign_offs"]
POSITIVE_SIGN_OFFS: tuple[str, ...] = _conversation["positive_sign_offs"]

_decision_pools = load_pools(__package__, "decision.json")
PITCHES: tuple[str, ...] = _decision_pools["pitches"]
APPOINTMENT_PITCHES: tuple[str, ...] = _decision_pools["appointment_pitches"]
# Conversion lines, keyed by the configured phrase each one matches after cleaning. The
# variants are how customers say it: contractions, different casing, extra words around it.
CONVERSION_LINES: dict[str, tuple[str, ...]] = _decision_pools["conversion_lines"]
CONFIRMATIONS: dict[str, tuple[str, ...]] = _decision_pools["confirmations"]  # by call kind
# Lines that come close to a conversion phrase but must not match one, by call kind.
DECLINES: dict[str, tuple[str, ...]] = _decision_pools["declines"]
DECLINE_ACKNOWLEDGEMENTS: tuple[str, ...] = _decision_pools["decline_acknowledgements"]

# Each sentiment line holds exactly one sentiment word, so a call's counts are what was planned.
# A few are negated on purpose: a word-count scorer still counts the word.
_sentiment = load_pools(__package__, "sentiment.json")
POSITIVE_CUSTOMER_LINES: tuple[str, ...] = _sentiment["positive_customer_lines"]
POSITIVE_AGENT_LINES: tuple[str, ...] = _sentiment["positive_agent_lines"]
NEGATIVE_CUSTOMER_LINES: tuple[str, ...] = _sentiment["negative_customer_lines"]

_prices = load_pools(__package__, "prices.json")
# Upsell offers: (template, price tier). `{amount}` is the offered price.
UPSELL_OFFERS: tuple[tuple[str, str], ...] = _prices["upsell_offers"]
# Rare shapes: two prices in one upsell sentence, and a plain bill amount sharing a sentence
# with an upgrade price (the contract sums every amount in such a sentence).
TWO_PRICE_UPSELL: str = _prices["two_price_upsell"]
BILL_AND_UPSELL: str = _prices["bill_and_upsell"]
UPSELL_REACTIONS: tuple[str, ...] = _prices["upsell_reactions"]
UPSELL_WITHOUT_AMOUNT: tuple[Line, ...] = _prices["upsell_without_amount"]
# Amounts in sentences with no upsell word: they must not count as upsell revenue. By call kind.
PLAIN_PRICE_LINES: dict[str, tuple[Line, ...]] = _prices["plain_price_lines"]


def compose_call(
    rng: random.Random, agent_first_name: str, kind: str, converted: bool
) -> list[Line]:
    """The (speaker, sentence) lines of one call, in order; the agent introduces themselves."""
    positive_words, negative_words = _plan_sentiment(rng, converted, kind)

    if positive_words and rng.random() < 0.2:
        opening = POSITIVE_OPENING
        positive_words -= 1
    else:
        opening = rng.choice(NEUTRAL_OPENINGS)
    lines: list[Line] = [(AGENT, opening.format(agent=agent_first_name))]
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
