"""Pandera building blocks every domain's models share."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.engines.pandas_engine import Date
from pandera.typing import Series

# Timestamps are UTC with microsecond precision everywhere in the lakehouse.
UTC_TIMESTAMP = {"dtype_kwargs": {"unit": "us", "tz": "UTC"}}
# An id that reaches gold (a customer's, member's, ticket's, call's, session's, agent's), as
# delivered: opaque. Gold keeps ids (contract section 5), so an e-mail address, a phone number
# as people write it (+55 (11) 9…) or a person's name in an id field would reach gold: a value
# holding `@`, `+`, whitespace or a parenthesis is not an id, and its record is quarantined.
# (A run of digits stays an id: systems number people.)
# `\Z`, not `$`: Python's `$` also matches before a line break ending the value.
OPAQUE_ID = r"^[^@+\s()]+\Z"


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
