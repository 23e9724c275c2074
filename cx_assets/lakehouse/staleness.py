"""Later days left behind by a run of earlier ones.

Some date-grained tables read more than their own day: digital's leakage calls read the
journeys and calls of the days before (a session across midnight, repeat calls within a
week) and every member version up to their day; CRM interactions every contact version up
to theirs. A run that rebuilds a day (a late delivery, a re-delivery, days run out of order)
changes what those later days were computed from, but it builds only its own days. The
later days an earlier run built are then out of date, and nothing else would say so:
`later_days_after_changes` finds them for `cx-lakehouse run`, which names them with the
command that brings them up to date, and `later_days_built_before` for a landing sensor,
which runs a changed day through the last of them.

A rebuilt table whose rows of the run's days came out as they were (the same day run
again, its files unchanged) leaves the later days as they were: `cx-lakehouse run`
fingerprints those rows before and after (`read_ahead_parents`, the tables to look at), and
`later_days_after_changes` names, from the days whose rows changed, the later days of
every reader built before them (by the order of their materializations, so what a failed
or killed run rebuilt counts as much as what a finished one did).

A selection can leave behind the run's own days too: `--select key:silver/crm_interactions`
rebuilds that table and leaves the gold tables reading it as they were. `readers_left_out`
names those, by the same order of materializations.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dagster import AllPartitionMapping, AssetKey, TimeWindowPartitionMapping

from cx_assets.lakehouse.partitions import run_command


@dataclass(frozen=True)
class LaterDays:
    """The later days of one group (domain) built from what a run replaced."""

    group: str
    days: tuple[str, ...]  # sorted ISO days
    tables: tuple[str, ...]  # the tables reading across days, as `layer/table`

    def command(self, since: str) -> str:
        """One `cx-lakehouse run` from `since` (the first day the run rebuilt) through the
        last later day: days run together rank a record repeated across them as one run
        does (first delivery wins), where the later days alone would keep their copy and
        quarantine the earlier day's as already kept."""
        return run_command(since, self.days[-1], f"group:{self.group}")


def days_read_after(mapping: object) -> int | None:
    """How many days after its own an upstream day is read for, through `mapping`: 0 for
    the same day, n for a window of n days before, None for every later day (an input of
    every day, read as of the step's day)."""
    if isinstance(mapping, AllPartitionMapping):
        return None
    if isinstance(mapping, TimeWindowPartitionMapping) and mapping.start_offset < 0:
        return -mapping.start_offset
    return 0


def readers_ahead(graph: object, parent: AssetKey) -> list[tuple[AssetKey, int | None]]:
    """The date-grained assets reading `parent`'s days for later days than their own, each
    with how many days after (None: every later day), sorted."""
    found = []
    for child in sorted(graph.get(parent).child_keys):
        if graph.get(child).is_partitioned:
            ahead = days_read_after(graph.get_partition_mapping(child, parent))
            if ahead != 0:
                found.append((child, ahead))
    return found


def read_ahead_parents(graph: object, rebuilt: Collection[AssetKey]) -> set[AssetKey]:
    """The `rebuilt` date-grained tables some date-grained asset reads for later days than
    its own (rebuilt or not: a selection may leave it out): whether their rows of the run's
    days changed decides whether later days are out of date."""
    return {
        parent
        for parent in rebuilt
        if graph.get(parent).is_partitioned and readers_ahead(graph, parent)
    }


def later_days_after_changes(
    graph: object,
    built_days: Callable[[AssetKey], Collection[str]],
    latest_ids: Callable[[AssetKey, Collection[str]], Mapping[str, int]],
    changed: Mapping[AssetKey, Collection[str]],
) -> list[LaterDays]:
    """Per group, the days a reader of a `changed` table (by its key: the ISO days whose
    rows changed) reads those days for, built before the change: the reader's day was last
    materialized before the table's day was (`latest_ids`: the latest materialization's
    storage id of each of some days of an asset, an order over all assets). A reader's day
    built after it, by the same run or another, is up to date; `built_days` lists an
    asset's materialized days."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for parent, days in sorted(changed.items()):
        if not days or not graph.has(parent):
            continue
        written = latest_ids(parent, days)
        for reader, ahead in readers_ahead(graph, parent):
            # each day of the reader, with the newest write of a changed day it reads
            reads: dict[str, int] = {}
            built = sorted(built_days(reader))
            for day, write in written.items():
                until = None if ahead is None else _days_after(day, ahead)
                for later in built:
                    if later > day and (until is None or later <= until):
                        reads[later] = max(reads.get(later, write), write)
            if not reads:
                continue
            built_at = latest_ids(reader, reads)
            stale = {day for day, write in reads.items() if built_at.get(day, write) < write}
            if stale:
                days_of, tables = found.setdefault(graph.get(reader).group_name or "default",
                                                   (set(), set()))  # fmt: skip
                days_of.update(stale)
                tables.add(reader.to_user_string())
    return [
        LaterDays(group, tuple(sorted(days)), tuple(sorted(tables)))
        for group, (days, tables) in sorted(found.items())
    ]


def _days_after(day: str, count: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=count)).isoformat()


def later_days_built_before(
    graph: object,
    built_days: Callable[[AssetKey], Collection[str]],
    rebuilt: Collection[AssetKey],
    days: Sequence[str],
) -> list[LaterDays]:
    """Per group, the days after `days` that a date-grained asset reads `days` of a
    `rebuilt` parent for, among the days it was already built for (`built_days`): what a
    landing sensor's run of changed `days` runs through, before it runs. `graph` is the
    definitions' asset graph."""
    last = date.fromisoformat(max(days))
    found: dict[str, tuple[set[str], set[str]]] = {}
    for key in sorted(rebuilt):
        node = graph.get(key)
        if not node.is_partitioned:
            continue
        reach = 0
        for parent in node.parent_keys:
            if parent not in rebuilt or not graph.get(parent).is_partitioned:
                continue
            ahead = days_read_after(graph.get_partition_mapping(key, parent))
            reach = None if ahead is None or reach is None else max(reach, ahead)
        if reach == 0:
            continue
        until = None if reach is None else (last + timedelta(days=reach)).isoformat()
        later = {
            day
            for day in built_days(key)
            if day > last.isoformat() and (until is None or day <= until)
        }
        if later:
            stale_days, tables = found.setdefault(node.group_name or "default", (set(), set()))
            stale_days.update(later)
            tables.add(key.to_user_string())
    return [
        LaterDays(group, tuple(sorted(stale_days)), tuple(sorted(tables)))
        for group, (stale_days, tables) in sorted(found.items())
    ]


@dataclass(frozen=True)
class EarlierDays:
    """Days before a run's first, of one group (domain), that landed files but were never
    built, read by a table the run built: it read them as days with no rows."""

    group: str
    days: tuple[str, ...]  # sorted ISO days
    tables: tuple[str, ...]  # the readers the run built, as `layer/table`

    def command(self, last: str) -> str:
        """One `cx-lakehouse run` from the first such day through the run's last: those
        days built, then the run's days again from them."""
        return run_command(self.days[0], last, f"group:{self.group}")


def earlier_days_not_built(
    graph: object,
    planned: Collection[AssetKey],
    first_day: str,
    start: str,
    landed_days: Callable[[str], Collection[str]],
    never_built: Callable[[AssetKey, list[str]], Collection[str]],
) -> list[EarlierDays]:
    """Per group, the days before `first_day` (from `start`, the first partition) that a
    `planned` asset reads of a date-grained parent (a window of days before, or every day
    as of its own, or every day: a whole-history table), on which the parent's group landed
    files (`landed_days`, ISO days by group) and that the parent was never built for
    (`never_built`, of some ISO days). Digital's
    leakage calls of a day run alone after days landed and never built flag no repeat call
    and miss the evening before; the run names those days with the command that builds
    them and its own again. The warehouse is asked only of days that landed."""
    first = date.fromisoformat(first_day)
    found: dict[str, tuple[set[str], set[str]]] = {}
    for key in sorted(planned):
        node = graph.get(key)
        for parent in sorted(node.parent_keys):
            if not graph.get(parent).is_partitioned:
                continue
            group = graph.get(parent).group_name or "default"
            landed = sorted(day for day in landed_days(group) if start <= day < first_day)
            if not landed:
                continue
            # A whole-history table reads every day of a date-grained one.
            whole = not node.is_partitioned
            ahead = None if whole else days_read_after(graph.get_partition_mapping(key, parent))
            if ahead == 0:
                continue
            since = start if ahead is None else (first - timedelta(days=ahead)).isoformat()
            read = [day for day in landed if day >= since]
            missing = set(never_built(parent, read)) if read else set()
            if missing:
                days_of, tables = found.setdefault(group, (set(), set()))
                days_of.update(missing)
                tables.add(key.to_user_string())
    return [
        EarlierDays(group, tuple(sorted(days)), tuple(sorted(tables)))
        for group, (days, tables) in sorted(found.items())
    ]


@dataclass(frozen=True)
class ReadersLeftOut:
    """Date-grained tables a run left out that read, on the run's days, tables it rebuilt."""

    days: tuple[str, ...]  # sorted ISO days
    tables: tuple[str, ...]  # the readers left out of date, as `layer/table`
    rebuilt: tuple[str, ...]  # the rebuilt tables they read (directly or through others)

    def command(self) -> str:
        """The days again, each rebuilt table with everything downstream of it (`key:X+`)."""
        select = " or ".join(f"key:{table}+" for table in self.rebuilt)
        last = self.days[-1] if len(self.days) > 1 else None
        return run_command(self.days[0], last, select)


def readers_left_out(
    graph: object,
    planned: Collection[AssetKey],
    days: Sequence[str],
    latest_ids: Callable[[AssetKey, Collection[str]], Mapping[str, int]],
) -> ReadersLeftOut | None:
    """The date-grained assets outside `planned` (a selection such as
    `key:silver/crm_interactions` leaves the gold tables reading it out) whose day of `days`
    was last materialized before a planned table it reads, directly or through readers
    left out of date themselves, was: they still hold what was computed from the table's
    rows before. Every partition mapping reads the reader's own day, so each counts; a day
    of a reader never built is left to the refusals of the next run that reads it. None
    when a selection leaves out no such reader (a whole group's run)."""
    planned = {key for key in planned if graph.get(key).is_partitioned}
    # By asset, the newest write of a planned table on each day its rows are behind (a
    # planned table's own latest writes), and the planned tables those writes are of.
    behind: dict[AssetKey, dict[str, int]] = {}
    origins: dict[AssetKey, set[AssetKey]] = {}
    for key in graph.toposorted_asset_keys:
        if key in planned or not graph.get(key).is_partitioned:
            continue
        parents = [p for p in graph.get(key).parent_keys if p in planned or p in behind]
        if not parents:
            continue
        own = latest_ids(key, days)  # asked only when a reader is left out
        days_behind: dict[str, int] = {}
        for parent in parents:
            if parent in planned and parent not in behind:
                behind[parent], origins[parent] = dict(latest_ids(parent, days)), {parent}
            for day, write in behind[parent].items():
                if day in own and write > own[day]:  # never built for the day: not behind
                    days_behind[day] = max(days_behind.get(day, write), write)
                    origins.setdefault(key, set()).update(origins[parent])
        if days_behind:
            behind[key] = days_behind
    stale = sorted(key for key in behind if key not in planned)
    if not stale:
        return None
    return ReadersLeftOut(
        tuple(sorted({day for key in stale for day in behind[key]})),
        tuple(key.to_user_string() for key in stale),
        tuple(sorted({origin.to_user_string() for key in stale for origin in origins[key]})),
    )
