"""A domain's own `Definitions`, from its assets module (or modules): what every domain brings.

- its assets (every `AssetsDefinition` in the modules, nothing listed by hand);
- the domain's own checks (those its assets declare, column-schema change among them,
  run inside their steps);
- the job `<domain>_daily`: the domain's date-grained assets, selected by group and tag;
- the landing sensor over the landed tables its bronze assets read, launching that job.

Cross-cutting policy (resources, executor, the all-domains daily job and schedule, the
rollup automation) is applied once at the root, `cx_assets/definitions.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    Definitions,
    define_asset_job,
    load_assets_from_modules,
)

from cx_assets.lakehouse.asset_factories import landed_table
from cx_assets.lakehouse.assets import DAILY, PARTITIONING_TAG
from cx_assets.lakehouse.automation import landing_sensor

DAILY_SELECTION = AssetSelection.tag(PARTITIONING_TAG, DAILY)


def domain_job_name(domain: str) -> str:
    return f"{domain}_daily"


def domain_definitions(
    domain: str,
    assets_module: ModuleType | Sequence[ModuleType],
    *,
    checks: Sequence[AssetChecksDefinition] = (),
) -> Definitions:
    """`assets_module`: the module holding the domain's assets, or a list of them (a domain
    may split its tables by concern, e.g. facts and dimensions)."""
    modules = [assets_module] if isinstance(assets_module, ModuleType) else list(assets_module)
    assets = [
        asset_def
        for asset_def in load_assets_from_modules(modules)
        if isinstance(asset_def, AssetsDefinition)
    ]
    strangers = sorted(
        key.to_user_string()
        for asset_def in assets
        for key, group in asset_def.group_names_by_key.items()
        if group != domain
    )
    if strangers:
        names = ", ".join(module.__name__ for module in modules)
        raise ValueError(f"{names} hold assets of another group: {strangers}")
    job = define_asset_job(
        domain_job_name(domain),
        selection=AssetSelection.groups(domain) & DAILY_SELECTION,
        description=f"The date-grained {domain} assets for one day (or a range).",
    )
    landed = sorted(table for asset_def in assets if (table := landed_table(asset_def)))
    sensors = [landing_sensor(domain, [table for _, table in landed], job.name)] if landed else []
    return Definitions(
        assets=assets,
        asset_checks=list(checks),
        jobs=[job],
        sensors=sensors,
    )
