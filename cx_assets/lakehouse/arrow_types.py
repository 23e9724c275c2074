"""Arrow type normalisation shared by the warehouse and the Parquet writer: every
timestamp in the lakehouse is UTC with microsecond precision (pandas works in nanoseconds,
which DuckDB would store as TIMESTAMPTZ_NS and Spark/BI tools reject in Parquet), and the
partition column is a DATE; and a frame's pandas metadata records every text and date
column as pandas gives one with values (`object`)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from cx_assets.lakehouse.sql import PARTITION_COLUMN


def _truncating_cast(column, target: pa.DataType):
    """Cast, dropping precision below the target unit (nanoseconds to microseconds)."""
    return pc.cast(column, options=pc.CastOptions(target, allow_time_truncate=True))


def normalise(table: pa.Table) -> pa.Table:
    fields = []
    for field in table.schema:
        if field.name == PARTITION_COLUMN and pa.types.is_timestamp(field.type):
            fields.append(field.with_type(pa.date32()))
        elif pa.types.is_timestamp(field.type):
            fields.append(field.with_type(pa.timestamp("us", tz="UTC")))
        else:
            fields.append(field)
    target = pa.schema(fields, metadata=table.schema.metadata)
    if target == table.schema:
        return table
    columns = []
    for field, column in zip(target, table.columns, strict=True):
        if pa.types.is_date32(field.type) and pa.types.is_timestamp(column.type):
            column = _truncating_cast(column, pa.timestamp("us"))
        columns.append(_truncating_cast(column, field.type))
    return pa.Table.from_arrays(columns, schema=target)


# What `validation.ordered` types a text or date column without a value as (so Arrow knows
# its type), as pandas names it in the metadata it writes.
_ARROW_BACKED = {"string[pyarrow]", "date32[day][pyarrow]"}


def with_object_pandas_types(table: pa.Table) -> pa.Table:
    """`table` with its pandas metadata naming text and date columns `object`, as a column
    with values has them. A day whose text column had no value was recorded as
    `string[pyarrow]`, so pandas read that day's file back with other dtypes than the other
    days' (seen in an audit: an empty support day rewritten by a later run)."""
    raw = (table.schema.metadata or {}).get(b"pandas")
    if raw is None:
        return table
    pandas_metadata = json.loads(raw)
    changed = [
        column for column in pandas_metadata["columns"] if column.get("numpy_type") in _ARROW_BACKED
    ]
    if not changed:
        return table
    for column in changed:
        column["numpy_type"] = "object"
    return table.replace_schema_metadata(
        {**table.schema.metadata, b"pandas": json.dumps(pandas_metadata).encode()}
    )
