"""Pandera inside the asset, not as a Dagster type.

dagster-pandera's type check validates and then passes on the *uncoerced* frame, and on
failure writes every failing value (personal data included) into the event log. Here a
model validates lazily, the coerced frame is kept, failing rows are split off with a
reason (column and check, never the value) for quarantine, and the event log gets counts.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pyarrow
from dagster import TableColumn, TableColumnConstraints, TableSchema
from pandera.errors import SchemaErrors

from cx_assets.lakehouse.schemas import readable_check


def mark_absent_if_not_installed(module: str) -> bool:
    """Record `module` as absent (`sys.modules[module] = None`) when it is not installed, so
    an `import` of it fails at once instead of searching every entry of `sys.path` again.

    Pandera asks whether each dtype it resolves is geopandas' by importing geopandas inside
    a `try`, and Python caches no failed import: 0.1 ms a time, 250-300 times a digital or
    CRM day (before and during its steps), thousands in the tests. A `None` entry is
    Python's documented way to make an import fail (`ModuleNotFoundError`); nothing changes
    where the module is installed or already imported. True if it was marked."""
    if module in sys.modules or importlib.util.find_spec(module) is not None:
        return False
    sys.modules[module] = None
    return True


mark_absent_if_not_installed("geopandas")


class SchemaViolation(ValueError):
    """A frame that does not have the model's shape (names columns and checks, no values)."""


@dataclass(frozen=True)
class Validated:
    frame: pd.DataFrame  # rows that passed, coerced to the model's types
    rejects: pd.DataFrame  # rows that failed, as given, plus a `reason` column


def validate(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> Validated:
    schema = model.to_schema()
    try:
        return Validated(schema.validate(frame, lazy=True), frame.iloc[0:0].assign(reason=""))
    except SchemaErrors as errors:
        cases = errors.failure_cases
        row_cases = cases[cases["index"].notna()]
        if len(row_cases) < len(cases):
            # A missing column or an uncoercible dtype is the pipeline's bug, not the data's.
            # Pandera's message quotes failing values: report columns and checks only.
            problems = sorted(
                {_column_problem(case) for case in cases.itertuples() if pd.isna(case.index)}
            )
            raise SchemaViolation(f"{model.__name__}: {'; '.join(problems)}") from None
        # A dataframe-wide check fails the record, not each column Pandera lists it under.
        whole_record = row_cases["schema_context"] == "DataFrameSchema"
        reasons = (
            row_cases.assign(
                reason=("column '" + row_cases["column"].astype(str) + "' failed ").where(
                    ~whole_record, "record failed "
                )
                + row_cases["check"].astype(str).map(readable_check)
            )
            .groupby("index")["reason"]
            .agg(_distinct_joined)
        )
        bad_index = frame.index.isin(reasons.index)
        rejects = frame[bad_index].assign(reason=reasons.reindex(frame.index[bad_index]).values)
        good = schema.validate(frame[~bad_index], lazy=True)
        return Validated(good, rejects)


def _column_problem(case: Any) -> str:
    # For a missing column Pandera puts the schema's name in `column` and the missing
    # column's name in `failure_case` (a name, never a value).
    if case.check == "column_in_dataframe":
        return f"column '{case.failure_case}' is missing"
    return f"{case.column}: {case.check}"


def column_schema(model: type[pa.DataFrameModel]) -> TableSchema:
    """The model's columns, types and descriptions, as Dagster shows them."""
    return TableSchema(
        columns=[
            TableColumn(
                name=name,
                type=str(column.dtype),
                description=column.description,
                constraints=TableColumnConstraints(
                    nullable=column.nullable,
                    unique=column.unique,
                    other=[check.error or check.name for check in column.checks],
                ),
            )
            for name, column in model.to_schema().columns.items()
        ]
    )


# pandas keeps strings and dates as Python objects; an empty object column tells Arrow (and
# so DuckDB) nothing about its type, and a table created from it gets a NULL-typed column.
_ARROW_DTYPES = {"str": pd.ArrowDtype(pyarrow.string()), "date": pd.ArrowDtype(pyarrow.date32())}


def ordered(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """The model's columns in the model's order (extra working columns dropped), with
    string and date columns that hold no value typed explicitly, so even an empty frame
    has a full schema (a column with values is typed by them, without a costly copy)."""
    columns = model.to_schema().columns
    # Taking the columns makes a new frame already; a shallow copy only drops pandas' mark
    # of a slice (and its warning on assignment). A deep one copied and consolidated every
    # column again: 23 -> 15 ms for digital's 53,000-row journey timeline.
    result = frame[list(columns)].copy(deep=False)
    for name, column in columns.items():
        arrow_dtype = _ARROW_DTYPES.get(str(column.dtype))
        if arrow_dtype is not None and result[name].isna().all():
            result[name] = result[name].astype(arrow_dtype)
    return result


def _distinct_joined(reasons: pd.Series) -> str:
    return "; ".join(sorted(set(reasons)))
