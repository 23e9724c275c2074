"""DAGSTER_HOME refused where no command can use it: which of several mistakes `run` says
first, what its refusal costs (no Dagster imported, no early read started), and
`dashboard`, whose overview reads the runs and checks recorded there."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
from pathlib import Path

import pytest

from cx_assets_tests.cli import COMMAND, START, cli, probed
from cx_assets_tests.ports import free_port

# The homes no command may use, each as `run` has long refused it ("ROOT": the test's own
# folder; team A's data root holds its own home, and the command's data root is team B's).
BAD_HOMES = {
    "relative": ("relative/home", "DAGSTER_HOME=relative/home must be an absolute path"),
    "space at its end": (
        "ROOT/team b/dagster_home ",
        "DAGSTER_HOME='ROOT/team b/dagster_home ' begins or ends with a space",
    ),
    "another data root's": (
        "ROOT/team a/dagster_home",
        "DAGSTER_HOME=ROOT/team a/dagster_home is the run history of the data root ROOT/team a",
    ),
    "a link to another data root's": (
        "ROOT/link to a",
        "DAGSTER_HOME=ROOT/link to a is the run history of the data root ROOT/team a",
    ),
    "a link to no folder": ("ROOT/link", "DAGSTER_HOME=ROOT/link is a link to ROOT/gone"),
    "a file": ("ROOT/a file", "DAGSTER_HOME=ROOT/a file is a file, not a folder"),
    "a '%'": ("ROOT/home%41", "DAGSTER_HOME=ROOT/home%41 holds a '%'"),
}


@pytest.fixture
def two_roots(tmp_path) -> Path:
    """Team A's data root with its own home, team B's beside it (the commands' data root),
    a link to team A's home, a file and a link to a folder that is not there."""
    for team in ("team a", "team b"):
        (tmp_path / team / "landing").mkdir(parents=True)
    (tmp_path / "team a" / "dagster_home").mkdir()
    (tmp_path / "link to a").symlink_to(tmp_path / "team a" / "dagster_home")
    (tmp_path / "a file").write_text("not a folder")
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    return tmp_path / "team b"


def _dashboard(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """`cx-lakehouse dashboard` on a free port as `cli` runs a command; one that starts its
    server (and serves until stopped) is stopped after a minute."""
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    environment.update(env)
    args = ["dashboard", "--port", str(free_port())]
    return COMMAND.run(args, environment, None, timeout=60)


@pytest.mark.parametrize("bad", BAD_HOMES.values(), ids=BAD_HOMES.keys())
def test_dashboard_refuses_a_home_run_refuses_in_the_same_line(two_roots, bad):
    """The overview lists the runs and failing checks recorded in DAGSTER_HOME. Started on
    another data root's home, it listed that root's runs and checks as this one's; on a home
    ending in a space, or a link to a disk not mounted, "no runs recorded yet" beside gold
    those runs wrote. `dashboard` refuses each home as `run` does, in its words, exit 2."""
    home, said = (text.replace("ROOT", str(two_roots.parent)) for text in bad)
    ran = cli("run", "--date", START, data_dir=two_roots, DAGSTER_HOME=home)
    served = _dashboard(two_roots, DAGSTER_HOME=home)

    assert (ran.returncode, served.returncode) == (2, 2), served.stdout + served.stderr
    (line,) = served.stderr.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: {said}")
    assert line == ran.stderr.strip()
    assert served.stdout == ""  # no address of a command centre that never started


def test_dashboard_serves_on_the_homes_run_takes(two_roots, monkeypatch, capsys):
    """Its data root's own home, one of no data root, and one whose dagster.yaml (the user's)
    Dagster could not read: the command centre reads the run history's SQLite files, never
    the instance its dagster.yaml configures, so that file is `run`'s and `ui`'s to refuse."""
    from cx_assets import cli as cli_module

    started = []
    monkeypatch.setattr(os, "execvp", lambda *args: started.append(args))
    monkeypatch.setenv("CX_DATA_DIR", str(two_roots))
    of_no_root = two_roots.parent / "homes" / "dagster_home"
    of_no_root.mkdir(parents=True)
    (of_no_root / "dagster.yaml").write_text("run_launcher: {module: no_such_module, class: L}\n")
    for home in (None, str(two_roots / "dagster_home"), str(of_no_root)):
        if home is None:
            monkeypatch.delenv("DAGSTER_HOME", raising=False)
        else:
            monkeypatch.setenv("DAGSTER_HOME", home)
        assert cli_module.main(["dashboard", "--port", str(free_port())]) == 0
        assert capsys.readouterr().err == ""
    assert len(started) == 3
    assert not (two_roots / "dagster_home").exists()  # looked at, never made
    # Nor is Dagster imported to read that file (a second and a half before serving).
    served = probed(two_roots, "dashboard", "--port", str(free_port()), DAGSTER_HOME=home)
    assert (served["code"], served["dagster"], served["started"]) == (0, False, ["server"])


def test_dashboard_on_a_home_this_user_may_not_look_into_is_served(two_roots, monkeypatch, capsys):
    """A manager's dashboard on the service user's data root, made under umask 077: the
    home cannot be looked into (PermissionError), which the overview says in its section
    (`runs.read_history`). The command says what it says of such a root and serves, where a
    check of the home would have ended it in the line for a data root it may not write."""
    from cx_assets import cli as cli_module

    started = []
    monkeypatch.setattr(os, "execvp", lambda *args: started.append(args))
    # As the kernel answers another user (root, running the tests, may look anywhere).
    looked_into = pathlib.Path.stat

    def refused(path, *, follow_symlinks=True):
        if Path(path).is_relative_to(two_roots) and Path(path) != two_roots:
            raise PermissionError(13, "Permission denied", str(path))
        return looked_into(path, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(pathlib.Path, "stat", refused)
    readable = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != two_roots and readable(path, mode)
    )
    monkeypatch.setenv("CX_DATA_DIR", str(two_roots))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli_module.main(["dashboard", "--port", str(free_port())]) == 0
    assert len(started) == 1
    assert capsys.readouterr().err.startswith(f"cx-lakehouse: this user may not read {two_roots}")


# Each pair of mistakes, and the one said. The environment's settings come first, in every
# command (`generate`, `ui` and `dashboard` read them before their options): CX_* as
# `Settings` reads them, then DAGSTER_HOME; then the command's options. A dagster.yaml the
# user wrote is read once the options are checked: reading it imports Dagster, which
# `run` imports while its early read of the largest table goes on.
RELATIVE = {"DAGSTER_HOME": "relative/home"}
HOME_SAID = "DAGSTER_HOME=relative/home must be an absolute path"
COMBINED = {
    "home and --date": (["run", "--date", "2024-13-01"], RELATIVE, HOME_SAID),
    "home and --to before --date": (
        ["run", "--date", START, "--to", "2024-01-01"], RELATIVE, HOME_SAID,
    ),
    "home and --to empty": (["run", "--date", START, "--to", ""], RELATIVE, HOME_SAID),
    "home and an unknown group": (
        ["run", "--date", START, "--select", "group:nope"], RELATIVE, HOME_SAID,
    ),
    "home and --config not there": (
        ["run", "--date", START, "--config", "ROOT/none.yaml"], RELATIVE, HOME_SAID,
    ),
    "home and a day before the partitions": (["run", "--date", "2023-01-01"], RELATIVE, HOME_SAID),
    "CX_PARTITIONS_START and home": (
        ["run", "--date", START],
        {**RELATIVE, "CX_PARTITIONS_START": "soon"},
        "CX_PARTITIONS_START='soon' is not a date",
    ),
    "CX_HASH_KEY and home": (
        ["run", "--date", START], {**RELATIVE, "CX_HASH_KEY": ""}, "CX_HASH_KEY is set but empty",
    ),
    # Its dagster.yaml alone, as Dagster reads it.
    "the user's dagster.yaml": (
        ["run", "--date", START],
        {"DAGSTER_HOME": "ROOT/mine"},
        "ROOT/mine/dagster.yaml: not Dagster's instance config",
    ),
    "the user's dagster.yaml and --date": (
        ["run", "--date", "2024-13-01"],
        {"DAGSTER_HOME": "ROOT/mine"},
        "--date '2024-13-01' is not a date",
    ),
    "dashboard: home and a port in use": (["dashboard", "--port", "PORT"], RELATIVE, HOME_SAID),
    "dashboard: CX_PARTITIONS_START and home": (
        ["dashboard", "--port", "1"],
        {**RELATIVE, "CX_PARTITIONS_START": "soon"},
        "CX_PARTITIONS_START='soon' is not a date",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("args", "env", "said"), COMBINED.values(), ids=COMBINED.keys())
def test_of_two_mistakes_the_environments_is_said_first(tmp_path, args, env, said):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "dagster.yaml").write_text("telemetry: {enabled: maybe}\n")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        args = [arg.replace("ROOT", str(tmp_path)).replace("PORT", port) for arg in args]
        env = {name: value.replace("ROOT", str(tmp_path)) for name, value in env.items()}
        result = cli(*args, data_dir=tmp_path / "data", cwd=str(tmp_path), **env)

    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: {said.replace('ROOT', str(tmp_path))}"), line


@pytest.mark.parametrize("home", ["relative", "another data root's"])
def test_run_refuses_a_home_before_importing_dagster_or_reading_ahead(two_roots, home):
    """`run` checked DAGSTER_HOME once Dagster and the definitions were imported (1.6 s of
    CPU, where a bad CX_DATA_DIR cost 0.09 s) and its early read of the largest landed
    table had started. Now the home is refused with the other settings, before either."""
    value, said = (text.replace("ROOT", str(two_roots.parent)) for text in BAD_HOMES[home])
    refused = probed(two_roots, "run", "--date", START, DAGSTER_HOME=value)
    assert refused["said"].startswith(f"cx-lakehouse: {said}")
    assert (refused["code"], refused["dagster"], refused["started"]) == (2, False, [])

    # The probe sees both: run config is checked against Dagster's own schema, once Dagster
    # is imported, while the early read goes on.
    (two_roots / "checks.yaml").write_text("ops: {no_such_step: {config: {}}}\n")
    config = probed(two_roots, "run", "--date", START, "--config", str(two_roots / "checks.yaml"))
    assert (config["code"], config["dagster"], config["started"]) == (2, True, ["early read"])


def test_our_dagster_yaml_holds_our_settings_and_its_homes_path_as_written(tmp_path):
    """Each of our settings (the run queue, retries, the ticks kept, our event storage, no
    telemetry or dialog, INFO logs), and a home whose path holds `: ` and ` #`, which YAML
    read as a mapping and a comment unquoted."""
    import yaml

    from cx_assets.cli.home import dagster_yaml

    home = tmp_path / "cx: a #1"
    assert yaml.safe_load(dagster_yaml(home)) == {
        "concurrency": {"runs": {"max_concurrent_runs": 4}},
        "run_queue": {"dequeue_interval_seconds": 1},
        "run_retries": {"enabled": True},
        "retention": {"sensor": {"purge_after_days": {"skipped": 1, "failure": 7}}},
        "event_log_storage": {
            "module": "cx_assets.lakehouse.event_log",
            "class": "PooledSqliteEventLogStorage",
            "config": {"base_dir": f"{tmp_path}/cx: a #1/history/runs"},
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
        "python_logs": {"python_log_level": "INFO"},
    }


@pytest.mark.parametrize(
    ("home", "said"),
    [
        ("  ", "DAGSTER_HOME='  ' names no folder: unset it, or give one"),
        (
            "ROOT/home?mode=ro",
            "DAGSTER_HOME=ROOT/home?mode=ro holds a '?', which Dagster's SQLite storage reads "
            "as the start of options",
        ),
    ],
    ids=["spaces alone", "a '?'"],
)
def test_a_home_dagster_would_misread_is_refused(tmp_path, monkeypatch, home, said):
    from cx_assets.cli import home as home_module
    from cx_assets.cli.options import UsageError

    monkeypatch.setattr(home_module, "_set_here", None)
    monkeypatch.setenv("DAGSTER_HOME", home.replace("ROOT", str(tmp_path)))
    with pytest.raises(UsageError) as refused:
        home_module.dagster_home_folder(tmp_path / "data")
    assert str(refused.value).startswith(said.replace("ROOT", str(tmp_path))), refused.value


def test_a_secrets_loader_dagster_cannot_make_is_refused(tmp_path, monkeypatch):
    from cx_assets.cli import home as home_module
    from cx_assets.cli.options import UsageError

    home = tmp_path / "mine"
    home.mkdir()
    config = home / "dagster.yaml"
    config.write_text("secrets:\n  custom:\n    module: dagster\n    class: QueuedRunCoordinator\n")
    monkeypatch.setattr(home_module, "_set_here", None)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with pytest.raises(UsageError) as refused:
        home_module.dagster_home_path(tmp_path / "data")
    assert str(refused.value) == (
        f"{config}: not a storage or service Dagster can make (dagster.QueuedRunCoordinator: "
        "not a secrets loader): fix it, or remove it for cx-lakehouse's own"
    )
