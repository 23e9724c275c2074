"""`cx-lakehouse run`: one Dagster run of the selected days and the rollups downstream, then a
summary of what it wrote, checked and quarantined."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cx_assets.cli import process
from cx_assets.cli.failures import INTERRUPTED, BusyError, DamagedError
from cx_assets.cli.home import dagster_home_path, prepare_dagster_home
from cx_assets.cli.options import UsageError, parse_day

# The reason of a record quarantined because a later day, run first, kept its key
# (`parsing._kept_later_reason_sql`).
KEPT_ON_A_LATER_DAY = r"^duplicate .* \(already kept on (?P<day>\d{4}-\d{2}-\d{2})\)$"


@dataclass
class RunTally:
    """What one run did: its check results, and the assets it wrote (a failed or
    interrupted run writes some of them, or none)."""

    passed: int = 0
    warned: int = 0
    failed: int = 0
    # A failed check's line start (severity, table and check) -> its days' descriptions.
    problems: dict[str, list[tuple[str | None, str | None]]] = field(default_factory=dict)
    written: set = field(default_factory=set)
    # Landed files its bronze steps did not read, or no step looks at: (file, why). A set:
    # each day of a range run's bronze materializations carries the step's whole list.
    ignored: set[tuple[str, str]] = field(default_factory=set)
    interrupted: bool = False  # by Ctrl-C or a stop signal, during its steps

    def add(self, evaluation) -> None:
        from dagster import AssetCheckSeverity

        if evaluation.passed:
            self.passed += 1
            return
        label = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.severity == AssetCheckSeverity.WARN:
            self.warned += 1
            label = f"WARN  {label}"
        else:
            self.failed += 1
            label = f"ERROR {label}"
        day = getattr(evaluation, "partition", None)
        self.problems.setdefault(label, []).append((day, evaluation.description))

    def problem_lines(self) -> list[str]:
        """Errors first, then warnings, each by table and check: the same order every run
        (steps run two at a time, so evaluations come in either order). A check that failed
        on several days of a range is one line: its first day's description, and how many
        more days failed it (a 30-day range of a source that never landed gave 300 lines)."""
        lines = []
        for label, failures in sorted(self.problems.items()):
            failures = sorted(failures, key=lambda failure: (str(failure[0]), str(failure[1])))
            description = failures[0][1]
            detail = f" ({description})" if description else ""
            if len(failures) > 1:
                days = sorted({str(failed_day) for failed_day, _ in failures if failed_day})
                more = len(failures) - 1
                span = f", {days[0]} to {days[-1]}" if len(days) > 1 else ""
                detail += f" and {more} more day{'s' if more > 1 else ''}{span}"
            lines.append(f"{label}{detail}")
        return lines


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

    process.START_UP_COLLECTION.pause()
    settings = Settings.from_env()
    data_dir = settings.data_dir
    first = parse_day(args.date, "--date")
    last = parse_day(args.to, "--to") if args.to else first
    if last < first:
        raise UsageError(f"--to {last} is before --date {first}")

    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance

    from cx_assets.lakehouse import run_lock
    from cx_assets.lakehouse.io_managers import LAYER_STORAGE
    from cx_assets.lakehouse.partitions import partition_keys_in_range
    from cx_assets.lakehouse.resources import build_resources
    from cx_assets.lakehouse.warehouse import WarehouseDamagedError, WarehouseLockedError

    try:
        keys = partition_keys_in_range(first, last)
    except ValueError as error:
        raise UsageError(str(error)) from None
    plan = RunPlan.resolve(args.select)
    dagster_home_path(data_dir)  # a home Dagster cannot use is refused before anything is made
    _ensure_data_root(data_dir)

    prepare_dagster_home(data_dir)
    resources = build_resources(data_dir)
    process.START_UP_COLLECTION.freeze_and_resume()
    began = time.perf_counter()
    began_at = time.time()  # files this run writes are newer
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
                for table in resources[LAYER_STORAGE["gold"]].republish_left_behind():
                    print(f"note: gold/{table}'s Parquet published again from the warehouse "
                          "(an earlier run stopped between the two)")  # fmt: skip
                plan.require_built_upstreams(resources["warehouse"])
                plan.require_built_days(instance, keys)
                # Only when later days were built: the rows they read, as they were.
                read_ahead = (
                    plan.read_ahead_rows(resources["warehouse"], keys)
                    if plan.later_days(instance, keys)
                    else {}
                )
                tally = RunTally()
                succeeded = plan.materialize(instance, keys, tally, verbose=args.verbose)
                tally.ignored.update(plan.misplaced_landing(settings.layout.landing_dir))
                print_summary(
                    resources,
                    instance,
                    plan.selected | plan.rollups,
                    plan.partitioned,
                    (first, last),
                    tally,
                )
                later = (
                    plan.later_days(
                        instance,
                        keys,
                        unchanged=plan.unchanged(resources["warehouse"], keys, read_ahead),
                    )
                    if succeeded
                    else []
                )
            print_quarantined(
                settings.layout.quarantine_dir, plan.partitioned, first, last, since=began_at
            )
            print_later_days(later, keys[0])
            if succeeded:
                print_kept_on_later_days(
                    plan.kept_on_later_days(settings.layout.quarantine_dir, first, last), keys[0]
                )
    except (run_lock.RunLockTimeout, WarehouseLockedError) as error:
        raise BusyError(str(error)) from None
    except WarehouseDamagedError as error:
        raise DamagedError(str(error)) from None
    print(f"took {time.perf_counter() - began:.1f} s; gold Parquet: {settings.layout.gold_dir}")
    ok = succeeded and tally.failed == 0
    print("OK" if ok else "FAILED")
    if tally.interrupted:
        return INTERRUPTED  # as for Ctrl-C anywhere else: the shell's convention
    return 0 if ok else 1


def print_later_days(stale: list, first_day: str) -> None:
    """Name the later days an earlier run built from what this run has just rebuilt (see
    `lakehouse/staleness.py`), with the command that brings them up to date: those days
    again with this run's, as one range. This run builds only its own days, as asked."""
    for later in stale:
        span = later.days[0] if len(later.days) == 1 else f"{later.days[0]} to {later.days[-1]}"
        count = f"{len(later.days)} day{'s' if len(later.days) > 1 else ''}"
        print(
            f"later days out of date: {later.group}, {count} from {span}: "
            f"{', '.join(later.tables)} read these days, and an earlier run built them. "
            f"Bring them up to date with:\n  {later.command(first_day)}"
        )


def print_kept_on_later_days(kept: list, first_day: str) -> None:
    """Name the later days that kept a record this run's days delivered first (a day landed
    late, run after them): its copy here was quarantined as `already kept on` that day. Run
    together, the days give each record to its first delivery."""
    for later in kept:
        span = later.days[0] if len(later.days) == 1 else f"{later.days[0]} to {later.days[-1]}"
        print(
            f"kept on later days: {later.group}, {', '.join(later.tables)} kept records of "
            f"these days on {span} (run before them), and quarantined this run's copies as "
            f"already kept there. Give each record to its first delivery with:\n"
            f"  {later.command(first_day)}"
        )


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

    def later_days(self, instance, days: list[str], unchanged=()) -> list:
        """The later days, by domain, built before this run from days it rebuilt, leaving
        out what `unchanged` tables were read for."""
        from cx_assets.lakehouse.staleness import later_days_built_before

        return later_days_built_before(
            self.graph, instance.get_materialized_partitions, self.partitioned, days, unchanged
        )

    def read_ahead_rows(self, warehouse, days: list[str]) -> dict:
        """A fingerprint of the rows of `days` of every table this run rebuilds that later
        days read (None: no such table yet)."""
        from cx_assets.lakehouse.staleness import read_ahead_parents
        from cx_assets.lakehouse.warehouse import day_rows_fingerprint

        with warehouse.connect() as con:
            return {
                key: day_rows_fingerprint(con, *key.path, days)
                for key in sorted(read_ahead_parents(self.graph, self.partitioned))
            }

    def unchanged(self, warehouse, days: list[str], before: dict) -> set:
        """Of the tables `before` fingerprinted, those whose rows of `days` the run left as
        they were: the same day run again on the same files."""
        if not before:
            return set()
        after = self.read_ahead_rows(warehouse, days)
        return {key for key, rows in before.items() if rows is not None and after.get(key) == rows}

    def kept_on_later_days(self, quarantine_dir: Path, first: date, last: date) -> list:
        """Per group, the later days named by this run's quarantined records as `already
        kept on` them (a key unique across days, delivered first on a day run later)."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from cx_assets.lakehouse import parquet
        from cx_assets.lakehouse.partitions import dates_between
        from cx_assets.lakehouse.staleness import LaterDays

        found: dict[str, tuple[set[str], set[str]]] = {}
        for key in sorted(k for k in self.partitioned if k.path[0] == "bronze"):
            table = key.path[-1]
            days: set[str] = set()
            for day in dates_between(first, last):
                folder = parquet.partition_folder(quarantine_dir / table, day)
                if not folder.is_dir() or not parquet.row_count(folder):
                    continue
                reasons = pq.read_table(folder, columns=["reason"]).column("reason")
                kept = pc.extract_regex(reasons, KEPT_ON_A_LATER_DAY).drop_null()
                days.update(pc.struct_field(kept, "day").to_pylist())
            if days:
                readers = sorted(
                    child.to_user_string()
                    for child in self.graph.get(key).child_keys
                    if child.path[0] == "silver"
                )
                group = self.graph.get(key).group_name or "default"
                found.setdefault(group, (set(), set()))[0].update(days)
                found[group][1].update(readers)
        return [
            LaterDays(group, tuple(sorted(days)), tuple(sorted(tables)))
            for group, (days, tables) in sorted(found.items())
        ]

    def misplaced_landing(self, landing_dir) -> list[tuple[str, str]]:
        """What lies in the landing folders of the run's sources where no bronze step reads
        it (a misspelled table, a date folder not named YYYY-MM-DD, a file outside a date
        folder): the run says so, or those files would be lost without a word."""
        from cx_assets.lakehouse.assets import landed_table
        from cx_assets.lakehouse.landing import misplaced

        landed = {
            key: found
            for key in self.graph.get_all_asset_keys()
            if (found := landed_table(self.defs.resolve_assets_def(key)))
        }
        # The sources the run reads, each with all its tables (one table selected alone is
        # no reason to call its siblings' folders misplaced).
        sources = sorted({landed[key][0] for key in self.partitioned if key in landed})
        return [
            found
            for source in sources
            for found in misplaced(
                landing_dir, source, sorted(table for s, table in landed.values() if s == source)
            )
        ]

    def require_built_upstreams(self, warehouse) -> None:
        """Refuse, in one line, a selection that reads a table never built. The hint selects
        every ancestor (`*`): a table never built usually has parents never built either, so
        `+` (its parents only) failed again, a level up."""
        from cx_assets.lakehouse.warehouse import table_exists

        planned = self.partitioned | self.rollups
        readers = {}  # a table read from outside the plan → the first planned asset reading it
        for key in sorted(planned):
            for parent in self.graph.get(key).parent_keys:
                if parent not in planned:
                    readers.setdefault(parent, key)
        with warehouse.connect() as con:
            missing = sorted(key for key in readers if not table_exists(con, *key.path))
        if missing:
            names = ", ".join(key.to_user_string() for key in missing)
            raise UsageError(
                f"--select reads {names}, never built: include {'it' if len(missing) == 1 else 'them'} "
                f"(e.g. --select '*{readers[missing[0]].to_user_string()}') or run "
                f"{'it' if len(missing) == 1 else 'them'} first"
            )

    def require_built_days(self, instance, days: list[str]) -> None:
        """Refuse, in one line, a selection that reads a day of its own days from a table
        never built for that day (`--select key:gold/calls_kpis_daily` for a day whose
        calls were never run): it wrote that day's gold from no rows, zero calls, with
        every check passing, where the truth was "not loaded"."""
        from dagster import TimeWindowPartitionMapping

        planned = self.partitioned | self.rollups
        for key in sorted(self.partitioned):
            for parent in sorted(self.graph.get(key).parent_keys):
                if parent in planned or not self.graph.get(parent).is_partitioned:
                    continue
                mapping = self.graph.get_partition_mapping(key, parent)
                same_day = (
                    isinstance(mapping, TimeWindowPartitionMapping)
                    and mapping.start_offset == 0
                    and mapping.end_offset == 0
                )
                if not same_day:
                    continue  # all days, or days before: whatever has been built
                unbuilt = sorted(set(days) - instance.get_materialized_partitions(parent))
                if unbuilt:
                    more = len(unbuilt) - 1
                    also = f" (and {more} more day{'s' if more > 1 else ''})" if more else ""
                    raise UsageError(
                        f"--select reads {parent.to_user_string()} of {unbuilt[0]}{also}, "
                        f"never built for it: include it (e.g. --select "
                        f"'*{key.to_user_string()}') or run that day first"
                    )

    def materialize(self, instance, keys, tally: RunTally, *, verbose: bool) -> bool:
        """One run of the definitions' own jobs (so the UI shows it by name, with its
        partition or range, and can re-execute it): `daily_partitions` with the days and
        the rollups downstream, or `whole_history` when only rollups are selected."""
        from dagster import build_reconstructable_job, execute_job

        from cx_assets.domains import DAILY_JOB, WHOLE_HISTORY_JOB
        from cx_assets.lakehouse.assets import IGNORED_FILES
        from cx_assets.lakehouse.partitions import run_tags_for_days
        from cx_assets.lakehouse.run_lock import owner_tags

        if self.partitioned:
            job_name = DAILY_JOB
            run_tags = run_tags_for_days(keys[0], keys[-1])
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
        for event in result.get_asset_materialization_events():
            tally.written.add(event.asset_key)
            ignored = event.materialization.metadata.get(IGNORED_FILES)
            tally.ignored.update(tuple(pair) for pair in (ignored.value if ignored else []))
        if not result.success:
            print(f"run {result.run_id} failed:")
            for line in failure_lines(result):
                print(f"  {line}")
            tally.interrupted = any(_interruption(event) for event in result.all_events)
            return False
        return True


def failure_lines(result) -> list[str]:
    """One line per failed step: the step and the innermost error's first line (the whole
    trace is in the UI and with --verbose). The run's own failure is said only when no step
    failed (an interruption, an error before any step), as it repeats the step's error."""
    lines, run_lines = [], []
    for event in result.all_events:
        error = _innermost_error(event)
        if not (event.is_step_failure or (event.is_run_failure and error is not None)):
            continue
        said = lines if event.is_step_failure else run_lines
        where = event.step_key or "run"
        if _interruption(event):
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


def _innermost_error(event):
    """The error an event carries, its causes followed to the first one; None without."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def _interruption(event) -> bool:
    """Whether `event` is the run's failure of an interruption (Ctrl-C, a stop signal)."""
    error = _innermost_error(event)
    return error is not None and error.cls_name == "DagsterExecutionInterruptedError"


def print_summary(
    resources, instance, keys, partitioned: set, days: tuple[date, date], tally: RunTally
) -> None:
    """Rows per gold table: of the run's days for a per-day table, all of it for a
    whole-history one (whose days, like a forecast's, may lie outside the run's). A table
    the run did not write (it failed or was interrupted first) says so, and whose rows it
    holds: this run's, where its step wrote the warehouse and then failed writing the
    Parquet (the next run publishes them); an earlier run's; or rows a failed step left
    that no run ever materialized."""
    from cx_assets.lakehouse.io_managers import LAYER_STORAGE
    from cx_assets.lakehouse.partitions import dates_between
    from cx_assets.lakehouse.warehouse import count_rows, table_exists

    gold = sorted(key for key in keys if key.path[0] == "gold")
    days = dates_between(*days)
    if gold:
        print("gold rows:")
        with resources["warehouse"].connect() as con:
            for key in gold:
                table = key.path[-1]
                if not table_exists(con, "gold", table):
                    print(f"  {table:<34} (never written)")
                    continue
                per_day = key in partitioned
                rows = count_rows(con, "gold", table, days if per_day else None)
                note = ""
                if key not in tally.written:
                    if resources[LAYER_STORAGE["gold"]].left_unpublished(table):
                        note = (
                            "  (not materialized: its step wrote the warehouse, then failed "
                            "before the Parquet; the next run publishes it)"
                        )
                    elif _materialized_before(instance, key, days if per_day else None):
                        note = "  (not written by this run: an earlier run's)"
                    else:
                        note = "  (not materialized: rows a failed step left in the warehouse)"
                print(f"  {table:<34} {rows:>10,}{note}")
    if tally.ignored:
        count = len(tally.ignored)
        shown = ", the first 5" if count > 5 else ""
        print(f"not read: {count} landed file{'s' if count > 1 else ''}{shown}:")
        for name, why in sorted(tally.ignored)[:5]:
            print(f"  {name}: {why}")
    print(f"checks: {tally.passed} passed, {tally.warned} warned, {tally.failed} failed")
    for problem in tally.problem_lines():
        print(f"  {problem}")


def _materialized_before(instance, key, days: list[date] | None) -> bool:
    """Whether a run materialized `key` (one of `days`, for a per-day table)."""
    if days is None:
        return instance.get_latest_materialization_event(key) is not None
    materialized = instance.get_materialized_partitions(key)
    return any(day.isoformat() in materialized for day in days)


def print_quarantined(
    quarantine_dir: Path, partitioned: set, first: date, last: date, *, since: float
) -> None:
    """Records of the run's days quarantined, by landed table, with the first one's file,
    line and reason: where to look, without any record's content. A table whose quarantine
    of these days was written before `since` (the run failed before its silver step) says
    the records are an earlier run's."""
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
            earlier = any(_written_before(folder, since) for folder, rows in counts if rows)
            said = f"{place}: {first_row['reason'][:200]}"
            found.append((table, count, f"{said}  (an earlier run's)" if earlier else said))
    if found:
        total = sum(count for _, count, _ in found)
        records = "record" if total == 1 else "records"
        print(f"quarantined: {total:,} {records} of these days, in {quarantine_dir}/", end="")
        print(" (first of each):")
        for table, count, first_one in found:
            print(f"  {table:<34} {count:>10,}  {first_one}")


def _written_before(folder: Path, since: float) -> bool:
    return any(path.stat().st_mtime < since for path in folder.glob("*.parquet"))
