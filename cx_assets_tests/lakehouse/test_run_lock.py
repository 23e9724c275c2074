"""The data root's run lock and the release of runs whose process died."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, asset, materialize

from cx_assets.lakehouse import run_lock
from cx_assets.lakehouse.resources import build_resources
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets_tests.instance import in_memory_instance

HOLD_THE_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cx_assets.lakehouse.run_lock import data_root_lock
    with data_root_lock(Path(sys.argv[1]), owner="run held-by-test", wait_seconds=5):
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def hold_lock(data_dir: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(data_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def dead_pid() -> int:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


def test_a_second_run_waits_for_the_first_and_says_whom_it_waits_for(tmp_path):
    holder = hold_lock(tmp_path, 1.5)
    said: list[str] = []
    began = time.monotonic()
    with run_lock.data_root_lock(tmp_path, owner="run second", wait_seconds=30, say=said.append):
        waited = time.monotonic() - began
    holder.wait()
    assert waited >= 0.8
    assert len(said) == 1
    assert "waiting for run held-by-test (pid" in said[0] and str(tmp_path) in said[0]


def test_waiting_is_bounded_and_the_error_names_the_holder(tmp_path):
    holder = hold_lock(tmp_path, 10)
    try:
        with (
            pytest.raises(run_lock.RunLockTimeout, match="in use by run held-by-test"),
            run_lock.data_root_lock(tmp_path, owner="run late", wait_seconds=0.5, say=print),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_no_lock_behind(tmp_path):
    holder = hold_lock(tmp_path, 60)
    holder.kill()  # SIGKILL: no cleanup runs in the holder
    holder.wait()
    with run_lock.data_root_lock(tmp_path, owner="run next", wait_seconds=1, say=print) as took:
        assert took


def test_a_holder_name_the_full_disk_refuses_leaves_no_lock_behind(tmp_path, monkeypatch):
    """Found reading the lock in a full-disk audit: the holder's name, written once the lock
    is taken, refused by a full disk left the lock's descriptor open, so the process held
    the data root until it ended: a notebook's later runs in it, and every other process's,
    waited for it and failed."""
    import errno

    def disk_full(fd, data, offset):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as full:
        full.setattr(run_lock.os, "pwrite", disk_full)
        with (
            pytest.raises(OSError, match="No space left"),
            run_lock.data_root_lock(tmp_path, owner="run first", wait_seconds=1, say=print),
        ):
            pass
    # space freed: the next run takes the data root at once
    with run_lock.data_root_lock(tmp_path, owner="run next", wait_seconds=1, say=print) as took:
        assert took


def test_the_lock_is_reentrant_within_a_process_and_released_once(tmp_path):
    """The holder's name is its outer block's while held, and wiped when the lock is let
    go: a waiter looking before the next holder names itself then waits for its name, not
    naming a run that has ended; a data root not made yet is made (mutation testing: the
    name left, the folder not made, or a root with no lock file said held, no test failed)."""
    released: list[str] = []
    new_root = tmp_path / "new root"
    assert not run_lock.held_by_another(new_root)  # no lock file yet: no one holds it
    with run_lock.data_root_lock(
        new_root, owner="outer", wait_seconds=1, on_release=lambda: released.append("x")
    ) as outer:
        with run_lock.data_root_lock(new_root, owner="inner", wait_seconds=1) as inner:
            assert (outer, inner) == (True, False)
        assert released == []
        assert run_lock.holder_of(new_root / run_lock.LOCK_FILE).startswith(
            f"outer (pid {os.getpid()}, since "
        )
        assert run_lock.held_by_another(new_root)
    assert released == ["x"]
    assert run_lock.holder_of(new_root / run_lock.LOCK_FILE) == "another run"
    assert not run_lock.held_by_another(new_root)
    # free again for another process
    holder = hold_lock(new_root, 0.1)
    holder.wait()


def _run(
    instance: DagsterInstance, status: DagsterRunStatus, parent: str | None = None, **tags: str
) -> DagsterRun:
    run = DagsterRun(
        job_name="cx_test_job", status=status, tags=tags, parent_run_id=parent, root_run_id=parent
    )
    instance.add_run(run)
    return run


def test_runs_whose_process_died_are_marked_failed_and_others_kept():
    host = socket.gethostname()
    mine = run_lock.owner_tags()
    with in_memory_instance() as instance:
        dead = _run(
            instance,
            DagsterRunStatus.STARTED,
            **{run_lock.PID_TAG: str(dead_pid())},
            **{run_lock.HOST_TAG: host},
        )
        reused = _run(
            instance,
            DagsterRunStatus.STARTING,
            **{**mine, run_lock.PID_STARTED_TAG: "1"},  # our pid, another process's start
        )
        alive = _run(instance, DagsterRunStatus.STARTED, **mine)
        elsewhere = _run(
            instance,
            DagsterRunStatus.STARTED,
            **{run_lock.PID_TAG: str(dead_pid()), run_lock.HOST_TAG: "another-host"},
        )
        untagged = _run(instance, DagsterRunStatus.STARTED)
        finished = _run(
            instance,
            DagsterRunStatus.SUCCESS,
            **{run_lock.PID_TAG: str(dead_pid())},
            **{run_lock.HOST_TAG: host},
        )
        said: list[str] = []

        released = run_lock.release_dead_runs(instance, said.append)

        assert sorted(released) == sorted([dead.run_id, reused.run_id])
        status = {run.run_id: instance.get_run_by_id(run.run_id).status for run in (
            dead, reused, alive, elsewhere, untagged, finished)}  # fmt: skip
        assert status[dead.run_id] == status[reused.run_id] == DagsterRunStatus.FAILURE
        assert status[alive.run_id] == status[elsewhere.run_id] == DagsterRunStatus.STARTED
        assert status[untagged.run_id] == DagsterRunStatus.STARTED
        assert status[finished.run_id] == DagsterRunStatus.SUCCESS
        assert len(said) == 2 and all("which is gone: marked failed" in line for line in said)
        # idempotent
        assert run_lock.release_dead_runs(instance, said.append) == []


def test_a_dead_runs_concurrency_slots_are_freed_and_a_live_runs_kept():
    """A killed run's claimed slot of a pool would hold every later step of that pool in
    line for good: releasing the run frees it; a live run keeps its own."""
    host = socket.gethostname()
    with DagsterInstance.local_temp() as instance:
        slots = instance.event_log_storage
        slots.set_concurrency_slots("warehouse", 2)
        dead = _run(
            instance,
            DagsterRunStatus.STARTED,
            **{run_lock.PID_TAG: str(dead_pid())},
            **{run_lock.HOST_TAG: host},
        )
        alive = _run(instance, DagsterRunStatus.STARTED, **run_lock.owner_tags())
        for run in (dead, alive):
            claimed = slots.claim_concurrency_slot("warehouse", run.run_id, "silver__step")
            assert claimed.is_claimed

        assert run_lock.release_dead_runs(instance, lambda line: None) == [dead.run_id]

        assert slots.get_concurrency_info("warehouse").active_run_ids == {alive.run_id}


def test_a_re_execution_carrying_its_parents_tags_is_left_to_its_own_process(monkeypatch):
    """Seen in an audit: Dagster copies a run's tags to its retry, ours included, so until
    the retry's own process recorded itself, a sensor tick took the parent's dead process
    for the retry's and failed it: 5 of 7 retries, and a day was never built."""
    host = socket.gethostname()
    dead = {run_lock.PID_TAG: str(dead_pid()), run_lock.HOST_TAG: host}
    with in_memory_instance() as instance:
        parent = _run(instance, DagsterRunStatus.FAILURE, **dead, **{run_lock.OWNER_OF_TAG: ""})
        copied = {**dead, run_lock.OWNER_OF_TAG: ""}  # as the parent was created with
        retry = _run(instance, DagsterRunStatus.STARTING, parent=parent.run_id, **copied)
        again = _run(
            instance, DagsterRunStatus.NOT_STARTED, parent=retry.run_id,
            **{**dead, run_lock.OWNER_OF_TAG: retry.run_id},  # claimed by the retry's process
        )  # fmt: skip
        claimed = _run(instance, DagsterRunStatus.STARTED, parent=parent.run_id, **dead)
        instance.add_run_tags(claimed.run_id, {run_lock.OWNER_OF_TAG: claimed.run_id})
        said: list[str] = []

        # Its own process, once started, records itself; until then the run is left alone.
        assert run_lock.release_dead_runs(instance, said.append) == [claimed.run_id]
        assert said == [
            f"run {claimed.run_id} was left STARTED by process {dead[run_lock.PID_TAG]}, "
            "which is gone: marked failed"
        ]
        # A re-execution no process took up in time is released, and says so.
        monkeypatch.setattr(run_lock, "UNCLAIMED_GRACE_SECONDS", 0.0)
        assert sorted(run_lock.release_dead_runs(instance, said.append)) == sorted(
            [retry.run_id, again.run_id]
        )
        assert f"run {retry.run_id}, a re-execution of {parent.run_id}, was left STARTING" in (
            said[1] + said[2]
        )
        assert all("no process took it up in" in line for line in said[1:])


def test_process_identity_survives_pid_reuse(monkeypatch):
    """A run recorded without its process's start time (an empty tag) is judged by its pid
    alone, and a process of another user is alive (mutation testing: a live process with no
    start time taken for dead, or one the system will not let us signal, no test failed:
    either would mark a live run failed)."""
    started = run_lock.process_started(os.getpid())
    assert started and run_lock.process_alive(os.getpid(), started)
    assert not run_lock.process_alive(os.getpid(), "0")  # same pid, another process
    assert run_lock.process_started(dead_pid()) is None
    assert run_lock.process_alive(os.getpid(), None)
    assert not run_lock.process_alive(dead_pid(), None)

    def another_users(pid: int, signal: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(run_lock.os, "kill", another_users)
    assert run_lock.process_alive(4_000_000, None)


def test_threads_of_one_process_share_the_lock(tmp_path):
    """Dagster may initialize a run's resources from another thread of the same process."""
    entered = []

    def enter():
        with run_lock.data_root_lock(tmp_path, owner="thread", wait_seconds=1):
            entered.append(True)

    with run_lock.data_root_lock(tmp_path, owner="main", wait_seconds=1):
        worker = threading.Thread(target=enter)
        worker.start()
        worker.join()
    assert entered == [True]


def test_a_waiter_arriving_before_the_holder_wrote_its_name_still_names_it(tmp_path):
    """The holder takes the lock, then writes its name: a run starting in between waits
    for the name instead of saying "another run" (two runs started together hit this)."""
    path = tmp_path / run_lock.LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    run_lock.fcntl.flock(fd, run_lock.fcntl.LOCK_EX)  # taken, no name yet

    def name_then_release() -> None:
        time.sleep(0.4)
        os.pwrite(fd, b'{"owner": "cx-lakehouse run", "pid": 1, "since": "12:00:00 UTC"}', 0)
        time.sleep(0.6)
        os.close(fd)

    holder = threading.Thread(target=name_then_release)
    holder.start()
    said: list[str] = []
    with run_lock.data_root_lock(tmp_path, owner="second", wait_seconds=30, say=said.append):
        pass
    holder.join()
    assert len(said) == 1 and said[0].startswith("waiting for cx-lakehouse run (pid 1,"), said


WAIT_IN_LINE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cx_assets.lakehouse import run_lock
    from cx_assets.lakehouse.run_lock import data_root_lock
    name = sys.argv[2]
    run_lock.POLL_SECONDS = float(sys.argv[3])
    print("waiting", flush=True)
    with data_root_lock(Path(sys.argv[1]), owner=name, wait_seconds=60, say=lambda _: None):
        with open(Path(sys.argv[1]) / "order.txt", "a") as order:
            order.write(name + "\\n")
        time.sleep(0.2)
    """
)


def test_waiters_take_the_lock_in_the_order_they_began_waiting(tmp_path):
    """The landing sensor asks for days in turn; polling, whichever waiter looked first won,
    and a later day could be built before the day it reads (here the first waiter looks
    least often). A waiter that died in line (its ticket left behind) holds no one up."""
    holder = hold_lock(tmp_path, 3.0)
    dead = tmp_path / run_lock.QUEUE_DIR / f"{time.time_ns():020d}-{dead_pid()}-1"
    dead.write_text("")  # a ticket nobody holds: its waiter was killed
    unnamed = dead.with_name(f"_{dead.name}")  # killed while it took its ticket
    unnamed.write_text("")
    os.utime(unnamed, (time.time() - 120, time.time() - 120))
    waiters = []
    for name, poll in (("first", "1.0"), ("second", "0.05"), ("third", "0.05"), ("fourth", "0.05")):
        waiter = subprocess.Popen(
            [sys.executable, "-c", WAIT_IN_LINE, str(tmp_path), name, poll],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert waiter.stdout.readline().strip() == "waiting"
        time.sleep(0.3)  # each in line before the next comes
        waiters.append(waiter)
    for waiter in [holder, *waiters]:
        assert waiter.wait(timeout=60) == 0
    assert (tmp_path / "order.txt").read_text().split() == ["first", "second", "third", "fourth"]
    assert list((tmp_path / run_lock.QUEUE_DIR).iterdir()) == []  # every ticket gone


@asset
def touches_the_warehouse(warehouse: Warehouse) -> None:
    with warehouse.connect() as con:
        con.execute("SELECT 1")


def test_a_run_not_started_by_the_cli_releases_a_run_whose_process_was_killed(tmp_path, capfd):
    """Runs the daemon, the UI or `dagster asset materialize` start go through no
    `cx-lakehouse run`: the warehouse resource, taking the run lock, releases dead runs."""
    with in_memory_instance() as instance:
        killed = _run(
            instance,
            DagsterRunStatus.STARTED,
            **{run_lock.PID_TAG: str(dead_pid()), run_lock.HOST_TAG: socket.gethostname()},
        )

        result = materialize(
            [touches_the_warehouse], instance=instance, resources=build_resources(tmp_path)
        )

        assert result.success
        assert instance.get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE
    said = capfd.readouterr().out
    assert f"run {killed.run_id} was left STARTED by process" in said
    assert "which is gone: marked failed" in said


def test_a_killed_sensor_run_of_days_is_named_with_the_run_of_its_source():
    """A landing sensor's run of a range (tagged with its source) names its days and the
    command that runs them; a killed range run of the CLI keeps its selection."""
    sensor_range = {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2024-01-03",
        "cx/source": "calls",
    }
    assert run_lock._days_to_run_again(sensor_range) == (
        "; it was building 2024-01-01 to 2024-01-03, which it may have left half built: run "
        "again with\n  cx-lakehouse run --date 2024-01-01 --to 2024-01-03 --select group:calls"
    )
    cli_day = {"dagster/partition": "2024-01-02", "cx/trigger": "cli", run_lock.SELECTION_TAG:
               "group:calls or group:digital"}  # fmt: skip
    assert run_lock._days_to_run_again(cli_day).endswith(
        "\n  cx-lakehouse run --date 2024-01-02 --select 'group:calls or group:digital'"
    )
    assert run_lock._days_to_run_again({}) == ""  # a whole-history run: no days


def test_a_killed_cli_run_given_a_config_file_is_named_with_its_file_only():
    """A `cx-lakehouse run --config` killed is run again with its own file (its tag), one
    killed without a file with none, whatever the file of the run that finds it dead."""
    from cx_assets.lakehouse.partitions import commands_carry_config

    given = {"dagster/partition": "2024-01-02", "cx/trigger": "cli",
             run_lock.CONFIG_TAG: "/etc/cx/my bands.yaml"}  # fmt: skip
    plain = {"dagster/partition": "2024-01-02", "cx/trigger": "cli"}
    sensor = {"dagster/partition": "2024-01-02", "cx/source": "calls"}
    with commands_carry_config("/home/op/other.yaml"):
        assert run_lock._days_to_run_again(given).endswith(
            "\n  cx-lakehouse run --date 2024-01-02 --config '/etc/cx/my bands.yaml'"
        )
        assert run_lock._days_to_run_again(plain).endswith("cx-lakehouse run --date 2024-01-02")
        assert run_lock._days_to_run_again(sensor).endswith(" --select group:calls")


def test_a_run_on_another_data_roots_dagster_home_is_refused_before_it_takes_the_root(tmp_path):
    """Seen through `dagster asset materialize` in a shell holding team A's DAGSTER_HOME on
    team B's data root: `cx-lakehouse run` and `ui` refuse that home, Dagster's own CLI went
    ahead, recorded B's run in A's history and, as A's history said the silver day was
    built, wrote a gold day of B that was never built from no rows (0 rows, exit 0). Every
    run is refused so as its Warehouse resource starts, before it waits for or takes the
    data root, in the line `cx-lakehouse run` says."""
    team_a, team_b = tmp_path / "team a", tmp_path / "team b"
    for root in (team_a, team_b):
        (root / "landing").mkdir(parents=True)
    (team_a / "dagster_home").mkdir()
    instance = in_memory_instance(team_a / "dagster_home")

    @asset
    def one(warehouse: Warehouse) -> None:
        """Takes the data root, as every run of ours does."""

    result = materialize(
        [one], instance=instance, resources=build_resources(team_b), raise_on_error=False
    )
    assert not result.success
    errors = [
        event.event_specific_data.error.to_string()
        for event in result.all_events
        if event.is_failure and getattr(event.event_specific_data, "error", None)
    ]
    expected = (
        f"DAGSTER_HOME={team_a / 'dagster_home'} is the run history of the data root {team_a}, "
        f"not of {team_b} (CX_DATA_DIR): unset DAGSTER_HOME (each data root keeps its own, in "
        f"its dagster_home/), or set CX_DATA_DIR to {team_a}"
    )
    assert errors and all(expected in error for error in errors), errors
    assert sorted(path.name for path in team_b.iterdir()) == ["landing"]  # nothing taken
    # Its own home, or one of no data root, runs as before.
    for home in (team_b / "dagster_home", tmp_path / "homes" / "dagster_home"):
        home.mkdir(parents=True)
        own = in_memory_instance(home)
        assert materialize([one], instance=own, resources=build_resources(team_b)).success


def test_a_ticket_still_being_named_is_left_to_its_waiter_and_a_minute_old_one_removed(tmp_path):
    """A waiter takes its ticket under an in-flight name and renames it at once: a waiter
    looking at the queue in between must leave it (removed, its waiter's rename failed and
    its run with it), and remove one a killed waiter left (mutation testing: the minute
    taken as no time, no test failed)."""
    queue = tmp_path / run_lock.QUEUE_DIR
    queue.mkdir()
    being_named = queue / f"_{time.time_ns():020d}-{os.getpid()}-2"
    left_by_a_killed_waiter = queue / f"_{time.time_ns() - 120 * 10**9:020d}-{dead_pid()}-1"
    for path in (being_named, left_by_a_killed_waiter):
        path.touch()
    two_minutes_ago = time.time() - 120
    os.utime(left_by_a_killed_waiter, (two_minutes_ago, two_minutes_ago))
    ticket = run_lock._Ticket(tmp_path / run_lock.LOCK_FILE)
    try:
        assert ticket.first_in_line()
        assert being_named.exists() and not left_by_a_killed_waiter.exists()
    finally:
        ticket.leave()


def test_the_command_centre_takes_a_run_for_killed_only_when_its_process_was_on_this_host():
    """`owner_gone`, which the command centre's runs read: a run of another host sharing the
    data root names a pid that means nothing here (mutation testing: the host test dropped,
    no test failed, and such a run showed as killed)."""
    pid = str(dead_pid())
    here = {run_lock.PID_TAG: pid, run_lock.HOST_TAG: socket.gethostname()}
    elsewhere = {run_lock.PID_TAG: pid, run_lock.HOST_TAG: "another-host"}
    assert run_lock.owner_gone(here, "run-1")
    assert not run_lock.owner_gone(elsewhere, "run-1")
    assert not run_lock.owner_gone(run_lock.owner_tags("run-1"), "run-1")  # this process
    # A retry carrying its parent's tags, not yet claimed by its own process, is not killed
    # (mutation testing: the copied tags taken as the retry's own, no test failed).
    copied = {**here, run_lock.PARENT_RUN_ID_TAG: "run-0"}
    assert not run_lock.owner_gone(copied, "run-1")
    assert run_lock.owner_gone({**copied, run_lock.OWNER_OF_TAG: "run-1"}, "run-1")


def test_a_run_is_claimed_for_itself_once_and_its_live_retry_is_kept(monkeypatch):
    """`claim_run` records this process for the run it names, once: a retry created with
    its parent's tags then counts as taken up, and is never released while its process
    lives (mutation testing: the claim recorded for no run in particular, or made again on
    every resource of the run, no test failed)."""
    dead = {run_lock.PID_TAG: str(dead_pid()), run_lock.HOST_TAG: socket.gethostname()}
    with in_memory_instance() as instance:
        parent = _run(instance, DagsterRunStatus.FAILURE, **dead)
        retry = _run(instance, DagsterRunStatus.STARTED, parent=parent.run_id, **dead)
        assert run_lock.claim_run(instance, retry.run_id)
        assert not run_lock.claim_run(instance, retry.run_id)
        tags = instance.get_run_by_id(retry.run_id).tags
        assert (tags[run_lock.OWNER_OF_TAG], tags[run_lock.PID_TAG]) == (
            retry.run_id,
            str(os.getpid()),
        )
        monkeypatch.setattr(run_lock, "UNCLAIMED_GRACE_SECONDS", 0.0)
        assert run_lock.release_dead_runs(instance, print) == []
