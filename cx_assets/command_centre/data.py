"""The command centre's reading layer: gold Parquet through DuckDB, never the warehouse.

A run holds `warehouse.duckdb` for writing, and DuckDB lets one process at a time open the
file; a dashboard reading it would block the next run (or fail while one runs). So the
command centre reads only the gold Parquet files, which runs replace by rename (a reader sees
the old file or the new one, never half of one), in its own in-memory DuckDB connection:

- `GoldLake.files(table)`: a table's complete files (in-flight `_…tmp` files are skipped);
- `GoldLake.version(tables)`: the files' names, sizes and modification times. Pages cache
  every query result keyed on it (`ui.query`), so a result is computed once and recomputed
  only when a run rewrites one of its tables;
- `GoldLake.query(sql, tables, params)`: `sql` on its own connection (a cursor of the
  process's in-memory DuckDB) where each named table is a temporary view over its files
  (per-day tables get `date` from their folders). A folder a run removes between listing
  and reading is retried with a fresh listing;
- `GoldLake.freshness()`: per gold table, its rows, days and when it was last written.

A gold file that is not readable Parquet (a disk fault, a copy cut short: runs never leave
one) raises `UnreadableGold`, naming the file and its day, which pages turn into what to run.

No Streamlit here: pages cache these results, tests call them directly.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cx_assets.lakehouse.settings import DATA_DIR_ENV, DEFAULT_DATA_DIR, DataLayout
from cx_assets.lakehouse.sql import quote_identifier, string_literal

PARTITION_PREFIX = "date="
# The in-memory database: small and bounded, so a dashboard never competes with a run.
DUCKDB_CONFIG = {"threads": 2, "memory_limit": "1GB", "autoinstall_known_extensions": False}
RETRIES = 3

# Every gold table a full run writes (contract section 4; a test holds it to the
# definitions): the freshness table lists one that is missing beside its domain's others.
GOLD_TABLES = (
    "crm_noise_summary", "crm_friction_heuristics", "crm_contact_linkage", "crm_temporal_heat",
    "crm_cx_volumetrics", "crm_managers", "crm_companies", "crm_churn_risk",
    "crm_sales_velocity", "crm_segmentation_matrix",
    "calls_performance", "calls_agent_daily", "calls_kpis_daily",
    "leakage_daily_summary", "leakage_segment_drilldown", "leakage_journey_timeline",
    "leakage_root_cause", "leakage_savings_model", "leakage_action_recommendations",
    "support_ticket_analytics", "support_agent_daily", "support_customer_insights",
    "support_volume_forecast", "support_ticket_categories", "support_assignment_plan",
)  # fmt: skip

FileVersion = tuple[str, int, int]  # path relative to gold/, mtime in ns, size in bytes


class MissingTables(Exception):
    """Gold tables a query needs have no files yet."""

    def __init__(self, tables: Sequence[str]):
        super().__init__(f"no gold files yet for {', '.join(tables)}")
        self.tables = list(tables)


class UnreadableGold(Exception):
    """A gold file that is not a readable Parquet file (cut short, overwritten): runs write
    whole files under other names and rename them, so only something outside a run (a disk
    fault, a copy, an edit) leaves one. Rewritten by running its day again."""

    def __init__(self, gold_dir: Path, path: Path, reason: str):
        self.relative = path.relative_to(gold_dir).as_posix()
        self.table = self.relative.split("/")[0]
        folder = path.parent.name
        self.day = (
            date.fromisoformat(folder.removeprefix(PARTITION_PREFIX))
            if folder.startswith(PARTITION_PREFIX)
            else None
        )
        self.reason = reason.strip().splitlines()[0] if reason.strip() else "unreadable"
        super().__init__(f"gold file {self.relative} cannot be read: {self.reason}")


def _footer_problem(path: Path) -> str | None:
    """Why `path` is not a readable Parquet file (its footer), None when it is, or when it is
    gone (a run replaced it meanwhile). A footer that does not decode is an `OSError` to
    pyarrow too ("Couldn't deserialize thrift"), so only a missing file is taken as gone."""
    return _problem(pq.read_metadata, path)


def _data_problem(path: Path) -> str | None:
    """Why the data of `path` does not read, footer aside (a page cut or overwritten), None
    when it does or the file is gone: read whole, only after a query failed."""
    return _problem(pq.read_table, path)


def _problem(read, path: Path) -> str | None:
    try:
        read(path)
    except FileNotFoundError:
        return None
    except PermissionError as error:  # not damaged: the page says whose it is
        raise refused(path) from error
    except (OSError, pa.ArrowException) as error:
        return str(error) or type(error).__name__
    return None


def refused(path: Path) -> PermissionError:
    """A gold file this user may not read, as the page says it: pyarrow's error names no
    file, and had been taken for a damaged file's (a run's file left 0600 by umask 077)."""
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))


def data_dir_from_env() -> Path:
    """The data root, as the pipeline resolves it (`CX_DATA_DIR`, default `./data`)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser().resolve()


def _is_data_file(entry: os.DirEntry) -> bool:
    return (
        entry.is_file()
        and entry.name.endswith(".parquet")
        and not entry.name.startswith(("_", "."))
    )


@dataclass(frozen=True)
class TableFreshness:
    table: str
    per_day: bool
    files: int
    rows: int
    first_day: date | None
    last_day: date | None
    days: int
    written_at: datetime | None
    problem: str | None = None  # not written yet, or its first file that cannot be read


@dataclass(frozen=True)
class GoldLake:
    data_dir: Path

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.data_dir)

    @property
    def gold_dir(self) -> Path:
        return self.layout.gold_dir

    def tables(self) -> list[str]:
        """Gold tables with a folder on disk, sorted."""
        if not self.gold_dir.is_dir():
            return []
        return sorted(
            entry.name
            for entry in os.scandir(self.gold_dir)
            if entry.is_dir() and not entry.name.startswith((".", "_"))
        )

    def _entries(self, table: str) -> list[tuple[str, os.stat_result]]:
        """(path relative to gold/, stat) of a table's complete Parquet files."""
        folder = self.gold_dir / table
        found: list[tuple[str, os.stat_result]] = []
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return found
        for entry in entries:
            try:
                if entry.is_dir() and entry.name.startswith(PARTITION_PREFIX):
                    for child in os.scandir(entry.path):
                        if _is_data_file(child):
                            found.append((f"{table}/{entry.name}/{child.name}", child.stat()))
                elif _is_data_file(entry):
                    found.append((f"{table}/{entry.name}", entry.stat()))
            except FileNotFoundError:  # replaced or removed by a run while we looked
                continue
        return sorted(found)

    def files(self, table: str) -> list[Path]:
        return [self.gold_dir / relative for relative, _ in self._entries(table)]

    def version(self, tables: Sequence[str]) -> tuple[FileVersion, ...]:
        """What the cache is keyed on: every file of the tables with its mtime and size."""
        return tuple(
            (relative, stat.st_mtime_ns, stat.st_size)
            for table in sorted(set(tables))
            for relative, stat in self._entries(table)
        )

    def query(self, sql: str, tables: Sequence[str], params: Sequence[object] = ()) -> pd.DataFrame:
        """`sql` over views named after `tables`; raises `MissingTables` if any has no file."""
        for attempt in range(RETRIES):
            entries = {table: self._entries(table) for table in tables}
            files = {
                table: [self.gold_dir / relative for relative, _ in listed]
                for table, listed in entries.items()
            }
            missing = [table for table, paths in files.items() if not paths]
            if missing:
                raise MissingTables(missing)
            readers = {
                table: _reader(paths, same_columns=self._same_columns(entries[table]))
                for table, paths in files.items()
            }
            con = _connection()
            try:
                for table, reader in readers.items():
                    con.execute(f"CREATE TEMP VIEW {quote_identifier(table)} AS {reader}")
                bound = [list(p) if isinstance(p, tuple) else p for p in params]
                return con.execute(sql, bound).df()
            except duckdb.IOException:
                if attempt == RETRIES - 1:
                    self._raise_if_damaged(files)
                    raise
                time.sleep(0.05)  # a run replaced a folder between our listing and reading
            except duckdb.InvalidInputException as error:
                # A file read by position, replaced since its footer was read by one of other
                # columns (an earlier version's): listed and read again, it is read by name.
                if "schema mismatch" not in str(error) or attempt == RETRIES - 1:
                    self._raise_if_damaged(files)
                    raise
            except duckdb.Error:
                self._raise_if_damaged(files)
                raise
            finally:
                con.close()
        raise AssertionError("unreachable")

    def _raise_if_damaged(self, files: dict[str, list[Path]]) -> None:
        """Name the first damaged file of a failed query's tables, if one is: DuckDB's own
        message does not always say which file it could not read. Footers first (cheap),
        then the files read whole (a damaged page behind a sound footer)."""
        for find in (_footer_problem, _data_problem):
            for paths in files.values():
                for path in paths:
                    if (problem := find(path)) is not None:
                        raise UnreadableGold(self.gold_dir, path, problem)

    def _same_columns(self, entries: Sequence[tuple[str, os.stat_result]]) -> bool:
        """Whether every file of a table has the same columns (names, order and types), from
        their footers: DuckDB then reads only the files of the days a query keeps."""
        columns = {
            footer[1]
            for relative, stat in entries
            if (footer := _footer(self.gold_dir / relative, stat, self.gold_dir)) is not None
        }
        return len(columns) <= 1

    def row_count(self, table: str) -> int:
        """Rows of a table, from its Parquet footers (0 without files)."""
        return sum(
            _footer_rows(self.gold_dir / relative, stat, self.gold_dir)
            for relative, stat in self._entries(table)
        )

    def freshness(self) -> list[TableFreshness]:
        """Per gold table on disk: files, rows (from the Parquet footers), days, last write.
        A damaged file is named in `problem` and its table counts the rows of the others;
        a table of `GOLD_TABLES` not written while others of its domain are has a row too,
        so a step that failed (or a folder removed) shows instead of leaving no trace."""
        on_disk = self.tables()
        written_sources = {source_of(table) for table in on_disk}
        expected = [
            table
            for table in GOLD_TABLES
            if table not in on_disk and source_of(table) in written_sources
        ]
        result = []
        for table in sorted([*on_disk, *expected]):
            entries = self._entries(table)
            days = _days_of(entries)
            rows, problem = 0, None
            for relative, stat in entries:
                try:
                    rows += _footer_rows(self.gold_dir / relative, stat, self.gold_dir)
                except UnreadableGold as error:
                    problem = problem or str(error)
            if table in expected:
                problem = "not written yet: a run still on its way, or a step that failed"
            written = max((stat.st_mtime for _, stat in entries), default=None)
            result.append(
                TableFreshness(
                    table=table,
                    per_day=bool(days),
                    files=len(entries),
                    rows=rows,
                    first_day=days[0] if days else None,
                    last_day=days[-1] if days else None,
                    days=len(days),
                    written_at=datetime.fromtimestamp(written, UTC) if written else None,
                    problem=problem,
                )
            )
        return result

    def days(self, table: str) -> list[date]:
        """The days a per-day table is written for (its `date=` folders with a file), a day
        a run wrote without rows included: a query over the table sees only days with rows."""
        return _days_of(self._entries(table))

    def landed_days(self, source: str) -> list[date]:
        """Days with landing folders for a source (for the "what to run" hint)."""
        days = set()
        root = self.layout.landing_dir / source
        # A folder landed by another user (a transfer account's 0700, which an analyst's
        # user need not read) holds no days the hint can name: the page had ended in the
        # line for gold it may not read.
        try:
            tables = [table for table in root.iterdir() if table.is_dir()] if root.is_dir() else []
        except PermissionError:
            return []
        for table in tables:
            try:
                names = [folder.name for folder in table.iterdir()]
            except PermissionError:
                continue
            for name in names:
                try:
                    days.add(date.fromisoformat(name))
                except ValueError:
                    continue
        return sorted(days)

    def built_days(self, source: str) -> list[date]:
        """Days the source's per-day gold tables hold (their `date=` folders)."""
        prefix = GOLD_PREFIXES.get(source)
        days: set[date] = set()
        for table in self.tables() if prefix else []:
            if not table.startswith(prefix):
                continue
            for entry in os.scandir(self.gold_dir / table):
                if entry.is_dir() and entry.name.startswith(PARTITION_PREFIX):
                    try:
                        days.add(date.fromisoformat(entry.name.removeprefix(PARTITION_PREFIX)))
                    except ValueError:
                        continue
        return sorted(days)


_DATABASE: duckdb.DuckDBPyConnection | None = None
_DATABASE_LOCK = threading.Lock()


def _connection() -> duckdb.DuckDBPyConnection:
    """A connection of its own (a cursor) to the process's in-memory DuckDB: opening a
    database costs ~25 ms, a cursor nothing. Sessions run in threads, so each query takes its
    own, and its temporary views are its alone. Cursors are made under a lock (a connection
    object is not thread-safe); the queries then run in parallel."""
    global _DATABASE
    with _DATABASE_LOCK:
        if _DATABASE is None:
            _DATABASE = duckdb.connect(":memory:", config=DUCKDB_CONFIG)
            # Gold times are UTC; DuckDB would otherwise give them, and take their day and
            # hour, in the machine's zone (every cursor inherits this).
            _DATABASE.execute("SET GLOBAL TimeZone = 'UTC'")
        return _DATABASE.cursor()


def _days_of(entries: Sequence[tuple[str, os.stat_result]]) -> list[date]:
    """The days of a table's `_entries` (`table/date=YYYY-MM-DD/file`), sorted."""
    return sorted(
        {
            date.fromisoformat(relative.split("/")[1].removeprefix(PARTITION_PREFIX))
            for relative, _ in entries
            if relative.count("/") == 2
        }
    )


def _reader(paths: Sequence[Path], *, same_columns: bool) -> str:
    """A table's files as one relation. Columns are matched by name (`union_by_name`) only
    where the files' columns differ (a column a newer version added, NULL in the older
    files): to union them DuckDB reads the footer of every file before a query filters on
    the day, and a query of one day over a year of files cost ten times one over its day's."""
    listed = ", ".join(string_literal(path.as_posix()) for path in paths)
    per_day = any(path.parent.name.startswith(PARTITION_PREFIX) for path in paths)
    options = ", hive_partitioning = true, hive_types = {'date': DATE}" if per_day else ""
    union = "false" if same_columns else "true"
    return f"SELECT * FROM read_parquet([{listed}], union_by_name = {union}{options})"


# What the footers of the files read say (their rows and columns), by file and version: a
# run rewrites a few of a table's files, and reading every footer again at each view took
# 0.46 s at a year of days.
_FOOTERS: dict[tuple[str, int, int, int], tuple[int, str] | None] = {}
_FOOTERS_KEPT = 200_000


def _footer(path: Path, stat: os.stat_result, gold_dir: Path) -> tuple[int, str] | None:
    """(rows, columns) of one file as listed (`stat`), read once for each version of it;
    None for a file gone meanwhile (replaced or removed by a run: counted next refresh);
    `UnreadableGold` for a footer that does not decode."""
    version = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
    # Looked up and kept in a local: Streamlit's sessions share the cache from threads of
    # their own, and one may empty it between another's store and read (a KeyError).
    if (footer := _FOOTERS.get(version)) is None:
        if len(_FOOTERS) >= _FOOTERS_KEPT:
            _FOOTERS.clear()
        try:
            metadata = pq.read_metadata(path)
        except FileNotFoundError:
            return None
        except PermissionError as error:
            raise refused(path) from error
        except (OSError, pa.ArrowException) as error:  # a footer that does not decode
            raise UnreadableGold(gold_dir, path, str(error) or type(error).__name__) from error
        columns = metadata.schema.to_arrow_schema()
        footer = (metadata.num_rows, repr([(field.name, str(field.type)) for field in columns]))
        _FOOTERS[version] = footer
    return footer


def _footer_rows(path: Path, stat: os.stat_result, gold_dir: Path) -> int:
    """The rows of one file as listed (`stat`), from its footer (0 for a file gone)."""
    footer = _footer(path, stat, gold_dir)
    return 0 if footer is None else footer[0]


# The prefix of each source's gold tables.
GOLD_PREFIXES = {"crm": "crm_", "calls": "calls_", "digital": "leakage_", "support": "support_"}
SUGGESTED_DAYS = 3  # days a hint suggests generating when nothing has landed anywhere


def source_of(table: str) -> str:
    """The source whose gold `table` is ("" for none)."""
    return next(
        (source for source, prefix in GOLD_PREFIXES.items() if table.startswith(prefix)), ""
    )


def run_hint(lake: GoldLake, source: str, *, today: date | None = None) -> str:
    """The command that would fill a domain's gold tables on this data root: a run of the
    days its files landed for, else generating its files first, for the days its gold was
    built for, else the days the other sources landed (a run of every source then lines
    them up), else the last few days. (A fixed suggestion of 2024 put a source two years
    from the others.)"""
    if days := lake.landed_days(source):
        return f"cx-lakehouse run {_span(days[0], days[-1])}"
    days = lake.built_days(source) or sorted(
        {day for other in GOLD_PREFIXES for day in lake.landed_days(other)}
    )
    first, last = (days[0], days[-1]) if days else suggested_days(today)
    return (
        f"cx-lakehouse generate --start {first} --days {(last - first).days + 1} "
        f"--sources {source}` and then `cx-lakehouse run {_span(first, last)}"
    )


def suggested_days(today: date | None = None) -> tuple[date, date]:
    """The first and last of a few days to generate on an empty data root: the days up to
    yesterday (today's is not a partition yet)."""
    last = (today or datetime.now(UTC).date()) - timedelta(days=1)
    return last - timedelta(days=SUGGESTED_DAYS - 1), last


def _span(first: date, last: date) -> str:
    return f"--date {first}" + (f" --to {last}" if last != first else "")
