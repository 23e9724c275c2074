"""Copies of the hand-made gold dataset (`gold_rows.write_gold`) with one thing changed, for
the tests of more than one page."""

from __future__ import annotations

import shutil
from pathlib import Path

from cx_assets_tests.command_centre import gold_rows


def with_t4_resolved_late(gold_root: Path, tmp_path: Path) -> Path:
    """A copy of the gold dataset where T4 (high, the latest day's only ticket, answered in
    time) was resolved after its target."""
    from cx_assets.support import schemas as support_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    rows = [
        {**row, "resolution_breached": True} if row["ticket_id"] == "T4" else row
        for row in gold_rows.support_tickets()
    ]
    gold_rows.publish(data_dir, "support_ticket_analytics", support_schemas.TicketAnalytics, rows)
    return data_dir
