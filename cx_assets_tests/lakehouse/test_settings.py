"""Settings (`settings.py`, contract section 1): the data root `CX_DATA_DIR`, the first
partition `CX_PARTITIONS_START`, how long a run waits for the data root, and the days of a
range (`partition_days`). Fast: `Settings.from_env` and `partition_days` called directly
(the command's one line for each mistake is tested end to end in `test_reliability`).

Every expectation is worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cx_assets.lakehouse.settings import Settings, SettingsError, foreign_home, partition_days

VARIABLES = ("CX_DATA_DIR", "CX_PARTITIONS_START", "CX_RUN_WAIT_SECONDS", "CX_HASH_KEY")


def settings_of(monkeypatch, **env: str) -> Settings:
    """`Settings.from_env` with `env` alone of the product's variables set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def test_unset_the_data_root_is_data_in_the_working_directory_and_days_start_in_2024(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    settings = settings_of(monkeypatch)
    assert settings.data_dir == tmp_path.resolve() / "data"
    assert settings.partitions_start == date(2024, 1, 1)
    assert settings.run_wait_seconds == 3600.0  # an hour


def test_the_variables_named_by_the_contract_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = settings_of(
        monkeypatch,
        CX_DATA_DIR="~/lake",  # a shell leaves `~` as is after `=` in an env file
        CX_PARTITIONS_START="2024-03-01",
        CX_RUN_WAIT_SECONDS="0",  # no wait: a busy data root is refused at once
    )
    assert settings.data_dir == tmp_path.resolve() / "lake"
    assert settings.partitions_start == date(2024, 3, 1)
    assert settings.run_wait_seconds == 0.0


@pytest.mark.parametrize("wait", ["soon", "-1", "-0.5", "inf", "nan"])
def test_a_run_wait_that_is_no_number_of_seconds_is_refused(tmp_path, monkeypatch, wait):
    with pytest.raises(SettingsError) as refused:
        settings_of(monkeypatch, CX_DATA_DIR=str(tmp_path), CX_RUN_WAIT_SECONDS=wait)
    assert str(refused.value) == f"CX_RUN_WAIT_SECONDS='{wait}' is not a number of seconds"


@pytest.mark.parametrize("start", ["20240105", "2024-W01-5", "2024-1-5", "2024-13-01", " "])
def test_a_first_partition_not_written_yyyy_mm_dd_is_refused(tmp_path, monkeypatch, start):
    """Seen in a mutation audit: Python reads `20240105` and `2024-W01-5` as dates, which
    the contract's `YYYY-MM-DD` and the refusal's own words never promise (`run --date`
    refuses them too)."""
    with pytest.raises(SettingsError) as refused:
        settings_of(monkeypatch, CX_DATA_DIR=str(tmp_path), CX_PARTITIONS_START=start)
    assert str(refused.value) == f"CX_PARTITIONS_START='{start}' is not a date in YYYY-MM-DD form"


@pytest.mark.parametrize(
    ("mark", "read_as"),
    [("\\", "a path separator"), ("*", "a pattern in the paths of the files it reads")],
)
def test_a_data_root_duckdb_would_misread_says_how(tmp_path, monkeypatch, mark, read_as):
    root = tmp_path.resolve() / f"root{mark}x"
    with pytest.raises(SettingsError) as refused:
        settings_of(monkeypatch, CX_DATA_DIR=str(root))
    assert str(refused.value) == (
        f"CX_DATA_DIR={root} holds a '{mark}', which DuckDB reads as {read_as}: "
        "choose a data root without one"
    )


def test_a_data_root_that_is_a_pipe_is_no_folder(tmp_path, monkeypatch):
    import os

    os.mkfifo(pipe := tmp_path.resolve() / "pipe")
    with pytest.raises(SettingsError) as refused:
        settings_of(monkeypatch, CX_DATA_DIR=str(pipe))
    assert str(refused.value) == f"CX_DATA_DIR={pipe} is a file, not a folder"


def test_a_home_of_the_data_root_reached_through_a_link_is_its_own(tmp_path):
    """Found by mutation testing: a data root named through a link taken for another root
    than its home's passed every home test."""
    (root := tmp_path / "root").mkdir()
    (root / "landing").mkdir()  # what marks a data root
    (link := tmp_path / "link").symlink_to(root)
    (other := tmp_path / "other").mkdir()
    home = root / "dagster_home"

    assert foreign_home(home, link) is None
    assert foreign_home(home, other) == (
        f"DAGSTER_HOME={home} is the run history of the data root {root}, not of {other} "
        "(CX_DATA_DIR): unset DAGSTER_HOME (each data root keeps its own, in its "
        f"dagster_home/), or set CX_DATA_DIR to {root}"
    )


# ---------------------------------------------------------------------------------------
# The days of a range
# ---------------------------------------------------------------------------------------


def test_a_range_holds_its_first_and_last_day():
    assert partition_days(date(2024, 2, 28), date(2024, 3, 1), date(2024, 2, 28)) == [
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]


def test_yesterday_is_the_last_partition_and_may_be_the_first():
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert partition_days(yesterday, yesterday, yesterday) == [yesterday]
    today = yesterday + timedelta(days=1)
    with pytest.raises(ValueError, match=f"^{today} is not a partition yet: partitions are daily"):
        partition_days(yesterday, today, yesterday)
    with pytest.raises(
        ValueError, match=f"^there are no partitions yet: CX_PARTITIONS_START={today}"
    ):
        partition_days(today, today, today)


def test_the_day_before_the_first_partition_is_none():
    with pytest.raises(ValueError, match=r"^2023-12-31 is not a partition: partitions are daily"):
        partition_days(date(2023, 12, 31), date(2024, 1, 2), date(2024, 1, 1))
