"""The command's own process: NumPy's BLAS threads (its garbage collection is tested with the
run's failures, `test_failures`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# `cx-lakehouse` as its entry point runs it, with `main` replaced by one that imports NumPy
# (as the command does, after start-up) and prints the threads of each OpenBLAS it loaded.
_COMMAND_REPORTING_BLAS_THREADS = """
import json, sys
from cx_assets import cli

def main():
    imported_before = "numpy" in sys.modules
    import numpy, threadpoolctl
    pools = threadpoolctl.threadpool_info()
    print(json.dumps({
        "imported_before": imported_before,
        "openblas": [pool["num_threads"] for pool in pools if pool["internal_api"] == "openblas"],
    }))
    return 0

cli.main = main
cli.run_program()
"""


# OpenBLAS takes at most a thread per core.
@pytest.mark.parametrize(
    "users_value", [None, str(min(2, os.cpu_count() or 1))], ids=["unset", "set by the user"]
)
def test_the_command_loads_numpy_with_one_blas_thread_unless_the_user_chose(users_value):
    """OpenBLAS's idle threads poll for work after NumPy is imported, on the cores start-up
    needs: `cx-lakehouse` has it compute in the calling thread, before NumPy is imported,
    and keeps a value the user set."""
    environment = {
        name: value for name, value in os.environ.items() if name != "OPENBLAS_NUM_THREADS"
    }
    if users_value is not None:
        environment["OPENBLAS_NUM_THREADS"] = users_value
    finished = subprocess.run(
        [sys.executable, "-c", _COMMAND_REPORTING_BLAS_THREADS],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert report["imported_before"] is False  # else the variable would come too late
    assert report["openblas"], "NumPy's OpenBLAS not found"
    assert set(report["openblas"]) == {int(users_value or 1)}
