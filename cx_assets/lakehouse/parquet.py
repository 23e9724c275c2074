"""Parquet files for analysts and for quarantine.

One file per partition, written to an in-flight name and renamed into place, so a reader
never sees half a file and re-materializing a partition replaces it exactly. Timestamps
are microsecond UTC (pyarrow would write nanoseconds, which Spark and some BI tools
reject). Files under `date=YYYY-MM-DD/` folders carry no `date` column: the partition
lives in the path, and a duplicate column makes pyarrow refuse to merge the dataset.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cx_assets.lakehouse.arrow_types import normalise
from cx_assets.lakehouse.partitions import PARTITION_COLUMN

DATA_FILE = "data.parquet"


def partition_folder(dataset_dir: Path, day: date) -> Path:
    return dataset_dir / f"{PARTITION_COLUMN}={day.isoformat()}"


def publish(table: pa.Table, folder: Path) -> Path:
    """Replace the contents of `folder` with one Parquet file holding `table`."""
    if PARTITION_COLUMN in table.column_names and folder.name.startswith(f"{PARTITION_COLUMN}="):
        table = table.drop_columns([PARTITION_COLUMN])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / DATA_FILE
    in_flight = folder / f"_{DATA_FILE}.{os.getpid()}.tmp"
    pq.write_table(
        normalise(table),
        in_flight,
        compression="zstd",
        coerce_timestamps="us",
        allow_truncated_timestamps=True,
    )
    os.replace(in_flight, target)
    for other in folder.iterdir():
        if other != target and other.suffix == ".parquet":
            other.unlink()
    return target


def remove_partition(dataset_dir: Path, day: date) -> None:
    shutil.rmtree(partition_folder(dataset_dir, day), ignore_errors=True)


def row_count(folder: Path) -> int:
    """Rows in every Parquet file below `folder` (0 when it does not exist)."""
    if not folder.exists():
        return 0
    return sum(pq.ParquetFile(path).metadata.num_rows for path in folder.rglob("*.parquet"))
