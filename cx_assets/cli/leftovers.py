"""What a killed `cx-lakehouse ui` leaves behind, found and stopped before the next one starts.

`cx-lakehouse ui` becomes `dagster dev`, which starts the web server and the daemon as its
children and stops them through a pipe when it is stopped. Killed outright (`kill -9`, an
OOM kill), it cannot: the two go on with no parent, the web server holding the port and
the daemon ticking sensors whose code server has gone. An audit found the next UI refused
for its port, and, on another port, two daemons competing for the run queue: the old one
failed a landing run it could not launch and never created its retry.

Leftovers are recognised by what `dagster dev` gives its children and nothing else does:
the `--shutdown-pipe` argument and the same `DAGSTER_HOME`, while no `dagster dev` of that
`DAGSTER_HOME` is alive (one that is refuses the new UI).
A daemon or web server someone started by hand is not touched, nor is a run in progress
(run workers are the code server's children, and end with their run). Linux `/proc` only;
elsewhere nothing is found.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
SHUTDOWN_PIPE_ARG = "--shutdown-pipe"
STOP_WAIT_SECONDS = 10.0
# After SIGKILL: the kernel ends the process at once, but its sockets close as it is torn
# down; the port was found still in use just after (seen in CI).
KILL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class DagsterProcess:
    pid: int
    argv: tuple[str, ...]

    @property
    def is_dev(self) -> bool:
        """`dagster dev` itself (`python -m dagster dev …` or the `dagster dev` script):
        `dev` the subcommand right after the program, not any argument (`dagster asset
        materialize --select dev` is no UI)."""
        return any(
            _is_dagster(arg) and following == "dev"
            for arg, following in itertools.pairwise(self.argv)
        )

    @property
    def started_by_dev(self) -> bool:
        return SHUTDOWN_PIPE_ARG in self.argv

    def describe(self) -> str:
        """Named by its program or module, never by its arguments: a substring test of
        every argument called the web server a daemon when the data root's path held the
        word (`/tmp/audit_daemon/root`, in its `--instance-ref`; seen in an audit)."""
        programs = {arg.rsplit("/", 1)[-1] for arg in self.argv}
        role = next(
            (role for role, names in ROLES if programs & names),
            "Dagster process",
        )
        return f"{role} (pid {self.pid})"


# What `dagster dev` starts, by the module (`python -m …`) or script that runs it.
ROLES = (
    ("daemon", {"dagster._daemon", "dagster-daemon"}),
    ("web server", {"dagster_webserver", "dagster-webserver"}),
    ("code server", {"grpc", "dagster._grpc"}),
)


def _is_dagster(arg: str) -> bool:
    return arg == "dagster" or arg.endswith("/dagster")


def dagster_processes(home: Path, proc: Path = PROC) -> list[DagsterProcess]:
    """Processes whose environment has `DAGSTER_HOME` = `home` (through a symlink, or with a
    trailing `/`, too) and whose command mentions dagster: `dagster dev` and what it started."""
    wanted = home.resolve()
    found = []
    for entry in proc.glob("[0-9]*"):
        try:
            argv = tuple(
                part.decode(errors="replace")
                for part in (entry / "cmdline").read_bytes().split(b"\0")
                if part
            )
            if not any("dagster" in arg for arg in argv):
                continue
            if _dagster_home(entry) != wanted:
                continue
        except OSError:
            continue  # gone meanwhile, or not ours to read
        found.append(DagsterProcess(int(entry.name), argv))
    return found


def _dagster_home(entry: Path) -> Path | None:
    for variable in (entry / "environ").read_bytes().split(b"\0"):
        if variable.startswith(b"DAGSTER_HOME="):
            return Path(os.fsdecode(variable.removeprefix(b"DAGSTER_HOME="))).resolve()
    return None


class UiAlreadyRunning(RuntimeError):
    """A live `dagster dev` serves this data root already."""


def stop_leftovers(home: Path, proc: Path = PROC) -> list[DagsterProcess]:
    """Stop the web servers and daemons a killed `dagster dev` of `home` left (SIGTERM, then
    SIGKILL after `STOP_WAIT_SECONDS`), and return them once they are gone. Raises
    `UiAlreadyRunning` when a live one serves `home`: a second would run a second daemon on
    the same run queue."""
    processes = dagster_processes(home, proc)
    live_devs = {process.pid for process in processes if process.is_dev}
    if live_devs:
        raise UiAlreadyRunning(min(live_devs))
    leftovers = [process for process in processes if process.started_by_dev]
    for process in leftovers:
        _signal(process.pid, signal.SIGTERM)
    stubborn = _still_alive(leftovers, proc, STOP_WAIT_SECONDS)
    for process in stubborn:
        _signal(process.pid, signal.SIGKILL)
    _still_alive(stubborn, proc, KILL_WAIT_SECONDS)
    return leftovers


def _still_alive(
    processes: list[DagsterProcess], proc: Path, seconds: float
) -> list[DagsterProcess]:
    """Those of `processes` still alive after waiting up to `seconds` for them to end."""
    deadline = time.monotonic() + seconds
    alive = [p for p in processes if _alive(p.pid, proc)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if _alive(p.pid, proc)]
    return alive


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def _alive(pid: int, proc: Path) -> bool:
    """Running, not a zombie waiting for a parent that is gone."""
    try:
        state = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
