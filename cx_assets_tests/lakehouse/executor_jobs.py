"""Purpose-made jobs of the threaded executor, for its tests of more than one module
(`test_executor`, `test_executor_order`): the assets, the `job_of` that builds each job and
the `run` that executes it, and the `shared` and `instance` fixtures each module binds
(`shared = pytest.fixture(fresh_shared, name="shared", autouse=True)`). A fixture in this
folder's conftest would be one for every module here.

Each job is built by `job_of` below, a module-level function, because Dagster's
`execute_job` (which keeps a job's executor, unlike `execute_in_process`) reconstructs it
from this module. The assets talk to the tests through this module's `SHARED` state, which
`fresh_shared` replaces for each test: the run is in this process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    RetryPolicy,
    asset,
    build_reconstructable_job,
    define_asset_job,
    execute_job,
    get_dagster_logger,
)

from cx_assets.lakehouse.executor import threaded_executor


class Shared:
    """What the running assets record, and the barrier two of them meet at."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: dict[str, tuple[float, float]] = {}
        self.threads: dict[str, str] = {}
        self.barrier = threading.Barrier(2, timeout=2)
        self.attempts = 0

    def record(self, name: str, began: float) -> None:
        with self.lock:
            self.spans[name] = (began, time.monotonic())
            self.threads[name] = threading.current_thread().name


SHARED = Shared()


def fresh_shared() -> Iterator[Shared]:
    """Each module's autouse `shared` fixture: a new `SHARED`, bound here, where the assets
    read it."""
    global SHARED
    SHARED = Shared()
    yield SHARED


# --------------------------------------------------------------------------- the assets


def meet_the_other(name: str) -> None:
    """Wait at the barrier for the other asset that meets there (two at once, or a timeout)."""
    began = time.monotonic()
    SHARED.barrier.wait()
    SHARED.record(name, began)


def work(name: str, seconds: float) -> None:
    began = time.monotonic()
    time.sleep(seconds)
    SHARED.record(name, began)


@asset
def meets_right() -> int:
    meet_the_other("meets_right")
    return 1


@asset
def meets_left() -> int:
    meet_the_other("meets_left")
    return 1


@asset
def upstream() -> int:
    work("upstream", 0.3)
    return 1


@asset
def downstream(upstream: int) -> int:
    SHARED.record("downstream", time.monotonic())
    return upstream + 1


@asset
def beside() -> int:
    # Long enough to still be running when the other thread's step gets going on a loaded
    # machine (at 0.1 s, it once ended 55 ms before `upstream` began).
    work("beside", 0.5)
    return 1


@asset
def breaks() -> int:
    raise ValueError("made to fail")


@asset
def after_breaks(breaks: int) -> int:
    SHARED.record("after_breaks", time.monotonic())
    return breaks


@asset
def interrupts() -> int:
    began = time.monotonic()
    os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C, or Dagster terminating the run
    time.sleep(0.5)  # the run's thread sees it meanwhile; this step still finishes
    SHARED.record("interrupts", began)
    return 1


@asset
def after_interrupts(interrupts: int) -> int:
    SHARED.record("after_interrupts", time.monotonic())
    return interrupts


@asset(retry_policy=RetryPolicy(max_retries=1, delay=0.2))
def fails_once() -> int:
    with SHARED.lock:
        SHARED.attempts += 1
        first = SHARED.attempts == 1
    if first:
        raise RuntimeError("fails the first time")
    SHARED.record("fails_once", time.monotonic())
    return 1


@asset
def after_retry(fails_once: int) -> int:
    SHARED.record("after_retry", time.monotonic())
    return fails_once


@asset
def a_short() -> int:
    work("a_short", 0.02)
    return 1


@asset
def b_heads_a_long_path() -> int:
    work("b_heads_a_long_path", 0.02)
    return 1


@asset
def c_after_b(b_heads_a_long_path: int) -> int:
    work("c_after_b", 0.3)
    return b_heads_a_long_path


@asset(check_specs=[AssetCheckSpec("never_passes", asset="checked", blocking=True)])
def checked() -> MaterializeResult:
    return MaterializeResult(
        check_results=[AssetCheckResult(check_name="never_passes", passed=False)]
    )


@asset(deps=[checked])
def after_checked() -> None:
    SHARED.record("after_checked", time.monotonic())


def log_beside_the_other(name: str) -> None:
    """Log through Python's logging while the other asset does too: both steps are inside
    their compute at once, each capturing Python's log records."""
    SHARED.barrier.wait()
    get_dagster_logger("cx_assets.tests").warning(f"logged by {name}")
    SHARED.barrier.wait()


@asset
def logs_left() -> int:
    log_beside_the_other("logs_left")
    return 1


@asset
def logs_right() -> int:
    log_beside_the_other("logs_right")
    return 1


JOBS = {
    "meet": [meets_left, meets_right],
    "log": [logs_left, logs_right],
    "chain": [upstream, downstream, beside],
    "failure": [breaks, after_breaks, beside],
    "interrupt": [interrupts, after_interrupts],
    "retry": [fails_once, after_retry],
    "blocking_check": [checked, after_checked, beside],
    "paths": [a_short, b_heads_a_long_path, c_after_b],
}


def job_of(name: str, max_concurrent: int):
    """The job `name` of `JOBS`, executed by the threaded executor."""
    executor = threaded_executor.configured({"max_concurrent": max_concurrent})
    return Definitions(
        assets=JOBS[name], jobs=[define_asset_job(name)], executor=executor
    ).resolve_job_def(name)


def run(instance: DagsterInstance, name: str, max_concurrent: int = 2):
    job = build_reconstructable_job(__name__, "job_of", reconstructable_args=(name, max_concurrent))
    return execute_job(job, instance=instance, raise_on_error=False)


def temporary_instance(tmp_path) -> Iterator[DagsterInstance]:
    """Each module's `instance` fixture: a Dagster instance on disk in the test's folder."""
    with DagsterInstance.local_temp(
        str(tmp_path), overrides={"telemetry": {"enabled": False}}
    ) as local:
        yield local
