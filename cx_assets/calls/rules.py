"""The calls business rules (contract section 4.2), as pure functions with no Dagster.

A transcript is scored in Python: cleaning, sentence splitting and dollar parsing read far
more clearly as a few regular expressions than as SQL, and a day is only ~5,000 calls of
~850 characters (~0.35 s of Python a day, ~75 µs a call: the four lexicons are found in
one pass over the cleaned text, see `CallsRules.find_words`). `call_features` is the one
implementation: unit tests call it directly on hand-worked transcripts, and the silver step
calls the very same function on every transcript of the day
(`table_rules.transcript_features`) and joins the result in by SQL. The aggregations of the
gold tables are SQL, in `table_rules`.

Configuration lives in `CallsRules` (conversion phrases, upsell words, sentiment lexicon,
contractions, check thresholds) with the contract's defaults (the lexicons in `lexicons`);
docs/calls.md lists them.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from cx_assets.calls.lexicons import (
    DEFAULT_CONTRACTIONS,
    DEFAULT_CONVERSION_PHRASES,
    DEFAULT_NEGATIONS,
    DEFAULT_NEGATIVE_WORDS,
    DEFAULT_POSITIVE_WORDS,
    DEFAULT_UPSELL_WORDS,
)

SENTIMENTS = ("positive", "neutral", "negative")

# --------------------------------------------------------------------------- configuration

# Curly and other apostrophe look-alikes, normalised to `'` before contractions are expanded.
_APOSTROPHES = re.compile("[\u2018\u2019\u02bc\u0060\u00b4]")
# A run of word characters and apostrophes holding an apostrophe: what a contraction is.
_APOSTROPHE_WORD = re.compile(r"\w*'[\w']*")
_APOSTROPHE_RUN = re.compile(r"(?<![\w'])\w*'[\w']*")
# A sentence ends at `.`, `!` or `?` followed by a space (whitespace is collapsed) or the end.
_SENTENCE_END = re.compile(r"(?<=[.!?]) ")
# A word of the lexicons: a run of letters, digits and `_`, as `\b` reads them.
_WORD = re.compile(r"\w+")
_WORD_AT_BOTH_ENDS = re.compile(r"\w(?:.*\w)?", re.S)
# `$50`, `$25.99`, `$1,299.99`: thousands separated by `,` in groups of three, cents by `.`;
# a `k` or `m` right after means thousands or millions (`$1.5k` is $1,500).
# An amount is taken whole or not at all: one followed by a word character, a `$`, a `,`
# or `.` and a digit (`$1,00`, `$1.299,99`, `$1,2345`, `$1e3`), or one of one to three
# digits alone followed by a space and a group of three (`$1 299,99`: thousands spaced, as
# in French; `$29.99 100 minutes` is $29.99) is malformed, not the digits before where it
# goes wrong; so is one of three decimals without a `k` or `m` (`$1.299`,
# `$12.000`: thousands after a point, as in German or Portuguese, not a tenth of a cent);
# nor is one signed by a `-` starting its word (`-$20`), though the second end of a range
# (`$40-$50`) is an amount.
_DOLLAR_AMOUNT = re.compile(
    r"(?<!(?<![\w.,])-)\$(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?([kKmM]?)(?<!\.\d{3})"
    r"(?![\w$]|[.,]\d|(?:(?<=\$\d)|(?<=\$\d\d)|(?<=\$\d{3}))\s\d{3}(?!\w))"
)
_SCALE = {"k": 1_000, "m": 1_000_000}


def _alternation(entries: Sequence[str]) -> str:
    return "|".join(re.escape(entry) for entry in entries)


@dataclass(frozen=True)
class CallsRules:
    """Lexicons and thresholds of the calls KPIs. Words and phrases are cleaned like the
    transcripts before matching, so `"I'll take it"` configures `i will take it`."""

    conversion_phrases: Sequence[str] = DEFAULT_CONVERSION_PHRASES
    upsell_words: Sequence[str] = DEFAULT_UPSELL_WORDS
    positive_words: Sequence[str] = DEFAULT_POSITIVE_WORDS
    negative_words: Sequence[str] = DEFAULT_NEGATIVE_WORDS
    negations: Sequence[str] = DEFAULT_NEGATIONS
    contractions: Mapping[str, str] = field(default_factory=DEFAULT_CONTRACTIONS.copy)
    # Check thresholds (WARN; the band can also be changed per run from the launchpad).
    conversion_rate_band: tuple[float, float] = (0.05, 0.60)
    max_upsell_without_amount_share: float = 0.25

    def __post_init__(self) -> None:
        for name in ("conversion_phrases", "upsell_words", "positive_words", "negative_words"):
            if not [item for item in getattr(self, name) if item.strip()]:
                raise ValueError(f"CallsRules.{name} must not be empty")
        positive = {self.clean(word) for word in self.positive_words}
        negative = {self.clean(word) for word in self.negative_words}
        negations = {self.clean(word) for word in self.negations}
        if overlap := positive & negative:
            raise ValueError(f"words both positive and negative: {sorted(overlap)}")
        if overlap := (positive | negative) & negations:
            raise ValueError(f"negations are not sentiment words: {sorted(overlap)}")

    # Compiled patterns, built once per rules object (frozen dataclass: cached on first use).
    @cached_property
    def _expansions(self) -> dict[str, str]:
        return {
            _APOSTROPHES.sub("'", key).lower(): value.lower()
            for key, value in self.contractions.items()
        }

    @cached_property
    def _contraction_pattern(self) -> re.Pattern[str]:
        if all(
            _APOSTROPHE_WORD.fullmatch(key) and key[0] != "'" and key[-1] != "'"
            for key in self._expansions
        ):
            # Every key (the defaults' case) is one run of word characters and apostrophes
            # holding an apostrophe inside it, so a key matches only as a whole such run, or
            # one between quotes: finding the runs with an apostrophe and looking them up
            # (then without their quotes) is the same, and about twice as fast as trying
            # every key at every character.
            return _APOSTROPHE_RUN
        keys = sorted(self._expansions, key=len, reverse=True)
        # Quotes around a contraction are kept around its expansion ('I'll take it', she
        # said); a key's own leading or trailing apostrophe is tried first (backtracking).
        return re.compile(
            r"(?<![\w'])('*)(" + "|".join(re.escape(key) for key in keys) + r")('*)(?![\w'])"
        )

    def _expansion(self, match: re.Match[str]) -> str:
        if match.re is not _APOSTROPHE_RUN:
            return match[1] + self._expansions[match[2]] + match[3]
        run = match[0]
        if (expansion := self._expansions.get(run)) is not None:
            return expansion
        # A contraction between quotes: 'I'll take it,' she said.
        inner = run.strip("'")
        if inner == run or (expansion := self._expansions.get(inner)) is None:
            return run
        opening = len(run) - len(run.lstrip("'"))
        return run[:opening] + expansion + run[opening + len(inner) :]

    def clean(self, text: str) -> str:
        """Lower case, contractions expanded, whitespace collapsed (see `clean_text`)."""
        text = _APOSTROPHES.sub("'", text).lower()
        pattern = self._contraction_pattern
        if pattern is _APOSTROPHE_RUN:
            # Each contraction then lies within one whitespace-separated token: only the
            # tokens holding an apostrophe (about one in ten) are searched, not the whole text.
            words: list[str] = []
            for token in text.split():
                if "'" in token:
                    words.extend(pattern.sub(self._expansion, token).split())
                else:
                    words.append(token)
            return " ".join(words)
        text = pattern.sub(self._expansion, text)
        return " ".join(text.split())  # any Unicode whitespace run → one space, ends trimmed

    def _entries(self, words: Sequence[str]) -> list[str]:
        """The configured words or phrases, cleaned, longest first: of two that match at one
        place (`count me in`, `count me in for two`) the longer is found."""
        return sorted({self.clean(word) for word in words if word.strip()}, key=len, reverse=True)

    def _lexicon(self, words: Sequence[str]) -> re.Pattern[str]:
        """Any configured word or phrase, whole, on cleaned text (a word is a run of letters,
        digits and `_`; `-` and `'` separate words, so `add-on` is matched as written)."""
        return re.compile(r"\b(" + _alternation(self._entries(words)) + r")\b")

    @cached_property
    def conversion_pattern(self) -> re.Pattern[str]:
        return self._lexicon(self.conversion_phrases)

    @cached_property
    def upsell_pattern(self) -> re.Pattern[str]:
        return self._lexicon(self.upsell_words)

    @cached_property
    def positive_pattern(self) -> re.Pattern[str]:
        return self._lexicon(self.positive_words)

    @cached_property
    def negative_pattern(self) -> re.Pattern[str]:
        return self._lexicon(self.negative_words)

    @cached_property
    def _one_scan(self) -> re.Pattern[str] | None:
        """The four lexicons in one pattern, a named group each, when one pass over a text
        finds exactly what four passes would; `None` otherwise (see `find_words`).

        One pass skips the text a match covers, so it is exact when no match of one lexicon
        can overlap a match of another: every entry starts and ends with a word character
        (so a match covers whole words of the text) and no word is in two lexicons (two
        overlapping matches would share a word). No upsell entry may hold a sentence end,
        so each upsell match lies in one sentence. The defaults qualify; a configuration
        that does not is still scored, by the four patterns.
        """
        lexicons = {
            "conversion": self._entries(self.conversion_phrases),
            "upsell": self._entries(self.upsell_words),
            "positive": self._entries(self.positive_words),
            "negative": self._entries(self.negative_words),
        }
        lexicon_of_word: dict[str, str] = {}
        for name, entries in lexicons.items():
            for entry in entries:
                if not _WORD_AT_BOTH_ENDS.fullmatch(entry):
                    return None
                if name == "upsell" and _SENTENCE_END.search(entry):
                    return None
                for word in _WORD.findall(entry):
                    if lexicon_of_word.setdefault(word, name) != name:
                        return None
        groups = "|".join(
            f"(?P<{name}>{_alternation(entries)})" for name, entries in lexicons.items()
        )
        return re.compile(rf"\b(?:{groups})\b")

    def find_words(self, cleaned: str) -> LexiconHits:
        """The configured words and phrases in a cleaned text: the conversion phrase found
        first, where each upsell word starts, and how many sentiment words there are."""
        scan = self._one_scan
        if scan is None:
            conversion = self.conversion_pattern.search(cleaned)
            return LexiconHits(
                conversion[1] if conversion else None,
                [match.start() for match in self.upsell_pattern.finditer(cleaned)],
                len(self.positive_pattern.findall(cleaned)),
                len(self.negative_pattern.findall(cleaned)),
            )
        conversion, upsell, positive, negative = None, [], 0, 0
        for match in scan.finditer(cleaned):
            kind = match.lastgroup
            if kind == "positive":
                positive += 1
            elif kind == "negative":
                negative += 1
            elif kind == "upsell":
                upsell.append(match.start())
            elif conversion is None:
                conversion = match[0]
        return LexiconHits(conversion, upsell, positive, negative)

    def upsell_sentences(self, cleaned: str, hits: LexiconHits) -> list[str]:
        """The sentences of a cleaned text that hold an upsell word, in order."""
        if not hits.upsell_starts:
            return []
        if self._one_scan is None:
            # An upsell entry may span sentences here: search each sentence on its own.
            return [s for s in split_sentences(cleaned) if self.upsell_pattern.search(s)]
        # Sentence k runs from starts[k] to the space before starts[k + 1].
        starts = [0, *(match.end() for match in _SENTENCE_END.finditer(cleaned))]
        ends = [start - 1 for start in starts[1:]] + [len(cleaned)]
        holding = sorted({bisect_right(starts, start) - 1 for start in hits.upsell_starts})
        return [cleaned[starts[k] : ends[k]] for k in holding]


@dataclass(frozen=True)
class LexiconHits:
    conversion: str | None  # the configured phrase found first
    upsell_starts: list[int]  # where each upsell word starts
    positive: int
    negative: int


DEFAULT_RULES = CallsRules()


# --------------------------------------------------------------------------- text rules


def clean_text(text: str, rules: CallsRules = DEFAULT_RULES) -> str:
    """The contract's cleaned text: lower case, contractions expanded, whitespace collapsed.

    Apostrophe look-alikes (`’`) become `'` first, so `I’ll` expands like `I'll`.
    """
    return rules.clean(text)


def split_sentences(cleaned: str) -> list[str]:
    """Sentences of a cleaned text: each ends at `.`, `!` or `?` followed by a space or the
    end, so the `.` inside `$1,299.99` does not split."""
    return [sentence for sentence in _SENTENCE_END.split(cleaned) if sentence]


def dollar_amounts(sentence: str) -> list[float]:
    """Every dollar amount of a sentence: `$50` → 50.0, `$1,299.99` → 1299.99, `$1.5k` →
    1500.0."""
    return [
        _amount(whole.replace(",", "") + cents, scale)
        for whole, cents, scale in _DOLLAR_AMOUNT.findall(sentence)
    ]


def _amount(number: str, scale: str) -> float:
    if not scale:
        return float(number)
    # Scaled in decimal, then made a float: `$1.1k` is 1100.0, not 1.1 × 1000 in binary
    # floating point (1100.0000000000002).
    return float(Decimal(number) * _SCALE[scale.lower()])


def _total(amounts: Sequence[float]) -> float:
    """The amounts' sum, correctly rounded on every Python (fsum), where sum() adds floats
    one by one on 3.11 and compensated from 3.12 ($99 + $29.99 + $39.99 gave
    168.98000000000002 on 3.11). A sum past the largest float is infinity, as sum() gave it
    (silver quarantines a call above a trillion): fsum raises on it, and failed the day."""
    try:
        return math.fsum(amounts)
    except OverflowError:  # two amounts of 308 digits: each a float, their sum none
        return math.inf


@dataclass(frozen=True)
class CallFeatures:
    """What the KPIs need from one transcript. Nothing here repeats the transcript's words
    beyond the configured phrase that matched."""

    converted: bool
    conversion_phrase: str | None  # the configured phrase found first in the text
    upsell_sentence_count: int  # sentences holding an upsell word
    upsell_amount_count: int  # dollar amounts in those sentences
    upsell_amount: float  # their sum, 0.0 when there is none
    upsell_without_amount: bool  # an upsell word was said, but no amount could be parsed
    positive_word_count: int
    negative_word_count: int
    sentiment: str
    sentiment_score: float


def sentiment_of(positive: int, negative: int) -> tuple[str, float]:
    """(`sentiment`, `sentiment_score`) from word counts; the score is 0 when both are 0."""
    total = positive + negative
    score = (positive - negative) / total if total else 0.0
    if positive > negative:
        return "positive", score
    if negative > positive:
        return "negative", score
    return "neutral", score


def call_features(text: str, rules: CallsRules = DEFAULT_RULES) -> CallFeatures:
    """Score one raw transcript by the contract's rules (section 4.2)."""
    cleaned = rules.clean(text)
    hits = rules.find_words(cleaned)
    # A sentence's edges border a space or the text's ends, where `\b` reads the same, so a
    # word found in a sentence is found in the whole text too: without one in the text (about
    # half the calls), no sentence needs splitting out.
    upsell_sentences = rules.upsell_sentences(cleaned, hits)
    amounts = [amount for sentence in upsell_sentences for amount in dollar_amounts(sentence)]
    positive, negative = hits.positive, hits.negative
    sentiment, score = sentiment_of(positive, negative)
    return CallFeatures(
        converted=hits.conversion is not None,
        conversion_phrase=hits.conversion,
        upsell_sentence_count=len(upsell_sentences),
        upsell_amount_count=len(amounts),
        upsell_amount=_total(amounts),
        upsell_without_amount=bool(upsell_sentences) and not amounts,
        positive_word_count=positive,
        negative_word_count=negative,
        sentiment=sentiment,
        sentiment_score=score,
    )
