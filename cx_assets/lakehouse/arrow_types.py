"""Arrow type normalisation shared by the warehouse and the Parquet writer: every
timestamp in the lakehouse is UTC with microsecond precision (pandas works in nanoseconds,
which DuckDB would store as TIMESTAMPTZ_NS and Spark/BI tools reject in Parquet), and the
partition column is a DATE."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from cx_assets.lakehouse.partitions import PARTITION_COLUMN


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
