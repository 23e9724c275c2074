"""Typing bronze records against a landing contract, in DuckDB SQL.

A `RecordSpec` lists the fields a landed record must carry and their types. `parse_bronze`
turns one bronze table's partitions into a temporary table with a typed column per field
(the record's original text stays in bronze) plus `reject_reason`: null for a good record, otherwise the first problem found (reader
error, invalid JSON, missing required field, wrong type, duplicate key). Good and bad rows
leave together so nothing is dropped silently: bad ones go to quarantine.

Each record's JSON is parsed once (`json_extract` with a list of paths), which keeps a
300 MB day of CRM interactions to a second or two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import duckdb

from cx_assets.lakehouse import sql

Kind = Literal["int", "number", "str", "timestamp", "date", "bool"]

_SQL_TYPE: dict[str, str] = {
    "int": "BIGINT",
    "number": "DOUBLE",
    "str": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
    "bool": "BOOLEAN",
}
# JSON value types accepted for each kind (DuckDB's json_type names).
_JSON_TYPES: dict[str, tuple[str, ...]] = {
    "int": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "str": ("VARCHAR",),
    "timestamp": ("VARCHAR",),
    "date": ("VARCHAR",),
    "bool": ("BOOLEAN",),
}
_KIND_NAMES = {
    "int": "an integer",
    "number": "a number",
    "str": "a string",
    "timestamp": "an ISO-8601 timestamp",
    "date": "a YYYY-MM-DD date",
    "bool": "true or false",
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


def _json_path(name: str) -> str:
    return sql.string_literal('$."' + name.replace('"', '\\"') + '"')


def _field_sql(spec: RecordSpec, position: int, item: Field) -> tuple[str, str, str]:
    """(value expression, missing condition, wrong-type condition) for one field."""
    value = f"values_[{position}]"
    sql_type = _SQL_TYPE[item.kind]
    if spec.text_values:
        text = f"nullif(trim(json_extract_string({value}, '$')), '')"
        typed = text if item.kind == "str" else f"TRY_CAST({text} AS {sql_type})"
        if item.kind == "int":
            # DuckDB rounds '1.5' to 2 when casting to BIGINT: only whole numbers are integers.
            typed = f"CASE WHEN regexp_full_match({text}, '[+-]?[0-9]+') THEN {typed} END"
        missing = f"{text} IS NULL"
        wrong = f"{typed} IS NULL"
    else:
        json_type = f"json_type({value})"
        accepted = ", ".join(sql.string_literal(name) for name in _JSON_TYPES[item.kind])
        text = f"json_extract_string({value}, '$')"
        converted = text if item.kind == "str" else f"TRY_CAST({text} AS {sql_type})"
        typed = f"CASE WHEN {json_type} IN ({accepted}) THEN {converted} END"
        missing = f"({value} IS NULL OR {json_type} = 'NULL')"
        wrong = f"{typed} IS NULL"
    return typed, missing, wrong


def parse_sql(
    spec: RecordSpec, bronze_schema: str, bronze_table: str, dates: Sequence[date]
) -> str:
    """A SELECT of typed columns and `reject_reason` over the given bronze partitions."""
    paths = ", ".join(_json_path(item.source) for item in spec.fields)
    typed_columns, checks = [], []
    for position, item in enumerate(spec.fields, start=1):
        typed, missing, wrong = _field_sql(spec, position, item)
        typed_columns.append(f"{typed} AS {sql.quote_identifier(item.column)}")
        quoted_name = item.source.replace("'", "''")
        if item.required:
            checks.append(f"WHEN {missing} THEN 'missing required field \"{quoted_name}\"'")
        checks.append(
            f"WHEN NOT ({missing}) AND {wrong} THEN "
            f"'field \"{quoted_name}\" is not {_KIND_NAMES[item.kind]}'"
        )
    reason = "\n".join(
        [
            "CASE WHEN read_error IS NOT NULL THEN read_error",
            "WHEN values_ IS NULL THEN 'invalid JSON'",
            "WHEN NOT starts_with(ltrim(document, ' ' || chr(9) || chr(10) || chr(13)), '{') "
            "THEN 'not a JSON object'",
            *checks,
            "END",
        ]
    )
    return f"""
        WITH extracted AS (
            SELECT date, source_file, line_number, read_error,
                   coalesce(record, raw) AS document,
                   CASE WHEN read_error IS NULL
                        THEN try(json_extract(coalesce(record, raw), [{paths}])) END AS values_
            FROM {sql.qualified(bronze_schema, bronze_table)}
            WHERE {sql.in_days(dates)}
        )
        SELECT date, source_file, line_number,
               {reason} AS reject_reason,
               {", ".join(typed_columns)}
        FROM extracted
    """


def parse_bronze(
    con: duckdb.DuckDBPyConnection,
    spec: RecordSpec,
    bronze_schema: str,
    bronze_table: str,
    dates: Sequence[date],
    into: str,
) -> None:
    """Create temp table `into` with every bronze record of `dates`, typed, with reject_reason.

    With a `unique_key`, the first record of a key in a day (by file, then line) is kept and
    later ones are rejected, naming where the first one was.
    """
    select = parse_sql(spec, bronze_schema, bronze_table, dates)
    if spec.unique_key:
        # One window pass: good records of the same key and day rank by file, then line.
        key = ", ".join(sql.quote_identifier(column) for column in spec.unique_key)
        key_names = ", ".join(spec.unique_key)
        select = f"""
            SELECT * EXCLUDE (occurrence, first_file, first_line) REPLACE (
                CASE WHEN reject_reason IS NULL AND occurrence > 1
                     THEN 'duplicate {key_names} (first seen at ' || first_file || ':'
                          || first_line || ')'
                     ELSE reject_reason END AS reject_reason)
            FROM (
                SELECT *,
                       row_number() OVER w AS occurrence,
                       first_value(source_file) OVER w AS first_file,
                       first_value(line_number) OVER w AS first_line
                FROM ({select})
                WINDOW w AS (PARTITION BY date, reject_reason IS NULL, {key}
                             ORDER BY source_file, line_number)
            )
        """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {sql.quote_identifier(into)} AS {select}")
