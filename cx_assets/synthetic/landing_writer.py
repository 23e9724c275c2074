"""Writing synthetic landing files, shared by every domain's generator.

Generators only decide *what* records to produce; where they go and how they are
encoded (contract section 2) lives here, so every source lands the same way:
`<landing>/<source>/<table>/<YYYY-MM-DD>/<name>.<ext>`, UTF-8, written to an
in-flight name (leading `_`) and renamed so a sensor never reads half a file; inside
`one_delivery` (a source's files in `cx-lakehouse generate`) renamed together at its end, so
a sensor never runs a day on part of its files.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm


@dataclass(frozen=True)
class GenerationRequest:
    """What `cx-lakehouse generate` asks of a domain generator."""

    landing_dir: Path
    start: date
    days: int
    scale: float = 1.0
    seed: int = 42
    show_progress: bool = True

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]

    def scaled(self, volume_at_scale_1: float, minimum: int = 1) -> int:
        """A per-day volume at this scale, never below `minimum` (tiny scales still produce data)."""
        return max(minimum, round(volume_at_scale_1 * self.scale))

    def rng(self, *parts: object) -> random.Random:
        """A generator seeded from the request seed plus a label, so each day/table is independent
        of how many random numbers other days consumed (re-generating one day gives the same data)."""
        return random.Random(f"{self.seed}:" + ":".join(str(part) for part in parts))

    def progress(self, total: int, description: str) -> tqdm:
        return tqdm(
            total=total, desc=description, unit="rec", disable=not self.show_progress, leave=False
        )


def landing_file(landing_dir: Path, source: str, table: str, day: date, filename: str) -> Path:
    return landing_dir / source / table / day.isoformat() / filename


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# The files of the delivery being written (`one_delivery`), in flight until it ends.
_DELIVERY: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("delivery", default=None)


@contextmanager
def one_delivery() -> Iterator[None]:
    """The files written inside land together when it ends: each stays under its in-flight
    name until then, and all are renamed into place in one burst. A landing sensor that
    looked while a source's files were renamed one by one (a scale-2 CRM day takes about
    12 s to write) ran the day on part of them, and again on each tick after: four runs,
    and gold showing a partial day for a minute (seen in an audit). Interrupted, it
    removes what it left in flight."""
    pending: list[tuple[Path, Path]] = []
    token = _DELIVERY.set(pending)
    try:
        yield
        for in_flight, path in pending:
            os.replace(in_flight, path)
        pending.clear()
    finally:
        _DELIVERY.reset(token)
        for in_flight, _ in pending:
            in_flight.unlink(missing_ok=True)


def _publish(path: Path, write) -> Path:
    """Write through an in-flight temp name (ignored by discovery) and rename into place,
    at once or, inside `one_delivery`, when it ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    in_flight = path.with_name(f"_{path.name}.tmp")
    try:
        # The records are generated as they are written: an interruption (Ctrl-C, a stop
        # signal) comes here, and the half-written file was left behind.
        with open(in_flight, "w", encoding="utf-8", newline="") as handle:
            write(handle)
    except BaseException:
        in_flight.unlink(missing_ok=True)
        raise
    if (pending := _DELIVERY.get()) is not None:
        pending.append((in_flight, path))
    else:
        os.replace(in_flight, path)
    return path


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    count = 0

    def write(handle) -> None:
        nonlocal count
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, default=_json_default))
            handle.write("\n")
            count += 1

    _publish(path, write)
    return count


def write_json(path: Path, payload: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Path:
    return _publish(
        path, lambda handle: json.dump(payload, handle, ensure_ascii=False, default=_json_default)
    )


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    count = 0

    def write(handle) -> None:
        nonlocal count
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: ("" if value is None else value) for key, value in row.items()})
            count += 1

    _publish(path, write)
    return count


def remove_stale(folder: Path, patterns: Sequence[str], written: Collection[Path]) -> None:
    """Delete the files in `folder` that match one of this generator's name `patterns` but
    were not written by this run. A re-run at a smaller scale writes fewer files, and the
    leftovers would still be read as part of the day; other deliveries are never touched."""
    keep = set(written)
    for pattern in patterns:
        for path in folder.glob(pattern):
            if path not in keep:
                path.unlink()


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]
