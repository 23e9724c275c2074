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
    mask_contacts_sql,
    mask_names_sql,
    name_variants_sql,
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


def person_names_sql(contacts: str) -> str:
    """What to mask of each person contact's name (see `name_variants_sql`), over every
    version delivered in `contacts` (bronze contact records), by the contact whose texts
    may hold it: `contact_id` (the person, and each company the person was delivered in),
    `person_name`, its first and last words lower-cased without accents (`first_word`,
    `last_word`) and whether it has two words or more (`full_name`), a row each. A title on a company, or on one of its people, may name any of them; so may a
    deal's title."""
    return f"""
        WITH versions AS (
            SELECT DISTINCT
                   TRY_CAST(json_extract_string(raw, '$.Id') AS BIGINT) AS person_id,
                   TRY_CAST(json_extract_string(raw, '$.CompanyId') AS BIGINT) AS company_id,
                   unnest({name_variants_sql("json_extract_string(raw, '$.Name')")})
                       AS person_name
            FROM {contacts}
            WHERE read_error IS NULL AND json_valid(raw)
              AND json_extract_string(raw, '$.TypeId') = '1'
              AND json_extract_string(raw, '$.Name') IS NOT NULL
        ),
        people AS (
            SELECT *,
                   strip_accents(lower(regexp_extract(person_name, '[\\pL\\pN]+')))
                       AS first_word,
                   -- the last word: at the very end (fast), else before trailing signs (a
                   -- pattern ten times slower, over every name variant)
                   strip_accents(lower(CASE
                       WHEN regexp_matches(person_name, '[\\pL\\pN]$')
                       THEN regexp_extract(person_name, '[\\pL\\pN]+$')
                       ELSE regexp_extract(person_name, '([\\pL\\pN]+)[^\\pL\\pN]*$', 1) END))
                       AS last_word,
                   regexp_matches(person_name, '[\\pL\\pN][^\\pL\\pN]+[\\pL\\pN]') AS full_name
            FROM versions
        )
        SELECT person_id AS contact_id, person_name, first_word, last_word, full_name
        FROM people
        UNION ALL
        SELECT DISTINCT company_id, person_name, first_word, last_word, full_name FROM people
        WHERE company_id IS NOT NULL
    """


def names_in_titles_sql(titles: str, person_names: str, also_named: str | None = None) -> str:
    """The names (`person_names_sql`'s rows) each title may hold, for `mask_names_sql`.

    `titles` has `source_file`, `line_number`, `title` and `contact_id`, the contact whose
    names to look for; `also_named` (optional) has `contact_id` and `name_key`: other
    contacts whose names a title on that contact may hold too (a person's companies). A name
    is kept where the title holds its first word as a word, accents aside. Titles repeat
    (`E-mail enviado.`), so each distinct title is split into words once, and only the rows
    of the few titles holding a name's first word are looked at: testing every title
    against every name of its company took a second of a CRM day. A full name (two words
    or more) of anyone is kept too where the title holds its first and last words: contract
    5 keeps every person's name out of silver, whoever the title is on."""
    also = (
        f"SELECT h.source_file, h.line_number, h.title, a.name_key "
        f"FROM holding AS h JOIN {also_named} AS a USING (contact_id)"
        if also_named
        else "SELECT source_file, line_number, title, name_key FROM holding WHERE FALSE"
    )
    return f"""
        WITH words AS (
            SELECT DISTINCT title,
                   unnest(regexp_split_to_array(strip_accents(lower(title)), '[^\\pL\\pN]+'))
                       AS word
            FROM (SELECT DISTINCT title FROM {titles})
        ),
        candidates AS (
            SELECT w.title, n.contact_id AS name_key, n.person_name
            FROM words AS w JOIN {person_names} AS n ON n.first_word = w.word
        ),
        holding AS (
            SELECT source_file, line_number, title, contact_id AS name_key, contact_id
            FROM {titles} WHERE title IN (SELECT title FROM candidates)
        ),
        keyed AS (
            SELECT source_file, line_number, title, name_key FROM holding
            UNION ALL {also}
        ),
        -- Anyone's full name (two words or more) whose first and last words are both
        -- words of the title: a person of another company, or of none, named in full.
        named_in_full AS (
            SELECT DISTINCT f.title, n.person_name
            FROM words AS f
            JOIN {person_names} AS n ON n.first_word = f.word AND n.full_name
            JOIN words AS l ON l.title = f.title AND l.word = n.last_word
        )
        SELECT source_file, line_number, list(DISTINCT person_name) AS names
        FROM (
            SELECT k.source_file, k.line_number, c.person_name
            FROM keyed AS k
            JOIN candidates AS c ON c.title = k.title AND c.name_key = k.name_key
            UNION ALL
            SELECT t.source_file, t.line_number, n.person_name
            FROM {titles} AS t JOIN named_in_full AS n USING (title)
        )
        GROUP BY ALL
    """


def _known_names_sql(person_names: str | None) -> str:
    """The rows of `person_names` (a table or view of `person_names_sql`'s), or none."""
    if person_names is None:
        return (
            "SELECT NULL::BIGINT AS contact_id, NULL AS person_name, NULL AS first_word, "
            "NULL AS last_word, NULL::BOOLEAN AS full_name WHERE FALSE"
        )
    return f"SELECT contact_id, person_name, first_word, last_word, full_name FROM {person_names}"


def silver_deals_sql(typed: str, person_names: str | None = None) -> str:
    """Silver deal versions from the good typed records of `typed`: the status by name, a
    status the contract does not know quarantined, and the title with e-mails and phone
    numbers masked, and the names of the deal company's people (`person_names`, a table or
    view of `person_names_sql`'s rows; None: none)."""
    return f"""
    WITH known_names AS ({_known_names_sql(person_names)}),
    titled AS (
        SELECT source_file, line_number, title, company_id AS contact_id
        FROM {typed} WHERE reject_reason IS NULL AND title IS NOT NULL
    ),
    title_names AS ({names_in_titles_sql("titled", "known_names")})
    SELECT d.date, d.source_file, d.line_number, d.deal_id, d.company_id, d.owner_id,
           CASE WHEN p.names IS NULL THEN {mask_contacts_sql("d.title")}
                ELSE {mask_names_sql(mask_contacts_sql("d.title"), "p.names")} END AS title,
           d.amount, d.stage_id,
           CASE d.status_id WHEN 1 THEN 'open' WHEN 2 THEN 'won' WHEN 3 THEN 'lost' END
               AS status,
           d.created_at, d.finished_at,
           CASE WHEN d.status_id NOT IN (1, 2, 3)
                THEN 'field "StatusId" is not 1 (open), 2 (won) or 3 (lost)' END
               AS reject_reason
    FROM {typed} AS d LEFT JOIN title_names AS p USING (source_file, line_number)
    WHERE d.reject_reason IS NULL
    """


def silver_interactions_sql(
    typed: str,
    contact_versions: str,
    last_day: date | None,
    rules: CrmRules = DEFAULT_RULES,
    person_names: str | None = None,
) -> str:
    """Silver interactions from the good typed records of `typed`.

    The company is resolved as of the interaction's day: the latest version of its contact
    delivered on or before that day (ASOF join). Noise is decided first; friction words are
    looked for only in valid interactions, and only where one pass over the text finds a
    friction word or a combining mark, case-insensitively on the text as written (one pass
    instead of six for the most, without any: lower-cased, marks removed, any word, then one
    per category). Contact versions
    are read up to `last_day` (the last day being written; None: none are).

    `person_names` (a table or view of `person_names_sql`'s rows; None: none): a title has
    the names of its company's people masked (on a company, any of its people's; on a
    person, theirs and their colleagues'), as well as e-mail addresses and phone numbers.
    """
    through = "NULL::DATE" if last_day is None else sql.date_literal(last_day)
    joined = joined_text_sql("title", "email_subject", "content")
    flags = ",\n".join(
        f"CASE WHEN has_friction THEN {friction_flag_sql(category, 'searchable', rules)} ELSE 0 END "
        f"AS {category}_flag"
        for category in ("urgency", "failure", "escalation")
    )
    return f"""
    WITH counted AS (
        SELECT *, {recipient_count_sql("email_recipients")} AS recipient_count
        FROM {typed} WHERE reject_reason IS NULL
    ),
    good AS (
        SELECT *,
               {noise_reason_sql("email_subject", "title", "content", "recipient_count", rules)}
                   AS noise_reason
        FROM counted
    ),
    joined AS (
        SELECT *,
               noise_reason IS NOT NULL AS is_noise,
               CASE WHEN noise_reason IS NULL THEN {joined} END AS joined_text
        FROM good
    ),
    screened AS (
        SELECT *, coalesce({friction_or_mark_sql("joined_text", rules)}, FALSE) AS maybe_friction
        FROM joined
    ),
    lowered AS (
        SELECT * EXCLUDE (joined_text),
               CASE WHEN maybe_friction THEN lower(joined_text) END AS lowered_text
        FROM screened
    ),
    scored AS (
        SELECT * EXCLUDE (lowered_text),
               CASE WHEN maybe_friction THEN {without_combining_marks_sql("lowered_text")} END
                   AS searchable
        FROM lowered
    ),
    flagged AS (
        SELECT *,
               maybe_friction AND coalesce({any_friction_sql("searchable", rules)}, FALSE)
                   AS has_friction
        FROM scored
    ),
    contact_day AS (
        -- one version per contact and day: the last delivered (by file, then line)
        SELECT date AS version_date, contact_id, contact_type, company_id AS person_company_id
        FROM {contact_versions}
        WHERE date <= {through}
        QUALIFY row_number() OVER (
            PARTITION BY contact_id, date ORDER BY source_file DESC, line_number DESC) = 1
    ),
    known_names AS ({_known_names_sql(person_names)}),
    -- Whose names a title may hold: its contact's, and for a person's title, those of the
    -- companies the person was in (every version up to the last day).
    titled AS (
        SELECT source_file, line_number, title, contact_id
        FROM {typed} WHERE reject_reason IS NULL AND title IS NOT NULL
    ),
    person_companies AS (
        SELECT DISTINCT contact_id, company_id AS name_key FROM {contact_versions}
        WHERE date <= {through} AND contact_type = 'person' AND company_id IS NOT NULL
    ),
    title_names AS ({names_in_titles_sql("titled", "known_names", "person_companies")})
    SELECT i.date, i.source_file, i.line_number,
           i.interaction_id, i.contact_id, i.owner_id, i.occurred_at, i.type_id,
           CASE WHEN p.names IS NULL THEN {mask_contacts_sql("i.title")}
                ELSE {mask_names_sql(mask_contacts_sql("i.title"), "p.names")} END AS title,
           i.deal_id,
           i.recipient_count,
           {direction_sql("i.title")} AS direction,
           {thread_subject_key_sql("i.email_subject")} AS thread_subject_key,
           i.noise_reason, i.is_noise,
           {flags},
           i.has_friction AS is_friction,
           CASE c.contact_type WHEN 'company' THEN i.contact_id
                               WHEN 'person' THEN c.person_company_id END AS company_id,
           CASE WHEN c.contact_type = 'company' THEN 'direct'
                WHEN c.contact_type = 'person' AND c.person_company_id IS NOT NULL THEN 'via_person'
                ELSE 'unresolved' END AS linkage
    FROM flagged AS i
    ASOF LEFT JOIN contact_day AS c
      ON i.contact_id = c.contact_id AND i.date >= c.version_date
    LEFT JOIN title_names AS p USING (source_file, line_number)
    ORDER BY i.date, i.source_file, i.line_number
    """


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
