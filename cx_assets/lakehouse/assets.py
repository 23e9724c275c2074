"""How a lakehouse asset is declared, and the steps every domain's assets share.

- `lake_asset(layer, ...)`: `@asset` with the lakehouse conventions. The table is the
  function's name, its docstring the description; the grain, a fixed row count and the
  ratio bands are declared here, and the checks built from those declarations
  (`table_checks.declared_checks`) are evaluated in the asset's own step, after its write.
- An input's partition window (`same_day`, `with_days_before`, `all_days`, `whole_table`)
  is stated where the input is declared, with the helpers of `inputs.py`.
- Two factories, where every asset really is alike, are in `asset_factories.py`:
  `bronze_asset` (a landed table as delivered) and `latest_version_asset` (the latest
  delivered version of each id wins).
- The plain helpers asset bodies call live in `steps.py` (silver) and `derived.py`.

Domains keep only what is theirs (record specs, Pandera models, SQL of their rules).
"""

import functools
import inspect
import os
import typing
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import pandera.pandas as pa
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    CodeReferencesMetadataValue,
    Field,
    FreshnessPolicy,
    LocalFileCodeReference,
    Output,
    TableSchema,
    asset,
    multi_asset,
)
from dagster._core.decorator_utils import format_docstring_for_description

from cx_assets.lakehouse import written_days
from cx_assets.lakehouse.automation import rollup_automation
from cx_assets.lakehouse.check_settings import CheckSettings
from cx_assets.lakehouse.checks import (
    Band,
    CheckRun,
    DeclaredCheck,
    StepCheckResult,
    day_target,
)
from cx_assets.lakehouse.inputs import early_access_api
from cx_assets.lakehouse.io_managers import LAYER_STORAGE, days_never_built
from cx_assets.lakehouse.partitions import (
    PARTITION_COLUMN,
    daily_partitions,
    partition_dates,
    single_run_backfill,
)
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.schemas import DERIVED_FROM
from cx_assets.lakehouse.table_checks import declared_checks
from cx_assets.lakehouse.validation import column_schema
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets.lakehouse.warehouse_tables import table_exists

# Declarations on an asset's definition metadata (shown in the UI; the landed table is read
# back by the landing sensor).
GRAIN = "cx/grain"
GRAIN_ACROSS_DAYS = "cx/grain_across_days"
ROW_COUNT = "cx/row_count"
BANDS = "cx/bands"
RECONCILES_WITH = "cx/reconciles_with"
LANDED_TABLE = "cx/landed_table"
# A table keeping a key once over all days: the key's fields as they land, to read the key of
# a copy quarantined on another day from its bronze record (`dropped_keys.py`).
LANDED_KEY = "cx/landed_key"
# A bronze table's fields: {column: the field's name as it lands} (`RecordSpec.fields`), so
# its silver table's checks name what the user delivered (`Content`, not `content`).
LANDED_FIELDS = "cx/landed_fields"

# Gold is rebuilt every day (the 02:00 UTC schedule, landing sensors, rollup automation):
# a table not refreshed for a day and a bit is late, for two days it is stale.
GOLD_FRESHNESS = FreshnessPolicy.time_window(
    warn_window=timedelta(hours=26), fail_window=timedelta(hours=50)
)

# Tag that splits date-grained assets from whole-history ones; jobs select on it.
PARTITIONING_TAG = "cx/partitioning"
# The table's output, named as `@asset` names its one output (an `Output` `fn` returns
# carries it by default).
TABLE_OUTPUT = "result"
DAILY = "daily"
WHOLE_HISTORY = "whole_history"


def metadata_value(metadata: Mapping[str, Any], key: str) -> Any:
    """A declaration read back from definition metadata (Dagster wraps plain values); None
    when it is not there."""
    value = metadata.get(key)
    return getattr(value, "value", value)


def _nullable_columns(model: type[pa.DataFrameModel] | None) -> list[str]:
    """The columns of `model` that may be null: a landed table's optional fields, and what
    is derived from them, whose values all gone for a day `no_column_emptied` warns of."""
    if model is None:
        return []
    return [name for name, column in model.to_schema().columns.items() if column.nullable]


def _landed_as(
    model: type[pa.DataFrameModel] | None, bronze: AssetsDefinition | None
) -> dict[str, str]:
    """{column: the field it is landed as} of the nullable columns of `model` that are a
    field of `bronze`'s records, or derived from one (`DERIVED_FROM`)."""
    if model is None or bronze is None:
        return {}
    fields = metadata_value(bronze.metadata_by_key[bronze.key], LANDED_FIELDS) or {}
    landed = {}
    for name, column in model.to_schema().columns.items():
        source = (column.metadata or {}).get(DERIVED_FROM, name)
        if source in fields and column.nullable:
            landed[name] = fields[source]
        elif source != name and fields:
            # A misspelt one would name the column alone, without a word.
            raise TypeError(
                f"{model.__name__}.{name}: {DERIVED_FROM} {source!r} is no landed column"
            )
    return landed


def lake_asset(
    layer: str,
    *,
    group: str,
    model: type[pa.DataFrameModel] | None = None,
    schema: TableSchema | None = None,
    partitioned: bool = True,
    ins: Mapping[str, AssetIn] | None = None,
    grain: Sequence[str] | None = None,
    grain_across_days: bool = False,
    row_count: int | None = None,
    bands: Sequence[Band] = (),
    reconciles_with: AssetsDefinition | None = None,
    own_checks: Sequence[DeclaredCheck] = (),
    keyed_hashes: bool = False,
    name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """`@asset` with the lakehouse conventions: key `[layer, <function name>]`, group = domain,
    storage from `LAYER_STORAGE`, daily partitions with single-run backfills (or, for
    whole-history tables, a rebuild when upstream partitions change), kinds, and the column
    schema (`schema`, or the Pandera model's) so the UI shows it before the first run.

    Declarations the checks are built from: `grain` (key columns, per day when
    partitioned, over all days with `grain_across_days`), `row_count` (a fixed number of
    rows), `bands` (ratios a day should keep to), `reconciles_with` (the bronze asset whose
    records this table or quarantine holds).
    `own_checks`: a domain's checks of the table, evaluated in its step as the declared ones.
    `keyed_hashes`: the rows hold keyed hashes of personal values, so each day written is
    recorded with the key it was hashed under, and checked against the run's
    (`written_days`).
    """
    declared = _declared_metadata(
        metadata, schema or (column_schema(model) if model is not None else None),
        partitioned=partitioned, grain=grain, grain_across_days=grain_across_days,
        row_count=row_count, bands=bands, reconciles_with=reconciles_with,
        keyed_hashes=keyed_hashes,
    )  # fmt: skip
    partition_args: dict[str, Any] = (
        {"partitions_def": daily_partitions, "backfill_policy": single_run_backfill}
        if partitioned
        else {"automation_condition": rollup_automation()}
    )
    kinds = {"joblib"} if layer == "model" else {"duckdb"}
    if layer in ("bronze", "gold"):
        kinds.add("parquet")

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        table = name or fn.__name__
        checks = declared_checks(
            layer,
            table,
            partitioned=partitioned,
            landed=LANDED_TABLE in declared,
            reconciles_with=reconciles_with.key if reconciles_with is not None else None,
            grain=grain,
            grain_across_days=grain_across_days,
            expected_rows=row_count,
            bands=bands,
            columns="dagster/column_schema" in declared,
            landed_key=metadata_value(declared, LANDED_KEY),
            keyed_hashes=keyed_hashes,
            group=group,
            optional_columns=_nullable_columns(model) if reconciles_with is not None else (),
            landed_as=_landed_as(model, reconciles_with),
        ) + list(own_checks)
        common = {
            "description": description or format_docstring_for_description(fn),
            "io_manager_key": LAYER_STORAGE[layer],
            "kinds": kinds,
            "metadata": {**declared, CODE_REFERENCES: _code_reference(fn)},
            "tags": {PARTITIONING_TAG: DAILY if partitioned else WHOLE_HISTORY},
            "freshness_policy": GOLD_FRESHNESS if layer == "gold" else None,
        }
        if not checks:
            # No settings, unless the table's own `config`: Dagster takes any config for a
            # step declaring none, and ignores it (a model check's severity set under its
            # model's step was judged at WARN, unsaid); a step declaring none refuses it.
            own_config = "config" in inspect.signature(fn).parameters
            return asset(
                name=table, key_prefix=[layer], group_name=group, ins=ins,
                config_schema=None if own_config else {}, **common, **partition_args,
            )(fn)  # fmt: skip
        return _table_with_checks(
            fn, AssetKey([layer, table]), checks,
            group=group, ins=ins, common=common, partition_args=partition_args,
            partitioned=partitioned,
        )  # fmt: skip

    return decorate


# Where the UI's asset page opens the asset's code ("Open source code").
CODE_REFERENCES = "dagster/code_references"


def _code_reference(fn: Callable[..., Any]) -> CodeReferencesMetadataValue:
    """The function that builds the table, from its first decorator: the UI links an asset
    to it. Dagster's `with_source_code_references` named the wrapper that runs a table
    with its checks, here in the lakehouse, for most tables."""
    code = inspect.unwrap(fn).__code__
    with early_access_api():  # a beta API of Dagster's
        return CodeReferencesMetadataValue(
            code_references=[
                LocalFileCodeReference(
                    file_path=os.path.abspath(code.co_filename), line_number=code.co_firstlineno
                )
            ]
        )


def _table_with_checks(
    fn: Callable[..., Any],
    key: AssetKey,
    checks: Sequence[DeclaredCheck],
    *,
    group: str,
    ins: Mapping[str, AssetIn] | None,
    common: Mapping[str, Any],
    partition_args: Mapping[str, Any],
    partitioned: bool,
) -> AssetsDefinition:
    """Table `key` with its checks: a one-table multi-asset that can run a subset (`@asset`
    cannot), so a run may select a check alone, which reads the table as stored, or the
    table alone. A check's run config is the step's config, under its name, refused when
    a run is created by `check_settings`' rule."""
    configurable = {
        check.name: Field(CheckSettings(check.config)) for check in checks if check.config
    }
    if configurable and "config" in inspect.signature(fn).parameters:
        raise TypeError(
            f"{key.path[-1]}: checks with run config ({', '.join(configurable)}) and the "
            "asset's own `config` parameter cannot both be the step's config"
        )
    return multi_asset(
        name=key.to_python_identifier(),  # the step's name, as `@asset` names it
        outs={
            TABLE_OUTPUT: AssetOut(
                key=key,
                group_name=group,
                is_required=False,
                # as `@asset` infers it: the IO manager streams a `DayTables` output
                dagster_type=_returned_type(fn),
                automation_condition=partition_args.get("automation_condition"),
                **common,
            )
        },
        ins=ins,
        partitions_def=partition_args.get("partitions_def"),
        backfill_policy=partition_args.get("backfill_policy"),
        check_specs=[_check_spec(key, check, partitioned=partitioned) for check in checks],
        can_subset=True,
        config_schema=configurable or None,
    )(_evaluating_checks(fn, key, checks, partitioned=partitioned))


def _declared_metadata(
    metadata: Mapping[str, Any] | None,
    columns: TableSchema | None,
    *,
    partitioned: bool,
    grain: Sequence[str] | None,
    grain_across_days: bool,
    row_count: int | None,
    bands: Sequence[Band],
    reconciles_with: AssetsDefinition | None,
    keyed_hashes: bool,
) -> dict[str, Any]:
    """The asset's definition metadata: its own, its column schema, and its declarations
    (shown in the UI; tests and tools read them back)."""
    declared: dict[str, Any] = dict(metadata or {})
    if columns is not None:
        declared["dagster/column_schema"] = columns
    if grain is not None:
        # The whole key, as the unique_key check names it: a date-grained table's key is per
        # day (`[]` read as "no key" in the UI for a table of one row a day).
        per_day = partitioned and not grain_across_days
        declared[GRAIN] = [PARTITION_COLUMN, *grain] if per_day else list(grain)
        if grain_across_days:
            declared[GRAIN_ACROSS_DAYS] = True
    if row_count is not None:
        declared[ROW_COUNT] = row_count
    if bands:
        declared[BANDS] = [asdict(band) for band in bands]
    if reconciles_with is not None:
        declared[RECONCILES_WITH] = reconciles_with.key.to_user_string()
    if keyed_hashes:
        declared[written_days.KEYED_HASHES] = True
    return declared


def _returned_type(fn: Callable[..., Any]) -> type | None:
    """The type an asset function is annotated to return (`Output[X]`: X), for its output's
    Dagster type, which a multi-asset does not infer; None (any) without one."""
    try:
        returned = typing.get_type_hints(fn).get("return")
    except (NameError, TypeError):
        return None
    if typing.get_origin(returned) is Output:
        (returned,) = typing.get_args(returned)
    return returned if isinstance(returned, type) else None


def _evaluating_checks(
    fn: Callable[..., Any], key: AssetKey, checks: Sequence[DeclaredCheck], *, partitioned: bool
) -> Callable[..., Any]:
    """`fn` as a step that also evaluates its table's checks, right after the IO manager
    has written the output (Dagster stores a yielded `Output` before the generator goes
    on). What the run selected is done: the table (by `fn`) and each selected check, so a
    check run alone reads the table as stored. The step gets `context`, `warehouse` and
    `lake` whether or not `fn` asks for them; `fn` is called with exactly its own
    parameters."""
    signature = inspect.signature(fn, eval_str=True)
    own = signature.parameters
    parameters = list(own.values())
    if "context" not in own:
        parameters.insert(
            0, inspect.Parameter("context", _POSITIONAL, annotation=AssetExecutionContext)
        )
    for resource, annotation in (("warehouse", Warehouse), ("lake", Lake)):
        if resource not in own:
            parameters.append(inspect.Parameter(resource, _POSITIONAL, annotation=annotation))

    def step(context: AssetExecutionContext, **kwargs: Any) -> Iterator[Any]:
        if key in context.selected_asset_keys:
            yield _table_output(fn, own, context, kwargs)
        elif never_built := _table_never_built(
            context, key, kwargs["warehouse"], partitioned=partitioned
        ):
            yield from never_built
            return
        yield from _check_results(context, key, checks, kwargs, partitioned=partitioned)

    step.__name__, step.__qualname__, step.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    step.__module__, step.__wrapped__ = fn.__module__, fn  # type: ignore[attr-defined]
    step.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    step.__annotations__ = {
        p.name: p.annotation for p in parameters if p.annotation is not inspect.Parameter.empty
    }
    return step


def _table_never_built(
    context: AssetExecutionContext, key: AssetKey, warehouse: Warehouse, *, partitioned: bool
) -> list[AssetCheckResult]:
    """Checks run alone (the UI's "Execute checks") on a data root that never built their
    table, or never built it for the run's days: each fails as ERROR naming it (and the
    day), where each check's query failed the step with DuckDB's catalog error, or judged
    a day of no rows. Empty when the table is there for every day of the run."""
    schema, table = key.path
    with warehouse.connect() as con:
        exists = table_exists(con, schema, table)
    if not exists:
        said = f"{schema}.{table} does not exist: materialize {key.to_user_string()} first"
    elif not partitioned:
        return []
    elif missing := days_never_built(context.instance, warehouse, key, partition_dates(context)):
        more = len(missing) - 1
        also = f" (and {more} more day{'s' if more > 1 else ''})" if more else ""
        said = (
            f"{key.to_user_string()} was never built for {missing[0]}{also}: materialize it "
            f"for {'those days' if more else 'that day'} first"
        )
    else:
        return []
    return [
        AssetCheckResult(
            asset_key=key,
            check_name=check_key.name,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=said,
        )
        for check_key in sorted(context.selected_asset_check_keys, key=lambda k: k.name)
        if check_key.asset_key == key
    ]


def _table_output(
    fn: Callable[..., Any],
    own: Collection[str],
    context: AssetExecutionContext,
    kwargs: Mapping[str, Any],
) -> Output:
    """The table's output: `fn` called with exactly its own parameters (`own`)."""
    own_kwargs = {name: value for name, value in kwargs.items() if name in own}
    if "context" in own:
        # With its checks' outputs beside the table's, the step has several outputs and
        # Dagster's `add_output_metadata` wants one named: `fn` means the table.
        context.add_output_metadata = functools.partial(  # type: ignore[method-assign]
            context.add_output_metadata, output_name=TABLE_OUTPUT
        )
        own_kwargs["context"] = context
    result = fn(**own_kwargs)
    return result if isinstance(result, Output) else Output(result, TABLE_OUTPUT)


def _check_results(
    context: AssetExecutionContext,
    key: AssetKey,
    checks: Sequence[DeclaredCheck],
    kwargs: Mapping[str, Any],
    *,
    partitioned: bool,
) -> Iterator[Any]:
    """The verdicts of the run's selected checks of table `key`. A step of several days (a
    range run) judges each day as a run of it alone would, and records each verdict
    against its day: the first as the step's own result, the others as evaluations of
    their day's materialization. A check whose verdict is the same every day
    (`same_every_day`) is evaluated once, over the step's days: the column schema check,
    judged day by day, paged back through the range's own writes once a day."""
    check_config = context.op_execution_context.op_config or {}
    days = partition_dates(context) if partitioned else None
    per_day = days is not None and len(days) > 1
    targets: dict[date, Any] = {}  # each day's materialization, looked up once a step
    for check in checks:
        check_key = AssetCheckKey(key, check.name)
        if check_key not in context.selected_asset_check_keys:
            continue
        result = None
        for n, judged in enumerate([[day] for day in days] if per_day else [days]):
            if result is None or not check.same_every_day:
                run = CheckRun(
                    days if check.same_every_day else judged,
                    kwargs["warehouse"],
                    kwargs["lake"],
                    check_config.get(check.name, {}),
                    context.instance,
                    selection=context.job_def.asset_layer.selected_asset_keys,
                    step_days=days,
                )
                result = StepCheckResult.of(check.evaluate(run), key, check.name)
            if not per_day:
                yield result
            elif n == 0:
                yield result.of_day(judged[0])
            else:
                day = judged[0]
                if day not in targets:
                    targets[day] = day_target(context.instance, key, day)
                blocking = context.assets_def.get_spec_for_check_key(check_key).blocking
                yield result.day_evaluation(day, targets[day], blocking=blocking)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD


def _check_spec(key: AssetKey, check: DeclaredCheck, *, partitioned: bool) -> AssetCheckSpec:
    """A declared check's spec; a date-grained asset's checks are partitioned like it, so
    each day's result is recorded against that day."""
    with early_access_api():
        return AssetCheckSpec(
            check.name,
            asset=key,
            description=check.description,
            blocking=check.blocking,
            partitions_def=daily_partitions if partitioned else None,
        )
