"""A landing sensor of two CRM tables and the ticks that evaluate it, for the landing
sensor tests of more than one module (`test_landing_sensor_runs`,
`test_landing_sensor_changes`, `test_landing_sensor_state`, `test_landing_sensor_ignored`,
`test_landing_sensor_failed_runs`): the bronze assets and job it requests, the `Ticker`
that carries its cursor from tick to tick, and the `instance` and `ticker` fixtures each
module binds (`instance = pytest.fixture(sensor_instance, name="instance", scope="module")`). A
fixture in this folder's conftest would be one for every module here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetSelection,
    Definitions,
    build_sensor_context,
    define_asset_job,
)

from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.automation import landing_sensor
from cx_assets.lakehouse.landing_state import SeenStore
from cx_assets.lakehouse.resources import Lake as LakeResource
from cx_assets.lakehouse.resources import build_resources
from cx_assets_tests.instance import in_memory_instance

DAY = "2024-01-05"
BRONZE = [
    bronze_asset("crm", "interactions", "Test interactions."),
    bronze_asset("crm", "contacts", "Test contacts."),
]
JOB = define_asset_job("crm_landing_test_job", selection=AssetSelection.assets(*BRONZE))


def make_sensor(max_requests_per_tick: int = 10, quiet_seconds: float = 0):
    """The sensor of `BRONZE`. Its files are written whole before a tick, so by default a day
    runs on the tick that first sees it, however recently its files changed (the wait for a
    file still being written, `LANDING_QUIET_SECONDS`, is tested with a clock of its own)."""
    return landing_sensor(
        "crm",
        ["interactions", "contacts"],
        JOB.name,
        max_requests_per_tick=max_requests_per_tick,
        quiet_seconds=quiet_seconds,
    )


def ticks_after_the_quiet(monkeypatch) -> None:
    """Ticks from now on taken as `LANDING_QUIET_SECONDS` after the files' last change, for a
    test of the defined sensors (which wait for a file still being written) whose files are
    written whole just before a tick."""
    from cx_assets.lakehouse import automation

    after = timedelta(seconds=automation.LANDING_QUIET_SECONDS + 1)
    monkeypatch.setattr(automation, "_now", lambda: datetime.now(UTC) + after)


def tick_at(monkeypatch, at: datetime) -> None:
    """Ticks from now on taken at `at`: a test naming today's date reads it from `at`, so a
    UTC midnight passing while it runs cannot part its today from the sensor's."""
    from cx_assets.lakehouse import automation

    monkeypatch.setattr(automation, "_now", lambda: at)


def sensor_instance():
    with in_memory_instance() as ephemeral:
        yield ephemeral


class Ticker:
    """Evaluates a sensor tick after tick, carrying the cursor like the daemon does."""

    def __init__(self, sensor, data_dir, instance, definitions: Definitions | None = None):
        self.sensor, self.instance = sensor, instance
        self.resources = {"lake": LakeResource(data_dir=str(data_dir))}
        # Partitioned run requests are resolved against the job, so the context needs the
        # definitions the sensor belongs to.
        self.definitions = definitions or Definitions(
            assets=BRONZE, jobs=[JOB], sensors=[sensor], resources=build_resources(data_dir)
        )
        self.cursor: str | None = None

    def tick(self):
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=self.resources,
            definitions=self.definitions,
        )
        result = self.sensor.evaluate_tick(context)
        if result.cursor is not None:
            self.cursor = result.cursor
        return result

    def state(self) -> dict[str, str]:
        """What the sensor's cursor names: its state as the JSON `DaysSeen` writes."""
        return json.loads(SeenStore(self.instance, "crm").read(self.cursor).to_text())


def sensor_ticker(lake, instance) -> Ticker:
    return Ticker(make_sensor(), lake.root, instance)


def keys(result) -> list[str]:
    return [request.partition_key for request in result.run_requests or []]


def digital_day_redelivered_before_built_ones(lake, monkeypatch) -> Ticker:
    """Digital 2024-01-01 to -03 built, its landing sensor ticked past the quiet time with
    nothing to run (built from these very files), then 2024-01-01's calls re-delivered (a
    line added): the ticker of that sensor, its next tick owing 2024-01-01 a run."""
    from cx_assets_tests.cli import landed
    from cx_assets_tests.conftest import Domain

    digital = Domain.named("digital")
    landed(lake.root, "digital", days=3, start="2024-01-01", seed=None)
    assert lake.materialize(digital.everything, day="2024-01-01", last_day="2024-01-03").success
    definitions = Definitions.merge(digital.defs, Definitions(resources=lake.resources))
    sensor = definitions.resolve_sensor_def("digital_landing_sensor")
    ticker = Ticker(sensor, lake.root, lake.instance, definitions=definitions)
    ticks_after_the_quiet(monkeypatch)
    assert not ticker.tick().run_requests
    (calls_file,) = (lake.layout.landing_dir / "digital" / "calls" / "2024-01-01").iterdir()
    calls_file.write_text(calls_file.read_text() + "\n")
    return ticker
