"""The lakehouse's domains, and its root `Definitions` built from any set of them.

A domain is a package `cx_assets/<domain>/` with a `definitions.py` exposing `defs`; it is
found by looking, so adding a domain edits nothing central. What is cross-cutting is applied
here once: resources from `CX_DATA_DIR`, the executor (steps in threads of the run's
process, see `lakehouse/executor.py`; a process per step would cost ~1.5 s each and could not
share the warehouse file), the all-domains daily job and its schedule,
and the automation sensor that rebuilds whole-history rollups.

`cx_assets/definitions.py` builds them from every domain, for the UI, the daemon and
Dagster's own CLI. `cx-lakehouse run --select group:calls` builds them from the calls domain
alone: no asset reads another domain's tables (a test holds every domain to that), so the
run is the same, without importing and defining the other three (~0.4 s of a command).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Sequence

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    JobDefinition,
    define_asset_job,
)

from cx_assets.domain_names import domain_names, domains_for_selection
from cx_assets.lakehouse.assets import PARTITIONING_TAG, WHOLE_HISTORY
from cx_assets.lakehouse.automation import RETRIED_RUN_TAGS, daily_schedule
from cx_assets.lakehouse.domain import DAILY_SELECTION
from cx_assets.lakehouse.executor import threaded_executor
from cx_assets.lakehouse.resources import build_resources
from cx_assets.lakehouse.settings import Settings

DAILY_JOB = "daily_partitions"
WHOLE_HISTORY_JOB = "whole_history"

__all__ = [
    "DAILY_JOB",
    "WHOLE_HISTORY_JOB",
    "definitions_of",
    "domain_names",
    "domains_definitions",
    "domains_for_selection",
    "domains_job",
]


def definitions_of(domains: Iterable[str]) -> Definitions:
    """The named domains' own definitions merged, with the cross-cutting ones."""
    daily_job = define_asset_job(
        DAILY_JOB,
        # The rollups come along: a run of a day (or a range) then rebuilds the
        # whole-history tables downstream in the same run, instead of a second run
        # starting up for them.
        selection=DAILY_SELECTION | AssetSelection.tag(PARTITIONING_TAG, WHOLE_HISTORY),
        description="Every date-grained asset of every domain for one day (or a range), "
        "then every whole-history table (rollups) downstream of them.",
    )
    whole_history_job = define_asset_job(
        WHOLE_HISTORY_JOB,
        selection=AssetSelection.tag(PARTITIONING_TAG, WHOLE_HISTORY),
        description="Every whole-history table (rollups), rebuilt from all partitions.",
    )
    return Definitions.merge(
        *(importlib.import_module(f"cx_assets.{name}.definitions").defs for name in domains),
        Definitions(
            jobs=[daily_job, whole_history_job],
            schedules=[daily_schedule(daily_job)],
            sensors=[
                AutomationConditionSensorDefinition(
                    "rollups_automation",
                    target=AssetSelection.tag(PARTITIONING_TAG, WHOLE_HISTORY),
                    default_status=DefaultSensorStatus.RUNNING,
                    minimum_interval_seconds=30,
                    run_tags=RETRIED_RUN_TAGS,
                    description="Rebuilds each whole-history table (rollups, models) once a "
                    "day it reads was written after its last rebuild, when nothing upstream "
                    "is still running (automation.rollup_automation).",
                )
            ],
            resources=build_resources(Settings.from_env().data_dir),
            executor=threaded_executor,
        ),
    )


@functools.lru_cache(maxsize=4)
def _definitions_for(domains: tuple[str, ...], data_dir: str) -> Definitions:
    # `data_dir` only keys the cache: `definitions_of` reads the same environment.
    return definitions_of(domains)


def domains_definitions(domains: Sequence[str]) -> Definitions:
    """The named domains' definitions on the environment's data root, built once per
    process (`cx-lakehouse run` resolves its plan with them, then executes their job)."""
    return _definitions_for(tuple(domains), str(Settings.from_env().data_dir))


def domains_job(domains: Sequence[str], job_name: str) -> JobDefinition:
    """`job_name` of `domains_definitions(domains)`: the function `cx-lakehouse run` names
    to Dagster (`build_reconstructable_job`) to execute as `execute_job` does, which,
    unlike `execute_in_process`, runs a job with its own executor."""
    return domains_definitions(domains).resolve_job_def(job_name)
