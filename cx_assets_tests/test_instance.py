"""The in-process tests' Dagster instance (`cx_assets_tests/instance.py`) keeps what
Dagster's ephemeral one keeps, from any thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dagster import AssetKey, AssetMaterialization, asset, materialize

from cx_assets_tests.instance import HeldConnectionEventLog, in_memory_instance


@asset
def _one() -> int:
    return 1


def test_events_stored_from_several_threads_are_all_read_back():
    instance = in_memory_instance()
    assert isinstance(instance.event_log_storage, HeldConnectionEventLog)

    def report(n: int) -> None:
        for _ in range(25):
            instance.report_runless_asset_event(AssetMaterialization("reported", partition=str(n)))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(report, range(4)))
    result = materialize([_one], instance=instance)

    assert result.success
    stored = instance.fetch_materializations(AssetKey("reported"), limit=1000).records
    assert len(stored) == 100
    assert {record.partition_key for record in stored} == {"0", "1", "2", "3"}
    assert instance.get_latest_materialization_event(AssetKey("_one")).run_id == result.run_id
    instance.dispose()


def test_a_table_is_known_once_there_and_a_missing_one_is_asked_again():
    storage = HeldConnectionEventLog()
    assert storage.has_table("event_logs") and storage.has_table("event_logs")
    assert not storage.has_table("not_yet")
    with storage._connect() as connection:
        connection.exec_driver_sql("CREATE TABLE not_yet (x INTEGER)")
    assert storage.has_table("not_yet")
    storage.dispose()
