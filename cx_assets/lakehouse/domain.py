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
from cx_assets.lakehouse.inputs import reads_its_own_days

DAILY_SELECTION = AssetSelection.tag(PARTITIONING_TAG, DAILY)


def domain_job_name(domain: str) -> str:
    return f"{domain}_daily"


def _windows_out_of_step(assets: Sequence[AssetsDefinition]) -> list[str]:
    """Inputs declared with a window their two tables cannot have: days of a date-grained
    upstream (`same_day`, `with_days_before`) read by a whole-history table, which has no
    days (the step failed in Dagster's partition code, naming neither), and `whole_table`
    of a date-grained upstream, which then read some days without saying which (found by
    adding a domain)."""
    date_grained = {key for a in assets if a.partitions_def is not None for key in a.keys}
    mismatched = []
    for asset_def in assets:
        # Inputs that carry rows (an `AssetIn`); a `deps=` upstream, read by no parameter,
        # takes Dagster's default window.
        read = {
            key
            for name, key in asset_def.keys_by_input_name.items()
            if not asset_def.node_def.input_def_named(name).dagster_type.is_nothing
        }
        for key in asset_def.keys:
            for upstream in sorted(asset_def.asset_deps[key]):
                if upstream not in date_grained:
                    continue
                mapping = asset_def.get_partition_mapping(upstream)
                reading = f"{key.to_user_string()} reads {upstream.to_user_string()}"
                if mapping is None and upstream in read:
                    mismatched.append(
                        f"{reading} as whole_table, but it is date-grained: read it with "
                        "same_day, with_days_before or all_days"
                    )
                elif asset_def.partitions_def is None and reads_its_own_days(mapping):
                    mismatched.append(
                        f"{reading} by day, but is a whole-history table: read it with all_days"
                    )
    return sorted(mismatched)


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
    if mismatched := _windows_out_of_step(assets):
        raise ValueError("inputs whose window does not fit: " + "; ".join(mismatched))
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
