"""`make bench`, second part: how fast each page of the command centre renders.

On a data root of 30 days at scale 0.1 (every source; generated and run once into
`bench-data/dashboard/`, reused while its parameters stay the same):

- server: each page's script run in-process with Streamlit's AppTest, first with an empty
  cache (every query runs) and then warm (the cache a second visitor finds), best of 3;
- browser, when Debian's Chromium is installed: `cx-lakehouse dashboard` started as a user
  would, each page opened from the sidebar until Streamlit reports the script done and the
  page drawn, on the server's first visit and on a second one; a screenshot of each page is
  saved as `docs/command_centre_<page>.png` for the README.

Target: every page under 2 s. Results go to docs/benchmarks.md with the command and machine.
`--quick` (as `make bench BENCH_ARGS=--quick` passes it) runs 3 days into
`bench-data/quick/`, report and screenshots there too, leaving docs/ alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from bench_report import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VIEWS = ROOT / "cx_assets" / "command_centre" / "views"
PAGES = {  # view file → sidebar link, page title
    "overview": ("Overview", "CX command centre"),
    "crm": ("CRM friction", "CRM friction"),
    "calls": ("Calls", "Calls"),
    "leakage": ("Digital leakage", "Digital leakage"),
    "support": ("Support", "Support"),
}
TARGET_S = 2.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DONE = """title => {
    const heading = document.querySelector('h1');
    const app = document.querySelector('.stApp');
    return heading && heading.innerText.trim() === title
        && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


def prepare(data_dir: Path, start: str, days: int, scale: float) -> dict[str, float]:
    """Generate and run the data root unless it was built with the same parameters."""
    marker = data_dir / ".bench_dashboard.json"
    wanted = {"start": start, "days": days, "scale": scale}
    if marker.exists() and json.loads(marker.read_text()).get("built") == wanted:
        return json.loads(marker.read_text())["seconds"]
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    env.pop("DAGSTER_HOME", None)
    cli = str(BIN / "cx-lakehouse")
    last = (date.fromisoformat(start) + timedelta(days=days - 1)).isoformat()
    seconds = {}
    for step, command in (
        ("generate", [cli, "generate", "--start", start, "--days", str(days), "--scale",
                      str(scale), "--quiet"]),
        ("run", [cli, "run", "--date", start, "--to", last]),
    ):  # fmt: skip
        print(f"[dashboard] {step}: {' '.join(command[1:])} ...", flush=True)
        began = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        seconds[step] = time.perf_counter() - began
    marker.write_text(json.dumps({"built": wanted, "seconds": seconds}))
    return seconds


def server_timings(data_dir: Path) -> dict[str, tuple[float, float]]:
    """(empty cache, warm cache) seconds per page, best of 3, rendered in-process."""
    import streamlit as st
    from streamlit import logger
    from streamlit.testing.v1 import AppTest

    logger.set_log_level("error")  # AppTest's "no runtime" notices, once per render

    os.environ["CX_DATA_DIR"] = str(data_dir)
    os.environ.pop("DAGSTER_HOME", None)
    AppTest.from_file(str(VIEWS / "overview.py"), default_timeout=120).run()  # imports, once
    timings = {}
    for page in PAGES:
        cold, warm = [], []
        for _ in range(3):
            st.cache_data.clear()
            app = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=120)
            began = time.perf_counter()
            app.run()
            cold.append(time.perf_counter() - began)
            began = time.perf_counter()
            app.run()
            warm.append(time.perf_counter() - began)
            if app.exception:
                raise SystemExit(f"{page}: {app.exception[0].value}")
        timings[page] = (min(cold), min(warm))
        print(f"[dashboard] server {page}: {min(cold):.2f} s cold, {min(warm):.2f} s warm")
    return timings


# Nothing still loading (Streamlit shows a skeleton while a component's JavaScript arrives:
# Vega-Lite's comes with the first page that has a chart) and every visible chart drawn.
DRAWN = """() => document.querySelector('[data-testid="stSkeleton"]') === null
    && [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
        .filter(chart => chart.offsetParent !== null)
        .every(chart => chart.querySelector('canvas, svg') !== null)"""


def shoot(page, path: Path) -> None:
    page.wait_for_timeout(500)  # let the charts' transitions settle
    page.screenshot(path=path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browser_timings(data_dir: Path, shots: Path) -> dict[str, tuple[float, float]]:
    """(first visit, second visit) seconds per page in Chromium, from a click in the sidebar
    to the page drawn; saves a screenshot of each page."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    env.pop("DAGSTER_HOME", None)
    server = subprocess.Popen(
        [str(BIN / "cx-lakehouse"), "dashboard", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.2)
        timings: dict[str, list[float]] = {page: [] for page in PAGES}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            began = time.perf_counter()
            page.goto(url)  # opens on the overview: its first visit loads the app too
            page.wait_for_function(DONE, arg=PAGES["overview"][1], timeout=120_000)
            page.wait_for_function(DRAWN, timeout=120_000)
            timings["overview"].append(time.perf_counter() - began)
            shoot(page, shots / "command_centre_overview.png")
            order = [*list(PAGES)[1:], "overview"]
            for visit in range(2):
                for name in order if visit else order[:-1]:
                    link, title = PAGES[name]
                    began = time.perf_counter()
                    page.get_by_test_id("stSidebarNav").get_by_text(link, exact=True).click()
                    page.wait_for_function(DONE, arg=title, timeout=120_000)
                    page.wait_for_function(DRAWN, timeout=120_000)
                    timings[name].append(time.perf_counter() - began)
                    if visit == 0:
                        shoot(page, shots / f"command_centre_{name}.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, (first, second) in timings.items():
        print(f"[dashboard] browser {name}: {first:.2f} s first visit, {second:.2f} s again")
    return {name: (values[0], values[1]) for name, values in timings.items()}


def report(path, command, prepared, days, scale, server, browser) -> None:
    rows = []
    for page in PAGES:
        cold, warm = server[page]
        first, second = browser.get(page, (None, None))
        cells = [f"{cold:.2f}", f"{warm:.2f}"]
        cells += ["—", "—"] if first is None else [f"{first:.2f}", f"{second:.2f}"]
        worst = max(cold, first or 0.0)
        rows.append(f"| {page} | {' | '.join(cells)} | {'yes' if worst < TARGET_S else 'no'} |")
    built = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in prepared.items())
    body = "\n".join(
        [
            f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `{command}`, "
            f"on {machine()}. Data root: {days} days at scale {scale}, every source "
            f"({built} when it was built).",
            "",
            "| page | server, empty cache s | server, warm s | browser, first visit s "
            "| browser, again s | under 2 s |",
            "| --- | ---: | ---: | ---: | ---: | :---: |",
            *rows,
            "",
            "Server: the page's script in-process (AppTest), best of 3. Browser: Chromium, from "
            "a click in the sidebar to the page drawn, on a fresh server (first visit) and "
            "again. The overview's first visit is opening the app in a fresh browser: "
            "Streamlit's own JavaScript (about 1.2 s here) comes with it. The first page with "
            "a chart also loads Vega-Lite's JavaScript (about 1 s)."
            + ("" if browser else " No Chromium here: browser timings not measured."),
        ]
    )
    write_section(path, "<!-- bench:dashboard -->", body, "## Command centre pages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="default bench-data/dashboard/")
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--days", type=int, help="default 30 (3 with --quick)")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--report", help="default docs/benchmarks.md")
    parser.add_argument("--shots", help="default docs/")
    parser.add_argument(
        "--quick", action="store_true", help="3 days, written under bench-data/quick/"
    )
    args = parser.parse_args()
    # What is not given: the full run's places, or with --quick the smoke run's.
    quick = ROOT / "bench-data" / "quick"
    defaults = (
        {"data": quick / "dashboard", "days": 3, "report": quick / "benchmarks.md", "shots": quick}
        if args.quick
        else {
            "data": ROOT / "bench-data" / "dashboard", "days": 30,
            "report": ROOT / "docs" / "benchmarks.md", "shots": ROOT / "docs",
        }
    )  # fmt: skip
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value if name == "days" else str(value))
    data_dir = Path(args.data).resolve()
    prepared = prepare(data_dir, args.start, args.days, args.scale)
    server = server_timings(data_dir)
    browser = browser_timings(data_dir, Path(args.shots)) if CHROMIUM.exists() else {}
    command = "make bench" if os.environ.get("MAKELEVEL") else " ".join(["python", *sys.argv])
    report(Path(args.report), command, prepared, args.days, args.scale, server, browser)
    print(f"results written to {args.report}")


if __name__ == "__main__":
    main()
