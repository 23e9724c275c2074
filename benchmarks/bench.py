"""`make bench`: the speed targets of the lakehouse, measured against a floor and recorded
in docs/benchmarks.md with the command and the machine.

Parts (each can be left out with `--skip`):

- sources: one day per source at scale 1, floor, cold run and warm run, the same command with
  nothing landed, and a bare Dagster run (`bench_sections`);
- curve: the CRM day at scales 0.1, 0.5, 1 and 2, and where the scale-1 warm run spends
  its time, from its runs' events (`bench_events`);
- range: fourteen CRM days at scale 1 in one range run against fourteen one-day runs;
- latency: landing to gold with the UI's daemon running (`bench_latency`);
- models: support's models on 60 days of history (`bench_support`).

The floor: DuckDB reads the day's landing files once and writes them once as Parquet, the
least any pipeline over these files must do; the best of its runs before, between and
after the product's. A warm run is the best of three the same way. Ratios are against the
floor of the same session, so they survive a slow machine.
Landing data is generated once into bench-data/landing/ and reused (`bench_run`).

`--quick` runs every part small (about 10 minutes on a loaded 2-core machine) into
bench-data/quick/, report included, leaving docs/benchmarks.md alone: a smoke run of the
whole harness.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date
from operator import attrgetter
from pathlib import Path

from bench_events import read_runs, split_command
from bench_latency import bench_latency
from bench_report import last_run_line, rewrite_targets, sections, write_section
from bench_run import (
    ROOT,
    LandingSets,
    bare_dagster,
    days_from,
    empty_day,
    floor,
    fresh_root,
    run_days,
)
from bench_sections import (
    DayResult,
    RangeResult,
    curve_section,
    earlier_source_rows,
    latency_section,
    range_section,
    sources_section,
    split_section,
)
from bench_support import MODEL_DAYS, bench_support_models, support_models_section

DAY = date(2024, 1, 3)
PARTS = ("sources", "curve", "range", "latency", "models")
# Warm runs of a day (and runs with nothing landed) of which the best is reported.
WARM_RUNS = 3
FULL = {
    "day_scale": 1.0, "scales": [0.1, 0.5, 1.0, 2.0], "range_days": 14, "range_scale": 1.0,
    "latency_source": "calls", "latency_scale": 0.1, "latency_repeats": 5,
    "model_days": MODEL_DAYS, "model_scale": 1.0,
}  # fmt: skip
QUICK = {
    "day_scale": 0.1, "scales": [0.05, 0.1], "range_days": 2, "range_scale": 0.1,
    "latency_source": "calls", "latency_scale": 0.05, "latency_repeats": 2,
    "model_days": 14, "model_scale": 0.2,
}  # fmt: skip


def domains() -> list[str]:
    """The domains the lakehouse defines (a domain is a source), never a hand-kept list."""
    import warnings

    warnings.filterwarnings("ignore")  # Dagster's beta and preview notices, on import
    from cx_assets.definitions import domain_names

    return domain_names()


def measure_day(
    work_dir: Path, landing: LandingSets, source: str, scale: float, *, with_empty: bool = False
) -> DayResult:
    data_dir = fresh_root(work_dir / "runs" / f"{source}-scale{scale:g}")
    landed = landing.link_into(source, scale, [DAY], data_dir)
    select = f"group:{source}"
    floors = [floor(data_dir, source, [DAY])]
    print(f"[{source} {scale:g}] cold run ...", flush=True)
    cold = run_days(data_dir, DAY, DAY, select)
    floors.append(floor(data_dir, source, [DAY]))
    # The best of a few warm runs, each followed by a floor, as the floor is the best of its
    # runs: one run on these shared machines can be a second slower than the next.
    warms = []
    for attempt in range(1, WARM_RUNS + 1):
        print(f"[{source} {scale:g}] warm run {attempt}/{WARM_RUNS} ...", flush=True)
        warms.append(run_days(data_dir, DAY, DAY, select))
        floors.append(floor(data_dir, source, [DAY]))
    warm = min(warms, key=attrgetter("seconds"))
    runs = read_runs(data_dir / "dagster_home", warm.began, warm.ended)
    split = split_command(runs, warm.began, warm.ended)
    empty = None
    if with_empty:
        print(f"[{source} {scale:g}] runs with nothing landed ...", flush=True)
        empty = empty_day(work_dir, source, DAY, repeats=WARM_RUNS)
    result = DayResult(source, scale, landed / 2**20, min(floors), cold, warm, split, empty,
                       peak_rss_mb=max(run.peak_rss_mb for run in [cold, *warms]))  # fmt: skip
    print(
        f"[{source} {scale:g}] floor {result.floor_s:.2f} s, cold {cold.seconds:.2f} s, warm "
        f"{warm.seconds:.2f} s ({result.warm_ratio:.1f}x, {result.above_floor_s:.1f} s above), "
        f"data time {split.data_seconds:.2f} s, peak RSS {result.peak_rss_mb:.0f} MB",
        flush=True,
    )
    return result


def measure_range(work_dir: Path, landing: LandingSets, scale: float, count: int) -> RangeResult:
    days = days_from(DAY, count)
    days_dir = fresh_root(work_dir / "runs" / f"crm-days-scale{scale:g}")
    range_dir = fresh_root(work_dir / "runs" / f"crm-range-scale{scale:g}")
    landing.link_into("crm", scale, days, days_dir)
    landing.link_into("crm", scale, days, range_dir)
    floor_s = floor(range_dir, "crm", days)
    print(f"[range] {count} one-day CRM runs at scale {scale:g} ...", flush=True)
    began = time.time()
    days_runs = [run_days(days_dir, day, day, "group:crm") for day in days]
    days_data = split_command(read_runs(days_dir / "dagster_home", began), began, time.time())
    print(f"[range] one range run over {count} days ...", flush=True)
    range_run = run_days(range_dir, days[0], days[-1], "group:crm")
    range_data = split_command(
        read_runs(range_dir / "dagster_home", range_run.began), range_run.began, range_run.ended
    )
    result = RangeResult(
        scale, count, floor_s, days_runs, days_data.data_seconds, range_run, range_data.data_seconds
    )
    print(
        f"[range] data time: days {result.days_data_s:.1f} s, range {result.range_data_s:.1f} s "
        f"({result.range_data_s / result.days_data_s:.2f}x); peak RSS of the range run "
        f"{range_run.peak_rss_mb:.0f} MB",
        flush=True,
    )
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", help="comma-separated domains for the sources part")
    parser.add_argument("--skip", default="", help=f"comma-separated parts of {','.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="every part, small: a smoke run")
    parser.add_argument("--fresh-data", action="store_true", help="regenerate landing data")
    parser.add_argument("--work-dir", help="default bench-data/ (bench-data/quick/ with --quick)")
    parser.add_argument(
        "--report",
        help="default docs/benchmarks.md (with --quick, a copy); a new file starts as one",
    )
    for name, value in FULL.items():  # every size can be set alone
        kind = str if isinstance(value, str) else float if isinstance(value, float) else int
        if isinstance(value, list):
            parser.add_argument(f"--{name.replace('_', '-')}", type=lambda text: [
                float(part) for part in text.split(",")])  # fmt: skip
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind)
    args = parser.parse_args()
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    unknown = set(filter(None, args.skip.split(","))) - set(PARTS)
    if unknown:
        parser.error(f"--skip: unknown part {', '.join(sorted(unknown))}")
    return args


def prepared_report(report: Path | None, *, work_dir: Path, quick: bool) -> Path:
    """The document the run writes its sections into: `report`, else the project's
    `docs/benchmarks.md` (a copy in `work_dir` with `--quick`). One that does not exist
    yet starts as a copy of the project's, so the rows of sources not measured this time,
    the hand-written reading and the targets summary have something to build on."""
    project = ROOT / "docs" / "benchmarks.md"
    report = report or (work_dir / "benchmarks.md" if quick else project)
    if not report.exists():
        report.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project, report)
    return report


def main() -> None:
    args = parse_args()
    skip = set(filter(None, args.skip.split(",")))
    work_dir = Path(args.work_dir or ROOT / "bench-data" / ("quick" if args.quick else ""))
    work_dir.mkdir(parents=True, exist_ok=True)
    report = prepared_report(
        Path(args.report) if args.report else None, work_dir=work_dir, quick=args.quick
    )
    order = domains()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else order
    arguments = " ".join(sys.argv[1:])
    if os.environ.get("MAKELEVEL"):
        command = f"make bench BENCH_ARGS='{arguments}'" if arguments else "make bench"
    else:
        command = " ".join(["python", "benchmarks/bench.py", *sys.argv[1:]])
    landing = LandingSets(work_dir, DAY, fresh=args.fresh_data)

    # What each (source, scale) needs, so each is generated once, before any measurement.
    needs: dict[tuple[str, float], int] = {}
    if "sources" not in skip:
        for source in sources:
            needs[(source, args.day_scale)] = 1
    if "curve" not in skip:
        for scale in args.scales:
            needs.setdefault(("crm", scale), 1)
    if "range" not in skip:
        needs[("crm", args.range_scale)] = max(needs.get(("crm", args.range_scale), 1),
                                               args.range_days)  # fmt: skip
    if "models" not in skip and "support" in sources:
        key = ("support", args.model_scale)
        needs[key] = max(needs.get(key, 1), args.model_days)
    if "latency" not in skip:
        needs[(args.latency_source, args.latency_scale)] = args.latency_repeats + 1
    for (source, scale), days in needs.items():
        landing.ensure(source, scale, days)

    measured: dict[tuple[str, float], DayResult] = {}
    if "sources" not in skip:
        print("[bare Dagster] ...", flush=True)
        bare_s = bare_dagster(work_dir)
        print(f"[bare Dagster] {bare_s:.2f} s", flush=True)
        for source in sources:
            measured[(source, args.day_scale)] = measure_day(
                work_dir, landing, source, args.day_scale, with_empty=True
            )
        earlier = earlier_source_rows(sections(report.read_text()).get("results", ""), order)
        body = sources_section(
            last_run_line(command),
            [measured[(s, args.day_scale)] for s in sources],
            {s: row for s, row in earlier.items() if s not in sources},
            order,
            bare_s,
        )
        write_section(report, "<!-- bench:results -->", body, "## Results")
    if "curve" not in skip:
        curve = []
        for scale in args.scales:
            if ("crm", scale) not in measured:
                measured[("crm", scale)] = measure_day(work_dir, landing, "crm", scale)
            curve.append(measured[("crm", scale)])
        write_section(report, "<!-- bench:crm-curve -->",
                      curve_section(last_run_line(command), curve), "## CRM scale curve")  # fmt: skip
        split_day = measured.get(("crm", 1.0)) or max(curve, key=lambda r: r.scale)
        write_section(report, "<!-- bench:crm-split -->",
                      split_section(last_run_line(command), split_day),
                      "## Where a CRM day's time goes")  # fmt: skip
    if "range" not in skip:
        result = measure_range(work_dir, landing, args.range_scale, args.range_days)
        write_section(report, "<!-- bench:range -->", range_section(last_run_line(command), result),
                      "## A range against one-day runs")  # fmt: skip
    if "latency" not in skip:
        result = bench_latency(
            work_dir, landing, args.latency_source, args.latency_scale, args.latency_repeats
        )
        write_section(report, "<!-- bench:latency -->",
                      latency_section(last_run_line(command), result),
                      "## Landing to gold with the daemon")  # fmt: skip
    if "models" not in skip and "support" in sources:
        result = bench_support_models(work_dir, landing, args.model_days, args.model_scale)
        write_section(report, "<!-- bench:support-models -->",
                      support_models_section(result, command), "## Support models")  # fmt: skip
    rewrite_targets(report)
    print(f"results written to {report}")


if __name__ == "__main__":
    main()
