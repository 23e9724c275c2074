"""`cx-lakehouse`: generate synthetic landing data, materialize the lakehouse, open the UI.

    cx-lakehouse generate --start 2024-01-01 --days 3 [--scale 0.05] [--seed 7] [--sources crm,calls]
    cx-lakehouse run --date 2024-01-01 [--to 2024-01-03] [--select 'group:crm']
    cx-lakehouse ui [--port 3000]

`run` materializes the selected date-grained assets for the whole range in one in-process
run (per-step process start-up would dominate small days), then the whole-history rollups
that depend on them, with every asset check. Exit code 0 only if every step succeeded and
no ERROR-severity check failed. User mistakes (bad dates, bad selection, no data root)
print one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cx_assets.lakehouse.settings import SettingsError

DAGSTER_YAML = """\
# Written by cx-lakehouse. DuckDB takes one writer per file: one run at a time, and one
# step at a time in the warehouse pool.
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


class UsageError(Exception):
    """A mistake the user can fix; printed as one line."""


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date in YYYY-MM-DD form") from None


def prepare_dagster_home(data_dir: Path) -> Path:
    """A persistent DAGSTER_HOME under the data root (unless the user set one), so runs
    from the CLI show up in the UI and the concurrency limits hold for both."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
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
    if args.scale <= 0:
        raise UsageError("--scale must be greater than 0")
    known = _generator_sources()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else known
    unknown = sorted(set(sources) - set(known))
    if unknown:
        raise UsageError(f"unknown source {', '.join(unknown)}: choose from {', '.join(known)}")
    request = GenerationRequest(
        landing_dir=settings.layout.landing_dir,
        start=start,
        days=args.days,
        scale=args.scale,
        seed=args.seed,
        show_progress=not args.quiet,
    )
    for source in sources:
        began = time.perf_counter()
        counts = generator(source)(request)
        written = ", ".join(f"{table} {n:,}" for table, n in counts.items())
        print(f"{source}: {written} ({time.perf_counter() - began:.1f} s)")
    print(f"landing files are in {settings.layout.landing_dir}")
    return 0


# --------------------------------------------------------------------------- run


@dataclass
class CheckTally:
    passed: int = 0
    warned: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)

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
    level = "DEBUG" if verbose else "WARNING"  # step events are DEBUG
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def cmd_run(args: argparse.Namespace) -> int:
    from cx_assets.lakehouse.settings import Settings

    settings = Settings.from_env()
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        raise UsageError(
            f"data root {data_dir} does not exist: run `cx-lakehouse generate` first "
            "or point CX_DATA_DIR at your data"
        )
    first = _parse_day(args.date, "--date")
    last = _parse_day(args.to, "--to") if args.to else first
    if last < first:
        raise UsageError(f"--to {last} is before --date {first}")

    warnings.filterwarnings("ignore")
    from dagster import AssetSelection, DagsterError, DagsterInstance, materialize

    from cx_assets import definitions
    from cx_assets.lakehouse.partitions import partition_keys_in_range
    from cx_assets.lakehouse.resources import build_resources

    try:
        keys = partition_keys_in_range(first, last)
    except ValueError as error:
        raise UsageError(str(error)) from None

    graph = definitions.defs.resolve_asset_graph()
    try:
        selection = AssetSelection.from_string(args.select) if args.select else AssetSelection.all()
        selected = selection.resolve(graph)
    except (DagsterError, ValueError, KeyError) as error:
        raise UsageError(f"--select {args.select!r}: {error}".splitlines()[0]) from None
    if not selected:
        raise UsageError(f"--select {args.select!r} matches no asset")

    partitioned = {key for key in selected if graph.get(key).is_partitioned}
    downstream = (
        AssetSelection.assets(*partitioned).downstream().resolve(graph) if partitioned else set()
    )
    rollups = {key for key in (selected | downstream) if not graph.get(key).is_partitioned}

    prepare_dagster_home(data_dir)
    instance = DagsterInstance.get()
    resources = build_resources(data_dir)
    everything = [*definitions.defs.assets, *definitions.defs.asset_checks]
    tags = (
        {"dagster/partition": keys[0]}
        if len(keys) == 1
        else {
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        }
    )
    tally = CheckTally()
    succeeded = True
    began = time.perf_counter()
    for label, asset_keys, run_tags in (
        (f"{len(partitioned)} date-grained assets, {keys[0]}..{keys[-1]}", partitioned, tags),
        (f"{len(rollups)} whole-history rollups", rollups, {}),
    ):
        if not asset_keys:
            continue
        print(f"materializing {label} ...", flush=True)
        result = materialize(
            everything,
            selection=AssetSelection.assets(*asset_keys),
            instance=instance,
            resources=resources,
            tags={**run_tags, "cx/trigger": "cli"},
            run_config=_run_logger_config(args.verbose),
            raise_on_error=False,
        )
        for evaluation in result.get_asset_check_evaluations():
            tally.add(evaluation)
        if not result.success:
            succeeded = False
            failed_steps = [event.step_key for event in result.all_events if event.is_step_failure]
            print(f"run {result.run_id} failed at: {', '.join(failed_steps) or 'see the UI'}")
            break

    print_summary(resources, selected | rollups, first, last, tally)
    print(f"took {time.perf_counter() - began:.1f} s; gold Parquet: {settings.layout.gold_dir}")
    ok = succeeded and tally.failed == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def print_summary(resources, keys, first: date, last: date, tally: CheckTally) -> None:
    from cx_assets.lakehouse.partitions import dates_between
    from cx_assets.lakehouse.warehouse import count_rows, table_columns, table_exists

    gold = sorted(key.path[-1] for key in keys if key.path[0] == "gold")
    days = dates_between(first, last)
    if gold:
        print("gold rows:")
        with resources["warehouse"].connect() as con:
            for table in gold:
                if not table_exists(con, "gold", table):
                    print(f"  {table:<34} (not written)")
                    continue
                has_dates = "date" in dict(table_columns(con, "gold", table))
                rows = count_rows(con, "gold", table, days if has_dates else None)
                print(f"  {table:<34} {rows:>10,}")
    print(f"checks: {tally.passed} passed, {tally.warned} warned, {tally.failed} failed")
    for problem in tally.problems:
        print(f"  {problem}")


# --------------------------------------------------------------------------- ui


def ui_command(port: int) -> list[str]:
    """`dagster dev` runs the webserver *and* the daemon, so sensors, the schedule and
    automation really run; it listens on loopback only (there is no login)."""
    return [
        sys.executable, "-m", "dagster", "dev",
        "-m", "cx_assets.definitions",
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip


def cmd_ui(args: argparse.Namespace) -> int:
    from cx_assets.lakehouse.settings import Settings

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    home = prepare_dagster_home(settings.data_dir)
    command = ui_command(args.port)
    print(f"Dagster UI with its daemon on http://127.0.0.1:{args.port} (DAGSTER_HOME={home})")
    os.execvp(command[0], command)
    return 0  # not reached


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cx-lakehouse", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write synthetic landing files")
    generate.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    generate.add_argument("--days", type=int, required=True, help="number of days")
    generate.add_argument("--scale", type=float, default=1.0, help="1.0 = contract volumes")
    generate.add_argument("--seed", type=int, default=42)
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
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, SettingsError) as error:
        print(f"cx-lakehouse: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
