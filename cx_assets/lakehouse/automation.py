"""What runs the lakehouse without a person: landing sensors, the daily schedule, and the
automation condition that keeps whole-history rollups fresh.

Landing sensor, one per source. Each tick fingerprints every date folder of the source
from its files' (path, mtime, size). A day whose fingerprint changed since the cursor
(a new file, a re-delivered one, a removed one) gets a run of that partition, with a run
key made from the fingerprint: Dagster deduplicates run keys forever, so a key must change
exactly when the content does. Days outside the partitions (before the start, today or
later, or a folder that is not a date) are skipped with a log line, because one bad
partition key fails the whole tick. Requests are capped per tick; the rest wait.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from dagster import (
    AutomationCondition,
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

from cx_assets.lakehouse.landing import LandedFile, date_folders, discover, parse_date_folder
from cx_assets.lakehouse.partitions import daily_partitions, is_partition_day
from cx_assets.lakehouse.resources import Lake

MAX_REQUESTS_PER_TICK = 10


def fingerprint(files: Sequence[LandedFile]) -> str:
    content = "\n".join(
        f"{landed.relative_path}|{landed.mtime_ns}|{landed.size}"
        for landed in sorted(files, key=lambda landed: landed.relative_path)
    )
    return hashlib.sha256(content.encode()).hexdigest()[:20]


def landing_sensor(
    source: str,
    tables: Sequence[str],
    job_name: str,
    *,
    max_requests_per_tick: int = MAX_REQUESTS_PER_TICK,
    minimum_interval_seconds: int = 30,
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
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        now = datetime.now(UTC)
        requests: list[RunRequest] = []
        waiting = 0
        for folder_name in sorted(date_folders(lake.layout.landing_dir, source)):
            day = parse_date_folder(folder_name)
            if day is None:
                context.log.info(
                    f"skipping landing/{source}/*/{folder_name}: not a YYYY-MM-DD folder"
                )
                continue
            if not is_partition_day(day, now):
                context.log.info(
                    f"skipping landing/{source}/*/{folder_name}: not a partition yet or any more "
                    f"(partitions run from {daily_partitions.start.date()} to yesterday, UTC)"
                )
                continue
            files = [
                landed
                for table in tables
                for landed in discover(lake.layout.landing_dir, source, table, day)
            ]
            if not files:
                continue  # only in-flight files so far
            current = fingerprint(files)
            if seen.get(folder_name) == current:
                continue
            if len(requests) >= max_requests_per_tick:
                waiting += 1
                continue
            requests.append(
                RunRequest(
                    run_key=f"{source}:{folder_name}:{current}",
                    partition_key=folder_name,
                    tags={"cx/source": source, "cx/trigger": "landing"},
                )
            )
            seen[folder_name] = current
        if waiting:
            context.log.info(f"{waiting} more changed days wait for the next tick")
        if not requests:
            return SkipReason(f"no new or re-delivered {source} files")
        return SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return landing_files_changed


def daily_schedule(job) -> ScheduleDefinition:
    """Each day at 02:00 UTC, the previous day's partition of every date-grained asset."""
    return build_schedule_from_partitioned_job(
        job,
        name="daily_yesterday",
        hour_of_day=2,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Materializes yesterday's partition of every date-grained asset.",
    )


def rollup_automation() -> AutomationCondition:
    """Rebuild a whole-history rollup once any upstream partition changed and nothing
    upstream is still running."""
    return (
        AutomationCondition.any_deps_updated()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("rebuild_after_upstream_partitions")
