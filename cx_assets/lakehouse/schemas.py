"""Pandera building blocks every domain's models share."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

from cx_assets.lakehouse.privacy import INVISIBLE_CLASS_BODY

# Timestamps are UTC with microsecond precision everywhere in the lakehouse.
UTC_TIMESTAMP = {"dtype_kwargs": {"unit": "us", "tz": "UTC"}}
# A silver column's metadata: the column of the landed record it is derived from (`content`
# for `content_bytes`), whose landed field (`Content`) the checks name beside it.
DERIVED_FROM = "derived_from"
# An id that reaches gold (a customer's, member's, ticket's, call's, session's, agent's), as
# delivered: opaque. Gold keeps ids (contract section 5), so an e-mail address, a phone
# number or a person's name in an id field would reach gold: a value holding `@`, `+`,
# whitespace or a parenthesis is not an id, nor is one shaped as a phone number the
# masker masks in text (`privacy.PHONE_CANDIDATE`): digit groups joined by dashes, dots or
# slashes, 9 digits or more (`415-555-0199`). Its record is quarantined. A run of digits
# stays an id (systems number people), and so does a value with a letter or another sign in
# it (`TCK-20240105-000001`), or with 8 digits at most (a date, `2024-01-05`).
# Digits are any script's (`\d`: full-width `１１`, Arabic-Indic `١١`, as free text's
# phone numbers are; SQL reads it as RE2's `\p{Nd}`), and the joins are free text's too:
# `１１-９４２４２-０１５０` passed as an id of signs and reached gold (seen in an audit).
# `\Z`, not `$`: Python's `$` also matches before a line break ending the value.
_ID_CHARACTER = r"[^@+\s()]"
# Dashes (Unicode's, small and full-width ones, Japanese input's `ー` too), dots (middle
# dots too), slashes, and the invisible characters free text's phone numbers may hold
# (`415\u200e-555-0199` passed the check as an id, seen in review).
_PHONE_JOINS = "\\-./\u2010-\u2015\u2212\ufe63\uff0d\u00b7\u2027\u30fb\u30fc" + INVISIBLE_CLASS_BODY
OPAQUE_ID = (
    rf"^(?:{_ID_CHARACTER}*[^@+\s()\d{_PHONE_JOINS}]{_ID_CHARACTER}*"
    rf"|\d+|[{_PHONE_JOINS}]*(?:\d[{_PHONE_JOINS}]*){{1,8}}|[{_PHONE_JOINS}]+)\Z"
)

# A quarantine reason names a failed check as Pandera does (`str_matches('<pattern>')`),
# which for the opaque-id pattern is a line of regex an operator cannot read: it says what
# the check asks instead.
_READABLE_CHECKS = {
    f"str_matches('{OPAQUE_ID}')": (
        "opaque_id (no @, +, whitespace or parenthesis, not shaped as a phone number)"
    ),
}


def readable_check(check: str) -> str:
    """How a quarantine reason names the failed `check` (as Pandera names it)."""
    return _READABLE_CHECKS.get(check, check)


class LakeModel(pa.DataFrameModel):
    """Coerce to the declared types; drop working columns the SQL carried along."""

    class Config:
        coerce = True
        strict = "filter"


class Lineage(LakeModel):
    """Where a silver row came from: its partition day, landed file and line."""

    date: Series[Date] = pa.Field(description="Partition day (the landing date folder).")
    source_file: Series[str] = pa.Field(description="Landed file the record came from.")
    line_number: Series[int] = pa.Field(
        ge=1,
        description="1-based line of the record in its file (CSV: the data row's line; "
        "a `.json` array: the element's position).",
    )
