"""Running things to measure them: commands with their peak RSS, the DuckDB floor, and the
landing data the measurements share.

Landing data is generated once per (source, scale) into `bench-data/landing/` and reused
while its parameters and the generators' code stay the same; each measurement gets a data
root of its own whose landing folders are hard links to it (no copy of 272 MB a day, and
the files keep their mtimes, so the run sees the same files every time).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "cx-lakehouse")
SEED = 42


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    began: float  # epoch seconds, to find the command's runs in the event log
    ended: float
    output: str = ""


def data_root_env(data_dir: Path) -> dict[str, str]:
    """The environment of a command on `data_dir`: its own Dagster instance under it."""
    env = {**os.environ, "CX_DATA_DIR": str(data_dir), "PYTHONWARNINGS": "ignore"}
    env.pop("DAGSTER_HOME", None)
    # Python keeps compiled modules (`__pycache__`) unless told not to; some sandboxes tell
    # it not to, and every command would then compile the project's modules anew.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_measured(command: list[str], env: dict[str, str]) -> Measurement:
    """Run a command, sampling the RSS of its whole process tree every 20 ms."""
    began_epoch = time.time()
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - began
    text = output.decode(errors="replace")
    if process.returncode != 0:
        sys.stdout.write(text)
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return Measurement(seconds, peak / 2**20, began_epoch, began_epoch + seconds, text)


def run_days(data_dir: Path, first: date, last: date, select: str) -> Measurement:
    command = [CLI, "run", "--date", first.isoformat(), "--select", select]
    if last != first:
        command[4:4] = ["--to", last.isoformat()]
    return run_measured(command, data_root_env(data_dir))


def floor(data_dir: Path, source: str, days: list[date]) -> float:
    """Seconds of a process in which DuckDB reads every landing file of the days once and
    writes it once as Parquet (`floor_copy.py`), from its start to its exit: a whole
    process, as the product's commands are timed and as issue 12 defines the floor."""
    out = data_dir / "floor"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "floor_copy.py"),
        str(data_dir),
        source,
        str(out),
        *(day.isoformat() for day in days),
    ]
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as for the product's commands (data_root_env)
    began = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    seconds = time.perf_counter() - began
    shutil.rmtree(out, ignore_errors=True)
    return seconds


def bare_dagster(work_dir: Path, repeats: int = 3) -> float:
    """Seconds of the least Dagster command (`bare_dagster.py`) on a persistent instance:
    the best of `repeats` runs after a first one that creates the instance's storage."""
    home = fresh_root(work_dir / "runs" / "bare-dagster")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as for the product's commands (data_root_env)
    command = [sys.executable, str(ROOT / "benchmarks" / "bare_dagster.py")]
    run_measured(command, env)
    return min(run_measured(command, env).seconds for _ in range(repeats))


def empty_day(work_dir: Path, source: str, day: date, repeats: int = 1) -> Measurement:
    """The source's own run on a data root where nothing landed, warm (a first run builds the
    empty tables), the fastest of `repeats`: every step and check on zero rows, the
    product's fixed cost per command."""
    data_dir = fresh_root(work_dir / "runs" / f"{source}-empty")
    run_days(data_dir, day, day, f"group:{source}")
    runs = [run_days(data_dir, day, day, f"group:{source}") for _ in range(repeats)]
    return min(runs, key=attrgetter("seconds"))


def days_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=offset) for offset in range(count)]


def generator_fingerprint() -> str:
    """Changes whenever the synthetic generators' code or pools change."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "cx_assets" / "synthetic").rglob("*")):
        if path.is_file() and path.suffix in {".py", ".json"}:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class LandingSets:
    """Generated landing days, one folder per (source, scale), under `work_dir/landing`."""

    def __init__(self, work_dir: Path, first_day: date, *, fresh: bool = False) -> None:
        self.base = work_dir / "landing"
        self.first_day = first_day
        self.fresh = fresh
        self.generated: set[Path] = set()

    def folder(self, source: str, scale: float) -> Path:
        return self.base / f"{source}-scale{scale:g}"

    def ensure(self, source: str, scale: float, days: int) -> Path:
        """A data root whose landing holds at least `days` days of `source` at `scale`."""
        folder = self.folder(source, scale)
        marker = folder / "generated.json"
        wanted = {
            "source": source,
            "scale": scale,
            "start": self.first_day.isoformat(),
            "seed": SEED,
            "generators": generator_fingerprint(),
        }
        regenerate = self.fresh and folder not in self.generated
        if marker.exists() and not regenerate:
            built = json.loads(marker.read_text())
            if built.get("params") == wanted and built.get("days", 0) >= days:
                return folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"[data] generating {days} day(s) of {source} at scale {scale:g} ...", flush=True)
        generated = run_measured(
            [CLI, "generate", "--start", self.first_day.isoformat(), "--days", str(days),
             "--scale", f"{scale:g}", "--seed", str(SEED), "--sources", source, "--quiet"],
            data_root_env(folder),
        )  # fmt: skip
        marker.write_text(
            json.dumps({"params": wanted, "days": days, "seconds": generated.seconds})
        )
        self.generated.add(folder)
        return folder

    def link_into(self, source: str, scale: float, days: list[date], data_dir: Path) -> int:
        """Hard-link the days' landing folders into `data_dir`; returns the bytes linked."""
        linked = 0
        for path, target_dir in landed_files(self.folder(source, scale), source, days, data_dir):
            os.link(path, target_dir / path.name)
            linked += path.stat().st_size
        return linked


def landed_files(
    root: Path, source: str, days: list[date], data_dir: Path
) -> Iterator[tuple[Path, Path]]:
    """Each landed file of `source` for `days` under `root` (a data root or a landing set),
    with the folder it goes to under `data_dir` (created), table by table, day by day."""
    landing = root / "landing" / source
    for table_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        for day in days:
            source_dir = table_dir / day.isoformat()
            if not source_dir.is_dir():
                continue
            target_dir = data_dir / "landing" / source / table_dir.name / day.isoformat()
            target_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(source_dir.iterdir()):
                yield path, target_dir


def fresh_root(data_dir: Path) -> Path:
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    return data_dir
