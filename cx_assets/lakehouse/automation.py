"""What runs the lakehouse without a person: landing sensors, the daily schedule, and the
automation condition that keeps whole-history rollups fresh.

Landing sensor, one per source. Each tick fingerprints every date folder of the source
from its files' (path, mtime, size), and notes their ctimes. A day whose fingerprint
changed since the cursor (a new file, a re-delivered one, a removed one), or whose files
were rewritten keeping it (`cp -p`), gets a run of that partition, with a run key made
from the fingerprint and the day's count of changes: Dagster deduplicates run keys
forever, so a key must change whenever the content does. Days outside the partitions
(before the start, today or later, or a folder that is not a date) are skipped, because
one bad partition key fails the whole tick, with a log line on the first tick that skips
them. Requests are capped per tick; the rest wait. A changed day that later days already
built were computed from (a window of days before, every version up to a day:
`staleness.py`) gets one run from it through the last of them instead.

Runs the daemon starts by itself (the landing sensors', the schedule's, the rollup
automation's) carry `RETRIED_RUN_TAGS`, and Dagster's run retries (enabled in the
`dagster.yaml` that `cx-lakehouse` writes) start them again when they fail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from operator import attrgetter
from pathlib import Path

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AutomationCondition,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    build_schedule_from_partitioned_job,
    sensor,
)

from cx_assets.lakehouse.landing import (
    LandedFile,
    date_folders,
    discover,
    parse_date_folder,
    printable,
    unknown_table_folders,
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
# new update. A failure that is not transient fails twice more and stops. Runs a person
# starts (`cx-lakehouse run`, the UI's launchpad) are not retried: they see the failure.
RETRIED_RUN_TAGS = {"dagster/max_retries": "2"}
# A tick only lists date folders and stats files, so it can look often: a landed day is
# seen within seconds (the daemon itself evaluates sensors at most every 5 s).
LANDING_SENSOR_INTERVAL_SECONDS = 5


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
    """The sensor's cursor: each date folder's last fingerprint, its `rewrites` and how many
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

    def __init__(
        self,
        fingerprints: dict[str, str],
        changes: dict[str, int],
        skipped: frozenset[str] = frozenset(),
        written: dict[str, str] | None = None,
        landing: str | None = None,
    ) -> None:
        self.fingerprints, self.changes = fingerprints, changes
        self.written = written or {}
        self.skipped_before = skipped
        self.skipped: set[str] = set()
        self.landing_before, self.landing = landing, landing

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
    def from_cursor(cls, cursor: str | None) -> DaysSeen:
        # A cursor maps a day to "fingerprint" (before change counts were kept),
        # "fingerprint/changes" (before rewrites were) or "fingerprint/changes/rewrites".
        fingerprints, changes, written, skipped = {}, {}, {}, set()
        values = json.loads(cursor) if cursor else {}
        landing = values.pop(cls.LANDING, None)
        for day, value in values.items():
            if value == cls.SKIPPED:
                skipped.add(day)
                continue
            found, _, rest = value.partition("/")
            count, _, rewritten = rest.partition("/")
            fingerprints[day], changes[day] = found, int(count or 0)
            if rewritten:
                written[day] = rewritten
        return cls(fingerprints, changes, frozenset(skipped), written, landing)

    def unchanged(self, day: str, current: str, rewritten: str) -> bool:
        """Whether the day's files are as last seen: the same fingerprint, and not rewritten
        since (unless the whole landing folder was copied, or the cursor is from before
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

    def to_cursor(self) -> str:
        seen = {
            day: "/".join([found, str(self.changes[day]), self.written.get(day, "")]).rstrip("/")
            for day, found in self.fingerprints.items()
        }
        skipped = dict.fromkeys(self.skipped - set(seen), self.SKIPPED)
        landing = {self.LANDING: self.landing} if self.landing else {}
        return json.dumps({**skipped, **seen, **landing}, sort_keys=True)


def landing_sensor(
    source: str,
    tables: Sequence[str],
    job_name: str,
    *,
    max_requests_per_tick: int = MAX_REQUESTS_PER_TICK,
    minimum_interval_seconds: int = LANDING_SENSOR_INTERVAL_SECONDS,
) -> SensorDefinition:
    @sensor(
        name=f"{source}_landing_sensor",
        description=f"Runs a day of {source} when files land in, or are re-delivered to, "
        f"landing/{source}/<table>/<YYYY-MM-DD>/.",
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
    )
    def landing_files_changed(context: SensorEvaluationContext, lake: Lake):
        # A run killed outright stays STARTED and holds a place in the UI's run queue: free
        # it here, so the queue drains even when no new run could start.
        if context.instance is not None:
            release_dead_runs(context.instance, context.log.warning)
        seen = DaysSeen.from_cursor(context.cursor)
        landing = folder_identity(lake.layout.landing_dir / source)
        seen.look_at(landing)
        now = datetime.now(UTC)
        changed: list[tuple[str, str]] = []  # (day, its run key) of the days to run
        waiting = 0
        for name in unknown_table_folders(lake.layout.landing_dir, source, tables):
            if seen.skip(name):  # a misspelled table's files would never be read
                context.log.info(
                    f"ignoring {name}: not a table of {source} (its tables: {', '.join(tables)})"
                )
        for folder_name in sorted(date_folders(lake.layout.landing_dir, source)):
            day = parse_date_folder(folder_name)
            if day is None:
                if seen.skip(folder_name):
                    context.log.info(
                        f"skipping landing/{source}/*/{printable(folder_name)}: "
                        "not a YYYY-MM-DD folder"
                    )
                continue
            if not is_partition_day(day, now):
                if seen.skip(folder_name):
                    context.log.info(
                        f"skipping landing/{source}/*/{folder_name}: not a partition yet or any "
                        f"more (partitions run from {daily_partitions.start.date()} to "
                        "yesterday, UTC)"
                    )
                continue
            ignored: list[tuple[str, str]] = []
            files_by_table = {
                table: discover(lake.layout.landing_dir, source, table, day, ignored)
                for table in tables
            }
            for name, why in ignored:  # said once, as long as it stays
                if seen.skip(name):
                    context.log.info(f"ignoring {name}: {why}")
            files = [landed for table_files in files_by_table.values() for landed in table_files]
            if not files and folder_name not in seen.fingerprints:
                continue  # only in-flight files so far (a day whose files were removed runs)
            current, rewritten = fingerprint(files), rewrites(files)
            if seen.unchanged(folder_name, current, rewritten):
                continue
            # A day rewritten under the fingerprint the cursor holds is a re-delivery the
            # sensor saw itself, whatever an older bronze materialization recorded.
            if (
                seen.fingerprints.get(folder_name) != current
                and context.instance is not None
                and already_built(context.instance, source, day, files_by_table, landing)
            ):
                context.log.info(f"{source} {folder_name}: already built from these files")
                seen.record(folder_name, current, rewritten)
                continue
            if len(changed) >= max_requests_per_tick:
                waiting += 1
                continue
            change = seen.record(folder_name, current, rewritten)
            changed.append(
                (
                    folder_name,
                    f"{source}:{folder_name}:{current}" + (f":{change}" if change else ""),
                )
            )
        if waiting:
            context.log.info(f"{waiting} more changed days wait for the next tick")
        cursor = seen.to_cursor()
        if not changed:
            return SensorResult(
                skip_reason=SkipReason(f"no new or re-delivered {source} files"), cursor=cursor
            )
        return SensorResult(run_requests=[_one_run(context, source, changed)], cursor=cursor)

    return landing_files_changed


def _one_run(
    context: SensorEvaluationContext, source: str, changed: list[tuple[str, str]]
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
    """Each day at 02:00 UTC, the previous day's partition of every date-grained asset (the
    job's partitions, and so the schedule's, are resolved from its assets with the
    definitions)."""
    return build_schedule_from_partitioned_job(
        job,
        name="daily_yesterday",
        hour_of_day=2,
        default_status=DefaultScheduleStatus.RUNNING,
        tags=RETRIED_RUN_TAGS,
        description="Materializes yesterday's partition of every date-grained asset at "
        "02:00 UTC; the whole-history tables built on them follow in the same run.",
    )


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
