"""`cx-lakehouse run` under contention and after a crash, end to end, as a user runs it:
runs on one data root queue behind each other, a run after a `kill -9` of another completes,
a process holding the warehouse file gets one line, and environment mistakes one line each."""

from __future__ import annotations

import os
import select
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from dagster import DagsterInstance, DagsterRunStatus, asset, materialize

from cx_assets.cli import dagster_yaml, prepare_dagster_home
from cx_assets_tests.cli import BIN, built, cli

pytestmark = pytest.mark.long_module

DAY = "2024-03-04"
# The landed source alone: the lock, the run records and the release of dead runs are the
# same for any selection, and a run of every domain (three of them empty) takes twice as long.
RUN = ("run", "--date", DAY, "--select", "group:calls")


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    """One day of calls, landed once; each test copies it into a data root of its own."""
    data_dir = tmp_path_factory.mktemp("landed") / "data"
    generated = cli(
        "generate", "--start", DAY, "--days", "1", "--scale", "0.05", "--sources", "calls",
        "--quiet", data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    return data_dir


@pytest.fixture
def data_dir(landed, tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(landed, copy)
    return copy


def start_run(data_dir: Path, *extra: str) -> subprocess.Popen:
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [str(BIN / "cx-lakehouse"), *RUN, *extra],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, to kill it as an OOM killer would
    )


def run_statuses_in_progress(data_dir: Path) -> list[str]:
    """Run statuses read straight from the run storage (sqlite), without opening a Dagster
    instance while the run under test may still be creating it."""
    runs_db = data_dir / "dagster_home" / "history" / "runs.db"
    if not runs_db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{runs_db}?mode=ro", uri=True, timeout=1) as con:
            return [row[0] for row in con.execute("SELECT status FROM runs")]
    except sqlite3.Error:
        return []


def runs_of(data_dir: Path) -> list:
    with DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        return list(instance.get_runs())


def test_two_runs_started_together_both_succeed(data_dir):
    first, second = start_run(data_dir), start_run(data_dir)
    outputs = [process.communicate(timeout=300)[0] for process in (first, second)]

    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert all(output.rstrip().endswith("OK") for output in outputs)
    # one of them queued behind the other, and said whom it waited for
    waited = [output for output in outputs if "waiting for cx-lakehouse run (pid" in output]
    assert len(waited) == 1, outputs


def test_a_run_after_a_killed_run_completes_and_releases_it(data_dir):
    victim = start_run(data_dir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it mid-run, once Dagster has it STARTED
        if "STARTED" in run_statuses_in_progress(data_dir):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the run never started")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()

    began = time.monotonic()
    after = cli(*RUN, data_dir=data_dir)
    took = time.monotonic() - began

    assert after.returncode == 0, after.stdout + after.stderr
    lines = after.stdout.splitlines()
    released = [n for n, line in enumerate(lines) if "which is gone: marked failed" in line]
    assert len(released) == 1, after.stdout
    # what it was building, and how to run it again (a table's day rebuilt, its readers not)
    assert lines[released[0]].endswith(
        f"; it was building {DAY}, which it may have left half built: run again with"
    )
    assert lines[released[0] + 1] == f"  cx-lakehouse run --date {DAY} --select group:calls"
    assert took < 120
    statuses = [run.status for run in runs_of(data_dir)]
    assert DagsterRunStatus.FAILURE in statuses
    assert not {DagsterRunStatus.STARTED, DagsterRunStatus.STARTING} & set(statuses)


def test_a_run_killed_while_it_waits_for_the_lock_is_released_too(data_dir, monkeypatch):
    """A run Dagster started (the daemon's, or `dagster asset materialize`) waits for the
    lock inside its process; killed there, it must not stay STARTED for good."""
    from cx_assets_tests.lakehouse.test_run_lock import hold_lock

    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the data root's own instance
    home = prepare_dagster_home(data_dir)
    assert home == data_dir / "dagster_home"
    holder = hold_lock(data_dir, 120)
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home)}
    waiter = subprocess.Popen(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "cx_assets.definitions",
         "--select", "bronze/calls_transcripts", "--partition", DAY],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        for line in waiter.stdout:
            if "waiting for run held-by-test" in line:
                break
        else:
            pytest.fail("the run never waited for the lock")
        os.killpg(waiter.pid, signal.SIGKILL)
        waiter.wait()
    finally:
        holder.kill()
        holder.wait()

    after = cli(*RUN, data_dir=data_dir)

    assert after.returncode == 0, after.stdout + after.stderr
    released = [
        line for line in after.stdout.splitlines() if "which is gone: marked failed" in line
    ]
    assert len(released) == 1, after.stdout
    # started by Dagster's own CLI: its day is named, no command of ours to run it again
    assert released[0].endswith(f"; it was building {DAY}, which it may have left half built")
    statuses = [run.status for run in runs_of(data_dir)]
    assert not {DagsterRunStatus.STARTED, DagsterRunStatus.STARTING} & set(statuses)


def test_a_process_holding_the_warehouse_gets_one_line(data_dir):
    built(data_dir, *RUN)  # the warehouse a run wrote
    reader = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        held = cli(*RUN, data_dir=data_dir)
    finally:
        reader.close()

    assert held.returncode == 1
    (line,) = held.stderr.strip().splitlines()
    assert "warehouse.duckdb is held by another process" in line
    assert "Traceback" not in held.stdout + held.stderr


def test_an_old_dagster_yaml_with_run_and_pool_limits_is_replaced(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "# Written by cx-lakehouse.\n# step at a time in the warehouse pool.\nconcurrency:\n  runs:\n"
        "    max_concurrent_runs: 1\n  pools:\n    default_limit: 1\n"
    )
    prepare_dagster_home(tmp_path)
    assert (home / "dagster.yaml").read_text() == dagster_yaml(home)
    assert "pools" not in dagster_yaml(home)
    # a file the user wrote is theirs
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    prepare_dagster_home(tmp_path)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


# A command of ours on a data root: its home prepared, then the instance opened.
# Opens each data root read from stdin, one a line, and says so: two of them, started once
# and each given the same new root at the same moment, open it together as two commands do.
_OPEN_NEW_HOMES = """
import sys
from pathlib import Path
from dagster import DagsterInstance
from cx_assets.cli import prepare_dagster_home
for line in sys.stdin:
    with DagsterInstance.from_config(str(prepare_dagster_home(Path(line.rstrip())))) as instance:
        instance.get_runs(limit=1)
    print("opened", flush=True)
"""


def test_two_commands_opening_a_new_data_root_at_once_leave_it_usable(tmp_path):
    """Seen in the daemon's test on a busy machine: two processes opening a new DAGSTER_HOME
    at once both stamped the run database's schema revision, and with two rows in
    `alembic_version` every later open failed ("more than one head present"). Without the
    home's storage made once under a lock, about half of such pairs broke it.

    One pair of processes opens five new roots, each root handed to both at once once both
    have imported Dagster (a pair started for each root spent most of the test importing:
    about 2.5 s of CPU a process, and their imports, not their opens, set them apart)."""
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    errors = [tmp_path / f"errors{n}.txt" for n in range(2)]
    pair = []
    for path in errors:
        with path.open("w") as stderr:
            pair.append(subprocess.Popen(
                [str(BIN / "python"), "-c", _OPEN_NEW_HOMES], env=environment, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            ))  # fmt: skip
    try:
        for trial in range(5):
            root = tmp_path / f"root{trial}"
            for process in pair:
                process.stdin.write(f"{root}\n")
                process.stdin.flush()
            for process, path in zip(pair, errors, strict=True):
                answered, _, _ = select.select([process.stdout], [], [], 120)
                said = process.stdout.readline() if answered else "(nothing in 120 s)"
                assert said == "opened\n", f"{root}: {said} {path.read_text()}"
            runs = root / "dagster_home" / "history" / "runs.db"
            with sqlite3.connect(runs) as database:
                assert database.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
            with DagsterInstance.from_config(str(root / "dagster_home")) as instance:
                assert instance.get_runs() == []
    finally:
        for process in pair:
            process.stdin.close()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for process, path in zip(pair, errors, strict=True):
        assert process.returncode == 0, path.read_text()


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["generate", "--start", DAY, "--days", "1", "--scale", "nan"], {}, "--scale must be"),
        (["generate", "--start", DAY, "--days", "1", "--scale", "inf"], {}, "--scale must be"),
        (["generate", "--start", "9999-12-31", "--days", "2"], {}, "past the year 9999"),
        # Seen in an audit: a valid range ending 9999-12-31 overflowed a date computed for a
        # deal decided later, with a traceback and half the sources landed.
        (["generate", "--start", "9999-12-31", "--days", "1"], {}, "synthetic days lie from"),
        (["generate", "--start", "2189-12-31", "--days", "2"], {}, "synthetic days lie from"),
        (["generate", "--start", "0001-01-05", "--days", "1"], {}, "synthetic days lie from"),
        (["run", "--date", DAY], {"DAGSTER_HOME": "relative/home"}, "must be an absolute path"),
        (["run", "--date", DAY], {"DAGSTER_HOME": "FILE"}, "is a file, not a folder"),
        # Taken as a folder so named: a home beside the one meant, its runs apart from its UI's.
        (["run", "--date", DAY], {"DAGSTER_HOME": "ROOT-home "}, "begins or ends with a space"),
        (["run", "--date", DAY], {"DAGSTER_HOME": " "}, "DAGSTER_HOME=' ' names no folder"),
        (["run", "--date", DAY], {"CX_DATA_DIR": "FILE"}, "is a file, not a folder"),
        # A traceback from `generate` (and `ui`): NotADirectoryError making the data root.
        (
            ["generate", "--start", DAY, "--days", "1", "--sources", "calls"],
            {"CX_DATA_DIR": "FILE/data"},
            "lies in FILE, which is a file, not a folder",
        ),
        # Taken as a folder so named: `   ` made one in the working directory, ` /srv/cx`
        # a ` ` folder there with srv/cx in it, `/srv/cx ` a sibling of /srv/cx.
        (["run", "--date", DAY], {"CX_DATA_DIR": "   "}, "CX_DATA_DIR='   ' names no folder"),
        (["run", "--date", DAY], {"CX_DATA_DIR": " ROOT"}, "begins or ends with a space"),
        (["run", "--date", DAY], {"CX_DATA_DIR": "ROOT\t"}, "begins or ends with a space"),
        # Taken as unset: personal values hashed under the documented local-only key, which
        # anyone can read, where the secret was meant (`CX_HASH_KEY=$SECRET`, left unset).
        (["run", "--date", DAY], {"CX_HASH_KEY": ""}, "CX_HASH_KEY is set but empty"),
        (["run", "--date", DAY], {"CX_HASH_KEY": " \n"}, "CX_HASH_KEY is set but blank"),
        # A traceback each: mkdir's FileExistsError on a link whose folder is not there (a
        # disk not mounted), Python's RuntimeError resolving a loop of links.
        (
            ["run", "--date", DAY],
            {"DAGSTER_HOME": "LINK"},
            "DAGSTER_HOME=LINK is a link to GONE, which is no folder",
        ),
        (
            ["generate", "--start", DAY, "--days", "1", "--sources", "calls"],
            {"CX_DATA_DIR": "LOOP/data"},
            "CX_DATA_DIR=LOOP/data goes through a loop of symbolic links",
        ),
        (["run", "--date", DAY], {"CX_DATA_DIR": "ROOT%41"}, "holds a '%'"),
        # Seen in an audit: a raw SQLite error ("no such table"), and bronze "not found".
        (["run", "--date", DAY], {"CX_DATA_DIR": "ROOT?x"}, "holds a '?'"),
        (["run", "--date", DAY], {"CX_DATA_DIR": "ROOT[r]"}, "holds a '['"),
        # Found in a hostile-input audit: DuckDB reads `*` and `?` in the paths it lists as
        # patterns, so a run on `root*` read a sibling data root's bronze files as its own
        # (reconciliation failed); `?` was refused only with DAGSTER_HOME inside the root.
        (["run", "--date", DAY], {"CX_DATA_DIR": "ROOT*x"}, "holds a '*'"),
        # Found in an audit of the paths given to DuckDB: it reads a `\` as a `/`, so `root\x`'s
        # warehouse was created in `root/x/` when that folder existed, outside the root, and
        # its bronze files were "not found"; else a traceback.
        (["run", "--date", DAY], {"CX_DATA_DIR": "ROOT\\x"}, "holds a '\\'"),
        (
            ["run", "--date", DAY],
            {"CX_DATA_DIR": "ROOT?x", "DAGSTER_HOME": "ROOT-home"},
            "CX_DATA_DIR=",
        ),
        (
            ["run", "--date", DAY, "--select", "key:gold/calls_kpis_daily"],
            {},
            "--select reads gold/calls_performance, never built: include it (e.g. --select "
            "'*gold/calls_kpis_daily') or run it first",
        ),
    ],
)
def test_environment_mistakes_end_in_one_line(data_dir, tmp_path, args, env, expected):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    (link := tmp_path / "link").symlink_to(gone := tmp_path / "gone" / "home")
    (loop := tmp_path / "loop").symlink_to(loop)
    for name, path in (("FILE", a_file), ("LINK", link), ("GONE", gone), ("LOOP", loop)):
        env = {variable: value.replace(name, str(path)) for variable, value in env.items()}
        expected = expected.replace(name, str(path))
    env = {name: value.replace("ROOT", str(tmp_path / "root")) for name, value in env.items()}
    target = Path(env.pop("CX_DATA_DIR", data_dir))
    result = cli(*args, data_dir=target, cwd=str(tmp_path), **env)

    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("cx-lakehouse: ") and expected in line
    assert not (tmp_path / "relative").exists()


def stop_daemon(daemon: subprocess.Popen) -> None:
    """SIGTERM (the daemon stops its threads and code servers), then kill what is left of
    its process tree, run workers included. A daemon that already ended leaves no tree to
    stop: the test's own failure, with the daemon's log, is the one to show."""
    try:
        tree = psutil.Process(daemon.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    daemon.terminate()
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    for process in psutil.wait_procs(tree, timeout=10)[1]:
        process.kill()


def test_the_daemon_retries_a_landing_run_that_failed_waiting_for_the_lock(data_dir, monkeypatch):
    """A sensor's run that gave up waiting for the run lock is started again by the daemon
    (run retries, from our dagster.yaml), and the retry builds the day once the lock is free."""
    from cx_assets_tests.lakehouse.test_run_lock import hold_lock

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = prepare_dagster_home(data_dir)
    holder = hold_lock(data_dir, 300)
    environment = {
        **os.environ, "CX_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home),
        "CX_RUN_WAIT_SECONDS": "1",
    }  # fmt: skip
    log = (data_dir.parent / "daemon.log").open("w")
    # Opened once, its storage made above: opening an instance for each poll cost 80 ms of
    # CPU, a run's read 2 ms, at two polls a second for the 30-60 s the daemon takes.
    instance = DagsterInstance.from_config(str(home))
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "cx_assets.definitions"],
        env=environment, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip

    def landing_runs() -> list:
        runs = instance.get_runs()
        return [run for run in runs if run.tags.get("cx/trigger") == "landing"]

    def wait_until(condition, what: str, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            assert daemon.poll() is None, (data_dir.parent / "daemon.log").read_text()
            time.sleep(0.5)
        pytest.fail(
            f"no {what} within {timeout} s: {[(r.run_id, r.status) for r in instance.get_runs()]}"
        )

    try:
        failed = wait_until(
            lambda: [r for r in landing_runs() if r.status == DagsterRunStatus.FAILURE],
            "failed landing run",
        )[0]
        holder.kill()
        holder.wait()
        retried = wait_until(
            lambda: [
                r for r in landing_runs()
                if r.root_run_id == failed.run_id and r.status == DagsterRunStatus.SUCCESS
            ],
            "successful retry",
        )[0]  # fmt: skip
    finally:
        holder.kill()
        stop_daemon(daemon)
        log.close()
        instance.dispose()

    assert failed.tags["dagster/max_retries"] == "2"
    assert "dagster/retry_number" in retried.tags
    assert retried.tags["dagster/partition"] == DAY
    assert list((data_dir / "gold" / "calls_kpis_daily").glob(f"date={DAY}/*.parquet"))


@asset
def _says_why(context) -> int:
    context.log.info("a line the user should see")
    return 1


def captured_output(instance: DagsterInstance, run_id: str) -> tuple[str, str]:
    """The stdout and stderr Dagster captured of a run's steps, as the UI's view of them."""
    (file_key,) = [
        record.dagster_event.logs_captured_data.file_key
        for record in instance.all_logs(run_id)
        if record.dagster_event and record.dagster_event.event_type_value == "LOGS_CAPTURED"
    ]
    manager = instance.compute_log_manager
    data = manager.get_log_data(manager.build_log_key_for_run(run_id, file_key))
    return (data.stdout or b"").decode(), (data.stderr or b"").decode()


def test_a_run_without_logger_config_prints_info_up_and_stores_every_event(
    tmp_path, monkeypatch, capfd
):
    """The daemon's runs (sensors, schedule, automation, the UI's buttons) take no run config
    of ours: on our instance they print their console lines from INFO up, no DEBUG event
    (about a hundred lines a run before), yet the UI's run log keeps every event."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = prepare_dagster_home(tmp_path)
    with DagsterInstance.from_config(str(home)) as instance:
        result = materialize([_says_why], instance=instance)
        events = [record.dagster_event for record in instance.all_logs(result.run_id)]
        messages = [record.user_message for record in instance.all_logs(result.run_id)]
        step_stdout, step_stderr = captured_output(instance, result.run_id)

    # A step's console lines go to the run's stderr as Dagster captures it (the UI's stderr
    # view), read here from its file. Dagster copies that file on to the terminal with a
    # `tail -F` it stops as the step ends, without waiting for it to catch up: on a busy
    # machine the tail had read nothing yet and the terminal got none of the step (the test
    # failed so once, in a full `make test` at load 12-18, and fails every time with a `tail`
    # that starts 1 s late). What the run printed outside its steps is the terminal's.
    printed = capfd.readouterr()
    run_output = "\n".join((printed.out, printed.err, step_stdout, step_stderr))
    assert result.success
    assert "a line the user should see" in step_stderr
    assert " - DEBUG - " not in run_output and "STEP_START" not in run_output
    assert any(event and event.event_type_value == "STEP_START" for event in events)
    assert "a line the user should see" in messages
