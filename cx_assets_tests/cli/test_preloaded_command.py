"""The tests' `cli()` runs `cx-lakehouse` in a child of a process that imported it already
(`preloaded`): what the command prints, exits with and writes is what a fresh process of it
prints, exits with and writes, and a call that a preloaded process could not make as a user
would goes to a fresh one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cx_assets_tests.cli import BIN, COMMAND, START, calls_day, cli
from cx_assets_tests.cli.preloaded import PreloadedCommand


def timings_masked(text: str) -> str:
    return re.sub(r"\d+(\.\d+)? s\b", "N s", text)


def gold_files(data_dir: Path) -> list[str]:
    return sorted(str(path.relative_to(data_dir)) for path in (data_dir / "gold").rglob("*"))


def fresh(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return cli(*args, data_dir=data_dir, CX_TESTS_FRESH_COMMANDS="1")


def test_a_run_in_a_preloaded_child_is_the_run_of_a_fresh_process(tmp_path):
    landed = calls_day(tmp_path / "landed")
    preloaded_root, fresh_root = tmp_path / "preloaded", tmp_path / "fresh"
    shutil.copytree(landed, preloaded_root)
    shutil.copytree(landed, fresh_root)

    runs = [("run", "--date", START, "--select", "group:calls"), ("run", "--date", "2024-13-01")]
    for args in runs:
        in_child = cli(*args, data_dir=preloaded_root)
        in_fresh = fresh(*args, data_dir=fresh_root)
        assert in_child.returncode == in_fresh.returncode, (in_child, in_fresh)
        assert in_child.stderr == in_fresh.stderr.replace(str(fresh_root), str(preloaded_root))
        assert timings_masked(in_child.stdout) == timings_masked(
            in_fresh.stdout.replace(str(fresh_root), str(preloaded_root))
        )
    assert gold_files(preloaded_root) == gold_files(fresh_root)
    assert any(name.endswith(".parquet") for name in gold_files(preloaded_root))
    assert COMMAND._process is not None and COMMAND._process.poll() is None  # it served them


class Recorded(PreloadedCommand):
    """Which way each call went, without running anything."""

    def __init__(self, environment: dict[str, str]) -> None:
        super().__init__(BIN / "cx-lakehouse", environment)
        self.ways: list[str] = []

    def _start(self) -> bool:
        return True

    def _forked(self, args, environment, cwd, timeout):
        self.ways.append("preloaded")
        return subprocess.CompletedProcess(args, 0, "", "")


@pytest.fixture
def recorded(monkeypatch) -> Recorded:
    monkeypatch.delenv("CX_TESTS_FRESH_COMMANDS", raising=False)
    command = Recorded({"PATH": "/usr/bin", "CX_DATA_DIR": "/a", "LANG": "C.UTF-8"})

    def fresh_process(argv, **options):
        command.ways.append("fresh")
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fresh_process)
    return command


@pytest.mark.parametrize(
    ("changed", "way"),
    [
        ({"CX_DATA_DIR": "/b", "DAGSTER_HOME": "/h", "CX_HASH_KEY": "k"}, "preloaded"),
        (
            {"CX_RUN_WAIT_SECONDS": "1", "PYTEST_CURRENT_TEST": "t", "OPENBLAS_NUM_THREADS": "1"},
            "preloaded",
        ),
        # read at import (the partitions), or by the interpreter as it starts
        ({"CX_PARTITIONS_START": "2024-03-01"}, "fresh"),
        ({"TZ": "America/Sao_Paulo"}, "fresh"),
        ({"LANG": "pt_BR.ISO-8859-1"}, "fresh"),
        ({"PYTHONIOENCODING": "ascii"}, "fresh"),
        ({"OPENBLAS_NUM_THREADS": "4"}, "fresh"),
    ],
)
def test_a_call_goes_to_a_fresh_process_when_its_start_up_could_differ(recorded, changed, way):
    environment = {**recorded.environment, **changed}
    recorded.run(["run"], environment, cwd=None, timeout=5)
    assert recorded.ways == [way]


def test_a_removed_path_lost_variable_or_a_busy_child_goes_to_a_fresh_process(recorded, tmp_path):
    without_path = {k: v for k, v in recorded.environment.items() if k != "PATH"}
    recorded.run(["run"], without_path, cwd=None, timeout=5)
    recorded.run(["run"], recorded.environment, cwd=str(tmp_path / "gone"), timeout=5)
    with recorded._busy:  # another thread's command still running
        recorded.run(["run"], recorded.environment, cwd=None, timeout=5)
    recorded.run(["run"], recorded.environment, cwd=None, timeout=5)
    assert recorded.ways == ["fresh", "fresh", "fresh", "preloaded"]


def test_fresh_commands_asked_for_send_every_call_to_a_fresh_process(recorded, monkeypatch):
    monkeypatch.setenv("CX_TESTS_FRESH_COMMANDS", "1")
    command = Recorded(recorded.environment)
    command.ways = recorded.ways
    command.run(["run"], command.environment, cwd=None, timeout=5)
    assert recorded.ways == ["fresh"]


def test_a_command_past_its_timeout_is_killed_and_the_next_one_runs(tmp_path):
    landed = calls_day(tmp_path / "data")
    command = PreloadedCommand(BIN / "cx-lakehouse", COMMAND.environment)
    environment = {**COMMAND.environment, "CX_DATA_DIR": str(landed)}
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            command.run(["run", "--date", START], environment, cwd=None, timeout=0.2)
        assert command._process is not None  # it was the preloaded child that timed out
        after = command.run(["run", "--date", "2024-13-01"], environment, cwd=None, timeout=60)
        assert after.returncode == 2 and "YYYY-MM-DD" in after.stderr
    finally:
        command.close()
    assert command._process is None
