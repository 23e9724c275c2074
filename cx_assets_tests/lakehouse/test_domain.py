"""What a domain's definitions refuse to load (`lakehouse/domain.py`): an input whose window
its two tables cannot have, and an asset of another group."""

from __future__ import annotations

import types

import pandas as pd
import pytest
from dagster import asset

from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.domain import domain_definitions
from cx_assets.lakehouse.inputs import all_days, same_day, whole_table
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.partitions import daily_partitions

GROUP = "domain_test"


@lake_asset("silver", group=GROUP)
def answers(context) -> pd.DataFrame:
    """Date-grained."""
    return pd.DataFrame()


@lake_asset("gold", group=GROUP, partitioned=False, ins={"rows": all_days(answers)})
def answers_overall(rows: TableRef) -> pd.DataFrame:
    """Whole history, reading every day: fits."""
    return pd.DataFrame()


def _domain(*assets) -> types.ModuleType:
    module = types.ModuleType("domain_test_assets")
    for asset_def in assets:
        setattr(module, asset_def.key.path[-1], asset_def)
    return module


def test_a_domain_whose_windows_fit_loads():
    defs = domain_definitions(GROUP, _domain(answers, answers_overall))
    assert {key.to_user_string() for asset_def in defs.assets for key in asset_def.keys} == {
        "silver/answers", "gold/answers_overall",
    }  # fmt: skip
    assert [job.name for job in defs.jobs] == [f"{GROUP}_daily"]


@lake_asset("gold", group=GROUP, partitioned=False, ins={"rows": same_day(answers)})
def overall_by_day(rows: TableRef) -> pd.DataFrame:
    """Whole history, reading the days of a step it does not have."""
    return pd.DataFrame()


@lake_asset("gold", group=GROUP, ins={"rows": whole_table(answers)})
def daily_of_whole_table(rows: TableRef) -> pd.DataFrame:
    """Date-grained, reading a date-grained table without saying which days."""
    return pd.DataFrame()


def test_inputs_whose_window_does_not_fit_are_refused_naming_each():
    """Found by adding a domain: a whole-history table reading `same_day` failed its step in
    Dagster's partition code, naming neither table; `whole_table` of a date-grained one
    read some days without saying which."""
    with pytest.raises(ValueError) as refused:
        domain_definitions(GROUP, _domain(answers, overall_by_day, daily_of_whole_table))
    assert str(refused.value) == (
        "inputs whose window does not fit: gold/daily_of_whole_table reads silver/answers as "
        "whole_table, but it is date-grained: read it with same_day, with_days_before or "
        "all_days; gold/overall_by_day reads silver/answers by day, but is a whole-history "
        "table: read it with all_days"
    )


@asset(
    key=["gold", "after_answers"], group_name=GROUP, deps=[answers],
    partitions_def=daily_partitions, io_manager_key="gold_io_manager",
)  # fmt: skip
def after_answers() -> None:
    """Date-grained, after the answers of its day without reading them (`deps=`)."""


def test_an_upstream_only_depended_on_takes_dagsters_default_window():
    """Found in review: a `deps=` upstream has no `AssetIn` to give a window, and was refused
    as a whole_table read."""
    domain_definitions(GROUP, _domain(answers, after_answers))


@lake_asset("gold", group="another_domain", partitioned=False)
def stranger(context) -> pd.DataFrame:
    """Of another group."""
    return pd.DataFrame()


def test_an_asset_of_another_group_is_refused():
    with pytest.raises(ValueError, match=r"hold assets of another group: \['gold/stranger'\]"):
        domain_definitions(GROUP, _domain(answers, stranger))
