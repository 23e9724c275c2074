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
from collections.abc import Sequence
from datetime import date
from pathlib import Path

# The partition column of every date-grained table.
PARTITION_COLUMN = "date"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


# Letters that carry accents in Portuguese (and in many other Latin-script names), and the
# variants a pattern's base letter stands for, so a match is accent-insensitive without
# folding the text searched (`strip_accents` over every e-mail body costs ~8x `lower()`).
ACCENT_VARIANTS = {
    "a": "aàáâãä",
    "e": "eèéêë",
    "i": "iìíîï",
    "o": "oòóôõö",
    "u": "uùúûü",
    "c": "cç",
    "n": "nñ",
}


def accent_classes_sql(pattern_sql: str) -> str:
    """SQL: a lower-case, accent-free regex (`pattern_sql`) with each base letter of
    `ACCENT_VARIANTS` made the class of its variants (`lucia` → `l[uùúûü]c[iìíîï][aàáâãä]`).
    Each class holds only its own base letter, so the replacements never meet."""
    for base, variants in ACCENT_VARIANTS.items():
        pattern_sql = f"replace({pattern_sql}, '{base}', '[{variants}]')"
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
