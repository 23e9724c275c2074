"""Landed files written byte for byte, and read back as bronze rows, for the landing,
reader and bronze-stream tests."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from cx_assets.lakehouse.bronze_stream import read_landed
from cx_assets.lakehouse.landing import discover

BOM = b"\xef\xbb\xbf"
DAY = date(2024, 1, 5)
DAY_AFTER = datetime(2024, 1, 6, tzinfo=UTC)


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def land_in(landing_dir: Path, name: bytes | str, content: bytes) -> Path:
    """Write a file into the crm/interactions day folder; a bytes name may be any bytes."""
    folder = landing_dir / "crm" / "interactions" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    raw_name = name if isinstance(name, bytes) else name.encode()
    with open(os.path.join(os.fsencode(folder), raw_name), "wb") as handle:
        handle.write(content)
    return folder / os.fsdecode(raw_name)


def read_day(landing_dir: Path) -> list[dict]:
    files = discover(landing_dir, "crm", "interactions", DAY)
    table = read_landed(files, DAY_AFTER).read_all()
    return table.select(["source_file", "line_number", "raw", "read_error"]).to_pylist()
