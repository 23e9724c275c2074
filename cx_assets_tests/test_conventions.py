"""Every asset of the merged Definitions follows the lakehouse conventions: the contract's
gold tables are assets, each asset is a named function stored by its layer with its kinds,
columns, grain and output type declared, each domain is self-contained, and the checks
block as their severity says. A new asset that breaks one fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from dagster import AssetKey, Output

from cx_assets import definitions
from cx_assets.lakehouse.assets import DAILY, PARTITIONING_TAG, WHOLE_HISTORY
from cx_assets.lakehouse.checks import NON_EMPTY, RECONCILES_WITH_BRONZE
from cx_assets.lakehouse.io_managers import LAYER_STORAGE
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets_tests.merged_definitions import asset_graph, every_check_spec

PACKAGE = Path(definitions.__file__).parent
# The contract's gold tables (section 4), by domain, and which are whole-history.
CONTRACT_GOLD = {
    "crm": [
        "crm_noise_summary", "crm_friction_heuristics", "crm_cx_volumetrics", "crm_temporal_heat",
        "crm_contact_linkage", "crm_sales_velocity", "crm_churn_risk", "crm_segmentation_matrix",
        "crm_managers", "crm_companies",
    ],
    "calls": ["calls_performance", "calls_agent_daily", "calls_kpis_daily"],
    "digital": [
        "leakage_daily_summary", "leakage_segment_drilldown", "leakage_journey_timeline",
        "leakage_root_cause", "leakage_savings_model", "leakage_action_recommendations",
    ],
    "support": [
        "support_ticket_analytics", "support_agent_daily", "support_customer_insights",
        "support_volume_forecast", "support_ticket_categories", "support_assignment_plan",
    ],
}  # fmt: skip
# Support's per-created-day tables are whole-history assets published by day (`DayRows`):
# a later delivery rewrites the earlier days it changes.
WHOLE_HISTORY_GOLD = {
    "crm_cx_volumetrics", "crm_temporal_heat", "crm_sales_velocity", "crm_churn_risk",
    "crm_segmentation_matrix", "crm_managers", "crm_companies",
    "leakage_savings_model", "leakage_action_recommendations",
    "support_ticket_analytics", "support_agent_daily", "support_customer_insights",
    "support_volume_forecast", "support_ticket_categories", "support_assignment_plan",
}  # fmt: skip


graph = pytest.fixture(asset_graph, name="graph", scope="module")


def test_no_asset_reads_another_domains_tables(graph):
    """What lets `cx-lakehouse run --select group:<domain>` load that domain alone."""
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        strangers = {graph.get(parent).group_name for parent in node.parent_keys} - {
            node.group_name
        }
        assert not strangers, f"{key.to_user_string()} reads {strangers}"


def test_every_gold_table_of_the_contract_is_an_asset(graph):
    keys = graph.get_all_asset_keys()
    for group, tables in CONTRACT_GOLD.items():
        for table in tables:
            key = AssetKey(["gold", table])
            assert key in keys, table
            node = graph.get(key)
            assert node.group_name == group
            assert node.is_partitioned == (table not in WHOLE_HISTORY_GOLD), table


def test_every_asset_follows_the_conventions(graph):
    for asset_def in definitions.defs.assets:
        key = asset_def.key
        node = graph.get(key)
        layer = key.path[0]
        assert layer in LAYER_STORAGE, key
        assert asset_def.get_io_manager_key_for_asset_key(key) == LAYER_STORAGE[layer], key
        assert node.description, key
        if layer == "model":
            assert "joblib" in node.kinds, key
            continue
        assert "duckdb" in node.kinds, key
        assert ("parquet" in node.kinds) == (layer in {"bronze", "gold"}), key
        schema = node.metadata.get("dagster/column_schema")
        assert schema is not None and schema.columns, key
        assert all(column.description for column in schema.columns), key
        expected_tag = DAILY if node.is_partitioned else WHOLE_HISTORY
        assert node.tags.get(PARTITIONING_TAG) == expected_tag, key
        if node.is_partitioned:
            assert node.partitions_def == daily_partitions, key


def test_every_table_is_a_named_function_and_no_lambda_declares_one():
    for asset_def in definitions.defs.assets:
        function = asset_def.op.compute_fn.decorated_fn.__name__
        assert not function.startswith("_"), (asset_def.key, function)
        if asset_def.key.path[0] in {"silver", "gold"} and function != "latest_versions":
            assert function == asset_def.key.path[-1], (asset_def.key, function)
    for path in PACKAGE.rglob("*.py"):
        if "synthetic" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        sort_keys = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.keyword) and node.arg == "key"
        }
        lambdas = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Lambda) and id(node) not in sort_keys
        ]
        assert not lambdas, f"{path.relative_to(PACKAGE)} has lambdas at lines {lambdas}"


def test_every_asset_links_to_the_function_that_builds_it(graph):
    """The UI's asset page opens an asset's code from its `dagster/code_references` (seen in
    a UI audit: none was set, and Dagster's own `with_source_code_references` named the
    lakehouse's wrappers): a domain's table, its function in the domain's folder; a factory's
    (bronze, latest versions), the factory's."""
    for asset_def in definitions.defs.assets:
        key = asset_def.key
        references = graph.get(key).metadata.get("dagster/code_references")
        assert references is not None, key
        (reference,) = references.code_references
        path = Path(reference.file_path)
        assert path.is_absolute() and path.is_relative_to(PACKAGE), (key, path)
        lines = path.read_text().splitlines()[reference.line_number - 1 :]
        assert lines[0].lstrip().startswith(("@", "def ")), (key, lines[0])
        (function,) = [line for line in lines[:40] if line.lstrip().startswith("def ")][:1]
        if path.name == "asset_factories.py":
            continue
        assert path.parent.name == graph.get(key).group_name, (key, path)
        assert f"def {key.path[-1]}(" in function, (key, function)


def test_no_domain_is_listed_outside_its_folder():
    """Domain names appear in code only inside their own folder (and in tests of them)."""
    domains = definitions.domain_names()
    for path in [*PACKAGE.glob("*.py"), *PACKAGE.glob("lakehouse/*.py")]:
        text = path.read_text()
        for domain in domains:
            assert f'"{domain}"' not in text, f"{path.relative_to(PACKAGE)} names {domain}"


def test_every_landed_table_has_its_bronze_checks(graph):
    check_keys = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    bronze = [k for k in graph.get_all_asset_keys() if k.path[0] == "bronze"]
    for key in bronze:
        assert (key.to_user_string(), NON_EMPTY) in check_keys, key
    reconciled = [name for _, name in check_keys if name == RECONCILES_WITH_BRONZE]
    assert len(reconciled) == len(bronze)


def test_error_checks_block_and_warn_checks_do_not(graph):
    for spec, _ in every_check_spec():
        if spec.name == "column_schema_change":  # WARN, not configurable
            assert not spec.blocking, spec.key
        if spec.name in (RECONCILES_WITH_BRONZE, "unique_key", "row_count"):
            assert spec.blocking, spec.key


def _config_fields(config_schema) -> dict:
    return getattr(config_schema.config_type, "fields", {}) if config_schema else {}


def _configured_severity(config_schema) -> bool:
    return "severity" in _config_fields(config_schema)


def test_every_check_whose_severity_is_config_is_blocking():
    """Raised to ERROR, a band stops what is downstream, as every ERROR does; at its default
    WARN it blocks nothing (tested in lakehouse/test_checks.py)."""
    configured = []
    for asset_def in definitions.defs.assets:
        fields = _config_fields(asset_def.op.config_schema)
        for spec in asset_def.check_specs:
            if spec.name in fields and _configured_severity(fields[spec.name]):
                configured.append(spec)
    for check in definitions.defs.asset_checks:
        if _configured_severity(check.op.config_schema):
            configured.extend(check.check_specs)
    names = {spec.name for spec in configured}
    assert {"noise_ratio_in_band", "reject_ratio", "breach_share_in_band", NON_EMPTY} <= names
    assert all(spec.blocking for spec in configured), [s.key for s in configured if not s.blocking]


def test_every_asset_keeps_the_output_type_its_function_declares():
    """A multi-asset (an asset with checks) does not infer its output's type as `@asset`
    does. `silver_from_bronze` hands a range to the warehouse a day at a time only when
    the output is declared `DayTables`: without the type, a 14-day CRM range held every
    day in memory (1.5 GB instead of 0.9)."""
    import inspect
    import typing

    from cx_assets.lakehouse.io_managers import DayTables

    streaming = []
    for asset_def in definitions.defs.assets:
        function = inspect.unwrap(asset_def.op.compute_fn.decorated_fn)
        returned = typing.get_type_hints(function).get("return")
        if typing.get_origin(returned) is Output:
            (returned,) = typing.get_args(returned)
        declared = asset_def.op.output_defs[0].dagster_type
        if isinstance(returned, type):
            assert declared.typing_type is returned, (asset_def.key, declared)
        if returned is DayTables:
            streaming.append(asset_def.key.to_user_string())
    assert "silver/crm_interactions" in streaming


def test_a_tables_declared_grain_is_its_whole_key():
    """Seen in an audit of the UI: a table of one row a day showed the grain `[]`, where its
    unique_key check names (date)."""
    from dagster import AssetKey

    from cx_assets.definitions import defs
    from cx_assets.lakehouse.assets import GRAIN

    def grain(key: str) -> list:
        spec = defs.resolve_asset_graph().get(AssetKey(key.split("/")))
        return spec.metadata[GRAIN]

    assert grain("gold/calls_kpis_daily") == ["date"]
    assert grain("gold/calls_performance") == ["date", "call_id"]
    assert grain("silver/crm_interactions") == ["interaction_id"]  # unique over all days
    assert grain("gold/crm_cx_volumetrics") == ["owner_id", "company_id"]  # whole history
