"""Parquet files for analysts (`parquet`) and for bad records (`quarantine`)."""

from __future__ import annotations

import errno
import os
from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.parquet import (
    DATA_FILE,
    partition_folder,
    publish,
    publish_stream,
    row_count,
)

D1, D2, D3 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7)
US_UTC = pa.timestamp("us", tz="UTC")


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


# ---------------------------------------------------------------------------------------
# publish_stream
# ---------------------------------------------------------------------------------------

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


def test_publish_stream_one_file_per_day_and_empty_days_get_a_file(tmp_path):
    dataset = tmp_path / "bronze" / "t"
    written = publish_stream(stream([(D1, 1), (D3, 2), (D1, 3)], [(D1, 4)]), dataset, [D1, D2, D3])
    assert written == {D1: 3, D2: 0, D3: 1}
    assert all_files(dataset) == [
        "date=2024-01-05/data.parquet",
        "date=2024-01-06/data.parquet",
        "date=2024-01-07/data.parquet",
    ]
    d1 = pq.read_table(partition_folder(dataset, D1) / DATA_FILE)
    assert d1.schema.names == ["n", "at"]
    assert d1.schema.field("at").type == US_UTC
    assert d1["n"].to_pylist() == [1, 3, 4]
    assert pq.read_table(partition_folder(dataset, D2) / DATA_FILE).num_rows == 0
    assert pq.read_schema(partition_folder(dataset, D2) / DATA_FILE).names == ["n", "at"]
    assert row_count(dataset) == 4


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


# ---------------------------------------------------------------------------------------
# quarantine
# ---------------------------------------------------------------------------------------

AT = datetime(2024, 1, 8, 3, 0, tzinfo=UTC)
SECRET = "maria.silva@example.com"


def rejects(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "source_file", "line_number", "reason", "raw"])


def test_quarantine_write_and_count(tmp_path):
    q = tmp_path / "quarantine"
    frame = rejects(
        (D1, "landing/s/t/2024-01-05/b.jsonl", 1, "invalid JSON", "{"),
        (D1, "landing/s/t/2024-01-05/a.jsonl", 7, 'missing required field "Id"', "{}"),
        (D2, "landing/s/t/2024-01-06/a.jsonl", 2, "invalid JSON", "x"),
    )
    assert quarantine.write(q, "s_t", frame, [D1, D2], AT) == 3
    assert quarantine.count(q, "s_t", [D1]) == 2
    assert quarantine.count(q, "s_t", [D1, D2]) == 3
    assert quarantine.count(q, "s_t", [D3]) == 0

    path = q / "s_t" / "date=2024-01-05" / DATA_FILE
    schema = pq.read_schema(path)
    assert schema.names == ["source_file", "line_number", "reason", "raw", "quarantined_at"]
    assert schema.field("quarantined_at").type == US_UTC
    assert pq.read_table(path).to_pylist() == [  # sorted by file, then line
        {
            "source_file": "landing/s/t/2024-01-05/a.jsonl",
            "line_number": 7,
            "reason": 'missing required field "Id"',
            "raw": "{}",
            "quarantined_at": AT,
        },
        {
            "source_file": "landing/s/t/2024-01-05/b.jsonl",
            "line_number": 1,
            "reason": "invalid JSON",
            "raw": "{",
            "quarantined_at": AT,
        },
    ]


def test_quarantine_days_without_rejects_are_cleared(tmp_path):
    q = tmp_path / "quarantine"
    quarantine.write(
        q,
        "s_t",
        rejects((D1, "f", 1, "r", "x"), (D2, "f", 2, "r", "y"), (D3, "f", 3, "r", "z")),
        [D1, D2, D3],
        AT,
    )
    # A fixed re-delivery of D2 and D3: D1 is not in this write and keeps its rows.
    assert quarantine.write(q, "s_t", rejects((D3, "g", 9, "r", "w")), [D2, D3], AT) == 1
    assert quarantine.count(q, "s_t", [D1]) == 1
    assert quarantine.count(q, "s_t", [D2]) == 0
    assert pq.read_table(q / "s_t" / "date=2024-01-06" / DATA_FILE).num_rows == 0
    assert pq.read_table(q / "s_t" / "date=2024-01-07" / DATA_FILE)["line_number"].to_pylist() == [
        9
    ]
    # No rejects at all: the dataset still reads, empty, with its columns.
    assert quarantine.write(q, "s_t", rejects(), [D1, D3], AT) == 0
    assert quarantine.count(q, "s_t", [D1, D2, D3]) == 0
    read = duckdb.sql(
        f"SELECT * FROM read_parquet('{q / 's_t'}/**/*.parquet', hive_partitioning = true)"
    )
    assert read.columns == ["source_file", "line_number", "reason", "raw", "quarantined_at", "date"]
    assert read.fetchall() == []


def test_quarantine_accepts_a_timestamp_date_column(tmp_path):
    # A `date` column straight from DuckDB/pandas is datetime64; its rows must not be lost.
    q = tmp_path / "quarantine"
    frame = rejects((D1, "f", 1, "invalid JSON", "{"), (D2, "f", 2, "invalid JSON", "["))
    frame["date"] = pd.to_datetime(frame["date"])
    assert quarantine.write(q, "s_t", frame, [D1, D2], AT) == 2
    assert quarantine.count(q, "s_t", [D1]) == 1
    assert quarantine.count(q, "s_t", [D2]) == 1


def test_masked_sample_never_holds_the_raw_text(tmp_path):
    frame = rejects(
        (D1, "b.jsonl", 3, "invalid JSON", f'{{"Email": "{SECRET}"'),
        (D1, "a.jsonl", 9, 'field "Id" is not an integer', f'{{"Id": "{SECRET}"}}'),
        (D1, "a.jsonl", 2, 'missing required field "Id"', SECRET),
    )
    sample = quarantine.masked_sample(frame, limit=2)
    assert sample == [
        {"source_file": "a.jsonl", "line_number": 2, "reason": 'missing required field "Id"'},
        {"source_file": "a.jsonl", "line_number": 9, "reason": 'field "Id" is not an integer'},
    ]
    assert SECRET not in repr(quarantine.masked_sample(frame))
    assert "maria" not in repr(quarantine.masked_sample(frame))


def test_mask():
    assert quarantine.mask("maria.silva@example.com") == "m*******"
    assert quarantine.mask("abc") == "a**"
    assert quarantine.mask("a") == "a"
    assert quarantine.mask("") == ""
    assert quarantine.mask(12345) == "1****"


def test_reason_counts_groups_reasons_without_their_position():
    frame = rejects(
        (D1, "a", 3, "duplicate id (first seen at landing/s/t/2024-01-05/a.jsonl:1)", "x"),
        (D1, "a", 4, "duplicate id (first seen at landing/s/t/2024-01-05/a.jsonl:2)", "x"),
        (D1, "a", 5, 'missing required field "Id"', "x"),
        (D1, "b", 1, "invalid JSON: Expecting value (column 1)", "x"),
        (D1, "b", 2, "invalid JSON: Expecting value (column 7)", "x"),
        (D1, "b", 3, "invalid JSON: Expecting value (line 2 column 1)", "x"),
    )
    assert quarantine.reason_counts(frame) == {
        "invalid JSON: Expecting value": 3,
        "duplicate id": 2,
        'missing required field "Id"': 1,
    }
    assert quarantine.reason_counts(rejects()) == {}
    # ties in reason order, whatever order the rows came in (as the SQL path orders them)
    tied = rejects((D1, "a", 1, "z reason", "x"), (D1, "a", 2, "a reason", "x"))
    assert list(quarantine.reason_counts(tied)) == ["a reason", "z reason"]


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
    publish(pa.table({"x": [3]}), folder)  # the next publish clears what the failed one left
    assert [path.name for path in folder.iterdir()] == [DATA_FILE]


# ---------------------------------------------------------------------------------------
# through a power loss
# ---------------------------------------------------------------------------------------


@pytest.fixture
def disk_log(monkeypatch) -> list[tuple[str, str]]:
    """Every sync (of the path its descriptor names) and rename, in order."""
    log: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def recording_fsync(fd: int) -> None:
        log.append(("sync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def recording_replace(source, target) -> None:
        log.append(("rename", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    return log


def test_a_published_file_is_on_the_disk_before_its_rename_and_the_rename_after(tmp_path, disk_log):
    """A rename can reach the disk before the data it names: without the syncs a power
    loss could leave an empty file in place of the old one."""
    folder = partition_folder(tmp_path / "t", D1)
    target = publish(pa.table({"n": [1]}), folder)
    in_flight = folder / f"_{DATA_FILE}.{os.getpid()}.tmp"
    assert disk_log == [
        ("sync", str(in_flight)),
        ("rename", str(target)),
        ("sync", str(tmp_path / "t")),  # holds the day's folder, made for it
        ("sync", str(folder)),
    ]


def test_a_streamed_days_files_are_on_the_disk_before_each_rename_and_the_renames_after(
    tmp_path, disk_log
):
    dataset = tmp_path / "t"
    publish_stream(stream([(D1, 1), (D2, 2)]), dataset, [D1, D2])
    folders = [partition_folder(dataset, day) for day in (D1, D2)]
    in_flight = [str(folder / f"_{DATA_FILE}.{os.getpid()}.tmp") for folder in folders]
    assert disk_log == [
        ("sync", in_flight[0]),
        ("rename", str(folders[0] / DATA_FILE)),
        ("sync", in_flight[1]),
        ("rename", str(folders[1] / DATA_FILE)),
        ("sync", str(dataset)),
        ("sync", str(folders[0])),
        ("sync", str(folders[1])),
    ]


def test_a_file_system_that_cannot_sync_still_gets_the_file(tmp_path, monkeypatch):
    """Some mounts answer EINVAL to a folder's sync: the file is written as before."""
    real_fsync = os.fsync

    def folders_unsyncable(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", folders_unsyncable)
    target = publish(pa.table({"n": [1]}), partition_folder(tmp_path / "t", D1))
    assert pq.read_table(target)["n"].to_pylist() == [1]


def test_data_that_did_not_reach_the_disk_fails_the_write(tmp_path, monkeypatch):
    """EIO on a sync: the file is not on the disk, so nothing is published."""
    real_fsync = os.fsync

    def disk_error(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", disk_error)
    folder = partition_folder(tmp_path / "t", D1)
    with pytest.raises(OSError, match="Input/output error"):
        publish(pa.table({"n": [1]}), folder)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert not (folder / DATA_FILE).exists()
