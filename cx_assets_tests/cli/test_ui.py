"""`cx-lakehouse ui`: Dagster's UI on loopback, a port in use said before anything starts,
and the served UI materializing and checking assets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from cx_assets_tests.cli import BIN, REPO, START, cli
from cx_assets_tests.ports import free_port


def test_ui_runs_dagster_dev_on_loopback_with_a_persistent_home(tmp_path, monkeypatch):
    from cx_assets import cli as cli_module

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = cli_module.prepare_dagster_home(tmp_path)
    command = cli_module.ui_command(3999)
    assert command[1:4] == ["-m", "dagster", "dev"]  # webserver and daemon together
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "3999"
    assert home == tmp_path / "dagster_home"
    assert os.environ["DAGSTER_HOME"] == str(home)
    config = (home / "dagster.yaml").read_text()
    # runs queue on the data root's lock, not on limits a killed run would hold for ever
    assert "default_limit" not in config and "max_concurrent_runs: 4" in config
    # The UI opens on its page, not under Dagster's "Join the community" dialog (the UI
    # asks the instance whether to show it).
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        assert (instance.nux_enabled, instance.telemetry_enabled) == (False, False)


def test_the_ui_and_workspace_yaml_serve_the_location_cli_runs_name():
    """`cx-lakehouse ui` and `dagster dev` from the repository root (workspace.yaml) load one
    code location under one name, the one `cx-lakehouse run` gives its runs: a job's page
    lists a run only under the location its run names."""
    from dagster._core.workspace.load_target import ModuleTarget, WorkspaceFileTarget

    from cx_assets import cli as cli_module
    from cx_assets.cli.servers import code_location_job_origin

    command = cli_module.ui_command(3999)
    module = command[command.index("-m", 2) + 1]
    (served,) = ModuleTarget(module, None, None, None).create_origins()
    (from_workspace,) = WorkspaceFileTarget([str(REPO / "workspace.yaml")]).create_origins()
    assert from_workspace.location_name == served.location_name
    origin = code_location_job_origin("daily_partitions")
    assert origin.location_name == served.location_name
    assert origin.repository_origin.get_label() == f"__repository__@{served.location_name}"


def test_pyproject_names_no_other_code_location_than_workspace_yaml():
    """`dagster dev` reads `[tool.dagster]` (and `dg` its `[tool.dg]`) in pyproject.toml
    before workspace.yaml: one added there would load the code under another name, and the
    CLI's runs would stop showing on its jobs' pages."""
    import tomllib

    import yaml

    tools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    (location,) = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"]
    module = location["python_module"]
    for table in ("dagster", "dg"):
        declared = tools.get(table, {})
        assert declared.get("module_name", module["module_name"]) == module["module_name"]
        assert (
            declared.get("code_location_name", module["location_name"]) == (module["location_name"])
        )
        assert declared.get("project", {}).get("root_module", "cx_assets") == "cx_assets"


@pytest.mark.parametrize("command", ["ui", "dashboard"])
def test_a_port_in_use_is_one_line_before_anything_starts(command, tmp_path, monkeypatch, capsys):
    """`dagster dev` went on running its daemon, without a UI, when its web server found the
    port taken; the command now refuses first, as for any mistake of its arguments."""
    from cx_assets import cli as cli_module

    def must_not_start(*args):
        raise AssertionError("started a server on a port in use")

    monkeypatch.setattr(os, "execvp", must_not_start)
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert cli_module.main([command, "--port", str(port)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"cx-lakehouse: port {port} on 127.0.0.1 is in use (Address already in use): stop "
        "what holds it, or choose another with --port"
    )


def make_with(target: str, assignment: str, data_dir) -> subprocess.CompletedProcess:
    """`make -s <target> <assignment>` in the repository on `data_dir`, as a user types it."""
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    environment.pop("MAKEFLAGS", None)
    return subprocess.run(
        # -o: .venv as it is (the one running the tests, as `make test` runs them)
        ["make", "-s", "-o", ".venv/.installed-stamp", target, assignment],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "variable"), [("ui", "UI_PORT"), ("dashboard", "DASHBOARD_PORT")]
)
def test_make_on_a_port_in_use_names_the_make_variable_that_picks_another(
    target, variable, tmp_path
):
    """Seen in an audit: `make ui` on a port in use said to choose another with --port,
    which make does not take (`make ui --port 3001` is make's own 'unrecognized option')."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = make_with(target, f"{variable}={port}", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == (
        f"cx-lakehouse: port {port} on 127.0.0.1 is in use (Address already in use): stop "
        f"what holds it, or choose another with `make {target} {variable}=<port>`"
    )


@pytest.mark.parametrize("port", ["abc", "", "3000 3001"])
@pytest.mark.parametrize(
    ("target", "variable"), [("ui", "UI_PORT"), ("dashboard", "DASHBOARD_PORT")]
)
def test_make_given_a_port_that_is_no_number_names_the_make_variable(
    target, variable, port, tmp_path
):
    """`make ui UI_PORT=abc` was refused as argparse's "argument --port: invalid int value",
    and `UI_PORT=` as "--port: expected one argument", an option make does not take, where
    a port out of range named the variable."""
    done = make_with(target, f"{variable}={port}", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == (
        f"cx-lakehouse: `make {target} {variable}={port}` is not a TCP port (1-65535)"
    )


@pytest.mark.parametrize("port", [0, 70000])
def test_make_given_no_tcp_port_names_the_make_variable(port, monkeypatch):
    """`make ui UI_PORT=70000` (a digit too many) was refused as '--port 70000 is not a TCP
    port', an option make does not take, where the port in use named the variable."""
    from cx_assets.cli.options import UsageError
    from cx_assets.cli.servers import MAKE_PORT_ENV, require_free_port

    monkeypatch.setenv(MAKE_PORT_ENV, "make ui UI_PORT")
    with pytest.raises(UsageError) as refused:
        require_free_port(port)
    assert str(refused.value) == f"`make ui UI_PORT={port}` is not a TCP port (1-65535)"
    monkeypatch.delenv(MAKE_PORT_ENV)
    with pytest.raises(UsageError, match=f"^--port {port} is not a TCP port"):
        require_free_port(port)


def test_the_ui_under_a_path_holding_only_its_own_folder_finds_tail(tmp_path, monkeypatch):
    """`cx-lakehouse run` looks for `tail` in /bin and /usr/bin when PATH lacks it (a
    crontab's `PATH=/srv/cx/.venv/bin`), as the README says of cx-lakehouse under any PATH;
    `cx-lakehouse ui` started so (an `@reboot` line of that crontab) handed its PATH on to
    `dagster dev`, whose daemon's runs capture each step's output through `tail` too: every
    run a sensor, the schedule or the automation launched failed, 'No such file or
    directory: 'tail''."""
    import shutil

    from cx_assets import cli as cli_module
    from cx_assets.cli import servers

    own_folder = tmp_path / "bin"  # no tail in it
    own_folder.mkdir()
    monkeypatch.setenv("PATH", str(own_folder))
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(servers, "prepare_dagster_home", lambda data_dir: data_dir / "home")
    passed_on = []
    monkeypatch.setattr(os, "execvp", lambda *args: passed_on.append(dict(os.environ)))
    assert cli_module.main(["ui", "--port", str(free_port())]) == 0
    (environment,) = passed_on
    assert environment["PATH"].split(os.pathsep)[0] == str(own_folder)  # searched first
    assert shutil.which("tail", path=environment["PATH"]) is not None


def test_a_free_port_goes_on_to_start_the_server(tmp_path, monkeypatch, capsys):
    from cx_assets import cli as cli_module

    started = []
    monkeypatch.setattr(os, "execvp", lambda *args: started.append(args))
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed
    assert cli_module.main(["dashboard", "--port", str(port)]) == 0
    (command,) = [args[1] for args in started]
    assert str(port) in command
    assert capsys.readouterr().err == ""

    # A data root that does not exist is served (its pages say so) after a line saying it.
    missing = tmp_path / "mistyped"
    monkeypatch.setenv("CX_DATA_DIR", str(missing))
    assert cli_module.main(["dashboard", "--port", str(port)]) == 0
    assert len(started) == 2
    assert capsys.readouterr().err.startswith(
        f"cx-lakehouse: the data root {missing} does not exist: check CX_DATA_DIR"
    )
    assert not missing.exists()

    # One this user may not read (another user's, made under umask 077): said as it starts,
    # as each page says it (root reads any folder, so the refusal is the access check's).
    theirs = tmp_path / "theirs"
    (theirs / "gold").mkdir(parents=True)
    readable = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != theirs and readable(path, mode)
    )
    monkeypatch.setenv("CX_DATA_DIR", str(theirs))
    assert cli_module.main(["dashboard", "--port", str(port)]) == 0
    assert len(started) == 3
    assert capsys.readouterr().err == (
        f"cx-lakehouse: this user may not read {theirs} (Permission denied): start the "
        "dashboard as the user who owns the data root, or have them make its gold/ and the "
        "folders above it readable to you\n"
    )


# --------------------------------------------------------------------------- the UI, served


def _as_a_background_job() -> None:
    """In the child before exec: SIGINT ignored, as a non-interactive shell's `cmd &` has it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def served_ui(data_dir: Path, log: Path) -> Iterator[Callable[..., dict]]:
    """`cx-lakehouse ui` on a free port until its code location is loaded; yields a GraphQL
    client of its web server (the API the UI's own pages call)."""
    port = free_port()
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    with log.open("w") as output:
        # Its own session: `dagster dev` starts the web server, the daemon and a code server.
        # Started as a script's background job is, with SIGINT ignored: it still stops on
        # SIGTERM (seen in an audit: it ignored both, and only SIGKILL stopped it).
        ui = subprocess.Popen(
            [str(BIN / "cx-lakehouse"), "ui", "--port", str(port)],
            env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_as_a_background_job,
        )  # fmt: skip

    def graphql(query: str, **variables) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    try:
        deadline = time.monotonic() + 180
        while True:
            assert ui.poll() is None, log.read_text()
            try:
                statuses = graphql(LOCATION_STATUS)["locationStatusesOrError"]["entries"]
                if statuses and all(entry["loadStatus"] == "LOADED" for entry in statuses):
                    break
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, "the UI did not load\n" + log.read_text()
            time.sleep(0.5)
        yield graphql
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
            raise AssertionError("cx-lakehouse ui did not stop on SIGTERM") from None


LOCATION_STATUS = """{ locationStatusesOrError {
    ... on WorkspaceLocationStatusEntries { entries { loadStatus } }
} }"""
ASSET_NODES = """{ assetNodes {
    assetKey { path } isPartitioned repository { name location { name } }
    assetChecksOrError { ... on AssetChecks { checks { name canExecuteIndividually jobNames } } }
} }"""
LAUNCH = """mutation ($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
} }"""
JOB_RUNS = """query ($job: PipelineSelector!) { pipelineOrError(params: $job) { ... on Pipeline {
    runs { runId tags { key value } repositoryOrigin { repositoryName repositoryLocationName } }
} } }"""
REEXECUTE = """mutation ($params: ReexecutionParams!) {
    launchPipelineReexecution(reexecutionParams: $params) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
} }"""
RUN_STATUS = "query ($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
RUN_EVENTS = """query ($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
    __typename
    ... on AssetCheckEvaluationEvent { evaluation { checkName success description } }
} } } }"""


HEAT = "gold/crm_temporal_heat"


@pytest.fixture(scope="module")
def crm_day_built(tmp_path_factory) -> Path:
    """A small CRM day, generated and run: the check below reads one CRM gold table, and
    the UI serves every domain's definitions whatever has landed (two days of every source
    cost this module 16 s more)."""
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    generated = cli(
        "generate", "--start", START, "--days", "1", "--scale", "0.01", "--seed", "7", "--quiet",
        "--sources", "crm", data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    ran = cli("run", "--date", START, "--select", "group:crm", data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return data_dir


def test_the_ui_serves_every_asset_runs_a_check_alone_and_reexecutes_a_cli_run(
    crm_day_built, tmp_path
):
    """The UI for real, not its command line: the web server loads every asset, lists the
    run `cx-lakehouse run` made on its job's page and the Overview timeline, offers every
    check to run on its own, and the request its "Execute" button sends for a whole-history
    table's check is picked up by the daemon and evaluates only the check, on the table as
    stored; then a CLI run, re-executed from its page, builds its table again. (For a
    partitioned asset Dagster's UI greys the check's button out; docs/checks.md says how
    to run such a check alone.)"""
    from cx_assets.definitions import defs

    data_dir = tmp_path / "data"
    shutil.copytree(crm_day_built, data_dir)
    # A CLI run of the table alone (a whole-history rollup, one step) to re-execute below.
    rebuilt_alone = cli("run", "--date", START, "--select", HEAT, data_dir=data_dir)
    assert rebuilt_alone.returncode == 0, rebuilt_alone.stdout + rebuilt_alone.stderr
    assert "materializing 1 whole-history rollup ...\n" in rebuilt_alone.stdout  # one: singular
    # the stored table loses a slot behind the pipeline's back
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("DELETE FROM gold.crm_temporal_heat WHERE day_of_week = 2 AND hour = 3")

    with served_ui(data_dir, tmp_path / "ui.log") as graphql:
        nodes = graphql(ASSET_NODES)["assetNodes"]
        assert {tuple(node["assetKey"]["path"]) for node in nodes} == {
            tuple(asset_def.key.path) for asset_def in defs.assets
        }
        declared = {
            (tuple(node["assetKey"]["path"]), check["name"]): check
            for node in nodes
            for check in node["assetChecksOrError"]["checks"]
        }
        assert len(declared) >= 150
        only_with_the_table = [
            key for key, check in declared.items()
            if check["canExecuteIndividually"] != "CAN_EXECUTE"
        ]  # fmt: skip
        assert only_with_the_table == []

        (heat,) = [n for n in nodes if n["assetKey"]["path"] == HEAT.split("/")]
        location = heat["repository"]["location"]["name"]
        # The job's page lists the runs of its repository; the Overview timeline leaves out
        # a run without one (Dagster's useRunsForTimeline): the CLI's run has it.
        repository = heat["repository"]["name"]
        cli_runs = {}
        for job in ("daily_partitions", "whole_history"):
            job_runs = graphql(JOB_RUNS, job={
                "repositoryLocationName": location, "repositoryName": repository,
                "pipelineName": job,
            })["pipelineOrError"]["runs"]  # fmt: skip
            (cli_runs[job],) = [
                run for run in job_runs if {"key": "cx/trigger", "value": "cli"} in run["tags"]
            ]
            assert cli_runs[job]["repositoryOrigin"] == {
                "repositoryName": repository, "repositoryLocationName": location,
            }  # fmt: skip
        row_count = declared[("gold", "crm_temporal_heat"), "row_count"]
        launched = graphql(LAUNCH, params={  # what the button sends
            "mode": "default", "executionMetadata": {}, "runConfigData": "{}",
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": repository,
                "jobName": row_count["jobNames"][0],
                "assetSelection": [],
                "assetCheckSelection": [
                    {"assetKey": {"path": heat["assetKey"]["path"]}, "name": "row_count"}
                ],
            },
        })["launchPipelineExecution"]  # fmt: skip
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status = _finished(graphql, run_id)
        events = graphql(RUN_EVENTS, id=run_id)["logsForRun"]["events"]

        # The run page's "Re-execute all" on the CLI's run of the table: it is built again.
        again = graphql(REEXECUTE, params={
            "parentRunId": cli_runs["whole_history"]["runId"], "strategy": "ALL_STEPS",
        })["launchPipelineReexecution"]  # fmt: skip
        assert again["__typename"] == "LaunchRunSuccess", again
        assert _finished(graphql, again["run"]["runId"]) == "SUCCESS"
        rebuilt = graphql(RUN_EVENTS, id=again["run"]["runId"])["logsForRun"]["events"]

    kinds = [event["__typename"] for event in events]
    assert "MaterializationEvent" not in kinds  # the table was not rebuilt
    (evaluation,) = [
        event["evaluation"] for event in events
        if event["__typename"] == "AssetCheckEvaluationEvent"
    ]  # fmt: skip
    assert evaluation["checkName"] == "row_count" and not evaluation["success"]
    assert "167 rows" in evaluation["description"]
    assert status == "FAILURE"  # row_count is a blocking ERROR
    assert "MaterializationEvent" in [event["__typename"] for event in rebuilt]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM gold.crm_temporal_heat").fetchone() == (168,)


def _finished(graphql: Callable[..., dict], run_id: str) -> str:
    """The run's status once it has ended (within 180 s)."""
    deadline = time.monotonic() + 180
    while (status := graphql(RUN_STATUS, id=run_id)["runOrError"]["status"]) not in (
        "SUCCESS", "FAILURE", "CANCELED",
    ):  # fmt: skip
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(0.5)
    return status
