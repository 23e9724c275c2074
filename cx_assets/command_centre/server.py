"""How `cx-lakehouse dashboard` starts the command centre: Streamlit on loopback only, headless
(no browser opened, no e-mail prompt), no usage statistics, no file watcher.

It starts through `main` below rather than `streamlit run` directly, to import what every
page needs (DuckDB, pandas, Altair: about a second) before Streamlit starts serving, so the
first visitor does not wait for it."""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")


def streamlit_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "cx_assets.command_centre.server", "run", str(APP),
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def main() -> None:
    """`python -m cx_assets.command_centre.server run APP [flags]`: `streamlit run`, after
    importing the reading layer and the charts."""
    from streamlit.web.cli import main as streamlit

    from cx_assets.command_centre import charts, data, runs  # noqa: F401

    streamlit(prog_name="streamlit")


if __name__ == "__main__":
    main()
