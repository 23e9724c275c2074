"""The CRM business rules (contract section 4.1), as pure functions with no Dagster.

The rules run as DuckDB SQL because a CRM day is ~200k interactions with long e-mail
bodies; each function here returns a SQL expression or query over named inputs. Unit
tests evaluate the very same SQL on hand-worked rows, so there is one implementation.

Configuration lives in `CrmRules` (lexicons, thresholds) with the contract's defaults. Here
are the row rules (noise, direction, threads, friction); the tables' SQL is in
`silver_rules`, `gold_rules` and `company_rules`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cx_assets.lakehouse import sql
from cx_assets.lakehouse.privacy import (
    keyed_hash_sql,
)

LOCAL_TIMEZONE = "America/Sao_Paulo"
INBOUND_TITLE = "E-mail recebido."
OUTBOUND_TITLE = "E-mail enviado."

DEFAULT_FRICTION_LEXICON: Mapping[str, Sequence[str]] = {
    "urgency": ("urgente", "prioridade", "asap", "pra ontem", "grave", "emergência"),
    "failure": ("erro", "problema", "falha", "não funciona", "reclamação", "defeito"),
    "escalation": ("gerente", "diretor", "supervisor", "advogado", "presidente", "ceo"),
}
READ_RECEIPT_PREFIXES = ("lida:", "read:")
DELIVERY_RECEIPT_PREFIXES = ("entregue:", "delivered:")
DELIVERY_RECEIPT_PHRASE = "sua mensagem foi entregue"
MASS_EMAIL_MIN_RECIPIENTS = 4
REPLY_PREFIXES = ("re", "res", "fw", "fwd", "enc")


DEFAULT_CHURN_WEIGHTS = {"recency": 0.35, "trend": 0.20, "friction": 0.30, "lost_deals": 0.15}


@dataclass(frozen=True)
class CrmRules:
    friction_lexicon: Mapping[str, Sequence[str]] = field(
        default_factory=DEFAULT_FRICTION_LEXICON.copy
    )
    mass_email_min_recipients: int = MASS_EMAIL_MIN_RECIPIENTS
    # Churn risk (see docs/crm.md): weights sum to 1; bands on the 0-100 score.
    churn_silence_days_for_full_risk: float = 90.0
    churn_trend_window_days: int = 30
    churn_weights: Mapping[str, float] = field(default_factory=DEFAULT_CHURN_WEIGHTS.copy)
    churn_medium_from: float = 30.0
    churn_high_from: float = 60.0
    engagement_window_days: int = 90
    # Check bands.
    noise_ratio_band: tuple[float, float] = (0.20, 0.50)
    min_resolved_linkage_share: float = 0.80

    def __post_init__(self) -> None:
        # The churn settings are checked when they are built: weights over 1 gave scores
        # above 100 (crm_churn_risk then failed its schema mid-run), a missing one a KeyError.
        weights = dict(self.churn_weights)
        if set(weights) != set(DEFAULT_CHURN_WEIGHTS):
            raise ValueError(
                f"CrmRules.churn_weights must weigh exactly {sorted(DEFAULT_CHURN_WEIGHTS)}: "
                f"{sorted(weights)}"
            )
        if not all(math.isfinite(w) and w >= 0 for w in weights.values()):
            raise ValueError(f"CrmRules.churn_weights must be finite and >= 0: {weights}")
        if abs(sum(weights.values()) - 1) > 1e-9:
            raise ValueError(
                f"CrmRules.churn_weights must sum to 1 (a 0-100 score): {sum(weights.values())}"
            )
        if not 0 <= self.churn_medium_from <= self.churn_high_from <= 100:
            raise ValueError(
                "CrmRules bands must be 0 <= churn_medium_from <= churn_high_from <= 100: "
                f"{self.churn_medium_from}, {self.churn_high_from}"
            )
        silence = self.churn_silence_days_for_full_risk
        if not (math.isfinite(silence) and silence > 0):
            raise ValueError(
                f"CrmRules.churn_silence_days_for_full_risk must be finite and > 0: {silence}"
            )
        if self.churn_trend_window_days < 1:
            raise ValueError(
                f"CrmRules.churn_trend_window_days must be 1 or more: {self.churn_trend_window_days}"
            )


DEFAULT_RULES = CrmRules()


# Letters DuckDB's `lower()` turns into a lexicon letter that RE2's case-insensitive match
# does not fold to it: `lower('İ')` is `i`, which `(?i)i` does not match. The only one among
# every code point (`test_rules` checks them all).
_LOWERED_BUT_NOT_FOLDED = {"i": "İ"}
# Not a letter, digit or underscore, in any script: RE2's \b only knows ASCII, so it would
# see a boundary inside "problemático" and none before "érro".
_WORD_EDGE = r"[^\pL\pN_]"
# Whitespace between a phrase's words: every code point Python's `str.isspace` knows. RE2's
# \s is ASCII's five, and e-mail bodies carry no-break spaces (`&nbsp;`) and other
# separators (`\pZ`) between words.
_WHITESPACE = r"[\s\pZ\x{0B}\x{1C}-\x{1F}\x{85}]"


def fold(text: str) -> str:
    """Lower case without accents."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def lexicon_pattern(words: Sequence[str], *, any_case: bool = False) -> str:
    """An RE2 pattern for lower-cased text matching any of `words` whole, accent-insensitively.

    Each letter becomes the class of its accented variants (`emergência` →
    `[eèéêë]m[eèéêë]rg…`), so the text needs only `lower()`: folding accents out of a day
    of e-mail bodies with `strip_accents` costs ~8x more. Text in decomposed form is
    matched once its combining marks are gone (`without_combining_marks_sql`). A phrase's
    words may be separated by any whitespace.

    `any_case`: for text not lower-cased, matching wherever the lower-cased text would (and
    a little more: RE2 also folds `ſ` to `s`): fit to screen texts before lowering them.
    """

    def letter(char: str) -> str:
        variants = sql.ACCENT_VARIANTS.get(char, char)
        if any_case:
            variants += "".join(_LOWERED_BUT_NOT_FOLDED.get(variant, "") for variant in variants)
        return f"[{variants}]" if len(variants) > 1 else re.escape(char)

    alternatives = [
        f"{_WHITESPACE}+".join(
            "".join(letter(char) for char in part) for part in fold(word).split()
        )
        for word in words
    ]
    pattern = f"(^|{_WORD_EDGE})(" + "|".join(alternatives) + f")($|{_WORD_EDGE})"
    return f"(?i){pattern}" if any_case else pattern


# --------------------------------------------------------------------------- row rules


def recipient_count_sql(recipients: str) -> str:
    """Non-empty trimmed addresses in a `;`-separated list."""
    return (
        f"len([address FOR address IN string_split(coalesce({recipients}, ''), ';') "
        f"IF {sql.has_text('address')}])"
    )


def noise_reason_sql(
    subject: str, title: str, content: str, recipient_count: str, rules: CrmRules = DEFAULT_RULES
) -> str:
    """First matching noise rule, in the contract's order, or NULL. `recipient_count` is the
    record's `recipient_count_sql`, which silver keeps as a column too: counted once."""
    lowered_subject = "lower(" + sql.lstripped(f"coalesce({subject}, '')") + ")"

    def starts_with_any(prefixes: Sequence[str]) -> str:
        return " OR ".join(
            f"starts_with({lowered_subject}, {sql.string_literal(p)})" for p in prefixes
        )

    return f"""CASE
        WHEN {starts_with_any(READ_RECEIPT_PREFIXES)} THEN 'read_receipt'
        WHEN {starts_with_any(DELIVERY_RECEIPT_PREFIXES)}
          OR (coalesce({title}, '') = {sql.string_literal(INBOUND_TITLE)}
              AND contains(lower(coalesce({content}, '')),
                           {sql.string_literal(DELIVERY_RECEIPT_PHRASE)}))
          THEN 'delivery_receipt'
        WHEN {recipient_count} >= {int(rules.mass_email_min_recipients)}
          THEN 'mass_email'
    END"""


def direction_sql(title: str) -> str:
    return (
        f"CASE {title} WHEN {sql.string_literal(INBOUND_TITLE)} THEN 'inbound' "
        f"WHEN {sql.string_literal(OUTBOUND_TITLE)} THEN 'outbound' END"
    )


def thread_subject_sql(subject: str) -> str:
    """The subject without leading reply/forward prefixes (any case, repeated), trimmed and
    lower-cased; NULL when nothing is left. Whitespace around a prefix is any the trim
    takes (`sql.WHITESPACE_CLASS_BODY`), not RE2's ASCII `\\s`: French clients write
    `RE\\u00a0:` with a no-break space."""
    prefixes = "|".join(REPLY_PREFIXES)
    space = f"[{sql.WHITESPACE_CLASS_BODY}]*"
    stripped = (
        f"regexp_replace(coalesce({subject}, ''), '^({space}({prefixes}){space}:)+', '', 'i')"
    )
    return f"nullif(lower({sql.stripped(stripped)}), '')"


def thread_subject_key_sql(subject: str) -> str:
    """The thread's key: a keyed hash of the subject as `thread_subject_sql` reads it, so
    replies share it and the subject itself is not kept. The subject is hashed as written:
    the hash is keyed, so the names, addresses and numbers a subject may hold cannot be
    found again by hashing candidates (contract section 5), and masking them first made
    `Pedido 123456789` and `Pedido 987654321` one thread."""
    return keyed_hash_sql(thread_subject_sql(subject))


# Between fields of the searchable text: a word edge that is not whitespace, so a phrase
# (its words joined by whitespace) is never matched across two fields ("Ligar pra" as the
# title, "ontem sem falta" as the subject).
FIELD_SEPARATOR = " | "


def joined_text_sql(*columns: str) -> str:
    """Title, subject and content as one text, for the friction lexicon to search."""
    joined = ", ".join(f"coalesce({column}, '')" for column in columns)
    return f"concat_ws({sql.string_literal(FIELD_SEPARATOR)}, {joined})"


def without_combining_marks_sql(text: str) -> str:
    """`text` (a column: it is named three times) without combining marks, so a decomposed
    accent (`e` + U+0302) reads as its base letter, which the lexicon's accent classes
    match. Only texts holding a mark are rewritten: NFC-normalizing every e-mail body cost
    ~15x `lower()`, and decomposed text is rare."""
    return (
        f"CASE WHEN regexp_matches({text}, '\\pM') "
        f"THEN regexp_replace({text}, '\\pM', '', 'g') ELSE {text} END"
    )


def friction_flag_sql(category: str, text: str, rules: CrmRules = DEFAULT_RULES) -> str:
    pattern = lexicon_pattern(rules.friction_lexicon[category])
    return f"CAST(regexp_matches({text}, {sql.string_literal(pattern)}) AS INTEGER)"


def any_friction_sql(text: str, rules: CrmRules = DEFAULT_RULES) -> str:
    words = [word for words in rules.friction_lexicon.values() for word in words]
    return f"regexp_matches({text}, {sql.string_literal(lexicon_pattern(words))})"


def friction_or_mark_sql(text: str, rules: CrmRules = DEFAULT_RULES) -> str:
    """Whether `text` (in any case) may hold a friction word: it holds one, or a combining
    mark that may hide one (decomposed text matches once its marks are gone). One scan of
    every text answers both, before lowering it: only those it keeps (about a fifth) are
    lower-cased and looked at again (lowering every e-mail body cost as much as the scan)."""
    words = [word for words in rules.friction_lexicon.values() for word in words]
    pattern = lexicon_pattern(words, any_case=True) + r"|\pM"
    return f"regexp_matches({text}, {sql.string_literal(pattern)})"


# ------------------------------------------- whole-history tables: the latest contact version


def with_current_company_sql(interactions: str, current_contacts: str) -> str:
    """Interactions with the company resolved through the latest version of each contact:
    whole-history tables are computed as of the latest materialized date (contract 4.1), so
    a person delivered after their interaction, or who moved company, counts for the company
    they have now. Per-day tables keep silver's resolution as of the interaction's day."""
    return f"""(
        SELECT i.* REPLACE (
            CASE c.contact_type WHEN 'company' THEN i.contact_id
                                WHEN 'person' THEN c.company_id END AS company_id)
        FROM {interactions} AS i LEFT JOIN {current_contacts} AS c USING (contact_id)
    )"""
