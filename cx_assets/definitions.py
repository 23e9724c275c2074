"""The one Dagster `Definitions` of the lakehouse (`dagster dev -m cx_assets.definitions`).

Domains contribute assets, checks and a landing sensor; everything cross-cutting is
applied here once: resources from `CX_DATA_DIR`, the in-process executor (a step is
milliseconds of work; a process per step would cost ~2 s each), the jobs the sensors and
the daily schedule launch, column-schema change checks, and the automation sensor that
rebuilds whole-history rollups.
"""

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    build_column_schema_change_checks,
    define_asset_job,
    in_process_executor,
)

from cx_assets.calls import assets as calls_assets
from cx_assets.calls import checks as calls_checks
from cx_assets.crm import assets as crm_assets
from cx_assets.crm import checks as crm_checks
from cx_assets.digital import assets as digital_assets
from cx_assets.digital import checks as digital_checks
from cx_assets.lakehouse.automation import daily_schedule, landing_sensor
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets.lakehouse.resources import build_resources
from cx_assets.lakehouse.settings import Settings

DOMAINS = {
    # source name: (module with partitioned_assets/rollup_assets/TABLES, checks module)
    "crm": (crm_assets, crm_checks),
    "calls": (calls_assets, calls_checks),
    "digital": (digital_assets, digital_checks),
}

partitioned_assets = [a for module, _ in DOMAINS.values() for a in module.partitioned_assets]
rollup_assets = [a for module, _ in DOMAINS.values() for a in module.rollup_assets]
all_assets = [*partitioned_assets, *rollup_assets]

daily_job = define_asset_job(
    "daily_partitions",
    selection=AssetSelection.assets(*partitioned_assets),
    partitions_def=daily_partitions,
    description="Every date-grained asset of every source, for one day (or a range).",
)
source_jobs = {
    source: define_asset_job(
        f"{source}_daily",
        selection=AssetSelection.assets(*module.partitioned_assets),
        partitions_def=daily_partitions,
        description=f"The date-grained {source} assets for one day.",
    )
    for source, (module, _) in DOMAINS.items()
}

defs = Definitions(
    assets=all_assets,
    asset_checks=[
        *(check for _, checks in DOMAINS.values() for check in checks.all_checks),
        *build_column_schema_change_checks(assets=all_assets),
    ],
    jobs=[daily_job, *source_jobs.values()],
    schedules=[daily_schedule(daily_job)],
    sensors=[
        *(
            landing_sensor(source, module.TABLES, source_jobs[source])
            for source, (module, _) in DOMAINS.items()
        ),
        AutomationConditionSensorDefinition(
            "rollups_automation",
            target=AssetSelection.assets(*rollup_assets),
            default_status=DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=30,
        ),
    ],
    resources=build_resources(Settings.from_env().data_dir),
    executor=in_process_executor,
)
