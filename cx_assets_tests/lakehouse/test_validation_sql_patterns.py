"""`schema_sql.re2_pattern`: a regex pattern read by DuckDB's RE2 matches what Python's `re`
(which Pandera uses) matches, Unicode whitespace and `$` included, and a pattern RE2 would
read differently is refused.
"""

from __future__ import annotations

import re

import pytest

from cx_assets.lakehouse.schema_sql import Untranslatable, re2_pattern
from cx_assets.lakehouse.schemas import OPAQUE_ID

# Every character Python's `re` reads as whitespace in a `str` pattern, ASCII or not.
PYTHON_WHITESPACE = [chr(code) for code in range(0x3001) if chr(code).isspace()]


def _probes() -> list[str]:
    probes = ["", "a", "ab", "a@b", "(11)", "a+b", "a]b", "]", "^x", "x\n", "\nx"]
    # Ids shaped as phone numbers, or nearly (`OPAQUE_ID`).
    probes += ["415-555-0199", "415-555-019", "4155550199", "2024-01-05", "--", "1-2", "x1-2"]
    probes += ["555\u2010867\u20135309", "555.867.5309", "1/2/3/4/5/6/7/8/9", "A-415-555-0199"]
    # Digits of other scripts (Python's `\d` is any script's, RE2's ASCII only).
    probes += [
        "１１-９４２４２-０１５０",
        "٤١٥-٥٥٥-٠١٩٩",
        "१२३",
        "x٣",
        "１２３",
        "²",
        "Ⅻ",
        "11\ufe63942",
    ]
    for space in PYTHON_WHITESPACE:
        probes += [space, f"{space}a", f"a{space}", f"a{space}b", f"ab{space}{space}"]
    return probes


@pytest.mark.parametrize(
    "pattern",
    [
        OPAQUE_ID,
        r"^\S(?:.*\S)?\Z",
        r"^[A-Z]",
        r"\s",
        r"^\S+$",
        r"^[]a]+$",
        r"^[^]\s]+$",
        r"b$",
        r"^a\Z",
        r"^\d+$",
        r"^[^\d]+\Z",
        r"^\D+\Z",
    ],
)
def test_a_pattern_matches_in_sql_what_it_matches_in_python(con, pattern):
    """Pandera matches with Python's `re`: Unicode whitespace, and a `$` that also matches
    before a final line break. DuckDB's RE2 must give the same verdict for every probe."""
    translated = "^(?:" + re2_pattern(pattern) + ")"
    for probe in _probes():
        in_sql = con.execute("SELECT regexp_matches(?, ?)", [probe, translated]).fetchone()[0]
        assert in_sql == bool(re.match(pattern, probe)), (pattern, probe)


def test_the_whitespace_of_python_is_more_than_ascii():
    # What makes the rewrite needed: RE2's `\s` would miss all of these.
    assert {"\x0b", "\x1c", "\x85", "\xa0", "\u2003", "\u3000"} <= set(PYTHON_WHITESPACE)


@pytest.mark.parametrize("pattern", [r"\w", r"\bx", r"[\S]", r"[\D]"])
def test_a_pattern_read_differently_by_re2_is_left_to_pandera(pattern):
    with pytest.raises(Untranslatable):
        re2_pattern(pattern)
