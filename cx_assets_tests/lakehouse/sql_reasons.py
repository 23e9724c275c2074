"""A table of hand-made rows and the reasons each row is rejected, once by the SQL
`schema_sql.model_sql` renders and once by Pandera (`validation.validate`), for the tests of
more than one module (`test_validation_sql`, `test_validation_sql_models`): they compare the
two."""

from __future__ import annotations

from cx_assets.lakehouse.schema_sql import model_sql
from cx_assets.lakehouse.validation import validate


def relation(con, model_types: dict[str, str], rows: list[dict]) -> str:
    """A temp table of `rows` (plus `row_id`) with the given column types."""
    con.execute("DROP TABLE IF EXISTS rows_")
    columns = ", ".join(f'"{name}" {kind}' for name, kind in model_types.items())
    con.execute(f"CREATE TEMP TABLE rows_ (row_id INTEGER, {columns})")
    for row_id, row in enumerate(rows):
        values = [row.get(name) for name in model_types]
        con.execute(
            f"INSERT INTO rows_ VALUES ({', '.join('?' * (len(values) + 1))})", [row_id, *values]
        )
    return "rows_"


def sql_reasons(con, model, table: str) -> dict[int, str]:
    types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
    rendered = model_sql(model, types)
    found = con.execute(f"SELECT row_id, {rendered.reason} FROM {table}").fetchall()
    return {row_id: reason for row_id, reason in found if reason is not None}


def pandera_reasons(con, model, table: str) -> dict[int, str]:
    frame = con.execute(f"SELECT * FROM {table} ORDER BY row_id").df()
    rejects = validate(model, frame).rejects
    return dict(zip(rejects["row_id"].tolist(), rejects["reason"].tolist(), strict=True))
