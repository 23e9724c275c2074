"""Runs on one data root queue behind each other, and a dead run never blocks the next.

DuckDB takes one writer per file and has no busy timeout, so two runs writing one
warehouse fail each other. Every run (from `cx-lakehouse run`, the UI, a sensor or the
schedule) takes an exclusive `flock` on `<data root>/.run.lock` when its `Warehouse`
resource starts, waiting with a line that says whom it waits for, up to a configurable
limit, in the order the waiters began waiting (`_Ticket`). The kernel drops a `flock` when
its process dies, however it dies (`kill -9`, an OOM kill), so a crashed run cannot leave
the lock behind, nor a dead waiter its place in line.

What a killed run does leave behind is its record: Dagster still shows it STARTED, and any
concurrency slots it claimed stay claimed. Every run records its process (`cx/pid`,
`cx/pid_started`, `cx/host`) on itself before it waits for the lock, and which run it
recorded them for (`cx/owner_of`); `release_dead_runs` finds unfinished runs (not
started, starting or started) whose process is gone and marks them failed (freeing their
slots), one line each. It runs when a run has taken the lock, before `cx-lakehouse run`
starts, and on every landing-sensor tick, so the UI's queue drains even when no new run
could start.

Dagster gives a retry or a re-execution its parent's tags, ours included, until its own
process records itself: those name the parent's process, gone by then, so they are not
taken as the run's own. A re-execution that no process took up within
`UNCLAIMED_GRACE_SECONDS` of its last change is released too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command centre reads runs' owners without importing Dagster
    from dagster import DagsterInstance

LOCK_FILE = ".run.lock"
PID_TAG = "cx/pid"
# the `--select` of a `cx-lakehouse run` (none: everything), to run a killed run's days again
SELECTION_TAG = "cx/select"
# the `--config` file of a `cx-lakehouse run` (its absolute path): which bands judged the run,
# for an engineer reading it later and for the command that runs a killed run again
CONFIG_TAG = "cx/config"
PID_STARTED_TAG = "cx/pid_started"
HOST_TAG = "cx/host"
# The run the owner tags were recorded for: empty when its creator set them at creation
# (`cx-lakehouse run`, which only learns the run's id later).
OWNER_OF_TAG = "cx/owner_of"
# Dagster's tag on a re-execution, naming the run it re-executes.
PARENT_RUN_ID_TAG = "dagster/parent_run_id"
# How long a re-execution may wait for a process to take it up (one starts in seconds).
UNCLAIMED_GRACE_SECONDS = 120.0
POLL_SECONDS = 0.5
# A holder writes its name just after taking the lock: how long a waiter that finds no name
# yet waits for it before saying only "another run".
HOLDER_NAME_GRACE_SECONDS = 2.0


class RunLockTimeout(RuntimeError):
    """Another run held the data root for longer than this run would wait."""


def process_started(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot, from /proc), None when no such process;
    a pid reused by a later process has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def process_alive(pid: int, started: str | None) -> bool:
    if started is not None and Path("/proc").is_dir():
        return process_started(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_tags(run_id: str | None = None) -> dict[str, str]:
    """Tags that name this process as the owner of run `run_id` (None: of the run about to
    be created with them)."""
    pid = os.getpid()
    return {
        PID_TAG: str(pid),
        PID_STARTED_TAG: process_started(pid) or "",
        HOST_TAG: socket.gethostname(),
        OWNER_OF_TAG: run_id or "",
    }


def _owned_by_its_tags(run) -> bool:
    """Whether a run's owner tags are its own: recorded for it, or at its creation by a
    creator that is not re-executing another run (whose tags Dagster copies)."""
    return _tags_are_its_own(run.tags, run.run_id, run.parent_run_id)


def _tags_are_its_own(tags: Mapping[str, str], run_id: str, parent_run_id: str | None) -> bool:
    owner_of = tags.get(OWNER_OF_TAG, "")
    return owner_of == run_id or (owner_of == "" and parent_run_id is None)


def owner_gone(tags: Mapping[str, str], run_id: str) -> bool:
    """Whether a run's tags name its own owning process on this host, and it is gone (a
    run killed outright, still recorded STARTED until a run or a sensor tick marks it
    failed). From the tags alone, as the command centre reads them from the run storage."""
    pid = tags.get(PID_TAG)
    if not pid or tags.get(HOST_TAG) != socket.gethostname():
        return False
    if not _tags_are_its_own(tags, run_id, tags.get(PARENT_RUN_ID_TAG)):
        return False
    return not process_alive(int(pid), tags.get(PID_STARTED_TAG) or None)


class _Held:
    """The lock as this process holds it: one file descriptor, counted, because several
    resources of one run take it in turn, and `cx-lakehouse run` holds it around its run."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.fds: dict[str, int] = {}
        self.depth: dict[str, int] = {}


_held = _Held()


UNNAMED_HOLDER = "another run"


def holder_of(path: Path) -> str:
    """Who holds the lock at `path`, as its holder wrote itself there (`data_root_lock`)."""
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return UNNAMED_HOLDER
    return (
        f"{holder.get('owner', UNNAMED_HOLDER)} (pid {holder.get('pid', '?')}, "
        f"since {holder.get('since', '?')})"
    )


def held_by_another(data_dir: Path) -> bool:
    """Whether a run holds the data root's lock now (a look, not a wait: a shared lock
    tried and let go at once, which a waiter's next look never misses)."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing the descriptor lets the shared lock go
    return False


@contextmanager
def data_root_lock(
    data_dir: Path,
    *,
    owner: str,
    wait_seconds: float,
    say: Callable[[str], None] = print,
    on_release: Callable[[], None] | None = None,
) -> Iterator[bool]:
    """Hold the data root's run lock for the block, waiting up to `wait_seconds` for it.
    Yields whether this block took the lock (False: this process already held it).
    `on_release` runs just before the lock is given up (e.g. to close the warehouse file,
    which the next run must be able to open)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    key = str(path.resolve())
    with _held.guard:
        if _held.depth.get(key):
            _held.depth[key] += 1
            fd = None
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if fd is not None:
        try:
            _acquire(fd, path, wait_seconds, say)
            since = f"{datetime.now(UTC):%H:%M:%S} UTC"
            name = {"owner": owner, "pid": os.getpid(), "since": since}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(name).encode(), 0)
        except BaseException:
            # its name refused too (a full disk): the lock stayed held until the process ended
            os.close(fd)
            raise
        with _held.guard:
            _held.fds[key], _held.depth[key] = fd, 1
    try:
        yield fd is not None
    finally:
        with _held.guard:
            _held.depth[key] -= 1
            last = _held.depth[key] == 0
            if last:
                released = _held.fds.pop(key)
                del _held.depth[key]
        if last:
            try:
                if on_release is not None:
                    on_release()
            finally:
                os.ftruncate(released, 0)
                os.close(released)  # closing the descriptor releases the flock


# Waiters queue here, so runs take the lock in the order they began waiting: days the
# landing sensor asked for in turn are built in turn (polling, whichever looked first won,
# and a later day could be built before the day it reads).
QUEUE_DIR = ".run-queue"


class _Ticket:
    """A waiter's place in the queue: a file named by when it began waiting, locked by its
    process for as long as it waits (a ticket nobody holds is a dead waiter's)."""

    def __init__(self, path: Path) -> None:
        folder = path.parent / QUEUE_DIR
        folder.mkdir(exist_ok=True)
        self.name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}"
        in_flight = folder / f"_{self.name}"
        self.fd = os.open(in_flight, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)  # held before others can see it, then named
        self.path = folder / self.name
        os.replace(in_flight, self.path)

    def first_in_line(self) -> bool:
        """Whether no live waiter began before this one (dead ones' tickets are removed)."""
        for other in sorted(self.path.parent.iterdir()):
            if other.name.startswith("_"):
                _remove_if_stale(other)  # a waiter killed while it took its ticket
                continue
            if other.name >= self.name:
                continue
            try:
                probe = os.open(other, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # alive and ahead
            else:
                other.unlink(missing_ok=True)  # its process is gone
            finally:
                os.close(probe)
        return True

    def leave(self) -> None:
        self.path.unlink(missing_ok=True)
        os.close(self.fd)


def _remove_if_stale(path: Path) -> None:
    """Remove a ticket still being named: taking one takes microseconds, so one older than
    a minute was left by a process killed in between."""
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > 60.0:
            path.unlink()


def _acquire(fd: int, path: Path, wait_seconds: float, say: Callable[[str], None]) -> None:
    # A ticket even when the lock looks free: a newcomer taking it at once would pass the
    # waiters between two of their looks.
    ticket = _Ticket(path)
    try:
        _wait_in_line(fd, path, ticket, wait_seconds, say)
    finally:
        ticket.leave()


def _wait_in_line(
    fd: int, path: Path, ticket: _Ticket, wait_seconds: float, say: Callable[[str], None]
) -> None:
    began = time.monotonic()
    deadline = began + wait_seconds
    announced = False
    while True:
        try:
            if not ticket.first_in_line():
                raise BlockingIOError
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = holder_of(path)
            now = time.monotonic()
            if now >= deadline:
                raise RunLockTimeout(
                    f"{path.parent} is still in use by {holder} after {wait_seconds:.0f} s; "
                    "wait for it to finish or raise CX_RUN_WAIT_SECONDS"
                ) from None
            named = holder != UNNAMED_HOLDER or now - began >= HOLDER_NAME_GRACE_SECONDS
            if not announced and named:
                say(f"waiting for {holder} to finish (data root {path.parent})")
                announced = True
            # Until the holder has written its name, look again soon.
            time.sleep(POLL_SECONDS if announced else POLL_SECONDS / 10)


_claimed_runs: set[str] = set()


def claim_run(instance: DagsterInstance | None, run_id: str | None) -> bool:
    """Record this process as the run's owner, before the run waits for the lock: a run
    killed while it waits (a daemon's run queued behind a long CLI run, say) is then
    recognised as dead too, not left STARTED for good. True the first time for a run."""
    if instance is None or not run_id or run_id in _claimed_runs:
        return False
    _claimed_runs.add(run_id)
    instance.add_run_tags(run_id, owner_tags(run_id))
    return True


def _days_to_run_again(tags: Mapping[str, str]) -> str:
    """What a killed run was building, which it may have left half built (a table's day
    rebuilt, the tables reading it not), and the command that runs it again."""
    first = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_start")
    if not first:
        return ""
    last = tags.get("dagster/asset_partition_range_end", first)
    from cx_assets.lakehouse.partitions import day_span, run_command

    span = day_span([first, last])
    if tags.get("cx/trigger") == "cli":
        select = tags.get(SELECTION_TAG)
    elif tags.get("cx/source"):
        select = f"group:{tags['cx/source']}"
    else:
        return f"; it was building {span}, which it may have left half built"
    # Its own file, if any: not the one of the run that found it dead.
    config = tags.get(CONFIG_TAG, "")
    command = run_command(first, last if last != first else None, select, config=config)
    return (
        f"; it was building {span}, which it may have left half built: run again with\n  {command}"
    )


def release_dead_runs(instance: DagsterInstance, say: Callable[[str], None] = print) -> list[str]:
    """Mark failed every unfinished run of this host whose owning process is gone, freeing
    its concurrency slots; returns their run ids. (NOT_STARTED counts: a `cx-lakehouse run`
    killed while it was setting up leaves its run so.) A re-execution still carrying its
    parent's tags is left to its own process, unless none took it up in time."""
    from dagster import DagsterRunStatus, RunsFilter

    host = socket.gethostname()
    released = []
    records = instance.get_run_records(
        RunsFilter(
            statuses=[
                DagsterRunStatus.NOT_STARTED,
                DagsterRunStatus.STARTING,
                DagsterRunStatus.STARTED,
            ]
        )
    )
    now = time.time()
    for record in records:
        run = record.dagster_run
        pid, started = run.tags.get(PID_TAG), run.tags.get(PID_STARTED_TAG) or None
        if not pid or run.tags.get(HOST_TAG) != host:
            continue
        if _owned_by_its_tags(run):
            if process_alive(int(pid), started):
                continue
            message = (
                f"run {run.run_id} was left {run.status.value} by process {pid}, which is gone"
            )
        else:
            waited = now - record.update_timestamp.timestamp()
            if waited < UNCLAIMED_GRACE_SECONDS:
                continue
            message = (
                f"run {run.run_id}, a re-execution of {run.parent_run_id}, was left "
                f"{run.status.value}: no process took it up in {waited:.0f} s"
            )
        instance.report_run_failed(run, message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        say(f"{message}: marked failed{_days_to_run_again(run.tags)}")
        released.append(run.run_id)
    return released
