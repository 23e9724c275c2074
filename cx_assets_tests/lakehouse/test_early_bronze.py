"""The largest landed table read into bronze while `cx-lakehouse run` starts up
(`early_bronze`): the bronze step takes it only when it read the very files the step finds,
and bronze then holds the rows the step's own reading gives."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cx_assets.lakehouse import early_bronze, run_lock
from cx_assets.lakehouse.early_bronze import SCRATCH_FOLDER
from cx_assets.lakehouse.landing import discover
from cx_assets_tests.conftest import Domain

DAY = date(2024, 3, 5)
TRANSCRIPT = {
    "agent_name": "Ana",
    "timestamp": "2024-03-05T10:00:00Z",
    "transcript_text": "Hello, I would like to upgrade my plan.",
    "customer_id": "C1",
}


@pytest.fixture(autouse=True)
def _every_table_read_early(monkeypatch):
    monkeypatch.setattr(early_bronze, "MIN_BYTES", 1)
    yield
    early_bronze._reading = None


def land_transcripts(lake, count: int, name: str = "part.jsonl", *, bad_line: bool = False):
    records = [{**TRANSCRIPT, "call_id": f"{name}-{n}"} for n in range(count)]
    lines = [json.dumps(record).encode() for record in records]
    if bad_line:  # not UTF-8: bronze keeps it with the reason, and the step's log says so
        lines.insert(1, b'{"call_id": "\xff"}')
    return lake.land("calls", "transcripts", DAY.isoformat(), name, b"\n".join(lines) + b"\n")


def scratch(lake) -> Path:
    return lake.root / SCRATCH_FOLDER


def bronze_rows(lake) -> list[dict]:
    table = pq.read_table(lake.layout.bronze_dir / "calls_transcripts" / f"date={DAY}")
    return table.drop_columns(["ingested_at"]).sort_by("line_number").to_pylist()


def materialize_bronze(lake):
    bronze = [
        a for a in Domain.named("calls").assets if a.key.path == ["bronze", "calls_transcripts"]
    ]
    result = lake.materialize(bronze, day=DAY.isoformat())
    messages = [
        event.user_message
        for event in lake.instance.all_logs(result.run_id)
        if event.step_key == "bronze__calls_transcripts"
    ]
    return result, messages


def test_the_bronze_step_takes_the_early_read_and_bronze_holds_the_same_rows(lake):
    land_transcripts(lake, 30, bad_line=True)
    land_transcripts(lake, 5, name="second.jsonl")
    _, messages = materialize_bronze(lake)  # read in the step
    read_in_step = bronze_rows(lake)
    assert any("1 record could not be read, the first on line 2" in m for m in messages)

    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    _, messages = materialize_bronze(lake)
    early_bronze.finish(lake.layout.landing_dir)

    assert any("read while the command started" in message for message in messages)
    # The unreadable record is still said in the step's log, as the step's own read says it.
    assert any("1 record could not be read, the first on line 2" in m for m in messages)
    assert bronze_rows(lake) == read_in_step
    assert len(read_in_step) == 36
    assert not early_bronze.scratch_folder(lake.layout.landing_dir).exists()


def test_a_file_changed_after_the_early_read_began_is_read_by_the_step(lake):
    path = land_transcripts(lake, 10)
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    reading = early_bronze._reading
    reading.process.wait()  # the early read is done, with the old file
    path.write_text(path.read_text() + json.dumps({**TRANSCRIPT, "call_id": "late"}) + "\n")

    _, messages = materialize_bronze(lake)

    assert not any("read while the command started" in message for message in messages)
    assert [row["line_number"] for row in bronze_rows(lake)] == list(range(1, 12))
    # The early files were dropped at once, not left for the end of the command.
    assert not (reading.folder / early_bronze.SCRATCH_DAYS).exists()


def test_a_file_redelivered_with_the_same_size_is_read_by_the_step(lake):
    """Same name, same size, same modification time (a copy that keeps it, `cp -p`), other
    content (a corrected export): the change time moved. Found by mutation testing: files
    told apart without their change time passed, as the modification time moved here too."""
    path = land_transcripts(lake, 3)
    landed = path.stat()
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    early_bronze._reading.process.wait()
    corrected = path.read_text().replace("Ana", "Bia")
    time.sleep(0.01)
    path.write_text(corrected)
    os.utime(path, ns=(landed.st_atime_ns, landed.st_mtime_ns))

    _, messages = materialize_bronze(lake)

    assert not any("read while the command started" in message for message in messages)
    assert all('"Bia"' in row["raw"] for row in bronze_rows(lake))


def test_a_file_landed_after_the_early_read_began_is_read_by_the_step(lake):
    land_transcripts(lake, 10)
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    early_bronze._reading.process.wait()
    land_transcripts(lake, 3, name="later.jsonl")

    _, messages = materialize_bronze(lake)

    assert not any("read while the command started" in message for message in messages)
    assert len(bronze_rows(lake)) == 13


def test_an_early_read_of_other_days_or_tables_is_not_taken(lake):
    land_transcripts(lake, 4)
    files = discover(lake.layout.landing_dir, "calls", "transcripts", DAY)
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    landing = lake.layout.landing_dir

    assert early_bronze.claim(landing, "calls", "other", [DAY], files) is None
    assert early_bronze.claim(landing, "calls", "transcripts", [date(2024, 3, 6)], files) is None
    assert early_bronze.claim(landing.parent / "x", "calls", "transcripts", [DAY], files) is None
    taken = early_bronze.claim(landing, "calls", "transcripts", [DAY], files)
    assert taken is not None and taken.rows == {DAY: 4}
    # Claimed once: a retried step reads on its own.
    assert early_bronze.claim(landing, "calls", "transcripts", [DAY], files) is None
    early_bronze.finish(landing)


def test_a_csv_without_its_header_row_is_read_by_the_step(lake):
    """The early read knows no table's fields, so took the file's first record for its
    header; the step reads it, keeping that record as a bad one."""
    members = "M1,MAPD,3,,en,2023-10-01\nM2,MAPD,5,,en,2023-08-01\n"
    lake.land("digital", "members", DAY.isoformat(), "headless.csv", members)
    early_bronze.start(lake.layout.landing_dir, ["digital"], DAY, DAY)
    reading = early_bronze._reading
    assert reading is not None and reading.table == "members"
    bronze = [
        a for a in Domain.named("digital").assets if a.key.path == ["bronze", "digital_members"]
    ]

    result = lake.materialize(bronze, day=DAY.isoformat())
    early_bronze.finish(lake.layout.landing_dir)

    messages = [event.user_message for event in lake.instance.all_logs(result.run_id)]
    assert not any("read while the command started" in message for message in messages)
    table = pq.read_table(lake.layout.bronze_dir / "digital_members" / f"date={DAY}")
    assert table["line_number"].to_pylist() == [1, 2]
    assert table["raw"].to_pylist()[0] == "M1,MAPD,3,,en,2023-10-01"


def test_a_broken_json_array_is_read_by_the_step_by_the_tables_required_fields(lake):
    """The early read knows no table's required fields, so read a broken `.json` array
    again by those its elements before the break held (A's optional `duration_seconds`),
    and took B, cut off, and C for one bad record: the step reads it. (An early read of
    `.json` files with no such record is taken: the next test, for calls.)"""
    call_a = json.dumps({**TRANSCRIPT, "call_id": "A", "duration_seconds": 60})
    call_b = json.dumps({**TRANSCRIPT, "call_id": "B"})[:-10]
    call_c = json.dumps({**TRANSCRIPT, "call_id": "C"})
    lake.land(
        "calls", "transcripts", DAY.isoformat(), "batch.json", f"[{call_a},\n{call_b}\n{call_c}]"
    )
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    assert early_bronze._reading is not None

    _, messages = materialize_bronze(lake)
    early_bronze.finish(lake.layout.landing_dir)

    assert not any("read while the command started" in message for message in messages)
    rows = bronze_rows(lake)
    assert [(row["raw"], row["read_error"] is None) for row in rows] == [
        (call_a, True),
        (call_b, False),
        (call_c, True),
    ]


CALL = json.dumps({**TRANSCRIPT, "call_id": "A"})
BROKEN_ARRAY = f"[{CALL},\n{CALL}".encode()  # never closed: its second element unreadable
CLEAN_ARRAY = f"[{CALL}]".encode()


@pytest.mark.parametrize(
    ("landed", "json_read_again", "taken"),
    [
        ({"a.json": BROKEN_ARRAY}, False, True),
        ({"a.json": BROKEN_ARRAY}, True, False),
        ({"a.json": CLEAN_ARRAY, "b.jsonl": b'{"call_id": "\xff"}\n'}, True, True),
    ],
    ids=["a broken array, not read again", "a broken array read again", "a bad line in JSONL"],
)
def test_an_early_read_is_refused_only_for_a_json_file_the_step_reads_again(
    lake, landed, json_read_again, taken
):
    """A `.json` file holding a record that could not be read is one the step reads again
    by its table's required fields; a record of another file is read the same either way.
    Found by mutation testing: a read refused whenever a `.json` file was landed, or the
    unreadable record laid to the day's first file, or whatever the step reads, passed."""
    for name, content in landed.items():
        lake.land("calls", "transcripts", DAY.isoformat(), name, content)
    files = discover(lake.layout.landing_dir, "calls", "transcripts", DAY)
    landing = lake.layout.landing_dir
    early_bronze.start(landing, ["calls"], DAY, DAY)

    early = early_bronze.claim(
        landing, "calls", "transcripts", [DAY], files, json_read_again=json_read_again
    )
    early_bronze.finish(landing)

    assert (early is not None) == taken
    if early is not None:
        assert len(early.warnings) == 1


def test_only_the_largest_table_of_the_named_domains_and_only_from_min_bytes(lake, monkeypatch):
    landing = lake.layout.landing_dir
    lake.land("calls", "transcripts", DAY.isoformat(), "a.jsonl", "x" * 100)
    lake.land("calls", "agents", DAY.isoformat(), "a.jsonl", "x" * 300)
    lake.land("calls", "agents", DAY.isoformat(), "_in_flight.jsonl", "x" * 10_000)
    lake.land("calls", "notes", DAY.isoformat(), "a.txt", "x" * 10_000)  # not a landed format
    lake.land("calls", "_staging", DAY.isoformat(), "a.jsonl", "x" * 10_000)  # no table
    lake.land("crm", "interactions", DAY.isoformat(), "a.jsonl", "x" * 1_000)
    lake.land("calls", "transcripts", "2024-03-06", "a.jsonl", "x" * 1_000)  # another day

    assert early_bronze._largest_table(landing, ["calls"], [DAY]) == ("calls", "agents")
    assert early_bronze._largest_table(landing, ["calls", "crm"], [DAY]) == ("crm", "interactions")
    assert early_bronze._largest_table(landing, ["digital"], [DAY]) is None
    # A landed format however its suffix is spelled; MIN_BYTES itself is enough (both found
    # by mutation testing: neither was landed or asked here).
    lake.land("support", "tickets", DAY.isoformat(), "a.JSONL", "x" * 50)
    assert early_bronze._largest_table(landing, ["support"], [DAY]) == ("support", "tickets")
    monkeypatch.setattr(early_bronze, "MIN_BYTES", 300)
    assert early_bronze._largest_table(landing, ["calls"], [DAY]) == ("calls", "agents")
    monkeypatch.setattr(early_bronze, "MIN_BYTES", 301)
    assert early_bronze._largest_table(landing, ["calls"], [DAY]) is None


def test_every_run_removes_the_scratch_folders_no_command_holds(lake, monkeypatch):
    """A folder is a running command's while its lock is held (by any process, on any host
    sharing the data root), whatever its pid; the others were left by killed commands."""
    monkeypatch.setattr(early_bronze, "MIN_BYTES", 2**62)  # no early read: cleaned all the same
    dead, living, unlocked = (scratch(lake) / name for name in ("a-1", "b-2", "c-3"))
    for folder in (dead, living, unlocked):
        (folder / "days").mkdir(parents=True)
    (dead / "held").touch()
    holder = os.open(living / "held", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    being_made, left_half_made = scratch(lake) / "_d-4", scratch(lake) / "_e-5"
    being_made.mkdir()
    left_half_made.mkdir()
    os.utime(left_half_made, (time.time() - 120, time.time() - 120))
    try:
        early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    finally:
        os.close(holder)

    assert sorted(folder.name for folder in scratch(lake).iterdir()) == ["_d-4", "b-2"]


def test_a_bronze_step_run_by_anyone_removes_a_killed_commands_early_read(lake):
    """A command killed during its early read left a day's raw records (CRM e-mail bodies,
    every personal value landed) in `.early-bronze/`, outside bronze, until the next
    `cx-lakehouse run`, which a data root run by the UI's sensors never has (found in an
    audit, `kill -9` a second into a run). Any bronze step now removes the folders nobody
    holds; a running command's stays."""
    land_transcripts(lake, 2)
    dead, living = scratch(lake) / "a-1", scratch(lake) / "b-2"
    for folder in (dead, living):
        (folder / "days" / f"date={DAY}").mkdir(parents=True)
        (folder / "days" / f"date={DAY}" / "data.parquet").write_text("raw records")
        (folder / "held").touch()
    holder = os.open(living / "held", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        result, _ = materialize_bronze(lake)
    finally:
        os.close(holder)

    assert result.success
    assert sorted(folder.name for folder in scratch(lake).iterdir()) == ["b-2"]


def test_no_early_read_while_another_run_holds_the_data_root(lake):
    land_transcripts(lake, 3)
    with run_lock.data_root_lock(lake.root, owner="another run", wait_seconds=1):
        early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    assert early_bronze._reading is None

    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    assert early_bronze._reading is not None
    early_bronze.finish(lake.layout.landing_dir)


def test_the_reading_process_runs_the_commands_cx_assets_not_one_in_the_working_folder(
    lake, tmp_path, monkeypatch
):
    """`python -m` would put the working folder first on the path: a checkout or worktree of
    another version there would read bronze with its own code."""
    fake = tmp_path / "elsewhere" / "cx_assets" / "lakehouse"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").touch()
    (fake / "__init__.py").touch()
    (fake / "early_bronze.py").write_text("raise SystemExit(3)\n")
    land_transcripts(lake, 5)
    files = discover(lake.layout.landing_dir, "calls", "transcripts", DAY)
    monkeypatch.chdir(fake.parent.parent)

    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    taken = early_bronze.claim(lake.layout.landing_dir, "calls", "transcripts", [DAY], files)
    early_bronze.finish(lake.layout.landing_dir)

    assert taken is not None and taken.rows == {DAY: 5}


def test_a_range_is_read_early_day_by_day(lake):
    land_transcripts(lake, 4)
    lake.land_jsonl("calls", "transcripts", "2024-03-06",
                    [{**TRANSCRIPT, "call_id": "next", "timestamp": "2024-03-06T09:00:00Z"}])  # fmt: skip
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, date(2024, 3, 6))
    bronze = [
        a for a in Domain.named("calls").assets if a.key.path == ["bronze", "calls_transcripts"]
    ]

    result = lake.materialize(bronze, day=DAY.isoformat(), last_day="2024-03-06")
    early_bronze.finish(lake.layout.landing_dir)

    messages = [event.user_message for event in lake.instance.all_logs(result.run_id)]
    assert any("read while the command started" in message for message in messages)
    folder = lake.layout.bronze_dir / "calls_transcripts"
    assert [pq.read_table(folder / f"date={day}").num_rows for day in (DAY, "2024-03-06")] == [4, 1]


def test_finish_stops_an_unclaimed_read_and_removes_its_files(lake):
    land_transcripts(lake, 3)
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    process = early_bronze._reading.process

    early_bronze.finish(lake.layout.landing_dir)

    assert process.poll() is not None
    assert not early_bronze.scratch_folder(lake.layout.landing_dir).exists()
    assert early_bronze._reading is None


@pytest.mark.parametrize("ended_by", ["files changed", "the command's end"])
def test_a_reading_still_running_is_killed(lake, ended_by):
    """Found by mutation testing: a reading left running passed, as the tests' readings of
    a few records had ended by themselves. This one sleeps until killed."""
    land_transcripts(lake, 1)
    landing = lake.layout.landing_dir
    files = discover(landing, "calls", "transcripts", DAY)
    folder = lake.root / "reading"
    folder.mkdir()
    (folder / "landed.json").write_text("[]")  # it found no file
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    early_bronze._reading = early_bronze._Reading(
        landing, "calls", "transcripts", (DAY,), folder, process
    )
    try:
        if ended_by == "files changed":
            assert early_bronze.claim(landing, "calls", "transcripts", [DAY], files) is None
        else:
            early_bronze.finish(landing)

        assert process.poll() == -signal.SIGKILL
    finally:
        process.kill()
        process.wait()


COMMAND = """
import sys, time
from datetime import date
from pathlib import Path
from cx_assets.lakehouse import early_bronze, run_lock
early_bronze.MIN_BYTES = 1
early_bronze.start(Path(sys.argv[1]), ["calls"], date(2024, 3, 5), date(2024, 3, 5))
print(early_bronze._reading.process.pid, early_bronze._reading.folder, flush=True)
time.sleep(600)
"""


def test_the_reading_process_ends_with_a_killed_command(lake):
    """`kill -9` of the command alone, even before the reading process has asked to die with
    it: the process reads nothing into a folder nobody will take."""
    land_transcripts(lake, 50)
    command = subprocess.Popen(
        [sys.executable, "-c", COMMAND, str(lake.layout.landing_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    pid, folder = command.stdout.readline().split()
    command.send_signal(signal.SIGKILL)
    command.wait()

    deadline = time.monotonic() + 10
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid))
    assert not (Path(folder) / "manifest.json").exists()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_the_reading_process_imports_no_dagster(lake):
    """What the process imports, as Python reports it (`-X importtime`): no Dagster, whose
    import would take most of the start-up the read is meant to overlap."""
    land_transcripts(lake, 2)
    folder = lake.root / "scratch"
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "import runpy, sys; sys.argv[1:] = sys.argv[2:]; "
         "from cx_assets.lakehouse import early_bronze; early_bronze._read(sys.argv[1:])",
         "-", str(lake.layout.landing_dir), str(folder), "calls", "transcripts", DAY.isoformat()],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    imported = {
        line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if "|" in line
    }
    assert (folder / "manifest.json").exists()
    assert "pyarrow.parquet" in imported
    assert not {name for name in imported if name.split(".")[0] == "dagster"}


def test_the_reading_process_shows_a_persons_file_name_masked_without_duckdb(lake):
    """A file named after a person, with a record it cannot read: the line the step logs for
    it shows the name masked (`landing.shown`), and showing it imports no DuckDB into the
    process (privacy's did, 50-100 ms, on the core the read is meant to use)."""
    land_transcripts(lake, 3, "+55 11 94242-0150.jsonl", bad_line=True)
    lake.land("calls", "transcripts", DAY.isoformat(), "ana@example.com.txt", "not read\n")
    folder = lake.root / "scratch"
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys; from cx_assets.lakehouse import early_bronze; "
         "early_bronze._read(sys.argv[1:]); print('duckdb' in sys.modules)",
         str(lake.layout.landing_dir), str(folder), "calls", "transcripts", DAY.isoformat()],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "False"
    warnings = json.loads((folder / "manifest.json").read_text())["warnings"]
    assert len(warnings) == 1 and "94242" not in warnings[0]
    assert warnings[0].startswith(f"landing/calls/transcripts/{DAY}/[phone].jsonl#")


# `cx-lakehouse run` as far as the early read's start: which heavy modules are loaded then.
_LOADED_WHEN_THE_READ_STARTS = """
import json, os, sys
from cx_assets import cli
from cx_assets.lakehouse import early_bronze

def start(*args):
    heavy = ("pyarrow", "numpy", "pandas", "duckdb", "dagster")
    print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
    sys.stdout.flush()
    os._exit(0)

early_bronze.start = start
cli.main(["run", "--date", sys.argv[1], "--select", "group:calls"])
"""


def test_the_command_starts_the_early_read_before_it_imports_pyarrow_or_dagster(lake):
    """The read overlaps the command's start-up only from when it starts: importing pyarrow
    first (0.15-0.3 s, for the files' names) made it start that much later."""
    result = subprocess.run(
        [sys.executable, "-c", _LOADED_WHEN_THE_READ_STARTS, DAY.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CX_DATA_DIR": str(lake.layout.landing_dir.parent)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_a_failed_early_read_leaves_the_reading_to_the_step(lake, monkeypatch):
    land_transcripts(lake, 6)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the process exits 1 at once
    early_bronze.start(lake.layout.landing_dir, ["calls"], DAY, DAY)
    monkeypatch.undo()

    _, messages = materialize_bronze(lake)

    assert not any("read while the command started" in message for message in messages)
    assert len(bronze_rows(lake)) == 6


# JSONL (calls' transcripts) and CSV (digital's journeys, calls and members): at scale 1
# the largest table of each is read early.
@pytest.mark.parametrize(("source", "largest"), [("calls", "transcripts"), ("digital", None)])
def test_cx_lakehouse_run_reads_early_and_writes_what_a_run_without_it_writes(
    tmp_path, monkeypatch, source, largest
):
    from cx_assets import cli as cli_module
    from cx_assets_tests.cli import START, landed

    claimed = []
    claim = early_bronze.claim

    def recording_claim(*args, **kwargs):
        early = claim(*args, **kwargs)
        claimed.append((args[1], args[2], early is not None))
        return early

    monkeypatch.setattr(early_bronze, "claim", recording_claim)
    roots = {}
    for minimum in (1, 2**62):  # read early, and not
        monkeypatch.setattr(early_bronze, "MIN_BYTES", minimum)
        data_dir = landed(tmp_path / str(minimum), source)
        monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
        assert cli_module.main(["run", "--date", START, "--select", f"group:{source}"]) == 0
        roots[minimum] = data_dir
        assert not early_bronze.scratch_folder(data_dir / "landing").exists()

    read_early = [table for claimed_source, table, early in claimed if early]
    assert len(read_early) == 1 and claimed[0][0] == source
    assert largest in (None, read_early[0])
    datasets = sorted(
        f"{layer}/{folder.name}"
        for layer in ("bronze", "gold")
        for folder in (roots[1] / layer).iterdir()
        if folder.is_dir()
    )
    assert f"bronze/{source}_{read_early[0]}" in datasets
    for dataset in datasets:
        early, read_in_step = (
            pq.read_table(roots[minimum] / dataset).drop_columns(
                [c for c in ("ingested_at",) if dataset.startswith("bronze")]
            )
            for minimum in (1, 2**62)
        )
        assert early.equals(read_in_step), dataset
