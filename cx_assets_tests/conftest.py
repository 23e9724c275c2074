"""Shared fixtures: a temporary data root, landing-file writers and an in-process runner.

Every test that materializes assets gets its own data root, so tests never share a
warehouse file and can run in any order.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

warnings.filterwarnings("ignore", module="dagster")
warnings.filterwarnings("ignore", category=DeprecationWarning)

from dagster import (  # noqa: E402
    AssetsDefinition,
    AssetSelection,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    materialize,
)

from cx_assets.lakehouse.privacy import bind_hash_key  # noqa: E402
from cx_assets.lakehouse.resources import build_resources  # noqa: E402
from cx_assets.lakehouse.settings import DataLayout  # noqa: E402
from cx_assets_tests.instance import in_memory_instance  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class Lake:
    """A temporary lakehouse: write landing files, materialize, query the results."""

    root: Path
    # One Dagster instance for the whole test, as a deployment has: what was materialized
    # earlier in the test is known to later runs.
    instance: DagsterInstance = field(default_factory=in_memory_instance)

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.root)

    @property
    def resources(self) -> dict[str, Any]:
        return build_resources(self.root)

    def land(self, source: str, table: str, day: str, name: str, content: str | bytes) -> Path:
        path = self.layout.landing_dir / source / table / day / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def land_jsonl(
        self, source: str, table: str, day: str, records: Iterable[Any], name: str = "part.jsonl"
    ) -> Path:
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        return self.land(source, table, day, name, "\n".join(lines) + "\n")

    def land_csv(
        self, source: str, table: str, day: str, rows: Sequence[dict], name: str = "part.csv"
    ) -> Path:
        return self.land(source, table, day, name, pd.DataFrame(rows).to_csv(index=False))

    def materialize(
        self,
        assets: Sequence[Any],
        *,
        selection: Sequence[Any] | None = None,
        day: str | None = None,
        last_day: str | None = None,
        raise_on_error: bool = True,
        tags: dict[str, str] | None = None,
    ) -> ExecuteInProcessResult:
        """Run `assets` (and any checks in the list) for one day, a range, or unpartitioned,
        with any more run `tags`."""
        ranged = bool(day and last_day and last_day != day)
        tags = dict(tags or {})
        if ranged:
            tags |= {
                "dagster/asset_partition_range_start": day,
                "dagster/asset_partition_range_end": last_day,
            }
        kwargs: dict[str, Any] = {}
        if selection is not None:
            kwargs["selection"] = AssetSelection.assets(*selection)
        return materialize(
            assets,
            instance=self.instance,
            partition_key=day if day and not ranged else None,
            tags=tags,
            resources=self.resources,
            run_config=QUIET,
            raise_on_error=raise_on_error,
            **kwargs,
        )

    def query(self, sql: str) -> pd.DataFrame:
        # Through the warehouse resource: this process already holds the database open.
        with self.resources["warehouse"].connect() as con:
            return con.execute(sql).df()

    def gold(self, table: str) -> pd.DataFrame:
        return pd.read_parquet(self.layout.gold_dir / table)

    def quarantine(self, dataset: str) -> pd.DataFrame:
        folder = self.layout.quarantine_dir / dataset
        if not folder.exists():
            return pd.DataFrame(columns=["source_file", "line_number", "reason", "raw"])
        return pd.read_parquet(folder)


@dataclass(frozen=True)
class Domain:
    """A domain's definitions as tests use them, derived from `cx_assets/<name>/definitions.py`
    (no list of assets is kept by hand)."""

    defs: Definitions

    @classmethod
    def named(cls, name: str) -> Domain:
        return cls(importlib.import_module(f"cx_assets.{name}.definitions").defs)

    @property
    def assets(self) -> list[AssetsDefinition]:
        return list(self.defs.assets)

    @property
    def partitioned(self) -> list[AssetsDefinition]:
        return [a for a in self.assets if a.partitions_def is not None]

    @property
    def whole_history(self) -> list[AssetsDefinition]:
        return [a for a in self.assets if a.partitions_def is None]

    @property
    def checks(self) -> list[Any]:
        """Checks with steps of their own (declared checks run in their assets' steps)."""
        return list(self.defs.asset_checks)

    @property
    def check_keys(self) -> set[Any]:
        """Every check: those in the assets' own steps and those with steps of their own."""
        in_steps = {key for asset_def in self.assets for key in asset_def.check_keys}
        return in_steps | {key for check in self.checks for key in check.check_keys}

    @property
    def everything(self) -> list[Any]:
        return [*self.assets, *self.checks]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `long_module` first, the rest in collection order. `make test`
    hands whole modules to two workers in this order (`--dist loadscope
    --no-loadscope-reorder`); left to xdist's own order (most tests first) the longest
    modules, which have few tests, came last, and one worker finished alone: about 30 s of
    a 10-minute run."""
    items.sort(key=lambda item: item.get_closest_marker("long_module") is None)


@pytest.fixture(autouse=True)
def _dagster_home_restored() -> Iterator[None]:
    """`cli.prepare_dagster_home` sets DAGSTER_HOME for the process (the CLI's runs need it);
    called in a test, it would leak into every later test, which would then find another
    test's instance instead of their own."""
    before = os.environ.get("DAGSTER_HOME")
    yield
    if before is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = before


@pytest.fixture(autouse=True)
def _stop_signal_answered() -> None:
    """SIGTERM answered by default in each test, and so in the processes it starts. Dagster's
    interrupt handler ends by giving SIGTERM what SIGINT has; in a pytest started as a
    shell's background job (SIGINT ignored) a worker that had run a job in-process then
    ignored SIGTERM, and so did every process a later test started: a test's fake web
    server outlived the SIGTERM it was sent (seen in CI-like runs, depending on which
    module ran first in the worker)."""
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB session in UTC, as the warehouse's sessions are (a module with a
    `con` of its own, with tables in it, overrides this one)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    bind_hash_key(connection)
    yield connection
    connection.close()


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    lake = Lake(tmp_path / "data")
    yield lake
    # An instance left to the garbage collector closes its SQLite connection in whatever
    # thread collects it, maybe a later test's worker thread: dispose of it here.
    lake.instance.dispose()


def check_results(result: ExecuteInProcessResult) -> dict[tuple[str, str], Any]:
    """Check evaluations by (asset key, check name)."""
    return {
        (evaluation.asset_key.to_user_string(), evaluation.check_name): evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


def tables_holding(lake, secrets: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(schema, table, secret) for each silver or gold table of the warehouse whose rows,
    as text, hold one of `secrets`: personal data that should be masked or dropped."""
    tables = lake.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('silver', 'gold')"
    )
    found = []
    for schema, table in tables.values:
        text = lake.query(f'SELECT * FROM "{schema}"."{table}"').astype(str).to_csv()
        found += [(schema, table, secret) for secret in secrets if secret in text]
    return found


def check_results_by_day(result: ExecuteInProcessResult) -> dict[tuple[str, str], dict]:
    """Check evaluations by (asset key, check name), then by the day they judged."""
    found: dict[tuple[str, str], dict] = {}
    for evaluation in result.get_asset_check_evaluations():
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name)
        found.setdefault(key, {})[evaluation.partition] = evaluation
    return found


def day(text: str) -> date:
    return date.fromisoformat(text)
