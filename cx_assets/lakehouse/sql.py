"""The one home of SQL text helpers: identifiers, literals, "these days", sums of
fractional numbers that come out the same in every run, and SQLite's URI of a file.

Rules are SQL builders (their SQL is what the tests run), so they render values into the
query text; every value rendered here is escaped. Where a helper runs its own query
(checks, counts), it binds values as DuckDB parameters instead and uses only
`in_days_param` and the identifier helpers.
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
from collections.abc import Sequence
from datetime import date
from pathlib import Path

# The partition column of every date-grained table.
PARTITION_COLUMN = "date"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


# Letters that carry accents in Portuguese, and the variants a pattern's base letter stands
# for: CRM's friction words match accent-insensitively without folding the text searched
# (`strip_accents` over every e-mail body costs ~8x `lower()`). Names take every Latin
# letter's variants (`LATIN_LETTER_VARIANTS`).
ACCENT_VARIANTS = {
    "a": "aàáâãä",
    "e": "eèéêë",
    "i": "iìíîï",
    "o": "oòóôõö",
    "u": "uùúûü",
    "c": "cç",
    "n": "nñ",
}


# Letters whose mark people leave out that have no decomposition to take it off
# (`strip_accents` keeps them), and the letter written for each.
MARK_DROPPED = {"ł": "l", "ø": "o", "đ": "d", "ı": "i", "ħ": "h", "ŧ": "t"}
# Where Unicode keeps precomposed Latin letters: Latin-1 Supplement, Latin Extended-A and
# -B, Latin Extended Additional (Vietnamese's `ễ`, `ị`).
_LATIN_LETTER_BLOCKS = (range(0x00C0, 0x0250), range(0x1E00, 0x1F00))
# The combining marks of the Combining Diacritical Marks block, as a class of the
# characters themselves (no ASCII letter in it for `latin_classes_sql` to replace).
COMBINING_MARKS_CLASS = f"[{chr(0x0300)}-{chr(0x036F)}]"


def full_width(ascii_text: str) -> str:
    """`ascii_text` (printable ASCII) in its full-width forms (U+FF01..U+FF5E), as East
    Asian input methods type Latin letters and digits (`Ａｎａ`); NFKC is the way back."""
    return "".join(chr(ord(character) + 0xFEE0) for character in ascii_text)


def _latin_letter_variants() -> dict[str, str]:
    """Each ASCII letter with every precomposed Latin letter whose decomposition starts
    with it (`s`: `ŚśŜŝŞşŠšȘș…`), the `MARK_DROPPED` letters and its full-width forms
    (`ｓＳ`), in both cases."""
    variants = {
        letter: letter + letter.upper() + full_width(letter) + full_width(letter.upper())
        for letter in string.ascii_lowercase
    }
    for char in map(chr, (point for block in _LATIN_LETTER_BLOCKS for point in block)):
        decomposed = unicodedata.normalize("NFD", char)
        base = MARK_DROPPED.get(char.lower())
        if base is None and len(decomposed) > 1 and decomposed[0] in string.ascii_letters:
            base = decomposed[0].lower()
        if base is not None:
            variants[base] += char
    return variants


def _class_body(chars: str) -> str:
    """A regex class's body of `chars`, runs of consecutive code points as ranges."""
    points = sorted(set(map(ord, chars)))
    runs: list[list[int]] = []
    for point in points:
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in runs)


# Built from Unicode data, not listed by hand as `ACCENT_VARIANTS` is: people's names come
# from every Latin-script language (`Dvořák`, `Yıldız`, `Ștefan`, `Nguyễn`, `Łucja`).
LATIN_LETTER_VARIANTS = _latin_letter_variants()
# Where a name ends as a word: not at a letter of those blocks, a digit or a combining
# mark, nor a full-width letter or digit (`Mari` goes on in `Mariá`, `Ａｎａ` in
# `Ｂａｎａｎａ`). Not `\pL`: RE2 builds a class of every script's letters anew for each
# name's pattern, which took 2.8 ms a name against 0.05 ms for this one.
NOT_IN_A_LATIN_WORD = (
    "[^0-9A-Za-z\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{24F}\\x{1E00}-\\x{1EFF}\\x{300}-\\x{36F}"
    "\\x{FF10}-\\x{FF19}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}]"
)
# Full-width digits and Latin letters, folded to their ASCII twins (NFKC's mapping, which
# DuckDB does not have).
FULL_WIDTH_ASCII = string.digits + string.ascii_uppercase + string.ascii_lowercase
FULL_WIDTH = full_width(FULL_WIDTH_ASCII)


def folded_sql(text_sql: str) -> str:
    """SQL: `text_sql` lower-cased without accents, `MARK_DROPPED` letters as the letter
    written for them: each letter of `LATIN_LETTER_VARIANTS` folded to its base letter, a
    full-width one too. Only text holding a full-width letter or digit is translated
    (translating every text took 4 times as long as the rest of the fold)."""
    dropped, written = "".join(MARK_DROPPED), "".join(MARK_DROPPED.values())
    narrow = (
        f"CASE WHEN regexp_matches({text_sql}, '[{FULL_WIDTH[0]}-{FULL_WIDTH[-1]}]') "
        f"THEN translate({text_sql}, '{FULL_WIDTH}', '{FULL_WIDTH_ASCII}') ELSE {text_sql} END"
    )
    return f"translate(strip_accents(lower({narrow})), '{dropped}', '{written}')"


def latin_classes_sql(pattern_sql: str) -> str:
    """SQL: a regex folded as `folded_sql` folds text (`pattern_sql`) with each ASCII letter
    made the class of its `LATIN_LETTER_VARIANTS`, followed by any combining marks, so it
    matches the letter in either case, with or without its accents, composed or decomposed
    (`c` + U+0327 as `ç`). Each class is exempt from a case-insensitive pattern's folding
    (`(?-i:…)`; folding classes this size made a name's pattern take three times as long
    to compile); `i` is replaced first, as every class but its own holds one. No class
    holds another ASCII letter, so the replacements never meet."""
    for base in sorted(LATIN_LETTER_VARIANTS, key=lambda letter: letter != "i"):
        letters = _class_body(LATIN_LETTER_VARIANTS[base])
        pattern_sql = (
            f"replace({pattern_sql}, '{base}', '(?-i:[{letters}]{COMBINING_MARKS_CLASS}*)')"
        )
    return pattern_sql


# One character of whitespace as Python's `str.isspace` reads it (tab, line breaks, the
# Unicode spaces and separators, the four ASCII separators, NEL). DuckDB's `trim()` removes
# only space separators, so a recipient written as a tab counted as an address, and "Bob"
# and "Bob<tab>" were two agents.
WHITESPACE_CLASS_BODY = r"\s\x0B\x1C-\x1F\x85\p{Z}"
_WHITESPACE = f"[{WHITESPACE_CLASS_BODY}]"


def stripped(expression: str) -> str:
    """SQL: `expression` without leading and trailing whitespace (as `str.strip()`)."""
    return f"regexp_replace({expression}, '^{_WHITESPACE}+|{_WHITESPACE}+$', '', 'g')"


def lstripped(expression: str) -> str:
    """SQL: `expression` without leading whitespace (as `str.lstrip()`)."""
    return f"regexp_replace({expression}, '^{_WHITESPACE}+', '')"


def has_text(expression: str) -> str:
    """SQL predicate: `expression` holds a character other than whitespace (NULL for NULL)."""
    return f"regexp_matches({expression}, '[^{_WHITESPACE[1:-1]}]')"


def quote_identifier(name: str) -> str:
    """`name` double-quoted; only lower-case snake_case names are accepted."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return f'"{name}"'


def qualified(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def string_literal(text: str | None) -> str:
    """A quoted string literal (quotes doubled), or NULL."""
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def number_literal(value: float) -> str:
    return repr(float(value))


def date_literal(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def days_relation(days: Sequence[date]) -> str:
    """A one-column relation `date` holding `days` (none: no rows), to LEFT JOIN facts onto
    so that a day without facts still gets its row."""
    listed = ", ".join(date_literal(day) for day in days)
    return f"(SELECT unnest([{listed}]::DATE[]) AS {PARTITION_COLUMN})"


def in_days(days: Sequence[date], column: str = PARTITION_COLUMN) -> str:
    """A predicate: `column` is one of `days` (none: FALSE)."""
    if not days:
        return "FALSE"
    return f"{quote_identifier(column)} IN ({', '.join(date_literal(day) for day in days)})"


def in_days_param(count: int, column: str = PARTITION_COLUMN) -> str:
    """The same predicate for `count` days bound as parameters, one `?` each (an IN list of
    constants, so DuckDB can still skip row groups by their min/max date)."""
    if not count:
        return "FALSE"
    return f"{quote_identifier(column)} IN ({', '.join('?' * count)})"


def in_files(files: Sequence[str] | None, column: str = "source_file") -> str:
    """A predicate keeping rows of the given landed files (`column`); TRUE for None."""
    if files is None:
        return "TRUE"
    return f"{column} IN ({', '.join(string_literal(name) for name in files)})"


def float_sum(expression: str) -> str:
    """SQL: the sum of a DOUBLE expression, to the same last digit in every run.

    Floating-point addition depends on its order, and DuckDB adds rows in the order its
    threads hand them over, so one segment's won amount came out as 7831404.58 on one run
    and 7831404.580000002 on the next, over the same rows. Adding in the values' own order
    makes every run add the same numbers in the same order (ties are equal values, so how
    they are broken cannot matter); the aggregate sorts each group's values first, which is
    cheap at gold's sizes. Integer sums are exact in any order and need none of this."""
    return f"sum({expression} ORDER BY {expression})"


def float_avg(expression: str) -> str:
    """SQL: the mean of a DOUBLE expression, to the same last digit in every run (see
    `float_sum`)."""
    return f"avg({expression} ORDER BY {expression})"


def sqlite_read_only_uri(path: str | os.PathLike[str]) -> str:
    """SQLite's URI for a file opened read-only (`sqlite3.connect(..., uri=True)`), its path
    escaped: SQLite ends a path at a `#` or `?` left as written (a data root `/tmp/a#b`
    opened `/tmp/a`, creating an empty file there) and reads `%xx` as an escaped byte."""
    return f"{Path(os.path.abspath(path)).as_uri()}?mode=ro"
