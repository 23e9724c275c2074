"""A silver step's candidate rows against their Pandera model, in SQL where every check of
the model renders (`schema_sql`), else with Pandera itself: the good rows, cast to the
model's types in its column order, and each failing row's file, line and reason. Rows a
domain rule rejected (a reason in `RULE_REASON`) are neither."""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow

from cx_assets.lakehouse.schema_sql import Untranslatable, model_sql
from cx_assets.lakehouse.validation import SchemaViolation, ordered, validate
from cx_assets.lakehouse.warehouse import as_arrow

# The column of a domain's silver query giving a rule's reason to quarantine a record.
RULE_REASON = "reject_reason"


def validated(
    con: duckdb.DuckDBPyConnection, candidates: str, model: type[pa.DataFrameModel]
) -> tuple[pyarrow.Table, pd.DataFrame, bool]:
    """The table `candidates` against `model`: the good rows, the failing ones' (file, line,
    reason), and whether the domain's query gave a rule's reason. A column of the model the
    query does not give is a bug in the query, not in a record: it fails the step."""
    source_types = {
        name: kind for name, kind, *_ in con.execute(f"DESCRIBE {candidates}").fetchall()
    }
    missing = [name for name in model.to_schema().columns if name not in source_types]
    if missing:
        problems = "; ".join(f"column '{name}' is missing" for name in missing)
        raise SchemaViolation(f"{model.__name__}: {problems}")
    has_rule = RULE_REASON in source_types
    try:
        rows, model_rejects = _validated_in_sql(con, candidates, model, source_types, has_rule)
    except Untranslatable:
        rows, model_rejects = _validated_in_pandas(con, candidates, model, has_rule)
    return rows, model_rejects, has_rule


def _validated_in_sql(
    con: duckdb.DuckDBPyConnection,
    candidates: str,
    model: type[pa.DataFrameModel],
    source_types: Mapping[str, str],
    has_rule: bool,
) -> tuple[pyarrow.Table, pd.DataFrame]:
    """Rows passing the model (cast to its types, in its column order, in the query's row
    order) and the failing ones' (file, line, reason); rows a rule rejected are neither."""
    kept = f"{RULE_REASON} IS NULL" if has_rule else "TRUE"
    rendered = model_sql(model, source_types, where=kept)
    checked = (
        f"SELECT *, rowid AS __row, {rendered.reason} AS __reason FROM {candidates} WHERE {kept}"
    )
    rejects = con.execute(
        f"SELECT source_file, line_number, __reason AS reason FROM ({checked}) "
        f"WHERE __reason IS NOT NULL"
    ).df()
    # A window (uniqueness) may reorder rows: restore the query's order.
    order = "ORDER BY __row" if rendered.uses_windows else ""
    rows = con.sql(
        f"SELECT {rendered.casts} FROM ({checked}) WHERE __reason IS NULL {order}"
    ).to_arrow_table()
    return rows, rejects


def _validated_in_pandas(
    con: duckdb.DuckDBPyConnection, candidates: str, model: type[pa.DataFrameModel], has_rule: bool
) -> tuple[pyarrow.Table, pd.DataFrame]:
    """The same with Pandera, for a model `schema_sql` cannot render."""
    where = f"WHERE {RULE_REASON} IS NULL" if has_rule else ""
    frame = con.execute(f"SELECT * FROM {candidates} {where}").df()
    if has_rule:
        frame = frame.drop(columns=RULE_REASON)
    validated = validate(model, frame)
    rows = as_arrow(ordered(model, validated.frame))
    return rows, validated.rejects[["source_file", "line_number", "reason"]]
