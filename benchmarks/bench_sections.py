"""The generated sections of docs/benchmarks.md, from the measurements of one `make bench`
(pure formatting: nothing here measures)."""

from __future__ import annotations

from dataclasses import dataclass

from bench_events import CommandSplit, split_rows
from bench_report import (
    CRM_DAY_RATIO,
    CRM_DAY_RSS_MB,
    CRM_SCALE2_RSS_MB,
    LANDING_TO_GOLD_MEDIAN_S,
    RANGE_DATA_RATIO,
    RANGE_RSS_MB,
    SMALL_ABOVE_FLOOR_S,
    SMALL_SOURCES,
    SUPPORT_DAY_RATIO,
    markdown_table,
    megabytes,
    ratio,
    seconds,
    verdict,
)
from bench_run import Measurement


@dataclass
class DayResult:
    """One day of a source at a scale: floor, cold run, warm run, and the warm run's split."""

    source: str
    scale: float
    landed_mb: float
    floor_s: float
    cold: Measurement
    warm: Measurement
    warm_split: CommandSplit
    # The same source's warm run on a data root where nothing landed (sources part only).
    empty: Measurement | None = None
    # The largest of every run of the day (cold and all the warm ones); the cold and the
    # reported warm run's when not given.
    peak_rss_mb: float = 0.0

    def __post_init__(self) -> None:
        self.peak_rss_mb = max(self.peak_rss_mb, self.cold.peak_rss_mb, self.warm.peak_rss_mb)

    @property
    def warm_ratio(self) -> float:
        return self.warm.seconds / self.floor_s

    @property
    def above_floor_s(self) -> float:
        return self.warm.seconds - self.floor_s


@dataclass
class RangeResult:
    scale: float
    days: int
    floor_s: float
    days_runs: list[Measurement]
    days_data_s: float
    range_run: Measurement
    range_data_s: float


SOURCES_HEADER = [
    "source", "landed MB", "floor s", "cold run s (× floor)", "warm run s (× floor)",
    "warm above floor s", "nothing landed s", "warm − nothing landed s (× floor)", "peak RSS MB",
]  # fmt: skip


def source_row(r: DayResult) -> list[str]:
    empty = r.empty.seconds if r.empty else None
    return [
        r.source,
        f"{r.landed_mb:.0f}",
        f"{r.floor_s:.2f}",
        f"{r.cold.seconds:.2f} ({r.cold.seconds / r.floor_s:.1f}x)",
        f"{r.warm.seconds:.2f} ({r.warm_ratio:.1f}x)",
        f"{r.above_floor_s:.1f}",
        "" if empty is None else f"{empty:.2f}",
        ""
        if empty is None
        else f"{r.warm.seconds - empty:.2f} ({(r.warm.seconds - empty) / r.floor_s:.1f}x)",
        f"{r.peak_rss_mb:.0f}",
    ]


def parse_source_row(line: str) -> dict[str, float] | None:
    """The numbers of a row of the sources table, to judge a row kept from an earlier run."""
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    if len(cells) != len(SOURCES_HEADER):
        return None
    try:
        return {
            "floor_s": float(cells[2]),
            "warm_s": float(cells[4].split()[0]),
            "above_floor_s": float(cells[5]),
            "empty_s": float(cells[6]) if cells[6] else None,
            "peak_rss_mb": float(cells[8]),
        }
    except ValueError:
        return None


def out_of_reach(budget_s: float, values: dict, bare_s: float | None) -> str:
    """What a time target leaves for the whole command, against the least a command costs:
    a bare Dagster run, and this source's run on a day where nothing landed."""
    notes = []
    if bare_s is not None and budget_s < bare_s:
        notes.append(f"a bare Dagster run takes {bare_s:.2f} s")
    if values.get("empty_s") is not None and budget_s < values["empty_s"]:
        notes.append(f"with nothing landed the run takes {values['empty_s']:.2f} s")
    if not notes:
        return ""
    return f"; the target leaves {budget_s:.2f} s for the command, and {' and '.join(notes)}"


def source_verdicts(rows: dict[str, str], scale: float, bare_s: float | None = None) -> list[str]:
    at = "" if scale == 1 else f" (measured at scale {scale:g}, the target is at scale 1)"
    verdicts = []
    crm = parse_source_row(rows["crm"]) if "crm" in rows else None
    if crm:
        verdicts.append(
            verdict(f"CRM day, warm run × floor{at}", crm["warm_s"] / crm["floor_s"],
                    CRM_DAY_RATIO, ratio)
            + out_of_reach(CRM_DAY_RATIO * crm["floor_s"], crm, bare_s)
        )  # fmt: skip
        verdicts.append(
            verdict(f"CRM day, peak RSS{at}", crm["peak_rss_mb"], CRM_DAY_RSS_MB, megabytes)
        )
    for source in SMALL_SOURCES:
        values = parse_source_row(rows[source]) if source in rows else None
        if values:
            verdicts.append(
                verdict(f"{source} day, warm run above its floor{at}", values["above_floor_s"],
                        SMALL_ABOVE_FLOOR_S, seconds)
                + out_of_reach(values["floor_s"] + SMALL_ABOVE_FLOOR_S, values, bare_s)
            )  # fmt: skip
    support = parse_source_row(rows["support"]) if "support" in rows else None
    if support:
        verdicts.append(
            verdict(f"support day, warm run × floor{at}", support["warm_s"] / support["floor_s"],
                    SUPPORT_DAY_RATIO, ratio)
            + out_of_reach(SUPPORT_DAY_RATIO * support["floor_s"], support, bare_s)
        )  # fmt: skip
    return verdicts


def sources_section(
    last_run: str,
    results: list[DayResult],
    earlier: dict[str, str],
    order: list[str],
    bare_s: float | None = None,
) -> str:
    """`earlier`: rows of sources not measured this time, kept as they were. `bare_s`: the
    bare Dagster run of this session (`bench_run.bare_dagster`)."""
    rows = dict(earlier)
    for r in results:
        rows[r.source] = "| " + " | ".join(source_row(r)) + " |"
    scale = results[0].scale if results else 1.0
    kept = sorted(set(earlier) - {r.source for r in results})
    note = f" Rows of {', '.join(kept)} are from an earlier run." if kept else ""
    table = markdown_table(SOURCES_HEADER, "lrrrrrrrr", [])
    lines = [table, *(rows[s] for s in order if s in rows)]
    bare = (
        f"A bare Dagster run took {bare_s:.2f} s in this session: a process that imports "
        "Dagster, opens a persistent instance and materializes one partition of one asset "
        "that does nothing (`benchmarks/bare_dagster.py`), the least any command built on "
        "Dagster costs. "
        if bare_s is not None
        else ""
    )
    return "\n".join(
        [
            last_run + note,
            "",
            f"One day per source at scale {scale:g}. Warm run: the same day again, as a "
            "re-delivery, the best of three (the floor is the best of five: before and "
            "after the cold run, and after each warm run). Nothing landed: the same command, warm, on a data root without "
            "landing files, so every step and check runs on zero rows (the best of three); "
            "the warm run minus it is what the day's data costs. Peak RSS: the largest of "
            "the day's runs.",
            "",
            bare + "A target that leaves the command less than these fixed costs says so in "
            "its verdict.",
            "",
            *lines,
            "",
            *source_verdicts(rows, scale, bare_s),
        ]
    )


def earlier_source_rows(section_body: str, order: list[str]) -> dict[str, str]:
    rows = {}
    for line in section_body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in order and parse_source_row(line):
            rows[cells[0]] = line
    return rows


def curve_section(last_run: str, curve: list[DayResult]) -> str:
    rows = [
        [
            f"{r.scale:g}",
            f"{r.landed_mb:.0f}",
            f"{r.floor_s:.2f}",
            f"{r.cold.seconds:.2f} ({r.cold.seconds / r.floor_s:.1f}x)",
            f"{r.warm.seconds:.2f} ({r.warm_ratio:.1f}x)",
            f"{r.warm_split.data_seconds:.2f}",
            f"{r.peak_rss_mb:.0f}",
        ]
        for r in sorted(curve, key=lambda r: r.scale)
    ]
    header = ["scale", "landed MB", "floor s", "cold run s (× floor)", "warm run s (× floor)",
              "warm data time s", "peak RSS MB"]  # fmt: skip
    lines = [
        last_run,
        "",
        "`cx-lakehouse run --date D --select group:crm` on one CRM day at each scale. Data "
        "time: the steps of the date-grained run (see the range comparison).",
        "",
        markdown_table(header, "rrrrrrr", rows),
        "",
    ]
    by_scale = {r.scale: r for r in curve}
    if 2 in by_scale:
        lines.append(
            verdict("CRM day at scale 2, peak RSS", by_scale[2].peak_rss_mb, CRM_SCALE2_RSS_MB,
                    megabytes)
        )  # fmt: skip
    else:
        lines.append("Scale 2 not measured in this run: no verdict on its memory.")
    return "\n".join(lines)


def split_section(last_run: str, r: DayResult) -> str:
    split = r.warm_split
    rows = [
        [what.replace("  ", "&nbsp;&nbsp;", 1) if what.startswith("  ") else what,
         f"{value:.2f}", f"{value / split.wall:.0%}"]
        for what, value in split_rows(split)
    ]  # fmt: skip
    accounted = sum(value for _, value in split_rows(split))
    return "\n".join(
        [
            last_run,
            "",
            f"The warm run of the CRM day at scale {r.scale:g} ({r.warm.seconds:.2f} s), from "
            "its runs' own events in the data root's Dagster instance (asset and check steps "
            "told apart by whether they materialize). Step rows are STEP_START → STEP_SUCCESS; "
            "steps execute two at a time, so the time they overlapped is taken off once.",
            "",
            markdown_table(["where the time goes", "seconds", "share"], "lrr", rows),
            f"| **whole command** | **{split.wall:.2f}** | accounted {accounted / split.wall:.0%} |",
        ]
    )


def range_section(last_run: str, r: RangeResult) -> str:
    days_wall = sum(m.seconds for m in r.days_runs)
    days_peak = max(m.peak_rss_mb for m in r.days_runs)
    rows = [
        ["whole commands, s", f"{days_wall:.1f}", f"{r.range_run.seconds:.1f}"],
        ["data time, s", f"{r.days_data_s:.1f}", f"{r.range_data_s:.1f}"],
        ["peak RSS MB", f"{days_peak:.0f}", f"{r.range_run.peak_rss_mb:.0f}"],
    ]
    at = "" if r.scale == 1 and r.days == 14 else " (a smaller run than the target's)"
    return "\n".join(
        [
            last_run,
            "",
            f"{r.days} CRM days at scale {r.scale:g} ({r.floor_s:.1f} s of floor for all of "
            f"them): `cx-lakehouse run --date D1 --to D{r.days} --select group:crm` (one run) "
            f"on a new data root, against {r.days} one-day runs in date order on another.",
            "",
            "Data time: the sum of every step's STEP_START → STEP_SUCCESS (asset and check "
            "steps) in the date-grained runs, from the Dagster event log, plus the time the "
            "largest table's early read spent before its bronze step began (`early_bronze`: "
            "the step then waits only for the rest). It is what grows with "
            "the data; it leaves out process start-up, run set-up, the gaps between steps and "
            "the rollup runs, which a range pays once and one-day runs pay once a day, so "
            "comparing whole commands would favour the range without saying whether its data "
            "work stays linear. The same definition on both sides; it holds if checks move into "
            "their asset's step.",
            "",
            markdown_table(["", f"{r.days} one-day runs", "one range run"], "lrr", rows),
            "",
            verdict(f"range run, peak RSS{at}", r.range_run.peak_rss_mb, RANGE_RSS_MB, megabytes),
            verdict(f"range data time ÷ one-day runs' data time{at}",
                    r.range_data_s / r.days_data_s, RANGE_DATA_RATIO, ratio),
        ]
    )  # fmt: skip


def latency_section(last_run: str, result) -> str:
    rows = [
        [str(d.day), f"{d.tick_wait:.1f}", f"{d.queue:.1f}", f"{d.launch:.1f}", f"{d.run:.1f}",
         f"{d.total:.1f}"]
        for d in result.days
    ]  # fmt: skip
    rows.append(
        ["**median**", *(f"{result.median_of(part):.1f}" for part in
                         ("tick_wait", "queue", "launch", "run")), f"**{result.median:.1f}**"]
    )  # fmt: skip
    stray = (
        "No process was left behind."
        if result.stray_processes == 0
        else f"{result.stray_processes} processes of the daemon's tree had to be killed."
    )
    return "\n".join(
        [
            last_run,
            "",
            f"A day of {result.source} at scale {result.scale:g} landed {len(result.days)} "
            "times (a different day each time) on a data root prepared as `make ui` prepares "
            "it, with `dagster-daemon run -m cx_assets.definitions` running (sensors, run "
            f"queue, automation). Landing sensor every {result.sensor_interval} s, rollup "
            f"automation every {result.rollup_interval} s (both read from the definitions). "
            "From the last file of the day renamed into place to the last of the day's gold "
            "materializations, by the events' own timestamps. A warm-up day is not counted; "
            "each day lands once the previous day's runs (and rollups) are done. " + stray,
            "",
            markdown_table(
                ["day", "wait for the sensor tick s", "run queue s", "run process start s",
                 "run to gold s", "landing → gold s"],
                "lrrrrr",
                rows,
            ),
            "",
            verdict("landing → gold with the daemon running, median", result.median,
                    LANDING_TO_GOLD_MEDIAN_S, seconds),
        ]
    )  # fmt: skip
