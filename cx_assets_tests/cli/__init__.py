"""Running `cx-lakehouse` as a user runs it, for the tests of the command end to end (and
of the sensors and staleness that need a real run): the command in a process of its own on a
data root of the test's own, forked from one that has imported it already (`preloaded`)."""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from cx_assets_tests.cli.preloaded import PreloadedCommand

BIN = Path(sys.executable).parent
# The repository: its README and docs, whose recipes the tests run.
REPO = Path(__file__).resolve().parents[2]
START, END = "2024-02-01", "2024-02-02"
COMMAND = PreloadedCommand(BIN / "cx-lakehouse")
atexit.register(COMMAND.close)


def cli(
    *args: str, data_dir: Path, cwd: str | None = None, **env: str
) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    environment.update(env)
    return COMMAND.run(list(args), environment, cwd, timeout=600)


# `main` in a process of its own, as the `cx-lakehouse` script calls it, recording whether
# the command imported Dagster and started its early read, and never starting a server:
# what a refusal costs, which the preloaded process (Dagster imported) cannot show.
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


def probed(data_dir: Path, *args: str, **env: str) -> dict:
    """`cx-lakehouse *args` on `data_dir` in a fresh process (`PROBE`): its exit code,
    whether it imported Dagster, what it started, and what it said on stderr."""
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]) | {"said": done.stderr.strip()}


def built(data_dir: Path, *args: str) -> str:
    """The standard output of `cx-lakehouse *args` on `data_dir`, a run a test's setup needs
    and that must succeed (what it prints is not what the test is about)."""
    ran = cli(*args, data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout


def answering_stop_signals() -> None:
    """`preexec_fn` of a command a test stops with a signal: Ctrl-C (SIGINT), a stop signal
    (SIGTERM) and a hang-up (SIGHUP) answered by default, as in a terminal, whatever started
    pytest (a shell's background job, `make test &`, passes SIGINT on ignored, `nohup`
    SIGHUP, and the command then never sees them), and none blocked."""
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def gold_tables() -> list[str]:
    from cx_assets.definitions import defs

    return sorted(a.key.path[-1] for a in defs.assets if a.key.path[0] == "gold")


def landed(
    data_dir: Path, source: str, *, days: int = 1, start: str = START, seed: int | None = 7
) -> Path:
    """A data root with `days` small days (scale 0.01) of `source` landed from `start`, by
    `cx-lakehouse generate` (`seed` None: the command's default seed)."""
    seeded = ("--seed", str(seed)) if seed is not None else ()
    generated = cli(
        "generate", "--start", start, "--days", str(days), "--scale", "0.01", *seeded,
        "--quiet", "--sources", source, data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    return data_dir


def calls_day(data_dir: Path) -> Path:
    """A data root with one small day of calls landed (the quickest source to run)."""
    return landed(data_dir, "calls")


def summary_line(stdout: str, table: str) -> list[str]:
    """The words of the summary's line for `table`, in what `cx-lakehouse run` prints at its end."""
    (line,) = [line for line in stdout.splitlines() if line.startswith(f"  {table} ")]
    return line.split()
