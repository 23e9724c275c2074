"""What runs the lakehouse without a person: landing sensors, the daily schedule, and the
automation condition that keeps whole-history rollups fresh.

Landing sensor, one per source. Each tick fingerprints every date folder of the source
from its files' (path, mtime, size, ctime). A day whose fingerprint changed since the cursor
(a new file, a re-delivered one, a removed one) gets a run of that partition, with a run
key made from the fingerprint: Dagster deduplicates run keys forever, so a key must change
exactly when the content does. Days outside the partitions (before the start, today or
later, or a folder that is not a date) are skipped, because one bad partition key fails
the whole tick, with a log line on the first tick that skips them. Requests are capped per tick; the rest wait.

Runs the daemon starts by itself (the landing sensors', the schedule's, the rollup
automation's) carry `RETRIED_RUN_TAGS`, and Dagster's run retries (enabled in the
`dagster.yaml` that `cx-lakehouse` writes) start them again when they fail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from operator import attrgetter

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AutomationCondition,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
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
)
from cx_assets.lakehouse.partitions import daily_partitions, is_partition_day
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.run_lock import release_dead_runs

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


# Fingerprints carry this prefix since they include each file's ctime. One without it (a
# cursor or a bronze materialization from before) was made from (path, mtime, size) alone.
FINGERPRINT_PREFIX = "2."


def fingerprint(files: Sequence[LandedFile]) -> str:
    """The state of a day's files: each one's path, modification time, size and status-change
    time (ctime). Modification time and size alone missed a re-delivery that keeps both
    (`cp -p`, `rsync -t` of a same-size file); ctime moves with any write or rename and no
    tool sets it back. It also moves on `chmod` or a new hard link: the day then runs again,
    which gives the same rows."""
    return FINGERPRINT_PREFIX + _digest(
        f"{landed.relative_path}|{landed.mtime_ns}|{landed.size}|{landed.ctime_ns}"
        for landed in sorted(files, key=attrgetter("relative_path"))
    )


def _fingerprint_without_ctime(files: Sequence[LandedFile]) -> str:
    """The fingerprint as it was made before ctime was part of it."""
    return _digest(
        f"{landed.relative_path}|{landed.mtime_ns}|{landed.size}"
        for landed in sorted(files, key=attrgetter("relative_path"))
    )


def _digest(lines: Iterable[str]) -> str:
    # `relative_path` is printable even for a name that is not UTF-8, so this encodes.
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:20]


def same_files(recorded: str | None, files: Sequence[LandedFile]) -> bool:
    """Whether a recorded fingerprint (the sensor's cursor, a bronze materialization) is of
    these very files. One recorded before ctime counted is compared the way it was made, so
    an upgrade does not run every day again."""
    if recorded is None:
        return False
    if recorded.startswith(FINGERPRINT_PREFIX):
        return recorded == fingerprint(files)
    return recorded == _fingerprint_without_ctime(files)


# Bronze materializations record the fingerprint of each day's files under this key, so a
# sensor can tell a day already built (by the CLI, say) from one whose files changed.
LANDING_FINGERPRINTS = "landing_fingerprints"


def bronze_key(source: str, table: str) -> AssetKey:
    return AssetKey(["bronze", f"{source}_{table}"])


def day_fingerprints(files: Sequence[LandedFile], days: Sequence[date]) -> dict[str, str]:
    """The fingerprint of one table's files, day by day (a day without files included)."""
    return {
        day.isoformat(): fingerprint([landed for landed in files if landed.day == day])
        for day in days
    }


def already_built(
    instance: DagsterInstance, source: str, day: date, files_by_table: dict[str, list]
) -> bool:
    """Whether the latest bronze materialization of every table of `source` for `day`
    recorded exactly these files."""
    for table, files in files_by_table.items():
        found = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=bronze_key(source, table), asset_partitions=[str(day)]),
            limit=1,
        ).records
        if not found or found[0].asset_materialization is None:
            return False
        recorded = found[0].asset_materialization.metadata.get(LANDING_FINGERPRINTS)
        if recorded is None or not same_files(recorded.value.get(str(day)), files):
            return False
    return True


class DaysSeen:
    """The sensor's cursor: each date folder's last fingerprint and how many times it has
    changed. The count goes into the run key: Dagster drops a request whose key it has seen,
    so a day whose files go back to an earlier state (a rollback with the old times kept,
    files removed twice) must still get a new key.

    It also keeps the folders skipped on the last tick (as `SKIPPED`), so a folder outside
    the partitions (today's, one misnamed) is logged once, not on every tick (every 5 s)."""

    SKIPPED = "skipped"

    def __init__(
        self,
        fingerprints: dict[str, str],
        changes: dict[str, int],
        skipped: frozenset[str] = frozenset(),
    ) -> None:
        self.fingerprints, self.changes = fingerprints, changes
        self.skipped_before = skipped
        self.skipped: set[str] = set()

    def skip(self, folder_name: str) -> bool:
        """Remember that the folder is skipped this tick; whether it was not on the last one."""
        self.skipped.add(folder_name)
        return folder_name not in self.skipped_before

    @classmethod
    def from_cursor(cls, cursor: str | None) -> DaysSeen:
        # A cursor maps a day to "fingerprint" (before change counts were kept) or
        # "fingerprint/changes".
        fingerprints, changes, skipped = {}, {}, set()
        for day, value in (json.loads(cursor) if cursor else {}).items():
            if value == cls.SKIPPED:
                skipped.add(day)
                continue
            found, _, count = value.partition("/")
            fingerprints[day], changes[day] = found, int(count or 0)
        return cls(fingerprints, changes, frozenset(skipped))

    def record(self, day: str, current: str) -> int:
        """Remember the day's new fingerprint; returns its number of changes before this one
        (0 for a first delivery)."""
        change = self.changes.get(day, -1) + 1
        self.fingerprints[day], self.changes[day] = current, change
        return change

    def refresh(self, day: str, current: str) -> None:
        """Keep the day's fingerprint as `current` for the same files (no change counted)."""
        self.fingerprints[day] = current

    def to_cursor(self) -> str:
        seen = {day: f"{found}/{self.changes[day]}" for day, found in self.fingerprints.items()}
        skipped = dict.fromkeys(self.skipped - set(seen), self.SKIPPED)
        return json.dumps({**skipped, **seen}, sort_keys=True)


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
        now = datetime.now(UTC)
        requests: list[RunRequest] = []
        waiting = 0
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
            files_by_table = {
                table: discover(lake.layout.landing_dir, source, table, day) for table in tables
            }
            files = [landed for table_files in files_by_table.values() for landed in table_files]
            if not files and folder_name not in seen.fingerprints:
                continue  # only in-flight files so far (a day whose files were removed runs)
            current = fingerprint(files)
            if same_files(seen.fingerprints.get(folder_name), files):
                seen.refresh(folder_name, current)  # one recorded before ctime: now with it
                continue
            if context.instance is not None and already_built(
                context.instance, source, day, files_by_table
            ):
                context.log.info(f"{source} {folder_name}: already built from these files")
                seen.record(folder_name, current)
                continue
            if len(requests) >= max_requests_per_tick:
                waiting += 1
                continue
            change = seen.record(folder_name, current)
            requests.append(
                RunRequest(
                    run_key=f"{source}:{folder_name}:{current}" + (f":{change}" if change else ""),
                    partition_key=folder_name,
                    tags={"cx/source": source, "cx/trigger": "landing", **RETRIED_RUN_TAGS},
                )
            )
        if waiting:
            context.log.info(f"{waiting} more changed days wait for the next tick")
        cursor = seen.to_cursor()
        if not requests:
            return SensorResult(
                skip_reason=SkipReason(f"no new or re-delivered {source} files"), cursor=cursor
            )
        return SensorResult(run_requests=requests, cursor=cursor)

    return landing_files_changed


def daily_schedule(job) -> ScheduleDefinition:
    """Each day at 02:00 UTC, the previous day's partition of every date-grained asset."""
    return build_schedule_from_partitioned_job(
        job,
        name="daily_yesterday",
        hour_of_day=2,
        default_status=DefaultScheduleStatus.RUNNING,
        tags=RETRIED_RUN_TAGS,
        description="Materializes yesterday's partition of every date-grained asset.",
    )


def rollup_automation() -> AutomationCondition:
    """Rebuild a whole-history rollup once any upstream partition changed and nothing
    upstream is still running.

    An update counts until the rollup is requested or rebuilt (`since_last_handled`, as in
    Dagster's `eager`): `any_deps_updated` alone is true on one evaluation only, so an
    update seen while another upstream run was going was forgotten when that run ended
    without materializing (failed waiting for the lock, cancelled)."""
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("rebuild_after_upstream_partitions")
