"""`cx-lakehouse run`: one Dagster run of the selected days and the rollups downstream, then a
summary of what it wrote, checked and quarantined."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from cx_assets.cli import process, run_config
from cx_assets.cli.failures import BusyError, DamagedError
from cx_assets.cli.home import dagster_home_folder, dagster_home_path, prepare_dagster_home
from cx_assets.cli.options import UsageError, parse_day
from cx_assets.cli.read_ahead import ReadAheadJournal, oldest
from cx_assets.cli.run_plan import RunPlan
from cx_assets.cli.run_report import (
    RunTally,
    print_changed_since_read,
    print_earlier_days,
    print_kept_on_later_days,
    print_later_days,
    print_quarantined,
    print_readers_left_out,
    print_summary,
)
from cx_assets.command import interruption

if TYPE_CHECKING:  # imported when the command runs, after its start-up bookkeeping
    from cx_assets.lakehouse.settings import Settings


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
    from cx_assets.domain_names import named_domains
    from cx_assets.lakehouse import early_bronze
    from cx_assets.lakehouse.settings import Settings, partition_days

    process.START_UP_COLLECTION.pause()
    process.tail_on_path()  # Dagster's capture of the steps' output runs it
    settings = Settings.from_env()
    # DAGSTER_HOME's folder, a setting of the environment as those above: said before a
    # mistake of the options, as `ui` and `dashboard` say it, and before Dagster is imported
    # and the early read starts (refused after them, it cost 1.6 s of CPU, where
    # CX_DATA_DIR's cost 0.09 s).
    dagster_home_folder(settings.data_dir)
    first = parse_day(args.date, "--date")
    # Given empty (`--to "$LAST"`, `--select "$WHAT"` with the variable unset), each was
    # taken as not given: the first day alone, or every asset of every domain.
    last = parse_day(args.to, "--to") if args.to is not None else first
    if last < first:
        raise UsageError(f"--to {last} is before --date {first}")
    # A day that is no partition, refused before Dagster is imported and the early read
    # starts: `--date` of today (a cron line's `$(date +%F)`) was refused after them.
    try:
        keys = [day.isoformat() for day in partition_days(first, last, settings.partitions_start)]
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.select is not None and not args.select.strip():
        raise UsageError(
            f"--select {args.select!r} names no asset (an empty selection: a variable left "
            "unset?): leave --select out to run every asset"
        )
    args.config = run_config.one_file(args.config)
    config = run_config.read(args.config) if args.config is not None else {}

    # Before Dagster is imported: the largest landed table is read on the idle core while
    # the command starts up (lakehouse/early_bronze.py).
    early_bronze.start(settings.layout.landing_dir, named_domains(args.select) or [], first, last)
    try:
        return _run(args, settings, keys, (first, last), config)
    finally:
        early_bronze.finish(settings.layout.landing_dir)


def _run(
    args: argparse.Namespace, settings: Settings, keys: list[str], days: tuple, config: dict
) -> int:
    warnings.filterwarnings("ignore")
    from cx_assets.lakehouse.partitions import commands_carry_config

    plan = RunPlan.resolve(args.select)
    if config:
        plan.configure(args.config, config)  # checked before anything is made
    if args.config:  # an empty file too: the run was judged at the defaults on purpose
        plan.config_file = os.path.abspath(args.config)
    process.out_of_a_deleted_working_directory()  # Dagster asks for it building the job
    # Every command the run prints carries its file (the same bands judge those days).
    with commands_carry_config(plan.config_file):
        return _run_planned(args, settings, plan, keys, days)


def _run_planned(
    args: argparse.Namespace, settings: Settings, plan: RunPlan, keys: list[str], days: tuple
) -> int:
    from cx_assets.lakehouse import run_lock
    from cx_assets.lakehouse.resources import build_resources
    from cx_assets.lakehouse.warehouse import WarehouseDamagedError, WarehouseLockedError

    data_dir = settings.data_dir
    first, last = days
    # A dagster.yaml the user wrote there, which Dagster reads, refused before anything is
    # made (the home's folder was checked with the settings).
    dagster_home_path(data_dir)
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
            succeeded, tally = _run_and_report(
                settings, resources, plan, keys, (first, last), began_at, verbose=args.verbose
            )
    except (run_lock.RunLockTimeout, WarehouseLockedError) as error:
        raise BusyError(str(error)) from None
    except WarehouseDamagedError as error:
        raise DamagedError(str(error)) from None
    if tally.interrupted:
        # as a stop before the steps says "run the command again", with the command
        from cx_assets.lakehouse.partitions import run_command

        again = run_command(
            first.isoformat(), last.isoformat() if last != first else None, args.select
        )
        print(f"stopped before it finished; run it again with:\n  {again}")
    print(f"took {time.perf_counter() - began:.1f} s; gold Parquet: {settings.layout.gold_dir}")
    ok = succeeded and tally.failed == 0
    print("OK" if ok else "FAILED")
    if tally.interrupted:
        return interruption()[1]  # as anywhere else: 130, 143 or 129 by signal
    if tally.damaged:
        raise DamagedError(tally.damaged)  # its last line, as when found before the run
    if tally.full_disk is not None:
        raise tally.full_disk  # its last line, as when the disk fills outside the steps
    if tally.not_writable is not None:
        raise tally.not_writable  # its last line, as when met outside the steps
    return 0 if ok else 1


def _run_and_report(
    settings: Settings,
    resources: dict,
    plan: RunPlan,
    keys: list[str],
    days: tuple,
    began_at: float,
    *,
    verbose: bool,
) -> tuple[bool, RunTally]:
    """The run, under the data root's lock, and what it says after: gold counts, quarantined
    records, later days built before it that read these days, keys kept on later days."""
    from dagster import DagsterInstance

    from cx_assets.lakehouse import run_lock
    from cx_assets.lakehouse.io_managers import LAYER_STORAGE

    first, last = days
    # Opened under the lock: two first runs on a new data root would otherwise race to
    # create the instance's storage.
    with DagsterInstance.get() as instance:
        run_lock.release_dead_runs(instance)
        for table in resources[LAYER_STORAGE["gold"]].republish_left_behind():
            print(f"note: gold/{table}'s Parquet published again from the warehouse "
                  "(an earlier run stopped between the two)")  # fmt: skip
        plan.require_built_upstreams(resources["warehouse"], settings.layout)
        plan.require_built_days(instance, resources["warehouse"], keys)
        # The rows later days were built from: this run's days when later days read them,
        # and, older, what a run that stopped before comparing them left.
        journal = ReadAheadJournal(settings.layout.read_ahead_journal)
        own = (
            plan.read_ahead_rows(resources["warehouse"], keys)
            if plan.reads_later_built_days(instance, keys)
            else {}
        )
        before, other_domains = plan.of_this_plan(oldest(own, journal.read()))
        journal.write(oldest(before, other_domains))
        tally = RunTally()
        # A Ctrl-C (or a stop signal) some code swallowed on the way here still stops the
        # run before it starts.
        process.INTERRUPT.stop_if_received()
        reading_from = time.time()
        succeeded = plan.materialize(instance, keys, tally, verbose=verbose)
        changed_since_read = plan.landing_changed_since_read(
            settings.layout.landing_dir, tally.read_landing, reading_from
        )
        tally.ignored.update(
            plan.misplaced_landing(settings.layout.landing_dir, settings.partitions_start)
        )
        print_summary(
            resources, instance, plan.selected | plan.rollups, plan.partitioned, days, tally
        )
        # A warehouse found damaged (by a step or the summary) fails the run: it cannot be
        # compared with, and the fingerprints stay for the run after it is built anew.
        succeeded = succeeded and tally.damaged is None
        # Finished or not: a failed or interrupted run may have rebuilt days later days read.
        # Its fingerprints stay for the next run (the same command again, usually).
        later, changed_days = (
            plan.later_days_after(instance, resources["warehouse"], before)
            if before and tally.damaged is None
            else ([], [])
        )
        journal.write(other_domains if succeeded else oldest(before, other_domains))
        left_out = plan.readers_left_out(instance, keys)
        # Days before the run's that its tables read as empty, though their files landed.
        earlier = (
            plan.earlier_days_not_built(
                instance,
                resources["warehouse"],
                settings.layout.landing_dir,
                keys,
                settings.partitions_start,
            )
            if tally.damaged is None
            else []
        )
    print_quarantined(
        settings.layout.quarantine_dir, plan.landed_tables(), first, last, since=began_at
    )
    print_readers_left_out(left_out)
    print_later_days(later, min([keys[0], *changed_days]))
    print_earlier_days(earlier, keys[-1])
    print_changed_since_read(changed_since_read)
    # Failed or not: a late day whose records were kept on later days can fail a check
    # raised to ERROR (the reject ratio), and running the days together is then the way out.
    print_kept_on_later_days(
        plan.kept_on_later_days(settings.layout.quarantine_dir, first, last, since=began_at),
        keys[0],
    )
    return succeeded, tally
