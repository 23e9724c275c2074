"""`cx-lakehouse ui` and `cx-lakehouse dashboard`: the Dagster UI with its daemon, and the
command centre, each on loopback, in place of this process."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from cx_assets.cli.home import dagster_home_folder, dagster_home_path, prepare_dagster_home
from cx_assets.cli.options import UsageError

# The module the UI loads as its one code location. `dagster dev -m` names the location
# after it; workspace.yaml names its location the same, so the two ways of starting the UI
# serve the same location, and list the same runs on a job's page.
DEFINITIONS_MODULE = "cx_assets.definitions"
# Set by the Makefile's `ui` and `dashboard` to the command and variable that pick their port
# (`make ui UI_PORT`): their user picks another port there, make taking no --port (a port
# in use, or no TCP port, is said naming it).
MAKE_PORT_ENV = "CX_MAKE_PORT"


def code_location_job_origin(job_name: str):
    """Where the UI finds `job_name`: the repository of the code location it serves.

    A run created with it is listed on that job's page and on the Overview timeline, which
    select runs by their repository (Dagster tags a run with it only when the run has an
    origin), and the UI re-executes it through that location (without an origin its
    Re-execute failed with a server error). `cx-lakehouse run` executes a job of its own
    domains' definitions, which no location serves, and gives its runs this origin."""
    from dagster._core.definitions.repository_definition.valid_definitions import (
        SINGLETON_REPOSITORY_NAME,
    )
    from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origin_from_module_name

    location = location_origin_from_module_name(
        DEFINITIONS_MODULE, None, None, executable_path=sys.executable
    )
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME), job_name)


def ui_command(port: int) -> list[str]:
    """`dagster dev` runs the webserver *and* the daemon, so sensors, the schedule and
    automation really run; it listens on loopback only (there is no login)."""
    return [
        sys.executable, "-m", "dagster", "dev",
        "-m", DEFINITIONS_MODULE,
        "--host", "127.0.0.1",
        "--port", str(port),
        # what helps a user: warnings and errors, not every DEBUG line of every process
        "--log-level", "warning",
        "--code-server-log-level", "warning",
    ]  # fmt: skip


def require_free_port(given: int | str) -> int:
    """The port `given` (--port's text), refused when it is no TCP port or is in use. A
    port already in use is a mistake the user fixes with --port, said before starting
    anything: `dagster dev` started its daemon and went on when its web server could not
    bind the port (the command then ran, without a UI, until stopped), and Streamlit's own
    refusal names no way out."""
    import socket

    made = os.environ.get(MAKE_PORT_ENV)
    try:
        port = int(given)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        said = f"`{made}={given}`" if made else f"--port {given}"
        raise UsageError(f"{said} is not a TCP port (1-65535)")
    another = f"`{made}=<port>`" if made else "--port"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves bind: a port a closed server left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise UsageError(
                f"port {port} on 127.0.0.1 is in use ({error.strerror or error}): stop what "
                f"holds it, or choose another with {another}"
            ) from None
    return port


def cmd_ui(args: argparse.Namespace) -> int:
    from cx_assets.cli.leftovers import UiAlreadyRunning, stop_leftovers
    from cx_assets.cli.process import tail_on_path
    from cx_assets.lakehouse.settings import Settings

    settings = Settings.from_env()
    try:
        stopped = stop_leftovers(dagster_home_path(settings.data_dir))
    except UiAlreadyRunning as running:
        raise UsageError(
            f"a Dagster UI already serves {settings.data_dir} (dagster dev, pid {running}): "
            "use it, or stop it first (two would run two daemons on one run queue)"
        ) from None
    if stopped:
        print(
            "stopped what a killed UI of this data root left running: "
            + ", ".join(process.describe() for process in stopped)
        )
    port = require_free_port(args.port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    home = prepare_dagster_home(settings.data_dir)
    command = ui_command(port)
    print(f"Dagster UI with its daemon on http://127.0.0.1:{port} (DAGSTER_HOME={home})")
    # Dagster's beta/preview notices about our own declarations help no user of the UI.
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    # The runs its daemon launches capture each step's output through `tail`, as `run`'s do.
    tail_on_path()
    _exec_answering_signals(command)
    return 0  # not reached


def _exec_answering_signals(command: list[str]) -> None:
    """Become `command`, with Ctrl-C and a stop signal answered by default. A signal ignored
    here stays ignored across exec: started in the background by a script (whose shell
    ignores SIGINT for it), `dagster dev`, which answers SIGTERM as it answers SIGINT,
    ignored `kill` too, and only SIGKILL stopped it, leaving its daemon and servers."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_DFL)
    os.execvp(command[0], command)


def _unreadable_folder(data_dir: Path) -> Path | None:
    """The data root, or its gold/, when this user may not list it (as the pages find it:
    `command_centre.ui.warn_if_no_data_root`)."""
    for folder in (data_dir, data_dir / "gold"):
        if folder.name == "gold" and not folder.is_dir():
            return None  # nothing built yet: the pages say what to run
        if not os.access(folder, os.R_OK | os.X_OK):
            return folder
    return None


def cmd_dashboard(args: argparse.Namespace) -> int:
    """The command centre (Streamlit) on loopback, reading gold Parquet only: it never opens
    warehouse.duckdb, so it can stay open while runs write."""
    from cx_assets.command_centre.server import streamlit_command
    from cx_assets.lakehouse.settings import Settings

    settings = Settings.from_env()
    # The overview lists the runs and checks recorded in DAGSTER_HOME: a home `run` and `ui`
    # refuse is refused in their words, with the other settings and before --port, as `ui`
    # does (another data root's home listed its runs and checks as this root's; one ending
    # in a space, or a link to a disk not mounted, "no runs recorded yet"). Its dagster.yaml
    # is theirs to refuse: the pages read the history's SQLite files, not the instance.
    # A home this user may not look into is served: the overview says so in its section.
    with contextlib.suppress(PermissionError):
        dagster_home_folder(settings.data_dir)
    port = require_free_port(args.port)
    os.environ["CX_DATA_DIR"] = str(settings.data_dir)  # absolute, for the app's process
    command = streamlit_command(port)
    print(f"CX command centre on http://127.0.0.1:{port} (data root {settings.data_dir})")
    if not settings.data_dir.is_dir():
        # Served all the same (its pages say what to run), but a mistyped CX_DATA_DIR or a
        # command started from another folder looked like a data root not yet generated.
        print(
            f"cx-lakehouse: the data root {settings.data_dir} does not exist: check "
            f"CX_DATA_DIR (or the folder this was started from), or generate and run some "
            "days first",
            file=sys.stderr,
        )
    elif (refused := _unreadable_folder(settings.data_dir)) is not None:
        # Served all the same (each page says it): another user's, made under umask 077.
        print(
            f"cx-lakehouse: this user may not read {refused} (Permission denied): start the "
            "dashboard as the user who owns the data root, or have them make its gold/ and "
            "the folders above it readable to you",
            file=sys.stderr,
        )
    _exec_answering_signals(command)
    return 0  # not reached
