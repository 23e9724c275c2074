"""The order the threaded executor starts ready steps in: the longest path of work first,
after a step's priority tag, timed on the job's last finished runs, and Dagster's own order
when the job was never timed or its timings cannot be read.

The jobs, their assets and the state they record are in `executor_jobs`.
"""

from __future__ import annotations

import pytest
from dagster import Definitions, asset, define_asset_job
from dagster._core.execution.api import create_execution_plan

from cx_assets.lakehouse import executor as executor_module
from cx_assets.lakehouse.executor import earlier_step_seconds, longest_path_first
from cx_assets_tests.lakehouse.executor_jobs import (
    Shared,
    downstream,
    fresh_shared,
    job_of,
    run,
    temporary_instance,
    upstream,
)

shared = pytest.fixture(fresh_shared, name="shared", autouse=True)
instance = pytest.fixture(temporary_instance, name="instance")


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
    paths = run(instance, "paths")
    assert paths.success
    seconds = earlier_step_seconds(instance, "paths", ["a_short", "c_after_b", "never_ran"])
    assert set(seconds) == {"a_short", "c_after_b"}  # a step never run is not timed
    # Each step is timed as the run recorded it, start to end. Not `c_after_b > a_short`:
    # on a loaded machine a step's own bookkeeping took a_short's 0.02 s of work 0.58 s.
    recorded = {
        stats.step_key: stats.end_time - stats.start_time
        for stats in instance.get_run_step_stats(paths.run_id)
    }
    assert seconds == {key: recorded[key] for key in ("a_short", "c_after_b")}
    assert seconds["c_after_b"] >= 0.3  # c_after_b's step holds its 0.3 s of work
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
        ).resolve_job_def("tagged")
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
