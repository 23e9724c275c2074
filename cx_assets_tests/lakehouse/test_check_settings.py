"""A check's settings given through Dagster's own ways (`materialize(run_config=)`, the
launchpad, `dagster asset materialize --config`, a schedule's or a sensor's run config):
refused when Dagster creates the run, before any step, naming the key, the value and what
is allowed, by the rule `cx-lakehouse run --config` applies to its file (`check_settings`).

Dagster's schema holds types only: each of these was taken, and the check then judged the
day by it (a band upside down failed every day, a `min_rows` of -5 judged as 0, a bound of
`true` as 1)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from dagster import DagsterInvalidConfigError, materialize

from cx_assets.calls import assets as calls
from cx_assets_tests.cli import BIN
from cx_assets_tests.conftest import QUIET

CALLS = [
    calls.bronze_transcripts,
    calls.calls_transcripts,
    calls.calls_performance,
    calls.calls_kpis_daily,
]
BRONZE, SILVER, GOLD = (
    "bronze__calls_transcripts",
    "silver__calls_transcripts",
    "gold__calls_kpis_daily",
)
SHARE, CONVERSION = "timed_on_file_day_share", "conversion_rate_in_band"

REFUSED = {
    "a band upside down": (
        GOLD, {CONVERSION: {"low": 0.5, "high": 0.2}},
        [f"{GOLD}:config:{CONVERSION}", "low 0.5 is above high 0.2", "no day would be inside"],
    ),
    "a low above the default high": (
        SILVER, {"reject_ratio": {"low": 0.01}},
        [f"{SILVER}:config:reject_ratio", "low 0.01 is above high 0.001 (its default)"],
    ),
    "a share band's bounds as percentages": (
        SILVER, {SHARE: {"low": 20, "high": 50}},
        [f"{SILVER}:config:{SHARE}", "low 20: a share, 0-1 (20% is 0.2)"],
    ),
    "a bound written yes": (
        SILVER, {"reject_ratio": {"high": True}},
        [f"{SILVER}:config:reject_ratio", "high: True is not a number", "YAML reads"],
    ),
    "a bound NaN": (
        GOLD, {CONVERSION: {"low": float("nan")}},
        [f"{GOLD}:config:{CONVERSION}", "low: nan is not a number"],
    ),
    "a volume band's bounds as percentages": (
        BRONZE, {"volume_anomaly": {"low": 60, "high": 200}},
        [f"{BRONZE}:config:volume_anomaly", "low 60: a multiple of the weekday's median",
         "60% is 0.6"],
    ),
    "a volume band below the median": (
        BRONZE, {"volume_anomaly": {"low": 0.2, "high": 0.8}},
        ["volume_anomaly", "high 0.8", "1 or more", "a day at its median would be outside"],
    ),
    "a volume band's low below 0": (
        BRONZE, {"volume_anomaly": {"low": -1}},
        ["volume_anomaly", "low -1: a multiple of the weekday's median, low 0-1"],
    ),
    "a volume check's min_rows below 0": (
        BRONZE, {"volume_anomaly": {"min_rows": -5}},
        [f"{BRONZE}:config:volume_anomaly", "min_rows: -5: should be at least 0"],
    ),
    "an emptied-column check's min_expected below 0": (
        SILVER, {"no_column_emptied": {"min_expected": -1}},
        [f"{SILVER}:config:no_column_emptied", "min_expected: -1: should be at least 0"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_checks_setting_out_of_bounds_is_refused_when_the_run_is_created(case, lake):
    step, config, named = REFUSED[case]
    with pytest.raises(DagsterInvalidConfigError) as refused:
        materialize(
            CALLS,
            partition_key="2024-02-01",
            resources=lake.resources,
            instance=lake.instance,
            run_config={**QUIET, "ops": {step: {"config": config}}},
        )
    for words in named:
        assert words in str(refused.value), str(refused.value)
    assert not lake.instance.get_runs()  # no run, no step: nothing judged by it


def test_settings_at_their_defaults_and_within_bounds_are_taken(lake):
    """No false refusal: bands moved inside their bounds, bounds of 0 and 1, floors of 0."""
    config = {
        BRONZE: {"config": {"volume_anomaly": {"low": 1, "high": 1, "min_rows": 0}}},
        SILVER: {"config": {"no_column_emptied": {"min_expected": 0}, SHARE: {"low": 0}}},
        GOLD: {"config": {CONVERSION: {"low": 0.0, "high": 1, "severity": "ERROR"}}},
    }
    result = materialize(
        CALLS,
        partition_key="2024-02-01",
        resources=lake.resources,
        instance=lake.instance,
        run_config={**QUIET, "ops": config},
    )
    assert result.success


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"volume_anomaly": {"low": 60, "high": 200}}, ["volume_anomaly", "low 60", "60% is 0.6"]),
        ({"volume_anomaly": {"high": True}}, ["volume_anomaly", "high: True is not a number"]),
    ],
)  # fmt: skip
def test_dagsters_own_cli_refuses_a_checks_setting_out_of_bounds_before_any_step(
    tmp_path, config, named
):
    """`dagster asset materialize --config-json`, as the launchpad launches: the day was
    built (exit 0) and its volume judged by a band without 1, or a bound of 1."""
    from dagster import DagsterInstance

    home = tmp_path / "dagster_home"
    home.mkdir()
    environment = {
        **os.environ,
        "CX_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(home),
    }
    run_config = {"ops": {"bronze__calls_transcripts": {"config": config}}}
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "cx_assets.definitions",
         "--select", "bronze/calls_transcripts", "--partition", "2024-02-01",
         "--config-json", json.dumps(run_config)],
        env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0, result.stdout + result.stderr[-3000:]
    assert "ops:bronze__calls_transcripts:config:volume_anomaly" in result.stderr
    for words in named:
        assert words in result.stderr, result.stderr[-3000:]
    with DagsterInstance.from_config(str(home)) as instance:
        assert not instance.get_runs()


# A step of each kind that declared no config: a model, and a check of its own step.
WITHOUT_SETTINGS = {
    "model__support_volume_forecaster": "forecast_fell_back_to_baseline",
    "model__support_ticket_classifier": "classifier_beats_baselines",
    "gold__support_ticket_analytics_sla_flags_consistent": "severity",
}


@pytest.mark.parametrize("step", sorted(WITHOUT_SETTINGS))
def test_settings_under_a_step_that_has_none_are_refused(step):
    """Dagster took any config for a step that declared none, and ignored it: a model
    check's severity set under its model's step (each model check has a step of its own)
    was judged at WARN, unsaid, where `cx-lakehouse run --config` refused it. Such a step
    now declares no settings, which Dagster's schema holds, so the launchpad's editor marks
    the key as it is typed."""
    from dagster import validate_run_config

    from cx_assets.domains import DAILY_JOB, domain_names, domains_definitions

    job = domains_definitions(domain_names()).resolve_job_def(DAILY_JOB)
    setting = WITHOUT_SETTINGS[step]
    config = {"ops": {step: {"config": {setting: {"severity": "ERROR"}}}}}
    with pytest.raises(DagsterInvalidConfigError) as refused:
        validate_run_config(job, config)
    assert f'Received unexpected config entry "{setting}" at path root:ops:{step}:config' in str(
        refused.value
    ), str(refused.value)
    validate_run_config(job, {"ops": {step: {"config": {}}}})  # nothing set: taken
