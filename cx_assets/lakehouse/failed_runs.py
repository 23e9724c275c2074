"""A landed day whose run failed, its retries too, asked for again by its landing sensor.

Dagster's run retries start a failed run again within seconds. A cause that lasts minutes (a
full disk, an analyst's DuckDB session holding `warehouse.duckdb`, the run lock held past
`CX_RUN_WAIT_SECONDS`) outlasts them, and the day's files, unchanged, gave the sensor no
reason to ask again: the day stayed unbuilt until someone noticed (seen under the daemon, the
lock freed a minute after the third failure). So on a tick that asks for nothing else, the
sensor asks again for the days of the latest failed landing run once it has ended and Dagster
will not retry it (or said it would and made no retry, `RETRY_MADE_TAG`), after a wait that
doubles each time (`FIRST_WAIT`), `ASKS_AGAIN` times at most, each run tagged with how many
times (`ASKED_AGAIN_TAG`) and why in the tick's log.

A day is not asked again when its run failed a blocking check (its data fails the same way
every time), when it was built since (`cx-lakehouse run`, a re-execution from the UI) or a
landing run of it is going, when its files changed (that is a new delivery, asked for as
such), or when its folder is gone (a day archived out of landing: run again, it would come
out empty). Meanwhile each skipped tick says which day failed, why, and when it is asked
again, or that it is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunRequest, RunsFilter

from cx_assets.lakehouse.partitions import day_span, run_command, run_tags_for_days

# Waits of 2, 4, 8, 16, 32 and 64 min after each failure: the last ask comes about 2 h after
# the first run failed, each costing one run (a re-ask carries no Dagster retries: it is
# itself the retry, minutes later).
FIRST_WAIT = timedelta(minutes=2)
ASKS_AGAIN = 6
ASKED_AGAIN_TAG = "cx/asked_again"
# Dagster's daemon tags a failed run with the id of the retry it made. Its daemon reads a
# run's failure from the event log, and Dagster stores the failure before it marks the run
# failed and tags it `dagster/will_retry`: read in between (the likely cause), the run
# looks still going, and the daemon moves past it for good (seen under the daemon: one of
# four landing runs failing within 20 s was left `will_retry: true` with no retry). A
# retry not made within seconds is not coming, so one not made by the first wait is asked
# again like a failed retry.
RETRY_MADE_TAG = "dagster/auto_retry_run_id"
# Failed runs older than this are left alone (and no longer said): after the daemon was down
# longer, a person looks at the runs anyway.
LOOK_BACK = timedelta(days=1)
# The latest failed landing runs of a source looked at a tick: one query, mostly empty; and
# when there are some, the landing runs since the oldest of them (a second query).
RUNS_LOOKED_AT = 10
RUNS_SINCE = 100
SECOND = timedelta(seconds=1)
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
CHECK_FAILED = "DagsterAssetCheckFailedError"


@dataclass(frozen=True)
class Failed:
    """Why a run failed: its first error, in a line (the first of its causes not Dagster's),
    and whether a blocking check failed (bad data, the same at every try)."""

    why: str
    checks: bool


def ask_again(
    instance: DagsterInstance,
    source: str,
    unchanged: Collection[str],
    known: Collection[str],
    now: datetime,
    built: Callable[[str], bool],
    going: Callable[[str], str | None],
    later: Callable[[list[str]], list[str]],
    say: Callable[[str], None],
) -> RunRequest | list[str]:
    """A run asking again for the days of `source`'s latest failed landing run, when it is
    due; else what each skipped tick should say about the failed runs found. `unchanged` are
    the date folders whose files are as the sensor last asked for them, `known` every folder
    its state knows; `built` and `going` tell a day built since, or being built; `later` the
    later days built that read the days (the run goes through them, rebuilding them)."""
    landing = {"cx/source": source, "cx/trigger": "landing"}
    failed_runs = instance.get_run_records(
        RunsFilter(
            tags=landing,
            statuses=[DagsterRunStatus.FAILURE],
            updated_after=now - LOOK_BACK,
        ),
        limit=RUNS_LOOKED_AT,
    )
    if not failed_runs:
        return []
    # A day's latest landing run decides: a retry, a re-execution from the UI or a new
    # delivery takes a failed run over. One query for the runs since the oldest failed one.
    records = instance.get_run_records(
        RunsFilter(tags=landing, created_after=failed_runs[-1].create_timestamp - SECOND),
        limit=RUNS_SINCE,
    )
    notes: list[str] = []
    covered: set[str] = set()  # days of a newer run
    for record in records:  # newest first
        run = record.dagster_run
        # Its days a newer run did not take over: a later delivery of its last day, run
        # alone, leaves the days before it owed this run.
        ran = _days_of(run.tags)
        days = [day for day in ran if day not in covered]
        covered.update(ran)
        if not days:
            continue
        days = ran[ran.index(days[0]) : ran.index(days[-1]) + 1]
        if run.status != DagsterRunStatus.FAILURE or record.end_time is None:
            continue  # built, or being built, or cancelled by a person
        ended = datetime.fromtimestamp(record.end_time, UTC)
        if run.tags.get("dagster/will_retry") == "true" and (
            RETRY_MADE_TAG in run.tags or now < ended + FIRST_WAIT
        ):
            continue  # Dagster starts it again (a retry it has not made by now never comes)
        landed = [day for day in days if day in known]
        if any(day not in unchanged for day in landed):
            continue  # changed (a new delivery), still being written, unreadable, or gone
        if all(built(day) for day in landed or days):
            continue
        failed = _why_failed(instance, run.run_id)
        count = run.tags.get(ASKED_AGAIN_TAG, "0")  # a tag set by hand, not a count: done
        asked = int(count) if count.isdigit() else ASKS_AGAIN
        said = f"{day_span(days)}: its run failed at {ended:%Y-%m-%d %H:%M} UTC ({failed.why})"
        last = days[-1] if len(days) > 1 else None
        fix = f"fix the cause, then `{run_command(days[0], last, f'group:{source}', config='')}`"
        if failed.checks:
            notes.append(f"{said}; it failed its checks, so it is not asked again: {fix}")
            continue
        if asked >= ASKS_AGAIN:
            notes.append(f"{said}; not asked again after {ASKS_AGAIN} times: {fix}")
            continue
        due = ended + FIRST_WAIT * 2**asked
        if now < due:
            notes.append(f"{said}; asked again at {due:%H:%M:%S} UTC ({asked + 1} of {ASKS_AGAIN})")
            continue
        if any(going(day) for day in days):
            continue
        through = later(days)
        say(
            f"{source} {said}: asking again ({asked + 1} of {ASKS_AGAIN}"
            + (f", through the later built days reading it, to {through[-1]}" if through else "")
            + ")"
        )
        return _request(run, days[0], through[-1] if through else days[-1], asked + 1)
    return notes


def _request(run, first: str, last: str, asked: int) -> RunRequest:
    """A run of `first` to `last` with a key of its own (Dagster drops a request whose key it
    has seen): the failed run's, without its own count of asks, this one's, and the failed
    run's id (a re-execution from the UI keeps the tags of the run it re-executes, its count
    of asks with them: its ask had the key of an ask before it)."""
    base = run.tags.get("dagster/run_key", run.run_id).split(":again:")[0]
    tags = {
        "cx/source": run.tags["cx/source"],
        "cx/trigger": "landing",
        ASKED_AGAIN_TAG: str(asked),
    }
    key = f"{base}:again:{asked}:{run.run_id[:8]}"
    if first == last:
        return RunRequest(run_key=key, partition_key=first, tags=tags)
    return RunRequest(run_key=key, tags={**tags, **run_tags_for_days(first, last)})


def _days_of(tags: dict[str, str]) -> list[str]:
    """The days a run built: its partition, or every day of its range."""
    first = tags.get(RANGE_START, tags.get("dagster/partition"))
    last = tags.get(RANGE_END, first)
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except (TypeError, ValueError):
        return []
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def _why_failed(instance: DagsterInstance, run_id: str) -> Failed:
    events = instance.all_logs(
        run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
    )
    errors = []
    for entry in events:
        data = entry.dagster_event.event_specific_data
        error = getattr(data, "error", None)
        if error is not None:
            errors.append(error)
    checks = any(error.cls_name == CHECK_FAILED for error in errors)
    if not errors:
        return Failed("no error recorded", checks)
    # Dagster's wrapper (an error handling an output, in a resource) says where, the error
    # it wraps what: ours name the cause and its fix (the warehouse held by a DuckDB session,
    # the run lock past CX_RUN_WAIT_SECONDS), and the error they wrap is the library's.
    error = errors[0]
    while error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    line = error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name
    # `cx_assets.lakehouse.run_lock.RunLockTimeout: ...` read as `RunLockTimeout: ...`
    return Failed(re.sub(r"^(?:\w+\.)+(?=\w+:)", "", line)[:300], checks)
