"""The command's own process: its standard output, its garbage collector during start-up,
NumPy's BLAS threads, and Ctrl-C or a stop signal however the libraries pass it on."""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import os
import shutil
import signal
import threading
from collections.abc import Iterator


class ClosedPipeTolerant:
    """A standard stream that stops writing, quietly, once its reader has gone: a pipe's
    (`cx-lakehouse run ... | head`: the run goes on to its end and its exit code, instead of
    a BrokenPipeError traceback cutting it short) or a terminal's (closed, or its SSH
    session dropped: writing then fails with EIO while the command stops on its hang-up).

    A stream closed before the command started (`>&-`, `2>&-`: a script silencing it) is
    None to Python, which print() skips; written to, it ended the command in an
    AttributeError before any work, exit 120. It writes to the null device instead."""

    GONE = (errno.EPIPE, errno.EIO)

    def __init__(self, stream) -> None:
        if stream is None:
            stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as the process)
        self._stream, self._closed = stream, False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except OSError as error:
                self._closed = self._gone(error)
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except OSError as error:
                self._closed = self._gone(error)

    def _gone(self, error: OSError) -> bool:
        if error.errno not in self.GONE:
            raise error
        return True

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class StartUpCollection:
    """Keeps Python's cyclic garbage collector off the objects a run's start-up leaves.

    Importing Dagster, pandas and DuckDB and building the definitions leaves about 300,000
    objects that live as long as the process; none is garbage. Left to its defaults, the
    collector scans all of them in every full collection, each longer as the heap grows:
    5-7 of them, 0.45-0.85 s of a one-day run (a sixth of a calls day). So the command's
    own process pauses collection during start-up, then freezes what start-up left
    (`gc.freeze`: never scanned again) and collects the run's own objects, less often
    than by default: a young generation of 10,000 objects instead of 700 (a few MB).
    Memory is unchanged (a 14-day CRM range peaks as before; docs/benchmarks.md).

    Only `run_program` arms it: a process that calls `main` (the tests) keeps its collector
    as it is, since freezing would keep that process's garbage of the moment for good."""

    YOUNG_GENERATION = 10_000

    def __init__(self) -> None:
        self.armed = False
        self._paused = False

    def pause(self) -> None:
        if self.armed and gc.isenabled():
            gc.disable()
            self._paused = True

    def freeze_and_resume(self) -> None:
        if self._paused:
            gc.freeze()
            _, *older = gc.get_threshold()
            gc.set_threshold(self.YOUNG_GENERATION, *older)
            gc.enable()
            self._paused = False


START_UP_COLLECTION = StartUpCollection()


# OpenBLAS reads it when NumPy is first imported, in this process or a child it starts.
BLAS_THREADS_VARIABLE = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> None:
    """Have NumPy's OpenBLAS compute in the calling thread, with no thread pool of its own.

    Importing NumPy starts an OpenBLAS thread for each core but one, which polls for work
    for a while before it sleeps: about 0.1 s of CPU in each process that imports NumPy
    (`cx-lakehouse run` and the process reading bronze early), during start-up, when the
    command's start-up and that reading already take both cores. Nothing here multiplies
    matrices large enough to gain from BLAS threads, and a run's steps already share the
    cores (two at a time, with DuckDB's threads). Set before NumPy is imported (the command
    imports it lazily); a value the user set is kept."""
    os.environ.setdefault(BLAS_THREADS_VARIABLE, "1")


def has_a_working_directory() -> bool:
    """False when the working directory was deleted (or moved) under the command."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


def out_of_a_deleted_working_directory() -> None:
    """Move to `/` if the working directory was deleted under the command (a release folder
    a deploy replaced, a temporary one cleaned away, cron's script run from it).

    Dagster asks for the working directory as the command builds the run's job
    (`build_reconstructable_job`, even when given one), and a deleted one ended the run in
    FileNotFoundError's traceback before it began, whatever the data root. Called once the
    data root and the --config file are absolute paths (a relative one is refused in one
    line): the command reads nothing relative to the working directory after that."""
    if not has_a_working_directory():
        os.chdir("/")


def tail_on_path() -> None:
    """Have the system's own folders (`os.defpath`: /bin, /usr/bin) searched after PATH
    when `tail` is not on it. Dagster captures each step's output through `tail -F`, found
    on PATH: a PATH of the command's own folder alone (a crontab's `PATH=/srv/cx/.venv/bin`,
    which is enough to find cx-lakehouse) failed every run in "run: FileNotFoundError: ...
    'tail'"."""
    if shutil.which("tail") is None:
        os.environ["PATH"] = os.pathsep.join(filter(None, (os.environ.get("PATH"), os.defpath)))


class InterruptWatch:
    """Remembers that the command was interrupted, by Ctrl-C (SIGINT), a stop signal
    (SIGTERM: a scheduler's, `kill`'s) or its terminal hanging up (SIGHUP: a closed window,
    a dropped SSH session), however the code it arrived in passed it on, and which it was:
    the command ends with the shell's code for it (128 + the signal's number: 130, 143,
    129), as a process the signal had killed would.

    Python raises KeyboardInterrupt wherever the main thread is when Ctrl-C arrives, and
    libraries do not all let it through: Python 3.11 wraps it in a RuntimeError while a
    class is created, pydantic in a SchemaError while a model is built (both during
    Dagster's import), DuckDB ends the query with `RuntimeError("Query interrupted")`, and
    Dagster's selection parser catches it (`except:`) and calls the string invalid. So the
    command's handler notes the signal before raising KeyboardInterrupt as Python's would
    for Ctrl-C: an error that follows is then taken for the interruption it is
    (`cli.main`), and one swallowed whole stops the command before its run starts
    (`stop_if_received`). SQLAlchemy, closing one of the Dagster instance's connections (it
    does after each use), catches one to log "Exception closing connection" with its
    traceback before passing it on: that record is dropped, a page of text where the
    command's one line should be. SIGTERM takes the same way, so a stop before the run's
    steps ends in the command's line too, where it had ended the process without a word.

    During a run's steps Dagster's own handler stands in for this one, for SIGINT and
    SIGTERM (it answers SIGTERM as SIGINT): it lets the running steps finish and fails the
    run, without saying which signal arrived. Python writes the number of every signal it
    catches, whoever's handler takes it, to the wakeup file descriptor
    (`signal.set_wakeup_fd`): the watch reads it back there. Dagster does not handle
    SIGHUP, which by default killed the command where it stood, its run left STARTED
    until the next run marked it failed: the watch hands it to whichever handler SIGTERM
    has, so a hang-up stops the command as a stop signal does. Only `run_program` arms it,
    and only in the main thread, where Python delivers signals; a signal ignored (SIGINT in
    a shell's background job, SIGHUP under `nohup`) stays ignored."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: int | None = None  # the first signal's number
        self._wakeup: int | None = None  # the read end of the wakeup pipe

    def arm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        read, write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        self._wakeup = read
        # Loggers made by name before SQLAlchemy is imported are the ones it then uses.
        for name in SQLALCHEMY_POOL_LOGGERS:
            logging.getLogger(name).addFilter(_NotCtrlC())
        # Blocked by whoever started the command (a thread of theirs that blocks them), the
        # signals would never reach a handler, and the processes Dagster starts and stops
        # with SIGTERM (its compute logs' `tail -F`) would inherit the mask and outlive it.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)
        # Last: a signal from here on raises KeyboardInterrupt. The entry point's handler
        # (`cx_assets.command`, while the command imported) is taken over, and what it caught.
        from cx_assets import command

        if self.received is None:
            self.received = command.caught_while_importing()
        handlers = {
            signal.SIGINT: self._noted,
            signal.SIGTERM: self._noted,
            signal.SIGHUP: self._hung_up,
        }
        for signum, handler in handlers.items():
            if signal.getsignal(signum) in (command.STOPS[signum], command.stopped_while_importing):
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def lent_to_dagster(self) -> Iterator[None]:
        """Around a Dagster run: SIGINT and SIGTERM answered afterwards as before it.

        Dagster's handler, on its way out, gives SIGTERM whatever SIGINT had before the run:
        in a shell's background job, where SIGINT is ignored, SIGTERM was ignored for the
        rest of the command (its summary), and `kill` or a scheduler's stop did nothing
        there. So for the run an ignored SIGINT is ignored by a handler that answers
        SIGTERM (Dagster's own handler takes both during the steps either way), and both
        are put back after it."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        before = {stop: signal.getsignal(stop) for stop in (signal.SIGINT, signal.SIGTERM)}
        if before[signal.SIGINT] == signal.SIG_IGN:
            signal.signal(signal.SIGINT, self._stopped_unless_ctrl_c)
        try:
            yield
        finally:
            for stop, handler in before.items():
                if handler is not None:  # None: a handler not set from Python, left as is
                    signal.signal(stop, handler)

    @property
    def interrupted(self) -> bool:
        return self.caught() is not None

    def caught(self) -> int | None:
        """The first stop signal the process caught, by this watch's handler or another's
        (Dagster's, during a run's steps)."""
        if self.received is None and self._wakeup is not None:
            try:
                caught = os.read(self._wakeup, 4096)
            except BlockingIOError:
                caught = b""
            self.received = next((number for number in caught if number in self.SIGNALS), None)
        return self.received

    def stop_if_received(self) -> None:
        """KeyboardInterrupt if a stop signal arrived, though the code it arrived in went on."""
        if self.interrupted:
            raise KeyboardInterrupt

    def _noted(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        signal.default_int_handler(signum, frame)

    def _stopped_unless_ctrl_c(self, signum, frame) -> None:
        if signum != signal.SIGINT:
            self._noted(signum, frame)

    def _hung_up(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        stop = signal.getsignal(signal.SIGTERM)  # this watch's, or Dagster's during steps
        if callable(stop):
            stop(signal.SIGTERM, frame)
        else:  # SIGTERM ignored by whoever started the command: a hang-up still stops it
            signal.default_int_handler(signum, frame)


class _NotCtrlC(logging.Filter):
    """Drops a log record of a Ctrl-C caught on its way up (the error passed on after)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt))


# SQLAlchemy's pools log under their class's name (`sqlalchemy.log.instance_logger`); the
# Dagster instance's SQLite storage uses NullPool, a connection opened and closed per use.
SQLALCHEMY_POOL_LOGGERS = tuple(
    f"sqlalchemy.pool.impl.{pool}"
    for pool in (
        "NullPool",
        "QueuePool",
        "AsyncAdaptedQueuePool",
        "SingletonThreadPool",
        "StaticPool",
        "AssertionPool",
    )
)


INTERRUPT = InterruptWatch()
