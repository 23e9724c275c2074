"""Runs a run's independent steps at the same time, in threads of its one process.

A run's steps are mostly waits on native code that lets go of Python's lock: DuckDB
queries, Parquet and Arrow. Dagster's in-process executor runs them one at a time, so a
run used about 1.1 of a machine's 2 cores (CPU time over wall time, a digital day 1.07, a
CRM day 1.18). Its multiprocess executor would start a process per step (each importing
Dagster, pandas and DuckDB again, ~1.5 s) and could not share the warehouse: DuckDB lets one
process at a time open the file. Dagster has no executor with threads (dagster#4041), so
this one keeps the in-process executor's loop and hands each ready step to a thread of a
small pool:

- a step starts once every step it needs has finished, as Dagster's own plan decides
  (`ActiveExecution`); its events are stored as they happen, from its own thread;
- of the steps ready at once, the one heading the longest path of work still to do starts
  first (`longest_path_first`), timed on the job's earlier runs: a CRM day's bronze
  interactions, which everything after them waits for, no longer start after the small
  tables' steps;
- the run's thread takes each step's events in order, tells the plan about them, and
  passes them on, so the plan, failures and retries work as with Dagster's own;
- a step's failure fails that step, what depends on it never starts, the other steps go on;
- an error of the executor itself (not of a step) lets the steps already running finish,
  then fails the run; nothing new starts;
- an interrupt (Ctrl-C, or Dagster terminating the run) starts nothing new either: a step
  in a thread cannot be stopped midway, so the running ones finish first (a CRM day's
  longest step takes about 4 s), then the run ends as interrupted;
- a record of Python's logging (`get_dagster_logger`) goes to the log of the step whose
  thread wrote it (`_take_records_of_its_thread`). Dagster captures them for a step by adding the
  step's handler to process-wide loggers, and the first handler to take a record keeps it:
  with two steps capturing at once, a bronze step's "ignoring ..." went to the other's log.

What it relies on holds in this codebase: every step opens its own warehouse cursor (temp
tables and registered frames are per cursor), every table has one writer, and DuckDB lets
transactions of one process write different tables at once.

It uses Dagster's internal execution API (`dagster._core`), pinned with Dagster to 1.13
in pyproject.toml; `cx_assets_tests/lakehouse/test_executor.py` and `test_executor_order.py`
run it on purpose-made jobs, and every run of `cx-lakehouse` and the UI goes through it.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import partial

from dagster import DagsterInstance, DagsterRunStatus, Field, RunsFilter, executor
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.context.system import (
    PlanExecutionContext,
    PlanOrchestrationContext,
    StepExecutionContext,
)
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.execute_plan import (
    _trigger_hook,
    create_compute_log_file_key,
    dagster_event_sequence_for_step,
)
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.step import ExecutionStep
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.execution.stats import StepEventStatus
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.log_manager import DagsterLogManager
from dagster._core.storage.tags import PRIORITY_TAG
from dagster._utils.timing import time_execution_scope

# Steps at once: the machines this runs on have two cores, and each DuckDB query already
# uses the warehouse's threads; more steps at once only take turns on Python's lock.
DEFAULT_MAX_CONCURRENT = 2

# The step threads' names begin with this.
STEP_THREAD_PREFIX = "cx-step"
# How often the run's thread, waiting on running steps, looks for an interrupt.
INTERRUPT_POLL_SECONDS = 0.1

_STEP_EVENT, _STEP_DONE, _STEP_BROKE = "event", "done", "broke"

# Earlier runs of a job read for its steps' timings, newest first, until every step is timed.
TIMED_RUNS_READ = 3


def earlier_step_seconds(
    instance: DagsterInstance, job_name: str, step_keys: Collection[str]
) -> dict[str, float]:
    """How long each of `step_keys` took when it last succeeded, in the last
    `TIMED_RUNS_READ` finished runs of the job (steps not found there are left out)."""
    seconds: dict[str, float] = {}
    finished = RunsFilter(
        job_name=job_name, statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE]
    )
    for run in instance.get_runs(filters=finished, limit=TIMED_RUNS_READ):
        untimed = [key for key in step_keys if key not in seconds]
        if not untimed:
            break
        for stats in instance.get_run_step_stats(run.run_id, step_keys=untimed):
            if stats.status == StepEventStatus.SUCCESS and stats.start_time and stats.end_time:
                seconds[stats.step_key] = stats.end_time - stats.start_time
    return seconds


def longest_path_first(
    plan: ExecutionPlan, seconds: Mapping[str, float]
) -> Callable[[ExecutionStep], tuple[int, float]]:
    """The order to start ready steps in: a step's `dagster/priority` tag first (higher
    first, as Dagster orders them), then the longest path of work from the step to the end
    of the run (its own `seconds` and those of the longest chain of steps waiting on it),
    longest first. A step never timed counts 0 s; with no timings at all this is Dagster's
    own order (ties keep the plan's order)."""
    upstream = plan.get_executable_step_deps()
    downstream: dict[str, set[str]] = defaultdict(set)
    for key, needs in upstream.items():
        for need in needs:
            downstream[need].add(key)
    path: dict[str, float] = {}
    for step in reversed(plan.get_steps_to_execute_in_topo_order()):
        after = max((path.get(key, 0.0) for key in downstream[step.key]), default=0.0)
        path[step.key] = seconds.get(step.key, 0.0) + after

    def order(step: ExecutionStep) -> tuple[int, float]:
        try:
            priority = int(step.tags.get(PRIORITY_TAG, 0))
        except ValueError:
            priority = 0
        return -priority, -path.get(step.key, 0.0)

    return order


@contextmanager
def _ctrl_c_held_from_helpers() -> Iterator[None]:
    """SIGINT blocked in this thread while Dagster starts the compute logs' helpers, a
    `tail -F` and a `watch_orphans.py` per stream, which inherit the mask. Ctrl-C in a
    terminal reaches the command's whole process group, and each watcher died in a
    KeyboardInterrupt traceback printed amid the run's summary (seen interrupting `make
    demo`). Held back, it stays pending in them: Dagster ends them with SIGTERM as the run
    ends, as before. A Ctrl-C meanwhile reaches this process once unblocked, or another
    thread of it."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def steps_in_threads(
    job_context: PlanExecutionContext,
    execution_plan: ExecutionPlan,
    max_concurrent: int,
) -> Iterator[DagsterEvent]:
    """Dagster's in-process step loop (`inner_plan_execution_iterator`), with up to
    `max_concurrent` ready steps executing at once, each in a thread."""
    with InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as pools:
        compute_log_manager = job_context.instance.compute_log_manager
        step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
        seconds = _step_timings(job_context, step_keys)
        with (
            execution_plan.start(
                retry_mode=job_context.retry_mode,
                sort_key_fn=longest_path_first(execution_plan, seconds),
                instance_concurrency_context=pools,
                step_dependency_config=job_context.step_dependency_config,
            ) as active,
            ExitStack() as capture_stack,
        ):
            # Logs are captured for the whole process, as the in-process executor does.
            log_key = compute_log_manager.build_log_key_for_run(
                job_context.run_id, create_compute_log_file_key()
            )
            with _ctrl_c_held_from_helpers():
                log_context = capture_stack.enter_context(compute_log_manager.capture_logs(log_key))
            yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
            yield DagsterEvent.engine_event(
                job_context,
                f"Ready steps start longest path first: {len(seconds)} of {len(step_keys)} "
                f"steps timed on the job's earlier runs",
                EngineEventData(),
            )
            with ThreadPoolExecutor(max_concurrent, thread_name_prefix=STEP_THREAD_PREFIX) as pool:
                loop = _StepLoop(job_context, active, pool, max_concurrent)
                try:
                    while loop.going():
                        yield from loop.start_ready_steps()
                        if not loop.running:
                            active.sleep_til_ready()  # e.g. a retry waiting for its delay
                            continue
                        report = loop.next_report()
                        yield from loop.stop_starting_if_interrupted()
                        if report is not None:
                            yield from loop.take(*report)
                except BaseException:
                    # A consumer's error: start nothing more; the pool lets the running
                    # steps finish (their events are stored) before this returns.
                    active.mark_interrupted()
                    raise
            if loop.broken is not None:
                raise loop.broken


class _StepLoop:
    """The state of `steps_in_threads`'s loop: the steps running in the pool's threads,
    the reports they put on one queue, and whether to start more (not after an error of
    the executor itself, or an interrupt)."""

    def __init__(
        self,
        job_context: PlanExecutionContext,
        active: ActiveExecution,
        pool: ThreadPoolExecutor,
        max_concurrent: int,
    ):
        self.job_context = job_context
        self.active = active
        self.pool = pool
        self.max_concurrent = max_concurrent
        self.reports: queue.SimpleQueue[tuple[str, str, object]] = queue.SimpleQueue()
        self.steps_by_thread: dict[int, str] = {}
        # A running step's context, and the events it yielded (for its hooks).
        self.running: dict[str, tuple[StepExecutionContext, list[DagsterEvent]]] = {}
        self.broken: BaseException | None = None
        self.interrupted = False

    def going(self) -> bool:
        """Steps still running, or still to start."""
        starting = not (self.broken or self.interrupted or self.active.is_complete)
        return bool(self.running) or starting

    def start_ready_steps(self) -> Iterator[DagsterEvent]:
        """Hand ready steps to the pool, up to `max_concurrent` running at once."""
        if self.broken or self.interrupted or len(self.running) >= self.max_concurrent:
            return
        ready = self.active.get_steps_to_execute(limit=self.max_concurrent - len(self.running))
        yield from self.active.concurrency_event_iterator(self.job_context)
        for step in ready:
            step_context = self.job_context.for_step(step, self.active.get_known_state())
            self.running[step.key] = (step_context, [])
            self.pool.submit(
                _execute_step,
                step_context,
                reports=self.reports,
                steps_by_thread=self.steps_by_thread,
            )

    def next_report(self) -> tuple[str, str, object] | None:
        """A running step's next report, or None after `INTERRUPT_POLL_SECONDS` without one."""
        try:
            return self.reports.get(timeout=INTERRUPT_POLL_SECONDS)
        except queue.Empty:
            return None

    def stop_starting_if_interrupted(self) -> Iterator[DagsterEvent]:
        """On SIGINT, or Dagster terminating the run: a step in a thread cannot be stopped,
        so the running ones finish and nothing more starts."""
        if self.interrupted or not self.active.check_for_interrupts():
            return
        self.interrupted = True
        self.active.mark_interrupted()
        waiting = sorted(self.running)
        yield DagsterEvent.engine_event(
            self.job_context,
            f"Interrupted: starting no more steps, waiting for {', '.join(waiting)} to finish",
            EngineEventData.interrupted(waiting),
        )

    def take(self, kind: str, key: str, payload: object) -> Iterator[DagsterEvent]:
        """One report of step `key`: an event passed on and told to the plan; the step
        done (what its failure skipped told too, then its hooks); or the executor broken."""
        step_context, step_events = self.running[key]
        if kind == _STEP_EVENT:
            step_events.append(payload)
            yield payload
            self.active.handle_event(payload)
            return
        del self.running[key]
        if kind == _STEP_BROKE:
            self.broken = self.broken or payload
            return
        self.active.verify_complete(self.job_context, key)
        # what a failure skipped, or left without inputs
        for event in self.active.plan_events_iterator(self.job_context):
            step_events.append(event)
            yield event
        yield from _trigger_hook(step_context, step_events)


def _step_timings(job_context: PlanExecutionContext, step_keys: list[str]) -> dict[str, float]:
    """Each step's seconds on the job's earlier runs (`earlier_step_seconds`), or none."""
    try:
        return earlier_step_seconds(
            job_context.instance, job_context.dagster_run.job_name, step_keys
        )
    except Exception as error:  # an order, not a result: the run goes on without it
        job_context.log.warning(f"Steps start in Dagster's order: no timings ({error!r})")
        return {}


def _execute_step(
    step_context: StepExecutionContext,
    *,
    reports: queue.SimpleQueue,
    steps_by_thread: dict[int, str],
) -> None:
    """One step, in a thread of the pool: its events, then that it is done (or the error
    that broke it), each put on `reports` for the run's thread to take in order."""
    key = step_context.step.key
    thread = threading.get_ident()
    steps_by_thread[thread] = key
    _take_records_of_its_thread(step_context.log, key, steps_by_thread)
    try:
        for event in dagster_event_sequence_for_step(step_context):
            reports.put((_STEP_EVENT, key, event))
    except BaseException as error:  # handed to the run's thread, which raises it
        reports.put((_STEP_BROKE, key, error))
    else:
        reports.put((_STEP_DONE, key, None))
    finally:
        steps_by_thread.pop(thread, None)


def _take_records_of_its_thread(
    log: DagsterLogManager, step_key: str, steps_by_thread: Mapping[int, str]
) -> None:
    """Make the step's log handler take the records written by the step's own thread, and
    those of a thread executing no step (a helper thread of the step's code, the run's
    thread), as Dagster would; another step's records are left to that step's handler.
    (`DagsterLogHandler.filter` is Dagster's own and consults no added `logging.Filter`.)"""
    handler = log._dagster_handler  # Dagster 1.13 internal, as the rest of this module
    dagsters_filter = handler.filter

    def its_own(record: logging.LogRecord) -> bool:
        step = steps_by_thread.get(record.thread or 0)
        return (step is None or step == step_key) and dagsters_filter(record)

    handler.filter = its_own  # type: ignore[method-assign]


class ThreadedExecutor(InProcessExecutor):
    """The in-process executor, with `steps_in_threads` as its step loop."""

    def __init__(self, retries: RetryMode, max_concurrent: int):
        super().__init__(retries=retries)
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self.max_concurrent = max_concurrent

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        step_keys = execution_plan.step_keys_to_execute
        process = f"pid: {os.getpid()}, up to {self.max_concurrent} steps at once"
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process ({process})",
            event_specific_data=EngineEventData.in_process(os.getpid(), step_keys),
        )
        with time_execution_scope() as timer:
            yield from ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                # called with `job_context` and `execution_plan`
                iterator=partial(steps_in_threads, max_concurrent=self.max_concurrent),
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                    step_dependency_config=self.step_dependency_config,
                ),
            )
        yield DagsterEvent.engine_event(
            plan_context,
            f"Finished steps in process ({process}) in {timer.millis / 1000:.2f} s",
            event_specific_data=EngineEventData.in_process(os.getpid(), step_keys),
        )


@executor(
    name="threads",
    config_schema={
        "max_concurrent": Field(
            int,
            default_value=DEFAULT_MAX_CONCURRENT,
            description="Steps executing at once, each in a thread of the run's process.",
        ),
        "retries": get_retries_config(),
    },
)
def threaded_executor(init_context) -> ThreadedExecutor:
    """Executes a run's steps in its own process, up to `max_concurrent` at once in threads,
    each as soon as the steps it needs have finished (see `cx_assets.lakehouse.executor`)."""
    config = init_context.executor_config
    return ThreadedExecutor(
        retries=RetryMode.from_config(config["retries"]),
        max_concurrent=config["max_concurrent"],
    )
