"""Personal data outside bronze (contract section 5): keyed hashes and masked free text.

- `keyed_hash`: HMAC-SHA256 of a normalised personal value (an e-mail lower-cased, a phone
  number's digits), keyed with a secret from `CX_HASH_KEY`. A plain SHA-256 of an e-mail or
  a phone number can be reversed by hashing every plausible value; without the key it
  cannot. The same value always gives the same hash under one key, so hashes still join.
  The default key is for local use only and is documented as such: set `CX_HASH_KEY` in
  any shared environment (changing it changes every hash).
- The hashes are computed in Python (`hashlib`/`hmac`), so the key never appears in query
  text, plans or error messages. A value only SQL has (a CRM thread's subject) is
  hashed by `keyed_hash_sql`, SHA-256 of the key and the value, with the key bound as a
  variable of the session that runs that query (`bind_hash_key_for`), not written into it.
- `mask_contacts_sql`: free text (subjects, descriptions) with e-mail addresses and phone
  numbers replaced by `[email]` and `[phone]`, in SQL; `MaskedLabels` the same for label
  columns (and lists of labels, item by item), once per distinct value.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow
import pyarrow.compute as pc

from cx_assets.lakehouse import sql
from cx_assets.lakehouse.settings import HASH_KEY_ENV
from cx_assets.lakehouse.sql import string_literal

if TYPE_CHECKING:  # a file's name is shown where DuckDB is not imported (`early_bronze`)
    import duckdb

# For local development and tests only; documented in docs/architecture.md.
DEFAULT_HASH_KEY = "cx-lakehouse-local-only-not-secret"

# The session variable holding the key for `keyed_hash_sql`, and how its SQL reads it.
HASH_KEY_VARIABLE = "cx_hash_key"
_KEY_READ = f"getvariable('{HASH_KEY_VARIABLE}')"

# Letters of any script: `josé.silva@café.com.br` and `ana@例え.jp` are addresses too. A
# local part may hold any of the symbols RFC 5322 allows unquoted (`joao&maria@…`,
# `o'brien@…`), or be quoted (`"ana souza"@…`): masking a symbol too many before an address
# loses nothing of worth. As people disguise or paste them: a space each side of the `@`, a
# full-width `＠` and `．`, an invisible format character inside (`_INVISIBLE`), the `@`
# URL-encoded (`%40`, in a link's query).
#
# The invisible format characters pasted text holds: a soft hyphen, an Arabic letter mark,
# a Mongolian vowel separator, zero-width spaces and joiners, direction marks, embeddings
# and isolates (text copied from right-to-left text), a word joiner and the invisible
# operators, deprecated format characters, a byte-order mark (a zero-width no-break space
# mid-text). As (first, last) code points, for RE2 (`_INVISIBLE`) and Python's re.
_INVISIBLE_RANGES = (
    (0xAD, 0xAD), (0x61C, 0x61C), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF),
)  # fmt: skip
_INVISIBLE = "".join(
    f"\\x{{{first:X}}}" + (f"-\\x{{{last:X}}}" if last != first else "")
    for first, last in _INVISIBLE_RANGES
)
_INVISIBLE_PY = "".join(
    chr(first) + (f"-{chr(last)}" if last != first else "") for first, last in _INVISIBLE_RANGES
)
# The same as the body of a class of Python's re, for other modules (an id's phone joins).
INVISIBLE_CLASS_BODY = _INVISIBLE_PY
EMAIL_PATTERN = (
    rf"""(?:"[^"\n]{{1,64}}"|[\p{{L}}\p{{N}}{_INVISIBLE}.!#$%&'*+/=?^_`{{|}}~-]+) ?"""
    rf"(?:[@\x{{FF20}}]|%40) ?[\p{{L}}\p{{N}}{_INVISIBLE}.\x{{FF0E}}-]+[.\x{{FF0E}}]\p{{L}}{{2,}}"
)
# A phone number is a run of digit groups (some in brackets), each joined to the next by at
# most one space, dot, dash or slash (or a no-break space or Unicode dash, as pasted text
# has them; a dash may have a space each side), after an optional + or 00 international
# prefix, with at least PHONE_MIN_DIGITS
# digits in all: 555-123-4567, (555) 123-4567, 07700 900123, +33 1 23 45 67 89,
# +81 3-1234-5678, 0044 20 7946 0958. No fixed shape of groups would do: countries group
# their digits in twos, threes, fours and fives. Runs with fewer digits (order numbers,
# amounts, dates) are left alone, and so is a candidate that is wholly a date, with its
# hour after it or not ("2024-03-01 12" has ten digits). A date joined to a phone number
# ("15/01/2024 11 94242-0112") is masked with it: a date lost beats a number kept.
# Digits of any script (full-width `１１`, Arabic-Indic), spaces of any width (zero too), a
# tab, two spaces, or a full-width or small hyphen between groups are as people type and
# paste them; so are a middle dot (`93·412·00·00`, Catalan), a hyphenation point, and
# Japanese input's katakana middle dot and long-vowel mark `ー` typed for a dash
# (`０９０ー１２３４ー５６７８`): each of these, as a dash, may have a space each side. The
# invisible format characters pasting leaves (`_INVISIBLE`: direction marks, as text copied
# from right-to-left text holds them, a word joiner, a soft hyphen) may stand each side of a
# join, or inside a group (`+55\u200e11\u200e97531\u200e8642`, `9753\u20601-8642`). A
# candidate's shapes (a local number, a range of years, a date) are judged as it reads:
# without them, and a zero-width space, a separator too, as a space (`2024-03-01\u200e 12`
# is a date and its hour, `3232\u200b1234` a local number, `3232\u200e1234` eight digits).
DIGIT = r"\p{Nd}"
ZERO_WIDTH_SPACE = "\u200b"
PHONE_SEPARATOR = (
    r"[ \t./\-\x{00A0}\x{00B7}\x{2002}-\x{200B}\x{202F}\x{2010}-\x{2015}\x{2027}\x{2212}"
    r"\x{3000}\x{30FB}\x{30FC}\x{FE63}\x{FF0D}]"
)
PHONE_DASH = r"[\-\x{00B7}\x{2010}-\x{2015}\x{2027}\x{2212}\x{30FB}\x{30FC}\x{FE63}\x{FF0D}]"
PHONE_JOIN = rf"( {PHONE_DASH} |[ \t]{{2}}|{PHONE_SEPARATOR})"
_PHONE_INVISIBLE_JOIN = rf"[{_INVISIBLE}]*{PHONE_JOIN}?[{_INVISIBLE}]*"
_PHONE_GROUP = rf"(\([{_INVISIBLE}]*)?{DIGIT}+([{_INVISIBLE}]*\))?"
PHONE_CANDIDATE = (
    rf"(\+[{_INVISIBLE}]*|\b00)?{_PHONE_GROUP}({_PHONE_INVISIBLE_JOIN}{_PHONE_GROUP})*"
)
PHONE_MIN_DIGITS = 9
# A local number of eight digits written in two groups of four (a Brazilian landline,
# `3232-1234`) is one too; eight digits in one run stay (an order number), and so does a
# range of years (`2024-2025`).
LOCAL_PHONE_SHAPE = rf"{DIGIT}{{4}}{PHONE_JOIN}{DIGIT}{{4}}"
YEAR_RANGE_SHAPE = rf"(19|20){DIGIT}{{2}}{PHONE_JOIN}(19|20){DIGIT}{{2}}"
DATE_SHAPE = r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{4})([ T]\d{1,2})?"
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
NAME_MASK = "[name]"
# A part of a person's name masked on its own (`Maria` of `Maria Souza`) has this many
# letters at least: shorter ones (`Li`, `Bo`) are too often part of ordinary text.
NAME_PART_MIN_LETTERS = 3


def hash_key() -> bytes:
    """The secret of keyed hashes: `CX_HASH_KEY`, else the documented local default."""
    return (os.environ.get(HASH_KEY_ENV) or DEFAULT_HASH_KEY).encode("utf-8")


# The invisible characters pasted text holds (`_INVISIBLE_RANGES`).
_INVISIBLE_CHARACTERS = re.compile(f"[{_INVISIBLE_PY}]")


def normalised_email(value: str | None) -> str | None:
    """An address trimmed and lower-cased, in its compatibility form (NFKC), without the
    invisible characters pasting leaves in it: one typed with a full-width `＠` or letters
    (an input method's), or with a zero-width space inside, hashes as its ASCII twin."""
    text = unicodedata.normalize("NFKC", value or "")
    if not text.isascii():
        text = _INVISIBLE_CHARACTERS.sub("", text)
    text = text.strip().lower()
    return text or None


_NOT_A_DIGIT = re.compile(r"\D")


def normalised_phone(value: str | None) -> str | None:
    """A phone number's digits, each as its ASCII digit: `１１` (full-width) and `١١`
    (Arabic-Indic) are the `11` of the same number, and hash as it does."""
    digits = _NOT_A_DIGIT.sub("", value or "")
    if not digits.isascii():  # most are: digit by digit took 3 times as long
        digits = "".join(str(unicodedata.decimal(digit)) for digit in digits)
    return digits or None


def keyed_hash(value: str | None, key: bytes | None = None) -> str | None:
    """HMAC-SHA256 (hex) of an already normalised value; None stays None."""
    if value is None:
        return None
    return hmac.new(key or hash_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_hashes(values: Iterable[str | None], normalise=normalised_email) -> list[str | None]:
    """Keyed hashes of many raw values, each normalised first: `keyed_hash`'s, from one
    keyed HMAC copied for each value (keying one anew took half the time; a CRM day hashes
    48,000 contact values on its longest path)."""
    keyed = hmac.new(hash_key(), digestmod=hashlib.sha256)
    hashes: list[str | None] = []
    for value in values:
        normalised = normalise(value)
        if normalised is None:
            hashes.append(None)
            continue
        one = keyed.copy()
        one.update(normalised.encode("utf-8"))
        hashes.append(one.hexdigest())
    return hashes


def bind_hash_key(con: duckdb.DuckDBPyConnection) -> None:
    """Bind the hash key into a DuckDB session for `keyed_hash_sql` (a bound parameter: the
    key is in no query text)."""
    con.execute(f"SET VARIABLE {HASH_KEY_VARIABLE} = ?", [hash_key().decode("utf-8")])


def bind_hash_key_for(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Bind the hash key into `con`'s session if `query` hashes with it (`keyed_hash_sql`).
    Only where it does: binding is a statement of its own, 0.4-1.5 ms, and a run opened
    about 70 sessions (cursors) of which one or two hash (0.1 s of a CRM day)."""
    if _KEY_READ in query:
        bind_hash_key(con)


def keyed_hash_sql(text_sql: str) -> str:
    """SQL: a keyed hash of `text_sql` (hex SHA-256 of the session's key, a NUL and the text;
    DuckDB has no HMAC). Without the key, hashing candidate values finds nothing. A session
    without the key bound fails rather than hash with none."""
    key = _KEY_READ
    return (
        f"CASE WHEN {key} IS NULL THEN error('no hash key bound in this session: "
        f"privacy.bind_hash_key_for') ELSE sha256({key} || chr(0) || {text_sql}) END"
    )


def staff_name_holding_contacts_sql(name_sql: str, field: str) -> str:
    """SQL: a record's reject reason when the staff name `name_sql` (landed as `field`)
    holds an e-mail address or phone number (what `mask_contacts_sql` masks), else NULL.

    Staff names may reach gold (contract section 5), customers' contacts not. A staff name
    is who the agent is (the grain of per-agent tables, a filter of the command centre):
    masked, every agent named by an address would be one `[email]`, and `Caio Mendes
    ([email])` an agent other than Caio Mendes, every row valid. Quarantined, it is seen, as
    an id is rejected, not masked."""
    reason = string_literal(
        f'field "{field}" holds an e-mail address or phone number, not only a staff name'
    )
    return f"CASE WHEN {mask_contacts_sql(name_sql)} <> {name_sql} THEN {reason} END"


def mask_contacts_sql(text_sql: str) -> str:
    """SQL: `text_sql` (named once, so it may be a parameter) with e-mail addresses and phone
    numbers masked; e-mails first, since an address may hold digits. Each phone candidate
    with enough digits that is not a date is replaced; text without a digit is not searched.
    (The names bound in its list expressions are no column of ours, which they would
    shadow.)"""
    emails_masked = (
        f"regexp_replace({text_sql}, {string_literal(EMAIL_PATTERN)}, "
        f"{string_literal(EMAIL_MASK)}, 'g')"
    )
    digits = "length(regexp_replace(phone_candidate.written, '\\P{Nd}', '', 'g'))"
    local = (
        f"regexp_full_match(phone_candidate.visible, {string_literal(LOCAL_PHONE_SHAPE)}) "
        f"AND NOT regexp_full_match(phone_candidate.visible, {string_literal(YEAR_RANGE_SHAPE)})"
    )
    is_phone = (
        f"({digits} >= {PHONE_MIN_DIGITS} OR ({local})) "
        f"AND NOT regexp_full_match(phone_candidate.visible, {string_literal(DATE_SHAPE)})"
    )
    # A bracket the candidate does not close (or open) is the text's: `(a@b.com, 555-867-5309)`
    # kept its `)` out of the mask.
    opens, closes = (
        f"length(bracketed) - length(replace(bracketed, '{bracket}', ''))" for bracket in "()"
    )
    balanced = (
        f"CASE WHEN {closes} > {opens} THEN rtrim(bracketed, ')') "
        f"WHEN {opens} > {closes} THEN ltrim(bracketed, '(') ELSE bracketed END"
    )
    candidates = (
        f"[{balanced} FOR bracketed IN "
        f"regexp_extract_all(free_text, {string_literal(PHONE_CANDIDATE)})]"
    )
    # A candidate's shapes are judged as it reads (see `DIGIT`); one of ASCII only
    # (nearly all) holds no invisible character: judging every one's visible form took 6%
    # longer on a CRM day's contents, this about 2%.
    visible = (
        f"CASE WHEN strlen(candidate) = length(candidate) THEN candidate ELSE "
        f"regexp_replace(replace(candidate, chr({ord(ZERO_WIDTH_SPACE)}), ' '), "
        f"'[{_INVISIBLE}]', '', 'g') END"
    )
    phones = (
        f"[phone_candidate.written FOR phone_candidate IN [{{'written': candidate, "
        f"'visible': {visible}}} FOR candidate IN {candidates}] IF {is_phone}]"
    )
    # Longest first: a number that is the start of a longer one ("123456789 or 1234567890")
    # replaced first left the longer one's last digits ("[phone]0").
    longest_first = (
        f"[by_length.found_phone FOR by_length IN list_sort("
        f"[{{'letters': length(found_phone), 'found_phone': found_phone}} "
        f"FOR found_phone IN {phones}], 'DESC')]"
    )
    phones_masked = (
        f"list_reduce(list_prepend(free_text, {longest_first}), lambda partly_masked, "
        f"found_phone: replace(partly_masked, found_phone, {string_literal(PHONE_MASK)}))"
    )
    return (
        f"[CASE WHEN regexp_matches(free_text, '{DIGIT}') THEN {phones_masked} "
        f"ELSE free_text END FOR free_text IN [{emails_masked}]][1]"
    )


# The table of a query's distinct labels and their masked text (`MaskedLabels`), and the
# same as a map from label to masked text, for list columns.
LABEL_MASKS = "label_masks"
LABEL_MAP = "label_map"


@dataclass(frozen=True)
class MaskedLabels:
    """Label columns of `rows` (a journey type, a plan: text an export may put an e-mail
    address or a phone number in) masked as `mask_contacts_sql` masks free text, once per
    distinct value: a label takes a handful of values over thousands of rows. The masking's
    regular expressions compile once a query instead of once a column (about 10 ms each),
    and run per value instead of per row: digital's silver queries take half as long. Where
    the query's other joins are most of its work (CRM titles, support tickets) the join it
    adds costs more than the masking it saves: there, mask per row.

    `lists`: columns holding a list of labels as text, separated by `separator` (an agent's
    skills, `billing;technical`): each item is masked on its own, a label among the others,
    and the list keeps its order and separators. An item then masks exactly as the same text
    masked elsewhere (a skill as the ticket category it is matched with), which masking the
    whole list would not always do.

    In a query: `table` in its WITH clause (after `rows`), `joins` after `FROM rows`, and
    `labels["plan"]` where the column's masked value goes."""

    rows: str
    columns: tuple[str, ...]
    lists: tuple[str, ...] = ()
    separator: str = ";"

    @property
    def table(self) -> str:
        labels = f"[{', '.join(sql.quote_identifier(column) for column in self.columns)}]"
        if self.lists:
            items = [
                f"string_split({sql.quote_identifier(column)}, {string_literal(self.separator)})"
                for column in self.lists
            ]
            labels = f"flatten([{', '.join([labels, *items] if self.columns else items)}])"
        masks = (
            f"{LABEL_MASKS} AS (SELECT label, {mask_contacts_sql('label')} AS masked "
            f"FROM (SELECT DISTINCT unnest({labels}) AS label FROM {self.rows}))"
        )
        if not self.lists:
            return masks
        # A list's items are looked up in a map (one row), not joined: a join per item
        # would take the list apart and put it together again.
        return (
            f"{masks}, {LABEL_MAP} AS (SELECT map_from_entries(list((label, masked)) "
            f"FILTER (WHERE label IS NOT NULL)) AS masks FROM {LABEL_MASKS})"
        )

    @property
    def joins(self) -> str:
        joins = [
            f"LEFT JOIN {LABEL_MASKS} AS {self._alias(column)} "
            f"ON {self._alias(column)}.label = {self.rows}.{sql.quote_identifier(column)}"
            for column in self.columns
        ]
        if self.lists:
            joins.append(f"CROSS JOIN {LABEL_MAP}")
        return " ".join(joins)

    def __getitem__(self, column: str) -> str:
        if column in self.lists:
            separator = string_literal(self.separator)
            items = f"string_split({self.rows}.{sql.quote_identifier(column)}, {separator})"
            return (
                f"array_to_string([{LABEL_MAP}.masks[list_label] FOR list_label IN {items}], "
                f"{separator})"
            )
        if column not in self.columns:
            raise KeyError(column)
        return f"{self._alias(column)}.masked"

    @staticmethod
    def _alias(column: str) -> str:
        return sql.quote_identifier(f"{column}_masked")


# What a name's parts are split on: anything not a letter, mark, digit or apostrophe (a
# space of any kind, a hyphen, `Figueira, Rosalinda`'s comma, `(Mariazinha)`'s brackets).
NAME_PART_SEPARATOR = "[^\\pL\\pM\\pN']+"


def whole_name_sql(name_sql: str) -> str:
    """SQL: a delivered name as the name searches take it whole: composed (NFC), trimmed,
    each run of whitespace of any kind (a no-break space too) one space."""
    return (
        f"regexp_replace(nfc_normalize({sql.stripped(name_sql)}), "
        f"'[{sql.WHITESPACE_CLASS_BODY}]+', ' ', 'g')"
    )


def name_variants_sql(name_sql: str) -> str:
    """SQL: the list of what to mask for one person's name: the whole name
    (`whole_name_sql`) and each part of it with at least `NAME_PART_MIN_LETTERS` letters,
    split at `NAME_PART_SEPARATOR` (a double-barrelled surname's parts too: `Oliveira` of
    `Schmidt-Oliveira`), longest first, so the whole name is masked before its parts."""
    whole = whole_name_sql(name_sql)
    parts = (
        f"[name_part FOR name_part IN string_split_regex({whole}, "
        f"{string_literal(NAME_PART_SEPARATOR)}) "
        f"IF length(name_part) >= {NAME_PART_MIN_LETTERS}]"
    )
    return f"list_distinct(list_prepend({whole}, {parts}))"


# A name's or a text's words, as the name searches compare them: letters and digits,
# folded (`sql.folded_sql`: lower case, without accents). A name of two words or more is a
# full name.
WORD = "[\\pL\\pN]+"
FULL_NAME_SHAPE = "[\\pL\\pN][^\\pL\\pN]+[\\pL\\pN]"


def words_sql(text_sql: str) -> str:
    """SQL: the list of `text_sql`'s words (see `WORD`)."""
    return f"regexp_split_to_array({sql.folded_sql(text_sql)}, '[^\\pL\\pN]+')"


def first_word_sql(name_sql: str) -> str:
    """SQL: a name's first word, compared as `words_sql` gives them."""
    return sql.folded_sql(f"regexp_extract({name_sql}, '{WORD}')")


def last_word_sql(name_sql: str) -> str:
    """SQL: a name's last word, compared as `words_sql` gives them: at the very end (fast),
    else before trailing signs (a pattern ten times slower)."""
    return sql.folded_sql(
        f"CASE WHEN regexp_matches({name_sql}, '[\\pL\\pN]$') "
        f"THEN regexp_extract({name_sql}, '{WORD}$') "
        f"ELSE regexp_extract({name_sql}, '({WORD})[^\\pL\\pN]*$', 1) END"
    )


# Stands after a letter a name's pattern lets marks follow (`mask_names_sql`), till `\pM*` does.
_MARKS_AFTER = "\ue000"


def mask_names_sql(text_sql: str, names_sql: str) -> str:
    """SQL: `text_sql` with every name of the list `names_sql` (e.g. from
    `name_variants_sql`; null: none) masked, in any letter case, with or without its
    accents (`Lucia` for `Lúcia`, `BRAGANCA` for `Bragança`, `Dvorak` for `Dvořák`, and
    the other way round), composed or decomposed, its parts apart by whitespace of any kind,
    where it stands as a word: not inside a longer word of Latin letters (`Ana` stays in
    `Banana` and `Anaïs`; `sql.NOT_IN_A_LATIN_WORD`). RE2 has no lookaround, so the
    characters around a match are captured and put back."""
    escaped = f"regexp_escape({sql.folded_sql('person_name')})"
    # Folding drops the marks of every script, which the text keeps: a letter outside ASCII
    # (`अनिल`, `அனில்`, `مُحَمَّد`, whose vowels are marks) may be followed by any, as a
    # Latin letter's class is. Marked with a private-use character, which no letter's class
    # holds, and made `\pM*` once the classes are in.
    marked = f"regexp_replace({escaped}, '([^\\x{{00}}-\\x{{7F}}])', '\\1{_MARKS_AFTER}', 'g')"
    # The spaces last: a letter's class would be put into `\s`.
    letters = (
        f"replace(replace({sql.latin_classes_sql(marked)}, '{_MARKS_AFTER}', '\\pM*'), "
        f"'\\ ', '[{sql.WHITESPACE_CLASS_BODY}]+')"
    )
    # Case-insensitive only inside the name: folding the boundary's class with it doubled
    # the time a pattern took to compile (once per name a text may hold).
    edge = sql.NOT_IN_A_LATIN_WORD
    pattern = f"'(^|{edge})(?i:' || {letters} || ')({edge}|$)'"
    # Only names whose first word the text holds at all are searched for (a plain substring
    # test, far cheaper than a regex), longest first, so a whole name goes before its parts.
    first_part = "split_part(person_name, ' ', 1)"
    present = f"contains(folded_text, {sql.folded_sql(first_part)})"
    longest_first = (
        f"[by_length.person_name FOR by_length IN list_sort("
        f"[{{'letters': length(person_name), 'person_name': person_name}} "
        f"FOR person_name IN coalesce({names_sql}, []::VARCHAR[]) "
        f"IF length(person_name) > 0 AND {present}], 'DESC')]"
    )
    # A match takes the character after the name, so the same name right after it
    # (`Ana Ana`, `Lopes/Lopes`) finds no edge before it: a text holding the folded name
    # twice is searched again (a substring test; most texts hold a name once, if at all).
    folded_name = sql.folded_sql("person_name")
    after_first = f"folded_text[strpos(folded_text, {folded_name}) + length({folded_name}):]"
    twice = f"strpos({after_first}, {folded_name}) > 0"
    replace = f"'\\1{NAME_MASK}\\2', 'g'"
    masked = (
        f"list_reduce(list_prepend(text_to_mask, {longest_first}), "
        f"lambda partly_masked, person_name: regexp_replace("
        f"CASE WHEN {twice} THEN regexp_replace(partly_masked, {pattern}, {replace}) "
        f"ELSE partly_masked END, {pattern}, {replace}))"
    )
    # `text_sql` is named once (it may be a masking expression of its own), and folded once,
    # not once for each name it is searched for.
    return (
        f"list_transform([{text_sql}], lambda text_to_mask: list_transform("
        f"[{sql.folded_sql('text_to_mask')}], lambda folded_text: {masked})[1])[1]"
    )


# The view of keyed hashes `record_hashes` gives a silver step's SQL, by record.
RECORD_HASHES = "record_hashes"


def record_hashes(con: duckdb.DuckDBPyConnection, typed: str) -> dict[str, pyarrow.Table]:
    """For `silver_from_bronze(derived_frames=...)`: keyed hashes of each good record's
    `email` and, where the records have one, `phone`, by (source_file, line_number), as the
    view `RECORD_HASHES`. Computed in Python so the key never appears in SQL text.

    Arrow, typed, even with no rows: an empty pandas column of Python objects reached
    DuckDB as type NULL, for which the model's checks cannot be rendered in SQL, so a day
    whose table landed no good record was validated by Pandera instead (about 0.1 s)."""
    columns = {name for name, *_ in con.execute(f"DESCRIBE {typed}").fetchall()}
    wanted = [column for column in ("email", "phone") if column in columns]
    records = con.sql(
        f"SELECT source_file, line_number, {', '.join(wanted)} "
        f"FROM {typed} WHERE reject_reason IS NULL"
    ).to_arrow_table()
    normalisers = {"email": normalised_email, "phone": normalised_phone}
    hashes = records.select(["source_file", "line_number"])
    for column in wanted:
        values = keyed_hashes(records.column(column).to_pylist(), normalisers[column])
        hashes = hashes.append_column(f"{column}_hash", pyarrow.array(values, pyarrow.string()))
    return {RECORD_HASHES: hashes}


# A landed file's name (or a folder's) as it is shown outside bronze and quarantine: silver's
# `source_file`, the event log, the run's and the sensors' logs, `cx-lakehouse run`'s
# summary. Each part of the path has its e-mail addresses and phone numbers masked as free
# text has (`mask_contacts_sql`'s shapes, here in Python: names are few, and shown one by
# one in logs), with three differences: an underscore joins a phone number's groups as a
# space does (`+55_11_94242_0150.csv`), a UUID or a hex digest is an id whose digits are
# not judged (`_NAME_OPAQUE_ID`), and a name's digits that begin with a date are a
# day and a counter (`call-CALL-20240105-000049.json`, `TCK-20240105-000029.jsonl`), not a
# phone number; only what follows the date and a time of day after it is judged (`export
# 2024-01-05 11 94242-0150.csv` keeps its date, `calls-20240105-101500-000001.csv` its
# time). A path that changed ends in `#` and the first `SHOWN_PATH_TAG_CHARS` hex digits of
# its keyed hash, so two files whose names mask alike stay two (silver's lineage,
# file then line, is a record's identity) and the name stays traceable: the date folder
# holds the file, and the tag is `keyed_hash` of the path as bronze and quarantine hold it,
# which only the key's holder can compute.
SHOWN_PATH_TAG_CHARS = 8
_NAME_EMAIL = re.compile(
    rf"""(?:"[^"\n]{{1,64}}"|[\w{_INVISIBLE_PY}.!#$%&'*+/=?^`{{|}}~-]+) ?(?:[@\uff20]|%40) ?"""
    rf"[\w{_INVISIBLE_PY}.\uff0e-]+[.\uff0e][^\W\d_]{{2,}}"
)
# An underscore joins a number's groups too: a file name puts one where text has a space.
_NAME_SEPARATOR = (
    r"[ \t./_\-\u00a0\u00b7\u2002-\u200b\u202f\u2010-\u2015\u2027\u2212\u3000\u30fb\u30fc"
    r"\ufe63\uff0d]"
)
_NAME_DASH = r"[\-\u00b7\u2010-\u2015\u2027\u2212\u30fb\u30fc\ufe63\uff0d]"
_NAME_JOIN = rf"(?: {_NAME_DASH} |[ \t]{{2}}|{_NAME_SEPARATOR})"
# Invisible characters each side of a join or inside a group, as in free text.
_NAME_INVISIBLE_JOIN = rf"[{_INVISIBLE_PY}]*{_NAME_JOIN}?[{_INVISIBLE_PY}]*"
_NAME_GROUP = rf"(?:\([{_INVISIBLE_PY}]*)?\d+(?:[{_INVISIBLE_PY}]*\))?"
_NAME_PHONE_CANDIDATE = re.compile(
    rf"(?:\+[{_INVISIBLE_PY}]*|\b00)?{_NAME_GROUP}(?:{_NAME_INVISIBLE_JOIN}{_NAME_GROUP})*"
)
_NAME_LOCAL_PHONE = re.compile(rf"\d{{4}}{_NAME_JOIN}\d{{4}}")
_NAME_YEAR_RANGE = re.compile(rf"(?:19|20)\d{{2}}{_NAME_JOIN}(?:19|20)\d{{2}}")
_NAME_DATE = re.compile(r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{4})(?:[ T]\d{1,2})?")
# A date a name's digits begin with: YYYYMMDD, or with one separator (`2024-01-05`, `2024.01.05`).
_NAME_LEADING_DATE = re.compile(
    r"\(?(?:19|20)\d{2}([-./]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])\)?"
)

# What joins that date to the rest (invisible characters each side of it too).
_NAME_DATE_JOIN = re.compile(rf"[{_INVISIBLE_PY}]*(?:{_NAME_JOIN}|(?=\())[{_INVISIBLE_PY}]*")
# A time of day following that date (`101500`, `23.59.59`) and what joins it to the rest.
_NAME_LEADING_TIME = re.compile(
    rf"(?:[01]\d|2[0-3])([-.]?)[0-5]\d\1[0-5]\d(?:[{_INVISIBLE_PY}]*{_NAME_JOIN}"
    rf"[{_INVISIBLE_PY}]*|$)"
)


def _is_phone(candidate: str) -> bool:
    digits = sum(character.isdecimal() for character in candidate)
    # Its shapes as it reads, as free text's (see `DIGIT`).
    if not candidate.isascii():
        candidate = _INVISIBLE_CHARACTERS.sub("", candidate.replace(ZERO_WIDTH_SPACE, " "))
    local = bool(_NAME_LOCAL_PHONE.fullmatch(candidate)) and not _NAME_YEAR_RANGE.fullmatch(
        candidate
    )
    return (digits >= PHONE_MIN_DIGITS or local) and not _NAME_DATE.fullmatch(candidate)


def _masked_phone(match: re.Match) -> str:
    candidate = match.group()
    # A bracket the candidate does not close (or open) is the name's own.
    if candidate.count(")") > candidate.count("("):
        candidate = candidate.rstrip(")")
    elif candidate.count("(") > candidate.count(")"):
        candidate = candidate.lstrip("(")
    start = match.group().index(candidate)
    before, after = match.group()[:start], match.group()[start + len(candidate) :]
    date = _NAME_LEADING_DATE.match(candidate)
    if date is not None:
        rest = candidate[date.end() :]
        # Joined to the rest, or a bracket opens right after it (`2024-01-05(11) 94242-0150`).
        joined = _NAME_DATE_JOIN.match(rest)
        if joined is None:
            return match.group()  # the date runs on: `20240105123456`, a time
        kept = date.end() + joined.end()
        rest = rest[joined.end() :]
        # A time of day after the date is the name's too (`calls-20240105-101500-000001`).
        if (time := _NAME_LEADING_TIME.match(rest)) is not None:
            kept, rest = kept + time.end(), rest[time.end() :]
        # The date took the bracket opening before it: the one closing it is the name's.
        closing = ""
        while rest.endswith(")") and rest.count(")") > rest.count("("):
            rest, closing = rest[:-1], closing + ")"
        masked = PHONE_MASK if rest and _is_phone(rest) else rest
        return before + candidate[:kept] + masked + closing + after
    return before + (PHONE_MASK if _is_phone(candidate) else candidate) + after


# A UUID, or a run of 16 hex digits or more holding a letter and a digit (a digest): an id
# exports name files by (`part-00000-<uuid>-c000.json`), whose digit groups are no phone
# number (free text's rule took one UUID name in six for one). Captured, for `re.split`.
_NAME_OPAQUE_ID = re.compile(
    r"([0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
    r"|(?<![0-9A-Za-z])(?=[0-9A-Fa-f]*[A-Fa-f])(?=[0-9A-Fa-f]*[0-9])[0-9A-Fa-f]{16,}"
    r"(?![0-9A-Za-z]))"
)


def _masked_text(text: str) -> str:
    """`text` with its e-mail addresses masked, then its phone numbers outside the ids
    `_NAME_OPAQUE_ID` finds (the odd parts of the split)."""
    parts = _NAME_OPAQUE_ID.split(_NAME_EMAIL.sub(EMAIL_MASK, text))
    return "".join(
        part if index % 2 else _NAME_PHONE_CANDIDATE.sub(_masked_phone, part)
        for index, part in enumerate(parts)
    )


def masked_name(name: str) -> str:
    """A name a landed file gives (a CSV header's column) with its e-mail addresses and phone
    numbers masked as a file's name is (`shown_paths`, without the tag): a reason quoting it
    leaves quarantine (logs, metadata, `cx-lakehouse run`'s summary)."""
    return _masked_text(name)


@functools.lru_cache(maxsize=4096)
def _masked_part(part: str) -> str:
    """One part of a path (a file's or a folder's name) masked. A name's extension is not
    taken for an address's top-level domain (`ana@x.com.jsonl` is `[email].jsonl`): where
    masking the name without it changes it, that is its masked text, the extension kept."""
    stem, dot, extension = part.rpartition(".")
    if dot and (masked_stem := _masked_text(stem)) != stem:
        return f"{masked_stem}.{extension}"
    return _masked_text(part)


def shown_paths(paths: Iterable[str], *, phones: bool = True) -> dict[str, str]:
    """The paths of `paths` that hold an e-mail address or a phone number, each with its
    shown form (`landing/crm/contacts/2024-01-05/[email].jsonl#1f0c9a2b`); the others are
    shown as they are, and left out. `phones=False`: e-mail addresses only (silver's
    `source_file`, `with_shown_source_files` says why)."""
    masked_part = _masked_part if phones else _email_masked_part
    shown = {}
    for path in set(paths):
        changed = "/".join(_escapes_read(masked_part, part) for part in path.split("/"))
        if changed != path:
            shown[path] = f"{changed}#{keyed_hash(path)[:SHOWN_PATH_TAG_CHARS]}"
    return shown


@functools.lru_cache(maxsize=4096)
def _email_masked_part(part: str) -> str:
    """One part of a path with its e-mail addresses masked, its extension kept as
    `_masked_part` keeps it."""
    stem, dot, extension = part.rpartition(".")
    if dot and (masked_stem := _NAME_EMAIL.sub(EMAIL_MASK, stem)) != stem:
        return f"{masked_stem}.{extension}"
    return _NAME_EMAIL.sub(EMAIL_MASK, part)


# A landed name holds its direction embeddings, overrides and isolates escaped, and a
# backslash of its own as `\x5c` (`landing.printable`): the escape's letters and digits
# ended an address or a number, `ana\u2066@example.com` shown `ana\[email]` and
# `415\u2066-555-0199` `415\u[phone]`. Each is masked as the invisible character it stands
# for (`_INVISIBLE_RANGES`), then escaped again.
_ESCAPED_DIRECTION = re.compile(r"\\u(202[a-e]|206[6-9])")
_DIRECTION = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _escapes_read(masked_part: Callable[[str], str], part: str) -> str:
    """`masked_part(part)`, the direction escapes of `part` read as their characters."""
    if "\\u" not in part:
        return masked_part(part)
    read = _ESCAPED_DIRECTION.sub(_character_escaped, part)
    if read == part:
        return masked_part(part)
    return _DIRECTION.sub(_escape_of, masked_part(read))


def _character_escaped(escape: re.Match) -> str:
    """The character a `\\uNNNN` escape of `_ESCAPED_DIRECTION` stands for."""
    return chr(int(escape.group(1), 16))


def _escape_of(character: re.Match) -> str:
    """A `_DIRECTION` character escaped again, as `landing.printable` escapes it."""
    return f"\\u{ord(character.group()):04x}"


def shown_path(path: str) -> str:
    """`path` as `shown_paths` shows it."""
    return shown_paths([path]).get(path, path)


def with_shown_source_files(rows: pyarrow.Table) -> pyarrow.Table:
    """Silver rows with their `source_file` shown with its e-mail addresses masked: bronze
    and quarantine keep the landed name. Not its phone numbers, as logs show them: a day's
    versions of a key are ordered by their file's name (the later file's wins), and a
    masked name orders by its tag, a keyed hash. A phone number in a name cannot be told
    from the ten digits of an export named by epoch second (`members_1704458100.csv`),
    whose versions would then be ordered by chance (seen in a review); an e-mail address
    is unmistakable, and a file named after one delivering the same key as another file
    of its day is far rarer. The column's distinct names are looked at once (a day has a
    handful of files); rows whose file needs no masking, nearly always all of them, are
    left as they are."""
    if "source_file" not in rows.column_names or rows.num_rows == 0:
        return rows
    column = rows.column("source_file")
    shown = shown_paths(pc.unique(column).drop_null().to_pylist(), phones=False)
    if not shown:
        return rows
    found = pc.index_in(column, value_set=pyarrow.array(list(shown), pyarrow.string()))
    replaced = pc.take(pyarrow.array(list(shown.values()), pyarrow.string()), found)
    masked = pc.if_else(pc.is_null(found), column, replaced)
    index = rows.column_names.index("source_file")
    return rows.set_column(index, rows.schema.field(index), masked)
