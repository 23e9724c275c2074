"""`cx-lakehouse` run in the test's own process, for a test's setup: the day its subject
needs built, where the command's output says nothing the test is about. A subprocess
spends about 2 s of CPU importing Dagster, pandas and DuckDB before its run of a small
day, which takes a fraction of that; the runs a test is about stay subprocesses (`cli`)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

_ENVIRONMENT = ("CX_DATA_DIR", "DAGSTER_HOME")


def run_in_process(data_dir: Path, *args: str, **env: str) -> tuple[int, str]:
    """The exit code and standard output of `cx-lakehouse *args` on `data_dir` by the
    command's `main`, with the environment `cli` gives it (DAGSTER_HOME unset unless in
    `env`), restored after: usable in a module's fixture, where `monkeypatch` is not."""
    from cx_assets import cli as cli_module

    saved = {name: os.environ.get(name) for name in (*_ENVIRONMENT, *env)}
    os.environ["CX_DATA_DIR"] = str(data_dir)
    os.environ.pop("DAGSTER_HOME", None)
    os.environ.update(env)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            code = cli_module.main(list(args))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return code, printed.getvalue()


def built_in_process(data_dir: Path, *args: str, **env: str) -> str:
    """`run_in_process` of a run that must succeed; its standard output."""
    code, printed = run_in_process(data_dir, *args, **env)
    assert code == 0, printed
    return printed
