"""The Dagster instance of in-process tests: Dagster's ephemeral one, with an event log that
keeps one connection.

Dagster's in-memory event log opens a new SQLite connection for every read and write, sets
two pragmas on it, and opens one more to ask whether a table exists before each check
event: about 2 ms of each of a small CRM run's ~350 events on a slow machine, a sixth of
the run (two CRM days materialized in-process took 9.1 s of CPU with it, 7.7 s with this
one, medians of six, alternated). Its database, tables and every query are Dagster's own;
only the connection is held, behind the lock Dagster already takes around each use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as db
from dagster import DagsterInstance
from dagster._core.instance import InstanceType
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._core.run_coordinator import DefaultRunCoordinator
from dagster._core.storage.event_log import InMemoryEventLogStorage
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.root import LocalArtifactStorage, TemporaryLocalArtifactStorage
from dagster._core.storage.runs import InMemoryRunStorage
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool


class HeldConnectionEventLog(InMemoryEventLogStorage):
    """`InMemoryEventLogStorage` whose reads and writes share one connection to its
    database (usable from any thread: the parent's lock lets one use it at a time)."""

    def __init__(self) -> None:
        super().__init__()
        self._shared_engine = db.create_engine(
            self._engine.url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        self._shared = self._shared_engine.connect()
        self._tables_seen: set[str] = set()

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._db_lock, self._shared.begin():
            yield self._shared

    def has_table(self, table_name: str) -> bool:
        # Asked before every asset check event (about a hundred a CRM run), each time on a
        # new connection; a table once there stays there.
        if table_name not in self._tables_seen and super().has_table(table_name):
            self._tables_seen.add(table_name)
        return table_name in self._tables_seen

    def dispose(self) -> None:
        self._shared.close()
        self._shared_engine.dispose()
        super().dispose()


def in_memory_instance(home: Path | None = None) -> DagsterInstance:
    """What `DagsterInstance.ephemeral()` builds, with `HeldConnectionEventLog`; `home`
    stands for its DAGSTER_HOME (its root directory, a folder that exists), else a
    temporary one."""
    return DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=(
            TemporaryLocalArtifactStorage() if home is None else LocalArtifactStorage(str(home))
        ),
        run_storage=InMemoryRunStorage(),
        event_storage=HeldConnectionEventLog(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )
