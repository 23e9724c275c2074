"""Bronze rows added by hand and typed by `parse_bronze`, for the tests of more than one
module (`test_parsing`, `test_duplicate_keys`, `test_strict_values`): the bronze table, the
specs and the good record they share, and the helpers that add a row and read typed rows
back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import duckdb

from cx_assets.lakehouse.parsing import Field, RecordSpec, parse_bronze

DAY = date(2024, 1, 5)
NEXT_DAY = date(2024, 1, 6)
FILE_A = "landing/crm/interactions/2024-01-05/a.jsonl"

SPEC = RecordSpec(
    fields=[
        Field("Id", "id", "int"),
        Field("Name", "name", "str"),
        Field("Date", "occurred_at", "timestamp"),
        Field("Note", "note", "str", required=False),
        Field("Amount", "amount", "number", required=False),
    ]
)
GOOD = {"Id": 1, "Name": "Ana", "Date": "2024-01-05T10:00:00Z"}
KEYED = RecordSpec(fields=SPEC.fields, unique_key=("id",))

CSV_SPEC = RecordSpec(
    fields=[
        Field("id", "id", "int"),
        Field("name", "name", "str"),
        Field("at", "at", "timestamp"),
        Field("score", "score", "number", required=False),
        Field("tenure", "tenure", "int", required=False),
    ],
    text_values=True,
)


def bronze_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB whose session is UTC, as `Warehouse.connect` makes it, with an
    empty `bronze.t`: each module's `con` fixture (`con = pytest.fixture(bronze_connection,
    name="con")`). A `con` in this folder's conftest would replace the shared one
    (cx_assets_tests/conftest.py) in every module here."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("CREATE SCHEMA bronze")
    connection.execute(
        "CREATE TABLE bronze.t (date DATE, source_file VARCHAR, line_number BIGINT, "
        "ingested_at TIMESTAMPTZ, raw VARCHAR, record VARCHAR, read_error VARCHAR)"
    )
    yield connection
    connection.close()


def add(
    con,
    raw: str | dict,
    *,
    line: int,
    file: str = FILE_A,
    day: date = DAY,
    record: str | dict | None = None,
    read_error: str | None = None,
) -> None:
    raw_text = raw if isinstance(raw, str) else json.dumps(raw)
    record_text = record if record is None or isinstance(record, str) else json.dumps(record)
    con.execute(
        "INSERT INTO bronze.t VALUES (?, ?, ?, TIMESTAMPTZ '2024-01-06 00:00:00+00', ?, ?, ?)",
        [day, file, line, raw_text, record_text, read_error],
    )


def parse(con, spec: RecordSpec = SPEC, dates=(DAY,)) -> list[dict]:
    parse_bronze(con, spec, "bronze", "t", list(dates), into="typed")
    cursor = con.execute("SELECT * FROM typed ORDER BY date, source_file, line_number")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def reasons(rows: list[dict]) -> dict[int, str | None]:
    return {row["line_number"]: row["reject_reason"] for row in rows}


def csv_row(con, line: int, **values: str) -> None:
    record = {"id": "1", "name": "Ana", "at": "2024-01-05 10:00:00", **values}
    add(con, ",".join(record.values()), line=line, record=record)
