"""The threaded executor on purpose-made jobs: independent steps at the same time, a step
only after the steps it reads, failures and interrupts as Dagster's own executor treats them.

Each job is built by `job_of` below, a module-level function, because Dagster's
`execute_job` (which keeps a job's executor, unlike `execute_in_process`) reconstructs it.
The assets talk to the test through this module's `SHARED` state: the run is in this process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    DagsterEventType,
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
from dagster._core.execution.api import create_execution_plan

from cx_assets.lakehouse import executor as executor_module
from cx_assets.lakehouse.executor import (
    STEP_THREAD_PREFIX,
    ThreadedExecutor,
    earlier_step_seconds,
    longest_path_first,
    threaded_executor,
)


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


@pytest.fixture(autouse=True)
def shared() -> Iterator[Shared]:
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
    ).get_job_def(name)


def run(instance: DagsterInstance, name: str, max_concurrent: int = 2):
    job = build_reconstructable_job(__name__, "job_of", reconstructable_args=(name, max_concurrent))
    return execute_job(job, instance=instance, raise_on_error=False)


@pytest.fixture
def instance(tmp_path) -> Iterator[DagsterInstance]:
    with DagsterInstance.local_temp(
        str(tmp_path), overrides={"telemetry": {"enabled": False}}
    ) as local:
        yield local


def materialized(result) -> set[str]:
    return {
        event.asset_key.to_user_string()
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }


def run_failure(result) -> str:
    """The run's failure message (Dagster names the failed steps, or the error it met)."""
    (failure,) = [
        event for event in result.all_events if event.event_type == DagsterEventType.RUN_FAILURE
    ]
    return failure.message


# --------------------------------------------------------------------------- the tests


def test_independent_steps_run_at_the_same_time_in_step_threads(instance, shared):
    result = run(instance, "meet")
    assert result.success
    assert set(shared.spans) == {"meets_left", "meets_right"}
    assert all(name.startswith(STEP_THREAD_PREFIX) for name in shared.threads.values())
    assert shared.threads["meets_left"] != shared.threads["meets_right"]


def test_a_python_log_record_goes_to_the_step_whose_thread_logged_it(instance, shared):
    """Dagster captures Python's logging (`get_dagster_logger`, as discovery and the readers
    use) for a step by adding the step's handler to process-wide loggers: with two steps in
    threads, each record went to whichever steps were capturing at the time."""
    result = run(instance, "log")
    assert result.success
    steps_by_message = {}
    for entry in instance.all_logs(result.run_id):
        if entry.user_message.startswith("logged by "):
            steps_by_message.setdefault(entry.user_message, []).append(entry.step_key)
    assert steps_by_message == {
        "logged by logs_left": ["logs_left"],
        "logged by logs_right": ["logs_right"],
    }


def test_one_step_at_a_time_when_so_configured(instance, shared):
    """The same two assets cannot meet one at a time: the first waits alone and fails."""
    result = run(instance, "meet", max_concurrent=1)
    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures and all(
        "BrokenBarrierError" in error_classes(event.event_specific_data.error) for event in failures
    )


def error_classes(error) -> list[str]:
    """The class names of an error and of the errors it was raised from."""
    names = []
    while error is not None:
        names.append(error.cls_name)
        error = error.cause
    return names


def test_a_step_starts_once_the_steps_it_reads_have_finished(instance, shared):
    result = run(instance, "chain")
    assert result.success
    assert materialized(result) == {"upstream", "downstream", "beside"}
    upstream_began, upstream_ended = shared.spans["upstream"]
    downstream_began, _ = shared.spans["downstream"]
    assert downstream_began >= upstream_ended
    beside_began, beside_ended = shared.spans["beside"]
    assert beside_began < upstream_ended and upstream_began < beside_ended  # overlapping
    # each step's events in order: start first, success last
    for step in ("upstream", "downstream", "beside"):
        kinds = [event.event_type for event in result.all_events if event.step_key == step]
        assert kinds[0] == DagsterEventType.STEP_START
        assert kinds[-1] == DagsterEventType.STEP_SUCCESS


def test_a_failing_step_stops_what_reads_it_and_the_others_finish(instance, shared):
    result = run(instance, "failure")
    assert not result.success
    assert materialized(result) == {"beside"}
    assert "after_breaks" not in shared.spans
    failed = {event.step_key for event in result.all_events if event.is_step_failure}
    assert failed == {"breaks"}
    # as with Dagster's own executor, a step whose input failed never starts
    assert not [event for event in result.all_events if event.step_key == "after_breaks"]
    # and the run fails as it would there: for the step, not for an error of the executor
    assert run_failure(result).endswith("failed. Steps failed: ['breaks'].")


def test_a_failed_blocking_check_stops_what_reads_its_asset(instance, shared):
    result = run(instance, "blocking_check")
    assert not result.success
    assert materialized(result) == {"checked", "beside"}
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "after_checked" not in shared.spans
    assert not [event for event in result.all_events if event.step_key == "after_checked"]
    assert run_failure(result).endswith("failed. Steps failed: ['checked'].")


def test_a_step_retried_after_a_delay_then_what_reads_it(instance, shared):
    """Nothing is ready while the retry waits for its delay: the run waits, then goes on."""
    result = run(instance, "retry")
    assert result.success
    assert shared.attempts == 2
    assert materialized(result) == {"fails_once", "after_retry"}
    kinds = [event.event_type for event in result.all_events if event.step_key == "fails_once"]
    assert DagsterEventType.STEP_UP_FOR_RETRY in kinds
    assert kinds[-1] == DagsterEventType.STEP_SUCCESS


def test_an_interrupt_starts_nothing_more_and_lets_the_running_step_finish(instance, shared):
    result = run(instance, "interrupt")
    assert not result.success
    assert materialized(result) == {"interrupts"}  # the running step finished
    assert "after_interrupts" not in shared.spans
    said = [
        event.message
        for event in result.all_events
        if event.event_type == DagsterEventType.ENGINE_EVENT and event.message
    ]
    assert any("Interrupted: starting no more steps" in line for line in said)
    assert instance.get_run_by_id(result.run_id).is_failure_or_canceled


def test_an_error_of_the_executor_lets_the_running_steps_finish_then_fails_the_run(
    instance, shared, monkeypatch
):
    """Not a step's failure (Dagster turns those into events) but the machinery's own: the
    other running step finishes and is stored, nothing new starts, the run fails with it."""
    real = executor_module.dagster_event_sequence_for_step

    def breaks_on_upstream(step_context):
        if step_context.step.key == "upstream":
            raise RuntimeError("the executor broke")
        return real(step_context)

    monkeypatch.setattr(executor_module, "dagster_event_sequence_for_step", breaks_on_upstream)
    result = run(instance, "chain")
    assert not result.success
    assert materialized(result) == {"beside"}  # running when it broke: finished, stored
    assert "beside" in shared.spans and "downstream" not in shared.spans
    assert not [event for event in result.all_events if event.step_key == "downstream"]
    (failure,) = [
        event for event in result.all_events if event.event_type == DagsterEventType.RUN_FAILURE
    ]
    assert "the executor broke" in str(failure.event_specific_data.error)


def test_at_least_one_step_at_a_time():
    from dagster._core.execution.retries import RetryMode

    with pytest.raises(ValueError, match="at least 1"):
        ThreadedExecutor(retries=RetryMode.DISABLED, max_concurrent=0)


def started_in_order(shared: Shared) -> list[str]:
    return sorted(shared.spans, key=lambda name: shared.spans[name][0])


def test_ready_steps_start_longest_path_first_once_the_job_has_been_timed(instance, shared):
    """One step at a time, so the order is all there is. Untimed, Dagster's own order
    starts `a_short` first; once a run has timed the steps, `b_heads_a_long_path` (short
    itself, but `c_after_b` waits on it) goes first. A run of another job first: the first
    step a new instance runs pays its one-time costs (0.5 s on a loaded machine), which
    timed `a_short` longer than `b` and `c` together."""
    assert run(instance, "chain", max_concurrent=1).success
    shared.spans.clear()
    first = run(instance, "paths", max_concurrent=1)
    assert first.success
    assert started_in_order(shared) == ["a_short", "b_heads_a_long_path", "c_after_b"]
    said = [event.message or "" for event in first.all_events]
    assert any("0 of 3 steps timed" in line for line in said)

    shared.spans.clear()
    second = run(instance, "paths", max_concurrent=1)
    assert second.success
    assert started_in_order(shared) == ["b_heads_a_long_path", "c_after_b", "a_short"]
    said = [event.message or "" for event in second.all_events]
    assert any("3 of 3 steps timed" in line for line in said)


def test_steps_are_timed_on_the_jobs_last_finished_runs(instance, shared):
    assert earlier_step_seconds(instance, "paths", ["a_short"]) == {}
    assert run(instance, "chain").success  # a new instance's one-time costs, not a_short's
    assert run(instance, "paths").success
    seconds = earlier_step_seconds(instance, "paths", ["a_short", "c_after_b", "never_ran"])
    assert set(seconds) == {"a_short", "c_after_b"}  # a step never run is not timed
    # c_after_b's step holds its 0.3 s of work; a_short's 0.02 s. Not `0.3 > a_short`: on
    # a loaded machine a step's own bookkeeping took a_short's step 0.58 s.
    assert seconds["c_after_b"] >= 0.3
    assert seconds["c_after_b"] > seconds["a_short"]
    assert earlier_step_seconds(instance, "another_job", ["a_short"]) == {}
    # a failed step's time is not taken for how long it takes
    assert not run(instance, "failure").success
    assert earlier_step_seconds(instance, "failure", ["breaks", "beside"]).keys() == {"beside"}


def plan_of(name: str):
    return create_execution_plan(job_of(name, 2))


def test_the_longest_path_counts_the_steps_waiting_on_a_step():
    """upstream (0.1 s) -> downstream (1.0 s) is a longer path than beside (0.5 s)."""
    plan = plan_of("chain")
    order = longest_path_first(plan, {"upstream": 0.1, "downstream": 1.0, "beside": 0.5})
    steps = sorted(plan.get_steps_to_execute_in_topo_order(), key=order)
    assert [step.key for step in steps] == ["upstream", "downstream", "beside"]
    # by a step's own time alone, beside would come before upstream
    order = longest_path_first(plan, {"upstream": 0.1, "downstream": 0.1, "beside": 0.5})
    steps = sorted(plan.get_steps_to_execute_in_topo_order(), key=order)
    assert steps[0].key == "beside"


def test_a_priority_tag_comes_before_the_longest_path():
    @asset(op_tags={"dagster/priority": "5"})
    def urgent() -> int:
        return 1

    plan = create_execution_plan(
        Definitions(
            assets=[urgent, upstream, downstream], jobs=[define_asset_job("tagged")]
        ).get_job_def("tagged")
    )
    order = longest_path_first(plan, {"upstream": 3.0, "downstream": 3.0, "urgent": 0.1})
    steps = sorted(plan.get_steps_to_execute_in_topo_order(), key=order)
    assert [step.key for step in steps] == ["urgent", "upstream", "downstream"]


def test_a_run_whose_timings_cannot_be_read_starts_steps_in_dagsters_order(
    instance, shared, monkeypatch
):
    def unreadable(*args, **kwargs):
        raise OSError("event log unreadable")

    monkeypatch.setattr(executor_module, "earlier_step_seconds", unreadable)
    result = run(instance, "paths", max_concurrent=1)
    assert result.success
    assert started_in_order(shared) == ["a_short", "b_heads_a_long_path", "c_after_b"]
    warnings = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("no timings (OSError('event log unreadable'))" in line for line in warnings)
