"""What `make bench` writes: the machine, the targets and their verdicts, and the sections
between markers in docs/benchmarks.md (each rewritten only by the part that measures it, so
a partial run keeps the other sections)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psutil

# The targets of issue 12. MB are MiB, as RSS is reported: 1 GB = 1024 MB.
CRM_DAY_RATIO = 5.0
CRM_DAY_RSS_MB = 1024
CRM_SCALE2_RSS_MB = 1.2 * 1024
RANGE_RSS_MB = 1.5 * 1024
RANGE_DATA_RATIO = 1.15
SMALL_SOURCES = ("calls", "digital")
SMALL_ABOVE_FLOOR_S = 3.0
LANDING_TO_GOLD_MEDIAN_S = 15.0
# Issue 10's target for a support day (warm run × floor).
SUPPORT_DAY_RATIO = 4.0

TARGETS_MARKER = "<!-- bench:targets -->"
# A verdict is one list item of a section, ending in one of these.
VERDICT_LINE = re.compile(r"^- .*\*\*(met|not met)\*\*")


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
        f"{memory:.0f} GiB RAM, Python {platform.python_version()}, "
        f"Dagster {importlib.metadata.version('dagster')}, DuckDB {duckdb.__version__}"
    )


def last_run_line(command: str, note: str = "") -> str:
    return f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, on {machine()}." + (
        f" {note}" if note else ""
    )


def verdict(
    target: str, measured: float, limit: float, shown: Callable[[float], str] = "{:.2f}".format
) -> str:
    """One list item: what was measured against its upper limit, met or not, by how much."""
    if measured <= limit:
        margin = f"{shown(limit - measured)} ({(limit - measured) / limit:.0%}) to spare"
        return f"- {target}: {shown(measured)}, at most {shown(limit)}: **met**, {margin}"
    excess = f"by {shown(measured - limit)} ({(measured - limit) / limit:.0%} over)"
    return f"- {target}: {shown(measured)}, at most {shown(limit)}: **not met** {excess}"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def megabytes(value: float) -> str:
    return f"{value:.0f} MB"


def seconds(value: float) -> str:
    return f"{value:.1f} s"


def markdown_table(header: list[str], aligns: str, rows: list[list[str]]) -> str:
    """`aligns`: one letter per column, l(eft) or r(ight)."""
    rule = ["---" if a == "l" else "---:" for a in aligns]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in [header, rule, *rows])


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


def sections(text: str) -> dict[str, str]:
    """The bodies between `<!-- bench:NAME -->` marker pairs, by NAME, in document order."""
    found = {}
    for match in re.finditer(r"<!-- bench:([\w-]+) -->\n(.*?)\n<!-- bench:\1 -->", text, re.S):
        found[match.group(1)] = match.group(2)
    return found


def collect_verdicts(text: str) -> list[tuple[str, str, str]]:
    """(section, when it was last run, verdict line) for every verdict in the document's
    sections, the targets summary itself left out."""
    collected = []
    for name, body in sections(text).items():
        if f"<!-- bench:{name} -->" == TARGETS_MARKER:
            continue
        when = re.search(r"Last run: (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", body)
        for line in body.splitlines():
            if VERDICT_LINE.match(line):
                collected.append((name, when.group(1) if when else "?", line))
    return collected


def targets_section(text: str) -> str:
    """The verdicts of every section, gathered in one place with when each was measured."""
    verdicts = collect_verdicts(text)
    if not verdicts:
        return "No target measured yet."
    lines = [
        "Gathered from the sections below after each `make bench` (a section's verdicts are "
        "from its own last run, given in brackets).",
        "",
    ]
    lines += [f"{line} [{section}, {when} UTC]" for section, when, line in verdicts]
    return "\n".join(lines)


def rewrite_targets(path: Path) -> None:
    text = path.read_text()
    write_section(path, TARGETS_MARKER, targets_section(text), "## Targets")
