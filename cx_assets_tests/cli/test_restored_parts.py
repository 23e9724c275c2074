"""Parts of a data root lost or restored from an older backup, and what the next
`cx-lakehouse run` says of them: the warehouse deleted or restored from before days that
Dagster's history says were built."""

from __future__ import annotations

import shutil

import pytest

from cx_assets_tests.cli import cli, landed

pytestmark = pytest.mark.long_module  # whole data roots built and run, several times

DIGITAL = ("run", "--select", "group:digital", "--date")


def earlier_days_said(stdout: str) -> list[str]:
    """The line naming earlier days not built and the command under it."""
    lines = stdout.splitlines()
    said = next((n for n, line in enumerate(lines) if line.startswith("earlier days not")), None)
    return [] if said is None else lines[said : said + 2]


def test_a_warehouse_restored_from_before_built_days_has_them_named(tmp_path):
    """Found restoring a data root: with `warehouse.duckdb` restored from a backup taken
    before the last days were built (or deleted), Dagster's history still held those days
    as built, so the next day run alone read them as days with no rows (digital's leakage
    calls lost the evening before and every repeat call; CRM's linkage share fell to
    0.0055 with the contacts of earlier days gone), rewrote the whole-history gold from
    the warehouse's days alone and said OK, naming nothing."""
    data_dir = tmp_path / "data"
    landed(data_dir, "digital", days=3, start="2024-01-01", seed=None)
    warehouse = data_dir / "warehouse.duckdb"
    backup = tmp_path / "warehouse-backup.duckdb"
    assert cli(*DIGITAL, "2024-01-01", data_dir=data_dir).returncode == 0
    shutil.copy2(warehouse, backup)
    assert cli(*DIGITAL, "2024-01-02", data_dir=data_dir).returncode == 0
    shutil.copy2(backup, warehouse)  # the backup of the evening before day 2 was built

    restored = cli(*DIGITAL, "2024-01-03", data_dir=data_dir)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    said = earlier_days_said(restored.stdout)
    assert said, restored.stdout
    assert said[0].startswith("earlier days not built: digital, 1 day, 2024-01-02, landed"), said
    assert said[1] == "  cx-lakehouse run --date 2024-01-02 --to 2024-01-03 --select group:digital"

    warehouse.unlink()  # deleted: every earlier day is gone from it
    deleted = cli(*DIGITAL, "2024-01-03", data_dir=data_dir)

    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    said = earlier_days_said(deleted.stdout)
    assert said, deleted.stdout
    assert said[0].startswith(
        "earlier days not built: digital, 2 days from 2024-01-01 to 2024-01-02 landed"
    ), said
    command = "cx-lakehouse run --date 2024-01-01 --to 2024-01-03 --select group:digital"
    assert said[1] == f"  {command}"
    # which brings it back: nothing is named any more
    caught_up = cli(*command.split()[1:], data_dir=data_dir)
    assert caught_up.returncode == 0 and not earlier_days_said(caught_up.stdout)
    again = cli(*DIGITAL, "2024-01-03", data_dir=data_dir)
    assert again.returncode == 0 and not earlier_days_said(again.stdout), again.stdout


def test_support_days_the_warehouse_lacks_are_named_for_its_whole_history_tables(tmp_path):
    """Found restoring a data root: with the warehouse deleted, the next support day run
    alone named no earlier day, though its whole-history tables (tickets by created day,
    the classifier, the forecast with "1 day of history") read every day of its silver
    tables and were rebuilt from that day alone."""
    data_dir = tmp_path / "data"
    landed(data_dir, "support", days=2, start="2024-01-01", seed=None)
    run = ("run", "--select", "group:support", "--date")
    assert cli(*run, "2024-01-01", data_dir=data_dir).returncode == 0
    (data_dir / "warehouse.duckdb").unlink()

    deleted = cli(*run, "2024-01-02", data_dir=data_dir)

    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    said = earlier_days_said(deleted.stdout)
    assert said, deleted.stdout
    assert said[0].startswith("earlier days not built: support, 1 day, 2024-01-01, landed"), said
    assert "gold/support_ticket_analytics" in said[0], said
    assert said[1] == "  cx-lakehouse run --date 2024-01-01 --to 2024-01-02 --select group:support"
