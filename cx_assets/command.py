"""The `cx-lakehouse` command's entry point, light on purpose.

Python imports an entry point's module before running anything of it, and the command's
modules take a tenth of a second to import: a Ctrl-C then would print a page of traceback,
and SIGTERM or SIGHUP end the process without a word. This module imports nothing of the
project until it can catch them, and ends the command as it ends them anywhere else
(`cx_assets.cli.main`)."""

from __future__ import annotations

import os
import signal
import sys

# The shell's convention for a command ended by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130
INTERRUPTED_MESSAGE = "cx-lakehouse: interrupted; run the command again to finish it"
# A stop signal (SIGTERM: a scheduler's, `kill`'s; SIGHUP: its terminal gone) once the
# command handles signals; it ends with 128 + the signal's number, the code of a process the
# signal had killed.
STOPPED_MESSAGE = "cx-lakehouse: stopped ({signal}); run the command again to finish it"


# The stop signals answered while the command imports, with the Python default each
# replaces; `cli.process.INTERRUPT.arm` takes them over from these handlers.
STOPS = {
    signal.SIGINT: signal.default_int_handler,
    signal.SIGTERM: signal.SIG_DFL,
    signal.SIGHUP: signal.SIG_DFL,
}
_caught_while_importing: list[int] = []


def run() -> None:
    """`cx-lakehouse`: `cx_assets.cli.run_program`, imported here so Ctrl-C, SIGTERM or SIGHUP
    while it imports (or before its own handling begins) ends in one line, with its code."""
    for stop, default in STOPS.items():
        if signal.getsignal(stop) == default:  # ignored (a background job's SIGINT) stays so
            signal.signal(stop, stopped_while_importing)
    try:
        from cx_assets.cli import run_program

        run_program()  # ends the process itself
    except KeyboardInterrupt:
        _end_interrupted()
    except Exception:
        if not _caught_while_importing:
            raise
        _end_interrupted()  # a library made it an error of its own (Python 3.11, pydantic)


def stopped_while_importing(signum: int, frame) -> None:
    if not _caught_while_importing:
        _caught_while_importing.append(signum)
    raise KeyboardInterrupt


def caught_while_importing() -> int | None:
    return _caught_while_importing[0] if _caught_while_importing else None


def _end_interrupted() -> None:
    message, code = interruption()
    print(message, file=sys.stderr, flush=True)
    os._exit(code)


def interruption() -> tuple[str, int]:
    """The line and exit code of a command that Ctrl-C or a stop signal ended, as the
    command's watch (`cli.process.INTERRUPT`) or, before it was armed, this module's
    handler caught it."""
    # The watch's module may be imported only in part, as the signal came while it imported.
    watch = getattr(sys.modules.get("cx_assets.cli.process"), "INTERRUPT", None)
    caught = watch.caught() if watch is not None else None
    if caught is None:
        caught = caught_while_importing()
    if caught is None or caught == signal.SIGINT:
        return INTERRUPTED_MESSAGE, INTERRUPTED
    return STOPPED_MESSAGE.format(signal=signal.Signals(caught).name), 128 + caught
