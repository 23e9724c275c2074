"""What a source's landed files were when last seen, so a sensor tick can tell a changed
day from one already built.

A day's **fingerprint** digests its files' paths, modification times and sizes; its
**rewrites** their status-change times (ctime), which move on a re-delivery that keeps the
rest (`cp -p`). Bronze materializations record both (`LANDING_FINGERPRINTS`,
`LANDING_REWRITES`), so a day built by the CLI is not run again by the sensor
(`already_built`); the sensor's state (`DaysSeen`, stored apart and named by the sensor's
cursor, `SeenStore`) keeps them per date folder with a count of changes for its run keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import date
from operator import attrgetter
from pathlib import Path

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from cx_assets.lakehouse.landing import LandedFile


def fingerprint(files: Sequence[LandedFile]) -> str:
    """The state of a day's files: each one's path, modification time and size."""
    return _digest(files, _path_time_size)


def rewrites(files: Sequence[LandedFile]) -> str:
    """When a day's files were last written: each one's path and status-change time (ctime).
    A re-delivery that keeps a file's modification time and size (`cp -p`, `rsync -t` of a
    same-size file) leaves `fingerprint` as it was, but moves ctime, which no tool sets
    back. Copying a whole data root moves every ctime too: see `DaysSeen.moved`."""
    return _digest(files, _path_ctime)


def _path_time_size(landed: LandedFile) -> str:
    return f"{landed.relative_path}|{landed.mtime_ns}|{landed.size}"


def _path_ctime(landed: LandedFile) -> str:
    return f"{landed.relative_path}|{landed.ctime_ns}"


def _digest(files: Sequence[LandedFile], line: Callable[[LandedFile], str]) -> str:
    # `relative_path` is printable even for a name that is not UTF-8, so this encodes.
    lines = "\n".join(line(landed) for landed in sorted(files, key=attrgetter("relative_path")))
    return hashlib.sha256(lines.encode()).hexdigest()[:20]


def folder_identity(folder: Path) -> str | None:
    """The device and inode of a folder: they change when the folder is copied or restored
    elsewhere (every file's ctime with them), not when it is renamed in place."""
    try:
        stat = folder.stat()
    except OSError:
        return None
    return f"{stat.st_dev}:{stat.st_ino}"


# Bronze materializations record the fingerprint of each day's files, so a sensor can tell
# a day already built (by the CLI, say) from one whose files changed; and their `rewrites`,
# with the identity of the landing folder they were read from, so a re-delivery keeping
# the fingerprint is not taken for what bronze was built from.
LANDING_FINGERPRINTS = "landing_fingerprints"
LANDING_REWRITES = "landing_rewrites"


def bronze_key(source: str, table: str) -> AssetKey:
    return AssetKey(["bronze", f"{source}_{table}"])


def day_fingerprints(files: Sequence[LandedFile], days: Sequence[date]) -> dict[str, str]:
    """The fingerprint of one table's files, day by day (a day without files included)."""
    return _by_day(fingerprint, files, days)


def day_rewrites(files: Sequence[LandedFile], days: Sequence[date], landing: Path) -> dict:
    """`LANDING_REWRITES` of one table's files: the landing folder's identity and each day's
    `rewrites`."""
    return {"landing": folder_identity(landing), "days": _by_day(rewrites, files, days)}


def _by_day(
    summary: Callable[[Sequence[LandedFile]], str],
    files: Sequence[LandedFile],
    days: Sequence[date],
) -> dict[str, str]:
    return {
        day.isoformat(): summary([landed for landed in files if landed.day == day]) for day in days
    }


def already_built(
    instance: DagsterInstance,
    source: str,
    day: date,
    files_by_table: dict[str, list],
    landing: str | None,
) -> bool:
    """Whether the latest bronze materialization of every table of `source` for `day`
    recorded exactly these files: their fingerprints, and their rewrites when read from the
    same landing folder (`landing`, its identity now); a copied data root has other ctimes,
    and a materialization from before rewrites were recorded has none."""
    for table, files in files_by_table.items():
        found = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=bronze_key(source, table), asset_partitions=[str(day)]),
            limit=1,
        ).records
        if not found or found[0].asset_materialization is None:
            return False
        metadata = found[0].asset_materialization.metadata
        recorded = metadata.get(LANDING_FINGERPRINTS)
        if recorded is None or recorded.value.get(str(day)) != fingerprint(files):
            return False
        written = metadata.get(LANDING_REWRITES)
        if (
            written is not None
            and written.value.get("landing") == landing
            and written.value["days"].get(str(day)) != rewrites(files)
        ):
            return False
    return True


class DaysSeen:
    """The sensor's state: each date folder's last fingerprint, its `rewrites` and how many
    times it has changed. The count goes into the run key: Dagster drops a request whose key
    it has seen, so a day whose files go back to an earlier state (a rollback with the old
    times kept, files removed twice, a `cp -p` re-delivery) must still get a new key.

    It also keeps the folders skipped on the last tick (as `SKIPPED`), so a folder outside
    the partitions (today's, one misnamed), or an entry of a date folder discovery ignores
    (a stray file, a subfolder: keyed by its path), is logged once, not on every tick,
    and the identity of the source's landing folder (under `LANDING`, a key no folder name
    can be): when it changes, the data root was copied or restored, every file's ctime moved
    with it, and a day whose names, times and sizes are unchanged is not run again."""

    SKIPPED = "skipped"
    LANDING = "/landing"
    # A state started again (its cursor reset, or the state it named lost) on a data root
    # whose sensor has run before counts changes from 0 again: its run keys could repeat
    # earlier ones, whose requests Dagster drops. A generation of its own, in every key it
    # makes, keeps them apart.
    GENERATION = "/generation"
    # The fingerprint of a day owed a run (no digest is so): a run stopped short of it, as
    # one it could not read, and the days after it read a day that run rebuilt.
    OWED = "owed"

    def __init__(
        self,
        fingerprints: dict[str, str],
        changes: dict[str, int],
        skipped: frozenset[str] = frozenset(),
        written: dict[str, str] | None = None,
        landing: str | None = None,
        generation: str | None = None,
    ) -> None:
        self.fingerprints, self.changes = fingerprints, changes
        self.written = written or {}
        self.skipped_before = skipped
        self.skipped: set[str] = set()
        self.landing_before, self.landing = landing, landing
        self.generation = generation

    def skip(self, folder_name: str) -> bool:
        """Remember that the folder is skipped this tick; whether it was not on the last one."""
        self.skipped.add(folder_name)
        return folder_name not in self.skipped_before

    def look_at(self, landing: str | None) -> None:
        """The landing folder's identity on this tick."""
        self.landing = landing

    @property
    def moved(self) -> bool:
        """The landing folder is another one than on the last tick that knew it."""
        return self.landing_before is not None and self.landing != self.landing_before

    @classmethod
    def from_text(cls, text: str | None) -> DaysSeen:
        """The state `to_text` wrote (or, before `SeenStore`, the sensor's whole cursor): a
        day maps to "fingerprint" (before change counts were kept), "fingerprint/changes"
        (before rewrites were) or "fingerprint/changes/rewrites"."""
        fingerprints, changes, written, skipped = {}, {}, {}, set()
        values = json.loads(text) if text else {}
        landing = values.pop(cls.LANDING, None)
        generation = values.pop(cls.GENERATION, None)
        for day, value in values.items():
            if value == cls.SKIPPED:
                skipped.add(day)
                continue
            found, _, rest = value.partition("/")
            count, _, rewritten = rest.partition("/")
            fingerprints[day], changes[day] = found, int(count or 0)
            if rewritten:
                written[day] = rewritten
        return cls(fingerprints, changes, frozenset(skipped), written, landing, generation)

    @property
    def started_again(self) -> bool:
        """Nothing known yet, no generation: a first state, or one started again."""
        return not self.fingerprints and self.generation is None

    def run_key(self, source: str, day: str, change: int) -> str:
        """The key of a run of `day` at its `change`th change (see `GENERATION`)."""
        key = f"{source}:{day}:{self.fingerprints[day]}" + (f":{change}" if change else "")
        return key + (f":{self.generation}" if self.generation else "")

    def unchanged(self, day: str, current: str, rewritten: str) -> bool:
        """Whether the day's files are as last seen: the same fingerprint, and not rewritten
        since (unless the whole landing folder was copied, or the state is from before
        rewrites were kept); it then keeps their rewrites."""
        if self.fingerprints.get(day) != current:
            return False
        if self.written.get(day, rewritten) != rewritten and not self.moved:
            return False
        self.written[day] = rewritten
        return True

    def record(self, day: str, current: str, rewritten: str) -> int:
        """Remember the day's new state; returns its number of changes before this one
        (0 for a first delivery)."""
        change = self.changes.get(day, -1) + 1
        self.fingerprints[day], self.changes[day] = current, change
        self.written[day] = rewritten
        return change

    def owe(self, day: str) -> None:
        """Run `day` (and the later days that read it) once it can be read, its files changed
        or not: a run stopped short of it left the days from it on built from an earlier
        day's old files, and a folder made readable again as it was changes no file."""
        self.fingerprints[day] = self.OWED
        self.changes.setdefault(day, -1)

    def to_text(self) -> str:
        seen = {
            day: "/".join([found, str(self.changes[day]), self.written.get(day, "")]).rstrip("/")
            for day, found in self.fingerprints.items()
        }
        skipped = dict.fromkeys(self.skipped - set(seen), self.SKIPPED)
        landing = {self.LANDING: self.landing} if self.landing else {}
        generation = {self.GENERATION: self.generation} if self.generation else {}
        return json.dumps({**skipped, **seen, **landing, **generation}, sort_keys=True)


# Dagster stores a sensor's cursor on every tick it records, and a landing sensor ticks every
# 5 s: `DaysSeen` as the cursor, about 60 bytes a date folder, made a year of landed days
# 22 kB a tick, gigabytes a day of tick rows. So the cursor names the state by a digest of
# its text, and the state is kept once in the instance's key-value store (with the cursor's
# own storage, where Dagster keeps its daemons' cursors), written only when it changes.
STATE_CURSOR_PREFIX = "seen:"


def _state_key(source: str, digest: str) -> str:
    return f"cx/landing_seen/{source}/{digest}"


class SeenStore:
    """A landing sensor's `DaysSeen` kept in the instance, its cursor a digest naming it.

    The state a tick replaced stays stored, so a tick whose cursor Dagster did not keep (it
    failed) starts again from the one before; the state before that is cleared. A cursor
    that is the state itself (an earlier version's, or a sensor evaluated without an
    instance) is read as such. A cursor naming a state not stored (the store cleared) is
    read as no state: days already built from their files are still told by their bronze
    materializations (`already_built`)."""

    def __init__(self, instance: DagsterInstance | None, source: str) -> None:
        self.instance, self.source = instance, source
        self.digest: str | None = None  # of the state read
        self.previous: str | None = None  # the state it replaced
        self.lost = False  # the cursor named a state not stored

    def read(self, cursor: str | None) -> DaysSeen:
        if not cursor or not cursor.startswith(STATE_CURSOR_PREFIX) or self.instance is None:
            state = cursor if cursor and not cursor.startswith(STATE_CURSOR_PREFIX) else None
            return DaysSeen.from_text(state)
        digest = cursor.removeprefix(STATE_CURSOR_PREFIX)
        key = _state_key(self.source, digest)
        stored = self.instance.run_storage.get_cursor_values({key}).get(key)
        try:
            kept = json.loads(stored)
            seen = DaysSeen.from_text(kept["state"])
        except (TypeError, ValueError, KeyError, AttributeError):  # none, or not ours
            self.lost = True  # failing would fail every tick after it
            return DaysSeen.from_text(None)
        self.digest, self.previous = digest, kept.get("previous")
        return seen

    def cursor(self, seen: DaysSeen) -> str:
        """The cursor naming `seen`, stored first when it changed."""
        state = seen.to_text()
        if self.instance is None:
            return state
        digest = hashlib.sha256(state.encode()).hexdigest()[:24]
        if digest != self.digest:
            # One key a call: Dagster's storage inserts several at once or updates them,
            # so a new key written with one that exists was dropped.
            stored = json.dumps({"state": state, "previous": self.digest})
            self.instance.run_storage.set_cursor_values({_state_key(self.source, digest): stored})
            if self.previous not in (None, digest, self.digest):
                # the state before the one replaced: no cursor names it any more
                self.instance.run_storage.set_cursor_values(
                    {_state_key(self.source, self.previous): ""}
                )
        return STATE_CURSOR_PREFIX + digest
