"""The `cx-lakehouse` command's entry point, light on purpose.

Python imports an entry point's module before running anything of it, and the command's
modules take a tenth of a second to import: a Ctrl-C then would print a page of traceback.
This module imports nothing of the project until it can catch one, and ends it as the
command ends a Ctrl-C anywhere else (`cx_assets.cli.main`)."""

from __future__ import annotations

import os
import sys

# The shell's convention for a command ended by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130
INTERRUPTED_MESSAGE = "cx-lakehouse: interrupted; run the command again to finish it"


def run() -> None:
    """`cx-lakehouse`: `cx_assets.cli.run_program`, imported here so Ctrl-C while it imports
    (or before its own handling begins) ends in one line."""
    try:
        from cx_assets.cli import run_program

        run_program()  # ends the process itself
    except KeyboardInterrupt:
        print(INTERRUPTED_MESSAGE, file=sys.stderr, flush=True)
        os._exit(INTERRUPTED)
