"""A warehouse file in a test's temporary folder, a cursor on it, the days written and the
rows seeded into it, for the warehouse tests of more than one module (`test_warehouse`,
`test_warehouse_file`, `test_warehouse_tables`).

The fixtures are plain functions each module makes its own (`con =
pytest.fixture(warehouse_cursor, name="con")`, `warehouse = pytest.fixture(
temporary_warehouse, name="warehouse")`): a `con` in this folder's conftest would replace
the shared one (cx_assets_tests/conftest.py) in every module here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pandas as pd

from cx_assets.lakehouse.warehouse import Warehouse, replace_rows

D1, D2, D3 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)


def temporary_warehouse(tmp_path) -> Warehouse:
    return Warehouse(path=str(tmp_path / "warehouse.duckdb"))


def warehouse_cursor(tmp_path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the test's `temporary_warehouse`."""
    with temporary_warehouse(tmp_path).connect() as connection:
        yield connection


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def seed(con) -> None:
    """Two days: D1 has ids 1-3, D2 has id 10."""
    frame = pd.DataFrame(
        {"date": [D1, D1, D1, D2], "id": [1, 2, 3, 10], "name": ["a", "b", "c", "j"]}
    )
    assert replace_rows(con, "silver", "t", frame, [D1, D2]) == 4
