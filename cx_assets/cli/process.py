"""The command's own process: its standard output, its garbage collector during start-up,
NumPy's BLAS threads, and Ctrl-C inside code that swallows it."""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ClosedPipeTolerant:
    """A standard stream that stops writing, quietly, once its reader has gone
    (`cx-lakehouse run ... | head`): the run goes on to its end and its exit code, instead
    of a BrokenPipeError traceback cutting it short."""

    def __init__(self, stream) -> None:
        self._stream, self._closed = stream, False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed = True
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed = True

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


@contextmanager
def ctrl_c_kept() -> Iterator[None]:
    """Ctrl-C inside the block ends it as Ctrl-C, even if the code inside swallows it.

    Dagster's selection parser catches everything (`except:`) and then calls the string
    invalid: a Ctrl-C during its tenth of a second would end the command as a user's
    mistake. Here the signal is noted as it arrives, and a KeyboardInterrupt raised once
    the block ends, however it ended. Where Python does not deliver it as KeyboardInterrupt
    (ignored, as in a shell's background job, or outside the main thread) nothing changes."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    arrived: list[int] = []

    def noted(signum, frame):
        arrived.append(signum)
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, noted)
    try:
        yield
    except BaseException:
        if arrived:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if arrived:
        raise KeyboardInterrupt
