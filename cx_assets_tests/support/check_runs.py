"""How the support check tests of more than one module (`test_checks`, `test_model_checks`)
run a check: tiny assets of one test group materialized with the check, and the check's
evaluation read back with its severity."""

from __future__ import annotations

from dagster import AssetCheckSeverity, materialize

from cx_assets.lakehouse.assets import lake_asset
from cx_assets_tests.conftest import QUIET, check_results

GROUP = "support_checks_test"
ERROR, WARN = AssetCheckSeverity.ERROR, AssetCheckSeverity.WARN


def check_evaluation(lake, assets, check, key: str, name: str, run_config=QUIET):
    """Materialize `assets` with `check`; the run's result and the check's evaluation."""
    result = materialize(
        [*assets, check], resources=lake.resources, run_config=run_config, raise_on_error=False
    )
    return result, check_results(result)[(key, name)]


@lake_asset("gold", group=GROUP, partitioned=False)
def never_written(context) -> None:
    """Writes nothing: its table is never created."""
