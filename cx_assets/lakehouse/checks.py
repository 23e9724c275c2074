"""Asset checks as this lakehouse runs them: built from what each asset declares
(`lake_asset(grain=, row_count=, bands=, reconciles_with=)`, and every bronze asset; the
builders are in `table_checks`), and evaluated inside the asset's own step, right after its
rows are written: one step per table instead of one per check, so a
day's run carries a third of the steps (each step costs Dagster's fixed overhead).

Severities follow the contract: ERROR (and blocking, so nothing downstream builds on it)
for broken invariants: duplicate keys, a broken gold grain, bronze not reconciling with
silver plus quarantine. WARN for judgements of a day against expectations: empty days,
ratio bands, volume. Their severity (and a band's bounds) is run config of the asset (under the
check's name), so an operator can tune them from the launchpad without a code change; what
those settings may hold is `check_settings`'.

Partitioned checks evaluate the days of the step (one day, or the range of a single-run
backfill).
"""

import string
import threading
import weakref
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    Enum,
    Field,
    MetadataValue,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.event_log.base import AssetRecordsFilter
from dagster._record import copy

from cx_assets.lakehouse.check_settings import MEDIAN_MULTIPLE, NUMBER, SHARE_BOUND
from cx_assets.lakehouse.partitions import run_command
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.warehouse import Warehouse

if TYPE_CHECKING:
    from cx_assets.lakehouse.parsing import RecordSpec

# Check names, as constants so tests and docs refer to the same thing.
NON_EMPTY = "non_empty"
RECONCILES_WITH_BRONZE = "bronze_reconciles_with_silver_and_quarantine"
UNIQUE_KEY = "unique_key"
ROW_COUNT_CHECK = "row_count"
REJECT_RATIO = "reject_ratio"
VOLUME_ANOMALY = "volume_anomaly"
COLUMN_SCHEMA_CHANGE = "column_schema_change"
RECORDS_ONLY_IN_QUARANTINE = "records_only_in_quarantine"
NAMES_MASKED_ON_OTHER_DAYS = "names_masked_on_other_days"
ONE_HASH_KEY = "one_hash_key"
NO_COLUMN_EMPTIED = "no_column_emptied"
TIMED_ON_FILE_DAY = "timed_on_file_day_share"


@dataclass(frozen=True)
class Band:
    """A day's ratio expected within [low, high] (WARN by default, tunable in run config).

    `ratio_sql` selects `date` and `ratio` from the asset's own table `{table}` for the
    days in `{days}` (a predicate on the partition column), one row a day; a null ratio is
    skipped. A day given more than one row fails the check as ERROR: it would judge one of
    them and let the others by (a ratio per agent a day is a table, not a band)."""

    name: str
    ratio_sql: str
    low: float
    high: float
    description: str
    # Said after the ratios of the days outside, where the band's name alone does not say
    # what the ratio is or what to do: `cx-lakehouse run` and the command centre show the
    # failing evaluation's description, not this one.
    outside: str = ""

    def __post_init__(self) -> None:
        # A ratio not kept to `{days}` judges every day a range run or a check run alone is
        # given by the whole table's, and the one-day runs of the tests cannot tell.
        fields = {field for _, field, _, _ in string.Formatter().parse(self.ratio_sql) if field}
        if fields != {"table", "days"}:
            raise ValueError(
                f"band {self.name}: ratio_sql must read {{table}} for the days in {{days}}, "
                f"and nothing else; it names {sorted(fields)}"
            )


# The least share of a day's records timed on their folder's day (WARN below; run config).
MIN_TIMED_ON_FILE_DAY_SHARE = 0.5


def timed_on_file_day(time_column: str, spec: "RecordSpec") -> Band:
    """The band of a landed table of events (`time_column` their UTC time) on the share of a
    day's records timed on the day of the date folder they landed in. Its text names the
    field the time lands as (`spec`'s: CRM's `Date` for `occurred_at`), which the user
    finds in what they delivered.

    A day's export landed in another day's folder passes every schema: its times are
    valid and none lies after the day after the folder's, so nothing is quarantined, and
    the folder's day counts the other day's calls or interactions (contract §2: the date
    folder is the partition). An export named by its local date moves a few hours of
    records to the next UTC day (CRM's evening in São Paulo: 4% of a generated day), so
    the band's low end is half; a day's records all timed another day give 0."""
    (landed,) = [item.source for item in spec.fields if item.column == time_column]
    timed = (
        f"{time_column} (UTC, from {landed})" if landed != time_column else f"{time_column} (UTC)"
    )
    return Band(
        name=TIMED_ON_FILE_DAY,
        ratio_sql=f"SELECT date, avg(CASE WHEN CAST(timezone('UTC', {time_column}) AS DATE) "
        "= date THEN 1.0 ELSE 0.0 END) AS ratio FROM {table} WHERE {days} GROUP BY date",
        low=MIN_TIMED_ON_FILE_DAY_SHARE,
        high=1.0,
        description=f"Share of a day's records whose {timed} falls on the day of "
        "their date folder: a low share is a day's export landed in another day's folder.",
        outside=f"the share of a day's records whose {timed} falls on the day of "
        "their date folder. Was another day's export landed in its folder? Move its files to "
        "the folder of the day they are timed on, then run both days (the landing sensors "
        "run them as the files move)",
    )


def severity_config() -> Field:
    """The run config of a judgement's severity: WARN unless an operator raises it."""
    return Field(Enum.from_python_enum(AssetCheckSeverity), default_value="WARN")


def band_config(low: float, high: float, *, share: bool = True) -> dict[str, Field]:
    """The run config of a check judged against a band: its bounds and its severity. The
    bounds of a `share` (every ratio band) are described as one (`SHARE_BOUND`), the
    others as the volume's multiples of a median (`MEDIAN_MULTIPLE`)."""
    described = SHARE_BOUND if share else MEDIAN_MULTIPLE
    return {
        "low": Field(NUMBER, default_value=low, description=described),
        "high": Field(NUMBER, default_value=high, description=described),
        "severity": severity_config(),
    }


@dataclass(frozen=True)
class CheckRun:
    """What a check sees when its asset's step evaluates it."""

    days: list[date] | None  # the days judged; None for a whole-history table
    warehouse: Warehouse
    lake: Lake
    config: Mapping[str, Any]  # this check's run config (empty when it has none)
    instance: DagsterInstance  # the run's
    # The run's selection (None: every asset of its job) and every day of the step (a range
    # step judges them one at a time): what else the run builds, and for which days.
    selection: Set[AssetKey] | None = None
    step_days: list[date] | None = None

    def days_built_too(self, key: AssetKey) -> list[date]:
        """The days of date-grained table `key` this run builds as well (the step's days,
        where it selects `key`): a check need not ask for them to be run again."""
        selected = self.selection is None or key in self.selection
        return list(self.step_days or []) if selected else []


@dataclass(frozen=True)
class DeclaredCheck:
    """One check of one table: its name and description as the UI shows them, whether an
    ERROR stops what is downstream, its run config, and how it is evaluated."""

    name: str
    description: str
    evaluate: Callable[[CheckRun], AssetCheckResult]
    blocking: bool = False
    config: Mapping[str, Field] | None = None
    # True when the verdict is the step's whatever day is judged (the column schema of its
    # latest write): a range step evaluates it once, over all its days, and records it for
    # each day, where a check judged day by day is evaluated once a day.
    same_every_day: bool = False


class StepCheckResult(AssetCheckResult):
    """A declared check's result as its table's step yields it: named in full (asset and
    check), and sharing with the step's other results the lookup of the materialization
    they check.

    Dagster finds what an `AssetCheckResult` checks by looking up the asset's latest
    materialization of the step's partition, 2-3 ms, once per result; and an unnamed
    result a second time, to learn its check. A step's checks all run after its one write,
    so they check the same materialization: it is looked up once per step (the step's
    context; a retried step has a new one). A Dagster release that renames the method
    below only brings back its own per-result lookups."""

    # The day a range step's result is of (`of_day`); None: the step's own partition.
    _day: str | None = None

    @classmethod
    def of(cls, result: AssetCheckResult, key: AssetKey, check_name: str) -> "StepCheckResult":
        if result.check_name not in (None, check_name) or result.asset_key not in (None, key):
            named = (
                f"{(result.asset_key or key).to_user_string()}:{result.check_name or check_name}"
            )
            raise ValueError(
                f"check {key.to_user_string()}:{check_name} returned a result for {named}"
            )
        return cls._make(result._replace(asset_key=key, check_name=check_name))

    def of_day(self, day: date) -> "StepCheckResult":
        """This result as the one of `day` in a step of several days (see `day_evaluation`
        for the step's other days)."""
        self._day = day.isoformat()
        return self

    def to_asset_check_evaluation(self, step_context: Any) -> Any:
        evaluation = super().to_asset_check_evaluation(step_context)
        return evaluation if self._day is None else copy(evaluation, partition=self._day)

    def day_evaluation(self, day: date, target: Any, *, blocking: bool) -> AssetCheckEvaluation:
        """This result as the evaluation of `day` (checking `target`, `day_target`'s), for
        the days of a step of several days after its first: Dagster plans each day's
        evaluation of a partitioned check, and took a range step's one result as of no day,
        so the UI showed every day's check as skipped after a range run. A step yields one
        result per check (its output); the other days' verdicts are evaluations, as Dagster
        makes of a result."""
        return AssetCheckEvaluation(
            asset_key=self.asset_key,
            check_name=self.check_name,
            passed=self.passed,
            metadata=self.metadata,
            target_materialization_data=target,
            severity=self.severity,
            description=self.description,
            blocking=blocking,
            partition=day.isoformat(),
        )

    def _get_target_materialization_data(self, step_context: Any, check_key: Any) -> Any:
        target = (check_key.asset_key, self._day)
        with _targets_lock:
            targets = _targets_by_step.setdefault(step_context, {})
        if target not in targets:
            targets[target] = (
                super()._get_target_materialization_data(step_context, check_key)
                if self._day is None
                else self._get_partitioned_target_materialization_data(
                    step_context, check_key.asset_key, self._day
                )
            )
        return targets[target]


def names_left_on_other_days(
    by_day: dict[str, int], *, rows: str, person: str, group: str, metadata_key: str
) -> AssetCheckResult:
    """A domain's `names_masked_on_other_days` result: passed without `by_day` (counts of
    `rows` by ISO day), else WARN naming the days whose text still holds the name of a
    `person` whose record landed later (masked by running those days again), and the
    command that does it."""
    if not by_day:
        return AssetCheckResult(
            passed=True, severity=AssetCheckSeverity.WARN, metadata={metadata_key: {}}
        )
    days = sorted(by_day)
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.WARN,
        description=(
            f"{sum(by_day.values())} {rows} of {', '.join(days)} still hold the name of a "
            f"{person} whose record landed later; run those days again: "
            + run_command(days[0], days[-1], f"group:{group}")
        ),
        metadata={metadata_key: MetadataValue.json(dict(sorted(by_day.items())))},
    )


def day_target(instance: DagsterInstance, key: AssetKey, day: date) -> Any:
    """What a check of `key`'s `day` checks: that day's latest materialization."""
    found = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()]), limit=1
    ).records
    if not found:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=found[0].event_log_entry.run_id,
        storage_id=found[0].storage_id,
        timestamp=found[0].timestamp,
    )


# The materializations a step's checks target, while the step (its context) lives.
_targets_by_step: weakref.WeakKeyDictionary[Any, dict[AssetKey, Any]] = weakref.WeakKeyDictionary()
_targets_lock = threading.Lock()


# A check whose severity is run config is declared blocking: Dagster stops what is
# downstream only on a blocking check's ERROR, so at its default WARN it still blocks nothing,
# and an operator who raises it to ERROR gets what ERROR means everywhere else.
CONFIGURED_SEVERITY_BLOCKS = True
