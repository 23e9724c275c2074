"""Where `records_only_in_quarantine` looks for other days' copies (`dropped_keys`)."""

from __future__ import annotations

from cx_assets.lakehouse.dropped_keys import _days_outside


def test_only_folders_named_by_a_day_are_other_days(tmp_path):
    """A stray folder in a quarantine dataset (`date=junk`, a file) is no day to read."""
    for name in ("date=2024-01-01", "date=2024-01-02", "date=junk", "notes"):
        (tmp_path / name).mkdir()
    (tmp_path / "date=2024-01-03.txt").write_text("")

    assert _days_outside(tmp_path, ["2024-01-02"]) == ["2024-01-01"]
    assert _days_outside(tmp_path / "missing", []) == []
