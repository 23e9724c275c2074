"""Quarantine: bad landed records, kept with where they came from and why.

A Parquet dataset per landed table at `<data>/quarantine/<source>_<table>/date=D/`
(contract section 2), replaced with each re-materialization of the day so a fixed
re-delivery clears it. Quarantine holds records' original text, so like bronze it may
hold personal data: the event log only ever gets counts and a masked sample.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, run_command
from cx_assets.lakehouse.privacy import shown_path, shown_paths

QUARANTINE_COLUMNS = ["source_file", "line_number", "reason", "raw"]
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("line_number", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)


def dataset_dir(quarantine_dir: Path, dataset: str) -> Path:
    return quarantine_dir / dataset


def write(
    quarantine_dir: Path,
    dataset: str,
    rejects: pd.DataFrame,
    dates: Sequence[date],
    quarantined_at: datetime,
) -> int:
    """Replace the quarantine of each day in `dates` with that day's rows of `rejects`
    (columns: date + QUARANTINE_COLUMNS). A day without rejects gets an empty file, as a gold
    day without rows does: the dataset always reads (`read_parquet('…/**/*.parquet')` on a
    folder with no file fails), with its columns, and a re-run that fixed a day clears it."""
    folder = dataset_dir(quarantine_dir, dataset)
    by_day = (
        {pd.Timestamp(key).date(): group for key, group in rejects.groupby(PARTITION_COLUMN)}
        if len(rejects)
        else {}
    )
    written = 0
    for day in dates:
        rows = by_day.get(day)
        if rows is None or rows.empty:
            table = QUARANTINE_SCHEMA.empty_table()
        else:
            table = pa.Table.from_pandas(
                rows.sort_values(["source_file", "line_number"])[QUARANTINE_COLUMNS].assign(
                    quarantined_at=quarantined_at
                ),
                schema=QUARANTINE_SCHEMA,
                preserve_index=False,
            )
        parquet.publish(table, parquet.partition_folder(folder, day))
        written += table.num_rows
    return written


def count(quarantine_dir: Path, dataset: str, dates: Sequence[date]) -> int:
    folder = dataset_dir(quarantine_dir, dataset)
    return sum(day_rows(folder, day) for day in dates)


def day_rows(folder: Path, day: date, group: str | None = None) -> int:
    """Records a quarantine dataset (`folder`) holds of `day`. A damaged file of it fails
    naming the file and the run that writes it anew (found in an audit: Arrow's error named
    neither), `group`'s, or every domain's without it."""
    try:
        return parquet.row_count(parquet.partition_folder(folder, day))
    except parquet.DamagedParquetError as error:
        raise parquet.DamagedParquetError(
            f"{error}: it is the quarantine of {day}, which running that day again writes "
            "anew: " + run_command(day.isoformat(), select=f"group:{group}" if group else None)
        ) from error


def day_reasons(folder: Path, day: date) -> dict[str, int]:
    """Why a quarantine dataset's (`folder`) records of `day` were set apart: each reason
    and how many (reasons name fields and rules, never values), most frequent first."""
    path = parquet.partition_folder(folder, day) / parquet.DATA_FILE
    if not path.exists():
        return {}
    return reason_counts(pq.read_table(path, columns=["reason"]).to_pandas())


def masked_sample(rejects: pd.DataFrame, limit: int = 5) -> list[dict[str, object]]:
    """Where and why, never the record's content: the file as shown outside bronze and
    quarantine (`privacy.shown_paths`: an e-mail address or phone number in its name
    masked), so is a duplicate's first copy its reason names."""
    sample = rejects.sort_values(["source_file", "line_number"]).head(limit)
    shown = shown_paths(sample["source_file"])
    return [
        {
            "source_file": shown.get(row.source_file, row.source_file),
            "line_number": int(row.line_number),
            "reason": shown_reason(row.reason),
        }
        for row in sample.itertuples()
    ]


# Where a duplicate's reason names its first copy: `... (first seen at <file>:<line>)`.
_FIRST_SEEN = re.compile(r"\(first seen at (.+):\d+\)$")


def shown_reason(reason: str) -> str:
    """A reject reason as shown outside quarantine: the first copy's file it may name as
    `privacy.shown_path` shows it."""
    match = _FIRST_SEEN.search(reason)
    if match is None:
        return reason
    return reason[: match.start(1)] + shown_path(match.group(1)) + reason[match.end(1) :]


def reason_kinds(reasons: pd.Series) -> pd.Series:
    """Reasons without the position they may carry (a duplicate's first copy, where JSON
    broke, the byte that is not UTF-8: a binary file's lines gave a reason a byte): what
    records are grouped and counted on."""
    return reasons.str.replace(
        r" \((first seen at .*|(line \d+ )?column \d+( of the record)?)\)$| at byte \d+",
        "",
        regex=True,
    )


# A repeated key's reason names the day the key was first delivered or kept (`duplicates`);
# over several days those are one reason, the day said as the day's side.
_OTHER_DAY = {"first delivered on": "an earlier day", "already kept on": "a later day"}


def _across_days(reasons: pd.Series) -> pd.Series:
    """`reasons` with a repeated key's day said as `an earlier day` or `a later day`."""
    for said, day in _OTHER_DAY.items():
        reasons = reasons.str.replace(
            rf"^(duplicate .*) \({said} \d{{4}}-\d{{2}}-\d{{2}}\)$",
            rf"\1 ({said} {day})",
            regex=True,
        )
    return reasons


def reasons_across_days(counts: Mapping[str, int]) -> dict[str, int]:
    """Counts of reasons (`reason_counts` of several days) with a repeated key's reasons one
    whatever its first day: a week re-delivered each day after listed a reason a day."""
    merged: dict[str, int] = {}
    for reason, count in zip(
        _across_days(pd.Series(list(counts), dtype=str)), counts.values(), strict=True
    ):
        merged[reason] = merged.get(reason, 0) + count
    return merged


def reason_counts(rejects: pd.DataFrame) -> dict[str, int]:
    if rejects.empty:
        return {}
    kinds = reason_kinds(rejects["reason"])
    # Most frequent first, ties by reason: the same order as the SQL path's (`query_validated`).
    counts = {str(reason): int(count) for reason, count in kinds.value_counts().items()}
    return dict(sorted(counts.items(), key=_most_frequent_first))


def _most_frequent_first(reason_and_count: tuple[str, int]) -> tuple[int, str]:
    reason, count = reason_and_count
    return -count, reason


def reasons_with_first_place(
    folders: Sequence[Path],
) -> tuple[list[tuple[str, int, str, int]], int]:
    """Over quarantine day folders (`folders`, in day order): each reason (`reason_kinds`,
    a repeated key's one whatever its first day: `reasons_across_days`) with how many records and its first record's file and line, most frequent first (ties by
    reason); and how many files the records came from. A day's file is read at a time."""
    tally: dict[str, list] = {}
    files: set[str] = set()
    for folder in folders:
        rows = pq.read_table(folder, columns=["source_file", "line_number", "reason"])
        if not rows.num_rows:
            continue
        rows = rows.to_pandas().sort_values(["source_file", "line_number"], kind="stable")
        files.update(rows["source_file"].unique())
        kinds = _across_days(reason_kinds(rows["reason"].astype(str)))
        firsts = rows.assign(kind=kinds).drop_duplicates("kind").set_index("kind")
        for kind, count in kinds.value_counts().items():
            if kind in tally:
                tally[kind][0] += int(count)
            else:  # an earlier day's first record stays the first
                first = firsts.loc[kind]
                tally[kind] = [int(count), str(first.source_file), int(first.line_number)]
    ordered = sorted(tally.items(), key=lambda item: (-item[1][0], item[0]))
    return [(kind, *counted) for kind, counted in ordered], len(files)
