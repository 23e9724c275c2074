"""Typing bronze records against a landing contract, in DuckDB SQL.

A `RecordSpec` lists the fields a landed record must carry and their types. `parse_bronze`
turns one bronze table's partitions into a temporary table with a typed column per field
(the record's original text stays in bronze) plus `reject_reason`: null for a good record,
otherwise the first problem found (reader error, invalid JSON, missing required field, wrong
type, duplicate key: `duplicates`). Good and bad rows leave together so nothing is dropped
silently: bad ones go to quarantine.

Each record's JSON is parsed twice, for its values' JSON types (`json_type`) and every
value as text (`json_transform`), and each field is typed once, which keeps a 300 MB day of
CRM interactions to a second or two.

DuckDB casts more than the contract allows, so text is matched before it is cast:
- timestamps are ISO-8601, `YYYY-MM-DD[(T| )hh:mm[:ss[.fraction]][offset]]`, with years
  1900-2199 as written and an offset of `Z` or at most ±18:00 (ISO's limit), or the same
  in ISO's basic format (`20261201T101500-0300`), written in the extended one. DuckDB would
  also take `infinity`, `epoch`, a zone name or `+99:00`, and give year 294247 or 9999.
  `offset_timestamp` (CRM times) requires the offset; `timestamp` without one is UTC; a
  leap second (`23:59:60` UTC, which DuckDB does not cast) is read as the next day's first
  instant, as PostgreSQL reads it; a 60th second elsewhere is no time;
- dates are `YYYY-MM-DD` in the same years;
- numbers are finite: DuckDB's JSON reader takes `NaN`, `Infinity` and `1e999`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import duckdb

from cx_assets.lakehouse import sql
from cx_assets.lakehouse.duplicates import with_duplicates_rejected

Kind = Literal["int", "number", "str", "timestamp", "offset_timestamp", "date", "bool"]

_SQL_TYPE: dict[str, str] = {
    "int": "BIGINT",
    "number": "DOUBLE",
    "str": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "offset_timestamp": "TIMESTAMPTZ",
    "date": "DATE",
    "bool": "BOOLEAN",
}
# JSON value types accepted for each kind (DuckDB's json_type names).
_JSON_TYPES: dict[str, tuple[str, ...]] = {
    "int": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "str": ("VARCHAR",),
    "timestamp": ("VARCHAR",),
    "offset_timestamp": ("VARCHAR",),
    "date": ("VARCHAR",),
    "bool": ("BOOLEAN",),
}
_KIND_NAMES = {
    "int": "an integer",
    "number": "a number",
    "str": "a string",
    # The years are said: `9999-12-31T00:00:00Z` is ISO-8601, yet not kept (below).
    "timestamp": "an ISO-8601 timestamp in years 1900-2199",
    "offset_timestamp": "an ISO-8601 timestamp with an offset, in years 1900-2199",
    "date": "a YYYY-MM-DD date in years 1900-2199",
    "bool": "true or false",
}

# The text forms accepted before a cast (RE2, matched in full). Years 1900-2199 as written
# (a support ticket created in 2300 reached gold, whose day pandas cannot hold: its dates end
# in 2262); offsets Z or at most ±18:00, the ISO-8601 limit.
_DATE = "(19[0-9]{2}|2[01][0-9]{2})-[0-9]{2}-[0-9]{2}"
_TIME = "[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?"
_OFFSET = "(Z|[+-](0[0-9]|1[0-7])(:?[0-5][0-9])?|[+-]18(:?00)?)"
# A decimal number as CSV text: digits with an optional point and exponent.
_NUMBER_TEXT = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_TEXT_PATTERN: dict[str, str] = {
    "int": "[+-]?[0-9]+",  # CSV text: DuckDB would round '1.5' to 2
    "timestamp": f"{_DATE}({_TIME}{_OFFSET}?)?",
    "offset_timestamp": f"{_DATE}{_TIME}{_OFFSET}",
    "date": _DATE,
}


@dataclass(frozen=True)
class Field:
    """One landed field: its name in the source, the column it becomes, its type."""

    source: str
    column: str
    kind: Kind
    required: bool = True


@dataclass(frozen=True)
class RecordSpec:
    fields: Sequence[Field]
    # CSV values arrive as text and are cast; JSON values must already have the right type.
    text_values: bool = False
    # Fields whose repetition within a day makes the later record a bad one.
    unique_key: Sequence[str] = field(default_factory=tuple)
    # The key is unique over all days, not only within one: a record delivered again on a
    # later day (an overlapping export) is a bad one too, or whole-history tables would
    # count it twice. The first delivery, by day, then file, then line, wins.
    unique_across_days: bool = False

    @property
    def landed_fields(self) -> tuple[str, ...]:
        """The names of its fields as they land (a CSV header's)."""
        return tuple(_sources(self))

    @property
    def landed_required(self) -> tuple[str, ...]:
        """The names, as they land, of the fields its records must hold."""
        return tuple(dict.fromkeys(item.source for item in self.fields if item.required))

    @property
    def landed_key(self) -> tuple[str, ...]:
        """The fields of `unique_key` as they land (`Id` for a CRM interaction_id)."""
        sources = {item.column: item.source for item in self.fields}
        return tuple(sources[column] for column in self.unique_key)


def json_path(name: str) -> str:
    """SQL: the JSON path of a top-level field, quoted (any name: `Id`, `a.b`, `"`)."""
    return sql.string_literal('$."' + name.replace('"', '\\"') + '"')


def _structure(spec: RecordSpec) -> str:
    """The `json_transform` structure: every source field as text (typed below, strictly)."""
    return sql.string_literal(json.dumps(dict.fromkeys(_sources(spec), "VARCHAR")))


def _sources(spec: RecordSpec) -> list[str]:
    return list(dict.fromkeys(item.source for item in spec.fields))


def _converted_sql(kind: str, text: str, *, from_text: bool) -> str:
    """`text` as a value of `kind`, or NULL when it is not one the contract allows."""
    if kind == "str":
        return text
    if kind in ("timestamp", "offset_timestamp"):
        return _timestamp_sql(kind, text)
    typed = f"TRY_CAST({text} AS {_SQL_TYPE[kind]})"
    pattern = _TEXT_PATTERN.get(kind)
    if pattern and (from_text or kind != "int"):  # JSON integers are typed by JSON
        return (
            f"CASE WHEN regexp_full_match({text}, {sql.string_literal(pattern)}) THEN {typed} END"
        )
    if kind == "number":
        # CSV text is matched too: DuckDB would read `1_000` as 1000.
        written = f"regexp_full_match({text}, {sql.string_literal(_NUMBER_TEXT)}) AND " * from_text
        return f"CASE WHEN {written}isfinite({typed}) THEN {typed} END"
    return typed


# ISO-8601's basic format, a date and a time without separators (`20261201T101500Z`,
# `20261201T1015-0300`): written in the extended one before it is matched and cast, so the
# same limits hold. A date or time of either format with the other's is refused, as ISO
# has it.
_BASIC_TIMESTAMP = "[0-9]{8}T[0-9]{4}([0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}([0-9]{2})?)?"


def _timestamp_sql(kind: str, text: str) -> str:
    """SQL: a timestamp `text` matched and cast, in the extended format (nearly every one)
    or, only where that fails, in the basic one written in the extended one."""
    pattern = sql.string_literal(_TEXT_PATTERN[kind])
    extended = _extended_format_sql(text)
    return (
        f"CASE WHEN regexp_full_match({text}, {pattern}) THEN {_cast_timestamp_sql(kind, text)} "
        f"WHEN regexp_full_match({text}, {sql.string_literal(_BASIC_TIMESTAMP)}) "
        f"AND regexp_full_match({extended}, {pattern}) "
        f"THEN {_cast_timestamp_sql(kind, extended)} END"
    )


def _cast_timestamp_sql(kind: str, text: str) -> str:
    return f"coalesce(TRY_CAST({text} AS {_SQL_TYPE[kind]}), {_leap_second_sql(text)})"


def _extended_format_sql(text: str) -> str:
    """SQL: a timestamp `text` in ISO-8601's basic format written in the extended one."""
    date_and_minute = (
        f"regexp_replace({text}, '^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})T([0-9]{{2}})([0-9]{{2}})', "
        "'\\1-\\2-\\3T\\4:\\5')"
    )
    return f"regexp_replace({date_and_minute}, '^(.{{16}})([0-9]{{2}})', '\\1:\\2')"


_MICROS_A_DAY = 86_400_000_000


def _leap_second_sql(text: str) -> str:
    """SQL: a timestamp `text` whose second is 60 (`23:59:60Z`, `20:59:60-03:00`) as the
    instant after it, as PostgreSQL reads it, when it is a leap second: the last second of a
    UTC day. DuckDB casts no second 60; anywhere else it is no time (NULL). Evaluated only
    where the plain cast failed."""
    next_second = (
        f"TRY_CAST(regexp_replace({text}, '([T ][0-9]{{2}}:[0-9]{{2}}):60', '\\1:59') "
        "AS TIMESTAMPTZ) + INTERVAL 1 SECOND"
    )
    into_day = f"(epoch_us({next_second}) % {_MICROS_A_DAY} + {_MICROS_A_DAY}) % {_MICROS_A_DAY}"
    return (
        f"CASE WHEN regexp_matches({text}, '[T ][0-9]{{2}}:[0-9]{{2}}:60') "
        f"AND {into_day} < 1000000 THEN {next_second} END"
    )


def _field_sql(spec: RecordSpec, position: int, item: Field) -> tuple[str, str]:
    """(typed value, missing condition) for one field; a present value typed NULL is wrong.

    `texts_` holds each field's value as text (a string unescaped, any other value as its
    JSON text) and `types_` its JSON type (NULL: absent)."""
    text = f"struct_extract(texts_, {sql.string_literal(item.source)})"
    if spec.text_values:
        text = f"nullif({sql.stripped(text)}, '')"
        return _converted_sql(item.kind, text, from_text=True), f"{text} IS NULL"
    json_type = f"types_[{position}]"
    accepted = ", ".join(sql.string_literal(name) for name in _JSON_TYPES[item.kind])
    converted = _converted_sql(item.kind, text, from_text=False)
    typed = f"CASE WHEN {json_type} IN ({accepted}) THEN {converted} END"
    return typed, f"({json_type} IS NULL OR {json_type} = 'NULL')"


# DuckDB's JSON parser takes a comma before `}` or `]`, and NaN and Infinity as numbers;
# JSON has neither. A record is searched for them outside its strings only when its text
# holds one at all: a cheap scan of every record (about 0.2 s of a 270 MB CRM day), then an
# exact one of the few it finds. The case-insensitive spellings DuckDB also takes (`nan`,
# `inf`) are found only in fields the contract declares, as numbers that are not finite.
_TRAILING_COMMA = r",[ \t\n\r]*[}\]]"
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'


def _lenient_json_checks(document: str) -> list[str]:
    """CASE branches naming what only DuckDB's lenient parser takes in `document`."""
    outside_strings = f"regexp_replace({document}, {sql.string_literal(_JSON_STRING)}, '\"\"', 'g')"
    comma = sql.string_literal(_TRAILING_COMMA)
    return [
        f"WHEN regexp_matches({document}, {comma}) AND regexp_matches({outside_strings}, {comma}) "
        "THEN 'invalid JSON: a comma before a closing bracket'",
        f"WHEN (contains({document}, 'NaN') OR contains({document}, 'Infinity')) "
        f"AND regexp_matches({outside_strings}, 'NaN|Infinity') "
        "THEN 'invalid JSON: NaN and Infinity are not JSON numbers'",
    ]


def after_delivery_sql(time_column: str, field_name: str, day_column: str = "date") -> str:
    """SQL: a reason when `time_column` lies after the end of the day after the record's
    delivery day (`day_column`, its landing folder), else NULL. A day's file holds what
    happened that day, and a day of slack covers an export named by its local date: a time
    later still is a clock or a year typed wrong (`2150-01-03`), which would count a call
    of the future, or date a ticket into a gold partition of its own."""
    limit = f"(({day_column} + INTERVAL 2 DAY)::TIMESTAMP AT TIME ZONE 'UTC')"
    reason = sql.string_literal(f'field "{field_name}" is after the day after its file\'s day')
    return f"CASE WHEN {time_column} >= {limit} THEN {reason} END"


# The largest amount of money a record may carry, in its source currency: a trillion, far
# above any real deal or upsell. A sum of millions of such amounts stays finite and within
# a cent (float64 is exact to the cent up to about 9e13), where two deals of 1e308, each
# finite, summed to infinity and reached gold as `inf`.
MAX_MONEY = 1e12


def money_reason_sql(column: str, field_name: str) -> str:
    """SQL: a reason when the amount of money in `column` is negative or above `MAX_MONEY`,
    else NULL (a null amount has no reason)."""
    negative = sql.string_literal(f'field "{field_name}" is negative')
    too_large = sql.string_literal(f'field "{field_name}" is above 1e12 (a trillion)')
    return (
        f"CASE WHEN {column} < 0 THEN {negative} "
        f"WHEN {column} > {MAX_MONEY:.0f} THEN {too_large} END"
    )


# What DuckDB's parser says of a record it could not read: no more. `explain_invalid_json`
# adds Python's reason, for the few records quarantined with it.
INVALID_JSON = "invalid JSON"


# What a CSV file in a table whose values land typed (JSON, `RecordSpec.text_values` off)
# is told: each of its numbers, text as every CSV value, was "not an integer" with nothing
# saying why (seen in a newcomer's audit, a CRM export saved as CSV).
CSV_IN_TYPED_TABLE = (
    "a CSV file's values are text, and this table lands as JSON, whose numbers and "
    "booleans are not quoted"
)
_NOT_UNQUOTED_KIND = tuple(f"is not {_KIND_NAMES[kind]}" for kind in ("int", "number", "bool"))


def explain_csv_in_typed_table(reason: str | None, source_file: str) -> str | None:
    """`reason`, for a record of a CSV file in a table whose values land typed, with why
    its number or boolean is not one."""
    if reason and reason.endswith(_NOT_UNQUOTED_KIND) and source_file.lower().endswith(".csv"):
        return f"{reason} ({CSV_IN_TYPED_TABLE})"
    return reason


def explain_invalid_json(reason: str | None, raw: str | None) -> str | None:
    """`reason`, with why the record is not JSON when DuckDB only said `invalid JSON`: Python's
    message and column (`invalid JSON: Expecting ',' delimiter (column 24)`), as a `.json`
    file's element gets from its reader. A record Python reads but DuckDB did not holds a
    lone UTF-16 surrogate escape (`\\ud800`), which is no character."""
    if reason != INVALID_JSON or raw is None:
        return reason
    try:
        json.loads(raw)
    except json.JSONDecodeError as error:
        where = (
            f"column {error.colno}"
            if error.lineno == 1
            else f"line {error.lineno} column {error.colno} of the record"
        )
        return f"{INVALID_JSON}: {error.msg} ({where})"
    except RecursionError:
        return f"{INVALID_JSON}: nested too deeply to read"
    if _LONE_SURROGATE.search(raw):
        return f"{INVALID_JSON}: a string escapes a lone UTF-16 surrogate, which is no character"
    return reason


_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def parse_sql(
    spec: RecordSpec,
    bronze_schema: str,
    bronze_table: str,
    dates: Sequence[date],
    files: Sequence[str] | None = None,
) -> str:
    """A SELECT of typed columns and `reject_reason` over the given bronze partitions (and
    only the given files of them, if `files`).

    Each field is typed once, in `fields`; the reason then reads the typed columns."""
    paths = ", ".join(json_path(item.source) for item in spec.fields)
    typed_columns, columns, checks = [], [], []
    for position, item in enumerate(spec.fields, start=1):
        typed, missing = _field_sql(spec, position, item)
        column = sql.quote_identifier(item.column)
        is_missing = sql.quote_identifier(f"__missing_{position}")
        typed_columns += [f"{typed} AS {column}", f"{missing} AS {is_missing}"]
        columns.append(column)
        quoted_name = item.source.replace("'", "''")
        if item.required:
            checks.append(f"WHEN {is_missing} THEN 'missing required field \"{quoted_name}\"'")
        checks.append(
            f"WHEN NOT {is_missing} AND {column} IS NULL THEN "
            f"'field \"{quoted_name}\" is not {_KIND_NAMES[item.kind]}'"
        )
    # Last: a field the contract declares names its own problem (`"Amount": NaN` is not a
    # number); what is left is JSON that DuckDB's lenient parser took.
    lenient = [] if spec.text_values else _lenient_json_checks("document")
    reason = "\n".join(
        [
            "CASE WHEN read_error IS NOT NULL THEN read_error",
            f"WHEN __unparsed THEN '{INVALID_JSON}'",
            "WHEN __not_object THEN 'not a JSON object'",
            f"WHEN __untransformed THEN '{INVALID_JSON}'",
            *checks,
            *lenient,
            "END",
        ]
    )
    # Two passes of the JSON parser per record (the value types, then every value as text)
    # cost about half of one `json_extract` of all paths plus a parse of each value.
    return f"""
        WITH extracted AS (
            SELECT date, source_file, line_number, read_error,
                   coalesce(record, raw) AS document,
                   CASE WHEN read_error IS NULL
                        THEN try(json_type(coalesce(record, raw), [{paths}])) END AS types_,
                   CASE WHEN read_error IS NULL
                        THEN try(json_transform(coalesce(record, raw), {_structure(spec)}))
                   END AS texts_
            FROM {sql.qualified(bronze_schema, bronze_table)}
            WHERE {sql.in_days(dates)} AND {sql.in_files(files)}
        ),
        fields AS (
            SELECT date, source_file, line_number, read_error, document,
                   types_ IS NULL AS __unparsed,
                   NOT starts_with(ltrim(document, ' ' || chr(9) || chr(10) || chr(13)), '{{')
                       AS __not_object,
                   -- an object the transform could not read is never taken as one missing
                   -- every field (`null` transforms to NULL too, but is not an object)
                   texts_ IS NULL AND NOT __not_object AS __untransformed,
                   {", ".join(typed_columns)}
            FROM extracted
        )
        SELECT date, source_file, line_number,
               {reason} AS reject_reason,
               {", ".join(columns)}
        FROM fields
    """


def parse_bronze(
    con: duckdb.DuckDBPyConnection,
    spec: RecordSpec,
    bronze_schema: str,
    bronze_table: str,
    dates: Sequence[date],
    into: str,
    files: Sequence[str] | None = None,
    seen_keys: str | None = None,
    kept_keys: str | None = None,
    unranked: str | None = None,
) -> None:
    """Name `into` (on `con`; `con.unregister(into)` drops it) every bronze record of
    `dates`, typed, with reject_reason.

    With a `unique_key`, the first record of a key in a day (by file, then line) is kept and
    later ones are rejected, naming where the first one was. With `unique_across_days`, so is
    a key first delivered on an earlier day of `dates`, or in `kept_keys` (a query of the key
    columns and `date` of the records kept on the other days), naming that day.

    A day may be typed a part at a time: `files` (in file order, each part after the
    previous one) and `seen_keys`, a temp table this keeps of the first record of every key
    typed so far, so a key first delivered in an earlier part is still a duplicate here.

    `unranked`: a table of (source_file, line_number) of records that take no part in the
    ranking (records a later stage quarantined for a reason of their own: a bad first copy
    does not make a good later one a duplicate; see `steps._silver_chunk`).
    """
    # Arrow rather than a temp table: DuckDB scans a table one row group (122,880 rows) per
    # thread, so the domain's rules over a part (about 120,000 records, one row group) ran
    # on one core; Arrow batches are scanned in parallel.
    typed = con.sql(parse_sql(spec, bronze_schema, bronze_table, dates, files)).to_arrow_table()
    if spec.unique_key:
        typed = with_duplicates_rejected(con, spec, typed, seen_keys, kept_keys, unranked)
    con.register(into, typed)
