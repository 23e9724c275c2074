"""Parquet files for analysts (`parquet`): timestamps, date folders, a file or a day's
stream replacing the one before, and a publish that fails midway never leaving half a file."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandera.typing import Series

from cx_assets.lakehouse.parquet import (
    DATA_FILE,
    DamagedParquetError,
    file_rows,
    partition_folder,
    publish,
    publish_stream,
    row_count,
    written_before,
)
from cx_assets.lakehouse.validation import ordered
from cx_assets.lakehouse.warehouse import as_arrow
from cx_assets_tests.lakehouse.day_streams import D1, D2, D3, US_UTC, stream


class AgentDays(pandera.DataFrameModel):
    agent: Series[str] = pandera.Field(nullable=True)
    day: Series[pandera.Date] = pandera.Field(nullable=True)
    tickets: Series[int]


def files_in(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def all_files(root) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


# ---------------------------------------------------------------------------------------
# publish
# ---------------------------------------------------------------------------------------


def test_publish_writes_microsecond_utc_timestamps_from_pandas_nanoseconds(tmp_path):
    frame = pd.DataFrame(
        {
            "aware": pd.to_datetime(["2024-01-05T10:00:00-03:00"], utc=True),
            "naive": pd.to_datetime(["2024-01-05 10:00:00.123456"]),
            "n": [1],
        }
    )
    assert str(frame["aware"].dtype) == "datetime64[ns, UTC]"
    path = publish(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "t")

    assert path == tmp_path / "t" / DATA_FILE
    schema = pq.read_schema(path)
    assert schema.field("aware").type == US_UTC
    assert schema.field("naive").type == US_UTC
    back = pq.read_table(path).to_pylist()
    assert back == [
        {
            "aware": datetime(2024, 1, 5, 13, tzinfo=UTC),
            "naive": datetime(2024, 1, 5, 10, 0, 0, 123456, tzinfo=UTC),
            "n": 1,
        }
    ]


def test_publish_truncates_sub_microsecond_timestamps(tmp_path):
    # pandas keeps nanoseconds; the lake keeps microseconds (the writer allows truncation).
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-01-05T10:00:00.123456789Z"], utc=True)})
    path = publish(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "t")
    assert pq.read_schema(path).field("at").type == US_UTC
    assert pq.read_table(path)["at"].to_pylist() == [
        datetime(2024, 1, 5, 10, 0, 0, 123456, tzinfo=UTC)
    ]


def test_publish_compresses_with_snappy_which_every_bi_reader_has(tmp_path):
    # Gold is read by tools the lakehouse does not choose (Power BI's Parquet.Document,
    # older Spark, Excel's Power Query): Snappy is the codec every Parquet reader has.
    frame = pd.DataFrame({"company": ["Câmara & Duarte"] * 3, "deals": [1, 2, 3]})
    path = publish(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "t")
    metadata = pq.ParquetFile(path).metadata
    codecs = {
        metadata.row_group(group).column(column).compression
        for group in range(metadata.num_row_groups)
        for column in range(metadata.num_columns)
    }
    assert codecs == {"SNAPPY"}


def test_publish_drops_the_date_column_inside_a_date_folder_only(tmp_path):
    table = pa.table({"date": [D1, D1], "n": [1, 2]})
    in_partition = publish(table, partition_folder(tmp_path / "t", D1))
    assert in_partition == tmp_path / "t" / "date=2024-01-05" / DATA_FILE
    assert pq.read_schema(in_partition).names == ["n"]

    whole = publish(table, tmp_path / "whole")
    assert pq.read_schema(whole).names == ["date", "n"]
    assert pq.read_schema(whole).field("date").type == pa.date32()


def test_a_partitioned_dataset_reads_back_with_its_date(tmp_path):
    dataset = tmp_path / "t"
    publish(pa.table({"date": [D1], "n": [1]}), partition_folder(dataset, D1))
    publish(pa.table({"date": [D2, D2], "n": [2, 3]}), partition_folder(dataset, D2))
    frame = pd.read_parquet(dataset)
    assert sorted(zip(frame["date"].astype(str), frame["n"], strict=True)) == [
        ("2024-01-05", 1),
        ("2024-01-06", 2),
        ("2024-01-06", 3),
    ]


def test_a_second_publish_replaces_the_file(tmp_path):
    folder = partition_folder(tmp_path / "t", D1)
    publish(pa.table({"n": [1, 2, 3]}), folder)
    (folder / "part-0.parquet").write_bytes(b"stale")  # e.g. written by another tool
    publish(pa.table({"n": [9]}), folder)
    assert files_in(folder) == [DATA_FILE]
    assert pq.read_table(folder / DATA_FILE)["n"].to_pylist() == [9]


def test_publish_an_empty_table_still_writes_a_file(tmp_path):
    folder = partition_folder(tmp_path / "t", D1)
    publish(pa.table({"n": [1]}), folder)
    publish(pa.table({"n": pa.array([], pa.int64())}), folder)
    assert files_in(folder) == [DATA_FILE]
    assert row_count(folder) == 0


def test_a_day_whose_text_and_dates_have_no_value_reads_back_with_the_other_days_dtypes(
    tmp_path,
):
    """Seen in an audit: an empty support day, rewritten by a later run, read back with
    `string[pyarrow]` where every other day's file gave `object` (pandas restores the dtypes
    a file's metadata names; `validation.ordered` types a column without a value as Arrow's)."""
    with_values = pd.DataFrame(
        {"agent": ["A1"], "day": [datetime(2024, 1, 1).date()], "tickets": [3]}
    )
    without = pd.DataFrame({"agent": [None], "day": [None], "tickets": [0]})
    dtypes = {}
    for name, frame in (("with", with_values), ("without", without)):
        arrow = as_arrow(ordered(AgentDays, frame))
        assert arrow.schema.field("agent").type == pa.string()  # still typed for Arrow
        folder = tmp_path / name
        publish(arrow, folder)
        dtypes[name] = pd.read_parquet(folder / DATA_FILE).dtypes.astype(str).to_dict()
    assert dtypes["without"] == dtypes["with"] == {
        "agent": "object", "day": "object", "tickets": "int64"
    }  # fmt: skip


def test_a_publish_that_fails_midway_leaves_the_earlier_file_whole(tmp_path, monkeypatch):
    """A reader never sees half a file, and a failed write never destroys the last good
    one: the file is written under another name, then renamed over it."""
    folder = tmp_path / "t"
    publish(pa.table({"x": [1, 2]}), folder)
    real_write = pq.write_table

    def breaks_off(table, where, **options):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", breaks_off)
    with pytest.raises(OSError):
        publish(pa.table({"x": [3]}), folder)
    monkeypatch.setattr(pq, "write_table", real_write)
    assert pq.read_table(folder / DATA_FILE).column("x").to_pylist() == [1, 2]
    publish(pa.table({"x": [3]}), folder)
    assert [path.name for path in folder.iterdir()] == [DATA_FILE]


# What Arrow 26 raises when the disk fills under a Parquet write (seen on a full tmpfs):
# its OSError names no file.
ARROW_NO_SPACE = "Error writing bytes to file. Detail: [errno 28] No space left on device"


def test_a_write_the_disk_refuses_names_the_file(tmp_path, monkeypatch):
    """Seen in an audit, gold's folder on a full disk: steps failed with Arrow's `OSError:
    [Errno 28] Error writing bytes to file`, naming no file or folder."""
    folder = tmp_path / "t"

    def no_space(table, where, **options):
        raise OSError(28, ARROW_NO_SPACE)

    monkeypatch.setattr(pq, "write_table", no_space)
    with pytest.raises(OSError) as raised:
        publish(pa.table({"x": [3]}), folder)
    assert raised.value.errno == 28 and str(folder) in str(raised.value)
    assert "No space left on device" in str(raised.value)


def test_a_publish_the_disk_refuses_leaves_no_in_flight_file_for_readers(tmp_path, monkeypatch):
    """Found in the readers' audit: a gold write that failed (a full disk) left its half
    `_data.parquet.<pid>.tmp` beside the day's file until the day was written again, where
    polars, given the table's folder, refuses it ('directory contained paths with different
    file extensions'), and the half file kept its bytes on the full disk."""
    folder = partition_folder(tmp_path / "t", D1)
    publish(pa.table({"x": [1, 2]}), folder)

    def breaks_off(table, where, **options):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 half")
        raise OSError(28, ARROW_NO_SPACE)

    monkeypatch.setattr(pq, "write_table", breaks_off)
    with pytest.raises(OSError):
        publish(pa.table({"x": [3]}), folder)
    assert files_in(folder) == [DATA_FILE]
    assert pq.read_table(folder / DATA_FILE).column("x").to_pylist() == [1, 2]


def test_a_stream_the_disk_refuses_names_the_file(tmp_path, monkeypatch):
    def no_space(self, table, row_group_size=None):
        raise OSError(28, ARROW_NO_SPACE)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", no_space)
    dataset = tmp_path / "bronze" / "t"
    with pytest.raises(OSError) as raised:
        publish_stream(stream([(D1, 1)]), dataset, [D1])
    assert raised.value.errno == 28
    assert str(partition_folder(dataset, D1)) in str(raised.value)


# ---------------------------------------------------------------------------------------
# publish_stream
# ---------------------------------------------------------------------------------------


def test_publish_stream_one_file_per_day_and_empty_days_get_a_file(tmp_path):
    dataset = tmp_path / "bronze" / "t"
    written = publish_stream(stream([(D1, 1), (D3, 2), (D1, 3)], [(D1, 4)]), dataset, [D1, D2, D3])
    assert written == {D1: 3, D2: 0, D3: 1}
    assert all_files(dataset) == [
        "date=2024-01-05/data.parquet",
        "date=2024-01-06/data.parquet",
        "date=2024-01-07/data.parquet",
    ]
    # The file alone: pyarrow before 25 adds the `date=` folder's key to a file read so.
    d1 = pq.read_table(partition_folder(dataset, D1) / DATA_FILE, partitioning=None)
    assert d1.schema.names == ["n", "at"]
    assert d1.schema.field("at").type == US_UTC
    assert d1["n"].to_pylist() == [1, 3, 4]
    assert pq.read_table(partition_folder(dataset, D2) / DATA_FILE).num_rows == 0
    assert pq.read_schema(partition_folder(dataset, D2) / DATA_FILE).names == ["n", "at"]
    assert row_count(dataset) == 4


def test_a_days_last_rows_are_written_when_the_stream_moves_on_not_held_to_its_end(
    tmp_path, monkeypatch
):
    """A day's rows short of a row group waited for the stream's end: a range of small days
    (a year of digital at scale 0.002, each day's tail at scale 1) held every day's last
    rows in memory at once (seen building 21 digital days at scale 1: bronze and its early
    read grew from 0.66 GB for 7 days to 1.2 GB). A day's rows are now written once a batch
    of other days comes, in the same row groups as before for a stream in day order."""
    written: list[int] = []

    class Counting(pq.ParquetWriter):
        def write_table(self, table, *args, **kwargs):
            written.append(table.num_rows)
            super().write_table(table, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetWriter", Counting)
    seen_before: dict = {}

    def batches():
        for day, rows in ((D1, [1, 2]), (D1, [3]), (D2, [4]), (D3, [5, 6])):
            seen_before.setdefault(day, sum(written))
            yield stream([(day, n) for n in rows]).read_next_batch()

    dataset = tmp_path / "t"
    source = pa.RecordBatchReader.from_batches(stream().schema, batches())
    assert publish_stream(source, dataset, [D1, D2, D3]) == {D1: 3, D2: 1, D3: 2}
    assert seen_before == {D1: 0, D2: 0, D3: 3}  # D1's rows written before D3 was read
    assert written == [3, 1, 2]  # one row group a day, as before
    read = {
        d: pq.read_table(partition_folder(dataset, d) / DATA_FILE)["n"].to_pylist()
        for d in (D1, D2, D3)
    }
    assert read == {D1: [1, 2, 3], D2: [4], D3: [5, 6]}


def test_a_range_holds_no_file_open_for_a_day_the_stream_has_moved_past(tmp_path, monkeypatch):
    """Each day's file stayed open to the stream's end: a range held one open file a day,
    and met the open-file limit (seen: 400 calls days in one run under `ulimit -n 256`
    failed in 'Too many open files' at the 233rd day; macOS's default limit is 256). A
    day's file is finished once a later day's rows come, and a day with no rows as soon as
    its empty file is written, so one file at a time is open."""
    open_now: list[int] = [0]
    most_open: list[int] = [0]

    class Counting(pq.ParquetWriter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            open_now[0] += 1
            most_open[0] = max(most_open[0], open_now[0])

        def close(self):
            if self.is_open:
                open_now[0] -= 1
            super().close()

    monkeypatch.setattr(pq, "ParquetWriter", Counting)
    landed = [D1 + timedelta(days=n) for n in range(40)]
    empty = [landed[-1] + timedelta(days=n) for n in range(1, 21)]
    fds: list[int] = []

    def batches():
        for day in landed:
            fds.append(len(os.listdir("/proc/self/fd")))
            yield stream([(day, 1), (day, 2)]).read_next_batch()

    source = pa.RecordBatchReader.from_batches(stream().schema, batches())
    written = publish_stream(source, tmp_path / "t", landed + empty)
    assert written == dict.fromkeys(landed, 2) | dict.fromkeys(empty, 0)
    assert most_open[0] == 1  # 60 on the old code
    assert max(fds) - fds[0] <= 2  # the files the process held: 38 more on the old code
    assert row_count(tmp_path / "t") == 80


def test_a_days_rows_after_its_file_was_finished_are_kept_in_order(tmp_path):
    """A stream out of day order (no bronze step's, whose days come in order) gives a day
    rows after its file was finished: the file is written again with its rows and the new
    ones, in their order, and no other file is left."""
    dataset = tmp_path / "t"
    source = stream([(D1, 1), (D1, 2)], [(D2, 3)], [(D1, 4)], [(D3, 5)], [(D1, 6), (D2, 7)])
    assert publish_stream(source, dataset, [D1, D2, D3]) == {D1: 4, D2: 2, D3: 1}
    read = {
        d: pq.read_table(partition_folder(dataset, d) / DATA_FILE)["n"].to_pylist()
        for d in (D1, D2, D3)
    }
    assert read == {D1: [1, 2, 4, 6], D2: [3, 7], D3: [5]}
    assert all_files(dataset) == [f"date={d}/{DATA_FILE}" for d in (D1, D2, D3)]


def test_publish_stream_replaces_earlier_files(tmp_path):
    dataset = tmp_path / "t"
    publish_stream(stream([(D1, 1), (D1, 2)]), dataset, [D1])
    publish_stream(stream([(D1, 5)]), dataset, [D1])
    assert all_files(dataset) == ["date=2024-01-05/data.parquet"]
    assert pq.read_table(partition_folder(dataset, D1) / DATA_FILE)["n"].to_pylist() == [5]


def test_publish_stream_a_row_outside_the_days_raises_and_keeps_earlier_files(tmp_path):
    dataset = tmp_path / "t"
    publish_stream(stream([(D1, 1), (D1, 2)]), dataset, [D1])

    with pytest.raises(ValueError, match="row dated 2024-01-07 outside the partitions"):
        publish_stream(stream([(D1, 10), (D2, 20)], [(D3, 30)]), dataset, [D1, D2])

    assert pq.read_table(partition_folder(dataset, D1) / DATA_FILE)["n"].to_pylist() == [1, 2]
    # No half-written or temporary file anywhere; D2 never got a data file.
    assert [name for name in all_files(dataset) if not name.endswith(f"/{DATA_FILE}")] == []
    assert not (partition_folder(dataset, D2) / DATA_FILE).exists()
    assert not partition_folder(dataset, D3).exists()


def test_publish_stream_a_row_without_a_date_raises_and_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="row dated None outside the partitions"):
        publish_stream(stream([(D1, 1), (None, 2)]), tmp_path / "t", [D1])
    assert all_files(tmp_path) == []


def test_a_stream_failing_while_a_day_is_written_anew_leaves_no_file_readers_see(
    tmp_path, monkeypatch
):
    """A day's finished file set aside to be written anew keeps an in-flight name (a
    reader of `*.parquet` never sees it), and a stream failing then leaves no file. Found
    by mutation testing: a set-aside named `.parquet` (P30) or left by a failed stream
    (P29) passed every parquet test."""
    from cx_assets.lakehouse import parquet

    seen: list[list[str]] = []

    def disk_full(earlier, writer, path):
        seen.append(all_files(tmp_path))
        raise OSError("disk full")

    monkeypatch.setattr(parquet, "_copy_row_groups", disk_full)
    with pytest.raises(OSError, match="disk full"):
        publish_stream(stream([(D1, 1)], [(D2, 2)], [(D1, 3)], [(D3, 4)]), tmp_path, [D1, D2, D3])
    pid = os.getpid()
    assert seen == [
        [
            f"date=2024-01-05/_{DATA_FILE}.{pid}.earlier.tmp",
            f"date=2024-01-05/_{DATA_FILE}.{pid}.tmp",  # D2's rows still wait
        ]
    ]
    assert all_files(tmp_path) == []


@pytest.mark.parametrize(("rows", "bytes_"), [(2, 2**30), (10**9, 34)], ids=["rows", "bytes"])
def test_a_days_batches_are_written_once_they_reach_a_row_group(
    tmp_path, monkeypatch, rows, bytes_
):
    """A row group is written once its rows reach `ROW_GROUP_ROWS` or its bytes
    `ROW_GROUP_BYTES` (17 bytes a row here, as Arrow counts them: two rows 34), not one
    row later. Found by mutation testing: `>=` as `>` for either (P17, P18) passed every
    parquet test."""
    from cx_assets.lakehouse import parquet

    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", rows)
    monkeypatch.setattr(parquet, "ROW_GROUP_BYTES", bytes_)
    publish_stream(stream(*[[(D1, n)] for n in range(5)]), tmp_path, [D1])
    written = pq.ParquetFile(partition_folder(tmp_path, D1) / DATA_FILE)
    groups = [written.metadata.row_group(g).num_rows for g in range(written.num_row_groups)]
    assert groups == [2, 2, 1]
    assert written.read()["n"].to_pylist() == [0, 1, 2, 3, 4]


def test_publish_stream_a_failing_source_keeps_earlier_files(tmp_path):
    dataset = tmp_path / "t"
    publish_stream(stream([(D1, 1)], [(D2, 2)]), dataset, [D1, D2])

    with pytest.raises(RuntimeError, match="disk went away"):
        publish_stream(
            stream([(D1, 10), (D2, 20)], RuntimeError("disk went away")), dataset, [D1, D2]
        )

    assert pq.read_table(partition_folder(dataset, D1) / DATA_FILE)["n"].to_pylist() == [1]
    assert pq.read_table(partition_folder(dataset, D2) / DATA_FILE)["n"].to_pylist() == [2]
    assert all_files(dataset) == ["date=2024-01-05/data.parquet", "date=2024-01-06/data.parquet"]


def test_a_killed_writers_in_flight_file_is_removed_by_the_next_publish(tmp_path):
    folder = partition_folder(tmp_path / "t", D1)
    folder.mkdir(parents=True)
    left = folder / f"_{DATA_FILE}.99999.tmp"  # a writer killed mid-write
    left.write_bytes(b"PAR1 half a file")
    publish(pa.table({"n": [1]}), folder)
    assert sorted(path.name for path in folder.iterdir()) == [DATA_FILE]


def test_row_count(tmp_path):
    dataset = tmp_path / "t"
    assert row_count(dataset) == 0
    publish(pa.table({"n": [1, 2]}), partition_folder(dataset, D1))
    publish(pa.table({"n": [3, 4, 5]}), partition_folder(dataset, D2))
    assert row_count(dataset) == 5
    assert row_count(partition_folder(dataset, D2)) == 3


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"", "(Parquet file size is 0 bytes)"), (None, "is a directory)")],
    ids=["empty", "a folder"],
)
def test_a_file_that_cannot_be_read_as_parquet_is_named(tmp_path, content, said):
    """Arrow's own error names no file; one the disk refuses (a folder) is named too."""
    path = tmp_path / DATA_FILE
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(DamagedParquetError) as raised:
        file_rows(path)
    assert str(raised.value).startswith(f"{path} cannot be read as Parquet (")
    assert str(raised.value).endswith(said)


def test_a_file_gone_is_not_said_damaged(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_rows(tmp_path / DATA_FILE)


def test_a_partition_was_written_before_a_time_by_a_parquet_file_older_than_it(tmp_path):
    folder = partition_folder(tmp_path / "t", D1)
    publish(pa.table({"n": [1]}), folder)
    os.utime(folder / DATA_FILE, (1000.0, 1000.0))
    (folder / "notes.txt").write_text("")
    os.utime(folder / "notes.txt", (10.0, 10.0))  # not a Parquet file
    assert written_before(folder, 1000.5)
    assert not written_before(folder, 1000.0)  # written at the time itself: since then
    assert not written_before(folder, 999.0)


@pytest.mark.parametrize("same_file_system", [True, False])
def test_publish_days_moves_written_files_into_their_partitions(
    tmp_path, monkeypatch, same_file_system
):
    """Files written elsewhere (an early read's scratch folder) replace each day's file; on
    another file system, where a rename cannot go, by a copy beside the target first."""
    from cx_assets.lakehouse import parquet

    monkeypatch.setattr(parquet, "_same_file_system", lambda path, folder: same_file_system)
    dataset = tmp_path / "bronze" / "t"
    publish_stream(stream([(D1, 1)]), dataset, [D1])  # an earlier file, replaced
    scratch = {day: tmp_path / "scratch" / f"date={day}" / DATA_FILE for day in (D1, D2)}
    # D1's rows again after D2's: its finished file is set aside and written anew.
    written = parquet.write_days(stream([(D1, 7)], [(D2, 8)], [(D1, 9)]), scratch)
    assert written == {D1: 2, D2: 1}
    assert all_files(tmp_path / "scratch") == [f"date={d}/{DATA_FILE}" for d in (D1, D2)]

    parquet.publish_days(scratch, dataset)

    assert all_files(dataset) == ["date=2024-01-05/data.parquet", "date=2024-01-06/data.parquet"]
    assert pq.read_table(partition_folder(dataset, D1) / DATA_FILE)["n"].to_pylist() == [7, 9]
    assert pq.read_table(partition_folder(dataset, D2) / DATA_FILE)["n"].to_pylist() == [8]
    assert all_files(tmp_path / "scratch") == []


def test_publish_stream_gathers_small_batches_into_row_groups(tmp_path):
    """A day delivered as many small files streams one small batch a file: each became a
    row group of its own (5,000 files, 5,000 row groups of a few rows, and every reader of
    bronze paid for each). Small batches are gathered, in their order, into row groups of
    about a large batch's size; a day's rows keep their order."""
    dataset = tmp_path / "bronze" / "t"
    batches = [[(D1, n), (D2, -n)] if n % 3 == 0 else [(D1, n)] for n in range(300)]
    written = publish_stream(stream(*batches), dataset, [D1, D2])

    assert written == {D1: 300, D2: 100}
    d1 = pq.ParquetFile(partition_folder(dataset, D1) / DATA_FILE)
    assert d1.metadata.num_row_groups == 1
    assert d1.read()["n"].to_pylist() == list(range(300))
    d2 = pq.ParquetFile(partition_folder(dataset, D2) / DATA_FILE)
    assert d2.metadata.num_row_groups == 1
    assert d2.read()["n"].to_pylist() == [-n for n in range(0, 300, 3)]
