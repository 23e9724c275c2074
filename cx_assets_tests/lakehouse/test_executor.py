"""The threaded executor running purpose-made jobs: independent steps at the same time in
step threads, each logging to its own step, a step only after the steps it reads, and
failures, retries, interrupts and errors of the executor as Dagster's own executor treats them.

The jobs, their assets and the state they record are in `executor_jobs`.
"""

from __future__ import annotations

import pytest
from dagster import DagsterEventType

from cx_assets.lakehouse import executor as executor_module
from cx_assets.lakehouse.executor import STEP_THREAD_PREFIX, ThreadedExecutor
from cx_assets_tests.lakehouse.executor_jobs import fresh_shared, run, temporary_instance

shared = pytest.fixture(fresh_shared, name="shared", autouse=True)
instance = pytest.fixture(temporary_instance, name="instance")


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
