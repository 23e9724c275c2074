"""The command centre stays usable while a run writes, and never gets in the run's way: pages
are rendered over and over while `cx-lakehouse run` materializes a small generated data root,
the run exits 0, and the pages then show the new gold (the cache follows the files)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

import cx_assets.command_centre

APP = Path(cx_assets.command_centre.__file__).parent
BIN = Path(sys.executable).parent
DAY = "2024-02-01"
SELECTION = "group:calls or group:digital"  # two domains keep the test short


def test_pages_render_while_a_run_writes_and_the_run_succeeds(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    env = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    env.pop("DAGSTER_HOME", None)
    generated = subprocess.run(
        [str(BIN / "cx-lakehouse"), "generate", "--start", DAY, "--days", "1", "--scale", "0.01",
         "--seed", "3", "--quiet", "--sources", "calls,digital"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr

    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    pages = {
        name: AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=60)
        for name in ("overview", "calls", "leakage")
    }
    run = subprocess.Popen(
        [str(BIN / "cx-lakehouse"), "run", "--date", DAY, "--select", SELECTION],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    renders = 0
    try:
        while run.poll() is None:
            for page in pages.values():
                page.run()
                assert not page.exception, [error.value for error in page.exception]
                renders += 1
            time.sleep(0.5)  # a user's pace; two cores are shared with the run
        output, _ = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, output[-3000:]
    assert output.rstrip().endswith("OK")
    assert renders >= len(pages)

    calls = pages["calls"]
    calls.run()  # the same session: fresh files, so fresh results
    assert not calls.exception
    assert int(calls.metric[0].value.replace(",", "")) > 0
