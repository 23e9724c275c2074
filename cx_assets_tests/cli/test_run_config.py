"""`cx-lakehouse run --config FILE`: the launchpad's run config (bands and severities of the
checks, a step's own settings) for the runs the command launches, checked before anything
runs."""

from __future__ import annotations

import json

import pytest

from cx_assets.lakehouse.run_lock import CONFIG_TAG
from cx_assets_tests.cli import END, START, cli, landed

pytestmark = pytest.mark.long_module

# A band no small digital day is inside, raised to ERROR; and settings of a step of another
# domain, which this run does not define (Dagster refused such config outright).
RAISED = {
    "ops": {
        "silver__digital_leakage_calls": {
            "config": {"leakage_share_in_band": {"low": 0.99, "high": 1.0, "severity": "ERROR"}}
        },
        "gold__crm_noise_summary": {"config": {"noise_ratio_in_band": {"severity": "ERROR"}}},
    }
}


def test_a_band_raised_to_error_by_a_config_file_fails_the_run(tmp_path):
    """The band's WARN became an ERROR only through the file: the run fails, exit 1, naming
    the check as an ERROR, and the file's settings for steps outside the run are let be.

    The second of two landed digital days is run, from another folder than the file's:
    the command the run prints to build the first, never built, with it carries the file
    (it printed `cx-lakehouse run --date D1 --to D2 --select group:digital` alone, whose
    run judged every check at its defaults), as the run's record in the UI names it."""
    import shlex

    from dagster import DagsterInstance, RunsFilter

    data_dir = landed(tmp_path / "data", "digital", days=2)
    (tmp_path / "bands").mkdir()
    config = tmp_path / "bands" / "my bands.json"
    config.write_text(json.dumps(RAISED))
    ran = cli(
        "run", "--date", END, "--select", "group:digital", "--config", "bands/my bands.json",
        data_dir=data_dir, cwd=str(tmp_path),
    )  # fmt: skip
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "ERROR silver/digital_leakage_calls:leakage_share_in_band" in ran.stdout
    assert ran.stdout.rstrip().endswith("FAILED")
    command = f"cx-lakehouse run --date {START} --to {END} --select group:digital"
    assert f"  {command} --config {shlex.quote(str(config))}\n" in ran.stdout, ran.stdout
    with DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        (run,) = instance.get_runs(RunsFilter(tags={"cx/trigger": "cli"}))
    assert run.tags[CONFIG_TAG] == str(config)


BAD_FILES = {
    "no such op": (
        "ops:\n  gold__crm_noise_summry:\n    config:\n      noise_ratio_in_band:\n"
        "        severity: ERROR\n",
        ["gold__crm_noise_summry", "gold__crm_noise_summary"],
    ),
    "no such check": (
        "ops:\n  gold__crm_noise_summary:\n    config:\n      noise_band:\n        low: 0.2\n",
        ["gold__crm_noise_summary", "noise_band", "noise_ratio_in_band"],
    ),
    "low above high": (
        '{"ops": {"gold__crm_noise_summary": {"config": {"noise_ratio_in_band": '
        '{"low": 0.5, "high": 0.2}}}}}',
        ["noise_ratio_in_band", "low 0.5", "high 0.2"],
    ),
    "low above the default high": (
        "ops:\n  gold__crm_noise_summary:\n    config:\n      noise_ratio_in_band:\n"
        "        low: 0.6\n",
        ["noise_ratio_in_band", "low 0.6", "high 0.5"],
    ),
    "a share band's bounds as percentages": (
        "ops:\n  gold__crm_noise_summary:\n    config:\n      noise_ratio_in_band:\n"
        "        low: 20\n        high: 50\n",
        ["noise_ratio_in_band", "low 20", "a share", "0-1", "0.2"],
    ),
    "a share band's high as a percentage": (
        "ops:\n  gold__support_ticket_analytics_breach_share_in_band:\n    config: {high: 35}\n",
        ["breach_share_in_band", "high 35", "a share", "0.35"],
    ),
    # Taken: the volume check's bounds are multiples of the weekday's median, and a band
    # without 1 judged every day at its median outside (60 and 200, meant as percentages).
    "a volume band's bounds as percentages": (
        "ops:\n  bronze__calls_transcripts:\n    config:\n"
        "      volume_anomaly: {low: 60, high: 200}\n",
        ["volume_anomaly: low 60", "multiple of the weekday's median", "60% is 0.6"],
    ),
    "a volume band below the median": (
        "ops:\n  bronze__calls_transcripts:\n    config:\n"
        "      volume_anomaly: {low: 0.2, high: 0.8}\n",
        ["volume_anomaly: high 0.8", "1 or more", "at its median would be outside"],
    ),
    "a volume band's low below 0": (
        "ops:\n  bronze__calls_transcripts:\n    config:\n      volume_anomaly: {low: -1}\n",
        ["volume_anomaly: low -1", "low 0-1"],
    ),
    "severity not WARN or ERROR": (
        "ops:\n  gold__calls_kpis_daily:\n    config:\n      conversion_rate_in_band:\n"
        "        severity: FATAL\n",
        ["conversion_rate_in_band", "severity", "'FATAL'", "WARN or ERROR"],
    ),
    "a bound not a number": (
        "ops:\n  gold__calls_kpis_daily:\n    config:\n      conversion_rate_in_band:\n"
        "        high: lots\n",
        ["conversion_rate_in_band", "high", "'lots'"],
    ),
    # YAML reads `yes` (and `on`, `true`) as true, which Dagster took as the number 1: a
    # reject ratio's high of 1 let every day by, unsaid.
    "a bound written yes": (
        "ops:\n  silver__calls_transcripts:\n    config:\n      reject_ratio: {high: yes}\n",
        ["reject_ratio: high: True is not a number", "YAML reads"],
    ),
    "a step's own setting written true": (
        "ops:\n  gold__support_ticket_categories:\n    config: {review_threshold: true}\n",
        ["gold__support_ticket_categories: config: review_threshold: True is not a number"],
    ),
    "a bound NaN": (
        "ops:\n  gold__calls_kpis_daily:\n    config:\n      conversion_rate_in_band:\n"
        "        low: .nan\n",
        ["conversion_rate_in_band", "low", "nan", "not a number"],
    ),
    "a model check's severity": (
        "ops:\n  model__support_ticket_classifier_classifier_beats_baselines:\n"
        "    config:\n      severity: error\n",
        ["classifier_beats_baselines", "'error'", "WARN or ERROR"],
    ),
    "a step's own setting out of its bounds": (
        "ops:\n  gold__support_ticket_categories:\n    config:\n      review_threshold: 1.5\n",
        ["gold__support_ticket_categories", "review_threshold: 1.5: input should be less than"],
    ),
    "a whole-number setting below its least": (
        "ops:\n  gold__support_ticket_analytics_breach_share_in_band:\n"
        "    config: {window_days: 0}\n",
        [
            "gold__support_ticket_analytics_breach_share_in_band",
            "window_days",
            "0",
            "at least 1",
            "a window of no days",
        ],
    ),
    # Taken: a median of records, or a count of values expected, is never below 0, so the
    # check judged every day as with 0, and said nothing of the file's -5.
    "a volume check's min_rows below 0": (
        "ops:\n  bronze__calls_transcripts:\n    config:\n      volume_anomaly: {min_rows: -5}\n",
        ["bronze__calls_transcripts", "volume_anomaly: min_rows: -5", "at least 0", "records"],
    ),
    "an emptied-column check's min_expected below 0": (
        "ops:\n  silver__calls_transcripts:\n    config:\n"
        "      no_column_emptied: {min_expected: -1}\n",
        ["no_column_emptied: min_expected: -1", "at least 0", "values"],
    ),
    "a check's settings under its table's step, where the check has a step of its own": (
        "ops:\n  model__support_volume_forecaster:\n    config:\n"
        "      forecast_fell_back_to_baseline: {severity: ERROR}\n",
        ["model__support_volume_forecaster:", "model__support_volume_forecaster_forecast_fell"],
    ),
    # Said as the line's end: a step no check has a step of its own under names none.
    "a check's settings under a step that has none": (
        "ops:\n  silver__support_tickets:\n    config:\n      unique_key: {severity: ERROR}\n",
        ["silver__support_tickets", "the step has no settings\n"],
    ),
    "a step's settings beside its config": (
        "ops:\n  gold__calls_kpis_daily:\n    config: {}\n    conversion_rate_in_band: {}\n",
        ["ops: gold__calls_kpis_daily: a step's settings go under `config:`"],
    ),
    "a check's settings a number": (
        "ops:\n  gold__calls_kpis_daily:\n    config:\n      conversion_rate_in_band: 0.5\n",
        ["config: conversion_rate_in_band: a mapping of high, low, severity"],
    ),
    "a step's own setting a word": (
        "ops:\n  gold__support_ticket_categories:\n    config: {review_threshold: high}\n",
        ["config: review_threshold: 'high' is not a number"],
    ),
    # A step misspelt whose checks take no settings: the step meant is named all the same.
    "no such step, near one without settings": (
        "ops:\n  silver__support_tikets: {}\n",
        ["silver__support_tikets: no step", "(did you mean silver__support_tickets?)"],
    ),
    "a whole-number setting with a point": (
        "ops:\n  gold__support_ticket_analytics_breach_share_in_band:\n"
        "    config: {window_days: 1.5}\n",
        ["config: window_days: 1.5 is not a whole number"],
    ),
    "a check's settings left empty": (
        "ops:\n  gold__calls_kpis_daily:\n    config:\n      conversion_rate_in_band:\n"
        "        # severity: ERROR\n",
        ["gold__calls_kpis_daily: config: conversion_rate_in_band", "nothing under it"],
    ),
    "a step's config left empty": (
        "ops:\n  silver__support_tickets:\n    config:\n",
        ["silver__support_tickets: config", "nothing under it"],
    ),
    # It was told its settings go under `config:`, which the commented-out lines held.
    "a step's key left empty": (
        "ops:\n  gold__calls_kpis_daily:\n  #  config:\n"
        "  #    conversion_rate_in_band: {severity: ERROR}\n",
        ["ops: gold__calls_kpis_daily: nothing under it"],
    ),
    "a step given twice": (
        "ops:\n  gold__calls_kpis_daily:\n    config:\n      conversion_rate_in_band:\n"
        "        severity: ERROR\n  gold__calls_kpis_daily:\n    config: {}\n",
        ["gold__calls_kpis_daily", "twice", "line 2", "line 6"],
    ),
    "not run config": ("noise_ratio_in_band: 0.2\n", ["noise_ratio_in_band", "ops"]),
    # The launchpad's "Scaffold all default config" writes the resources (its data root)
    # and the executor after the steps: the refusal said "not ops, resources, execution".
    "the launchpad's whole scaffold": (
        "ops:\n  gold__calls_kpis_daily:\n    config:\n      conversion_rate_in_band:\n"
        "        severity: ERROR\nresources:\n  lake:\n    config:\n      data_dir: /srv/a\n"
        "execution:\n  config:\n    max_concurrent: 2\n",
        ["resources, execution: not taken", "are the command's own", "leave them out"],
    ),
    "the launchpad's loggers": (
        "ops: {}\nloggers:\n  console:\n    config:\n      log_level: DEBUG\n",
        ["loggers: not taken", "; loggers is the command's own"],
    ),
    "ops a number": ("ops: 5\n", ["ops: a mapping of steps to their config"]),
    "not YAML": ("ops: {gold__crm_noise_summary: [\n", ["not YAML or JSON"]),
    "indented with a tab": (
        "ops:\n\tgold__calls_kpis_daily:\n",
        ["not YAML or JSON (line 2: ", "found character '\\t' that cannot start any token"],
    ),
    "two documents": (
        "ops: {}\n---\nops: {}\n",
        ["(line 2: ", "expected a single document in the stream, but found another document"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_config_file_with_a_mistake_is_refused_naming_it_before_anything_runs(
    case, tmp_path, monkeypatch, capsys
):
    from cx_assets import cli as cli_module

    text, named = BAD_FILES[case]
    config = tmp_path / "checks.yaml"
    config.write_text(text)
    data_dir = tmp_path / "data"  # never created: the run is refused before it starts
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    arguments = ["run", "--date", START, "--select", "group:calls", "--config", str(config)]
    assert cli_module.main(arguments) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"cx-lakehouse: --config {config}: "), said
    assert len(said.strip().splitlines()) == 1, said
    for word in named:
        assert word in said, said
    assert not data_dir.exists()


def test_a_config_file_not_in_utf8_is_refused_naming_its_line(tmp_path):
    """A comment saved by an editor in Latin-1 ('São Paulo' on line 3) was refused as
    "'utf-8' codec can't decode byte 0xe3 in position 41: invalid continuation byte",
    a byte's position the operator had to count to."""
    from cx_assets.cli import run_config
    from cx_assets.cli.options import UsageError

    path = tmp_path / "checks.yaml"
    path.write_bytes(
        "ops:\n  gold__crm_noise_summary:\n    # São Paulo's evenings\n    config: {}\n".encode(
            "latin-1"
        )
    )
    with pytest.raises(UsageError) as refused:
        run_config.read(str(path))
    assert str(refused.value) == (
        f"--config {path}: not UTF-8 text (line 3: byte 0xe3): save it as UTF-8"
    )


def test_a_config_file_not_there_is_refused(tmp_path, monkeypatch, capsys):
    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    missing = tmp_path / "nowhere.yaml"
    assert cli_module.main(["run", "--date", START, "--config", str(missing)]) == 2
    said = capsys.readouterr().err
    assert f"--config {missing}: cannot be read (No such file or directory)\n" in said, said


def test_a_config_file_named_from_the_working_directory_is_read(tmp_path, monkeypatch):
    """A path relative to a working directory that exists is read from it, and `ops:` with
    every step under it commented out is no settings, not a mistake."""
    from cx_assets.cli import run_config

    (tmp_path / "checks.yaml").write_text("ops:\n#  gold__calls_kpis_daily: {}\n")
    monkeypatch.chdir(tmp_path)
    assert run_config.read("checks.yaml") == {"ops": {}}


@pytest.mark.parametrize("named", ["", "  "], ids=["empty", "spaces"])
def test_a_config_option_naming_no_file_is_refused(tmp_path, monkeypatch, capsys, named):
    """`--config "$CX_CHECKS"` with the variable unset ran every check at its defaults, as
    if no --config had been given (seen: exit 0, the operator's ERROR bands never applied)."""
    from cx_assets import cli as cli_module

    data_dir = tmp_path / "data"
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    arguments = ["run", "--date", START, "--select", "group:calls", "--config", named]
    assert cli_module.main(arguments) == 2
    said = capsys.readouterr().err
    assert said.startswith("cx-lakehouse: --config: ") and "no file" in said, said
    assert not data_dir.exists()


def test_a_config_option_given_twice_is_refused(tmp_path, monkeypatch, capsys):
    """`--config base.yaml --config raised.yaml` ran with the second file alone, the first's
    settings dropped without a word (Dagster's own `-c` takes several files, merged)."""
    from cx_assets import cli as cli_module

    data_dir = tmp_path / "data"
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    base, raised = tmp_path / "base.yaml", tmp_path / "raised.yaml"
    base.write_text("ops: {}\n")
    raised.write_text("ops: {}\n")
    arguments = ["run", "--date", START, "--select", "group:calls"]
    arguments += ["--config", str(base), "--config", str(raised)]
    assert cli_module.main(arguments) == 2
    said = capsys.readouterr().err
    assert said.startswith("cx-lakehouse: --config given twice"), said
    assert str(base) in said and str(raised) in said
    assert not data_dir.exists()


def test_the_config_file_docs_checks_md_shows_is_taken(tmp_path):
    """The page's example names steps and settings that exist, within their bounds."""
    import re

    import yaml

    from cx_assets.cli import run_config
    from cx_assets.domains import DAILY_JOB, domain_names, domains_definitions
    from cx_assets_tests.cli import REPO

    page = (REPO / "docs" / "checks.md").read_text()
    (example,) = re.findall(r"```yaml\n(.*?)```", page, flags=re.S)
    path = tmp_path / "checks.yaml"
    path.write_text(example)
    config = run_config.read(str(path))
    assert yaml.safe_load(example)["ops"]["gold__crm_noise_summary"]  # read, not skipped
    job = domains_definitions(domain_names()).resolve_job_def(DAILY_JOB)
    run_config.check(str(path), config, job)


def test_the_command_that_runs_a_stopped_run_again_names_its_config_file():
    from cx_assets.lakehouse.partitions import run_command

    assert run_command(START, None, "group:calls", config="my checks.yaml") == (
        f"cx-lakehouse run --date {START} --select group:calls --config 'my checks.yaml'"
    )
    assert run_command(START) == f"cx-lakehouse run --date {START}"


def test_every_steps_settings_written_out_at_their_defaults_are_taken(tmp_path):
    """No false refusal: a file giving every setting of every step its default (as the
    launchpad's scaffold writes them) passes the check."""
    from dagster._config import ConfigTypeKind

    from cx_assets.cli import run_config
    from cx_assets.domains import DAILY_JOB, domain_names, domains_definitions

    def defaults(field):
        if ConfigTypeKind.is_shape(field.config_type.kind):
            fields = field.config_type.fields.items()
            return {name: defaults(inner) for name, inner in fields if inner.default_provided}
        return field.default_value

    job = domains_definitions(domain_names()).resolve_job_def(DAILY_JOB)
    ops = {
        node.name: {"config": defaults(node.definition.config_schema.as_field())}
        for node in job.graph.nodes
        if node.definition.config_schema is not None
        and node.definition.config_schema.as_field().config_type.kind != ConfigTypeKind.ANY
    }
    assert len(ops) > 25  # every bronze and typed silver table, the bands, the model checks
    run_config.check("scaffold.yaml", {"ops": ops}, job)


@pytest.mark.parametrize(
    ("text", "high"),
    [
        (
            '{"ops": {"silver__calls_transcripts": {"config": {"reject_ratio": {"high": 1e-05}}}}}',
            1e-05,
        ),
        ("ops:\n  silver__calls_transcripts:\n    config:\n      reject_ratio: {high: 2.5E-4}\n",
         2.5e-4),
        ("ops:\n  silver__calls_transcripts:\n    config:\n      reject_ratio: {high: 1E+0}\n",
         1.0),
    ],
)  # fmt: skip
def test_a_number_written_with_an_exponent_is_a_number(text, high, tmp_path):
    """JSON's `1e-05` (Python's json.dumps of 0.00001) is a number, as the launchpad's YAML
    reads it too; PyYAML's YAML 1.1 read it as the text '1e-05', refused as not a number."""
    from cx_assets.cli import run_config
    from cx_assets.domains import DAILY_JOB, domain_names, domains_definitions

    path = tmp_path / "checks.json"
    path.write_text(text)
    config = run_config.read(str(path))
    assert config["ops"]["silver__calls_transcripts"]["config"]["reject_ratio"]["high"] == high
    job = domains_definitions(domain_names()).resolve_job_def(DAILY_JOB)
    run_config.check(str(path), config, job)


def test_settings_shared_through_a_yaml_merge_key_are_taken_and_may_be_overridden(tmp_path):
    """One ERROR band written once and merged into two steps (`<<: *raised`), one step
    overriding its `low`: valid YAML, taken by Dagster's own `-c FILE`; it was refused as
    'not YAML or JSON'."""
    from cx_assets.cli import run_config
    from cx_assets.cli.options import UsageError
    from cx_assets.domains import DAILY_JOB, domain_names, domains_definitions

    path = tmp_path / "checks.yaml"
    path.write_text(
        "ops:\n"
        "  gold__calls_kpis_daily:\n"
        "    config:\n"
        "      conversion_rate_in_band: &raised {low: 0.1, severity: ERROR}\n"
        "  gold__crm_noise_summary:\n"
        "    config:\n"
        "      noise_ratio_in_band: {<<: *raised, low: 0.3}\n"
    )
    config = run_config.read(str(path))
    assert config["ops"]["gold__crm_noise_summary"]["config"]["noise_ratio_in_band"] == {
        "low": 0.3,
        "severity": "ERROR",
    }
    job = domains_definitions(domain_names()).resolve_job_def(DAILY_JOB)
    run_config.check(str(path), config, job)
    # A key given twice beside a merge is still refused.
    path.write_text(
        "ops:\n  gold__calls_kpis_daily:\n    config:\n"
        "      conversion_rate_in_band: &raised {severity: ERROR}\n"
        "  gold__crm_noise_summary:\n    config:\n"
        "      noise_ratio_in_band: {<<: *raised, low: 0.3, low: 0.4}\n"
    )
    with pytest.raises(UsageError, match="low given twice"):
        run_config.read(str(path))


@pytest.mark.parametrize("given", [{}, {"config": {}}], ids=["no config", "config {}"])
@pytest.mark.parametrize(
    "step", ["gold__calls_kpis_daily", "gold__support_ticket_categories", "silver__support_tickets"]
)
def test_a_step_given_no_settings_is_taken(step, given, tmp_path):
    """A step given an empty mapping, no `config:` under it (`{"ops": {"<step>": {}}}`, as a
    script writing a file per step leaves one), is run config Dagster takes; it was refused
    as 'config: nothing under it (YAML reads that as null)', a key the file does not hold."""
    from cx_assets.cli import run_config
    from cx_assets.domains import DAILY_JOB, domain_names, domains_definitions

    path = tmp_path / "checks.json"
    path.write_text(json.dumps({"ops": {step: given}}))
    config = run_config.read(str(path))
    job = domains_definitions(domain_names()).resolve_job_def(DAILY_JOB)
    run_config.check(str(path), config, job)


def test_a_damaged_warehouse_met_by_a_run_given_a_config_file_is_built_anew_with_it():
    """The advice that builds a damaged warehouse anew from landing named the days to run
    as 'cx-lakehouse run --date FIRST --to LAST' alone in a run given --config, the one
    command such a run printed without its file."""
    from cx_assets.lakehouse.partitions import commands_carry_config
    from cx_assets.lakehouse.warehouse import damaged_file_error

    path = "/srv/cx/warehouse.duckdb"
    with commands_carry_config("/etc/cx/my bands.yaml"):
        error = damaged_file_error(path, OSError("IO Error: corrupt wal file"))
    assert error is not None
    assert (
        "(cx-lakehouse run --date FIRST --to LAST --config '/etc/cx/my bands.yaml') "
        "to build it anew"
    ) in str(error)
    assert "(cx-lakehouse run --date FIRST --to LAST) to build it anew" in str(
        damaged_file_error(path, OSError("IO Error: corrupt wal file"))
    )
