"""The one daily partitioning every date-grained asset shares, and how an asset step
finds which dates it covers (a single partition, or a range in a single-run backfill)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from dagster import BackfillPolicy, DailyPartitionsDefinition

from cx_assets.lakehouse.settings import Settings
from cx_assets.lakehouse.sql import PARTITION_COLUMN  # noqa: F401  (re-exported)

# Partitions are UTC days keyed YYYY-MM-DD. One run may cover a range of days:
# per-step process start-up costs far more than the work of a small day.
daily_partitions = DailyPartitionsDefinition(
    start_date=Settings.from_env().partitions_start.isoformat()
)
single_run_backfill = BackfillPolicy.single_run()


# The `--config` file (its absolute path) of the `cx-lakehouse run` this process runs: every
# command the run prints carries it, so the days it tells an operator to run are judged by
# the same bands (they were judged at the defaults). None in the UI's, the daemon's runs.
_config_file: str | None = None


@contextmanager
def commands_carry_config(path: str | None) -> Iterator[None]:
    """While it lasts, `run_command` names `path` (the process's run's `--config`)."""
    global _config_file
    before, _config_file = _config_file, path
    try:
        yield
    finally:
        _config_file = before


def run_command(
    first: str, last: str | None = None, select: str | None = None, *, config: str | None = None
) -> str:
    """The `cx-lakehouse run` of the days `first` to `last` (`--to` left out without it) and
    the selection `select` (every domain without it), as the product tells a user to type
    it: the runs that bring days up to date, keep a record, or run a killed run again (with
    its run config file, `config`: "" for none; without it, this process's run's)."""
    config = _config_file if config is None else config
    command = f"cx-lakehouse run --date {first}"
    command += f" --to {last}" if last is not None else ""
    command += f" --select {shlex.quote(select)}" if select else ""
    return command + (f" --config {shlex.quote(config)}" if config else "")


def day_span(days: Sequence[str]) -> str:
    """How the CLI, runs' messages and charts name the days they cover: `D`, or `D1 to D2`."""
    if not days:
        return "no days"
    return days[0] if days[0] == days[-1] else f"{days[0]} to {days[-1]}"


def run_tags_for_days(first: str, last: str) -> dict[str, str]:
    """The tags that make a run of a daily job cover the days `first` to `last` (one
    partition, or Dagster's single-run range)."""
    if first == last:
        return {"dagster/partition": first}
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def dates_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def window_dates(window) -> list[date]:
    """The days of a Dagster `TimeWindow` (its end is exclusive)."""
    return dates_between(_as_date(window.start), _as_date(window.end) - timedelta(days=1))


def partition_dates(context) -> list[date]:
    """The days an asset step materializes, whether it runs one partition or a range."""
    return window_dates(context.partition_time_window)


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def is_partition_day(day: date, now: datetime | None = None) -> bool:
    """Whether `day` is a partition: from the start up to the last complete UTC day."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return daily_partitions.start.date() <= day < today
