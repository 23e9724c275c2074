"""The merged Definitions: they load, as one graph or one domain at a time, and they match
the reviewed snapshot of the graph.

The snapshot (`snapshots/definitions.txt`) pins every asset key with its group,
partitioning, storage, inputs (with their partition windows) and grain, every check with its
severity contract and run config defaults (a band's bounds), and every job, sensor and
schedule with what it targets, so any change to the graph is a reviewed diff. After an intended change, regenerate it with
`UPDATE_SNAPSHOTS=1 pytest cx_assets_tests/test_definitions.py` and review the diff. The
lakehouse conventions every asset follows are tested in `test_conventions.py`, what the
daemon runs by itself in `test_automation.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import AllPartitionMapping, AssetKey, TimeWindowPartitionMapping

from cx_assets import definitions
from cx_assets.lakehouse.assets import GRAIN, GRAIN_ACROSS_DAYS
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets_tests.merged_definitions import (
    asset_graph,
    check_config_defaults,
    every_check_spec,
)

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.txt"

graph = pytest.fixture(asset_graph, name="graph", scope="module")


def _window(mapping) -> str:
    if mapping is None:
        return "default"
    if isinstance(mapping, AllPartitionMapping):
        return "all_days"
    if isinstance(mapping, TimeWindowPartitionMapping):
        return f"days[{mapping.start_offset},{mapping.end_offset}]"
    return type(mapping).__name__


def describe_graph(graph) -> str:
    """Asset keys, checks, jobs, sensors and schedules, one sorted line each."""
    lines = []
    for asset_def in definitions.defs.assets:
        key = asset_def.key
        node = graph.get(key)
        inputs = ", ".join(
            f"{dep.to_user_string()} {_window(asset_def.get_partition_mapping(dep))}"
            for dep in sorted(asset_def.dependency_keys, key=AssetKey.to_user_string)
        )
        # A table's grain is its unique_key check's key: a column added to it loosens
        # the check (found by mutation testing: the forecast's grain with `forecast` passed).
        declared = asset_def.metadata_by_key.get(key, {})
        grain = declared.get(GRAIN)
        lines.append(
            f"asset {key.to_user_string()} group={node.group_name} "
            f"partitioned={node.is_partitioned} storage={asset_def.get_io_manager_key_for_asset_key(key)} "
            f"inputs=[{inputs}]"
            + (f" grain=[{', '.join(grain)}]" if grain else "")
            + (" across_days" if declared.get(GRAIN_ACROSS_DAYS) else "")
        )
    # A threshold changed in code is a reviewed diff here (found by adding a domain).
    defaults = check_config_defaults()
    for spec, step in every_check_spec():
        config = defaults.get((spec.asset_key.to_user_string(), spec.name))
        said = " ".join(f"{name}={value}" for name, value in sorted((config or {}).items()))
        lines.append(
            f"check {spec.asset_key.to_user_string()}:{spec.name} blocking={spec.blocking} "
            f"step={step}" + (f" config: {said}" if said else "")
        )
    for job in definitions.defs.jobs:
        selected = sorted(key.to_user_string() for key in job.selection.resolve(graph))
        lines.append(f"job {job.name} assets=[{', '.join(selected)}]")
    for sensor in definitions.defs.sensors:
        if sensor.asset_selection is None:
            target = f"job={sensor.job_name}"
        else:
            selected = sorted(k.to_user_string() for k in sensor.asset_selection.resolve(graph))
            target = f"assets=[{', '.join(selected)}]"
        lines.append(f"sensor {sensor.name} {target} default={sensor.default_status.value}")
    for schedule in definitions.defs.get_repository_def().schedule_defs:
        lines.append(
            f"schedule {schedule.name} job={schedule.job_name} cron={schedule.cron_schedule}"
        )
    return "\n".join(sorted(lines)) + "\n"


def test_the_graph_matches_the_reviewed_snapshot(graph):
    current = describe_graph(graph)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), (
        "the asset graph changed: review it, then UPDATE_SNAPSHOTS=1 to accept"
    )


def test_definitions_load_with_a_domain_per_folder(graph):
    definitions.defs.validate_loadable(definitions.defs)
    domains = definitions.domain_names()
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == set(domains)
    for job in [*(f"{domain}_daily" for domain in domains), "daily_partitions"]:
        assert definitions.defs.resolve_job_def(job).partitions_def == daily_partitions, job


def test_the_definitions_load_without_a_warning():
    """`dagster dev`, the daemon, each run process and `dagster asset materialize` load the
    definitions; the preview and beta APIs used on purpose printed 37 warnings each time."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import cx_assets.definitions"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Warning" not in result.stderr, result.stderr[:2000]


def test_every_job_runs_in_threads_of_one_process_on_utc_days():
    """A process per step costs ~2 s each and cannot share the warehouse file; the landing
    sensors, the CLI and the UI all take a day as a UTC date (`partitions.is_partition_day`
    and the folders' names)."""
    assert daily_partitions.timezone == "UTC"
    names = [job.name for job in definitions.defs.jobs]
    assert {"daily_partitions", "whole_history", "crm_daily"} <= set(names)
    for name in names:
        assert definitions.defs.resolve_job_def(name).executor_def.name == "threads", name
    # The job the UI's Materialize button and `dagster asset materialize` run: the executor
    # is the definitions', not only the named jobs'.
    assert definitions.defs.resolve_implicit_global_asset_job_def().executor_def.name == "threads"


@pytest.mark.parametrize(
    ("select", "domains"),
    [
        ("group:calls", ["calls"]),
        ("  group:crm  ", ["crm"]),
        ("group:digital or group:calls", ["calls", "digital"]),
        ("group:calls or group: support", ["calls", "support"]),
        # anything else is resolved by Dagster against every domain
        (None, "all"),
        ("group:nope", "all"),
        ("group:calls or group:nope", "all"),
        ("group:calls+", "all"),
        ("+group:calls", "all"),
        ("group:calls and key:gold/*", "all"),
        ("key:gold/calls_performance", "all"),
        ("tag:cx/partitioning=daily", "all"),
    ],
)
def test_a_selection_of_groups_loads_those_domains_alone(select, domains):
    from cx_assets.domains import domains_for_selection

    expected = definitions.domain_names() if domains == "all" else domains
    assert domains_for_selection(select) == expected


@pytest.mark.parametrize("domain", definitions.domain_names())
def test_a_domains_run_plan_is_the_same_with_that_domain_alone(graph, domain):
    from dagster import AssetSelection

    from cx_assets.cli import RunPlan

    plan = RunPlan.resolve(f"group:{domain}")
    assert {key.path[-1] for key in plan.defs.resolve_asset_graph().get_all_asset_keys()} == {
        key.path[-1] for key in graph.get_all_asset_keys() if graph.get(key).group_name == domain
    }
    selected = AssetSelection.groups(domain).resolve(graph)
    partitioned = {key for key in selected if graph.get(key).is_partitioned}
    downstream = AssetSelection.assets(*partitioned).downstream().resolve(graph)
    assert (plan.selected, plan.partitioned, plan.rollups) == (
        selected,
        partitioned,
        {key for key in selected | downstream if not graph.get(key).is_partitioned},
    )


def test_a_run_of_one_domain_imports_no_other_domain():
    import subprocess
    import sys

    probe = (
        "import sys; from cx_assets.cli import RunPlan; RunPlan.resolve('group:calls'); "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('cx_assets.')}))"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = eval(result.stdout)  # a printed list of names
    assert "calls" in loaded
    others = set(definitions.domain_names()) - {"calls"}
    assert len(others) >= 3 and not others & set(loaded), loaded


def test_every_landed_table_holding_keyed_hashes_records_the_key_of_its_days():
    """A silver table of a landed source whose columns are keyed hashes (their schema says
    so) declares it, so the key of each day it writes is recorded and checked against the
    run's (`written_days`): left out, a changed `CX_HASH_KEY` splits its days unsaid."""
    from cx_assets.lakehouse.assets import RECONCILES_WITH, metadata_value
    from cx_assets.lakehouse.checks import ONE_HASH_KEY
    from cx_assets.lakehouse.written_days import KEYED_HASHES

    hashing, declared = set(), set()
    for asset_def in definitions.defs.assets:
        for key, metadata in asset_def.metadata_by_key.items():
            columns = metadata_value(metadata, "dagster/column_schema")
            said = " ".join(column.description or "" for column in getattr(columns, "columns", []))
            if RECONCILES_WITH in metadata and "CX_HASH_KEY" in said:
                hashing.add(key.to_user_string())
            if metadata_value(metadata, KEYED_HASHES):
                declared.add(key.to_user_string())
                assert ONE_HASH_KEY in {spec.name for spec in asset_def.check_specs}, key
    assert hashing == declared
    assert {"silver/crm_interactions", "silver/support_customer_versions"} <= declared


def test_the_hash_key_reaches_no_resource_config_nor_the_uis_snapshot(monkeypatch):
    """`CX_HASH_KEY` is read where a value is hashed (`privacy.hash_key`), never through a
    resource's config: config values show on the UI's resource and run pages, and are stored
    with every run."""
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    from cx_assets.domains import definitions_of, domain_names
    from cx_assets.lakehouse.privacy import keyed_hash

    probe = "s3cr3t-probe-of-the-hash-key"
    monkeypatch.setenv("CX_HASH_KEY", probe)
    assert keyed_hash("x") != keyed_hash("x", b"another key")  # the probe is the key in use
    defs = definitions_of(domain_names())

    for name, resource in defs.resources.items():
        assert probe not in str(resource.model_dump()), name
    snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    assert probe not in snapshot
