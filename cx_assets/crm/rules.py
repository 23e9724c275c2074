"""The CRM business rules (contract section 4.1), as pure functions with no Dagster.

The rules run as DuckDB SQL because a CRM day is ~200k interactions with long e-mail
bodies; each function here returns a SQL expression or query over named inputs. Unit
tests evaluate the very same SQL on hand-worked rows, so there is one implementation.

Configuration lives in `CrmRules` (lexicons, thresholds) with the contract's defaults.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

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
    lower-cased; NULL when nothing is left."""
    prefixes = "|".join(REPLY_PREFIXES)
    stripped = f"regexp_replace(coalesce({subject}, ''), '^(\\s*({prefixes})\\s*:)+', '', 'i')"
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


# --------------------------------------------------------------------------- silver


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


# --------------------------------------------------------------------------- gold, per day

NOISE_CATEGORY_SQL = {
    "read_receipt": "count(*) FILTER (WHERE noise_reason = 'read_receipt')",
    "delivery_receipt": "count(*) FILTER (WHERE noise_reason = 'delivery_receipt')",
    "mass_email": "count(*) FILTER (WHERE noise_reason = 'mass_email')",
    "noise_total": "count(*) FILTER (WHERE is_noise)",
    "valid": "count(*) FILTER (WHERE NOT is_noise)",
}


def noise_summary_sql(interactions: str, days: Sequence[date]) -> str:
    """Five rows a day, empty days included (counts 0, pct null)."""
    counts = ",\n".join(
        f"{expr.replace('count(*)', 'count(i.date)')} AS {name}"
        for name, expr in NOISE_CATEGORY_SQL.items()
    )
    return f"""
    WITH per_day AS (
        SELECT d.date, count(i.date) AS total, {counts}
        FROM {sql.days_relation(days)} AS d LEFT JOIN {interactions} AS i ON i.date = d.date
        GROUP BY d.date
    )
    SELECT date, category, count, 100.0 * count / nullif(total, 0) AS pct
    FROM per_day
    UNPIVOT (count FOR category IN ({", ".join(NOISE_CATEGORY_SQL)}))
    ORDER BY date, category
    """


def friction_heuristics_sql(interactions: str) -> str:
    return f"""
    SELECT date, interaction_id, occurred_at, owner_id, company_id,
           urgency_flag AS urgency_score, failure_flag AS failure_score,
           escalation_flag AS escalation_score,
           urgency_flag + failure_flag + escalation_flag AS friction_score
    FROM {interactions}
    WHERE is_friction
    ORDER BY date, occurred_at, interaction_id
    """


def contact_linkage_sql(interactions: str, days: Sequence[date]) -> str:
    return f"""
    WITH per_day AS (
        SELECT d.date, count(i.date) AS total,
               count(i.date) FILTER (WHERE i.linkage = 'direct') AS direct_count,
               count(i.date) FILTER (WHERE i.linkage = 'via_person') AS via_person_count,
               count(i.date) FILTER (WHERE i.linkage = 'unresolved') AS unresolved_count
        FROM {sql.days_relation(days)} AS d LEFT JOIN {interactions} AS i ON i.date = d.date
        GROUP BY d.date
    )
    SELECT date, direct_count, via_person_count, unresolved_count,
           direct_count / nullif(total, 0) AS direct_share,
           via_person_count / nullif(total, 0) AS via_person_share,
           unresolved_count / nullif(total, 0) AS unresolved_share
    FROM per_day ORDER BY date
    """


# --------------------------------------------------------------------------- gold, whole history


def as_of_day_sql(interactions: str, latest_day: date | None = None) -> str:
    """Whole-history tables are computed as of the latest materialized day (`latest_day`,
    a day without files included: silence grows through an outage), never the wall clock,
    so a re-run gives the same result; without it, the latest day with interactions."""
    latest_with_rows = f"(SELECT max(date) FROM {interactions})"
    if latest_day is None:
        return latest_with_rows
    return f"greatest({sql.date_literal(latest_day)}, {latest_with_rows})"


def end_of_local_day_sql(day: str) -> str:
    """The instant a CRM day ends: midnight after it in America/Sao_Paulo (a CRM day is a
    local day; UTC midnight would end it three hours early)."""
    return f"timezone('{LOCAL_TIMEZONE}', CAST({day} + INTERVAL 1 DAY AS TIMESTAMP))"


def cx_volumetrics_sql(interactions: str, current_deals: str) -> str:
    return f"""
    WITH valid AS (
        SELECT * FROM {interactions} WHERE NOT is_noise AND company_id IS NOT NULL
    ),
    pairs AS (
        SELECT owner_id, company_id, count(*) AS total_interactions,
               min(occurred_at) AS first_interaction_at, max(occurred_at) AS last_interaction_at
        FROM valid GROUP BY owner_id, company_id
    ),
    email_sequence AS (
        SELECT owner_id, company_id, thread_subject_key, direction,
               lag(direction) OVER (
                   PARTITION BY owner_id, company_id, thread_subject_key
                   ORDER BY occurred_at, interaction_id) AS previous_direction
        FROM valid
        WHERE direction IS NOT NULL AND thread_subject_key IS NOT NULL
    ),
    threads AS (
        SELECT owner_id, company_id, thread_subject_key,
               count(*) FILTER (WHERE direction <> previous_direction) AS direction_changes
        FROM email_sequence GROUP BY ALL
    ),
    long_threads AS (
        SELECT owner_id, company_id, count(*) AS long_thread_count
        FROM threads WHERE direction_changes >= 3 GROUP BY ALL
    ),
    deal_value AS (
        SELECT company_id, {sql.float_sum("amount")} AS deal_amount
        FROM {current_deals} GROUP BY company_id
    )
    SELECT p.owner_id, p.company_id, p.total_interactions,
           p.first_interaction_at, p.last_interaction_at,
           p.total_interactions / greatest(
               1.0, (epoch(p.last_interaction_at) - epoch(p.first_interaction_at)) / 86400.0 / 7.0
           ) AS interaction_velocity,
           avg(p.total_interactions) OVER (PARTITION BY p.owner_id) AS manager_load,
           p.total_interactions / nullif(d.deal_amount, 0) AS neediness_ratio,
           coalesce(t.long_thread_count, 0) AS long_thread_count
    FROM pairs p
    LEFT JOIN deal_value d USING (company_id)
    LEFT JOIN long_threads t USING (owner_id, company_id)
    ORDER BY p.owner_id, p.company_id
    """


def temporal_heat_sql(interactions: str) -> str:
    return f"""
    WITH valid AS (
        SELECT timezone('{LOCAL_TIMEZONE}', occurred_at) AS local_time, is_friction
        FROM {interactions} WHERE NOT is_noise
    ),
    slots AS (
        SELECT isodow(local_time) - 1 AS day_of_week, hour(local_time) AS hour,
               count(*) AS interaction_count,
               count(*) FILTER (WHERE is_friction) AS friction_count
        FROM valid GROUP BY ALL
    ),
    grid AS (
        SELECT day_of_week, hour FROM range(7) AS d(day_of_week) CROSS JOIN range(24) AS h(hour)
    )
    SELECT g.day_of_week, g.hour,
           coalesce(s.interaction_count, 0) AS interaction_count,
           coalesce(s.friction_count, 0) AS friction_count,
           CASE WHEN g.day_of_week = 4 AND g.hour >= 14
                THEN coalesce(s.friction_count, 0) ELSE 0 END AS friday_afternoon_friction_count
    FROM grid g LEFT JOIN slots s USING (day_of_week, hour)
    ORDER BY g.day_of_week, g.hour
    """


def sales_velocity_sql(current_deals: str, current_users: str) -> str:
    return f"""
    WITH managers AS (
        SELECT owner_id FROM {current_deals}
        UNION SELECT user_id AS owner_id FROM {current_users}
    ),
    per_manager AS (
        SELECT m.owner_id,
               count(d.deal_id) FILTER (WHERE d.status = 'open') AS open_deals,
               count(d.deal_id) FILTER (WHERE d.status = 'won') AS won,
               count(d.deal_id) FILTER (WHERE d.status = 'lost') AS lost,
               {sql.float_avg("d.amount")} FILTER (WHERE d.status = 'won') AS avg_won_amount,
               {sql.float_avg("(epoch(d.finished_at) - epoch(d.created_at)) / 86400.0")}
                   FILTER (WHERE d.status = 'won' AND d.finished_at IS NOT NULL) AS avg_cycle_days
        FROM managers m LEFT JOIN {current_deals} d ON d.owner_id = m.owner_id
        GROUP BY m.owner_id
    )
    SELECT owner_id, open_deals,
           won / nullif(won + lost, 0) AS win_rate,
           avg_won_amount, avg_cycle_days,
           open_deals * (won / nullif(won + lost, 0)) * avg_won_amount
               / nullif(avg_cycle_days, 0) AS velocity_per_day
    FROM per_manager ORDER BY owner_id
    """
