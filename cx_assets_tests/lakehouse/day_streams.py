"""The days and the rows the Parquet tests of more than one module write
(`test_parquet`, `test_durable`, `test_quarantine`): three days in a row, the timestamp type
a published file holds, and a stream of dated batches for `publish_stream`."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

D1, D2, D3 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)
US_UTC = pa.timestamp("us", tz="UTC")

STREAM_SCHEMA = pa.schema([("date", pa.date32()), ("n", pa.int64()), ("at", pa.timestamp("ns"))])


def stream(*batches):
    """Batches of (date, n) rows; an Exception item is raised when reached."""

    def generate():
        for item in batches:
            if isinstance(item, Exception):
                raise item
            yield pa.RecordBatch.from_pylist(
                [{"date": day, "n": n, "at": datetime(2024, 1, 5, 10)} for day, n in item],
                schema=STREAM_SCHEMA,
            )

    return pa.RecordBatchReader.from_batches(STREAM_SCHEMA, generate())
