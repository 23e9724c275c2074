"""The journal of the rows later days were built from (`cli/read_ahead.py`): kept across a
run, the oldest fingerprints winning, and a damaged file read as none."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cx_assets.cli.read_ahead import ReadAheadJournal, oldest


def test_fingerprints_are_kept_until_written_empty(tmp_path):
    journal = ReadAheadJournal(tmp_path / ".read-ahead.json")
    assert journal.read() == {}
    kept = {"silver/calls": {"2024-01-01": [3, 12345678901234567890123], "2024-01-02": [0, None]}}
    journal.write(kept)
    assert journal.read() == kept  # hash sums past 64 bits survive
    journal.write({"silver/calls": {}})
    assert not journal.path.exists()
    assert list(tmp_path.iterdir()) == []  # nothing in flight left either


def test_a_journal_the_full_disk_refuses_leaves_nothing_in_flight(tmp_path, monkeypatch):
    """Found reading the journal in a full-disk audit: its in-flight file, made and then
    refused its text, stayed in the data root for good (named by the run's pid, read by
    nothing, and left by `make clean`, which removes only what it knows), and the error
    named no file. The journal stays as it was."""
    journal = ReadAheadJournal(tmp_path / ".read-ahead.json")
    kept = {"silver/calls": {"2024-01-01": [3, 30]}}
    journal.write(kept)

    def disk_full(path, *args, **kwargs):
        path.open("w").close()  # made; then its text is refused
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError) as refused:
        journal.write({"silver/calls": {"2024-01-02": [1, 10]}})
    assert [path.name for path in tmp_path.iterdir()] == [".read-ahead.json"]
    assert journal.read() == kept
    assert refused.value.filename == str(journal.path)


def test_a_stopped_runs_fingerprints_win_over_a_runs_own():
    own = {"silver/calls": {"2024-01-01": [2, 20], "2024-01-02": [1, 10]}}
    left = {"silver/calls": {"2024-01-01": [5, 50]}, "silver/journeys": {"2024-01-01": [1, 1]}}
    assert oldest(own, left) == {
        "silver/calls": {"2024-01-01": [5, 50], "2024-01-02": [1, 10]},
        "silver/journeys": {"2024-01-01": [1, 1]},
    }
    assert own == {"silver/calls": {"2024-01-01": [2, 20], "2024-01-02": [1, 10]}}  # untouched


@pytest.mark.parametrize("text", [b"", b'{"silver/c', b"[1, 2]", b"\xff\xfe{}", b'"days"'])
def test_a_damaged_journal_is_read_as_none_and_the_run_goes_on(tmp_path, text):
    """Torn by a power cut on a mount that does not sync, or edited by hand: failing on it
    would stop every run of the data root."""
    path = tmp_path / ".read-ahead.json"
    path.write_bytes(text)
    assert ReadAheadJournal(path).read() == {}


def test_a_journal_that_is_a_folder_is_read_as_none(tmp_path):
    (tmp_path / ".read-ahead.json").mkdir()
    assert ReadAheadJournal(tmp_path / ".read-ahead.json").read() == {}


def test_entries_of_the_wrong_shape_are_left_out(tmp_path):
    """A day that is no date reached DuckDB's date cast after the run and ended it with a
    traceback, and stayed in the file for every later run (seen in an audit)."""
    path = tmp_path / ".read-ahead.json"
    path.write_text(
        '{"silver/c": {"2024-01-01": [1, 2], "2024-01-02": 3, "notaday": [1, 2], "2024-13-01":'
        ' [1, 2]}, "gold/x": 4}'
    )
    assert ReadAheadJournal(path).read() == {"silver/c": {"2024-01-01": [1, 2]}}


def _not_parquet(data: bytes) -> bytes:
    return b"not Parquet\n"


def _its_middle_lost(data: bytes) -> bytes:
    """Half the file and its footer: DuckDB's error is then none of its subclasses."""
    return data[: len(data) // 2] + data[-8:]


@pytest.mark.parametrize("damaged", [_not_parquet, _its_middle_lost])
def test_a_damaged_bronze_file_is_a_fingerprint_unlike_any_not_a_traceback(tmp_path, damaged):
    """Seen in a newcomer's audit: with one day's bronze contacts file damaged, every
    `cx-lakehouse run` of the CRM, that day's own too (which writes the file anew from
    landing), ended in DuckDB's traceback while taking the fingerprints of the rows later
    days read. The table reads as unreadable instead, which no rows match: once the day is
    run again, the later days built from it are named."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cx_assets.cli.run_plan import UNREADABLE, RunPlan
    from cx_assets.lakehouse.bronze_views import create_bronze_view
    from cx_assets.lakehouse.settings import DataLayout
    from cx_assets.lakehouse.warehouse import Warehouse

    bronze = DataLayout(tmp_path).bronze_dir
    days = [bronze / "crm_contacts" / f"date=2024-01-0{day}" / "data.parquet" for day in (1, 2)]
    rows = pa.table({"raw": [f'{{"Id": {n}, "Name": "{n:x}"}}' for n in range(20_000)]})
    for day in days:
        day.parent.mkdir(parents=True)
        pq.write_table(rows, day)
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA bronze")
        create_bronze_view(con, "crm_contacts", bronze)
    days[0].write_bytes(damaged(days[0].read_bytes()))  # damaged after the view was made
    plan = RunPlan.resolve("group:crm")  # bronze/crm_contacts is read ahead
    warehouse = Warehouse(path=str(path))

    before = plan.read_ahead_rows(warehouse, ["2024-01-01"])

    assert before == {"bronze/crm_contacts": {"2024-01-01": UNREADABLE}}
    pq.write_table(rows, days[0])  # the day run again
    mended = plan.read_ahead_rows(warehouse, ["2024-01-01"])["bronze/crm_contacts"]
    assert mended["2024-01-01"][0] == rows.num_rows and mended != before["bronze/crm_contacts"]
