"""Parquet files for analysts and for quarantine.

One file per partition, written to an in-flight name and renamed into place, so a reader
never sees half a file and re-materializing a partition replaces it exactly; its data is
on the disk before the rename, and the rename after it (`durable`). Timestamps are
microsecond UTC (pyarrow would write nanoseconds, which Spark and some BI tools reject).
Published files are Snappy-compressed: analysts read them with tools the lakehouse does not
choose (Power BI's Parquet connector, older Spark), and Snappy is the codec every Parquet
reader has; these files are small, so zstd's smaller size is worth little here. Bronze,
read only by DuckDB and most of a day's bytes, stays zstd. Files under `date=YYYY-MM-DD/`
folders carry no `date` column: the partition lives in the path, and a duplicate column
makes pyarrow refuse to merge the dataset.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cx_assets.lakehouse import durable
from cx_assets.lakehouse.arrow_types import normalise
from cx_assets.lakehouse.sql import PARTITION_COLUMN

DATA_FILE = "data.parquet"
PUBLISHED_CODEC = "snappy"


def partition_folder(dataset_dir: Path, day: date) -> Path:
    return dataset_dir / f"{PARTITION_COLUMN}={day.isoformat()}"


def without_partition_column(table: pa.Table) -> pa.Table:
    """`table` without its `date` column, which the folder's name holds, and without it in
    the pandas metadata too (readers that trust that metadata, such as fastparquet, would
    look for a column the file does not have)."""
    table = table.drop_columns([PARTITION_COLUMN])
    metadata = table.schema.metadata or {}
    if b"pandas" not in metadata:
        return table
    described = json.loads(metadata[b"pandas"])
    described["columns"] = [
        column for column in described.get("columns", []) if column.get("name") != PARTITION_COLUMN
    ]
    return table.replace_schema_metadata({**metadata, b"pandas": json.dumps(described).encode()})


def publish(table: pa.Table, folder: Path) -> Path:
    """Replace the contents of `folder` with one Parquet file holding `table`."""
    if PARTITION_COLUMN in table.column_names and folder.name.startswith(f"{PARTITION_COLUMN}="):
        table = without_partition_column(table)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / DATA_FILE
    in_flight = folder / f"_{DATA_FILE}.{os.getpid()}.tmp"
    try:
        with durable.naming(in_flight):
            pq.write_table(
                normalise(table),
                in_flight,
                compression=PUBLISHED_CODEC,
                coerce_timestamps="us",
                allow_truncated_timestamps=True,
            )
        _move_into_place(in_flight, target)
    except BaseException:
        # A failed write (a full disk) left its half file beside the day's, where polars,
        # given the folder, refuses it: removed, as a killed writer's is by the next publish.
        in_flight.unlink(missing_ok=True)
        raise
    durable.synced_renames(target)
    return target


def _same_file_system(path: Path, folder: Path) -> bool:
    return path.stat().st_dev == folder.stat().st_dev


def _move_into_place(in_flight: Path, target: Path) -> None:
    """Rename a finished file over its target, its data synced first, and drop any other
    data file beside it, and any in-flight file a killed writer left (runs on a data root
    never write at once: the run lock). The caller syncs the folders once it is done."""
    durable.sync(in_flight)
    os.replace(in_flight, target)
    for other in target.parent.iterdir():
        if other != target and (other.suffix == ".parquet" or _is_half_written(other)):
            other.unlink(missing_ok=True)


def _is_half_written(path: Path) -> bool:
    return path.name.startswith(f"_{DATA_FILE}.") and path.suffix == ".tmp"


def publish_stream(
    batches: pa.RecordBatchReader, dataset_dir: Path, days: Sequence[date]
) -> dict[date, int]:
    """Write a stream of rows (with a `date` column) as one file per day in `days`, batch by
    batch so memory stays flat; a day with no rows gets an empty file. Every file is
    renamed into place only once all are written. Returns rows per day."""
    in_flight = {
        day: partition_folder(dataset_dir, day) / f"_{DATA_FILE}.{os.getpid()}.tmp" for day in days
    }
    rows = write_days(batches, in_flight)
    publish_days(in_flight, dataset_dir)
    return rows


# A stream's batches are written as row groups of at least this many rows (or bytes): a
# day landed as 5,000 small files streamed 5,000 batches of a few rows, and a row group
# each made its file slow to write and every reader of it slow (a CRM day in 5,000 files:
# bronze 6.6 s and silver 5.8 s against 0.1 s and 1.8 s in one file). Memory stays flat:
# at most this much waits. A larger batch is written as it comes.
ROW_GROUP_ROWS = 20_000
ROW_GROUP_BYTES = 16 * 2**20


def write_days(batches: pa.RecordBatchReader, files: Mapping[date, Path]) -> dict[date, int]:
    """Write a stream of rows (with a `date` column) as one Parquet file per day, at the
    path `files` gives the day; a day with no rows gets an empty file. A row of a day
    `files` does not name fails the stream, and then no file is left. Returns rows per day."""
    schema = normalise(without_partition_column(batches.schema.empty_table())).schema
    # The days whose file is open, and those whose file is finished (closed): a range
    # streams its days in order, and a day's file is finished once a later day's rows come.
    # Every file stayed open to the stream's end: a range held one a day and met the
    # open-file limit (400 days under `ulimit -n 256`, macOS's default: 'Too many open
    # files' at the 233rd).
    writers: dict[date, pq.ParquetWriter] = {}
    finished_days: set[date] = set()
    rows: dict[date, int] = dict.fromkeys(files, 0)

    def writer_for(day: date) -> pq.ParquetWriter:
        if day not in writers:
            files[day].parent.mkdir(parents=True, exist_ok=True)
            earlier = _set_aside(files[day]) if day in finished_days else None
            finished_days.discard(day)
            with durable.naming(files[day]):
                writers[day] = pq.ParquetWriter(
                    files[day], schema, compression="zstd", coerce_timestamps="us"
                )
            if earlier is not None:
                _copy_row_groups(earlier, writers[day], files[day])
        return writers[day]

    def finish(day: date) -> None:
        write_pending(day)
        writer = writer_for(day)  # empty days still get a file, so a re-run replaces old rows
        del writers[day]
        finished_days.add(day)
        with durable.naming(files[day]):
            writer.close()

    # Each day's rows not written yet, with their rows and bytes: small batches wait for
    # more, in their order.
    pending: dict[date, tuple[list[pa.Table], int, int]] = {day: ([], 0, 0) for day in files}
    days_waiting: set[date] = set()

    def add(day: date, part: pa.Table) -> None:
        waiting, rows_waiting, bytes_waiting = pending[day]
        waiting.append(part)
        pending[day] = (waiting, rows_waiting + part.num_rows, bytes_waiting + part.nbytes)
        days_waiting.add(day)
        if pending[day][1] >= ROW_GROUP_ROWS or pending[day][2] >= ROW_GROUP_BYTES:
            write_pending(day)

    def write_pending(day: date) -> None:
        waiting = pending[day][0]
        if waiting:
            with durable.naming(files[day]):
                writer_for(day).write_table(pa.concat_tables(waiting))
        pending[day] = ([], 0, 0)
        days_waiting.discard(day)

    finished = False
    try:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            days_in_batch = pc.unique(table[PARTITION_COLUMN]).to_pylist()
            # A range streams its days in order: an earlier day's rows wait no longer once
            # a later day's come, and its file is finished. Rows short of a row group waited
            # for the stream's end, so a range of small days held every day's last rows at
            # once.
            dated = [day for day in days_in_batch if day is not None]
            if dated:
                for day in sorted(day for day in days_waiting | set(writers) if day < min(dated)):
                    finish(day)
            for day in days_in_batch:
                if day not in files:
                    raise ValueError(f"row dated {day} outside the partitions being written")
                part = (
                    table
                    if len(days_in_batch) == 1
                    else table.filter(pc.equal(table[PARTITION_COLUMN], day))
                )
                add(day, normalise(without_partition_column(part)))
                rows[day] += part.num_rows
        for day in files:
            if day not in finished_days or day in days_waiting:
                finish(day)
        finished = True
    finally:
        for day, writer in writers.items():
            with durable.naming(files[day]):
                writer.close()
        if not finished:  # the earlier files stay as they were
            for path in files.values():
                path.unlink(missing_ok=True)
                _set_aside_name(path).unlink(missing_ok=True)
    return rows


def _set_aside_name(path: Path) -> Path:
    # An in-flight name still (`_data.parquet.<pid>.…tmp`), so a killed writer's is removed.
    return path.with_name(f"{path.stem}.earlier{path.suffix}")


def _set_aside(path: Path) -> Path:
    """A finished day's file moved aside, for a stream that gives the day rows again (out
    of day order: no bronze step's) to write it anew from its row groups."""
    earlier = _set_aside_name(path)
    os.replace(path, earlier)
    return earlier


def _copy_row_groups(earlier: Path, writer: pq.ParquetWriter, path: Path) -> None:
    """The row groups of `earlier` into `writer`, one at a time, then `earlier` removed."""
    with open(earlier, "rb") as handle:
        read = pq.ParquetFile(handle)
        for group in range(read.num_row_groups):
            with durable.naming(path):
                writer.write_table(read.read_row_group(group))
    earlier.unlink()


def publish_days(files: Mapping[date, Path], dataset_dir: Path) -> None:
    """Move each day's finished file (from `write_days`) into its partition of
    `dataset_dir`, replacing what was there, then make the renames durable."""
    targets = []
    for day, path in files.items():
        target = partition_folder(dataset_dir, day) / DATA_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.parent != target.parent and not _same_file_system(path, target.parent):
            # Another file system (a mounted bronze folder): copied beside the target first,
            # as a rename cannot cross file systems.
            beside = target.with_name(f"_{DATA_FILE}.{os.getpid()}.tmp")
            shutil.copyfile(path, beside)
            path.unlink()
            path = beside
        _move_into_place(path, target)
        targets.append(target)
    durable.synced_renames(*targets)


class DamagedParquetError(ValueError):
    """A Parquet file of the lake that cannot be read: cut short, overwritten, not Parquet."""


def file_rows(path: Path) -> int:
    """Rows in the Parquet file `path`, from its footer. A file that cannot be read raises
    `DamagedParquetError` naming it (Arrow's own error names no file)."""
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except FileNotFoundError:
        raise
    except (pa.ArrowInvalid, OSError) as error:
        said = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DamagedParquetError(f"{path} cannot be read as Parquet ({said})") from error


def row_count(folder: Path) -> int:
    """Rows in every Parquet file below `folder` (0 when it does not exist)."""
    if not folder.exists():
        return 0
    return sum(file_rows(path) for path in folder.rglob("*.parquet"))


def written_before(folder: Path, since: float) -> bool:
    """Whether a Parquet file of the partition `folder` was written before `since` (a
    time.time()): what a step that ran since would have replaced."""
    return any(path.stat().st_mtime < since for path in folder.glob("*.parquet"))
