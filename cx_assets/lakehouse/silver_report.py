"""What a silver step reports of its chunks: the rejected records written to quarantine,
warnings for the first ten, and the step's metadata (bronze and quarantined rows, reasons
by count, a masked sample, each day's own counts in a range run)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, TypeVar

import pandas as pd
import pyarrow
from dagster import AssetExecutionContext, MetadataValue

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.io_managers import rows_by_day
from cx_assets.lakehouse.privacy import shown_paths
from cx_assets.lakehouse.resources import Lake


@dataclass(frozen=True)
class Chunk:
    """One chunk of days of a silver step: its good rows and its rejected records."""

    rows: pyarrow.Table
    rejects: pd.DataFrame  # date, source_file, line_number, reason, raw
    bronze_rows: int


# What a step says of a landed file (`_by_shown_file`).
_Said = TypeVar("_Said")

# Metadata of a silver step: the optional fields a landed CSV file has no column for, by
# file (`cx-lakehouse run` lists them in its summary).
MISSING_OPTIONAL_COLUMNS = "files_missing_optional_columns"
# Metadata of a silver step: the JSON files in which no record has some optional fields
# while their records have fields the contract does not declare spelled as them, and the
# CSV files without their columns whose header has such a field (a possible rename,
# `steps.spelled_alike`), by file:
# {"absent": [...], "undeclared": [...]} (`cx-lakehouse run` lists them in its summary).
LIKELY_RENAMED_FIELDS = "files_with_likely_renamed_fields"
# Metadata of a silver step: the CSV files whose header spells a required field otherwise
# (`Call_Reason` for `call_reason`), by file: {column: field}. Their records are quarantined
# as missing the field, a reason that cannot name the column delivered.
REQUIRED_SPELLED_OTHERWISE = "files_spelling_required_columns_otherwise"


def _by_shown_file(by_file: Mapping[str, _Said]) -> dict[str, _Said]:
    """`by_file` keyed by each file as silver shows it (`privacy.shown_paths`): its log
    lines and metadata name no contact a file's name holds."""
    shown = shown_paths(by_file)
    return {shown.get(name, name): value for name, value in by_file.items()}


class SilverReport:
    """Quarantine writes and the step's metadata, accumulated chunk by chunk."""

    def __init__(self, context: AssetExecutionContext, lake: Lake, dataset: str) -> None:
        self.context, self.lake, self.dataset = context, lake, dataset
        self.bronze_rows = 0
        self.quarantined = 0
        self.logged = 0  # warnings: the first ten rejects of the step
        self.reasons: dict[str, int] = {}
        self.sample: list[dict[str, object]] = []
        self.missing_columns: dict[str, list[str]] = {}
        self.renamed_fields: dict[str, dict[str, list[str]]] = {}
        self.spelled_otherwise: dict[str, dict[str, str]] = {}

    def note_missing_columns(self, missing: Mapping[str, list[str]]) -> None:
        missing = _by_shown_file(missing)
        for source_file, columns in missing.items():
            self.context.log.warning(
                f"{source_file} has no column {', '.join(columns)} (optional): its records "
                "are kept without a value there"
            )
        self.missing_columns.update(missing)

    def note_renamed_fields(self, renamed: Mapping[str, dict[str, list[str]]]) -> None:
        renamed = _by_shown_file(renamed)
        for source_file, fields in renamed.items():
            self.context.log.warning(
                f"{source_file}: no record has {', '.join(fields['absent'])} (optional) and its "
                f"records have {', '.join(fields['undeclared'])}, which the contract does not "
                "declare (may be a rename): its records are kept without a value there"
            )
        self.renamed_fields.update(renamed)

    def note_required_spelled_otherwise(self, spelled: Mapping[str, dict[str, str]]) -> None:
        spelled = _by_shown_file(spelled)
        for source_file, columns in spelled.items():
            for column, field in columns.items():
                self.context.log.warning(
                    f"{source_file}: its column {column} is the required field {field} spelled "
                    f"otherwise: its records are quarantined as missing {field} (the column "
                    "is not guessed)"
                )
        self.spelled_otherwise.update(spelled)

    def add(self, days: list[date], chunk: Chunk) -> pyarrow.Table:
        rejects = chunk.rejects
        quarantine.write(
            self.lake.layout.quarantine_dir, self.dataset, rejects, days, datetime.now(UTC)
        )
        for row in quarantine.masked_sample(rejects, limit=10 - self.logged):
            self.context.log.warning(
                f"quarantined {row['source_file']}:{row['line_number']}: {row['reason']}"
            )
            self.logged += 1
        self.bronze_rows += chunk.bronze_rows
        self.quarantined += len(rejects)
        for reason, count in quarantine.reason_counts(rejects).items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count
        self.sample = sorted(
            [*self.sample, *quarantine.masked_sample(rejects)],
            key=itemgetter("source_file", "line_number"),
        )[:5]
        self._add_day_counts(days, chunk)
        return chunk.rows

    def _add_day_counts(self, days: list[date], chunk: Chunk) -> None:
        """Each day's own counts on its materialization: Dagster gives every day of a range
        run the step's metadata, the range's totals. A day's bronze rows are its silver
        rows and its quarantined ones (its reconciliation check holds them so)."""
        if len(days) == 1 and not self.context.has_partition_key_range:
            return  # one day: the step's totals are the day's
        quarantined = dict.fromkeys(days, 0)
        for day in chunk.rejects["date"]:
            quarantined[day] += 1
        kept = rows_by_day(chunk.rows, days)
        for day in days:
            self.context.add_asset_metadata(
                {"bronze_rows": kept[day] + quarantined[day], "quarantined_rows": quarantined[day]},
                partition_key=day.isoformat(),
            )

    def metadata(self) -> dict[str, Any]:
        # Most frequent first; `reverse` keeps reasons of equal counts in their order.
        ordered_reasons = dict(sorted(self.reasons.items(), key=itemgetter(1), reverse=True))
        missing = {MISSING_OPTIONAL_COLUMNS: MetadataValue.json(self.missing_columns)}
        renamed = {LIKELY_RENAMED_FIELDS: MetadataValue.json(self.renamed_fields)}
        spelled = {REQUIRED_SPELLED_OTHERWISE: MetadataValue.json(self.spelled_otherwise)}
        return {
            **(missing if self.missing_columns else {}),
            **(renamed if self.renamed_fields else {}),
            **(spelled if self.spelled_otherwise else {}),
            "bronze_rows": self.bronze_rows,
            "quarantined_rows": self.quarantined,
            "reject_reasons": MetadataValue.json(ordered_reasons),
            "quarantine_sample": MetadataValue.json(self.sample),
            "quarantine_path": str(
                quarantine.dataset_dir(self.lake.layout.quarantine_dir, self.dataset)
            ),
        }
