"""The `cx-lakehouse` command's entry point, light on purpose.

Python imports an entry point's module before running anything of it, and the command's
modules take a tenth of a second to import: a Ctrl-C then would print a page of traceback.
This module imports nothing of the project until it can catch one, and ends it as the
command ends a Ctrl-C anywhere else (`cx_assets.cli.main`)."""

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


def run() -> None:
    """`cx-lakehouse`: `cx_assets.cli.run_program`, imported here so Ctrl-C while it imports
    (or before its own handling begins) ends in one line."""
    try:
        from cx_assets.cli import run_program

        run_program()  # ends the process itself
    except KeyboardInterrupt:
        message, code = interruption()
        print(message, file=sys.stderr, flush=True)
        os._exit(code)


def interruption() -> tuple[str, int]:
    """The line and exit code of a command that Ctrl-C or a stop signal ended: a stop
    signal raises KeyboardInterrupt too once `run_program` has armed its watch
    (`cli.process.INTERRUPT`); before that, Ctrl-C is the only one to end here."""
    process = sys.modules.get("cx_assets.cli.process")
    caught = process.INTERRUPT.caught() if process is not None else None
    if caught is None or caught == signal.SIGINT:
        return INTERRUPTED_MESSAGE, INTERRUPTED
    return STOPPED_MESSAGE.format(signal=signal.Signals(caught).name), 128 + caught
