"""The journal of the rows later days were built from (`cli/read_ahead.py`): kept across a
run, the oldest fingerprints winning, and a damaged file read as none."""

from __future__ import annotations

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
