"""`make bench`: one scale-1 day per source through `cx-lakehouse run`, against a floor.

For each source: generate one day at scale 1 into its own data root, then measure, in the
same session and on the same files:

- floor: DuckDB reads the day's landing files once and writes them once as Parquet
  (the least any pipeline over these files must do);
- `cx-lakehouse run --date D --select group:<source>`: cold (first run: new warehouse,
  new Dagster instance) and warm (the same day again, as a re-delivery would);
- peak RSS of the run's whole process tree.

Ratios are against the floor measured in this run, so they survive a slow machine.
Results go to docs/benchmarks.md with the command and machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = date(2024, 1, 3)
TARGET_RATIO = 4.0
TARGET_RSS_MB = 1536

# How DuckDB reads a landed table's files for the floor, by file type.
FLOOR_READERS = {
    ".jsonl": "read_json('{folder}/*.jsonl', format='newline_delimited', union_by_name=true)",
    ".json": "read_json('{folder}/*.json', format='auto', union_by_name=true)",
    ".csv": "read_csv('{folder}/*.csv', union_by_name=true, header=true)",
}


def domains() -> list[str]:
    """The domains the lakehouse defines (a domain is a source), never a hand-kept list."""
    from cx_assets.definitions import domain_names

    return domain_names()


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float = 0.0


def run_measured(command: list[str], env: dict[str, str]) -> Measurement:
    """Run a command, sampling the RSS of its whole process tree every 20 ms."""
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
    if process.returncode != 0:
        sys.stdout.write(output.decode(errors="replace"))
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return Measurement(seconds, peak / 2**20)


def floor(data_dir: Path, source: str) -> float:
    """DuckDB reads every landing file of the day once and writes it once as Parquet."""
    out = data_dir / "floor"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    began = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for folder in sorted((data_dir / "landing" / source).glob(f"*/{DAY.isoformat()}")):
        table = folder.parent.name
        for suffix in sorted({path.suffix for path in folder.iterdir()} & set(FLOOR_READERS)):
            reader = FLOOR_READERS[suffix].format(folder=folder.as_posix())
            target = out / f"{table}{suffix.replace('.', '_')}.parquet"
            con.execute(f"COPY (SELECT * FROM {reader}) TO '{target}' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - began


def bench_source(source: str, work_dir: Path) -> dict[str, object]:
    data_dir = work_dir / source
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    env.pop("DAGSTER_HOME", None)
    cli = str(BIN / "cx-lakehouse")
    print(f"[{source}] generating one day at scale 1 ...", flush=True)
    run_measured(
        [
            cli,
            "generate",
            "--start",
            DAY.isoformat(),
            "--days",
            "1",
            "--sources",
            source,
            "--quiet",
        ],
        env,
    )
    landed = sum(p.stat().st_size for p in (data_dir / "landing").rglob("*") if p.is_file())
    run = [cli, "run", "--date", DAY.isoformat(), "--select", f"group:{source}"]
    floors = [floor(data_dir, source)]
    print(f"[{source}] cold run ...", flush=True)
    cold = run_measured(run, env)
    floors.append(floor(data_dir, source))
    print(f"[{source}] warm run ...", flush=True)
    warm = run_measured(run, env)
    floors.append(floor(data_dir, source))
    best_floor = min(floors)
    result = {
        "source": source,
        "landed_mb": landed / 2**20,
        "floor_s": best_floor,
        "cold_s": cold.seconds,
        "warm_s": warm.seconds,
        "cold_ratio": cold.seconds / best_floor,
        "warm_ratio": warm.seconds / best_floor,
        "peak_rss_mb": max(cold.peak_rss_mb, warm.peak_rss_mb),
    }
    print(
        f"[{source}] floor {best_floor:.2f} s, cold {cold.seconds:.2f} s "
        f"({result['cold_ratio']:.1f}x), warm {warm.seconds:.2f} s ({result['warm_ratio']:.1f}x), "
        f"peak RSS {result['peak_rss_mb']:.0f} MB",
        flush=True,
    )
    return result


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
        f"{memory:.0f} GiB RAM, Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def write_report(results: list[dict[str, object]], path: Path, command: str) -> None:
    rows = "\n".join(
        f"| {r['source']} | {r['landed_mb']:.0f} | {r['floor_s']:.2f} | {r['cold_s']:.2f} "
        f"({r['cold_ratio']:.1f}x) | {r['warm_s']:.2f} ({r['warm_ratio']:.1f}x) "
        f"| {r['peak_rss_mb']:.0f} |"
        for r in results
    )
    measured = "\n".join(
        ["| source | landed MB | floor s | cold run s (× floor) | warm run s (× floor) | peak RSS MB |",
         "| --- | ---: | ---: | ---: | ---: | ---: |", rows]
    )  # fmt: skip
    marker = "<!-- bench:results -->"
    section = (
        f"{marker}\n"
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, on {machine()}.\n\n"
        f"{measured}\n\n"
        f"Targets: at most {TARGET_RATIO:.0f}x the floor, at most {TARGET_RSS_MB} MB peak RSS.\n"
        f"{marker}"
    )
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{marker}\n{marker}\n"
    start, end = text.find(marker), text.rfind(marker)
    if start == -1 or start == end:
        text = text.rstrip() + "\n\n" + section + "\n"
    else:
        text = text[:start] + section + text[end + len(marker) :]
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", help="comma-separated domains (default: every domain)")
    parser.add_argument("--work-dir", default=str(ROOT / "bench-data"))
    parser.add_argument("--report", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    sources = [s.strip() for s in args.sources.split(",")] if args.sources else domains()
    results = [bench_source(source, work_dir) for source in sources if source]
    write_report(results, Path(args.report), "make bench")
    print(f"results written to {args.report}")


if __name__ == "__main__":
    main()
