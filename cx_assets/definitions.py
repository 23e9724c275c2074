"""The lakehouse's `Definitions` (`dagster dev -m cx_assets.definitions`): every domain's own
definitions merged, plus what is cross-cutting, applied here once.

A domain is a package `cx_assets/<domain>/` with a `definitions.py` exposing `defs`; it is
found here by looking, so adding a domain edits nothing central. Cross-cutting: resources
from `CX_DATA_DIR`, the in-process executor (a step is milliseconds of work; a process per
step would cost ~2 s each), the all-domains daily job and its schedule, and the automation
sensor that rebuilds whole-history rollups.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    define_asset_job,
    in_process_executor,
)

import cx_assets
from cx_assets.lakehouse.assets import PARTITIONING_TAG, WHOLE_HISTORY
from cx_assets.lakehouse.automation import RETRIED_RUN_TAGS, daily_schedule
from cx_assets.lakehouse.domain import DAILY_SELECTION
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets.lakehouse.resources import build_resources
from cx_assets.lakehouse.settings import Settings


def domain_names() -> list[str]:
    """Folders of `cx_assets` that bring their own `definitions.py`, sorted (found on disk,
    so packages without one, such as the synthetic-data generators, are never imported)."""
    package = Path(cx_assets.__file__).parent
    return sorted(path.parent.name for path in package.glob("*/definitions.py"))


DAILY_JOB = "daily_partitions"
WHOLE_HISTORY_JOB = "whole_history"
daily_job = define_asset_job(
    DAILY_JOB,
    # The rollups come along: a run of a day (or a range) then rebuilds the whole-history
    # tables downstream in the same run, instead of a second run starting up for them.
    selection=DAILY_SELECTION | AssetSelection.tag(PARTITIONING_TAG, WHOLE_HISTORY),
    partitions_def=daily_partitions,
    description="Every date-grained asset of every domain for one day (or a range), then "
    "every whole-history table (rollups) downstream of them.",
)
whole_history_job = define_asset_job(
    WHOLE_HISTORY_JOB,
    selection=AssetSelection.tag(PARTITIONING_TAG, WHOLE_HISTORY),
    description="Every whole-history table (rollups), rebuilt from all partitions.",
)

defs = Definitions.merge(
    *(importlib.import_module(f"cx_assets.{name}.definitions").defs for name in domain_names()),
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
            )
        ],
        resources=build_resources(Settings.from_env().data_dir),
        executor=in_process_executor,
    ),
)
