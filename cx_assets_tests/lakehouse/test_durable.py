"""Published files through a power loss (`durable`): a file's data is on the disk before its
rename and the rename after, a file system that cannot sync still gets the file, and data
that did not reach the disk fails the write."""

from __future__ import annotations

import errno
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cx_assets.lakehouse.parquet import DATA_FILE, partition_folder, publish, publish_stream
from cx_assets_tests.lakehouse.day_streams import D1, D2, stream


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


def test_a_file_replaced_whole_is_on_the_disk_before_its_rename_and_the_rename_after(
    tmp_path, disk_log
):
    """`durable.replace`, which gold tables, models, `dagster.yaml` and the read-ahead
    record are published by, syncs as `publish` does (mutation testing: its syncs dropped,
    no test failed, since the tests above publish Parquet, which syncs on its own)."""
    from cx_assets.lakehouse.durable import replace

    folder = tmp_path / "gold" / "t"
    folder.mkdir(parents=True)
    in_flight, target = folder / "_t.parquet.tmp", folder / "t.parquet"
    in_flight.write_bytes(b"new")
    replace(in_flight, target)
    assert target.read_bytes() == b"new"
    assert disk_log == [
        ("sync", str(in_flight)),
        ("rename", str(target)),
        ("sync", str(tmp_path / "gold")),  # may hold a folder made for it
        ("sync", str(folder)),
    ]


def test_an_error_writing_a_file_names_it_and_one_without_an_errno_is_left_as_it_is(tmp_path):
    """A full disk's error from Arrow or a file object names no file: `naming` names the
    one written. An OSError without an errno (Arrow raises such) is raised as it was, not
    turned into a TypeError of `os.strerror(None)` (mutation testing: the errno test
    dropped, no test failed)."""
    from cx_assets.lakehouse.durable import naming

    path = tmp_path / "gold" / "t.parquet"
    with pytest.raises(OSError) as full, naming(path):
        raise OSError(errno.ENOSPC, "Error writing bytes to file")
    assert (full.value.errno, full.value.filename) == (errno.ENOSPC, str(path))
    assert "No space left on device" in str(full.value)
    with pytest.raises(OSError, match=r"^Arrow could not write$") as arrow, naming(path):
        raise OSError("Arrow could not write")
    assert arrow.value.errno is None
