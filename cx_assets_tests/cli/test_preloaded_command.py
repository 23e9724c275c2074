"""The tests' `cli()` runs `cx-lakehouse` in a child of a process that imported it already
(`preloaded`): what the command prints, exits with and writes is what a fresh process of it
prints, exits with and writes, and a call that a preloaded process could not make as a user
would goes to a fresh one."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from cx_assets_tests.cli import BIN, COMMAND, START, calls_day, cli, preloaded
from cx_assets_tests.cli.preloaded import PreloadedCommand


def timings_masked(text: str) -> str:
    return re.sub(r"\d+(\.\d+)? s\b", "N s", text)


def gold_files(data_dir: Path) -> list[str]:
    return sorted(str(path.relative_to(data_dir)) for path in (data_dir / "gold").rglob("*"))


@pytest.fixture
def forking(monkeypatch) -> Iterator[PreloadedCommand]:
    """A preloaded process of the test's own, forking even in a suite run with
    CX_TESTS_FRESH_COMMANDS=1 (which `cli()` then honours)."""
    monkeypatch.delenv(preloaded.FRESH_COMMANDS_ENV, raising=False)
    command = PreloadedCommand(BIN / "cx-lakehouse")
    yield command
    command.close()


def test_a_run_in_a_preloaded_child_is_the_run_of_a_fresh_process(tmp_path, forking):
    landed = calls_day(tmp_path / "landed")
    preloaded_root, fresh_root = tmp_path / "preloaded", tmp_path / "fresh"
    shutil.copytree(landed, preloaded_root)
    shutil.copytree(landed, fresh_root)

    runs = [("run", "--date", START, "--select", "group:calls"), ("run", "--date", "2024-13-01")]
    for args in runs:
        in_child = forking.run(
            list(args), {**os.environ, "CX_DATA_DIR": str(preloaded_root)}, None, timeout=600
        )
        assert forking._process is not None  # a child of the preloaded process ran it
        in_fresh = subprocess.run(
            [str(BIN / "cx-lakehouse"), *args],
            env={**os.environ, "CX_DATA_DIR": str(fresh_root)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert in_child.returncode == in_fresh.returncode, (in_child, in_fresh)
        assert in_child.stderr == in_fresh.stderr.replace(str(fresh_root), str(preloaded_root))
        assert timings_masked(in_child.stdout) == timings_masked(
            in_fresh.stdout.replace(str(fresh_root), str(preloaded_root))
        )
    assert gold_files(preloaded_root) == gold_files(fresh_root)
    assert any(name.endswith(".parquet") for name in gold_files(preloaded_root))


def test_the_suites_commands_are_forked_unless_fresh_ones_are_asked_for(tmp_path):
    """`cli()` forks from the worker's preloaded process, or, in a suite run with
    CX_TESTS_FRESH_COMMANDS=1, starts every command afresh."""
    refused = cli("run", "--date", "2024-13-01", data_dir=tmp_path / "data")
    assert refused.returncode == 2 and "YYYY-MM-DD" in refused.stderr
    if os.environ.get(preloaded.FRESH_COMMANDS_ENV) == "1":
        assert COMMAND._process is None
    else:
        assert COMMAND._process is not None and COMMAND._process.poll() is None


def test_each_child_draws_other_random_numbers_as_each_fresh_process_does(
    tmp_path, forking, monkeypatch
):
    """NumPy's global generator (scikit-learn's where a model is given no seed) is seeded as
    NumPy is imported: every child of a preloaded process drew the same numbers, and a model
    left unseeded (a mutation) classified tickets the same in every run, where each process
    of a user's classified them differently, and passed the test that a range run again
    publishes the same."""
    command = tmp_path / "bin" / "cx-lakehouse"
    (tmp_path / "bin" / "cx_assets").mkdir(parents=True)
    # A stand-in for the command's entry point (`cx_assets.command.run`), first on the path
    # of a child of a preloaded process that imported SciPy's optimizer alone, which seeds
    # NumPy's generator as it imports (as the command's preload does; NumPy alone leaves it
    # to be seeded at its first use).
    (tmp_path / "bin" / "cx_assets" / "command.py").write_text(
        "import random, numpy\ndef run():\n    print(numpy.random.random(), random.random())\n"
    )
    monkeypatch.setattr(preloaded, "PRELOADED", ("scipy.optimize",))
    forking.script = command
    drawn = [forking.run([], dict(os.environ), cwd=None, timeout=60).stdout for _ in range(2)]
    assert forking._process is not None  # children of the preloaded process drew them
    numpy_draws, python_draws = zip(*(line.split() for line in drawn), strict=True)
    assert numpy_draws[0] != numpy_draws[1] and python_draws[0] != python_draws[1]


class Recorded(PreloadedCommand):
    """Which way each call went, without running anything."""

    def __init__(self) -> None:
        super().__init__(BIN / "cx-lakehouse")
        self.ways: list[str] = []

    def _start(self, environment):
        self.ways.append(f"start {environment.get('TZ')}")
        # a stand-in that ends once its input is closed, as the preloaded process does
        return subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def _forked(self, args, environment, cwd, timeout):
        self.ways.append("preloaded")
        return subprocess.CompletedProcess(args, 0, "", "")


ENVIRONMENT = {"PATH": "/usr/bin", "CX_DATA_DIR": "/a", "LANG": "C.UTF-8", "TZ": "UTC"}


@pytest.fixture
def recorded(monkeypatch) -> Iterator[Recorded]:
    monkeypatch.delenv("CX_TESTS_FRESH_COMMANDS", raising=False)
    command = Recorded()

    def fresh_process(argv, **options):
        command.ways.append("fresh")
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fresh_process)
    yield command
    if command._process is not None:
        command._process.kill()
        command._process.wait()


@pytest.mark.parametrize(
    ("changed", "ways"),
    [
        # read only while the command runs
        ({"CX_DATA_DIR": "/b", "DAGSTER_HOME": "/h", "CX_HASH_KEY": "k"}, ["preloaded"]),
        (
            {"CX_RUN_WAIT_SECONDS": "1", "PYTEST_CURRENT_TEST": "t", "OPENBLAS_NUM_THREADS": "1"},
            ["preloaded"],
        ),
        # read at import (the partitions), or by the interpreter as it starts
        ({"CX_PARTITIONS_START": "2024-03-01"}, ["start UTC", "preloaded"]),
        ({"TZ": "America/Sao_Paulo"}, ["start America/Sao_Paulo", "preloaded"]),
        ({"LANG": "pt_BR.ISO-8859-1"}, ["start UTC", "preloaded"]),
        ({"PYTHONIOENCODING": "ascii"}, ["start UTC", "preloaded"]),
        ({"OPENBLAS_NUM_THREADS": "4"}, ["start UTC", "preloaded"]),
    ],
)
def test_the_preloaded_process_starts_again_for_a_start_up_that_could_differ(
    recorded, changed, ways
):
    recorded.run(["run"], ENVIRONMENT, cwd=None, timeout=5)
    first = recorded._process
    recorded.run(["run"], {**ENVIRONMENT, **changed}, cwd=None, timeout=5)
    assert recorded.ways == ["start UTC", "preloaded", *ways]
    if ways == ["preloaded"]:
        assert recorded._process is first and first.poll() is None
    else:
        assert recorded._process is not first
        assert first.wait(timeout=5) is not None  # the one it replaced has ended


def test_a_removed_directory_a_busy_or_an_ended_process_is_not_forked_from(recorded, tmp_path):
    recorded.run(["run"], ENVIRONMENT, cwd=str(tmp_path / "gone"), timeout=5)
    with recorded._busy:  # another thread's command still running
        recorded.run(["run"], ENVIRONMENT, cwd=None, timeout=5)
    recorded.run(["run"], ENVIRONMENT, cwd=None, timeout=5)
    recorded._process.kill()
    recorded._process.wait()
    recorded.run(["run"], ENVIRONMENT, cwd=None, timeout=5)
    assert recorded.ways == ["fresh", "fresh", "start UTC", "preloaded", "start UTC", "preloaded"]


def test_fresh_commands_asked_for_send_every_call_to_a_fresh_process(recorded, monkeypatch):
    recorded.run(["run"], {**ENVIRONMENT, "CX_TESTS_FRESH_COMMANDS": "1"}, cwd=None, timeout=5)
    monkeypatch.setenv("CX_TESTS_FRESH_COMMANDS", "1")
    command = Recorded()
    command.ways = recorded.ways
    command.run(["run"], ENVIRONMENT, cwd=None, timeout=5)
    assert recorded.ways == ["fresh", "fresh"]


def test_a_preload_that_prints_sends_every_call_to_a_fresh_process(monkeypatch, tmp_path, forking):
    """A warning printed while the command imports reaches a user's terminal: a preloaded
    process cannot show it on each command, so none is forked from."""
    (tmp_path / "noisy_module.py").write_text("import sys\nprint('a warning', file=sys.stderr)\n")
    monkeypatch.setattr(preloaded, "PRELOADED", ("noisy_module",))
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}
    after = forking.run(["run", "--date", "2024-13-01"], environment, cwd=None, timeout=60)
    assert after.returncode == 2 and "YYYY-MM-DD" in after.stderr
    assert forking._process is None and not forking._usable


def test_a_command_whose_wait_is_interrupted_is_killed_and_the_next_one_runs(
    tmp_path, forking, monkeypatch
):
    """Ctrl-C while a test's command runs (or anything else raised as the test waits for
    it): the command is killed, as `subprocess.run` kills its process. It ran on, out of the
    terminal's reach in the preloaded process's session, and the next call read its exit
    code for the pid of its own (KeyError)."""
    data_dir = calls_day(tmp_path / "data")
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir), "CX_RUN_WAIT_SECONDS": "120"}
    children = []

    def answer(process):
        said = real_answer(process)
        children.extend([said["pid"]] if "pid" in said else [])
        return said

    def ctrl_c(*args):
        time.sleep(1)  # the command waits for the run lock meanwhile
        raise KeyboardInterrupt

    real_answer = preloaded._answer
    with (data_dir / ".run.lock").open("a") as held, monkeypatch.context() as patched:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run's: the command waits up to 120 s
        patched.setattr(preloaded, "_answer", answer)
        patched.setattr(preloaded, "select", SimpleNamespace(select=ctrl_c))
        with pytest.raises(KeyboardInterrupt):
            forking.run(["run", "--date", START], environment, cwd=None, timeout=600)
        (child,) = children
        deadline = time.monotonic() + 10
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(child)
    after = forking.run(["run", "--date", "2024-13-01"], environment, cwd=None, timeout=60)
    assert after.returncode == 2 and "YYYY-MM-DD" in after.stderr


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_command_past_its_timeout_is_killed_and_the_next_one_runs(tmp_path, forking):
    landed = calls_day(tmp_path / "data")
    environment = {**os.environ, "CX_DATA_DIR": str(landed)}
    with pytest.raises(subprocess.TimeoutExpired):
        forking.run(["run", "--date", START], environment, cwd=None, timeout=0.2)
    assert forking._process is not None  # it was the preloaded child that timed out
    after = forking.run(["run", "--date", "2024-13-01"], environment, cwd=None, timeout=60)
    assert after.returncode == 2 and "YYYY-MM-DD" in after.stderr
    forking.close()
    assert forking._process is None
