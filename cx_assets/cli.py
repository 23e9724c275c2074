"""`cx-lakehouse`: generate synthetic landing data, materialize the lakehouse, open the UI
and the command centre.

    cx-lakehouse generate --start 2024-01-01 --days 3 [--scale 0.05] [--seed 7] [--sources crm,calls]
    cx-lakehouse run --date 2024-01-01 [--to 2024-01-03] [--select 'group:crm']
    cx-lakehouse ui [--port 3000]
    cx-lakehouse dashboard [--port 8501]

`run` materializes the selected date-grained assets for the whole range, then the
whole-history rollups that depend on them, with every asset check, in one in-process run
(per-step process start-up would dominate small days). Exit code 0 only if every step succeeded and
no ERROR-severity check failed. User mistakes (bad dates, bad selection, no data root)
print one line and exit 2; a full disk, or a data root it may not write, prints one line
and exits 1 (`disk_full`, `not_writable`).
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cx_assets.lakehouse.settings import SettingsError

DAGSTER_YAML = """\
# Written by cx-lakehouse. Runs on one data root queue on its run lock (see
# docs/architecture.md), which a killed run cannot leave behind; a Dagster run or pool
# limit here would be held for ever by a run that was killed.
# Events go to Dagster's own SQLite files, through an engine kept open per file
# (cx_assets/lakehouse/event_log.py): a fifth of the cost per event.
concurrency:
  runs:
    max_concurrent_runs: 4
# A landed day's run leaves the queue within a second (Dagster's default is 5).
run_queue:
  dequeue_interval_seconds: 1
# The daemon retries a failed run that asks for it: the sensors', the schedule's and the
# rollup automation's runs are tagged dagster/max_retries (cx_assets/lakehouse/automation.py).
run_retries:
  enabled: true
event_log_storage:
  module: cx_assets.lakehouse.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
telemetry:
  enabled: false
"""
# A file we wrote starts so, and is ours to replace (an earlier version had run and pool
# limits that outlive a killed run). A file the user wrote is never touched.
WRITTEN_BY_US = "# Written by cx-lakehouse."


class UsageError(Exception):
    """A mistake the user can fix; printed as one line."""


class BusyError(Exception):
    """The data root is held by someone else for longer than we wait; printed as one line."""


class DamagedError(Exception):
    """The data root's warehouse cannot be read as it is; printed as one line."""


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date in YYYY-MM-DD form") from None


def dagster_yaml(home: Path) -> str:
    """Our dagster.yaml for a DAGSTER_HOME (absolute paths, so any process opening the
    instance, with or without DAGSTER_HOME set, finds the same event files)."""
    from cx_assets.lakehouse.event_log import event_log_dir

    # JSON's quoting is valid YAML, for a path with spaces or colons.
    return DAGSTER_YAML.format(event_log_dir=json.dumps(event_log_dir(str(home.resolve()))))


def prepare_dagster_home(data_dir: Path) -> Path:
    """A persistent DAGSTER_HOME under the data root (unless the user set one), so runs
    from the CLI show up in the UI."""
    configured = os.environ.get("DAGSTER_HOME")
    if configured and not Path(configured).is_absolute():
        raise UsageError(f"DAGSTER_HOME={configured} must be an absolute path")
    home = Path(configured or data_dir / "dagster_home")
    if home.exists() and not home.is_dir():
        raise UsageError(f"DAGSTER_HOME={home} is a file, not a folder")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    ours = dagster_yaml(home)
    # An earlier version of ours (or ours for a data root since moved) is replaced.
    if not config.exists() or (
        config.read_text().startswith(WRITTEN_BY_US) and config.read_text() != ours
    ):
        config.write_text(ours)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


# --------------------------------------------------------------------------- generate


def _generator_sources() -> list[str]:
    from cx_assets.synthetic import sources

    return sources()


def cmd_generate(args: argparse.Namespace) -> int:
    from cx_assets.lakehouse.settings import Settings
    from cx_assets.synthetic import generator
    from cx_assets.synthetic.landing_writer import GenerationRequest

    settings = Settings.from_env()
    start = _parse_day(args.start, "--start")
    if args.days < 1:
        raise UsageError("--days must be at least 1")
    if (date.max - start).days < args.days - 1:
        raise UsageError(f"--start {start} with --days {args.days} runs past the year 9999")
    if not 0 < args.scale < float("inf"):  # also refuses nan
        raise UsageError("--scale must be a number greater than 0")
    known = _generator_sources()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else known
    unknown = sorted(set(sources) - set(known))
    if unknown:
        raise UsageError(f"unknown source {', '.join(unknown)}: choose from {', '.join(known)}")
    if not sources:
        raise UsageError(f"--sources names no source: choose from {', '.join(known)}")
    _require_room_for(settings.layout.landing_dir, sources, args.days, args.scale)
    request = GenerationRequest(
        landing_dir=settings.layout.landing_dir,
        start=start,
        days=args.days,
        scale=args.scale,
        seed=args.seed,
        # progress bars only on a terminal: redirected to a file they become noise
        show_progress=not args.quiet and sys.stderr.isatty(),
    )
    for source in sources:
        began = time.perf_counter()
        counts = generator(source)(request)
        written = ", ".join(f"{table} {n:,}" for table, n in counts.items())
        print(f"{source}: {written} ({time.perf_counter() - began:.1f} s)")
    print(f"landing files are in {settings.layout.landing_dir}")
    return 0


def _require_room_for(landing_dir: Path, sources: Sequence[str], days: int, scale: float) -> None:
    """Refuse, before writing anything, a request whose files cannot fit on the disk (a
    mistyped `--scale 1000` would otherwise fill it and stop half-way)."""
    from cx_assets.synthetic import megabytes

    needed = sum(megabytes(source, days=days, scale=scale) for source in sources) * 2**20
    existing = next(folder for folder in (landing_dir, *landing_dir.parents) if folder.exists())
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise UsageError(
            f"{days} {'day' if days == 1 else 'days'} at --scale {scale:g} are about "
            f"{_size(needed)} of landing files, "
            f"and the disk holding {landing_dir} has {_size(free)} free: lower --scale or --days"
        )


def _size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("not reached")


# --------------------------------------------------------------------------- run


@dataclass
class CheckTally:
    """What one run did: its check results, and the assets it wrote (a failed or
    interrupted run writes some of them, or none)."""

    passed: int = 0
    warned: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    written: set = field(default_factory=set)

    def add(self, evaluation) -> None:
        from dagster import AssetCheckSeverity

        if evaluation.passed:
            self.passed += 1
            return
        label = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        detail = f" ({evaluation.description})" if evaluation.description else ""
        if evaluation.severity == AssetCheckSeverity.WARN:
            self.warned += 1
            self.problems.append(f"WARN  {label}{detail}")
        else:
            self.failed += 1
            self.problems.append(f"ERROR {label}{detail}")


def _run_logger_config(verbose: bool) -> dict:
    # Step events are DEBUG; failures are summarised in one line each unless --verbose.
    level = "DEBUG" if verbose else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def _ensure_data_root(data_dir: Path) -> None:
    """A data root that does not exist yet is one where nothing has landed: the run
    writes every table empty (contract: any input size, zero included). It is said on
    stderr, as a CX_DATA_DIR pointing somewhere unintended would look the same."""
    if data_dir.is_dir():
        return
    try:
        data_dir.mkdir(parents=True)
    except OSError as error:
        raise UsageError(f"data root {data_dir} cannot be created: {error.strerror}") from None
    print(
        f"note: data root {data_dir} did not exist and was created; nothing has landed in it "
        "(`cx-lakehouse generate` writes synthetic files, or point CX_DATA_DIR at your data)",
        file=sys.stderr,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from cx_assets.lakehouse.settings import Settings

    _START_UP_COLLECTION.pause()
    settings = Settings.from_env()
    data_dir = settings.data_dir
    first = _parse_day(args.date, "--date")
    last = _parse_day(args.to, "--to") if args.to else first
    if last < first:
        raise UsageError(f"--to {last} is before --date {first}")

    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance

    from cx_assets.lakehouse import run_lock
    from cx_assets.lakehouse.partitions import partition_keys_in_range
    from cx_assets.lakehouse.resources import build_resources
    from cx_assets.lakehouse.warehouse import WarehouseDamagedError, WarehouseLockedError

    try:
        keys = partition_keys_in_range(first, last)
    except ValueError as error:
        raise UsageError(str(error)) from None
    plan = RunPlan.resolve(args.select)
    _ensure_data_root(data_dir)

    prepare_dagster_home(data_dir)
    resources = build_resources(data_dir)
    _START_UP_COLLECTION.freeze_and_resume()
    began = time.perf_counter()
    # Held for the whole command: the run and the summary (the warehouse file is ours).
    try:
        with run_lock.data_root_lock(
            data_dir,
            owner="cx-lakehouse run",
            wait_seconds=settings.run_wait_seconds,
            on_release=resources["warehouse"].close,
        ):
            # Opened under the lock: two first runs on a new data root would otherwise race
            # to create the instance's storage.
            with DagsterInstance.get() as instance:
                run_lock.release_dead_runs(instance)
                plan.require_built_upstreams(resources["warehouse"])
                tally = CheckTally()
                succeeded = plan.materialize(instance, keys, tally, verbose=args.verbose)
            print_summary(
                resources, plan.selected | plan.rollups, plan.partitioned, first, last, tally
            )
            print_quarantined(settings.layout.quarantine_dir, plan.partitioned, first, last)
    except (run_lock.RunLockTimeout, WarehouseLockedError) as error:
        raise BusyError(str(error)) from None
    except WarehouseDamagedError as error:
        raise DamagedError(str(error)) from None
    print(f"took {time.perf_counter() - began:.1f} s; gold Parquet: {settings.layout.gold_dir}")
    ok = succeeded and tally.failed == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


@dataclass
class RunPlan:
    """What `run` materializes: the selected date-grained assets for the days, then the
    whole-history rollups that depend on them (or were selected)."""

    domains: tuple[str, ...]
    defs: object
    graph: object
    selected: set
    partitioned: set
    rollups: set

    @classmethod
    def resolve(cls, select: str | None) -> RunPlan:
        """The plan over the definitions of the domains `select` can reach (all of them
        unless it names only groups): `group:calls` never imports the CRM's modules."""
        from dagster import AssetSelection, DagsterError

        from cx_assets.domains import domains_definitions, domains_for_selection

        domains = tuple(domains_for_selection(select))
        defs = domains_definitions(domains)
        graph = defs.resolve_asset_graph()
        try:
            selection = AssetSelection.from_string(select) if select else AssetSelection.all()
            selected = selection.resolve(graph)
        except (DagsterError, ValueError, KeyError) as error:
            raise UsageError(f"--select {select!r}: {error}".splitlines()[0]) from None
        if not selected:
            raise UsageError(f"--select {select!r} matches no asset")
        partitioned = {key for key in selected if graph.get(key).is_partitioned}
        downstream = (
            AssetSelection.assets(*partitioned).downstream().resolve(graph)
            if partitioned
            else set()
        )
        rollups = {key for key in (selected | downstream) if not graph.get(key).is_partitioned}
        return cls(domains, defs, graph, selected, partitioned, rollups)

    def require_built_upstreams(self, warehouse) -> None:
        """Refuse, in one line, a selection that reads a table never built."""
        from cx_assets.lakehouse.warehouse import table_exists

        planned = self.partitioned | self.rollups
        needed = {
            parent
            for key in planned
            for parent in self.graph.get(key).parent_keys
            if parent not in planned
        }
        with warehouse.connect() as con:
            missing = sorted(
                key.to_user_string() for key in needed if not table_exists(con, *key.path)
            )
        if missing:
            raise UsageError(
                f"--select needs {', '.join(missing)}, never built: include it (e.g. "
                f"--select '+{missing[0]}') or run it first"
            )

    def materialize(self, instance, keys, tally: CheckTally, *, verbose: bool) -> bool:
        """One run of the definitions' own jobs (so the UI shows it by name, with its
        partition or range, and can re-execute it): `daily_partitions` with the days and
        the rollups downstream, or `whole_history` when only rollups are selected."""
        from dagster import build_reconstructable_job, execute_job

        from cx_assets.domains import DAILY_JOB, WHOLE_HISTORY_JOB
        from cx_assets.lakehouse.run_lock import owner_tags

        if self.partitioned:
            job_name = DAILY_JOB
            run_tags = (
                {"dagster/partition": keys[0]}
                if len(keys) == 1
                else {
                    "dagster/asset_partition_range_start": keys[0],
                    "dagster/asset_partition_range_end": keys[-1],
                }
            )
            label = f"{len(self.partitioned)} date-grained assets, {keys[0]}..{keys[-1]}"
            if self.rollups:
                label += f", then {len(self.rollups)} whole-history rollups"
        else:
            job_name, run_tags = WHOLE_HISTORY_JOB, {}
            label = f"{len(self.rollups)} whole-history rollups"
        print(f"materializing {label} ...", flush=True)
        # `execute_job` rather than `execute_in_process`, which would replace the job's
        # executor (steps in threads) with Dagster's one-step-at-a-time one.
        job = build_reconstructable_job(
            "cx_assets.domains", "domains_job", reconstructable_args=(self.domains, job_name)
        )
        result = execute_job(
            job,
            instance=instance,
            asset_selection=sorted(self.partitioned | self.rollups),
            # Owned by this process from the start, so a kill at any point is recognised.
            tags={**run_tags, "cx/trigger": "cli", **owner_tags()},
            run_config=_run_logger_config(verbose),
            raise_on_error=False,
        )
        for evaluation in result.get_asset_check_evaluations():
            tally.add(evaluation)
        tally.written.update(event.asset_key for event in result.get_asset_materialization_events())
        if not result.success:
            print(f"run {result.run_id} failed:")
            for line in failure_lines(result):
                print(f"  {line}")
            return False
        return True


def failure_lines(result) -> list[str]:
    """One line per failed step: the step and the innermost error's first line (the whole
    trace is in the UI and with --verbose). The run's own failure is said only when no step
    failed (an interruption, an error before any step), as it repeats the step's error."""
    lines, run_lines = [], []
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if not (event.is_step_failure or (event.is_run_failure and error is not None)):
            continue
        while error is not None and error.cause is not None:
            error = error.cause
        said = lines if event.is_step_failure else run_lines
        where = event.step_key or "run"
        if error is not None and error.cls_name == "DagsterExecutionInterruptedError":
            said.append(f"{where}: interrupted (Ctrl-C or a stop signal) before it finished")
            continue
        message = (error.message if error else "unknown error").strip().splitlines()
        first = message[0] if message else ""
        # Dagster's message of a Python error starts with its class already.
        cls_name = error.cls_name if error else ""
        if cls_name and not first.startswith(f"{cls_name}:"):
            first = f"{cls_name}: {first}"
        said.append(f"{where}: {first}")
    return lines or run_lines or ["see the Dagster UI for the run's events"]


def print_summary(
    resources, keys, partitioned: set, first: date, last: date, tally: CheckTally
) -> None:
    """Rows per gold table: of the run's days for a per-day table, all of it for a
    whole-history one (whose days, like a forecast's, may lie outside the run's). A table
    the run did not write (it failed or was interrupted first) says so: its rows, if any,
    are an earlier run's."""
    from cx_assets.lakehouse.partitions import dates_between
    from cx_assets.lakehouse.warehouse import count_rows, table_exists

    gold = sorted(key for key in keys if key.path[0] == "gold")
    days = dates_between(first, last)
    if gold:
        print("gold rows:")
        with resources["warehouse"].connect() as con:
            for key in gold:
                table = key.path[-1]
                if not table_exists(con, "gold", table):
                    print(f"  {table:<34} (never written)")
                    continue
                rows = count_rows(con, "gold", table, days if key in partitioned else None)
                earlier = (
                    "" if key in tally.written else "  (not written by this run: an earlier run's)"
                )
                print(f"  {table:<34} {rows:>10,}{earlier}")
    print(f"checks: {tally.passed} passed, {tally.warned} warned, {tally.failed} failed")
    for problem in tally.problems:
        print(f"  {problem}")


def print_quarantined(quarantine_dir: Path, partitioned: set, first: date, last: date) -> None:
    """Records of the run's days quarantined, by landed table, with the first one's file,
    line and reason: where to look, without any record's content."""
    import pyarrow.parquet as pq

    from cx_assets.lakehouse import parquet
    from cx_assets.lakehouse.partitions import dates_between

    found = []
    for table in sorted(key.path[-1] for key in partitioned if key.path[0] == "bronze"):
        folders = [
            folder
            for day in dates_between(first, last)
            if (folder := parquet.partition_folder(quarantine_dir / table, day)).is_dir()
        ]
        # A clean day has a quarantine folder too, with an empty file.
        counts = [(folder, parquet.row_count(folder)) for folder in folders]
        count = sum(rows for _, rows in counts)
        if count:
            first_folder = next(folder for folder, rows in counts if rows)
            rows = pq.read_table(first_folder, columns=["source_file", "line_number", "reason"])
            in_order = rows.sort_by([("source_file", "ascending"), ("line_number", "ascending")])
            first_row = in_order.slice(0, 1).to_pylist()[0]
            place = f"{first_row['source_file']}:{first_row['line_number']}"
            found.append((table, count, f"{place}: {first_row['reason'][:200]}"))
    if found:
        total = sum(count for _, count, _ in found)
        records = "record" if total == 1 else "records"
        print(f"quarantined: {total:,} {records} of these days, in {quarantine_dir}/", end="")
        print(" (first of each):")
        for table, count, first_one in found:
            print(f"  {table:<34} {count:>10,}  {first_one}")


# --------------------------------------------------------------------------- ui


def ui_command(port: int) -> list[str]:
    """`dagster dev` runs the webserver *and* the daemon, so sensors, the schedule and
    automation really run; it listens on loopback only (there is no login)."""
    return [
        sys.executable, "-m", "dagster", "dev",
        "-m", "cx_assets.definitions",
        "--host", "127.0.0.1",
        "--port", str(port),
        # what helps a user: warnings and errors, not every DEBUG line of every process
        "--log-level", "warning",
        "--code-server-log-level", "warning",
    ]  # fmt: skip


def require_free_port(port: int) -> None:
    """A port already in use is a mistake the user fixes with --port, said before starting
    anything: `dagster dev` started its daemon and went on when its web server could not
    bind the port (the command then ran, without a UI, until stopped), and Streamlit's own
    refusal names no way out."""
    import socket

    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a TCP port (1-65535)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves bind: a port a closed server left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise UsageError(
                f"port {port} on 127.0.0.1 is in use ({error.strerror or error}): stop what "
                "holds it, or choose another with --port"
            ) from None


def cmd_ui(args: argparse.Namespace) -> int:
    from cx_assets.lakehouse.settings import Settings

    require_free_port(args.port)
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    home = prepare_dagster_home(settings.data_dir)
    command = ui_command(args.port)
    print(f"Dagster UI with its daemon on http://127.0.0.1:{args.port} (DAGSTER_HOME={home})")
    # Dagster's beta/preview notices about our own declarations help no user of the UI.
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    os.execvp(command[0], command)
    return 0  # not reached


def cmd_dashboard(args: argparse.Namespace) -> int:
    """The command centre (Streamlit) on loopback, reading gold Parquet only: it never opens
    warehouse.duckdb, so it can stay open while runs write."""
    from cx_assets.command_centre.server import streamlit_command
    from cx_assets.lakehouse.settings import Settings

    require_free_port(args.port)
    settings = Settings.from_env()
    os.environ["CX_DATA_DIR"] = str(settings.data_dir)  # absolute, for the app's process
    command = streamlit_command(args.port)
    print(f"CX command centre on http://127.0.0.1:{args.port} (data root {settings.data_dir})")
    os.execvp(command[0], command)
    return 0  # not reached


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cx-lakehouse", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write synthetic landing files")
    generate.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    generate.add_argument("--days", type=int, required=True, help="number of days")
    generate.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="volume per day; 1.0 (the default) = the contract's volumes, about 300 MB a day "
        "for crm; 0.05 makes a quick demo",
    )
    generate.add_argument(
        "--seed", type=int, default=42, help="the same seed writes the same files (default 42)"
    )
    generate.add_argument(
        "--sources", help=f"comma-separated subset of {','.join(_generator_sources())}"
    )
    generate.add_argument("--quiet", action="store_true", help="no progress bars")
    generate.set_defaults(handler=cmd_generate)

    run = commands.add_parser("run", help="materialize partitions, rollups and checks")
    run.add_argument("--date", required=True, help="first day, YYYY-MM-DD")
    run.add_argument("--to", help="last day (inclusive), YYYY-MM-DD")
    run.add_argument("--select", help="Dagster asset selection, e.g. 'group:crm' or 'key:gold/*'")
    run.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    run.set_defaults(handler=cmd_run)

    ui = commands.add_parser("ui", help="start the Dagster UI and daemon on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (default 3000)")
    ui.set_defaults(handler=cmd_ui)

    dashboard = commands.add_parser("dashboard", help="the command centre on 127.0.0.1")
    dashboard.add_argument("--port", type=int, default=8501)
    dashboard.set_defaults(handler=cmd_dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, SettingsError) as error:
        print(f"cx-lakehouse: {error}", file=sys.stderr)
        return 2
    except (BusyError, DamagedError) as error:  # held by another process, or damaged
        print(f"cx-lakehouse: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C outside a run's steps (start-up, the run's creation, the summary): Dagster
        # turns one during the steps into a failed run, summarised above. Nothing is left
        # half-done: the lock is released on the way out, landing files are written under
        # in-flight names, and the next run marks a run it finds unfinished as failed.
        print("cx-lakehouse: interrupted; run the command again to finish it", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        said = not_writable(error) or disk_full(error)
        if said is None:
            raise  # a defect: its traceback is what helps
        print(f"cx-lakehouse: {said}", file=sys.stderr)
        return 1


# The shell's convention for a command ended by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130

# Free space under which an error met while writing is taken for the disk being full:
# SQLite and DuckDB report a full disk as "disk I/O error" or "IO Error" without the
# operating system's reason, and each writes in pages and blocks of a few hundred KB.
FULL_DISK_BYTES = 16 * 2**20


def disk_full(error: BaseException) -> str | None:
    """What to tell the user when `error` came of the data root's disk being full, else
    None. A full disk is found as the operating system's "no space left" anywhere in the
    error's chain, or as any error while the disk holding the data root has less than
    `FULL_DISK_BYTES` free. The next run marks a run it interrupted as failed and writes
    its days again, so freeing space is all there is to do."""
    reason = next((cause for cause in _chain(error) if _says_no_space(cause)), None)
    try:
        from cx_assets.lakehouse.settings import Settings

        data_dir = Settings.from_env().data_dir
        free = shutil.disk_usage(data_dir).free
    except (SettingsError, OSError):
        data_dir, free = None, None
    if reason is None and (free is None or free >= FULL_DISK_BYTES):
        return None
    where = f"the disk holding {data_dir}" if data_dir is not None else "the disk"
    left = f" ({free / 2**20:.1f} MB free)" if free is not None else ""
    said = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"{where} is full{left}, so the command stopped: {said}. Free some space and run "
        "it again: the next run marks an interrupted one failed and writes its days again."
    )


def not_writable(error: BaseException) -> str | None:
    """What to tell the user when `error` came of a file the command may not write (a
    read-only disk, permissions), else None."""
    denied = next(
        (
            cause
            for cause in _chain(error)
            if isinstance(cause, OSError)
            and cause.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
            and cause.filename is not None  # a file's, not a signal's or a socket's
        ),
        None,
    )
    if denied is None:
        return None
    return (
        f"cannot write {denied.filename}: {denied.strerror or denied}. The data root "
        "(CX_DATA_DIR) must be a folder this user can write to, on a disk mounted for writing."
    )


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _says_no_space(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return "no space left on device" in text or "database or disk is full" in text


class _ClosedPipeTolerant:
    """A standard stream that stops writing, quietly, once its reader has gone
    (`cx-lakehouse run ... | head`): the run goes on to its end and its exit code, instead
    of a BrokenPipeError traceback cutting it short."""

    def __init__(self, stream) -> None:
        self._stream, self._closed = stream, False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed = True
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed = True

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class StartUpCollection:
    """Keeps Python's cyclic garbage collector off the objects a run's start-up leaves.

    Importing Dagster, pandas and DuckDB and building the definitions leaves about 300,000
    objects that live as long as the process; none is garbage. Left to its defaults, the
    collector scans all of them in every full collection, each longer as the heap grows:
    5-7 of them, 0.45-0.85 s of a one-day run (a sixth of a calls day). So the command's
    own process pauses collection during start-up, then freezes what start-up left
    (`gc.freeze`: never scanned again) and collects the run's own objects, less often
    than by default: a young generation of 10,000 objects instead of 700 (a few MB).
    Memory is unchanged (a 14-day CRM range peaks as before; docs/benchmarks.md).

    Only `run_program` arms it: a process that calls `main` (the tests) keeps its collector
    as it is, since freezing would keep that process's garbage of the moment for good."""

    YOUNG_GENERATION = 10_000

    def __init__(self) -> None:
        self.armed = False
        self._paused = False

    def pause(self) -> None:
        if self.armed and gc.isenabled():
            gc.disable()
            self._paused = True

    def freeze_and_resume(self) -> None:
        if self._paused:
            gc.freeze()
            _, *older = gc.get_threshold()
            gc.set_threshold(self.YOUNG_GENERATION, *older)
            gc.enable()
            self._paused = False


_START_UP_COLLECTION = StartUpCollection()


def run_program() -> None:
    """The `cx-lakehouse` command: `main`, then out without Python's teardown.

    Tearing the interpreter down after Dagster, pandas and DuckDB were imported takes
    0.4-1 s (module by module, object by object): a fifth of a small day's run, and none of
    it work the command needs. By now every run has ended, the warehouse handle and the
    Dagster instance are closed, and the output is written; only the standard streams and
    log handlers still hold anything, and they are flushed. Tests call `main` instead."""
    sys.stdout = _ClosedPipeTolerant(sys.stdout)
    _START_UP_COLLECTION.armed = True
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run_program()
