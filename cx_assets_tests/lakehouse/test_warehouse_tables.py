"""What is asked of the warehouse's tables (`warehouse_tables`): whether a table or view
exists, its columns in order, how many rows it holds of some days, and a fingerprint of a
day's rows, on a real warehouse file as the lakehouse asks them."""

from __future__ import annotations

import pytest

from cx_assets.lakehouse.warehouse_tables import (
    count_rows,
    day_rows_fingerprints,
    table_columns,
    table_exists,
)
from cx_assets_tests.lakehouse.warehouse_rows import D1, D2, D3, seed, warehouse_cursor

con = pytest.fixture(warehouse_cursor, name="con")


def test_tables_views_and_temporary_tables_exist_and_list_their_columns_in_order(con):
    con.execute("CREATE SCHEMA silver")
    con.execute("CREATE TABLE silver.t (date DATE, id BIGINT, name VARCHAR)")
    con.execute("CREATE VIEW silver.v AS SELECT name, id FROM silver.t")
    con.execute("CREATE TEMP TABLE scratch (score DOUBLE)")

    assert table_exists(con, "silver", "t")
    assert table_exists(con, "silver", "v")
    assert table_exists(con, "main", "scratch")
    assert not table_exists(con, "silver", "missing")
    assert not table_exists(con, "gold", "t")  # another schema's name
    assert not table_exists(con, "main", "sqlite_master")  # DuckDB's own view
    assert table_columns(con, "silver", "t") == [
        ("date", "DATE"), ("id", "BIGINT"), ("name", "VARCHAR"),
    ]  # fmt: skip
    assert table_columns(con, "silver", "v") == [("name", "VARCHAR"), ("id", "BIGINT")]
    assert table_columns(con, "silver", "missing") == []


def test_count_rows_and_table_exists(con):
    assert not table_exists(con, "silver", "t")
    assert count_rows(con, "silver", "t") == 0
    assert count_rows(con, "silver", "t", [D1]) == 0
    seed(con)
    assert table_exists(con, "silver", "t")
    assert not table_exists(con, "gold", "t")
    assert count_rows(con, "silver", "t") == 4
    assert count_rows(con, "silver", "t", [D1]) == 3
    assert count_rows(con, "silver", "t", [D1, D2]) == 4
    assert count_rows(con, "silver", "t", [D3]) == 0
    assert count_rows(con, "silver", "t", []) == 0


def test_a_days_fingerprint_ignores_when_its_rows_were_read_and_nothing_else(con):
    """Seen in an audit: bronze contacts' `ingested_at`, stamped by every run, made a day
    run again on the same files look changed, and later days were named out of date. Each
    day has its own fingerprint, a day without rows one too."""
    con.execute("CREATE SCHEMA bronze")

    def fingerprints(rows: str) -> dict:
        con.execute(
            "CREATE OR REPLACE TABLE bronze.t AS SELECT * FROM (VALUES " + rows + ") "
            "AS v(date, raw, ingested_at)"
        )
        return day_rows_fingerprints(con, "bronze", "t", ["2024-01-05", "2024-01-06", "2024-01-07"])

    day, other = "DATE '2024-01-05'", "DATE '2024-01-06'"
    first = fingerprints(f"({day}, 'a', TIMESTAMP '2024-01-05 10:00'), ({other}, 'x', NULL)")
    assert first["2024-01-05"][0] == 1 and first["2024-01-07"] == [0, None]
    again = fingerprints(f"({day}, 'a', TIMESTAMP '2024-01-07 11:00'), ({other}, 'y', NULL)")
    assert again["2024-01-05"] == first["2024-01-05"] and again["2024-01-06"] != first["2024-01-06"]
    other_text = fingerprints(f"({day}, 'b', TIMESTAMP '2024-01-05 10:00'), ({other}, 'x', NULL)")
    assert other_text["2024-01-05"] != first["2024-01-05"]
    assert other_text["2024-01-06"] == first["2024-01-06"]
    assert day_rows_fingerprints(con, "bronze", "absent", ["2024-01-05"]) is None
