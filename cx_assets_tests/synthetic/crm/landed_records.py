"""CRM landing data for the generator tests of more than one module: a generation request on a
test's folder, a table's records read back, and the contract's §4.1 noise rule, re-derived from
the contract independently of the generator's own code."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from cx_assets.synthetic.landing_writer import GenerationRequest

WEDNESDAY = date(2024, 1, 3)


def noise_reason(record: dict) -> str | None:
    """Contract §4.1, in its order."""
    subject = (record["EmailSubject"] or "").lstrip().lower()
    if subject.startswith(("lida:", "read:")):
        return "read_receipt"
    if subject.startswith(("entregue:", "delivered:")) or (
        record["Title"] == "E-mail recebido."
        and "sua mensagem foi entregue" in (record["Content"] or "").lower()
    ):
        return "delivery_receipt"
    if recipient_count(record) >= 4:
        return "mass_email"
    return None


def recipient_count(record: dict) -> int:
    return len([part for part in (record["EmailRecipients"] or "").split(";") if part.strip()])


def read_table(root: Path, table: str, day: date | None = None) -> list[dict]:
    folder = root / "crm" / table
    pattern = f"{day.isoformat()}/*.jsonl" if day else "*/*.jsonl"
    records = []
    for path in sorted(folder.glob(pattern)):
        with open(path, encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle)
    return records


def request(root: Path, start: date = WEDNESDAY, days: int = 1, **options) -> GenerationRequest:
    options.setdefault("scale", 0.01)
    return GenerationRequest(root, start, days, show_progress=False, **options)
