"""DAGSTER_HOME refused where no command can use it: which of several mistakes `run` says
first, and what its refusal costs (no Dagster imported, no early read started)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cx_assets_tests.cli import START, cli

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
    "a link to no folder": ("ROOT/link", "DAGSTER_HOME=ROOT/link is a link to ROOT/gone"),
    "a file": ("ROOT/a file", "DAGSTER_HOME=ROOT/a file is a file, not a folder"),
    "a '%'": ("ROOT/home%41", "DAGSTER_HOME=ROOT/home%41 holds a '%'"),
}


@pytest.fixture
def two_roots(tmp_path) -> Path:
    """Team A's data root with its own home, team B's beside it (the commands' data root),
    a file and a link to a folder that is not there."""
    for team in ("team a", "team b"):
        (tmp_path / team / "landing").mkdir(parents=True)
    (tmp_path / "team a" / "dagster_home").mkdir()
    (tmp_path / "a file").write_text("not a folder")
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    return tmp_path / "team b"


# Each pair of mistakes, and the one said. The environment's settings come first, in every
# command (`generate` and `ui` read them before their options): CX_* as
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
}  # fmt: skip


@pytest.mark.parametrize(("args", "env", "said"), COMBINED.values(), ids=COMBINED.keys())
def test_of_two_mistakes_the_environments_is_said_first(tmp_path, args, env, said):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "dagster.yaml").write_text("telemetry: {enabled: maybe}\n")
    args = [arg.replace("ROOT", str(tmp_path)) for arg in args]
    env = {name: value.replace("ROOT", str(tmp_path)) for name, value in env.items()}
    result = cli(*args, data_dir=tmp_path / "data", cwd=str(tmp_path), **env)

    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: {said.replace('ROOT', str(tmp_path))}"), line


# `main` in a process of its own, as the `cx-lakehouse` script calls it, recording whether
# the command imported Dagster and started its early read, and never starting a server.
PROBE = """
import json, os, sys
from cx_assets.lakehouse import early_bronze
started = []
early_bronze.start = lambda *args: started.append("early read")
os.execvp = lambda *args: started.append("server")
from cx_assets.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "dagster": "dagster" in sys.modules, "started": started}))
"""


def _probed(data_dir: Path, *args: str, **env: str) -> dict:
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]) | {"said": done.stderr.strip()}


@pytest.mark.parametrize("home", ["relative", "another data root's"])
def test_run_refuses_a_home_before_importing_dagster_or_reading_ahead(two_roots, home):
    """`run` checked DAGSTER_HOME once Dagster and the definitions were imported (1.6 s of
    CPU, where a bad CX_DATA_DIR cost 0.09 s) and its early read of the largest landed
    table had started. Now the home is refused with the other settings, before either."""
    value, said = (text.replace("ROOT", str(two_roots.parent)) for text in BAD_HOMES[home])
    refused = _probed(two_roots, "run", "--date", START, DAGSTER_HOME=value)
    assert refused["said"].startswith(f"cx-lakehouse: {said}")
    assert (refused["code"], refused["dagster"], refused["started"]) == (2, False, [])

    # The probe sees both: run config is checked against Dagster's own schema, once Dagster
    # is imported, while the early read goes on.
    (two_roots / "checks.yaml").write_text("ops: {no_such_step: {config: {}}}\n")
    config = _probed(two_roots, "run", "--date", START, "--config", str(two_roots / "checks.yaml"))
    assert (config["code"], config["dagster"], config["started"]) == (2, True, ["early read"])
