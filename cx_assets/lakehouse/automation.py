"""What runs the lakehouse without a person: landing sensors, the daily schedule, and the
automation condition that keeps whole-history rollups fresh.

Landing sensor, one per source. Each tick fingerprints every date folder of the source
from its files' (path, mtime, size), and notes their ctimes (`landing_state`). A day whose
fingerprint changed since the sensor's state last saw it (a new file, a re-delivered one, a
removed one), or whose files were rewritten keeping it (`cp -p`), gets a run of that
partition once none of its files changed within `LANDING_QUIET_SECONDS` (one copied in
place is still being written), with a run key made from the fingerprint, the day's count
of changes and the state's generation (`DaysSeen.run_key`): Dagster deduplicates run keys
forever, so a key must change whenever the content does. Days outside the partitions
(before the start, today or later, or a folder that is not a date) are skipped, because
one bad partition key fails the whole tick, with a log line on the first tick that skips
them. Requests, and the days compared with their bronze, are capped per tick; the rest
wait, in order. A changed day that later days already built were computed from (a window
of days before, every version up to a day: `staleness.py`) gets one run from it through
the last of them instead.

Runs the daemon starts by itself (the landing sensors', the schedule's, the rollup
automation's) carry `RETRIED_RUN_TAGS`, and Dagster's run retries (enabled in the
`dagster.yaml` that `cx-lakehouse` writes) start them again when they fail. A landing run
whose retries failed too is asked for again by its sensor, minutes later (`failed_runs`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import (
    AutomationCondition,
    DagsterEventType,
    DagsterInstance,
    DagsterInvariantViolationError,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from cx_assets.lakehouse.failed_runs import ask_again
from cx_assets.lakehouse.landing import (
    IGNORED_LISTED,
    cannot_read,
    date_folders,
    discover,
    misplaced_sources,
    parse_date_folder,
    printable,
    shown,
    unknown_table_folders,
)
from cx_assets.lakehouse.landing_state import (
    DaysSeen,
    SeenStore,
    already_built,
    fingerprint,
    folder_identity,
    rewrites,
)
from cx_assets.lakehouse.partitions import daily_partitions, is_partition_day, run_tags_for_days
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.run_lock import release_dead_runs
from cx_assets.lakehouse.staleness import later_days_built_before

MAX_REQUESTS_PER_TICK = 10
# No person watches these runs fail. A run killed outright (marked failed by
# `release_dead_runs`), one that waited longer than `CX_RUN_WAIT_SECONDS` for the run lock, or
# one that found the warehouse held by another process would otherwise leave its day, or the
# rollups, unbuilt until someone noticed: the sensor sees no new files and the automation no
# new update. A failure that is not transient fails twice more and stops (a landing run's
# days are then asked for again, minutes later: `failed_runs`). Runs a person
# starts (`cx-lakehouse run`, the UI's launchpad) are not retried: they see the failure.
RETRIED_RUN_TAGS = {"dagster/max_retries": "2"}
# A day the sensor's state does not know is compared with its bronze materializations, a
# query per table (`already_built`), a few ms each on a SQLite instance: a state started
# again over 3,000 built CRM days took one tick of 40 s, and some 4,500 would pass Dagster's
# 60 s for a sensor's evaluation (a tick that times out keeps no cursor: the next one starts
# over). The days beyond these wait for the next tick.
LOOK_UPS_PER_TICK = 200
# `_new_or_redelivered`'s answer for a day left to the next tick's comparisons.
WAIT = object()
# A tick only lists date folders and stats files, so it can look often: a landed day is
# seen within seconds (the daemon itself evaluates sensors at most every 5 s).
LANDING_SENSOR_INTERVAL_SECONDS = 5
# A file copied into landing in place (`cp`, an SFTP upload, which write under the file's
# own name) is seen growing: each tick that saw it asked for a run of its day, each reading
# the file cut off (its cut last line quarantined, gold showing part of the day). A day
# waits while one of its files was written (its mtime, which every write moves with its
# ctime) within this many seconds of the tick, either way (a file server's clock a little
# ahead). A writer's writes come milliseconds apart; one that stalls for longer is read as
# far as it got, and its day run again when it is done. A write moves ctime and mtime
# together, so a ctime later than the mtime means the last change was no write (renamed
# into place as the contract asks, cp -p setting its times at the end): that file is whole
# and never waits. A rename within the same tick of the kernel's coarse clock as the last
# write leaves them equal, as it mostly does for a file closed and renamed at once, and
# that file waits too, as does one on a mount that keeps no ctime (some FUSE and network
# mounts report 0, which the wait once went by: it never held there). So the wait is short:
# the daemon's ticks of a sensor come 5-10 s apart, and a day that waits, waits a round. At
# 5 s, the latency bench's median landing to gold was 11.0 s where it had been 5.7 (half of
# its days waited).
LANDING_QUIET_SECONDS = 2
# A file system of coarse times stamps a write with the second it came in, rounded down:
# FAT's (a USB disk, an SMB share served from one) the even second. A file written 0.1 s
# before the tick could read as written 2.05 s before, past the wait, and ran cut off: a
# time of whole seconds (which a fine clock gives once in a billion writes) may be this
# much later than it says.
COARSE_CLOCK_NS = 2_000_000_000


class BeingWritten:
    """`_new_or_redelivered`'s answer for a changed day one of whose files changed too
    recently to be taken as whole: the first such file, as shown, and how long ago."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name, self.seconds = name, seconds

    def waits(self, day: str, quiet_seconds: float) -> str:
        return (
            f"{day} waits: {self.name} changed {max(self.seconds, 0):.1f} s ago, maybe still "
            f"being written (a day runs once its files have not changed for {quiet_seconds:g} s)"
        )


class CannotRead:
    """`_new_or_redelivered`'s answer for a day with a folder or file this user may not read
    (the tick's log says it once): the first such, as shown, and why, and the day."""

    def __init__(self, name: str, why: str, day: str) -> None:
        self.name, self.why, self.day = name, why, day


def _now() -> datetime:
    """The time of a sensor's tick (the tests' clock)."""
    return datetime.now(UTC)


def landing_sensor(
    source: str,
    tables: Sequence[str],
    job_name: str,
    *,
    max_requests_per_tick: int = MAX_REQUESTS_PER_TICK,
    quiet_seconds: float = LANDING_QUIET_SECONDS,
) -> SensorDefinition:
    """The landing sensor of `source` (see the module's docstring): each tick looks at the
    date folders of its `tables` (`_look_at_days`) and asks `job_name` for one run of the
    changed days, or for a day owed a run again (`_ask_again`), or says why it asks none."""
    sensor_name = f"{source}_landing_sensor"

    @sensor(
        name=sensor_name,
        description=f"Runs a day of {source} when files land in, or are re-delivered to, "
        f"landing/{source}/<table>/<YYYY-MM-DD>/.",
        job_name=job_name,
        minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
    )
    def landing_files_changed(context: SensorEvaluationContext, lake: Lake):
        # A run killed outright stays STARTED and holds a place in the UI's run queue: free
        # it here, so the queue drains even when no new run could start. (The tick's log is
        # touched only to say something: see `_said_in`.)
        if context.instance is not None:
            release_dead_runs(context.instance, _said_in(context, "warning"))
        store = SeenStore(context.instance, source)
        seen = store.read(context.cursor)
        if store.lost:
            context.log.warning(
                f"the cursor names a state of {source}'s landed days no longer stored: days "
                "are compared with what their bronze was built from"
            )
        if seen.started_again and _has_run_before(context, sensor_name):
            seen.generation = secrets.token_hex(4)
        landing = folder_identity(lake.layout.landing_dir / source)
        seen.look_at(landing)
        now = _now()
        _say_unknown_tables(context, seen, lake, source, tables)
        _say_outside_sources(context, seen, lake)
        unreadable: list[tuple[str, str]] = []  # folders of the source it may not list
        folders = date_folders(lake.layout.landing_dir, source, unreadable, tables)
        if unreadable:
            # A table's folder another user made 0700: raised, it failed every tick. Every
            # run of a day reads each table, so none would build: no day runs until it can
            # be read, and no day is taken for emptied meanwhile.
            for name, why in unreadable:
                if seen.skip(name):
                    context.log.warning(f"ignoring {name}: {why}")
            name, why = unreadable[0]
            return SensorResult(
                skip_reason=SkipReason(
                    f"{name}: {why}; no day of {source} runs until it can be read"
                ),
                cursor=store.cursor(seen),
            )
        tick = _look_at_days(
            context, seen, lake, source, tables, sorted(folders), landing, now,
            max_requests=max_requests_per_tick, quiet_seconds=quiet_seconds,
        )  # fmt: skip
        if tick.writing and tick.changed:
            context.log.info(tick.writing[0])
        if tick.waiting:
            context.log.info(
                f"{tick.waiting} more days, changed or not yet compared with what their bronze "
                "was built from, wait for the next tick"
            )
        # Asked for before the state is stored: it may owe a day a run (`DaysSeen.owe`).
        held_days = [unreadable_day.day for unreadable_day in tick.unreadable_days]
        run = _one_run(context, source, tick.changed, held_days, seen.owe) if tick.changed else None
        cursor = store.cursor(seen)
        if run is not None:
            return SensorResult(run_requests=[run], cursor=cursor)
        again = _ask_again(context, lake, source, seen, tick.unchanged, now, held_days)
        if isinstance(again, RunRequest):
            return SensorResult(run_requests=[again], cursor=cursor)
        # The folder looked in (the data root is the UI's, not necessarily the files').
        why = tick.skip_reason(source, lake.layout.landing_dir / source, again)
        return SensorResult(skip_reason=SkipReason(why), cursor=cursor)

    return landing_files_changed


@dataclass
class _Tick:
    """What a landing sensor's tick found of a source's date folders, in date order."""

    changed: list[tuple[str, str]] = field(default_factory=list)  # (day, run key) to run
    waiting: int = 0  # days changed or not yet compared, left to the next tick
    writing: list[str] = field(default_factory=list)  # why a day still being written waits
    not_yet: list[date] = field(default_factory=list)  # landed days not yet partitions
    unreadable_days: list[CannotRead] = field(default_factory=list)
    unchanged: set[str] = field(default_factory=set)  # date folders as last seen

    def skip_reason(self, source: str, looked_in: Path, again: list[str]) -> str:
        """Why the tick asks for no run, for the person reading the sensor's ticks: the
        first day still being written, or the days waiting, or that nothing changed in
        `looked_in`; then `again` (what `_ask_again` said) and the first day it may not
        read."""
        if self.writing:
            waiting = f"; {self.waiting} later days wait with it" if self.waiting else ""
            why = self.writing[0] + waiting
        elif self.waiting:
            why = (
                f"{self.waiting} days of {looked_in} wait to be compared with what their "
                f"bronze was built from (at most {LOOK_UPS_PER_TICK} a tick)"
            )
        elif looked_in.is_dir():
            why = f"no new or re-delivered {source} files in {looked_in}"
            if self.not_yet:
                # The log says so once; the skip is what a person reads, tick after tick.
                after = min(self.not_yet) + timedelta(days=1)
                why += (
                    f"; {min(self.not_yet)} runs once it is a partition, after 00:00 UTC on {after}"
                )
        else:
            why = f"nothing has landed in {looked_in} (no such folder)"
        if again:
            why += "; " + "; ".join(again)
        if self.unreadable_days:
            # Said once in a tick's log, which the daemon keeps a day when the tick is
            # skipped: said here, it shows on every tick while the day waits.
            first, count = self.unreadable_days[0], len(self.unreadable_days)
            waits = (
                f"{count} days wait until they can be read, the first"
                if count > 1
                else "1 day waits until it can be read:"
            )
            why += f"; {waits} {first.name}: {first.why}"
        return why


def _look_at_days(
    context: SensorEvaluationContext,
    seen: DaysSeen,
    lake: Lake,
    source: str,
    tables: Sequence[str],
    folders: list[str],
    landing: str | None,
    now: datetime,
    *,
    max_requests: int,
    quiet_seconds: float,
) -> _Tick:
    """Each date folder of `folders` (sorted) against the sensor's state: the changed days
    to run (recorded in `seen`, each with its run key), up to `max_requests`, and the rest
    left waiting. Once a day waits, every later one does: days are asked for in order."""
    tick = _Tick()
    resolved: dict = {}  # the real paths of the landing and table folders, this tick
    look_ups = [LOOK_UPS_PER_TICK]  # comparisons with bronze left to this tick
    held = False  # a day it may not read came after a day to run
    for folder_name in folders:
        day = _partition_day(context, seen, source, folder_name, now, tick.not_yet)
        if day is None:
            continue
        full = tick.waiting > 0 or bool(tick.writing) or held or len(tick.changed) >= max_requests
        landed = _new_or_redelivered(
            context, seen, lake, source, tables, day, landing, resolved,
            look_ups=[0] if full else look_ups,
            quiet=(now, quiet_seconds),
        )  # fmt: skip
        if isinstance(landed, CannotRead):
            tick.unreadable_days.append(landed)
            # A run from a day before it to one after would read it and fail, as would
            # its retries, building none of them: the days after it wait for a tick
            # whose first day to run comes after it.
            held = held or bool(tick.changed)
            continue
        if landed is None:
            tick.unchanged.add(folder_name)
            continue
        if isinstance(landed, BeingWritten) and not full:
            tick.writing.append(landed.waits(folder_name, quiet_seconds))
            continue
        if landed is WAIT or full or isinstance(landed, BeingWritten):
            tick.waiting += 1
            continue
        current, rewritten = landed
        change = seen.record(folder_name, current, rewritten)
        tick.changed.append((folder_name, seen.run_key(source, folder_name, change)))
    return tick


def _ask_again(
    context: SensorEvaluationContext,
    lake: Lake,
    source: str,
    seen: DaysSeen,
    unchanged: set[str],
    now: datetime,
    held_days: Sequence[str] = (),
) -> RunRequest | list[str]:
    """A run asking again for the days of the source's latest failed landing run, or what
    the tick's skip says of such runs (`failed_runs`); the run goes through the later days
    built that read them, as a changed day's does, short of a day it may not read
    (`held_days`: the run would fail on it, as its first did)."""
    if context.instance is None or context.repository_def is None:
        return []
    instance, graph = context.instance, context.repository_def.asset_graph

    def built(day: str) -> bool:
        landing_dir = lake.layout.landing_dir
        return built_from_landing(instance, graph, landing_dir, source, date.fromisoformat(day))

    def going(day: str) -> str | None:
        return landing_run_going(instance, source, day)

    def later(days: list[str]) -> list[str]:
        return _short_of(_later_days_reading(context, source, days), days[-1], held_days)[0]

    return ask_again(
        instance,
        source,
        unchanged,
        set(seen.fingerprints),
        now,
        built=built,
        going=going,
        later=later,
        say=_said_in(context, "info"),
    )


def _said_in(
    context: SensorEvaluationContext | ScheduleEvaluationContext, level: str
) -> Callable[[str], None]:
    """A line said in the tick's log at `level`, the log made only when a line is said.
    Under the daemon a tick's log is a file of its own under DAGSTER_HOME/storage, made as
    soon as `context.log` is first touched and never removed by Dagster, not even with its
    tick: handing over `context.log.warning` on every tick of a landing sensor (every 5 s)
    left an empty `<tick id>.err` a tick, some 17,000 files a day for each source."""

    def say(line: str) -> None:
        getattr(context.log, level)(line)

    return say


def _has_run_before(context: SensorEvaluationContext, sensor_name: str) -> bool:
    """Whether the sensor has started a run on this instance (its run keys are taken)."""
    if context.instance is None:
        return False
    from dagster import RunsFilter
    from dagster._core.storage.tags import SENSOR_NAME_TAG

    found = context.instance.get_run_ids(RunsFilter(tags={SENSOR_NAME_TAG: sensor_name}), limit=1)
    return bool(found)


def _say_unknown_tables(
    context: SensorEvaluationContext,
    seen: DaysSeen,
    lake: Lake,
    source: str,
    tables: Sequence[str],
) -> None:
    """Say once, while it stays, that a folder of `landing/<source>/` is no table of the
    source: a misspelled table's files would never be read."""
    for name in unknown_table_folders(lake.layout.landing_dir, source, tables):
        if seen.skip(name):
            context.log.info(
                f"ignoring {name}: not a table of {source} (its tables: {', '.join(tables)})"
            )


def _say_outside_sources(context: SensorEvaluationContext, seen: DaysSeen, lake: Lake) -> None:
    """Say once, while it stays, what lies in `landing/` outside every source's folder (a
    misspelled `landing/crn`, a stray file): no sensor would ever read it. Each source's
    sensor says it in its own log, so whichever one a person opens shows it."""
    from cx_assets.domains import domain_names  # here: `domains` imports this module

    for name, why in misplaced_sources(lake.layout.landing_dir, domain_names()):
        if seen.skip(name):
            context.log.info(f"ignoring {name}: {why}")


def _new_or_redelivered(
    context: SensorEvaluationContext,
    seen: DaysSeen,
    lake: Lake,
    source: str,
    tables: Sequence[str],
    day: date,
    landing: str | None,
    resolved: dict | None = None,
    look_ups: list[int] | None = None,
    quiet: tuple[datetime, float] | None = None,
) -> tuple[str, str] | object | None:
    """The fingerprint and rewrites of `day`'s landed files when they are new or
    re-delivered since the sensor's state saw them, and not what the day's bronze was already
    built from; None otherwise (a day built from these files is recorded in the state as
    seen). `WAIT` when the day must be compared with its bronze and `look_ups` (the
    comparisons left to the tick, counted down) has none left; `CannotRead` when one of its
    folders or files may not be read. `BeingWritten` when `quiet`
    (the tick's time, seconds) is given and one of the files changed within those seconds of
    it: the state is left as it was, so a later tick takes the day as changed again."""
    folder_name = day.isoformat()
    ignored: list[tuple[str, str]] = []
    try:
        files_by_table = {
            table: discover(lake.layout.landing_dir, source, table, day, ignored, resolved)
            for table in tables
        }
    except OSError as error:
        # A date folder this user may not list (another user's upload made it 0700): raised,
        # it failed every tick, and no day of the source ran. The day is left as the state
        # knew it, never taken for emptied, and runs once it can be read.
        name, why = cannot_read(lake.layout.landing_dir, error)
        if seen.skip(name):
            context.log.warning(f"ignoring {name}: {why}")
        return CannotRead(name, why, folder_name)
    # Said once, as long as it stays; the first of many each (as on the bronze step).
    newly = [(name, why) for name, why in ignored if seen.skip(name)]
    for name, why in newly[:IGNORED_LISTED]:
        context.log.info(f"ignoring {name}: {why}")
    if len(newly) > IGNORED_LISTED:
        context.log.info(
            f"ignoring {len(newly) - IGNORED_LISTED:,} more landed files of {source} "
            f"{folder_name}, {len(newly):,} in all"
        )
    files = [landed for table_files in files_by_table.values() for landed in table_files]
    if not files and folder_name not in seen.fingerprints:
        return None  # only in-flight files so far (a day whose files were removed runs)
    current, rewritten = fingerprint(files), rewrites(files)
    if seen.unchanged(folder_name, current, rewritten):
        return None
    # A day rewritten under the fingerprint the state holds is a re-delivery the sensor
    # saw itself, whatever an older bronze materialization recorded.
    if seen.fingerprints.get(folder_name) in (current, seen.OWED) or context.instance is None:
        return _being_written(files, quiet, _said_in(context, "info")) or (current, rewritten)
    if look_ups is not None:
        if look_ups[0] <= 0:
            return WAIT
        look_ups[0] -= 1
    if already_built(context.instance, source, day, files_by_table, landing):
        context.log.info(f"{source} {folder_name}: already built from these files")
        seen.record(folder_name, current, rewritten)
        return None
    return _being_written(files, quiet, _said_in(context, "info")) or (current, rewritten)


def _being_written(
    files: Sequence,
    quiet: tuple[datetime, float] | None,
    say: Callable[[str], None] | None = None,
) -> BeingWritten | None:
    """The first of `files` (by name) last written within `quiet`'s seconds of its time, if
    any (see `LANDING_QUIET_SECONDS`): one changed since by no write is whole. A file written
    further ahead of that time than the wait (a file server's clock minutes ahead) cannot be
    told from one still being written: its day runs, and `say` is told why it did not wait."""
    if quiet is None or quiet[1] <= 0:
        return None
    at, seconds = quiet
    now_ns = int(at.timestamp() * 1e9)
    ahead: list[str] = []
    for landed in sorted(files, key=lambda landed: landed.relative_path):
        if landed.ctime_ns > landed.mtime_ns:
            continue  # its last change was no write (renamed into place, cp -p): whole
        # Its mtime is its last write's: where ctime is kept the two are equal, and a mount
        # that keeps none reports 0 (the wait went by that 0, and never held).
        written_ns = landed.mtime_ns
        if written_ns % 1_000_000_000 == 0:
            written_ns += COARSE_CLOCK_NS  # a coarse clock's stamp: written up to then
        ago = (now_ns - written_ns) / 1e9
        if abs(ago) < seconds:
            return BeingWritten(shown(landed.relative_path), ago)
        if ago < 0:
            ahead.append(
                f"{shown(landed.relative_path)} was written {-ago:.0f} s ahead of this "
                "machine's clock (its file server's clock ahead?): not waited for as a file "
                "still being written, its day runs as it is"
            )
    if ahead and say is not None:
        more = f" ({len(ahead) - 1} more files of the day so)" if len(ahead) > 1 else ""
        say(ahead[0] + more)
    return None


def _partition_day(
    context: SensorEvaluationContext,
    seen: DaysSeen,
    source: str,
    folder_name: str,
    now: datetime,
    not_yet: list[date] | None = None,
) -> date | None:
    """The day a date folder holds, if a run can build it: None for a name that is no date,
    or a day outside the partitions (today's, say), said once while the folder stays; a day
    that is not a partition yet is added to `not_yet`."""
    day = parse_date_folder(folder_name)
    if day is None:
        named = shown(f"landing/{source}/*/{printable(folder_name)}")
        if seen.skip(named):  # the state is stored: what it keeps is as shown
            context.log.info(f"skipping {named}: not a YYYY-MM-DD folder")
        return None
    if not is_partition_day(day, now):
        if not_yet is not None and day >= now.astimezone(UTC).date():
            not_yet.append(day)
        if seen.skip(folder_name):
            context.log.info(
                f"skipping landing/{source}/*/{folder_name}: not a partition yet or any more "
                f"(partitions run from {daily_partitions.start.date()} to yesterday, UTC)"
            )
        return None
    return day


def _short_of(
    later: list[str], last: str, held_days: Sequence[str]
) -> tuple[list[str], str | None]:
    """The days of `later` (sorted) before the first of `held_days` after `last`, and that
    day: a run through a day it may not read would fail on it."""
    stop = min((day for day in held_days if day > last), default=None)
    return [day for day in later if stop is None or day < stop], stop


def _one_run(
    context: SensorEvaluationContext,
    source: str,
    changed: list[tuple[str, str]],
    held_days: Sequence[str] = (),
    owe: Callable[[str], None] | None = None,
) -> RunRequest:
    """One run for the changed days of a tick (sorted), from the first through the last, or
    through the last later day already built that reads one of them. Days a run builds
    are built in order; one run per day let a later day take the data root's lock first
    and be built without the day before it (a leakage call missing its session), every
    check passing."""
    days = [day for day, _ in changed]
    tags = {"cx/source": source, "cx/trigger": "landing", **RETRIED_RUN_TAGS}
    run_key = (
        changed[0][1]
        if len(changed) == 1
        else f"{source}:" + "+".join(key.removeprefix(f"{source}:") for _, key in changed)
    )
    later = _later_days_reading(context, source, days)
    # Not through a day it may not read: the run would fail on it, its retries too, and
    # build none of its days. That day and the later days after it stay as built, the
    # tick's log says so, and the day is owed a run once it can be read (`owe`).
    kept, stop = _short_of(later, days[-1], held_days)
    if beyond := later[len(kept) :]:
        context.log.warning(
            f"{source} {days[-1]}: later built day(s) read it up to {beyond[-1]}, but "
            f"{stop} cannot be read: they stay as built until it can be, then run"
        )
        if owe is not None:
            owe(stop)
    later = kept
    last = later[-1] if later else days[-1]
    if later:
        # Later days built before these landed (or changed) were computed from them: one
        # run through the last of them brings them up to date.
        context.log.info(
            f"{source} {days[-1]}: {len(later)} later built day(s) read it, up to "
            f"{later[-1]}: running {days[0]} to {later[-1]}"
        )
    if len(days) > 1:
        context.log.info(f"{source}: {len(days)} changed days, {days[0]} to {days[-1]}, in one run")
    if days[0] == last:
        return RunRequest(run_key=run_key, partition_key=days[0], tags=tags)
    return RunRequest(run_key=run_key, tags={**tags, **run_tags_for_days(days[0], last)})


def _later_days_reading(
    context: SensorEvaluationContext, source: str, days: list[str]
) -> list[str]:
    """The days after the last of `days` that a date-grained table of `source` reads it for
    (a window of days before, or every day up to its own) and that a run has already
    built, sorted (see `staleness.py`)."""
    if context.instance is None or context.repository_def is None:
        return []
    graph = context.repository_def.asset_graph
    tables = {
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_partitioned and graph.get(key).group_name == source
    }
    found = later_days_built_before(
        graph, context.instance.get_materialized_partitions, tables, days
    )
    return sorted({later for group in found for later in group.days})


def daily_schedule(job):
    """Each day at 02:00 UTC, the previous day's partition of every date-grained asset of the
    domains not yet built from what has landed for it, with the whole-history tables built on
    them (the job's selection, resolved with the definitions).

    A landing sensor builds a day as soon as it is a partition (00:00 UTC): run whole, the
    schedule built every domain of that day again from the same files, rollups included,
    every day. A domain is left out when `built_from_landing` says its day is up to date,
    or `landing_run_going` finds a landing run of it queued or going; the schedule is
    skipped, saying why, when every domain is left out."""

    @schedule(
        name="daily_yesterday",
        cron_schedule="0 2 * * *",
        job=job,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Materializes yesterday's partition of every date-grained asset at "
        "02:00 UTC, of each domain not already built (or being built) from its landed "
        "files by its landing sensor; the whole-history tables built on them follow in the "
        "same run.",
    )
    def daily_yesterday(context: ScheduleEvaluationContext, lake: Lake):
        instance = context.instance if context.instance_ref is not None else None
        return yesterday_run(
            context.scheduled_execution_time or datetime.now(UTC),
            instance,
            _repository_of(context),
            lake.layout.landing_dir,
            _said_in(context, "info"),
        )

    return daily_yesterday


def yesterday_run(
    at: datetime,
    instance: DagsterInstance | None,
    repository,
    landing_dir: Path,
    say: Callable[[str], None],
) -> RunRequest | SkipReason:
    """The daily schedule's tick at `at`: a run of the day before, of the domains whose day
    is neither built from what has landed for it nor being built by a landing run (every
    domain without an instance or the definitions to tell), or a skip when there is none."""
    from cx_assets.lakehouse.assets import DAILY, PARTITIONING_TAG, WHOLE_HISTORY

    day = at.astimezone(UTC).date() - timedelta(days=1)
    if day < daily_partitions.start.date():
        return SkipReason(f"{day} is before the first partition ({daily_partitions.start.date()})")
    key = day.isoformat()
    # The partition's tag given, as Dagster's partitioned schedule gives it: a request with
    # a partition key alone needs the definitions to be evaluated.
    tags = {**RETRIED_RUN_TAGS, **run_tags_for_days(key, key)}
    request = RunRequest(run_key=key, partition_key=key, tags=tags)
    if instance is None or repository is None:
        return request
    graph = repository.asset_graph
    groups = sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()} - {None})
    why_not: dict[str, str] = {}  # the domains left out, each with why
    for group in groups:
        if built_from_landing(instance, graph, landing_dir, group, day):
            why_not[group] = "built from its landed files"
        elif going := landing_run_going(instance, group, key):
            why_not[group] = f"being built by run {going}"
    if not why_not:
        return request
    to_build = [group for group in groups if group not in why_not]
    reasons = "; ".join(f"{group} {why}" for group, why in why_not.items())
    if not to_build:
        return SkipReason(f"nothing to run for {key}: {reasons}")
    say(f"{key} left out of the run for: {reasons}")
    selection = [
        asset_key
        for asset_key in graph.get_all_asset_keys()
        if graph.get(asset_key).group_name in to_build
        and graph.get(asset_key).tags.get(PARTITIONING_TAG) in (DAILY, WHOLE_HISTORY)
    ]
    return RunRequest(
        run_key=key,
        partition_key=key,
        asset_selection=sorted(selection),
        tags={**tags, "cx/domains": ",".join(to_build)},
    )


def landing_run_going(instance: DagsterInstance, group: str, day: str) -> str | None:
    """The id of a landing sensor's run of `group` queued or going for `day` (its partition,
    or a range holding it), if there is one: the daemon back after days down has its landing
    sensors ask for the days that landed meanwhile, and the schedule's catch-up ticks would
    otherwise build them again."""
    from dagster import DagsterRunStatus, RunsFilter

    going = [
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
    ]
    runs = instance.get_runs(
        RunsFilter(
            statuses=going,
            tags={"cx/source": group, "cx/trigger": "landing"},
        )
    )
    for run in runs:
        first = run.tags.get(
            "dagster/asset_partition_range_start", run.tags.get("dagster/partition")
        )
        last = run.tags.get("dagster/asset_partition_range_end", first)
        if first is not None and first <= day <= last:
            return run.run_id
    return None


def _repository_of(context: ScheduleEvaluationContext):
    try:
        return context.repository_def
    except DagsterInvariantViolationError:  # a context built without definitions
        return None


def built_from_landing(
    instance: DagsterInstance, graph, landing_dir: Path, group: str, day: date
) -> bool:
    """Whether `group`'s `day` is built from the files landed for it now: the latest bronze
    materialization of each of its landed tables recorded these files (`already_built`), and
    each of its date-grained tables was materialized for the day after the date-grained
    tables it reads were (a run that failed after bronze leaves the day to build)."""
    # here: `assets` imports this module (the rollups' automation condition)
    from cx_assets.lakehouse.assets import LANDED_TABLE, metadata_value

    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == group]
    landed = [
        table.split("/")
        for k in keys
        if (table := metadata_value(graph.get(k).metadata, LANDED_TABLE))
    ]
    if not landed:
        return False  # nothing lands for it: only a run builds its days
    files_by_table: dict[str, list] = {}
    for source, table in landed:
        files_by_table[table] = discover(landing_dir, source, table, day, [])
    source = landed[0][0]
    if not already_built(
        instance, source, day, files_by_table, folder_identity(landing_dir / source)
    ):
        return False
    date_grained = [k for k in keys if graph.get(k).is_partitioned]
    written = {}
    for k in date_grained:
        found = instance.get_latest_storage_id_by_partition(
            k, DagsterEventType.ASSET_MATERIALIZATION, partitions={day.isoformat()}
        )
        written[k] = found.get(day.isoformat())
    for k in date_grained:
        if written[k] is None:
            return False
        for parent in graph.get(k).parent_keys:
            if parent in written and (written[parent] is None or written[parent] > written[k]):
                return False
    return True


def rollup_automation() -> AutomationCondition:
    """Rebuild a whole-history rollup once any upstream partition changed after the rollup was
    last rebuilt and after it was last requested, and nothing upstream is still running.

    An update counts until then, not for one evaluation only (as `any_deps_updated` alone
    would): one seen while another upstream run was going is not forgotten when that run
    ends without materializing (failed waiting for the lock, cancelled). A request handles
    it even if its run fails, so a failing rollup is not requested again every tick.

    Rebuilt and requested are two `since` conditions, not one over their `|` as Dagster's
    `since_last_handled` has it: when an evaluation sees both an upstream update and the
    rollup's rebuild, Dagster orders them by their timestamps only for a reset that carries
    them, and an `|` or `&` drops them, so the rebuild won even when the update came after it
    (a `cx-lakehouse run` rebuilt the rollups, a landing run then wrote a day: that day
    waited for the source's next landing). Runs hold the warehouse one at a time, so an
    update stamped after the rebuild was not read by it. For the same reason the trigger is
    a bare `newly_updated` of a dependency, not `any_deps_updated` (an `|` and `&` inside),
    and a dependency about to be requested (a rollup upstream) joins the same request on
    its own."""
    dep_updated = AutomationCondition.any_deps_match(AutomationCondition.newly_updated())
    return (
        (
            dep_updated.since(AutomationCondition.newly_updated())
            & dep_updated.since(AutomationCondition.newly_requested())
            | AutomationCondition.any_deps_match(AutomationCondition.will_be_requested())
        )
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("rebuild_after_upstream_partitions")
