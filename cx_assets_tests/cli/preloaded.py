"""`cx-lakehouse` in a child forked from a process that has already imported the command.

Each `cx-lakehouse run` a test starts spends most of its CPU on Python importing Dagster,
pandas, Pandera and DuckDB (about 1.5 s of a calls day's 2.3 s), the same in every one of
the suite's 140-odd runs. A test worker starts one process that imports them once (and the
command's own modules), then forks a child for each command: the child sets the command's
arguments, environment, working directory and standard streams, and calls the entry point
the `cx-lakehouse` script calls (`cx_assets.command.run`), which ends the process as it ends
any run.

The child is the command as a user runs it except for what happens before its first line:
the interpreter's start-up and the imports. So the preloaded process starts again when a
call's environment differs from the one it started in, in anything but the data root, the
Dagster home and settings read only while the command runs (`PER_COMMAND`); and a call goes
to a fresh process when the preload printed anything or started a thread, when another call
of the same worker is still running (concurrent commands each get their own process), or
its working directory is gone. `CX_TESTS_FRESH_COMMANDS=1` sends every call to a fresh
process, and a test compares the two on a run (`test_preloaded_command`); in a call's own
environment, it sends that call. Random numbers are drawn anew in each child, but string
hashes (the order of a set of strings) are the preloaded process's in every child: a test
that two commands write the same runs one of them in a fresh process.
"""

from __future__ import annotations

import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# Read only while the command runs (`Settings.from_env`, the hash key), never at import.
PER_COMMAND = frozenset({"CX_DATA_DIR", "DAGSTER_HOME", "CX_HASH_KEY", "CX_RUN_WAIT_SECONDS"})
# Set by pytest for each test; read by nothing of the command.
IGNORED = frozenset({"PYTEST_CURRENT_TEST"})
# The command sets it (to 1) before NumPy loads, unless the user set it.
BLAS_THREADS = "OPENBLAS_NUM_THREADS"
FRESH_COMMANDS_ENV = "CX_TESTS_FRESH_COMMANDS"
# What the `cx-lakehouse` script imports, and what its commands import once they run.
PRELOADED = (
    "cx_assets.command",
    "cx_assets.cli",
    "cx_assets.domains",
    "cx_assets.crm.definitions",
    "cx_assets.calls.definitions",
    "cx_assets.digital.definitions",
    "cx_assets.support.definitions",
    # support's models, imported when its rollups run (1.4 s of CPU a run that trains them)
    "statsforecast",
    "statsforecast.models",
    "utilsforecast.losses",
    "sklearn.calibration",
    "sklearn.dummy",
    "sklearn.feature_extraction.text",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.pipeline",
    "scipy.optimize",
    "scipy.sparse",
)


def _comparable(environment: dict[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in environment.items() if k not in PER_COMMAND | IGNORED}
    kept.setdefault(BLAS_THREADS, "1")
    return kept


def _working_directory() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # removed meanwhile: a fresh process fails as the command would
        return None


def _answer(process: subprocess.Popen) -> dict:
    return json.loads(process.stdout.readline() or "null") or {}


class PreloadedCommand:
    """One test worker's preloaded process and the commands forked from it. It is started at
    the first call, and again whenever a call's environment differs from the one it started
    in beyond `PER_COMMAND` (a test's time zone, locale or partitions start), so that the
    interpreter's start-up and the imports always saw the call's own environment."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self._process: subprocess.Popen | None = None
        self._started_in: dict[str, str] = {}
        self._usable = os.environ.get(FRESH_COMMANDS_ENV) != "1"
        self._busy = threading.Lock()

    def run(
        self, args: list[str], environment: dict[str, str], cwd: str | None, timeout: float
    ) -> subprocess.CompletedProcess:
        cwd = cwd or _working_directory()
        if (
            self._usable
            and environment.get(FRESH_COMMANDS_ENV) != "1"
            and cwd is not None
            and os.path.isdir(cwd)
            and self._busy.acquire(blocking=False)
        ):
            try:
                if self._ready_for(environment):
                    return self._forked(args, environment, cwd, timeout)
            finally:
                self._busy.release()
        return subprocess.run(
            [str(self.script), *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )

    def _ready_for(self, environment: dict[str, str]) -> bool:
        wanted = _comparable(environment)
        if self._process is not None and (
            wanted != self._started_in or self._process.poll() is not None  # ended meanwhile
        ):
            self.close()
        if self._process is None:
            self._process = self._start({**environment, BLAS_THREADS: wanted[BLAS_THREADS]})
            self._started_in = wanted
            # Preloading printed something, started a thread or failed: every call then
            # goes to a fresh process, as the command's own start-up would show it.
            self._usable = self._process is not None
        return self._process is not None

    def _start(self, environment: dict[str, str]) -> subprocess.Popen | None:
        process = subprocess.Popen(
            [sys.executable, "-c", _PRELOADED_PROCESS, *PRELOADED],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,  # unbuffered: a line read never takes the next one with it
            start_new_session=True,  # out of reach of a signal sent to the worker's group
        )
        if _answer(process) == {"ready": True}:
            return process
        process.kill()
        process.wait()
        return None

    def _forked(
        self, args: list[str], environment: dict[str, str], cwd: str | None, timeout: float
    ) -> subprocess.CompletedProcess:
        process = self._process
        with tempfile.TemporaryDirectory() as scratch:
            out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
            request = {
                "argv": [str(self.script), *args],
                "env": environment,
                "cwd": cwd,
                "stdout": str(out),
                "stderr": str(err),
            }
            line = json.dumps(request).encode() + b"\n"
            try:
                while line:
                    line = line[os.write(process.stdin.fileno(), line) :]
                child = _answer(process)["pid"]
                if not select.select([process.stdout], [], [], timeout)[0]:
                    os.kill(child, signal.SIGKILL)
                    _answer(process)
                    raise subprocess.TimeoutExpired(request["argv"], timeout)
                returncode = _answer(process)["returncode"]
            except subprocess.TimeoutExpired:
                raise
            except BaseException:
                # Interrupted (Ctrl-C) while the command runs: killed with the preloaded
                # process, in whose session the terminal's signal never reaches it, as
                # `subprocess.run` kills its process; the next call starts another.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                self._process = None
                raise
            # As `subprocess.run(text=True)` decodes: the locale's encoding, universal newlines.
            encoding = locale.getpreferredencoding(False)
            return subprocess.CompletedProcess(
                request["argv"],
                returncode,
                out.read_text(encoding=encoding),
                err.read_text(encoding=encoding),
            )

    def close(self) -> None:
        if self._process is not None:
            self._process.stdin.close()  # its loop ends, and so does it
            self._process.wait(timeout=30)
            self._process = None


# The preloaded process: imports, says whether it is ready, then forks a child per request
# line on stdin (JSON), answering the child's pid, then its exit code, on stdout.
_PRELOADED_PROCESS = r"""
import importlib, io, json, os, signal, sys, threading
# Stop signals answered as in a terminal, whatever the worker had when it started this
# process (an in-process run's handlers, a background job's ignored SIGINT), as
# `answering_stop_signals` gives the commands a test stops.
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_SETMASK, ())
requests = os.fdopen(os.dup(0), "rb", buffering=0)
answers = os.fdopen(os.dup(1), "wb", buffering=0)
quiet = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(quiet, fd)
printed = io.StringIO()
sys.stdout = sys.stderr = printed
before = dict(os.environ)
try:
    for name in sys.argv[1:]:
        importlib.import_module(name)
    ready = not printed.getvalue() and threading.active_count() == 1
except BaseException:
    ready = False
# What importing set in the environment (statsforecast's dependencies set a few), which a
# command that imported them itself would have too.
set_by_imports = {k: v for k, v in os.environ.items() if before.get(k) != v}
sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
answers.write(json.dumps({"ready": ready}).encode() + b"\n")
if not ready:
    sys.exit(1)
for line in requests:
    request = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(answers.fileno())
            os.close(requests.fileno())
            os.dup2(quiet, 0)
            for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
                opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(opened, fd)
                os.close(opened)
            os.close(quiet)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            for name, value in set_by_imports.items():
                os.environ.setdefault(name, value)
            sys.argv = request["argv"]
            sys.path[0] = os.path.dirname(request["argv"][0])
            # NumPy's global generator (scikit-learn's for a model given no seed), seeded as
            # the imports drew from it, seeded anew as in a fresh process (Python's `random`
            # reseeds itself in a child). String hashes stay the preloaded process's.
            if "numpy" in sys.modules:
                sys.modules["numpy"].random.seed()
            from cx_assets.command import run
            run()
            code = 0
        except SystemExit as stop:
            if stop.code is None:
                code = 0
            elif isinstance(stop.code, int):
                code = stop.code
            else:
                print(stop.code, file=sys.stderr)
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    answers.write(json.dumps({"pid": pid}).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
os._exit(0)
"""
