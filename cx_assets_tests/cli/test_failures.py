"""`cx-lakehouse` when things go wrong: user mistakes, a data root it cannot use, a full or
read-only disk, a damaged warehouse, Ctrl-C, a stop signal and a hang-up, a reader that leaves early; and its help."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import shutil
import signal
import subprocess
import sys
import termios
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from dagster import DagsterRunStatus

from cx_assets.lakehouse import run_lock
from cx_assets_tests.cli import (
    BIN,
    REPO,
    START,
    answering_stop_signals,
    calls_day,
    cli,
    probed,
    summary_line,
)

CALLS_RUN = ("run", "--date", START, "--select", "group:calls")


@pytest.fixture(scope="module")
def a_landed_calls_day(tmp_path_factory) -> Path:
    """A data root with a small calls day landed (`calls_day`), generated once for the
    module: each test copies it into its own data root."""
    return calls_day(tmp_path_factory.mktemp("landed") / "data")


@pytest.fixture(scope="module")
def a_calls_day_run(tmp_path_factory, a_landed_calls_day) -> Path:
    """That day's data root after a run of it that succeeded, made once for the module for
    the tests that copy it to damage it (a copy's dagster.yaml, ours, names the original's
    home: the copy's next command writes it again for its own)."""
    data_dir = shutil.copytree(a_landed_calls_day, tmp_path_factory.mktemp("run") / "data")
    ran = cli(*CALLS_RUN, data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return data_dir


def test_run_piped_into_a_reader_that_leaves_early_still_finishes(tmp_path, a_landed_calls_day):
    # `cx-lakehouse run ... | head -1`: the run goes on to its end and its exit code.
    data_dir = shutil.copytree(a_landed_calls_day, tmp_path / "data")
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    run = subprocess.Popen(
        [str(BIN / "cx-lakehouse"), "run", "--date", START, "--select", "group:calls"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert run.stdout.readline().startswith("materializing")
    run.stdout.close()  # the reader leaves
    stderr = run.stderr.read()
    assert run.wait(timeout=600) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as warehouse:
        assert warehouse.execute("SELECT count(*) FROM gold.calls_kpis_daily").fetchone() == (1,)


@pytest.mark.parametrize("closed", [1, 2], ids=["stdout", "stderr"])
def test_a_command_whose_output_is_closed_still_does_its_work(tmp_path, closed):
    """Seen in an audit: `cx-lakehouse generate ... >&-` (or `2>&-`, a script's way of
    silencing it) wrote nothing and exited 120: Python leaves a stream closed at the start as
    None, which print() skips, and the command's stream wrapper wrote to it all the same."""
    data_dir = tmp_path / "data"
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    generated = subprocess.run(
        [str(BIN / "cx-lakehouse"), "generate", "--start", START, "--days", "1",
         "--scale", "0.01", "--sources", "calls"],
        env=environment, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.close(closed),  # after the pipes are in place: `>&-`, `2>&-`
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Traceback" not in generated.stdout + generated.stderr
    assert list((data_dir / "landing" / "calls" / "transcripts").glob(f"{START}/*.json*"))


def test_a_character_the_output_cannot_encode_is_escaped_not_a_traceback(tmp_path):
    """Seen in an audit: with an ASCII output (PYTHONIOENCODING=ascii; a Latin-1 locale
    fails alike on a character beyond Latin-1), a data root `…/relatórios` ended a
    `generate`, and a `run` that had succeeded, in a UnicodeEncodeError traceback and
    exit 1 at the line naming it."""
    data_dir = tmp_path / "relatórios"
    generated = cli(
        "generate", "--start", START, "--days", "1", "--scale", "0.01", "--sources", "calls",
        data_dir=data_dir, PYTHONIOENCODING="ascii",
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Traceback" not in generated.stderr
    landing = str(data_dir / "landing").replace("ó", "\\xf3")
    assert generated.stdout.endswith(f"landing files are in {landing}\n"), generated.stdout


def test_a_run_from_a_working_directory_deleted_under_it_goes_ahead(tmp_path, a_landed_calls_day):
    """Seen in an audit: cron running `cx-lakehouse run` from a folder deleted under it (a
    release folder a deploy replaced, a temporary one cleaned away) ended in a 38-line
    FileNotFoundError traceback and exit 1 before the run began, though the data root was an
    absolute path: Dagster asks for the working directory as the command builds its job.
    A data root or a --config file given relative to it cannot be found: one line, exit 2."""
    data_dir = shutil.copytree(a_landed_calls_day, tmp_path / "data")
    gone = tmp_path / "release"

    def from_the_deleted_folder(*args: str, data_root: str) -> subprocess.CompletedProcess:
        gone.mkdir()
        environment = {**os.environ, "CX_DATA_DIR": data_root}
        environment.pop("DAGSTER_HOME", None)
        return subprocess.run(
            [str(BIN / "cx-lakehouse"), *args],
            env=environment, capture_output=True, text=True, timeout=600,
            preexec_fn=lambda: (os.chdir(gone), os.rmdir(gone)),
        )  # fmt: skip

    run = ("run", "--date", START, "--select", "group:calls")
    ran = from_the_deleted_folder(*run, data_root=str(data_dir))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    assert summary_line(ran.stdout, "calls_kpis_daily")[1] == "1"

    for args, relative in (
        (run, "data"),
        ((*run, "--config", "checks.yaml"), str(data_dir)),
    ):
        refused = from_the_deleted_folder(*args, data_root=relative)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        assert "relative to the working directory, which no longer exists" in line, line
    assert not (tmp_path / "data" / "data").exists()


def test_a_run_with_a_path_holding_only_its_own_folder_goes_ahead(tmp_path, a_landed_calls_day):
    """Seen in an audit: a crontab's `PATH=/srv/cx/.venv/bin` (the folder of cx-lakehouse
    alone) failed every run, 'run: FileNotFoundError: [Errno 2] No such file or directory:
    'tail'': Dagster captures each step's output through `tail`, found on PATH."""
    data_dir = shutil.copytree(a_landed_calls_day, tmp_path / "data")
    ran = cli(*CALLS_RUN, data_dir=data_dir, PATH=str(BIN))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert summary_line(ran.stdout, "calls_kpis_daily")[1] == "1"


def test_a_data_root_that_does_not_exist_yet_is_created_and_said_so(tmp_path):
    """Nothing has landed there: every table is written empty (zero input), exit 0, with a
    note naming the root, as a mistyped CX_DATA_DIR would look the same."""
    root = tmp_path / "new" / "data"
    result = cli("run", "--date", START, "--select", "group:calls", data_dir=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"data root {root} did not exist and was created" in result.stderr
    assert "cx-lakehouse generate" in result.stderr
    for table in ("calls_performance", "calls_agent_daily", "calls_kpis_daily"):
        assert (root / "gold" / table).is_dir(), table
    kpis = duckdb.sql(
        f"SELECT total_calls FROM read_parquet('{root}/gold/calls_kpis_daily/**/*.parquet')"
    ).fetchall()
    assert kpis == [(0,)]
    again = cli("run", "--date", START, "--select", "group:calls", data_dir=root)
    assert again.returncode == 0 and "did not exist" not in again.stderr


def test_a_data_root_that_cannot_be_created_is_explained(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = cli("run", "--date", START, data_dir=blocker / "data")
    assert result.returncode == 2
    # The file in the way is named (72df6fd), where "cannot be created" named none.
    assert f"lies in {blocker}, which is a file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_damaged_warehouse_ends_the_run_in_one_line_saying_how_to_rebuild(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "warehouse.duckdb").write_text("a spreadsheet saved over the warehouse\n")
    result = cli("run", "--date", START, "--select", "group:calls", data_dir=root)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: {root / 'warehouse.duckdb'} is damaged (")
    assert "move it aside" in line and "Traceback" not in result.stderr


def test_a_warehouse_damaged_past_what_opening_reads_fails_its_steps_naming_it(
    tmp_path, a_calls_day_run
):
    """Seen in an audit: a warehouse cut short after its catalog opens, then a step's query
    fails with DuckDB's IOException (and the summary, counting gold, with a traceback). The
    steps name the damage, and the command ends in the line saying what to do."""
    data_dir = shutil.copytree(a_calls_day_run, tmp_path / "data")
    run = CALLS_RUN
    # The day written again (after the fixture's run): its rows after the catalog, in the file.
    assert cli(*run, data_dir=data_dir).returncode == 0
    warehouse = data_dir / "warehouse.duckdb"
    os.truncate(warehouse, 300_000)

    result = cli(*run, data_dir=data_dir)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("  silver__")]
    assert failed and all(
        f"WarehouseDamagedError: {warehouse} is damaged (IO Error: Could not read" in line
        for line in failed
    ), result.stdout
    assert result.stdout.rstrip().endswith("FAILED")
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: {warehouse} is damaged (") and "move it aside" in line


def test_damaged_run_history_ends_the_run_in_one_line_naming_the_file(tmp_path, a_calls_day_run):
    """Seen in an audit: a `runs.db` cut short ended the command in a 109-line SQLAlchemy
    traceback naming no file. The line names it and what moving the history aside costs;
    done, the next run goes ahead."""
    data_dir = shutil.copytree(a_calls_day_run, tmp_path / "data")  # run once
    run = CALLS_RUN
    history = data_dir / "dagster_home" / "history"
    os.truncate(history / "runs.db", 50_000)

    result = cli(*run, data_dir=data_dir)

    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"cx-lakehouse: {history / 'runs.db'} is damaged (database disk image is malformed): "
        f"Dagster's run history, not data. Move {history} aside and run again"
    ), line
    history.rename(tmp_path / "history.damaged")
    assert cli(*run, data_dir=data_dir).returncode == 0


def test_a_damaged_run_history_under_a_path_with_a_hash_is_named_and_nothing_made_outside(
    tmp_path, monkeypatch
):
    """Found by static analysis: the check of which history file is damaged opened it by a
    URI left as written, so a data root `…/a#b` opened `…/a` (SQLite ends a URI's path at
    `#`, and the `mode=ro` after it was lost): an empty database created outside the root,
    found sound, and the damaged `runs.db` not named."""
    import sqlite3

    from cx_assets.cli.failures import damaged_run_history

    history = tmp_path / "a#b" / "dagster_home" / "history"
    history.mkdir(parents=True)
    (history / "runs.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"cut short")
    monkeypatch.setenv("DAGSTER_HOME", str(history.parent))

    said = damaged_run_history(sqlite3.DatabaseError("database disk image is malformed"))

    assert said is not None and said.startswith(f"{history / 'runs.db'} is damaged ("), said
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a#b"]


def disk_with(free_bytes: int):
    """A stand-in for `shutil.disk_usage` reporting `free_bytes` free on any disk."""
    total = 10 * 2**30
    return lambda path: SimpleNamespace(total=total, used=total - free_bytes, free=free_bytes)


def test_a_full_disk_ends_the_command_in_one_line(tmp_path, monkeypatch, capsys):
    """SQLite says "disk I/O error" when the disk fills under it (seen on a full tmpfs, as
    DuckDB's and Parquet's writes say "No space left on device"): one line naming the disk,
    not Dagster's traceback; the next run recovers (marks the run failed, writes again)."""
    import sqlite3

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def fills_the_disk(args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(cli_module, "cmd_run", fills_the_disk)
    monkeypatch.setattr(shutil, "disk_usage", disk_with(2**20))

    assert cli_module.main(["run", "--date", START]) == 1

    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: the disk holding {tmp_path} is full (1.0 MB free)")
    assert "disk I/O error" in line and "run it again" in line


def test_no_space_left_anywhere_in_an_errors_chain_is_a_full_disk(tmp_path, monkeypatch, capsys):
    import errno

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def generate_fails(args):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            raise RuntimeError("writing landing/crm/interactions failed") from error

    monkeypatch.setattr(cli_module, "cmd_generate", generate_fails)
    # The space came back by the time the error is looked at: the error still says why.
    monkeypatch.setattr(shutil, "disk_usage", disk_with(5 * 2**30))

    assert cli_module.main(["generate", "--start", START, "--days", "1"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "is full (5120.0 MB free)" in line
    assert "writing landing/crm/interactions failed" in line


def test_a_full_disk_named_is_the_one_that_is_full(tmp_path, monkeypatch, capsys):
    """Seen in an audit, DAGSTER_HOME on a disk of its own that filled: the line named the
    data root's disk, `is full (61453.8 MB free)`. It names the disk that is full."""
    import sqlite3

    from cx_assets import cli as cli_module

    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    def history_fills(args):
        raise sqlite3.OperationalError("database or disk is full")

    def usage(path):
        free = 0 if Path(path) == home else 60 * 2**30
        return SimpleNamespace(total=100 * 2**30, used=100 * 2**30 - free, free=free)

    monkeypatch.setattr(cli_module, "cmd_run", history_fills)
    monkeypatch.setattr(shutil, "disk_usage", usage)
    assert cli_module.main(["run", "--date", START]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: the disk holding {home} is full (0.0 MB free)"), line


@pytest.mark.parametrize(
    "earlier", [None, "# Written by cx-lakehouse.\nconcurrency: {}\n"], ids=["none", "ours, older"]
)
def test_a_dagster_yaml_the_full_disk_refused_is_written_by_the_next_command(
    tmp_path, monkeypatch, earlier
):
    """Seen on a full tmpfs: the first run left dagster_home/dagster.yaml empty (the file
    made, its text refused), and every command after, with space freed, took the empty file
    for the user's own and kept it: runs without our settings (no run retries, no retention
    of ticks, telemetry on). The file stays as it was, and the next command writes ours."""
    import errno

    from cx_assets.cli.home import dagster_yaml, prepare_dagster_home

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "dagster_home"
    config = home / "dagster.yaml"
    if earlier is not None:
        home.mkdir()
        config.write_text(earlier)
    write_text = Path.write_text

    def disk_full(path, *args, **kwargs):
        path.open("w").close()  # made, or emptied; then its text is refused
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError) as refused:
        prepare_dagster_home(tmp_path)
    assert (config.read_text() if config.exists() else None) == earlier
    assert [path.name for path in home.iterdir() if path.name.startswith("_")] == []
    assert (refused.value.errno, refused.value.filename) == (errno.ENOSPC, str(config))

    monkeypatch.setattr(Path, "write_text", write_text)  # space freed
    prepare_dagster_home(tmp_path)
    assert config.read_text() == dagster_yaml(home)


@pytest.fixture(scope="module")
def a_home_of_yours_already_used(tmp_path_factory) -> Path:
    """A folder holding `home`, a DAGSTER_HOME with a dagster.yaml of the user's own, and
    `data`, a data root, after a run that succeeded on them: the home already used, made
    once for the cases that copy it (its storage is Dagster's default, under the home
    wherever it is copied; the user's file names no path)."""
    used = tmp_path_factory.mktemp("used")
    home = used / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=used / "data",
              DAGSTER_HOME=str(home))  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return used


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("concurrency: [\n", "not YAML (line 2: expected the node content"),
        (
            "concurency:\n  runs:\n    max_concurrent_runs: 2\n",
            'not Dagster\'s instance config (Received unexpected config entry "concurency" at '
            "the root.)",
        ),
        ("telemetry:\n  enabled: nope\n", 'root:telemetry:enabled. Value "nope"'),
        # An editor's Latin-1: Dagster reads the file as UTF-8 and fails as we did.
        ("# S\u00e3o Paulo\ntelemetry:\n  enabled: false\n", "not UTF-8 text (line 1: byte 0xe3)"),
        # Valid as Dagster's instance config, refused by Dagster only when it makes the
        # instance: a traceback, inside the run on a home already used.
        (
            "run_storage:\n  module: cx_no_such_module\n  class: Storage\n  config: {}\n",
            "cx_no_such_module.Storage: no module named 'cx_no_such_module'",
        ),
        (
            "event_log_storage:\n  module: dagster.core.storage.event_log\n"
            "  class: SqliteEventLogStorage\n  config:\n    base_dir: 5\n",
            'SqliteEventLogStorage: Invalid scalar at path root:base_dir. Value "5"',
        ),
        # A run coordinator given as the run launcher, and a name that is no class: our
        # own check of the class ended in an AttributeError's traceback, or passed it on.
        (
            "run_launcher:\n  module: dagster\n  class: QueuedRunCoordinator\n",
            "dagster.QueuedRunCoordinator: not a run launcher",
        ),
        (
            "run_coordinator:\n  module: os.path\n  class: join\n",
            "os.path.join: not a run coordinator",
        ),
    ],
    ids=[
        "not yaml",
        "a key misspelt",
        "a value of the wrong type",
        "not UTF-8",
        "a storage not installed",
        "a storage's setting of the wrong type",
        "a coordinator as the launcher",
        "no class",
    ],
)
def test_a_dagster_yaml_of_yours_dagster_cannot_read_is_one_line(
    tmp_path, a_home_of_yours_already_used, text, said
):
    """A dagster.yaml the user wrote (left as written) that Dagster refuses ended the run in
    Dagster's traceback: on a new home when its storage was made, on one already used
    inside the run, after the run lock was taken."""
    shutil.copytree(a_home_of_yours_already_used, tmp_path, dirs_exist_ok=True)
    home, data_dir = tmp_path / "home", tmp_path / "data"
    config = home / "dagster.yaml"
    config.write_bytes(text.encode("latin-1"))
    refused = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir,
                  DAGSTER_HOME=str(home))  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: {config}: "), line
    assert said in line and line.endswith("fix it, or remove it for cx-lakehouse's own"), line
    assert config.read_bytes() == text.encode("latin-1")  # yours, as written


def test_a_data_root_on_a_read_only_disk_is_one_line(tmp_path, monkeypatch, capsys):
    """Seen with a tmpfs remounted read-only: Dagster's instance failed to create its home,
    in a traceback."""
    import errno

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def read_only(args):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "dagster_home"))

    monkeypatch.setattr(cli_module, "cmd_run", read_only)
    # nearly full too: the refusal to write is the reason given, not a guess at the space
    monkeypatch.setattr(shutil, "disk_usage", disk_with(2**20))
    assert cli_module.main(["run", "--date", START]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"cx-lakehouse: cannot write {tmp_path / 'dagster_home'}: Read-only file system. The "
        "data root (CX_DATA_DIR) must be a folder this user can write to, on a disk mounted "
        "for writing."
    )


def test_a_landing_folder_it_may_not_read_is_said_as_such(tmp_path, monkeypatch, capsys):
    """Seen in an audit: a landing folder this user may not list ended the run in `cannot
    write landing/calls`, and that the data root must be writable: it was read, not written."""
    import errno

    from cx_assets import cli as cli_module
    from cx_assets.cli import failures

    folder = tmp_path / "landing" / "calls"
    folder.mkdir(parents=True)
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    # root may read any folder: the one refused is what this test means
    monkeypatch.setattr(failures, "_readable", lambda path: path != folder, raising=False)

    def lists_landing(args):
        raise OSError(errno.EACCES, "Permission denied", str(folder))

    monkeypatch.setattr(cli_module, "cmd_run", lists_landing)
    assert cli_module.main(["run", "--date", START]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"cx-lakehouse: cannot read {folder}: Permission denied. Landing files and folders "
        "must be readable by the user running the command."
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root enters any folder: chmod is moot")
def test_a_file_of_a_landing_folder_it_may_list_but_not_enter_is_one_it_cannot_read(
    tmp_path, monkeypatch, capsys
):
    """Found as a service user, a date folder another user left 0744 (listed, not entered):
    the run ended in `cannot write <its first file>` and that the data root must be
    writable, since the file, which cannot be looked at, was taken for one not there."""
    from cx_assets import cli as cli_module

    folder = tmp_path / "landing" / "calls" / "transcripts" / START
    folder.mkdir(parents=True)
    landed = folder / "calls.jsonl"
    landed.write_text("{}\n")
    folder.chmod(0o644)  # to its owner what 0744 is to others
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def looks_at_the_file(args):
        landed.stat()

    monkeypatch.setattr(cli_module, "cmd_run", looks_at_the_file)
    try:
        assert cli_module.main(["run", "--date", START]) == 1
    finally:
        folder.chmod(0o755)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"cx-lakehouse: cannot read {landed}: Permission denied. Landing files and folders "
        "must be readable by the user running the command."
    )


def test_a_landing_folder_generate_may_not_make_is_one_it_cannot_write(
    tmp_path, monkeypatch, capsys
):
    """`generate` writes landing: a folder it may not make there is not one it cannot read."""
    import errno

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    folder = tmp_path / "landing" / "crm" / "interactions"

    def makes_landing(args):
        raise OSError(errno.EPERM, "Operation not permitted", str(folder))

    monkeypatch.setattr(cli_module, "cmd_generate", makes_landing)
    assert cli_module.main(["generate", "--start", START, "--days", "1"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: cannot write {folder}: Operation not permitted.")


def test_a_dagster_home_it_may_not_write_is_said_as_dagster_home(tmp_path, monkeypatch, capsys):
    """Seen in an audit, DAGSTER_HOME set to a folder on a read-only mount: the line named
    its file but said the data root (CX_DATA_DIR) must be writable."""
    import errno

    from cx_assets import cli as cli_module

    home = tmp_path / "home"
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    def read_only(args):
        raise OSError(errno.EROFS, "Read-only file system", str(home / "dagster.yaml"))

    monkeypatch.setattr(cli_module, "cmd_run", read_only)
    assert cli_module.main(["run", "--date", START]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"cx-lakehouse: cannot write {home / 'dagster.yaml'}: Read-only file system. "
        f"DAGSTER_HOME ({home}) must be a folder this user can write to, on a disk mounted "
        "for writing."
    )


def test_a_read_only_run_history_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    """Seen in an audit: a `runs.db` made read-only (immutable) ended the command in a long
    SQLAlchemy traceback, `attempt to write a readonly database`, naming no file."""
    import sqlite3
    import stat

    from cx_assets import cli as cli_module
    from cx_assets.cli import failures

    history = tmp_path / "dagster_home" / "history"
    history.mkdir(parents=True)
    runs = history / "runs.db"
    sqlite3.connect(runs).execute("CREATE TABLE runs (id)").connection.close()
    runs.chmod(0o444)
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    # root may write any file: what the mode says is what this test means
    monkeypatch.setattr(
        failures, "_writable", lambda path: path.stat().st_mode & stat.S_IWUSR, raising=False
    )

    def writes_history(args):
        db = sqlite3.connect(f"file:{runs}?mode=ro", uri=True)
        db.execute("INSERT INTO runs VALUES (1)")  # SQLite's own error, as Dagster meets it

    monkeypatch.setattr(cli_module, "cmd_run", writes_history)
    assert cli_module.main(["run", "--date", START]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: cannot write {runs} (attempt to write a readonly "
                           "database): Dagster's run history")  # fmt: skip
    assert f"DAGSTER_HOME ({tmp_path / 'dagster_home'})" in line


def test_a_defect_with_room_on_the_disk_keeps_its_traceback(tmp_path, monkeypatch):
    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def breaks(args):
        raise ValueError("a defect")

    monkeypatch.setattr(cli_module, "cmd_run", breaks)
    monkeypatch.setattr(shutil, "disk_usage", disk_with(5 * 2**30))
    with pytest.raises(ValueError, match="a defect"):
        cli_module.main(["run", "--date", START])


# What the full disk's line says (`disk_full`): an error with the disk's free bytes, each
# hand-made, to what the line begins with and what it holds (None: no full disk).
MB = 2**20
FULL_DISKS = {
    "16 MB free is room": ("disk I/O error", 16 * MB, None, None),
    "a byte less is full": ("disk I/O error", 16 * MB - 1, "is full (16.0 MB free)", None),
    "out of quota": ("EDQUOT", 5 * 2**30, "is full (5120.0 MB free)", "Disk quota exceeded"),
    "SQLite's full, with room now": (
        "database or disk is full", 5 * 2**30, "is full", "stopped: database or disk is full."
    ),
    "no space met while handling another error": (
        "ENOSPC then", 5 * 2**30, "is full", "stopped: writing the day failed."
    ),
    "an error of two lines": ("first line\nsecond line", MB, "is full", "stopped: first line."),
    "an error saying nothing": ("", MB, "is full", "stopped: RuntimeError. Free"),
}  # fmt: skip


def _an_error(made: str) -> BaseException:
    import errno
    import sqlite3

    if made == "EDQUOT":
        return OSError(errno.EDQUOT, "Disk quota exceeded")
    if made == "ENOSPC then":
        try:
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError:
                raise RuntimeError("writing the day failed")  # noqa: B904, its context
        except RuntimeError as error:
            return error
    if made in ("disk I/O error", "database or disk is full"):
        return sqlite3.OperationalError(made)
    return RuntimeError(made)


@pytest.mark.parametrize(("made", "free", "begins", "holds"), FULL_DISKS.values(), ids=FULL_DISKS)
def test_a_full_disk_is_said_from_the_error_or_the_space_left(
    tmp_path, monkeypatch, made, free, begins, holds
):
    from cx_assets.cli.failures import disk_full

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(shutil, "disk_usage", disk_with(free))
    said = disk_full(_an_error(made))
    if begins is None:
        assert said is None
        return
    assert said is not None and said.startswith(f"the disk holding {tmp_path} {begins}"), said
    assert holds is None or holds in said, said


def test_the_full_disk_named_is_a_files_not_there_yet_or_where_it_was_moved(tmp_path, monkeypatch):
    """A file not made yet is on its nearest folder's disk, and a file moved is on the
    disks of both names: the one full of them is named, not the data root's."""
    import errno

    from cx_assets.cli.failures import disk_full

    full, roomy = tmp_path / "full", tmp_path / "data"
    full.mkdir()
    roomy.mkdir()
    monkeypatch.setenv("CX_DATA_DIR", str(roomy))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    def usage(path):
        if not Path(path).exists():
            raise FileNotFoundError(path)
        free = 0 if Path(path) == full else 60 * 2**30
        return SimpleNamespace(total=100 * 2**30, used=100 * 2**30 - free, free=free)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    new = full / "new" / "part.parquet"
    said = disk_full(OSError(errno.EIO, "Input/output error", str(new)))
    assert said is not None and said.startswith(f"the disk holding {new} is full (0.0 MB"), said
    moved = OSError(errno.EIO, "Input/output error", str(roomy / "a"), None, str(full / "b"))
    said = disk_full(moved)
    assert said is not None and said.startswith(f"the disk holding {full / 'b'} is full"), said
    # Settings that cannot be read (the data root's disk unknown): the file's disk is said.
    monkeypatch.setenv("CX_PARTITIONS_START", "soon")
    said = disk_full(OSError(errno.EIO, "Input/output error", str(new)))
    assert said is not None and said.startswith(f"the disk holding {new} is full"), said


@pytest.mark.parametrize(
    "error",
    [ValueError("a defect"), OSError(13, "Permission denied")],
    ids=["no OSError", "no file named"],
)
def test_an_error_naming_no_file_refused_is_no_file_not_writable(tmp_path, monkeypatch, error):
    from cx_assets.cli.failures import not_writable

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    assert not_writable(error) is None


def test_a_file_of_the_data_root_outside_landing_it_may_not_read_is_one_it_cannot_write(
    tmp_path, monkeypatch
):
    """Only landing is read and not written: the warehouse refused is said as a file the
    data root must let this user write, though DAGSTER_HOME is in the data root."""
    import errno

    from cx_assets.cli import failures

    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.touch()
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setattr(failures, "_readable", _nothing_readable)
    said = failures.not_writable(OSError(errno.EACCES, "Permission denied", str(warehouse)))
    assert said == (
        f"cannot write {warehouse}: Permission denied. The data root (CX_DATA_DIR) must be a "
        "folder this user can write to, on a disk mounted for writing."
    )


def _nothing_readable(path: Path) -> bool:
    return False


def test_a_run_historys_file_read_only_or_damaged_is_named_and_none_without_a_home(
    tmp_path, monkeypatch
):
    """The history's file refused is named, whichever of its databases it is (a sound one
    is not); when none is found, its folder; and no DAGSTER_HOME is no run history's
    failure."""
    import sqlite3

    from cx_assets.cli import failures

    history = tmp_path / "history"
    (history / "runs").mkdir(parents=True)
    (history / "schedules").mkdir()
    schedules = history / "schedules" / "schedules.db"
    schedules.touch()
    sqlite3.connect(history / "runs.db").execute("CREATE TABLE runs (id)").connection.close()
    read_only = sqlite3.OperationalError("attempt to write a readonly database")
    not_a_database = sqlite3.DatabaseError("file is not a database")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert failures.read_only_run_history(read_only) is None
    assert failures.damaged_run_history(not_a_database) is None

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setattr(failures, "_writable", schedules.__ne__)
    said = failures.read_only_run_history(read_only)
    assert said is not None and said.startswith(f"cannot write {schedules} (attempt"), said
    said = failures.damaged_run_history(not_a_database)
    assert said is not None and said.startswith(
        f"{history} is damaged (file is not a database): Dagster's run history"
    ), said
    (history / "runs" / "index.db").write_bytes(b"not a database at all")
    said = failures.damaged_run_history(not_a_database)
    assert said is not None and said.startswith(f"{history / 'runs' / 'index.db'} is damaged")


# `cx-lakehouse` as its entry point runs it, with Ctrl-C or a stop signal arriving while
# `cx_assets.cli` is imported (the tenth of a second before the command's own handling
# begins), raised as it comes or made by a library into an error of its own.
_STOPPED_WHILE_THE_COMMAND_IMPORTS = """
import os, signal, sys, time, types

stop, how = sys.argv[1:]
sys.argv = ["cx-lakehouse", "run", "--date", "2024-02-01", "--select", "group:calls"]

class Stop:
    def find_spec(self, name, path=None, target=None):
        if name == "cx_assets.cli":
            if how == "amid_the_watchs_module":  # imported in part, no watch yet
                sys.modules["cx_assets.cli.process"] = types.ModuleType("cx_assets.cli.process")
            try:
                os.kill(os.getpid(), getattr(signal, stop))
                time.sleep(0.05)  # delivered here, at the latest
            except KeyboardInterrupt:
                if how == "wrapped":  # as Python 3.11 while a class is created
                    raise RuntimeError("error in __set_name__ of 'Field'") from None
                if how == "swallowed":  # the import goes on, then the command
                    return None
                raise

sys.meta_path.insert(0, Stop())
from cx_assets.command import run
run()
"""


@pytest.mark.parametrize("how", ["raised", "wrapped", "swallowed", "amid_the_watchs_module"])
@pytest.mark.parametrize(
    "stop, exit_code, said",
    [
        ("SIGINT", 130, "cx-lakehouse: interrupted; run the command again to finish it"),
        ("SIGTERM", 143, "cx-lakehouse: stopped (SIGTERM); run the command again to finish it"),
        ("SIGHUP", 129, "cx-lakehouse: stopped (SIGHUP); run the command again to finish it"),
    ],
    ids=["Ctrl-C", "SIGTERM", "SIGHUP"],
)
def test_a_stop_while_the_command_imports_ends_in_one_line(stop, exit_code, said, how, tmp_path):
    """SIGTERM and SIGHUP there ended the process without a word (their default), and a
    Ctrl-C a library made into an error of its own printed its traceback. One swallowed
    there stops the command before its run."""
    (tmp_path / "data").mkdir()  # (its creation is noted on standard error)
    environment = {**os.environ, "CX_DATA_DIR": str(tmp_path / "data")}
    environment.pop("DAGSTER_HOME", None)
    ended = subprocess.run([sys.executable, "-c", _STOPPED_WHILE_THE_COMMAND_IMPORTS, stop, how],
                           env=environment, capture_output=True, text=True, timeout=120,
                           preexec_fn=answering_stop_signals)  # fmt: skip
    assert (ended.returncode, ended.stderr) == (exit_code, said + "\n"), ended.stdout
    assert "materializing" not in ended.stdout


def test_the_installed_command_starts_at_the_light_entry_point():
    """The entry point the package declares is the one that catches Ctrl-C while importing."""
    script = (BIN / "cx-lakehouse").read_text()
    assert "from cx_assets.command import run" in script


def _a_calls_day(landed: Path, tmp_path: Path) -> tuple[Path, dict[str, str], list[str]]:
    """A data root of the test's own with the small calls day `landed` copied in, the
    environment and the command that runs it."""
    data_dir = shutil.copytree(landed, tmp_path / "data")
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    command = [str(BIN / "cx-lakehouse"), "run", "--date", START, "--select", "group:calls"]
    return data_dir, environment, command


def _watchers_catch_ctrl_c(pid: int) -> None:
    """Once Dagster's compute log watchers (`watch_orphans.py`, of stdout and stderr, started
    by the command `pid` with its logs' `tail -F`) hold Python's Ctrl-C handler: a SIGINT
    before it ended them without a word."""
    import psutil

    def catching(watcher: psutil.Process) -> bool:
        status = Path(f"/proc/{watcher.pid}/status").read_text()
        caught = int(
            next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:], 16
        )
        return bool(caught & 1 << (signal.SIGINT - 1))

    for _ in range(1200):  # a minute
        with contextlib.suppress(psutil.Error, OSError):
            children = psutil.Process(pid).children(recursive=True)
            watchers = [c for c in children if "watch_orphans" in " ".join(c.cmdline())]
            if len(watchers) == 2 and all(catching(watcher) for watcher in watchers):
                return
        time.sleep(0.05)
    raise AssertionError("no compute log watchers, of stdout and stderr, started")


def _a_job_of_its_own() -> None:
    """`preexec_fn`: the command leads a process group of its own, as a terminal's job."""
    answering_stop_signals()
    os.setpgrp()


def _stopped_during_its_steps(
    command: list[str], environment: dict[str, str], stop: signal.Signals
) -> int:
    """The exit code of `command` sent `stop` once a step has started: Dagster turns it
    into a failed run, summarised like any other. Ctrl-C and a hang-up reach the command's
    whole process group, as a terminal sends them (Dagster's compute log helpers too), a
    stop signal the command alone, as `kill` does."""
    # (`--verbose` to see a step start: its step logs, with their traces, go to stderr.)
    during = subprocess.Popen([*command, "--verbose"], env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=_a_job_of_its_own)  # fmt: skip
    while "STEP_START" not in (line := during.stderr.readline()):
        assert line, during.communicate()
    if stop == signal.SIGTERM:
        during.send_signal(stop)
    else:
        if stop == signal.SIGINT:
            _watchers_catch_ctrl_c(during.pid)
        os.killpg(during.pid, stop)
    out, err = during.communicate(timeout=600)
    # Seen in an audit, Ctrl-C in a terminal during a run: two tracebacks of Dagster's
    # watch_orphans.py helpers amid the summary.
    assert "KeyboardInterrupt" not in err, err
    lines = out.splitlines()
    failed_at = next(i for i, line in enumerate(lines) if line.endswith(" failed:"))
    assert lines[failed_at + 1 : lines.index("gold rows:")] == [
        "  run: interrupted (Ctrl-C or a stop signal) before it finished"
    ], out
    # the command to run again, as a stop before the steps says to (found in an audit)
    again = lines.index("stopped before it finished; run it again with:")
    assert lines[again + 1] == f"  cx-lakehouse run --date {START} --select group:calls"
    assert lines[-1] == "FAILED"
    return during.returncode


@pytest.mark.parametrize(
    "stop, exit_code, said",
    [
        (signal.SIGINT, 130, "cx-lakehouse: interrupted; run the command again to finish it"),
        (
            signal.SIGTERM,
            143,
            "cx-lakehouse: stopped (SIGTERM); run the command again to finish it",
        ),
        (signal.SIGHUP, 129, "cx-lakehouse: stopped (SIGHUP); run the command again to finish it"),
    ],
    ids=["Ctrl-C", "SIGTERM", "SIGHUP"],
)
def test_a_stop_ends_the_run_in_one_line_with_its_code_and_the_next_run_finishes(
    stop, exit_code, said, tmp_path, a_landed_calls_day
):
    """Ctrl-C before the steps was a page of traceback, and during them a line of Dagster's
    error class and message; SIGTERM (a scheduler stopping the command, `kill`) and SIGHUP
    (its terminal gone) ended it without a word before the steps, and during them SIGTERM
    exited 130 and SIGHUP killed it where it stood. Now each ends in one line before the
    steps, in a failed run summarised like any other during them, with its own code (128 +
    the signal's number, what a scheduler reads), and the next run finishes."""
    data_dir, environment, command = _a_calls_day(a_landed_calls_day, tmp_path)
    # Before its steps, whatever the machine's load: while it waits for the data root, which
    # this test holds (sent after a wait chosen by the clock, a starved test had sent it once
    # the steps had begun).
    with run_lock.data_root_lock(data_dir, owner="the test", wait_seconds=60, say=print):
        early = subprocess.Popen(command, env={**environment, "PYTHONUNBUFFERED": "1"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=answering_stop_signals)  # fmt: skip
        while "waiting for the test" not in (line := early.stdout.readline()):
            assert line, early.communicate()
        early.send_signal(stop)
        out, err = early.communicate(timeout=600)
    assert (early.returncode, err) == (exit_code, said + "\n"), out

    assert _stopped_during_its_steps(command, environment, stop) == exit_code

    after = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    assert after.returncode == 0, after.stdout + after.stderr


def test_a_command_started_with_stop_signals_blocked_ends_and_leaves_nothing_running(
    tmp_path, a_landed_calls_day
):
    """Started by a thread that blocks SIGTERM (the mask passes on to the command), the run
    went on to its end, then hung a minute or more and failed: Dagster stops its compute
    logs' `tail -F` processes with SIGTERM, and they had inherited it blocked. They were left
    running after it. The command unblocks the stop signals it handles."""
    data_dir, environment, command = _a_calls_day(a_landed_calls_day, tmp_path)
    finished = subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,  # a minute or more when it hung
        preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}),
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    left = subprocess.run(["pgrep", "-f", f"tail -F .*{data_dir}"], capture_output=True, text=True)
    assert left.stdout == "", left.stdout


def _in_a_terminal_of_its_own() -> None:
    """`preexec_fn`: the command leads a session whose controlling terminal is its standard
    input, as a login shell's job is, so closing the terminal hangs it up (SIGHUP), which
    it answers as in a terminal (whatever started pytest: `nohup` passes it on ignored)."""
    answering_stop_signals()
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_a_terminal_that_hangs_up_stops_the_run_and_leaves_it_failed(tmp_path, a_landed_calls_day):
    """A closed terminal window or a dropped SSH session (SIGHUP) killed the command where
    it stood: its run stayed STARTED in the UI until the next run marked it failed. Now it
    stops as a stop signal does: the run ends failed at once, and the command exits 129,
    though its terminal is gone (writing to it fails)."""
    data_dir, environment, command = _a_calls_day(a_landed_calls_day, tmp_path)
    terminal, its_end = pty.openpty()
    running = subprocess.Popen([*command, "--verbose"], env=environment, stdin=its_end,
                               stdout=its_end, stderr=its_end,
                               preexec_fn=_in_a_terminal_of_its_own)  # fmt: skip
    os.close(its_end)
    shown = b""
    while b"STEP_START" not in shown:
        chunk = os.read(terminal, 65536)
        assert chunk, shown.decode(errors="replace")
        shown += chunk
    os.close(terminal)  # the window closes
    assert running.wait(timeout=120) == 128 + signal.SIGHUP

    with _instance_of(data_dir) as instance:
        (run,) = instance.get_runs(limit=1)
        assert run.status == DagsterRunStatus.FAILURE


@contextlib.contextmanager
def _instance_of(data_dir: Path):
    from dagster import DagsterInstance

    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster_home")
    try:
        with DagsterInstance.get() as instance:
            yield instance
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = before


def test_generate_refuses_what_cannot_fit_on_the_disk_before_writing(tmp_path, monkeypatch, capsys):
    """A mistyped `--scale 1000` filled the disk and stopped half-way."""
    from cx_assets import cli as cli_module

    data_dir = tmp_path / "data"  # not there yet: the disk of its nearest folder is asked
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.setattr(shutil, "disk_usage", disk_with(2 * 2**30))
    arguments = ["generate", "--start", START, "--days", "3", "--sources", "crm,calls"]

    assert cli_module.main([*arguments, "--scale", "3"]) == 2
    assert capsys.readouterr().err == (
        f"cx-lakehouse: 3 days at --scale 3 are about 2.5 GB of landing files, and the disk "
        f"holding {data_dir / 'landing'} has 2.0 GB free: lower --scale or --days\n"
    )
    assert not data_dir.exists()
    # One day is said in the singular ('1 day at --scale 10 are about', seen probing it).
    one_day = ["generate", "--start", START, "--days", "1", "--sources", "crm,calls"]
    assert cli_module.main([*one_day, "--scale", "10"]) == 2
    assert "cx-lakehouse: 1 day at --scale 10 is about 2.8 GB of landing files," in (
        capsys.readouterr().err
    )
    # 3 days × 0.01 × (280 + 5.5) MB, about 9 MB, fit: the request goes ahead.
    assert cli_module.main([*arguments, "--scale", "0.01", "--quiet"]) == 0
    assert (data_dir / "landing" / "crm").is_dir()


def test_a_second_generate_into_the_same_data_root_waits_its_turn(tmp_path, monkeypatch, capsys):
    """Two at once wrote the same in-flight file: bytes interleaved, then a failed rename."""
    import fcntl

    from cx_assets import cli as cli_module
    from cx_assets.cli.generate import GENERATE_LOCK

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    arguments = ["generate", "--start", START, "--days", "1", "--scale", "0.01", "--quiet"]
    with open(data_dir / GENERATE_LOCK, "a") as first:  # a generate still writing
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cli_module.main([*arguments, "--sources", "calls"]) == 1
        assert capsys.readouterr().err == (
            f"cx-lakehouse: another `cx-lakehouse generate` is writing into {data_dir}: wait "
            "for it to finish, then run this one\n"
        )
        assert not (data_dir / "landing").exists()
    assert cli_module.main([*arguments, "--sources", "calls"]) == 0  # its turn
    assert (data_dir / "landing" / "calls").is_dir()


@pytest.mark.parametrize("named", [",", ""])  # "": `--sources "$SOURCES"` with it unset
def test_generate_with_no_source_named_is_a_mistake(tmp_path, monkeypatch, capsys, named):
    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    assert cli_module.main(["generate", "--start", START, "--days", "1", "--sources", named]) == 2
    assert "--sources names no source: choose from calls, crm, digital, support" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "data" / "landing").exists()


@pytest.mark.parametrize(
    ("start", "days", "scale", "said"),
    [
        ("2024-01-01", "0", "1", "--days must be at least 1"),
        ("2024-01-01", "1", "0", "--scale must be a number greater than 0"),
        # Within the year 9999 (its last day the range's), but no synthetic day.
        (
            "9999-12-30",
            "2",
            "1",
            "synthetic days lie from 2000-01-01 to 2189-12-31, not 9999-12-30 to 9999-12-31: ",
        ),
        (
            "1999-12-31",
            "1",
            "1",
            "synthetic days lie from 2000-01-01 to 2189-12-31, not 1999-12-31 to 1999-12-31: ",
        ),
        (
            "2189-12-31",
            "2",
            "1",
            "synthetic days lie from 2000-01-01 to 2189-12-31, not 2189-12-31 to 2190-01-01: ",
        ),
        # The first and the last synthetic days are generated: refused here for room alone.
        ("2000-01-01", "1", "1", "1 day at --scale 1 is about "),
        ("2189-12-30", "2", "1", "2 days at --scale 1 are about "),
    ],
    ids=["no day", "no scale", "year 9999", "before", "after", "first day", "last day"],
)
def test_generate_refuses_days_and_scales_outside_its_bounds_and_takes_those_on_them(
    tmp_path, monkeypatch, capsys, start, days, scale, said
):
    """Every request here is refused before anything is written: those on the bounds only
    for want of room (a disk with nothing free)."""
    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(shutil, "disk_usage", disk_with(0))
    arguments = ["generate", "--start", start, "--days", days, "--scale", scale]
    assert cli_module.main([*arguments, "--sources", "calls"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cx-lakehouse: {said}") and err.count("\n") == 1, err
    assert not (tmp_path / "data" / "landing").exists()


def test_a_source_named_twice_is_generated_once(tmp_path, monkeypatch, capsys):
    """`--sources calls,support,calls` wrote calls twice and said so twice ('calls: transcripts
    50' two times, as if 100 were written), and counted it twice against the free disk."""
    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    arguments = ["generate", "--start", START, "--days", "1", "--scale", "0.001"]
    assert cli_module.main([*arguments, "--sources", "calls,support, calls"]) == 0
    out, err = capsys.readouterr()
    said = [line.split(":")[0] for line in out.splitlines()]
    assert said[:-1] == ["calls", "support"]
    assert err == ""  # without --quiet too: progress bars only on a terminal, not a pipe


def test_generate_writes_what_its_seed_says(tmp_path, monkeypatch):
    """The same seed writes the same files; another seed, other files."""
    from cx_assets import cli as cli_module

    written = {}
    for root, seed in (("first", "7"), ("again", "7"), ("other", "8")):
        monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / root))
        arguments = ["generate", "--start", START, "--days", "1", "--scale", "0.001"]
        assert cli_module.main([*arguments, "--seed", seed, "--sources", "calls", "--quiet"]) == 0
        landing = tmp_path / root / "landing"
        written[root] = {
            path.relative_to(landing): path.read_bytes()
            for path in sorted(landing.rglob("*"))
            if path.is_file()
        }
    assert written["first"] and written["first"] == written["again"]
    assert written["other"] != written["first"]


def test_a_source_whose_generate_returns_no_counts_is_named_as_the_defect(tmp_path, monkeypatch):
    """A new source's `generate(request)` that returns nothing: its own defect, said so,
    not an AttributeError of the command's."""
    import argparse

    import cx_assets.synthetic
    from cx_assets.cli.generate import cmd_generate

    def generate(request):
        return None

    def generator(source):
        return generate

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(cx_assets.synthetic, "generator", generator)
    args = argparse.Namespace(start=START, days=1, scale=0.001, seed=1, sources="calls", quiet=True)
    with pytest.raises(TypeError, match=r"cx_assets\.synthetic\.calls's generate\(request\) "):
        cmd_generate(args)


@pytest.mark.parametrize(
    ("size", "said"),
    [(1023, "1,023 bytes"), (1024, "1.0 KB"), (2**20, "1.0 MB"), (2.5 * 2**30, "2.5 GB"),
     (3 * 2**50, "3,072.0 TB")],
)  # fmt: skip
def test_a_size_is_said_in_the_largest_unit_it_holds_one_of(size, said):
    from cx_assets.cli.generate import _size

    assert _size(size) == said


def test_a_bad_partitions_start_is_explained(tmp_path):
    result = cli("run", "--date", START, data_dir=tmp_path, CX_PARTITIONS_START="yesterday")
    assert result.returncode == 2
    assert "CX_PARTITIONS_START" in result.stderr


def test_a_partitions_start_after_yesterday_says_there_are_none(tmp_path):
    """It said the day "is not a partition: partitions are daily from 2099-01-01 up to
    yesterday", a range that is empty."""
    result = cli("run", "--date", START, data_dir=tmp_path, CX_PARTITIONS_START="2099-01-01")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "cx-lakehouse: there are no partitions yet: CX_PARTITIONS_START=2099-01-01 is after "
        "yesterday ("
    )


@pytest.mark.parametrize(
    ("day", "env", "said"),
    [
        ("TODAY", {}, "TODAY is not a partition yet"),
        ("2023-12-31", {}, "2023-12-31 is not a partition: partitions are daily from 2024-01-01"),
        (START, {"CX_PARTITIONS_START": "2099-01-01"}, "there are no partitions yet"),
    ],
    ids=["today", "before the first", "none yet"],
)
def test_a_day_that_is_no_partition_is_refused_before_dagster_is_imported(tmp_path, day, env, said):
    """`run --date` of today (a cron line's `$(date +%F)`) or of a day before the first
    partition was refused once Dagster and the definitions were imported (1.5 s of CPU),
    and after the early read of the day's largest landed table had started."""
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    day, said = day.replace("TODAY", today), said.replace("TODAY", today)
    refused = probed(tmp_path / "data", "run", "--date", day, **env)
    assert refused["said"].startswith(f"cx-lakehouse: {said}"), refused["said"]
    assert (refused["code"], refused["dagster"], refused["started"]) == (2, False, [])


def test_the_command_runs_with_docstrings_stripped(tmp_path):
    """Found by static analysis: the help's description was the module docstring's first
    paragraph, which `python -OO` (`PYTHONOPTIMIZE=2`, set in some images) strips to None:
    every command, `--help` too, ended in AttributeError's traceback before parsing."""
    result = cli("--help", data_dir=tmp_path, PYTHONOPTIMIZE="2")

    assert result.returncode == 0, result.stderr
    assert "generate" in result.stdout and "Traceback" not in result.stderr


def test_help_says_the_defaults_and_the_ui_stays_quiet():
    from cx_assets import cli as cli_module

    parser = cli_module.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    generate = commands["generate"].format_help()
    assert "1.0 (the default)" in generate and "default 42" in generate
    assert "default 3000" in commands["ui"].format_help()
    assert "default 8501" in commands["dashboard"].format_help()
    # Every option of every command says what it is (`dashboard --port` said nothing).
    unexplained = [
        (name, action.dest)
        for name, command in commands.items()
        for action in command._actions  # argparse keeps them here too
        if action.help is None
    ]
    assert unexplained == []
    # The exit codes a scheduler reads, as the tests above see the command end with them.
    run = " ".join(commands["run"].format_help().split())
    for code in (
        "0 every step",
        "1 a step or an ERROR check failed",
        "2 a mistake",
        "130 Ctrl-C",
        "143 a stop signal (SIGTERM)",
        "129 its terminal hung up",
    ):
        assert code in run, code
    command = cli_module.ui_command(3000)
    assert command[command.index("--log-level") + 1] == "warning"
    assert command[command.index("--code-server-log-level") + 1] == "warning"


@pytest.mark.parametrize(
    ("argv", "taken"),
    [
        (["generate", "--start", START, "--days", "2"],
         {"days": 2, "scale": 1.0, "seed": 42, "sources": None, "quiet": False}),
        (["run", "--date", START], {"to": None, "select": None, "config": None, "verbose": False}),
        (["ui"], {"port": "3000"}),
        (["dashboard"], {"port": "8501"}),
    ],
    ids=["generate", "run", "ui", "dashboard"],
)  # fmt: skip
def test_an_option_left_out_takes_the_default_its_help_says(argv, taken):
    """Found by mutation testing: each default changed (the help says them, which passed)."""
    from cx_assets import cli as cli_module

    args = cli_module.build_parser().parse_args(argv)
    assert {name: getattr(args, name) for name in taken} == taken


@pytest.mark.parametrize(
    ("argv", "missing"),
    [
        ([], "command"),
        (["generate", "--start", START], "--days"),
        (["generate", "--days", "1"], "--start"),
        (["run", "--to", START], "--date"),
    ],
)
def test_a_command_or_an_option_it_needs_left_out_is_a_mistake(argv, missing, capsys):
    """Exit 2 and argparse's line naming what is missing. Found by mutation testing: no
    command, or no --date, --days, taken (ending in a traceback or a guessed default)
    passed every test of the command."""
    from cx_assets import cli as cli_module

    with pytest.raises(SystemExit) as ended:
        cli_module.build_parser().parse_args(argv)
    assert ended.value.code == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said.endswith(f"error: the following arguments are required: {missing}"), said


def test_generates_help_gives_a_scale_1_days_size_as_the_generators_write_it():
    """Seen in a newcomer's audit: `--scale` said "about 300 MB a day for crm", where a CRM
    day is about 280 MB and 300 the four sources' together (as the README says)."""
    import re

    from cx_assets import cli as cli_module
    from cx_assets.synthetic import megabytes, sources

    commands = cli_module.build_parser()._subparsers._group_actions[0].choices
    generate = " ".join(commands["generate"].format_help().split())
    said = re.search(r"about (\d+) MB a day, (\d+) of them CRM's", generate)
    assert said, generate
    every_source = sum(megabytes(source, days=1, scale=1.0) for source in sources())
    assert abs(int(said[1]) - every_source) <= 0.05 * every_source
    assert abs(int(said[2]) - megabytes("crm", days=1, scale=1.0)) <= 0.05 * every_source


@pytest.mark.parametrize("armed", [True, False], ids=["the command's process", "a caller of main"])
def test_start_up_objects_are_frozen_and_collection_resumes_for_the_run(
    tmp_path, monkeypatch, armed
):
    """The command's own process collects no garbage during start-up, freezes what start-up
    left once the definitions and resources are built, and runs the day with the collector
    on; a process that calls `main` (this one) keeps its collector untouched."""
    import gc

    from cx_assets import cli as cli_module

    collection = cli_module.StartUpCollection()
    collection.armed = armed
    monkeypatch.setattr(cli_module.process, "START_UP_COLLECTION", collection)
    frozen, thresholds = [], []
    # Recorded, not done: this test process's own heap must not be frozen for good.
    monkeypatch.setattr(
        gc, "freeze", lambda: frozen.append((gc.isenabled(), "dagster" in sys.modules))
    )
    monkeypatch.setattr(gc, "set_threshold", lambda *generations: thresholds.append(generations))
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))

    try:
        assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 0
        assert gc.isenabled()
    finally:
        gc.enable()  # for the tests after this one, whatever happened
    if armed:
        assert frozen == [(False, True)]  # once, with collection paused, after the imports
        assert [young for young, *_ in thresholds] == [10_000]  # not 700, Python's
    else:
        assert frozen == [] and thresholds == []


def test_the_demo_ends_yesterday():
    """`make demo` lands recent days, so the UI shows filled partitions, not 1,000 missing."""
    from datetime import UTC, datetime

    planned = subprocess.run(
        ["make", "-n", "demo"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    runs = [line for line in planned.splitlines() if "cx-lakehouse run" in line]
    assert runs and runs[-1].split("--to ")[1].split()[0] == yesterday


def test_dagster_home_of_another_data_root_is_refused(tmp_path, monkeypatch, capsys):
    """Seen in an audit, a shell holding DAGSTER_HOME of team A's data root running team B's:
    B's run went into A's run history, shown by A's UI, where A's and B's landing sensors
    would share one cursor. It is refused before anything is written; a DAGSTER_HOME of the
    data root itself, or of no data root, is used as before."""
    from cx_assets import cli as cli_module
    from cx_assets.cli.home import dagster_home_path

    team_a, team_b = tmp_path / "team a", tmp_path / "team b"
    for root in (team_a, team_b):
        (root / "landing").mkdir(parents=True)
        (root / ".run.lock").touch()
    (team_a / "dagster_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(team_a / "dagster_home"))
    monkeypatch.setenv("CX_DATA_DIR", str(team_b))
    for command in (["run", "--date", START], ["ui", "--port", "1"]):
        assert cli_module.main(command) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line == (
            f"cx-lakehouse: DAGSTER_HOME={team_a / 'dagster_home'} is the run history of the "
            f"data root {team_a}, not of {team_b} (CX_DATA_DIR): unset DAGSTER_HOME (each data "
            f"root keeps its own, in its dagster_home/), or set CX_DATA_DIR to {team_a}"
        )
    assert sorted(path.name for path in team_b.iterdir()) == [".run.lock", "landing"]
    assert dagster_home_path(team_a) == team_a / "dagster_home"  # its own
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "homes" / "dagster_home"))
    assert dagster_home_path(team_b) == tmp_path / "homes" / "dagster_home"  # no data root's


def test_a_dagster_home_this_process_set_is_not_taken_for_the_users(tmp_path, monkeypatch):
    """A command sets DAGSTER_HOME to its data root's home for Dagster; a later command of
    the same process (a notebook, a test calling `main` twice) on another data root took it
    for the user's: that root's runs went into the first root's history, and once such a
    home was refused, the second command stopped. A home the user set stays theirs."""
    from cx_assets.cli import home as home_module
    from cx_assets.cli.home import dagster_home_path, prepare_dagster_home

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(home_module, "_set_here", None)
    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        (root / "landing").mkdir(parents=True)
    assert prepare_dagster_home(first) == first / "dagster_home"
    assert (first / "dagster_home" / ".cx-storage-made").is_file()  # its storage made
    assert dagster_home_path(second) == second / "dagster_home"
    # The first root's command again: its home is still the process's, not the user's.
    assert prepare_dagster_home(first) == first / "dagster_home"
    assert dagster_home_path(second) == second / "dagster_home"

    mine = tmp_path / "mine"
    monkeypatch.setenv("DAGSTER_HOME", str(mine))
    assert prepare_dagster_home(first) == mine
    assert dagster_home_path(second) == mine
