"""`make clean` empties a data root of what landed and everything written, and nothing else,
never while a run, a `generate` or a UI uses it (cx_assets/cli/clean.py)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from cx_assets.cli.clean import clean, removable
from cx_assets.cli.failures import BusyError

REPO = Path(__file__).resolve().parents[2]
LEFT = {"notes.txt", ".run.lock", ".generate.lock"}


def _data_root(tmp_path: Path) -> Path:
    """A data root holding every entry `clean` removes, a file of the user's and the locks."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for path in removable(data_dir):
        if path.suffix in {".duckdb", ".wal", ".json"}:
            path.write_text("x")
        else:
            (path / "inner").mkdir(parents=True)
            (path / "inner" / "file").write_text("x")
    for name in LEFT:
        (data_dir / name).write_text("")
    return data_dir


def _no_processes(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir(exist_ok=True)
    return proc


def test_clean_removes_what_landed_and_everything_written_and_nothing_else(tmp_path):
    data_dir = _data_root(tmp_path)

    removed = clean(data_dir, proc=_no_processes(tmp_path))

    assert {path.name for path in removed} == {
        "landing", "bronze", "quarantine", "gold", ".gold-journal", "models",
        "warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.tmp",
        ".read-ahead.json", ".early-bronze", ".run-queue", "dagster_home",
    }  # fmt: skip
    assert removed[-1].name == "dagster_home"  # the history last: a refused run finds its own
    assert {path.name for path in data_dir.iterdir()} == LEFT
    assert clean(data_dir, proc=_no_processes(tmp_path)) == []  # again: nothing there


def test_a_run_holding_the_data_root_refuses_clean_and_nothing_is_removed(tmp_path):
    data_dir = _data_root(tmp_path)
    lock = data_dir / ".run.lock"
    lock.write_text(json.dumps({"owner": "cx-lakehouse run", "pid": 77, "since": "10:00:00 UTC"}))
    held = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BusyError) as refused:
            clean(data_dir, proc=_no_processes(tmp_path))
    finally:
        os.close(held)
    assert str(refused.value) == (
        f"cx-lakehouse run (pid 77, since 10:00:00 UTC) is running on {data_dir}: "
        "wait for it to finish"
    )
    assert (data_dir / "gold" / "inner" / "file").exists()
    assert (data_dir / "dagster_home").exists()


def test_a_generate_writing_into_the_data_root_refuses_clean(tmp_path):
    data_dir = _data_root(tmp_path)
    with open(data_dir / ".generate.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BusyError, match="a `cx-lakehouse generate` is writing into"):
            clean(data_dir, proc=_no_processes(tmp_path))
    assert (data_dir / "landing" / "inner" / "file").exists()


def test_make_clean_refused_by_a_generate_says_so_in_one_line_and_fails(
    tmp_path, monkeypatch, capsys
):
    from cx_assets.cli.clean import main

    data_dir = _data_root(tmp_path)
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    with open(data_dir / ".generate.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main() == 1  # busy, not a mistake of the user's (2)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"make clean: a `cx-lakehouse generate` is writing into {data_dir}: wait for it to finish\n"
    )


def test_a_ui_of_the_data_root_refuses_clean(tmp_path):
    """Its daemon would go on ticking sensors on a run history removed under it."""
    data_dir = _data_root(tmp_path)
    proc = _no_processes(tmp_path)
    for pid, argv in (
        (4242, ["python", "-m", "dagster", "dev", "-m", "cx_assets.definitions"]),
        (987, ["python", "-m", "dagster._daemon", "run", "--shutdown-pipe", "7"]),
    ):
        entry = proc / str(pid)
        entry.mkdir()
        (entry / "cmdline").write_bytes(b"\0".join(arg.encode() for arg in argv) + b"\0")
        (entry / "environ").write_bytes(f"DAGSTER_HOME={data_dir / 'dagster_home'}\0".encode())

    with pytest.raises(BusyError, match=r"a Dagster UI uses .* \(Dagster processes ") as refused:
        clean(data_dir, proc=proc)
    pids = re.search(r"Dagster processes (\d+), (\d+) of its run history", str(refused.value))
    assert pids and pids.groups() == ("987", "4242")  # each named, in numbers' order
    assert (data_dir / "dagster_home" / "inner" / "file").exists()


def test_make_clean_empties_the_data_root_it_is_given(tmp_path):
    """The Makefile's target, as a user types it: a gold file a killed run was publishing
    (`.gold-journal/`) went on to the next run after the old `make clean`."""
    data_dir = _data_root(tmp_path)
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        ["make", "-s", "clean"], cwd=REPO, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"removed from {data_dir}: landing, bronze, quarantine, gold")
    assert {path.name for path in data_dir.iterdir()} == LEFT


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("CX_DATA_DIR", "a-file", "is a file, not a folder"),
        ("CX_DATA_DIR", "root[1]", "holds a '['"),
        ("CX_PARTITIONS_START", "2024-13-01", "is not a date in YYYY-MM-DD form"),
    ],
)
def test_a_setting_it_cannot_take_is_one_line_and_nothing_is_removed(
    tmp_path, monkeypatch, capsys, variable, value, said
):
    """`make clean` with a mistyped variable ended in a traceback of SettingsError."""
    from cx_assets.cli.clean import main

    data_dir = _data_root(tmp_path)
    (tmp_path / "a-file").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.setenv(variable, value)

    assert main() == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"make clean: {variable}=") and said in err
    assert err.count("\n") == 1
    assert (data_dir / "gold" / "inner" / "file").exists()


def test_a_folder_the_lakehouse_never_used_is_refused_and_nothing_is_removed(
    tmp_path, monkeypatch, capsys
):
    """`CX_DATA_DIR=~ make clean` removed a home folder's own `models/` and `gold/`: a folder
    no run, `generate` or UI ever used is no data root to empty."""
    from cx_assets.cli.clean import main

    home = tmp_path / "home"
    for name in ("models", "gold", "landing"):
        (home / name).mkdir(parents=True)
        (home / name / "mine.txt").write_text("x")
    monkeypatch.setenv("CX_DATA_DIR", str(home))

    assert main() == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"make clean: {home} is no cx-lakehouse data root")
    assert err.count("\n") == 1
    assert {path.name for path in home.iterdir()} == {"models", "gold", "landing"}
    assert all((home / name / "mine.txt").exists() for name in ("models", "gold", "landing"))


@pytest.mark.parametrize(
    "mark", [".run.lock", ".generate.lock", "dagster_home", "warehouse.duckdb"]
)
def test_a_data_root_the_lakehouse_used_is_emptied_by_any_mark_of_it(tmp_path, mark):
    data_dir = tmp_path / "data"
    (data_dir / "landing" / "crm").mkdir(parents=True)
    if mark == "dagster_home":
        (data_dir / mark).mkdir()
    else:
        (data_dir / mark).write_text("")

    removed = clean(data_dir, proc=_no_processes(tmp_path))

    assert "landing" in {path.name for path in removed}
    assert not (data_dir / "landing").exists()


@pytest.mark.parametrize("target_exists", [True, False], ids=["link to a folder", "dangling"])
def test_a_linked_entry_is_removed_as_a_link_and_what_it_points_to_is_left(tmp_path, target_exists):
    """`gold` a link to a folder elsewhere (a bigger disk): the link goes, the folder it
    points to is not the data root's to empty; a link to nothing goes too."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / ".run.lock").write_text("")
    elsewhere = tmp_path / "big-disk" / "gold"
    if target_exists:
        elsewhere.mkdir(parents=True)
        (elsewhere / "kept.parquet").write_text("x")
    (data_dir / "gold").symlink_to(elsewhere)

    removed = clean(data_dir, proc=_no_processes(tmp_path))

    assert [path.name for path in removed] == ["gold"]
    assert not (data_dir / "gold").is_symlink()
    assert (elsewhere / "kept.parquet").exists() is target_exists


@pytest.mark.parametrize(
    ("home", "outside"),
    [(None, False), ("data/dagster_home", False), ("elsewhere/home", True)],
    ids=["unset", "the data root's own", "outside"],
)
def test_make_clean_of_a_new_data_root_removes_nothing_and_says_so(
    tmp_path, monkeypatch, capsys, home, outside
):
    """A data root just made (nothing in it yet) is no folder of the user's: nothing to
    remove, said so; a run history outside the data root is said to be left."""
    from cx_assets.cli.clean import main

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    if home is None:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
    else:
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / home))

    assert main() == 0
    out, err = capsys.readouterr()
    said = [f"removed from {data_dir}: nothing (already clean)"]
    if outside:
        said.append(
            f"DAGSTER_HOME={tmp_path / home} is outside the data root: its run history is left"
        )
    assert out.splitlines() == said
    assert err == ""
