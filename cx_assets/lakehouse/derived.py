"""Rows the pipeline derives (gold, and silver tables built from other silver), never landed,
validated against their Pandera model: `query_validated` for the rows of a SQL query over the
warehouse, `validate_derived` for a frame. A failing row is a bug, so it fails the step, with
column and check, never values.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pyarrow

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.schema_sql import Untranslatable, model_sql
from cx_assets.lakehouse.validation import ordered, validate
from cx_assets.lakehouse.warehouse import Warehouse

# The temp table holding a derived (gold) query's rows while they are checked.
DERIVED = "derived_rows"


def validate_derived(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """Rows derived by the pipeline (gold, and silver tables built from other silver), never
    landed: a failing row is a bug, so it fails the step (with column and check, never values)."""
    validated = validate(model, frame)
    if not validated.rejects.empty:
        reasons = quarantine.reason_counts(validated.rejects)
        raise ValueError(f"{len(validated.rejects)} rows break {model.__name__}: {reasons}")
    return ordered(model, validated.frame)


def query_validated(warehouse: Warehouse, sql: str, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """The rows of one SQL query over the warehouse, validated against `model`.

    The model's checks run as SQL where they translate (`schema_sql`), and so does Pandera's
    coercion, as the casts to the types it would coerce to, as silver does (`_model_frame`).
    A gold step's Pandera validation cost 3-10 times as much (0.5 s of a digital day). The
    error names the same reasons; a model that does not translate is validated by Pandera.
    """
    with warehouse.connect() as con:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {DERIVED} AS {sql}")
        try:
            types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {DERIVED}").fetchall()}
            try:
                if set(model.to_schema().columns) - set(types):
                    raise Untranslatable("missing columns: Pandera names them")
                rendered = model_sql(model, types)
            except Untranslatable:
                return validate_derived(model, con.execute(f"SELECT * FROM {DERIVED}").df())
            failures = con.execute(
                f"SELECT reason, count(*) FROM (SELECT {rendered.reason} AS reason "
                f"FROM {DERIVED}) WHERE reason IS NOT NULL GROUP BY reason ORDER BY count(*) DESC, reason"
            ).fetchall()
            if failures:
                reasons = {reason: count for reason, count in failures}
                raise ValueError(f"{sum(reasons.values())} rows break {model.__name__}: {reasons}")
            rows = con.sql(f"SELECT {rendered.casts} FROM {DERIVED}").to_arrow_table()
        finally:
            con.execute(f"DROP TABLE IF EXISTS {DERIVED}")
    return _model_frame(model, rows)


def _model_frame(model: type[pa.DataFrameModel], rows: pyarrow.Table) -> pd.DataFrame:
    """Rows already of the model's types (its casts) as the frame Pandera's coercion gives,
    the one gold's Parquet has always been written from (pandas readers get its dtypes back
    from the file): Arrow's own conversion, and a conversion to the model's dtype only for
    the columns Arrow's does not give it (a nullable integer or boolean). Pandera coercing
    every column (each text converted to `str` again) cost 0.3 s of digital's 53,000-row
    journey timeline; `test_gold_validation` holds the two frames equal."""
    frame = rows.to_pandas()
    for name, column in model.to_schema().columns.items():
        expected = column.dtype.type
        arrow_gave = frame[name].dtype
        if arrow_gave == expected or (str(column.dtype) == "str" and arrow_gave.kind == "O"):
            continue
        if isinstance(expected, pd.api.extensions.ExtensionDtype):
            # From Arrow itself: via float64, an integer past 2**53 would lose its last digits.
            as_expected = {rows.schema.field(name).type: expected}.get
            frame[name] = rows.column(name).to_pandas(types_mapper=as_expected)
        else:
            frame[name] = frame[name].astype(expected)
    return ordered(model, frame)
