"""`cx-lakehouse`: generate synthetic landing data, materialize the lakehouse, open the UI
and the command centre.

    cx-lakehouse generate --start 2024-01-01 --days 3 [--scale 0.05] [--seed 7] [--sources crm,calls]
    cx-lakehouse run --date 2024-01-01 [--to 2024-01-03] [--select 'group:crm'] [--config FILE]
    cx-lakehouse ui [--port 3000]
    cx-lakehouse dashboard [--port 8501]

`run` materializes the selected date-grained assets for the whole range, then the
whole-history rollups that depend on them, with every asset check, in one in-process run
(per-step process start-up would dominate small days). Exit code 0 only if every step succeeded and
no ERROR-severity check failed. User mistakes (bad dates, bad selection, no data root)
print one line and exit 2; a full disk, or a data root it may not write, prints one line
and exits 1 (`failures`). Ctrl-C exits 130, a stop signal (SIGTERM) 143 and a hang-up
(SIGHUP) 129 (`process.InterruptWatch`).

A module per command (`generate`, `run` with `run_plan`, `run_report` and `run_config`,
`servers` for `ui` and `dashboard`); `home` writes the Dagster instance's home, `process`
tends the command's own process.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from cx_assets.cli import process
from cx_assets.cli.failures import (
    BusyError,
    DamagedError,
    damaged_run_history,
    disk_full,
    not_writable,
    read_only_run_history,
)
from cx_assets.cli.generate import cmd_generate, generator_sources
from cx_assets.cli.home import dagster_yaml, prepare_dagster_home
from cx_assets.cli.options import UsageError
from cx_assets.cli.process import ClosedPipeTolerant, StartUpCollection
from cx_assets.cli.run import cmd_run
from cx_assets.cli.run_plan import RunPlan
from cx_assets.cli.servers import cmd_dashboard, cmd_ui, ui_command
from cx_assets.command import interruption
from cx_assets.lakehouse.settings import SettingsError

__all__ = [
    "RunPlan",
    "StartUpCollection",
    "build_parser",
    "dagster_yaml",
    "main",
    "prepare_dagster_home",
    "run_program",
    "ui_command",
]


def build_parser() -> argparse.ArgumentParser:
    # `python -OO` (PYTHONOPTIMIZE=2) strips docstrings: the help then has no description.
    description = (__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="cx-lakehouse", description=description)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write synthetic landing files")
    generate.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    generate.add_argument("--days", type=int, required=True, help="number of days")
    generate.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="volume per day; 1.0 (the default) = the contract's volumes, about 300 MB a day, "
        "280 of them CRM's; 0.05 makes a quick demo",
    )
    generate.add_argument(
        "--seed", type=int, default=42, help="the same seed writes the same files (default 42)"
    )
    generate.add_argument(
        "--sources", help=f"comma-separated subset of {','.join(generator_sources())}"
    )
    generate.add_argument("--quiet", action="store_true", help="no progress bars")
    generate.set_defaults(handler=cmd_generate)

    run = commands.add_parser(
        "run",
        help="materialize partitions, rollups and checks",
        # For whoever schedules it: what each code means.
        epilog=(
            "exit codes: 0 every step succeeded and no ERROR check failed; 1 a step or an "
            "ERROR check failed (or the data root is busy, damaged, full or read-only); "
            "2 a mistake in the command; 130 Ctrl-C; 143 a stop signal (SIGTERM); "
            "129 its terminal hung up (SIGHUP)"
        ),
    )
    run.add_argument("--date", required=True, help="first day, YYYY-MM-DD")
    run.add_argument("--to", help="last day (inclusive), YYYY-MM-DD")
    run.add_argument(
        "--select",
        help="Dagster asset selection, e.g. 'group:crm', 'key:gold/*', 'group:calls or group:digital'",
    )
    run.add_argument(
        "--config",
        metavar="FILE",
        action="append",  # given twice, refused: the last alone would be read
        help="run config as the launchpad's (YAML or JSON): the checks' bands and severities, "
        "e.g. 'ops: {gold__crm_noise_summary: {config: {noise_ratio_in_band: {severity: ERROR}}}}'",
    )
    run.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    run.set_defaults(handler=cmd_run)

    ui = commands.add_parser("ui", help="start the Dagster UI and daemon on 127.0.0.1")
    # Ports are read as text and refused by the command (`servers.require_free_port`), which
    # names make's variable where make gave it: `make ui UI_PORT=abc` was told of --port.
    ui.add_argument("--port", default="3000", help="port on 127.0.0.1 (default 3000)")
    ui.set_defaults(handler=cmd_ui)

    dashboard = commands.add_parser("dashboard", help="the command centre on 127.0.0.1")
    dashboard.add_argument("--port", default="8501", help="port on 127.0.0.1 (default 8501)")
    dashboard.set_defaults(handler=cmd_dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        # Ctrl-C, SIGTERM or SIGHUP outside a run's steps (start-up, the run's creation,
        # the summary): Dagster turns one during the steps into a failed run, summarised
        # above. Nothing is left half-done: the lock is released on the way out, landing
        # files are written under in-flight names, and the next run marks a run it finds
        # unfinished as failed.
        return _interrupted()
    except Exception as error:
        if process.INTERRUPT.interrupted:  # a Ctrl-C some library made into an error of its own
            return _interrupted()
        return _ended_by(error)


def _ended_by(error: Exception) -> int:
    """The one line and exit code of an error the user can act on; a defect is raised."""
    if isinstance(error, (UsageError, SettingsError)):
        print(f"cx-lakehouse: {error}", file=sys.stderr)
        return 2
    if isinstance(error, (BusyError, DamagedError)):  # held by another process, or damaged
        print(f"cx-lakehouse: {error}", file=sys.stderr)
        return 1
    said = (
        not_writable(error)
        or read_only_run_history(error)  # a refusal to write is said, not a guess at space
        or disk_full(error)
        or damaged_run_history(error)
    )
    if said is None:
        raise error  # a defect: its traceback is what helps
    print(f"cx-lakehouse: {said}", file=sys.stderr)
    return 1


def _interrupted() -> int:
    """The line and exit code of a command that Ctrl-C or a stop signal ended."""
    message, code = interruption()
    print(message, file=sys.stderr)
    return code


def run_program() -> None:
    """The `cx-lakehouse` command: `main`, then out without Python's teardown.

    Tearing the interpreter down after Dagster, pandas and DuckDB were imported takes
    0.4-1 s (module by module, object by object): a fifth of a small day's run, and none of
    it work the command needs. By now every run has ended, the warehouse handle and the
    Dagster instance are closed, and the output is written; only the standard streams and
    log handlers still hold anything, and they are flushed. Tests call `main` instead."""
    # An output of another charset (PYTHONIOENCODING=ascii, a Latin-1 locale) cannot carry
    # every character a line may hold (a data root `relatórios`, a landed file's name or
    # value quoted in a reason): escaped as Python escapes them on stderr, rather than a
    # UnicodeEncodeError ending the command, a run that succeeded included, in exit 1.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    sys.stdout = ClosedPipeTolerant(sys.stdout)
    sys.stderr = ClosedPipeTolerant(sys.stderr)
    process.one_blas_thread()
    process.START_UP_COLLECTION.armed = True
    process.INTERRUPT.arm()
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
