"""What `cx-lakehouse run` builds (`RunPlan`): the selected date-grained assets for the days
and the whole-history rollups downstream, the refusals before a run (a table read from
outside the plan never built, days not yet built), the run itself, and what it finds after
(later days built from the days it rebuilt, records a later day kept first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cx_assets.cli import process, run_config
from cx_assets.cli.options import UsageError
from cx_assets.cli.run_report import RunTally, failure_lines


def _run_logger_config(verbose: bool) -> dict:
    # Step events are DEBUG; failures are summarised in one line each unless --verbose.
    level = "DEBUG" if verbose else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


_JOINED_EXAMPLE = "group:calls or group:digital"


def _matches_nothing(select: str, graph) -> UsageError:
    """A selection of no asset, with what there is to select: the groups, or how keys read."""
    if "group:" in select:
        groups = sorted({graph.get(key).group_name for key in graph.get_all_asset_keys()})
        known = f"the groups: {', '.join(groups)}"
    else:
        known = "keys read as layer/table, e.g. key:gold/crm_churn_risk"
    return UsageError(f"--select {select!r} matches no asset ({known})")


# A day's fingerprint when its table cannot be read (a damaged bronze file, of that day or
# another the view holds): unlike any rows', so once the file is written anew (by running
# its day again) the later days built from these are named.
UNREADABLE = [None, "unreadable"]


def _fingerprints(con, key, days: list[str]) -> dict | None:
    """`warehouse_tables.day_rows_fingerprints` of `key`'s `days`, each `UNREADABLE` when
    the table cannot be read: a run that mends it must not fail before it starts (a
    damaged bronze file of a day read ahead ended `cx-lakehouse run` in a traceback, that
    day's own run too)."""
    import duckdb

    from cx_assets.lakehouse.warehouse_tables import day_rows_fingerprints

    try:
        return day_rows_fingerprints(con, *key.path, days)
    except duckdb.Error as error:
        # A damaged file is said as an IOException, an InvalidInputException, or DuckDB's
        # base Error itself (a footer over the wrong bytes: "TProtocolException: Invalid
        # data"); a subclass of another kind (a query of ours, memory) is raised.
        damaged = (duckdb.IOException, duckdb.InvalidInputException)
        if type(error) is not duckdb.Error and not isinstance(error, damaged):
            raise
        return {day: list(UNREADABLE) for day in days}


def _latest_ids(instance):
    """The storage id of the latest materialization of each of some days of an asset: an
    order over every asset's writes (`staleness`)."""
    from dagster import DagsterEventType

    def latest_ids(key, days) -> dict:
        return instance.get_latest_storage_id_by_partition(
            key, DagsterEventType.ASSET_MATERIALIZATION, partitions=set(days)
        )

    return latest_ids


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
    select: str | None = None  # as the user gave it, for a run killed to be run again
    # `--config`'s run config (`run_config`): its steps' settings go to the run.
    config: dict = field(default_factory=dict)
    config_file: str | None = None  # `--config`'s file, absolute: the run's tag names it

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
            said = str(error).splitlines()[0]
            if "no AssetsDefinition objects supply these keys" in said:
                raise _matches_nothing(select, graph) from None  # Dagster's words name its API
            if said.startswith("Invalid selection string"):
                # `group:a,group:b` and `group:a group:b` are what people type first.
                said += f"; join selections with `or`: {_JOINED_EXAMPLE!r}"
            raise UsageError(f"--select {select!r}: {said}") from None
        if not selected:
            raise _matches_nothing(select, graph)
        partitioned = {key for key in selected if graph.get(key).is_partitioned}
        downstream = (
            AssetSelection.assets(*partitioned).downstream().resolve(graph)
            if partitioned
            else set()
        )
        rollups = {key for key in (selected | downstream) if not graph.get(key).is_partitioned}
        return cls(domains, defs, graph, selected, partitioned, rollups, select)

    def configure(self, path: str, config: dict) -> None:
        """Take `--config`'s run config, refused in one line (`run_config.check`) when it
        names a step or a setting the lakehouse does not have, or a band no day is inside.
        A step of a domain this plan does not define is looked for in every domain's."""
        from cx_assets.domain_names import domain_names
        from cx_assets.domains import DAILY_JOB, domains_definitions

        job = self.defs.resolve_job_def(DAILY_JOB)  # every step of the plan's domains
        if set(config["ops"]) - {node.name for node in job.graph.nodes}:
            job = domains_definitions(domain_names()).resolve_job_def(DAILY_JOB)
        run_config.check(path, config, job)
        self.config = config

    def reads_later_built_days(self, instance, days: list[str]) -> bool:
        """Whether an asset reading a table this run rebuilds for later days than its own
        has been built for a day after the first of `days` (only then is there anything to
        fingerprint)."""
        from cx_assets.lakehouse.staleness import read_ahead_parents, readers_ahead

        return any(
            day > days[0]
            for parent in read_ahead_parents(self.graph, self.partitioned)
            for reader, _ in readers_ahead(self.graph, parent)
            for day in instance.get_materialized_partitions(reader)
        )

    def earlier_days_not_built(
        self, instance, warehouse, landing_dir: Path, days: list[str], start: date
    ) -> list:
        """The days before the first of `days` that a planned table (a rollup too) read of a
        table never built for them, though their files landed
        (`staleness.earlier_days_not_built`): it read them as days with no rows."""
        from cx_assets.lakehouse.io_managers import days_never_built
        from cx_assets.lakehouse.landing import landed_days
        from cx_assets.lakehouse.staleness import earlier_days_not_built

        def never_built(key, read: list[str]) -> list[str]:
            found = days_never_built(
                instance, warehouse, key, [date.fromisoformat(day) for day in read]
            )
            return [day.isoformat() for day in found]

        landed: dict[str, set[str]] = {}

        def landed_of(group: str) -> set[str]:  # listed once a group
            if group not in landed:
                landed[group] = landed_days(landing_dir, group)
            return landed[group]

        planned = self.partitioned | self.rollups
        return earlier_days_not_built(
            self.graph, planned, days[0], start.isoformat(), landed_of, never_built
        )

    def read_ahead_rows(self, warehouse, days: list[str]) -> dict:
        """A fingerprint of each day of `days` of every table this run rebuilds that later
        days read, by `layer/table` (`cli.read_ahead.Fingerprints`; a table not built yet
        is left out)."""
        from cx_assets.lakehouse.staleness import read_ahead_parents

        with warehouse.connect() as con:
            found = {
                key.to_user_string(): _fingerprints(con, key, days)
                for key in sorted(read_ahead_parents(self.graph, self.partitioned))
            }
        return {table: prints for table, prints in found.items() if prints is not None}

    def of_this_plan(self, fingerprints: dict) -> tuple[dict, dict]:
        """`fingerprints` split: the tables of the domains this run defines, and the rest (a
        stopped run's of another domain, for a run that defines it to compare)."""
        from dagster import AssetKey

        ours = {
            t: p for t, p in fingerprints.items() if self.graph.has(AssetKey.from_user_string(t))
        }
        return ours, {t: p for t, p in fingerprints.items() if t not in ours}

    def later_days_after(self, instance, warehouse, before: dict) -> tuple[list, list[str]]:
        """The later days built from days whose rows differ from `before` (this plan's
        tables), and those days, sorted: a finished run's, a failed one's, or a killed one's
        whose fingerprints the journal kept."""
        from dagster import AssetKey

        from cx_assets.lakehouse.staleness import later_days_after_changes

        changed: dict = {}
        with warehouse.connect() as con:
            for table, prints in before.items():
                key = AssetKey.from_user_string(table)
                now = _fingerprints(con, key, sorted(prints)) or {}
                days = {day for day, rows in prints.items() if now.get(day) != rows}
                if days:
                    changed[key] = days

        later = later_days_after_changes(
            self.graph, instance.get_materialized_partitions, _latest_ids(instance), changed
        )
        return later, sorted({day for days in changed.values() for day in days})

    def readers_left_out(self, instance, days: list[str]):
        """The date-grained tables this plan leaves out that read, on `days`, tables it
        rebuilt, built before them (`staleness.readers_left_out`), or None."""
        from cx_assets.lakehouse.staleness import readers_left_out

        return readers_left_out(self.graph, self.partitioned, days, _latest_ids(instance))

    def landed_tables(self) -> list:
        """The bronze tables whose quarantine this run may write: those it reads again, and
        those its silver tables are typed from (`RECONCILES_WITH`: a silver table run alone
        quarantines its bronze's bad records as a whole run does; another bronze table it
        reads, as the CRM's interactions read the contacts, is typed by another step)."""
        from dagster import AssetKey

        from cx_assets.lakehouse.assets import RECONCILES_WITH, metadata_value

        keys = {key for key in self.partitioned if key.path[0] == "bronze"}
        for key in self.partitioned:
            typed_from = metadata_value(self.graph.get(key).metadata, RECONCILES_WITH)
            if typed_from:
                keys.add(AssetKey.from_user_string(typed_from))
        return sorted(keys)

    def kept_on_later_days(
        self, quarantine_dir: Path, first: date, last: date, *, since: float
    ) -> list:
        """Per group, the later days named by this run's quarantined records as `already
        kept on` them (a key unique across days, delivered first on a day run later). A day's
        quarantine written before `since` (the run's start) is an earlier run's: a run that
        failed before the day's silver step rewrote it has no copies of its own there."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from cx_assets.lakehouse import duplicates, parquet
        from cx_assets.lakehouse.partitions import dates_between
        from cx_assets.lakehouse.staleness import LaterDays

        found: dict[str, tuple[set[str], set[str]]] = {}
        for key in self.landed_tables():
            table = key.path[-1]
            days: set[str] = set()
            for day in dates_between(first, last):
                folder = parquet.partition_folder(quarantine_dir / table, day)
                if not folder.is_dir() or not parquet.row_count(folder):
                    continue
                if parquet.written_before(folder, since):
                    continue
                reasons = pq.read_table(folder, columns=["reason"]).column("reason")
                kept = pc.extract_regex(reasons, duplicates.KEPT_ON_A_LATER_DAY).drop_null()
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

    def landing_changed_since_read(
        self, landing_dir: Path, read_landing: dict, since: float
    ) -> list[tuple[str, str, list[str]]]:
        """(source, day, files) of the days whose landed files are not those the run's
        bronze steps read (`read_landing`, from their materializations): a file still being
        written when it was read, or changed or landed since. The files named are those
        changed since `since` (the run's start), else the date folder. A few stats a day."""
        from cx_assets.lakehouse.assets import LANDED_TABLE, metadata_value
        from cx_assets.lakehouse.landing import discover, shown
        from cx_assets.lakehouse.landing_state import fingerprint

        changed: dict[tuple[str, str], set[str]] = {}
        for key, days in read_landing.items():
            declared = metadata_value(self.graph.get(key).metadata, LANDED_TABLE)
            if not declared:
                continue
            source, table = declared.split("/")
            for day, recorded in days.items():
                try:
                    files = discover(landing_dir, source, table, date.fromisoformat(day), [])
                except OSError:  # a folder it may no longer read: said where it is read
                    continue
                if fingerprint(files) == recorded:
                    continue
                names = {shown(f.relative_path) for f in files if f.ctime_ns >= since * 1e9}
                folder = shown(f"{landing_dir.name}/{source}/{table}/{day}")
                changed.setdefault((source, day), set()).update(names or {folder})
        return [(source, day, sorted(names)) for (source, day), names in sorted(changed.items())]

    def misplaced_landing(self, landing_dir, first_day: date) -> list[tuple[str, str]]:
        """What lies in the landing folder, and in the folders of the run's sources, where no
        bronze step reads it (a folder of no source, a misspelled table, a date folder not
        named YYYY-MM-DD or before the first partition, `first_day`, a file outside a date
        folder): the run says so, or those files would be lost without a word."""
        from cx_assets.domains import domain_names
        from cx_assets.lakehouse.asset_factories import landed_table
        from cx_assets.lakehouse.landing import misplaced, misplaced_sources

        landed = {
            key: found
            for key in self.graph.get_all_asset_keys()
            if (found := landed_table(self.defs.resolve_assets_def(key)))
        }
        # The sources the run reads, each with all its tables (one table selected alone is
        # no reason to call its siblings' folders misplaced).
        sources = sorted({landed[key][0] for key in self.partitioned if key in landed})
        # A folder of no source at all is read by no run, whatever it selects: said by each.
        return misplaced_sources(landing_dir, domain_names()) + [
            found
            for source in sources
            for found in misplaced(
                landing_dir,
                source,
                sorted(table for s, table in landed.values() if s == source),
                first_day,
            )
        ]

    def require_built_upstreams(self, warehouse, layout) -> None:
        """Refuse, in one line, a selection that reads a table or model never built. The hint
        selects every ancestor (`*`): a table never built usually has parents never built
        either, so `+` (its parents only) failed again, a level up."""
        from cx_assets.lakehouse.io_managers import LAYER_STORAGE
        from cx_assets.lakehouse.model_store import has_stored_model
        from cx_assets.lakehouse.warehouse_tables import table_exists

        planned = self.partitioned | self.rollups
        readers = {}  # a table read from outside the plan → the first planned asset reading it
        for key in sorted(planned):
            for parent in self.graph.get(key).parent_keys:
                if parent not in planned:
                    readers.setdefault(parent, key)

        def built(con, key) -> bool:
            # Each asset is asked of its own storage: models are files, not warehouse tables.
            if self.graph.get(key).io_manager_key == LAYER_STORAGE["model"]:
                return has_stored_model(layout, key.path[-1])
            return table_exists(con, *key.path)

        with warehouse.connect() as con:
            missing = sorted(key for key in readers if not built(con, key))
        if missing:
            names = ", ".join(key.to_user_string() for key in missing)
            raise UsageError(
                f"--select reads {names}, never built: include {'it' if len(missing) == 1 else 'them'} "
                f"(e.g. --select '*{readers[missing[0]].to_user_string()}') or run "
                f"{'it' if len(missing) == 1 else 'them'} first"
            )

    def require_built_days(self, instance, warehouse, days: list[str]) -> None:
        """Refuse, in one line, a selection that reads a day of its own days from a table
        never built for that day (`--select key:gold/calls_kpis_daily` for a day whose
        calls were never run): it wrote that day's gold from no rows, zero calls, with
        every check passing, where the truth was "not loaded". Never built as the step
        would find it (`io_managers.days_never_built`)."""
        from cx_assets.lakehouse.inputs import reads_its_own_days
        from cx_assets.lakehouse.io_managers import days_never_built

        planned = self.partitioned | self.rollups
        for key in sorted(self.partitioned):
            for parent in sorted(self.graph.get(key).parent_keys):
                if parent in planned or not self.graph.get(parent).is_partitioned:
                    continue
                mapping = self.graph.get_partition_mapping(key, parent)
                if not reads_its_own_days(mapping):
                    continue  # all days, or days before: whatever has been built
                unbuilt = days_never_built(
                    instance, warehouse, parent, [date.fromisoformat(day) for day in sorted(days)]
                )
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
        partition or range, on the job's page and the Overview timeline, and can re-execute
        it): `daily_partitions` with the days and the rollups downstream, or `whole_history`
        when only rollups are selected."""
        from dagster import build_reconstructable_job
        from dagster._core.execution.api import execute_run

        from cx_assets.cli.servers import code_location_job_origin
        from cx_assets.domains import DAILY_JOB, WHOLE_HISTORY_JOB
        from cx_assets.lakehouse.partitions import run_tags_for_days
        from cx_assets.lakehouse.run_lock import CONFIG_TAG, SELECTION_TAG, owner_tags

        if self.partitioned:
            job_name = DAILY_JOB
            run_tags = run_tags_for_days(keys[0], keys[-1])
            assets, rollups = len(self.partitioned), len(self.rollups)
            label = f"{assets} date-grained asset{'s' * (assets != 1)}, {keys[0]}..{keys[-1]}"
            if rollups:
                label += f", then {rollups} whole-history rollup{'s' * (rollups != 1)}"
        else:
            job_name, run_tags = WHOLE_HISTORY_JOB, {}
            rollups = len(self.rollups)
            label = f"{rollups} whole-history rollup{'s' * (rollups != 1)}"
        print(f"materializing {label} ...", flush=True)
        # Executed as `execute_job` executes a job (not `execute_in_process`, which would
        # replace the job's executor, steps in threads, with Dagster's one-step-at-a-time
        # one), with the origin `execute_job` cannot give: the UI's code location's job.
        job = build_reconstructable_job(
            "cx_assets.domains", "domains_job", reconstructable_args=(self.domains, job_name)
        )
        job_def = job.get_definition()
        steps = {node.name for node in job_def.graph.nodes}
        run = instance.create_run_for_job(
            job_def=job_def,
            # Only the job's own steps' settings: Dagster refuses config naming another.
            run_config=_run_logger_config(verbose) | run_config.of_steps(self.config, steps),
            # Owned by this process from the start, so a kill at any point is recognised.
            tags={
                **job_def.run_tags,
                **run_tags,
                "cx/trigger": "cli",
                **({SELECTION_TAG: self.select} if self.select else {}),
                **({CONFIG_TAG: self.config_file} if self.config_file else {}),
                **owner_tags(),
            },
            asset_selection=frozenset(self.partitioned | self.rollups),
            job_code_origin=job.get_python_origin(),
            remote_job_origin=code_location_job_origin(job_name),
        )
        try:
            with process.INTERRUPT.lent_to_dagster():
                result = execute_run(job, run, instance, raise_on_error=False)
        except KeyboardInterrupt:
            _failed_unless_started(instance, run.run_id)
            raise
        for evaluation in result.get_asset_check_evaluations():
            tally.add(evaluation)
        for event in result.get_asset_materialization_events():
            tally.add_materialization(event)
        if not result.success:
            print(f"run {result.run_id} failed:")
            for line in failure_lines(result):
                print(f"  {line}")
            tally.add_failure(result)
            return False
        return True


def _failed_unless_started(instance, run_id: str) -> None:
    """Mark failed a run that Ctrl-C or a stop signal (a CI step's `timeout`, a systemd
    stop) ended after it was made in Dagster's history but before Dagster took the signals
    over (planning its steps): it was left NOT_STARTED, listed in the UI as waiting to
    start, and the next run took it for a killed one ("may have left half built"). A run
    Dagster started is Dagster's to end (its handler fails it)."""
    from dagster import DagsterRunStatus

    run = instance.get_run_by_id(run_id)
    if run is not None and run.status == DagsterRunStatus.NOT_STARTED:
        instance.report_run_failed(
            run, "interrupted (Ctrl-C or a stop signal) before its steps began"
        )
