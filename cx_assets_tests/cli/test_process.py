"""The command's own process: NumPy's BLAS threads, Ctrl-C however a library passes it on
(its garbage collection is tested with the run's failures, `test_failures`)."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cx_assets.cli.process import (
    SQLALCHEMY_POOL_LOGGERS,
    ClosedPipeTolerant,
    InterruptWatch,
    _NotCtrlC,
)
from cx_assets_tests.cli import START, answering_stop_signals, calls_day


@pytest.fixture(scope="module")
def landed_calls(tmp_path_factory) -> Path:
    """One small day of calls, landed once for the module (ten tests each ran `generate`
    for the same day); each test runs on a copy of its own."""
    return calls_day(tmp_path_factory.mktemp("landed") / "data")


@pytest.fixture
def data_dir(landed_calls, tmp_path) -> Path:
    return Path(shutil.copytree(landed_calls, tmp_path / "data"))


class _Stream:
    """A standard stream whose writes and flushes fail with the error `errno` (None: they
    take the text)."""

    encoding = "utf-8"

    def __init__(self, errno: int | None) -> None:
        self.errno, self.written = errno, []

    def write(self, text: str) -> int:
        self.flush()
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        if self.errno is not None:
            raise OSError(self.errno, os.strerror(self.errno))


@pytest.mark.parametrize("gone", [errno.EPIPE, errno.EIO], ids=["pipe", "terminal"])
def test_an_output_whose_reader_left_is_written_no_more_and_says_nothing(gone):
    """A pipe's reader gone (`| head`), or a terminal's (EIO, as its session drops): the
    command goes on to its end, its lines counted as written. Found by mutation testing:
    EIO taken for an error passed every test but a run in a terminal hung up."""
    stream = _Stream(gone)
    output = ClosedPipeTolerant(stream)
    assert output.write("summary\n") == 8
    output.flush()
    stream.errno = None  # tried again, the stream would now take it
    assert output.write("more\n") == 5
    output.flush()
    assert stream.written == [] and output.encoding == "utf-8"
    assert ClosedPipeTolerant(None).write("to the null device\n") == 19  # closed at start


def test_an_output_failing_otherwise_raises():
    """A full disk under `> summary.txt` is no reader gone: the command says it. Found by
    mutation testing: every error of the output swallowed passed every test."""
    output = ClosedPipeTolerant(_Stream(errno.ENOSPC))
    with pytest.raises(OSError) as failed:
        output.write("summary\n")
    assert failed.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        output.flush()


# `cx-lakehouse` as its entry point runs it, with `main` replaced by one that imports NumPy
# (as the command does, after start-up) and prints the threads of each OpenBLAS it loaded,
# the variable that set them, and whether its start-up collection was armed.
_COMMAND_REPORTING_BLAS_THREADS = """
import json, os, sys
from cx_assets import cli

def main():
    imported_before = "numpy" in sys.modules
    import numpy, threadpoolctl
    pools = threadpoolctl.threadpool_info()
    print(json.dumps({
        "imported_before": imported_before,
        "openblas": [pool["num_threads"] for pool in pools if pool["internal_api"] == "openblas"],
        "variable": os.environ.get("OPENBLAS_NUM_THREADS"),
        "collection_armed": cli.process.START_UP_COLLECTION.armed,
    }))
    return 0

cli.main = main
cli.run_program()
"""


# OpenBLAS takes at most a thread per core.
@pytest.mark.parametrize(
    "users_value", [None, str(min(2, os.cpu_count() or 1))], ids=["unset", "set by the user"]
)
def test_the_command_loads_numpy_with_one_blas_thread_unless_the_user_chose(users_value):
    """OpenBLAS's idle threads poll for work after NumPy is imported, on the cores start-up
    needs: `cx-lakehouse` has it compute in the calling thread, before NumPy is imported,
    and keeps a value the user set."""
    environment = {
        name: value for name, value in os.environ.items() if name != "OPENBLAS_NUM_THREADS"
    }
    if users_value is not None:
        environment["OPENBLAS_NUM_THREADS"] = users_value
    finished = subprocess.run(
        [sys.executable, "-c", _COMMAND_REPORTING_BLAS_THREADS],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert report["imported_before"] is False  # else the variable would come too late
    assert report["openblas"], "NumPy's OpenBLAS not found"
    assert set(report["openblas"]) == {int(users_value or 1)}
    # OpenBLAS's own variable, not OMP_NUM_THREADS, which other libraries' pools read too.
    # Found by mutation testing, as the command's collection left unarmed (which only
    # `run_program` arms: `test_failures` arms it by hand).
    assert report["variable"] == (users_value or "1")
    assert report["collection_armed"] is True


# `cx-lakehouse run` as its entry point runs it, with Ctrl-C (the process signalling
# itself) arriving where a library passes it on as something else, or not at all.
_CTRL_C_PASSED_ON_AS = """
import os, signal, sys, threading, time
from cx_assets import cli
from cx_assets.cli.run_plan import RunPlan

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # delivered here, at the latest

def wrapped_by_a_library(args):  # as pydantic's SchemaError during Dagster's import
    try:
        ctrl_c()
    except KeyboardInterrupt:
        raise ValueError("'cls' must be valid as the first argument to 'isinstance'") from None

def wrapped_while_a_class_is_created(args):  # Python 3.11, importing Dagster's classes
    class ArrivesDuringSetName:
        def __set_name__(self, owner, name):
            ctrl_c()
    type("Spec", (), {"field": ArrivesDuringSetName()})

def duckdb_query_interrupted(args):
    import duckdb

    con, done = duckdb.connect(), threading.Event()
    def ctrl_c_during_the_query():
        os.kill(os.getpid(), signal.SIGINT)
        # DuckDB notices a SIGINT only now and then: seen 90 s late, at the query's end, or
        # not at all. Interrupted as it would be, until the query gives up.
        while not done.wait(0.05):
            con.interrupt()
    threading.Timer(0.2, ctrl_c_during_the_query).start()
    try:
        con.execute("SELECT count(*) FROM range(1e12::BIGINT) a WHERE a.range % 7 = 3").fetchall()
    finally:
        done.set()

def selection_parser_swallows(args):
    from dagster._core.definitions.antlr_asset_selection import antlr_asset_selection

    parser = antlr_asset_selection.AntlrAssetSelectionParser
    parse = parser.__init__
    def parse_after_ctrl_c(self, *args, **kwargs):
        ctrl_c()
        parse(self, *args, **kwargs)
    parser.__init__ = parse_after_ctrl_c
    return run(args)

def swallowed_whole_before_the_run(args):
    resolve = RunPlan.resolve.__func__
    def resolve_then_swallow(cls, select):
        plan = resolve(cls, select)
        try:
            ctrl_c()
        except KeyboardInterrupt:
            pass
        return plan
    RunPlan.resolve = classmethod(resolve_then_swallow)
    return run(args)

def sqlalchemy_closing_a_connection_after_the_run(args):
    # The Dagster instance's SQLite connections close after each use; SQLAlchemy logs a
    # Ctrl-C arriving then with its traceback, then passes it on.
    from sqlalchemy.engine.default import DefaultDialect

    ran = []
    materialize = RunPlan.materialize
    def materialize_then_noted(self, *args, **kwargs):
        result = materialize(self, *args, **kwargs)
        ran.append(True)
        return result
    RunPlan.materialize = materialize_then_noted

    do_close = DefaultDialect.do_close
    def do_close_after_ctrl_c(self, connection):
        if ran and ran.pop():
            ctrl_c()  # once: as the first connection after the run closes
        do_close(self, connection)
    DefaultDialect.do_close = do_close_after_ctrl_c
    return run(args)

def ignored_in_a_background_job(args):
    ctrl_c()
    return 0

def stopped_after_the_run_in_a_background_job(args):
    # Dagster's handler, on its way out, gave SIGTERM what SIGINT had: ignored here.
    materialize = RunPlan.materialize
    def materialize_then_stopped(self, *args, **kwargs):
        result = materialize(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler's stop, as the summary begins
        time.sleep(0.05)
        return result
    RunPlan.materialize = materialize_then_stopped
    return run(args)

def stopped_as_dagster_hands_back_in_a_background_job(args):
    # Dagster's handler has just given SIGTERM what SIGINT had; the run is not yet returned.
    from dagster._core.execution import api

    execute_run = api.execute_run
    def execute_run_then_stopped(*args, **kwargs):
        result = execute_run(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        return result
    api.execute_run = execute_run_then_stopped
    return run(args)

def stopped_as_its_run_is_created(args):
    # The run is in Dagster's history, not started: Dagster's handler not yet in place.
    from dagster._core.execution import api

    execute_run = api.execute_run
    def stopped_then_execute_run(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # a CI step's `timeout`
        time.sleep(0.05)
        return execute_run(*args, **kwargs)
    api.execute_run = stopped_then_execute_run
    return run(args)

run = cli.cmd_run
scenario = os.environ["SCENARIO"]
if scenario.endswith("_in_a_background_job"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
cli.cmd_run = globals()[scenario]
sys.argv = ["cx-lakehouse", "run", "--date", sys.argv[1], "--select", "group:calls"]
cli.run_program()
"""

INTERRUPTED_LINE = "cx-lakehouse: interrupted; run the command again to finish it\n"
STOPPED_LINE = "cx-lakehouse: stopped (SIGTERM); run the command again to finish it\n"


@pytest.mark.parametrize(
    "scenario, exit_code, stderr, ran",
    [
        ("wrapped_by_a_library", 130, INTERRUPTED_LINE, False),
        ("wrapped_while_a_class_is_created", 130, INTERRUPTED_LINE, False),
        ("duckdb_query_interrupted", 130, INTERRUPTED_LINE, False),
        ("selection_parser_swallows", 130, INTERRUPTED_LINE, False),
        ("swallowed_whole_before_the_run", 130, INTERRUPTED_LINE, False),
        ("sqlalchemy_closing_a_connection_after_the_run", 130, INTERRUPTED_LINE, True),
        ("ignored_in_a_background_job", 0, "", False),
        ("stopped_after_the_run_in_a_background_job", 143, STOPPED_LINE, True),
        ("stopped_as_dagster_hands_back_in_a_background_job", 143, STOPPED_LINE, True),
    ],
)
def test_ctrl_c_ends_the_command_however_a_library_passes_it_on(
    scenario, exit_code, stderr, ran, data_dir
):
    """Ctrl-C ends the command in its one line and 130 though the code it arrived in made it
    an error of its own (Python 3.11 and pydantic during Dagster's import, DuckDB's
    interrupted query, Dagster's selection parser calling the string invalid) or swallowed
    it (the run then does not start), or logged it with a traceback (SQLAlchemy closing a
    connection); a background job's ignored SIGINT stays ignored, and its SIGTERM is still
    answered after the run (Dagster's handler left it ignored, as SIGINT)."""
    finished = subprocess.run(
        [sys.executable, "-c", _CTRL_C_PASSED_ON_AS, START],
        env={**os.environ, "CX_DATA_DIR": str(data_dir), "SCENARIO": scenario},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=answering_stop_signals,  # as in a terminal (the background job ignores it itself)
    )
    assert (finished.returncode, finished.stderr) == (exit_code, stderr), finished.stdout
    assert ("materializing" in finished.stdout) is ran, finished.stdout


def test_a_run_stopped_before_its_steps_began_is_not_left_unstarted(data_dir):
    """Seen in an audit: `timeout` stopping `cx-lakehouse run` (a CI step's, a systemd
    stop) once its run was in Dagster's history but before Dagster took the signals over
    ended the command in its line and 143, and left the run NOT_STARTED: the UI listed it
    as waiting to start, and the next run took it for a killed one ("left NOT_STARTED by
    process ..., which is gone: marked failed; ... it may have left half built")."""
    from dagster import DagsterInstance, DagsterRunStatus

    finished = subprocess.run(
        [sys.executable, "-c", _CTRL_C_PASSED_ON_AS, START],
        env={
            **os.environ,
            "CX_DATA_DIR": str(data_dir),
            "SCENARIO": "stopped_as_its_run_is_created",
        },
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=answering_stop_signals,
    )
    assert (finished.returncode, finished.stderr) == (143, STOPPED_LINE), finished.stdout
    with DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.FAILURE, run.status


# The watch armed as `run_program` arms it; then, as during a run's steps, another handler
# (Dagster's) takes the signal and says nothing of which it was.
_CAUGHT_BY_ANOTHER_HANDLER = """
import os, signal, sys, time
from cx_assets.cli import process
from cx_assets.command import interruption

process.INTERRUPT.arm()
assert process.INTERRUPT.caught() is None
signal.signal(signal.SIGINT, lambda signum, frame: None)
signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))  # as Dagster maps SIGTERM
for name in sys.argv[1:]:
    os.kill(os.getpid(), getattr(signal, name))
    time.sleep(0.05)
print(process.INTERRUPT.caught(), interruption()[1])
"""


@pytest.mark.parametrize(
    "sent, caught, exit_code",
    [
        (["SIGTERM"], 15, 143),
        (["SIGINT"], 2, 130),
        (["SIGHUP"], 1, 129),  # handed on to SIGTERM's handler, as Dagster takes no SIGHUP
        (["SIGTERM", "SIGINT"], 15, 143),
        ([], None, 130),
    ],
)
def test_the_signal_another_handler_took_is_known_by_its_number(sent, caught, exit_code):
    """During a run's steps Dagster's handler takes SIGINT and SIGTERM alike (and a hang-up,
    which the command hands to it); the command still tells them apart (the first one
    counts) for its exit code."""
    finished = subprocess.run(
        [sys.executable, "-c", _CAUGHT_BY_ANOTHER_HANDLER, *sent],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=answering_stop_signals,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == [str(caught), str(exit_code)]


# ---------------------------------------------------------------------------------------
# The watch's handlers, called as Python calls them (fast: no process of its own)
# ---------------------------------------------------------------------------------------


def raises_ctrl_c(handler, signum: int) -> bool:
    """Whether a signal handler, called as Python calls it, raised KeyboardInterrupt (caught
    here: one let out of a test would end the whole session)."""
    try:
        handler(signum, None)
    except KeyboardInterrupt:
        return True
    return False


def test_the_first_stop_signal_counts_whichever_handler_took_the_next():
    """Found by mutation testing, each passing every test of the command (its exit code is
    the first signal's): a later signal taking the place of the first, in this watch's
    handlers or read back from the wakeup pipe, and a signal of another kind (SIGCHLD,
    which a library may handle) read there as a stop."""
    noted = InterruptWatch()
    assert raises_ctrl_c(noted._noted, signal.SIGTERM)
    assert raises_ctrl_c(noted._noted, signal.SIGINT)
    # SIGTERM answered by default here: the hang-up raised as is
    assert raises_ctrl_c(noted._hung_up, signal.SIGHUP)
    assert noted.caught() == signal.SIGTERM

    read_back = InterruptWatch()
    read, write = os.pipe2(os.O_NONBLOCK)
    try:
        read_back._wakeup = read
        os.write(write, bytes([signal.SIGCHLD, signal.SIGTERM, signal.SIGINT]))
        assert read_back.caught() == signal.SIGTERM
    finally:
        os.close(read)
        os.close(write)


HANDED: list[int] = []


def dagsters_handler(signum, frame) -> None:
    HANDED.append(signum)


def test_a_hang_up_is_handed_to_the_stop_signals_handler(monkeypatch):
    """Dagster takes no SIGHUP: the watch hands it to SIGTERM's handler (Dagster's during the
    steps), which stops the run, and remembers it was a hang-up (exit 129)."""
    HANDED.clear()
    monkeypatch.setattr(signal, "getsignal", {signal.SIGTERM: dagsters_handler}.get)
    watch = InterruptWatch()
    assert not raises_ctrl_c(watch._hung_up, signal.SIGHUP)  # Dagster's handler raises none
    assert HANDED == [signal.SIGTERM] and watch.caught() == signal.SIGHUP


def test_a_run_lent_to_dagster_where_ctrl_c_is_ignored_still_answers_a_stop_signal():
    """In a shell's background job (SIGINT ignored) SIGINT stays ignored during the run and
    SIGTERM is answered; both are put back afterwards, whatever Dagster's handler gave
    SIGTERM on its way out. Found by mutation testing: the ignored SIGINT's check negated,
    and the handlers left as Dagster left them, passed every test but whole runs."""
    watch = InterruptWatch()
    before = {stop: signal.getsignal(stop) for stop in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with watch.lent_to_dagster():
            during = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as Dagster's handler leaves it
        after = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    finally:
        for stop, handler in before.items():
            signal.signal(stop, handler)
    assert during == watch._stopped_unless_ctrl_c
    assert after == (signal.SIG_IGN, signal.SIG_DFL)
    assert not raises_ctrl_c(watch._stopped_unless_ctrl_c, signal.SIGINT)  # ignored
    assert watch.caught() is None
    assert raises_ctrl_c(watch._stopped_unless_ctrl_c, signal.SIGTERM)
    assert watch.caught() == signal.SIGTERM


@pytest.mark.parametrize(
    ("error", "kept"),
    [(KeyboardInterrupt(), False), (RuntimeError("closed"), True), (None, True)],
    ids=["ctrl-c", "another error", "no error"],
)
def test_sqlalchemys_record_of_a_ctrl_c_it_passes_on_is_dropped_and_no_other(error, kept):
    """SQLAlchemy's NullPool (the Dagster instance's SQLite storage) logs a Ctrl-C closing a
    connection with its traceback: that record alone is dropped."""
    exc_info = (type(error), error, None) if error is not None else None
    record = logging.LogRecord(
        "sqlalchemy.pool.impl.NullPool", logging.ERROR, __file__, 1, "Exception closing "
        "connection", None, exc_info
    )  # fmt: skip
    assert _NotCtrlC().filter(record) is kept
    assert "sqlalchemy.pool.impl.NullPool" in SQLALCHEMY_POOL_LOGGERS
