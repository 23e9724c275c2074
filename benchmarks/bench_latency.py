"""Landing to gold with the UI's daemon running: how long after a day's files are complete
its gold is materialized, on a data root prepared as `cx-lakehouse ui` prepares it.

- The data root gets DAGSTER_HOME under it with the dagster.yaml `cx-lakehouse` writes
  (`prepare_dagster_home`), and `dagster-daemon run -m cx_assets.definitions` runs on it: the
  sensors, the run queue and the automation of `make ui`, without the webserver (it serves
  pages; it launches nothing).
- The source's landing sensor is started through the instance if its default is stopped.
- A warm-up day is landed first and not counted: it also proves the daemon is up.
- Each measured day is copied into landing/<source>/<table>/<day>/ under in-flight names
  (`.name`, which the sensor ignores), then renamed: the files are complete at the last
  rename. Gold is there when every date-grained gold asset of the source has a
  materialization for the day; the time is that event's own timestamp, not our poll's.
- Between days we wait for quiet: no run in progress, and the rollup run the automation
  launches after a day has finished (or its sensor's interval has passed without one), so
  a day never queues behind the previous day's rollups.

The split of each day: landed → run created (waiting for the sensor's tick, and its
evaluation), run created → launched (the run queue's daemon), launched → run started (the
run's process starting Python and loading the definitions), run started → gold
materialized (the run's steps up to the last gold one).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import psutil
from bench_events import dagster_home
from bench_run import BIN, LandingSets, data_root_env, days_from, fresh_root, landed_files

POLL_SECONDS = 0.2
WARM_UP_TIMEOUT = 300.0
DAY_TIMEOUT = 180.0


@dataclass
class LandedDay:
    day: date
    tick_wait: float  # files complete → run created
    queue: float  # run created → launched by the run queue
    launch: float  # launched → the run's process started the run
    run: float  # run started → last gold materialization

    @property
    def total(self) -> float:
        return self.tick_wait + self.queue + self.launch + self.run


@dataclass
class LatencyResult:
    source: str
    scale: float
    sensor_interval: int
    rollup_interval: int
    days: list[LandedDay]
    stray_processes: int

    @property
    def median(self) -> float:
        return statistics.median(day.total for day in self.days)

    def median_of(self, part: str) -> float:
        return statistics.median(getattr(day, part) for day in self.days)


def definitions_facts(source: str) -> tuple[list, int, int, bool]:
    """From the definitions themselves: the source's date-grained gold asset keys, the landing
    sensor's and the rollup automation's intervals, and whether the sensor runs by default."""
    warnings.filterwarnings("ignore")
    from dagster import DefaultSensorStatus

    from cx_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    gold = sorted(
        key
        for key in graph.get_all_asset_keys()
        if key.path[0] == "gold"
        and graph.get(key).group_name == source
        and graph.get(key).is_partitioned
    )
    sensor = defs.get_sensor_def(f"{source}_landing_sensor")
    rollups = defs.get_sensor_def("rollups_automation")
    running = sensor.default_status == DefaultSensorStatus.RUNNING
    return (
        gold,
        sensor.minimum_interval_seconds or 30,
        rollups.minimum_interval_seconds or 30,
        running,
    )


def prepare_ui_root(data_dir: Path) -> Path:
    """DAGSTER_HOME and its dagster.yaml as `cx-lakehouse ui` writes them."""
    from cx_assets.cli import prepare_dagster_home

    saved = os.environ.pop("DAGSTER_HOME", None)
    try:
        return prepare_dagster_home(data_dir)
    finally:
        os.environ.pop("DAGSTER_HOME", None)
        if saved is not None:
            os.environ["DAGSTER_HOME"] = saved


def land_day(staging: Path, source: str, day: date, data_dir: Path) -> float:
    """Copy a day's files in under in-flight names, then rename them all; returns the epoch
    time the last file was complete."""
    pending = []
    for path, target_dir in landed_files(staging, source, [day], data_dir):
        in_flight = target_dir / f".{path.name}"
        shutil.copyfile(path, in_flight)
        pending.append((in_flight, target_dir / path.name))
    for in_flight, final in pending:
        os.rename(in_flight, final)
    return time.time()


class Daemon:
    """`dagster-daemon run` in a session of its own, stopped by its pid and its tree's pids."""

    def __init__(self, data_dir: Path, home: Path) -> None:
        self.log = (data_dir / "daemon.log").open("w")
        env = {**data_root_env(data_dir), "DAGSTER_HOME": str(home)}
        self.process = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-m", "cx_assets.definitions"],
            env=env,
            cwd=data_dir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> int:
        """SIGTERM (the daemon stops its threads and code servers), then kill what is left of
        the tree seen before; returns how many processes had to be killed."""
        try:
            tree = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _, alive = psutil.wait_procs(tree, timeout=15)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        self.log.close()
        return len(alive)


def latest_gold(instance, gold_keys: list, day: date):
    """The last gold materialization of the day once every gold asset has one, else None."""
    from dagster import AssetRecordsFilter

    latest = None
    for key in gold_keys:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()]), limit=1
        ).records
        if not records:
            return None
        if latest is None or records[0].timestamp > latest.timestamp:
            latest = records[0]
    return latest


def in_progress(instance) -> int:
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [
        DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING,
    ]  # fmt: skip
    return instance.get_runs_count(filters=RunsFilter(statuses=statuses))


def wait_for(condition, timeout: float, what: str, daemon: Daemon):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        if daemon.process.poll() is not None:
            raise SystemExit(f"the daemon exited while waiting for {what}: see daemon.log")
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_quiet(instance, after: float, rollup_interval: int, daemon: Daemon) -> None:
    """No run in progress, and the automation's rollup run (if any) after `after` is done."""
    from dagster import RunsFilter

    def quiet() -> bool:
        if in_progress(instance):
            return False
        later = instance.get_runs_count(
            filters=RunsFilter(created_after=datetime.fromtimestamp(after, UTC))
        )
        return later > 0 or time.time() > after + rollup_interval + 5

    wait_for(quiet, DAY_TIMEOUT, "the runs after a day to finish", daemon)


def split_day(instance, day: date, landed: float, gold) -> LandedDay:
    run_id = gold.run_id
    record = instance.get_run_record_by_id(run_id)
    created = record.create_timestamp.timestamp()
    stamps = {
        entry.dagster_event.event_type_value: entry.timestamp
        for entry in instance.all_logs(run_id)
        if entry.dagster_event is not None
    }
    started = stamps["PIPELINE_START"]
    launched = stamps.get("PIPELINE_STARTING", created)
    return LandedDay(
        day, created - landed, launched - created, started - launched, gold.timestamp - started
    )


def bench_latency(
    work_dir: Path, landing_sets: LandingSets, source: str, scale: float, repeats: int
) -> LatencyResult:
    facts = definitions_facts(source)
    days = days_from(landing_sets.first_day, repeats + 1)
    staging = landing_sets.ensure(source, scale, len(days))
    data_dir = fresh_root(work_dir / f"latency-{source}")
    home = prepare_ui_root(data_dir)
    with dagster_home(home):
        return _measure(data_dir, home, staging, source, scale, days, facts)


def _measure(data_dir, home, staging, source, scale, days, facts) -> LatencyResult:
    from dagster import DagsterInstance

    gold_keys, sensor_interval, rollup_interval, running = facts
    instance = DagsterInstance.get()
    if not running:  # turned on as a user would, through the instance
        subprocess.run(
            [str(BIN / "dagster"), "sensor", "start", f"{source}_landing_sensor",
             "-m", "cx_assets.definitions"],
            env={**data_root_env(data_dir), "DAGSTER_HOME": str(home)},
            check=True, cwd=data_dir, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    print(
        f"[latency] {source} at scale {scale:g}: daemon up, sensor every {sensor_interval} s, "
        f"rollups every {rollup_interval} s; warm-up day {days[0]} ...",
        flush=True,
    )
    daemon = Daemon(data_dir, home)
    measured: list[LandedDay] = []
    try:
        land_day(staging, source, days[0], data_dir)
        gold = wait_for(
            lambda: latest_gold(instance, gold_keys, days[0]), WARM_UP_TIMEOUT, "warm-up", daemon
        )
        wait_for_quiet(instance, gold.timestamp, rollup_interval, daemon)
        for day in days[1:]:
            landed = land_day(staging, source, day, data_dir)
            gold = wait_for(
                lambda day=day: latest_gold(instance, gold_keys, day), DAY_TIMEOUT, str(day), daemon
            )
            result = split_day(instance, day, landed, gold)
            measured.append(result)
            print(
                f"[latency] {day}: {result.total:.1f} s (tick wait {result.tick_wait:.1f}, "
                f"queue {result.queue:.1f}, launch {result.launch:.1f}, run {result.run:.1f})",
                flush=True,
            )
            wait_for_quiet(instance, gold.timestamp, rollup_interval, daemon)
    finally:
        stray = daemon.stop()
        instance.dispose()
    return LatencyResult(source, scale, sensor_interval, rollup_interval, measured, stray)
