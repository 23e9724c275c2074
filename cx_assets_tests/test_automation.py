"""What the daemon runs by itself: the landing sensors, the rollups' automation and the
schedule are on by default, the runs it starts are retried, and declarative automation
rebuilds the whole-history rollups once after each change upstream, however the runs of
the upstream days and of the rollups interleave with its ticks.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    evaluate_automation_conditions,
    materialize,
)

from cx_assets import definitions
from cx_assets.cli import prepare_dagster_home
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets_tests.conftest import QUIET, Domain


@pytest.fixture(scope="module")
def daemon_home(tmp_path_factory) -> Path:
    """A data root's DAGSTER_HOME as `cx-lakehouse` prepares it for the daemon, made once for
    the tests that open it (making its storage takes some 3 s)."""
    before = os.environ.pop("DAGSTER_HOME", None)
    try:
        return prepare_dagster_home(tmp_path_factory.mktemp("daemon"))
    finally:  # prepare_dagster_home sets it for the process
        os.environ.pop("DAGSTER_HOME", None)
        if before is not None:
            os.environ["DAGSTER_HOME"] = before


def test_sensors_schedule_and_jobs_run_by_default():
    sensors = {s.name: s for s in definitions.defs.sensors}
    for domain in definitions.domain_names():
        sensor = sensors[f"{domain}_landing_sensor"]
        assert sensor.default_status == DefaultSensorStatus.RUNNING
        assert sensor.job_name == f"{domain}_daily"
        # A landed day is seen within seconds (mutation testing: a 30 s interval, no test
        # failed; the daemon evaluates a sensor at most every 5 s anyway).
        assert sensor.minimum_interval_seconds == 5
    assert sensors["rollups_automation"].default_status == DefaultSensorStatus.RUNNING
    (schedule,) = definitions.defs.get_repository_def().schedule_defs
    assert schedule.job_name == "daily_partitions"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    # At 02:00 UTC, as docs/architecture.md says, whatever the machine's zone (mutation
    # testing: another zone, no test failed).
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
    job = definitions.defs.resolve_job_def("daily_partitions")
    assert job.partitions_def == daily_partitions


def test_runs_the_daemon_starts_by_itself_are_retried_and_cli_runs_are_not(tmp_path, daemon_home):
    """The schedule's and the automation's runs ask for retries (the landing sensors' are
    tested with the sensor); our dagster.yaml turns the daemon's retries on, with no retries
    for runs that do not ask."""
    from dagster import DagsterInstance, build_schedule_context
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    from cx_assets.lakehouse.resources import Lake as LakeResource

    automation = next(s for s in definitions.defs.sensors if s.name == "rollups_automation")
    assert automation.run_tags["dagster/max_retries"] == "2"
    (schedule,) = definitions.defs.get_repository_def().schedule_defs
    at = datetime(2024, 3, 5, 2, tzinfo=UTC)
    lake = {"lake": LakeResource(data_dir=str(tmp_path))}
    (request,) = schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=at, resources=lake)
    ).run_requests
    assert request.tags["dagster/max_retries"] == "2"
    with DagsterInstance.from_config(str(daemon_home)) as instance:
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 0
        # the landing sensors' skipped ticks (every 5 s) are kept a day, those that started
        # runs for good
        kept = instance.get_tick_retention_settings(InstigatorType.SENSOR)
        assert kept[TickStatus.SKIPPED] == 1 and kept[TickStatus.SUCCESS] == -1


def test_a_sensor_failing_tick_after_tick_is_not_kept_for_ever(daemon_home):
    """A sensor that fails for a cause that lasts fails again on every tick, every 5 s,
    each failed tick some 3 kB with its error: kept for good, as Dagster keeps
    them, a failure through a fortnight nobody watched was some 750 MB of ticks for ever.
    Failed ticks are kept a week; those that started runs, for good."""
    from dagster import DagsterInstance
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    with DagsterInstance.from_config(str(daemon_home)) as instance:
        kept = instance.get_tick_retention_settings(InstigatorType.SENSOR)
    assert kept[TickStatus.FAILURE] == 7 and kept[TickStatus.SUCCESS] == -1


def test_a_tick_with_nothing_to_say_leaves_no_log_file(daemon_home):
    """The daemon gives every tick a log of its own: a file under DAGSTER_HOME/storage,
    made once the tick's logger is first touched, which Dagster never removes (not with the
    skipped tick either). A landing sensor touched it on every tick, every 5 s, saying
    nothing: an empty `<tick id>.err` a tick, some 17,000 a day for each source. A tick
    writes its log only when it has something to say."""
    from dagster import DagsterInstance, ScheduleEvaluationContext, SensorEvaluationContext

    from cx_assets.lakehouse.resources import Lake as LakeResource

    home, root = daemon_home, daemon_home.parent
    repository = definitions.defs.get_repository_def()
    sensor = next(s for s in definitions.defs.sensors if s.name == "calls_landing_sensor")
    (schedule,) = repository.schedule_defs
    lake = {"lake": LakeResource(data_dir=str(root))}

    def logs() -> list[str]:
        return sorted(p.name for p in (home / "storage").rglob("*") if p.is_file())

    with DagsterInstance.from_config(str(home)) as instance:

        def tick(number: int):
            with SensorEvaluationContext(
                instance.get_ref(),
                log_key=[repository.name, sensor.name, str(number)],
                repository_name=repository.name,
                repository_def=repository,
                sensor_name=sensor.name,
                resources=lake,
            ) as context:
                return sensor.evaluate_tick(context)

        assert "nothing has landed" in tick(1).skip_message
        at = datetime(2024, 3, 5, 2, tzinfo=UTC)
        with ScheduleEvaluationContext(
            instance.get_ref(),
            at,
            [repository.name, schedule.name, "1"],
            repository.name,
            schedule.name,
            resources=lake,
            repository_def=repository,
        ) as context:
            assert schedule.evaluate_tick(context).run_requests
        assert logs() == []
        (root / "landing" / "crn").mkdir(parents=True)  # a misspelled source is said
        tick(2)
        assert logs() == ["2.err"]


def materialize_crm_day(lake, day: str) -> None:
    materialize(
        Domain.named("crm").partitioned,
        partition_key=day,
        instance=lake.instance,
        resources=lake.resources,
        run_config=QUIET,
    )


def test_rollups_rebuild_after_an_upstream_partition_changes(lake):
    """Whole-history tables are kept fresh by declarative automation."""
    instance = lake.instance
    lake.land_jsonl("crm", "users", "2024-01-05", [{"Id": 1, "Name": "Ana", "Email": "a@b.c"}])
    rollups = [
        AssetKey(["gold", "crm_temporal_heat"]),
        AssetKey(["silver", "crm_users"]),
        AssetKey(["gold", "crm_sales_velocity"]),
    ]
    first = evaluate_automation_conditions(definitions.defs, instance)
    materialize_crm_day(lake, "2024-01-05")
    after_update = evaluate_automation_conditions(definitions.defs, instance, cursor=first.cursor)
    for rollup in rollups:
        assert after_update.get_num_requested(rollup) == 1, rollup
    # nothing changed since: nothing more is requested
    again = evaluate_automation_conditions(definitions.defs, instance, cursor=after_update.cursor)
    for rollup in rollups:
        assert again.get_num_requested(rollup) == 0, rollup


def test_an_update_seen_while_another_upstream_run_was_going_still_rebuilds_rollups(lake):
    """An update the automation saw while it had to wait (another run of the same upstream
    in progress) is not forgotten when that run ends without materializing anything."""
    from dagster import DagsterRunStatus

    instance = lake.instance
    heat = AssetKey(["gold", "crm_temporal_heat"])
    first = evaluate_automation_conditions(definitions.defs, instance)
    # A landing-sensor run of the next day, queued (it will fail waiting for the lock).
    waiting = instance.create_run_for_job(
        definitions.defs.resolve_job_def("crm_daily"),
        status=DagsterRunStatus.NOT_STARTED,
        tags={"dagster/partition": "2024-01-06"},
    )
    materialize_crm_day(lake, "2024-01-05")
    blocked = evaluate_automation_conditions(definitions.defs, instance, cursor=first.cursor)
    assert blocked.get_num_requested(heat) == 0  # upstream still in progress
    instance.report_run_failed(instance.get_run_by_id(waiting.run_id))
    after = evaluate_automation_conditions(definitions.defs, instance, cursor=blocked.cursor)
    assert after.get_num_requested(heat) == 1
    again = evaluate_automation_conditions(definitions.defs, instance, cursor=after.cursor)
    assert again.get_num_requested(heat) == 0


def test_a_rollup_is_not_requested_again_while_its_own_run_is_going(lake):
    """An upstream update seen while the rollup's own run is in progress waits for that run
    to end: two runs of one rollup would queue on the lock and write it twice."""
    from dagster import DagsterRunStatus

    instance = lake.instance
    heat = AssetKey(["gold", "crm_temporal_heat"])
    first = evaluate_automation_conditions(definitions.defs, instance)
    materialize_crm_day(lake, "2024-01-05")
    rebuilding = instance.create_run_for_job(
        definitions.defs.resolve_job_def("whole_history"),
        status=DagsterRunStatus.STARTED,
        asset_selection=frozenset({heat}),
    )
    busy = evaluate_automation_conditions(definitions.defs, instance, cursor=first.cursor)
    assert busy.get_num_requested(heat) == 0
    instance.report_run_failed(instance.get_run_by_id(rebuilding.run_id))
    after = evaluate_automation_conditions(definitions.defs, instance, cursor=busy.cursor)
    assert after.get_num_requested(heat) == 1


def test_an_update_after_a_rollup_rebuilt_between_two_ticks_is_not_lost(lake):
    """A run rebuilt the rollups (as `cx-lakehouse run` does), then, before the next tick,
    another run updated an upstream day: the tick sees both. Runs hold the warehouse one at
    a time, so an update stamped after the rebuild was not read by it: rebuild again. (Both
    used to reset together, and the update waited for the next landing of the source.)"""
    instance = lake.instance
    heat = AssetKey(["gold", "crm_temporal_heat"])
    crm = Domain.named("crm")
    first = evaluate_automation_conditions(definitions.defs, instance)
    materialize_crm_day(lake, "2024-01-05")
    lake.materialize(crm.assets, selection=crm.whole_history)  # after its upstream: read it
    quiet = evaluate_automation_conditions(definitions.defs, instance, cursor=first.cursor)
    assert quiet.get_num_requested(heat) == 0
    lake.materialize(crm.assets, selection=crm.whole_history)
    materialize_crm_day(lake, "2024-01-06")  # after the rebuild: not read by it
    after = evaluate_automation_conditions(definitions.defs, instance, cursor=quiet.cursor)
    assert after.get_num_requested(heat) == 1
    # the request is handled: nothing more until the next update, even if its run fails
    again = evaluate_automation_conditions(definitions.defs, instance, cursor=after.cursor)
    assert again.get_num_requested(heat) == 0


def test_the_schedule_leaves_out_a_domain_already_built_from_its_landed_files(lake):
    """Found running the daemon's ticks over days: a landing sensor builds a day as soon as
    it is a partition (00:00 UTC), and the schedule at 02:00 built every domain of it again
    from the same files, rollups included, every day. It now runs only the domains whose
    day is not built from what has landed (nothing landed, files changed since, or a step
    after bronze not built), and skips when there is none, saying so."""
    from cx_assets.domains import definitions_of
    from cx_assets.lakehouse.automation import yesterday_run

    day, at = "2024-01-05", datetime(2024, 1, 6, 2, tzinfo=UTC)
    calls = Domain.named("calls")
    transcripts = lake.land_jsonl("calls", "transcripts", day, [{"call_id": "c1"}])
    both = definitions_of(["calls", "digital"]).get_repository_def()
    alone = definitions_of(["calls"]).get_repository_def()
    said: list[str] = []

    def evaluate(repository):
        return yesterday_run(at, lake.instance, repository, lake.layout.landing_dir, said.append)

    def groups(repository) -> set[str]:
        (request,) = [evaluate(repository)]
        assert request.partition_key == day and request.tags["dagster/max_retries"] == "2"
        graph = repository.asset_graph
        keys = request.asset_selection or graph.get_all_asset_keys()  # None: the whole job
        return {graph.get(key).group_name for key in keys}

    assert groups(both) == {"calls", "digital"}
    lake.materialize(
        calls.partitioned, day=day, selection=[AssetKey(["bronze", "calls_transcripts"])]
    )
    assert groups(both) == {"calls", "digital"}  # the run failed after bronze: not built
    lake.materialize(calls.partitioned, day=day)  # the landing sensor's run
    assert groups(both) == {"digital"}
    request = evaluate(both)
    assert request.tags["cx/domains"] == "digital"
    assert AssetKey(["gold", "leakage_savings_model"]) in request.asset_selection  # rollups
    assert said[-1] == f"{day} left out of the run for: calls built from its landed files"
    skipped = evaluate(alone)
    assert skipped.skip_message == f"nothing to run for {day}: calls built from its landed files"
    # Bronze built again from the same files, the run failing after it: the day's silver
    # and gold are older than it (mutation testing: their order unread, no test failed).
    lake.materialize(
        calls.partitioned, day=day, selection=[AssetKey(["bronze", "calls_transcripts"])]
    )
    assert groups(alone) == {"calls"}
    lake.materialize(calls.partitioned, day=day)
    transcripts.write_text(transcripts.read_text() + '{"call_id": "c2"}\n')  # re-delivered
    assert groups(alone) == {"calls"}


def test_a_domain_nothing_lands_for_is_never_taken_as_built_from_landing(tmp_path):
    """Only a run builds the days of a domain whose tables none land: the schedule runs them
    (mutation testing: such a domain taken as built, no test failed; every domain of the
    product lands files). Said without an instance: nothing is looked up."""
    from datetime import date

    from dagster import Definitions

    from cx_assets.lakehouse.automation import built_from_landing
    from cx_assets.lakehouse.resources import build_resources
    from cx_assets_tests.lakehouse.checked_assets import GROUP, keyed

    defs = Definitions(assets=[keyed], resources=build_resources(tmp_path))
    graph = defs.get_repository_def().asset_graph
    assert not built_from_landing(None, graph, tmp_path, GROUP, date(2024, 1, 5))


def test_the_schedule_leaves_out_a_domain_whose_landing_run_is_going(lake):
    """The daemon back after days down: its landing sensors had asked for the days that
    landed meanwhile, and the schedule's catch-up ticks, finding them not built yet, ran every
    domain of each day again. A landing run queued or going for the day (alone, or in its
    range) leaves its domain out; once it has failed, the schedule runs the domain."""
    from dagster import DagsterRunStatus, SkipReason
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from cx_assets.domains import definitions_of
    from cx_assets.lakehouse.automation import yesterday_run

    day, at = "2024-01-05", datetime(2024, 1, 6, 2, tzinfo=UTC)
    lake.land_jsonl("calls", "transcripts", day, [{"call_id": "c1"}])
    calls = definitions_of(["calls"])
    said: list[str] = []

    def evaluate():
        return yesterday_run(
            at, lake.instance, calls.get_repository_def(), lake.layout.landing_dir, said.append
        )

    landing = {"cx/source": "calls", "cx/trigger": "landing"}
    code = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="cx_assets.definitions"))
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(code, "__repository__"), "calls_daily")
    ranged = {
        "dagster/asset_partition_range_start": "2024-01-03",
        "dagster/asset_partition_range_end": day,
    }
    for status, tags in [
        (DagsterRunStatus.NOT_STARTED, {"dagster/partition": day}),
        # The daemon back: its sensors' runs wait in the run queue (mutation testing: QUEUED
        # left out of the statuses going, no test failed).
        (DagsterRunStatus.QUEUED, {"dagster/partition": day}),
        (DagsterRunStatus.STARTED, ranged),
    ]:
        run = lake.instance.create_run_for_job(
            calls.resolve_job_def("calls_daily"),
            status=status,
            tags={**landing, **tags},
            remote_job_origin=origin,  # a queued run's: the daemon launches it from it
        )
        skipped = evaluate()
        assert isinstance(skipped, SkipReason), skipped
        assert f"being built by run {run.run_id}" in skipped.skip_message
        lake.instance.report_run_failed(lake.instance.get_run_by_id(run.run_id))
        assert evaluate().partition_key == day


def test_the_schedule_runs_the_first_partition_and_skips_the_day_before_it():
    """The tick the day after `CX_PARTITIONS_START` builds that day; the tick on it has no
    partition to build (mutation testing: the first partition taken as before the first,
    no test failed, and a lakehouse started yesterday never had its first day built by the
    schedule)."""
    from datetime import timedelta

    from dagster import RunRequest, SkipReason

    from cx_assets.lakehouse.automation import yesterday_run

    first = daily_partitions.start.date()
    at = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=2)
    request = yesterday_run(at + timedelta(days=1), None, None, Path("landing"), print)
    assert isinstance(request, RunRequest) and request.partition_key == first.isoformat()
    # Keyed by its day: a tick evaluated again for the same day starts no second run
    # (mutation testing: the key dropped, no test failed).
    assert request.run_key == first.isoformat()
    skipped = yesterday_run(at, None, None, Path("landing"), print)
    assert isinstance(skipped, SkipReason)
    assert skipped.skip_message.startswith(f"{first - timedelta(days=1)} is before the first")
