"""Where a `cx-lakehouse run` spends its time, read from the Dagster event log of its runs.

The command's wall time splits, with nothing left over, into: start-up (Python, Dagster, the
definitions, the instance, the run lock: from the process start to the first run's
creation), then per run its set-up (creation, planned events, run start), its steps (an
asset step writes a materialization; a check step only evaluates checks), the gaps between
steps (Dagster's own bookkeeping), the time between runs, and what follows the last run
(the summary, exit).

`data_seconds` is what the range-versus-days target compares: the sum of every step's
STEP_START → STEP_SUCCESS of the date-grained runs, plus the time of the early read of the
largest table (`cx_assets/lakehouse/early_bronze.py`: read while the command starts, before
its bronze step, which then only waits for what is left of it). It scales with the data,
and leaves out what a run pays once whatever its size (start-up, run set-up, gaps, the
rollup run), which fourteen one-day runs pay fourteen times and a range once.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Dagster's event types by their stored value (runs are still "PIPELINE_*" there).
RUN_START = "PIPELINE_START"
RUN_ENDS = ("PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_CANCELED")
STEP_START = "STEP_START"
STEP_ENDS = ("STEP_SUCCESS", "STEP_FAILURE")
MATERIALIZATION = "ASSET_MATERIALIZATION"
CHECK_EVALUATION = "ASSET_CHECK_EVALUATION"
# Tags of a run over date partitions: one day, or a range in one run.
PARTITION_TAGS = ("dagster/partition", "dagster/asset_partition_range_start")


@dataclass(frozen=True)
class Event:
    timestamp: float
    event_type: str
    step_key: str | None = None
    read_early_seconds: float | None = None  # a materialization's, see the module's text


@dataclass
class RunLog:
    job_name: str
    created: float
    events: list[Event]
    date_grained: bool = False


@dataclass
class Step:
    key: str
    seconds: float
    is_check: bool
    began: float = 0.0  # epoch seconds


@dataclass
class RunSplit:
    job_name: str
    date_grained: bool
    set_up: float
    steps: list[Step]
    gaps: float  # run start to end with no step running
    wall: float  # creation to the run's end event
    # Step time counted twice: steps execute two at a time (the executor's threads), so
    # their durations add up to more than the time steps were running.
    overlap: float = 0.0
    # An early read's own time, before its step began (the step waits for the rest).
    read_early: float = 0.0

    @property
    def asset_seconds(self) -> float:
        return sum(step.seconds for step in self.steps if not step.is_check)

    @property
    def check_seconds(self) -> float:
        return sum(step.seconds for step in self.steps if step.is_check)


@dataclass
class CommandSplit:
    wall: float
    start_up: float
    runs: list[RunSplit]
    between_runs: float
    after_runs: float
    notes: list[str] = field(default_factory=list)

    @property
    def data_seconds(self) -> float:
        return sum(
            sum(step.seconds for step in run.steps) + run.read_early
            for run in self.runs
            if run.date_grained
        )


def split_run(run: RunLog) -> RunSplit:
    started = next((e.timestamp for e in run.events if e.event_type == RUN_START), run.created)
    ended = next(
        (e.timestamp for e in reversed(run.events) if e.event_type in RUN_ENDS),
        run.events[-1].timestamp if run.events else started,
    )
    begun: dict[str, float] = {}
    materialized: set[str] = set()
    checked: set[str] = set()
    steps: list[Step] = []
    # A range's step gives every day's materialization the same value: once a step.
    read_early: dict[str, float] = {}
    for event in run.events:
        key = event.step_key
        if key is None:
            continue
        if event.event_type == STEP_START:
            begun[key] = event.timestamp
        elif event.event_type == MATERIALIZATION:
            materialized.add(key)
            if event.read_early_seconds is not None:
                read_early[key] = event.read_early_seconds
        elif event.event_type == CHECK_EVALUATION:
            checked.add(key)
        elif event.event_type in STEP_ENDS and key in begun:
            steps.append(Step(key, event.timestamp - begun[key], False, begun[key]))
    for step in steps:  # a step with checks but no materialization is a check step
        step.is_check = step.key in checked and step.key not in materialized
    running = _union_seconds([(step.began, step.began + step.seconds) for step in steps])
    return RunSplit(
        job_name=run.job_name,
        date_grained=run.date_grained,
        set_up=started - run.created,
        steps=steps,
        gaps=(ended - started) - running,
        wall=ended - run.created,
        overlap=sum(step.seconds for step in steps) - running,
        # The reading's time before the step began: its time less the step's (which also
        # discovers and publishes: a slight undercount).
        read_early=sum(
            max(0.0, seconds - next((s.seconds for s in steps if s.key == key), 0.0))
            for key, seconds in read_early.items()
        ),
    )


def _union_seconds(spans: list[tuple[float, float]]) -> float:
    """How long at least one of the (start, end) spans lasted."""
    total, reached = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reached:
            total += end - max(start, reached)
            reached = end
    return total


def split_command(runs: list[RunLog], began: float, ended: float) -> CommandSplit:
    """`runs` in creation order; `began`/`ended`: the command's process, epoch seconds."""
    ordered = sorted(runs, key=lambda run: run.created)
    splits = [split_run(run) for run in ordered]
    if not splits:
        return CommandSplit(ended - began, ended - began, [], 0.0, 0.0, ["no run found"])
    between = sum(
        later.created - (earlier.created + split.wall)
        for earlier, later, split in zip(ordered, ordered[1:], splits, strict=False)
    )
    last_end = ordered[-1].created + splits[-1].wall
    return CommandSplit(
        wall=ended - began,
        start_up=ordered[0].created - began,
        runs=splits,
        between_runs=between,
        after_runs=ended - last_end,
    )


@contextmanager
def dagster_home(home: str | os.PathLike):
    """DAGSTER_HOME set for this process while inside (Dagster reads it from the environment
    when it loads an instance's storage), restored after."""
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def read_runs(home: str | os.PathLike, since: float, until: float | None = None) -> list[RunLog]:
    """The runs created from `since` to `until` (epoch seconds; a command's process) in an
    instance, with their events."""
    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance

    with dagster_home(home), DagsterInstance.get() as instance:
        return runs_from_instance(instance, since, until)


def runs_from_instance(instance, since: float = 0.0, until: float | None = None) -> list[RunLog]:
    from dagster import RunsFilter

    # A little slack: the run's creation is stamped by the same clock, but rounded. Commands
    # measured one after another start more than a second apart.
    created_after = datetime.fromtimestamp(since - 0.5, UTC)
    created_before = None if until is None else datetime.fromtimestamp(until, UTC)
    records = instance.get_run_records(
        filters=RunsFilter(created_after=created_after, created_before=created_before)
    )
    logs = []
    for record in records:
        run = record.dagster_run
        events = [
            Event(
                entry.timestamp,
                entry.dagster_event.event_type_value,
                entry.step_key,
                _read_early_seconds(entry.dagster_event),
            )
            for entry in instance.all_logs(run.run_id)
            if entry.dagster_event is not None
        ]
        logs.append(
            RunLog(
                job_name=run.job_name,
                created=record.create_timestamp.timestamp(),
                events=events,
                date_grained=any(tag in run.tags for tag in PARTITION_TAGS),
            )
        )
    return sorted(logs, key=lambda log: log.created)


def _read_early_seconds(event) -> float | None:
    from cx_assets.lakehouse.early_bronze import READ_SECONDS

    if event.event_type_value != MATERIALIZATION:
        return None
    value = event.event_specific_data.materialization.metadata.get(READ_SECONDS)
    return None if value is None else float(value.value)


def split_rows(split: CommandSplit, top_steps: int = 6) -> list[tuple[str, float]]:
    """(what, seconds) rows that add up to the command's wall time."""
    rows = [("start-up: Python, Dagster, definitions, instance, run lock", split.start_up)]
    for run in split.runs:
        kind = "date-grained run" if run.date_grained else "rollup run"
        checks = [step for step in run.steps if step.is_check]
        assets = sorted((s for s in run.steps if not s.is_check), key=lambda s: -s.seconds)
        rows.append((f"{kind} `{run.job_name}`: set-up (creation to run start)", run.set_up))
        if run.date_grained:
            for step in assets[:top_steps]:
                rows.append((f"  step {step.key}", step.seconds))
            rest = assets[top_steps:]
            if rest:
                rows.append((f"  the other {len(rest)} asset steps", sum(s.seconds for s in rest)))
        else:
            rows.append((f"  {len(assets)} asset steps", run.asset_seconds))
        if checks:  # declared checks run in their table's step; a domain's own have steps
            rows.append((f"  {len(checks)} check steps", run.check_seconds))
        if run.overlap:
            rows.append(("  steps at the same time (their time counted twice above)", -run.overlap))
        rows.append(("  gaps between steps (events, planning, IO bookkeeping)", run.gaps))
    if len(split.runs) > 1:
        rows.append(("between runs", split.between_runs))
    rows.append(("after the last run: summary, exit", split.after_runs))
    return rows
