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

With `support` among the sources, a support-models section follows (`bench_support_models`):
60 days of scale-1 support history are generated and run once (not measured), then the
three models are timed as their assets run them, reading their inputs from the warehouse:
categorization (train, evaluate, predict the uncategorized tickets), the volume forecast
(backtest, fit, forecast) and the assignment plan; plus 3,000 open tickets × 150 agents
assigned optimally.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = date(2024, 1, 3)
TARGET_RATIO = 4.0
TARGET_RSS_MB = 1536
MODEL_DAYS = 60
MODEL_START = date(2024, 1, 1)
TARGET_MODELS_S = 30.0
TARGET_ASSIGNMENT_S = 2.0

# How DuckDB reads a landed table's files for the floor, by file type.
FLOOR_READERS = {
    ".jsonl": "read_json('{folder}/*.jsonl', format='newline_delimited', union_by_name=true)",
    ".json": "read_json('{folder}/*.json', format='auto', union_by_name=true)",
    ".csv": "read_csv('{folder}/*.csv', union_by_name=true, header=true)",
}


def domains() -> list[str]:
    """The domains the lakehouse defines (a domain is a source), never a hand-kept list."""
    import warnings

    warnings.filterwarnings("ignore")  # Dagster's beta and preview notices, on import
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


def _time(work):
    began = time.perf_counter()
    value = work()
    return value, time.perf_counter() - began


def bench_support_models(work_dir: Path) -> dict[str, object]:
    """Support's three models on 60 days of scale-1 history, as their assets run them."""
    import warnings

    import numpy as np
    import pandas as pd

    from cx_assets.support import model_inputs, rules
    from cx_assets.support.models.assign import plan_assignments
    from cx_assets.support.models.categorize import (
        ClassifierSettings,
        predict_categories,
        train_classifier,
    )
    from cx_assets.support.models.forecast import fit_forecaster, forecast_table, series_frame

    warnings.filterwarnings("ignore")
    data_dir = work_dir / "support-models"
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    env.pop("DAGSTER_HOME", None)
    cli = str(BIN / "cx-lakehouse")
    last = MODEL_START + timedelta(days=MODEL_DAYS - 1)
    print(f"[support models] {MODEL_DAYS} days at scale 1: generating and running ...", flush=True)
    run_measured(
        [cli, "generate", "--start", MODEL_START.isoformat(), "--days", str(MODEL_DAYS),
         "--sources", "support", "--quiet"],
        env,
    )  # fmt: skip
    history_run = run_measured(
        [cli, "run", "--date", MODEL_START.isoformat(), "--to", last.isoformat(),
         "--select", "group:support"],
        env,
    )  # fmt: skip
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET threads = 2")
    tickets, deliveries = "silver.support_tickets", "silver.support_deliveries"
    categories, agents = "gold.support_ticket_categories", "silver.support_agents"
    settings = ClassifierSettings()
    try:
        as_of_day = con.execute(f"SELECT {rules.as_of_day_sql(deliveries)}").fetchall()[0][0]

        def categorize():
            rows = con.execute(
                model_inputs.categorized_tickets_sql(
                    tickets, rules.as_of_sql(deliveries), settings.max_training_rows
                )
            ).df()
            classifier = train_classifier(rows, rules.CATEGORY_KEYWORDS, as_of_day, settings)
            texts = con.execute(model_inputs.uncategorized_tickets_sql(tickets)).df()["text"]
            return classifier, predict_categories(classifier, texts.tolist())

        def forecast():
            first, last_day = con.execute(
                f"SELECT min(date), max(date) FROM {deliveries}"
            ).fetchall()[0]
            daily = con.execute(
                model_inputs.daily_created_sql(tickets, categories, deliveries)
            ).df()
            forecaster = fit_forecaster(series_frame(daily, first, last_day), last_day)
            return forecaster, forecast_table(forecaster)

        def assign():
            waiting = con.execute(
                model_inputs.unassigned_open_tickets_sql(tickets, categories)
            ).df()
            crew = con.execute(model_inputs.agent_capacity_sql(agents, tickets)).df()
            return plan_assignments(waiting, crew)

        (classifier, predicted), categorize_s = _time(categorize)
        (forecaster, _), forecast_s = _time(forecast)
        plan, assign_s = _time(assign)
        history = con.execute(f"SELECT count(*) FROM {tickets}").fetchall()[0][0]
    finally:
        con.close()

    rng = np.random.default_rng(7)
    skills = ["billing", "technical", "account", "shipping", "returns", "general"]
    open_tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{n:05d}" for n in range(3_000)],
            "priority": rng.choice(
                ["urgent", "high", "medium", "low"], 3_000, p=[0.06, 0.2, 0.44, 0.3]
            ),
            "category": rng.choice(skills, 3_000),
            "sla_deadline": pd.Timestamp("2024-03-01", tz="UTC")
            + pd.to_timedelta(rng.integers(-600, 4_000, 3_000), unit="min"),
        }
    )
    capacity = rng.integers(25, 71, 150)
    crew = pd.DataFrame(
        {
            "agent_id": [f"A{n:03d}" for n in range(150)],
            "skills": [
                ";".join(rng.choice(skills, rng.integers(1, 4), replace=False)) for _ in range(150)
            ],
            "max_open_tickets": capacity,
            "open_tickets": (capacity * rng.uniform(0.5, 1.05, 150)).astype(int),
        }
    )
    large, large_s = _time(lambda: plan_assignments(open_tickets, crew))
    result = {
        "history_tickets": int(history),
        "history_run_s": history_run.seconds,
        "categorize_s": categorize_s,
        "forecast_s": forecast_s,
        "assign_s": assign_s,
        "models_s": categorize_s + forecast_s + assign_s,
        "training_rows": classifier.metrics.get("training_rows"),
        "macro_f1": classifier.metrics.get("model_macro_f1"),
        "keyword_macro_f1": classifier.metrics.get("keyword_macro_f1"),
        "predicted": len(predicted),
        "windows": forecaster.windows,
        "plan_tickets": plan.report["tickets"],
        "large_s": large_s,
        "large_planned": large.report["optimal"]["planned"],
        "large_greedy_planned": large.report["greedy"]["planned"],
    }
    print(
        f"[support models] categorize {categorize_s:.1f} s, forecast {forecast_s:.1f} s, "
        f"assign {assign_s:.2f} s (together {result['models_s']:.1f} s); "
        f"3,000 x 150 assignment {large_s:.2f} s",
        flush=True,
    )
    return result


def support_models_section(r: dict[str, object]) -> str:
    return "\n".join(
        [
            f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"`python benchmarks/bench.py --sources support`, on {machine()}.",
            "",
            f"History: {MODEL_DAYS} days at scale 1 ({r['history_tickets']:,} tickets), "
            f"materialized once by `cx-lakehouse run` in {r['history_run_s']:.0f} s (not part "
            "of the model times).",
            "",
            "| model | what is timed | seconds |",
            "| --- | --- | ---: |",
            f"| categorization | read {r['training_rows']:,} training rows, train and evaluate "
            f"(holdout macro-F1 {r['macro_f1']:.3f}, keyword baseline "
            f"{r['keyword_macro_f1']:.3f}), predict {r['predicted']:,} uncategorized tickets "
            f"| {r['categorize_s']:.1f} |",
            f"| volume forecast | daily series, backtest ({r['windows']} windows × 4 models), "
            f"fit, 14-day forecast | {r['forecast_s']:.1f} |",
            f"| assignment plan | {r['plan_tickets']:,} open unassigned tickets of the last "
            f"day | {r['assign_s']:.2f} |",
            f"| **the three together** | target under {TARGET_MODELS_S:.0f} s "
            f"| **{r['models_s']:.1f}** |",
            f"| assignment, 3,000 open tickets × 150 agents | optimal plan "
            f"({r['large_planned']:,} planned; greedy {r['large_greedy_planned']:,}); "
            f"target under {TARGET_ASSIGNMENT_S:.0f} s | **{r['large_s']:.2f}** |",
        ]
    )


def write_section(path: Path, marker: str, body: str, title: str) -> None:
    """Replace the text between two `marker`s in `path` (appended under `title` if absent)."""
    section = f"{marker}\n{body}\n{marker}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = text.find(marker), text.rfind(marker)
    if start == -1 or start == end:
        text = text.rstrip() + f"\n\n{title}\n\n{section}\n"
    else:
        text = text[:start] + section + text[end + len(marker) :]
    path.write_text(text)


def _earlier_rows(path: Path, measured: set[str]) -> dict[str, str]:
    """Result rows of sources this run did not measure, kept from the report as it is."""
    if not path.exists():
        return {}
    others = set(domains()) - measured
    rows = {}
    for line in path.read_text().splitlines():
        cells = line.split("|")
        if line.startswith("| ") and len(cells) == 8 and cells[1].strip() in others:
            rows[cells[1].strip()] = line
    return rows


def write_report(results: list[dict[str, object]], path: Path, command: str) -> None:
    rows = _earlier_rows(path, {str(r["source"]) for r in results})
    kept = sorted(rows)
    for r in results:
        rows[str(r["source"])] = (
            f"| {r['source']} | {r['landed_mb']:.0f} | {r['floor_s']:.2f} | {r['cold_s']:.2f} "
            f"({r['cold_ratio']:.1f}x) | {r['warm_s']:.2f} ({r['warm_ratio']:.1f}x) "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    ordered = [rows[source] for source in domains() if source in rows]
    measured = "\n".join(
        ["| source | landed MB | floor s | cold run s (× floor) | warm run s (× floor) | peak RSS MB |",
         "| --- | ---: | ---: | ---: | ---: | ---: |", *ordered]
    )  # fmt: skip
    earlier = f" Rows of {', '.join(kept)} are from an earlier run." if kept else ""
    body = (
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, on {machine()}.{earlier}\n\n"
        f"{measured}\n\n"
        f"Targets: at most {TARGET_RATIO:.0f}x the floor, at most {TARGET_RSS_MB} MB peak RSS."
    )
    write_section(path, "<!-- bench:results -->", body, "## Results")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", help="comma-separated domains (default: every domain)")
    parser.add_argument("--work-dir", default=str(ROOT / "bench-data"))
    parser.add_argument("--report", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument(
        "--skip-models", action="store_true", help="skip the support-models section"
    )
    args = parser.parse_args()
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    sources = [s.strip() for s in args.sources.split(",")] if args.sources else domains()
    results = [bench_source(source, work_dir) for source in sources if source]
    command = (
        f"python benchmarks/bench.py --sources {args.sources}" if args.sources else "make bench"
    )
    write_report(results, Path(args.report), command)
    if "support" in sources and not args.skip_models:
        write_section(
            Path(args.report),
            "<!-- bench:support-models -->",
            support_models_section(bench_support_models(work_dir)),
            "## Support models",
        )
    print(f"results written to {args.report}")


if __name__ == "__main__":
    main()
