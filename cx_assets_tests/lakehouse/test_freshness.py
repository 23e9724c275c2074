"""Gold tables are late after a day and a bit: every gold asset declares the policy, and
the policy's windows are what docs/checks.md says, evaluated the way the daemon does."""

from __future__ import annotations

import asyncio
import importlib.util
import time

import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
from dagster._core.test_utils import freeze_time, in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from cx_assets import definitions
from cx_assets.lakehouse.assets import GOLD_FRESHNESS

ONE_GOLD_TABLE = """
from dagster import Definitions, asset
from cx_assets.lakehouse.assets import GOLD_FRESHNESS

@asset(freshness_policy=GOLD_FRESHNESS)
def table() -> int:
    return 1

defs = Definitions(assets=[table])
"""


def test_every_gold_table_and_only_gold_declares_the_freshness_policy():
    graph = definitions.defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        assert policy == (GOLD_FRESHNESS if key.path[0] == "gold" else None), key


@pytest.mark.parametrize(
    ("hours_later", "state"),
    # Six minutes either side of each window's edge, so the 26 and 50 hours are pinned.
    [
        (1, FreshnessState.PASS),
        (25.9, FreshnessState.PASS),
        (26.1, FreshnessState.WARN),
        (49.9, FreshnessState.WARN),
        (50.1, FreshnessState.FAIL),
    ],
)
def test_a_gold_table_warns_after_26_hours_and_fails_after_50(tmp_path, hours_later, state):
    module = tmp_path / "one_gold_table.py"
    module.write_text(ONE_GOLD_TABLE)
    spec = importlib.util.spec_from_file_location("one_gold_table", module)
    one_gold_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(one_gold_table)
    (tmp_path / "home").mkdir()
    with DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        materialized_at = time.time()
        assert materialize([one_gold_table.table], instance=instance).success
        # The graph the daemon evaluates: the module loaded as a code location.
        origin = LoadableTargetOrigin(python_file=str(module), attribute="defs")
        with (
            freeze_time(materialized_at + hours_later * 3600),
            in_process_test_workspace(instance, origin) as context,
        ):
            node = context.asset_graph.get(AssetKey("table"))
            evaluator = TimeWindowFreshnessPolicyEvaluator()
            evaluated = asyncio.run(evaluator.evaluate_freshness(context=context, node=node))
    assert evaluated == state
