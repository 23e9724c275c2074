"""The rows later days were built from, kept until a run has compared them.

`cx-lakehouse run` names the later days an earlier run built from days it rebuilds, when
those days' rows came out different (`lakehouse/staleness.py`): it fingerprints the rows
before the run and again after. A run that failed, was interrupted or was killed after
rebuilding them said nothing, and the next run's "before" already held the new rows, so the
later days stayed out of date without a word. The fingerprints taken before a run are kept
in a file under the data root until a run that finished has compared them and said what
changed (a failed or interrupted run says it too, and leaves them for the run that follows,
usually the same command again): a run starts from the oldest it finds there, for its own
days and any a stopped run left.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cx_assets.lakehouse import durable

# table ("layer/name") -> ISO day -> [rows, sum of the rows' hashes]
Fingerprints = dict[str, dict[str, list]]


@dataclass(frozen=True)
class ReadAheadJournal:
    path: Path

    def read(self) -> Fingerprints:
        """The fingerprints a run left, none when there is no file or its text cannot be
        read (torn by a power cut on a mount that does not sync): the later days it would
        have named are then not named, as before the journal; failing would stop every run."""
        try:
            kept = json.loads(self.path.read_bytes())
        except (OSError, ValueError):  # JSON's and UTF-8's errors are ValueErrors
            return {}
        if not isinstance(kept, dict):
            return {}
        return {
            table: {
                day: list(rows)
                for day, rows in days.items()
                if _is_day(day) and isinstance(rows, list)
            }
            for table, days in kept.items()
            if isinstance(table, str) and isinstance(days, dict)
        }

    def write(self, fingerprints: Fingerprints) -> None:
        """Durably, before the run writes anything they describe; none removes the file."""
        if not any(fingerprints.values()):
            self.path.unlink(missing_ok=True)
            return
        in_flight = self.path.with_name(f"_{self.path.name}.{os.getpid()}.tmp")
        try:
            with durable.naming(self.path):  # a full disk's error would name no file
                in_flight.write_text(json.dumps(fingerprints, sort_keys=True))
            durable.replace(in_flight, self.path)
        finally:  # refused by a full disk, it stayed for good: nothing removes it
            in_flight.unlink(missing_ok=True)


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except (TypeError, ValueError):
        return False
    return True


def oldest(own: Fingerprints, left: Fingerprints) -> Fingerprints:
    """A run's own fingerprints with those a stopped run `left` over them: they are of the
    rows the later days were built from."""
    merged = {table: dict(days) for table, days in own.items()}
    for table, days in left.items():
        merged.setdefault(table, {}).update(days)
    return merged
