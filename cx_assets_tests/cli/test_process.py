"""The command's own process: NumPy's BLAS threads, Ctrl-C in code that swallows it (its
garbage collection is tested with the run's failures, `test_failures`)."""

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


# Ctrl-C (the process signalling itself) inside `ctrl_c_kept`, in a process of its own so a
# signal that got through could not end the test session; each case prints how it ended.
_CTRL_C_INSIDE_SWALLOWING_CODE = """
import json, os, signal, sys, time
from cx_assets.cli.process import ctrl_c_kept

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # delivered here, at the latest

def swallowed():
    try:
        ctrl_c()
    except KeyboardInterrupt:
        pass

def swallowed_then_called_bad():
    swallowed()
    raise ValueError("Invalid selection string")

def no_ctrl_c_but_bad():
    raise ValueError("Invalid selection string")

def selection_parsed_with_ctrl_c():
    from dagster._core.definitions.antlr_asset_selection import antlr_asset_selection
    from cx_assets.cli.run_plan import RunPlan

    parser = antlr_asset_selection.AntlrAssetSelectionParser
    parse = parser.__init__
    def parse_after_ctrl_c(self, *args, **kwargs):
        ctrl_c()
        parse(self, *args, **kwargs)
    parser.__init__ = parse_after_ctrl_c
    RunPlan.resolve("group:calls")

def ended(case, kept=True):
    try:
        if kept:
            with ctrl_c_kept():
                case()
        else:
            case()
        outcome = "finished"
    except BaseException as error:
        outcome = f"{type(error).__name__}: {error}".split(chr(10))[0]
    handler = signal.getsignal(signal.SIGINT)
    return [outcome, handler is signal.default_int_handler, handler == signal.SIG_IGN]

report = {name: ended(case) for name, case in [
    ("swallowed", swallowed),
    ("swallowed_then_called_bad", swallowed_then_called_bad),
    ("no_ctrl_c_but_bad", no_ctrl_c_but_bad),
]}
report["selection"] = ended(selection_parsed_with_ctrl_c, kept=False)
signal.signal(signal.SIGINT, signal.SIG_IGN)
report["ignored"] = ended(swallowed_then_called_bad)
print(json.dumps(report))
"""


def test_ctrl_c_inside_code_that_swallows_it_still_ends_as_ctrl_c(tmp_path):
    """Dagster's selection parser catches everything, Ctrl-C too, and then calls the string
    invalid: the command would end as for a user's mistake. `ctrl_c_kept` raises the
    Ctrl-C once its block ends, however it ended, and changes nothing else."""
    finished = subprocess.run(
        [sys.executable, "-c", _CTRL_C_INSIDE_SWALLOWING_CODE],
        env={**os.environ, "CX_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    # [how the block ended, Python's Ctrl-C handler back in place, SIGINT ignored]
    assert report == {
        "swallowed": ["KeyboardInterrupt: ", True, False],
        "swallowed_then_called_bad": ["KeyboardInterrupt: ", True, False],
        "no_ctrl_c_but_bad": ["ValueError: Invalid selection string", True, False],
        # the run's plan keeps it around Dagster's parser
        "selection": ["KeyboardInterrupt: ", True, False],
        # a background job's ignored SIGINT stays ignored: nothing arrives, nothing raised
        "ignored": ["ValueError: Invalid selection string", False, True],
    }
