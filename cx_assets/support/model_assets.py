"""The support models as assets, and the gold tables they produce: thin functions over
`models/`, run as of the latest materialized day.

- `model/support_ticket_classifier` → `gold/support_ticket_categories`;
- `model/support_volume_forecaster` (series use the predicted categories) →
  `gold/support_volume_forecast`;
- `gold/support_assignment_plan`: the assignment solved exactly (nothing to train).

Models are stored through the model store (`models/<name>/model.joblib`), with their
training rows, metrics and backtest in the materialization's metadata. A model whose inputs
did not change since the stored one (a day run again, a re-delivery that leaves them be) is
kept rather than refitted (`reused_stored_model` in the metadata).
"""

from pathlib import Path
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetsDefinition, Config, MetadataValue, Output
from pydantic import Field

from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.by_day import rows_of_changed_days
from cx_assets.lakehouse.derived import validate_derived
from cx_assets.lakehouse.inputs import all_days, whole_table
from cx_assets.lakehouse.io_managers import DayRows, TableRef
from cx_assets.lakehouse.model_store import MODEL_FILE, read_stored_model
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets.lakehouse.warehouse_tables import scalar
from cx_assets.support import model_inputs, rules, schemas
from cx_assets.support.models.assign import plan_assignments
from cx_assets.support.models.categorize import (
    ClassifierSettings,
    TicketClassifier,
    beats_baselines,
    metrics_markdown,
    predict_categories,
    train_classifier,
)
from cx_assets.support.models.forecast import (
    VolumeForecaster,
    backtest_markdown,
    coverage,
    fit_forecaster,
    forecast_table,
    series_frame,
)
from cx_assets.support.silver import GROUP, support_agents, support_deliveries, support_tickets

RULES = rules.DEFAULT_RULES
CLASSIFIER = ClassifierSettings()


def stored_model(lake: Lake, model: AssetsDefinition) -> Any | None:
    """The model the model store holds for an unpartitioned model asset (None: none yet)."""
    path = Path(lake.layout.models_dir) / model.key.path[-1] / MODEL_FILE
    return read_stored_model(path)


def _reusable(lake: Lake, model: AssetsDefinition) -> Any | None:
    """The stored model, to keep if its inputs did not change; None when it cannot be read
    (written by another version of its library or of this code): the model is refitted."""
    try:
        return stored_model(lake, model)
    except Exception:  # any unpickling failure only means: fit anew
        return None


@lake_asset(
    "model",
    group=GROUP,
    partitioned=False,
    ins={"tickets": whole_table(support_tickets), "deliveries": all_days(support_deliveries)},
)
def support_ticket_classifier(
    warehouse: Warehouse, lake: Lake, tickets: TableRef, deliveries: TableRef
) -> Output[TicketClassifier]:
    """Ticket categorization: TF-IDF and a calibrated linear SVM (scikit-learn), trained on
    the tickets delivered with a category up to the as-of day and evaluated on a
    time-ordered holdout against a majority-class and a keyword baseline."""
    with warehouse.connect() as con:
        as_of_day = scalar(con, f"SELECT {rules.as_of_day_sql(deliveries.rows)}")
        rows = con.execute(
            model_inputs.categorized_tickets_sql(
                tickets.rows, rules.as_of_sql(deliveries.rows), CLASSIFIER.max_training_rows
            )
        ).df()
    previous = _reusable(lake, support_ticket_classifier)
    classifier = train_classifier(rows, RULES.category_keywords, as_of_day, CLASSIFIER, previous)
    metrics = {
        key: value
        for key, value in classifier.metrics.items()
        if value is not None and key != "max_training_rows"
    }
    return Output(
        classifier,
        metadata={
            "as_of_day": str(as_of_day),
            "training_rows_read": len(rows),
            "reused_stored_model": classifier is previous,
            **metrics,
            "categories": MetadataValue.json(list(classifier.categories)),
            "beats_baselines": beats_baselines(classifier),
            "evaluation": MetadataValue.md(metrics_markdown(classifier)),
        },
    )


class CategoriesConfig(Config):
    # A confidence: NaN or inf reached the SQL as a column name, and 60 (meant as 60%) sent
    # every ticket to review; pydantic refuses them, naming the field, before any work.
    review_threshold: float = Field(
        default=RULES.review_threshold,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="A predicted category with a confidence under this (0-1) needs review.",
    )


PREDICTIONS = "ticket_predictions"


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.TicketCategory,
    partitioned=False,
    grain=["ticket_id"],
    ins={
        "classifier": whole_table(support_ticket_classifier),
        "tickets": whole_table(support_tickets),
        "deliveries": all_days(support_deliveries),
    },
)
def support_ticket_categories(
    context: AssetExecutionContext,
    config: CategoriesConfig,
    warehouse: Warehouse,
    classifier: TicketClassifier,
    tickets: TableRef,
    deliveries: TableRef,
) -> DayRows:
    """Per created day, every ticket delivered without a category (latest version): the
    classifier's category, its calibrated confidence, and whether it needs review
    (confidence under the threshold, 0.6 by default, or no model)."""
    schema, table = context.asset_key.path
    with warehouse.connect() as con:
        as_of_day = scalar(con, f"SELECT {rules.as_of_day_sql(deliveries.rows)}")
        uncategorized = con.execute(model_inputs.uncategorized_tickets_sql(tickets.rows)).df()
        predicted = predict_categories(classifier, uncategorized["text"].tolist())
        con.register(
            PREDICTIONS,
            pd.concat(
                [uncategorized[["date", "ticket_id"]].reset_index(drop=True), predicted], axis=1
            ),
        )
        try:
            rows, changed = rows_of_changed_days(
                con,
                model_inputs.ticket_categories_sql(PREDICTIONS, config.review_threshold),
                schema,
                table,
                schemas.TicketCategory,
                every_day=f"SELECT date FROM {deliveries.rows}",
            )
        finally:
            con.unregister(PREDICTIONS)
    context.add_output_metadata(
        {
            "as_of_day": str(as_of_day),
            "tickets_without_category": len(uncategorized),
            "needs_review": int((~(predicted["confidence"] >= config.review_threshold)).sum()),
            "review_threshold": config.review_threshold,
            "days_rewritten": len(rows.days),
            "days_changed": len(changed),
        }
    )
    return rows


@lake_asset(
    "model",
    group=GROUP,
    partitioned=False,
    ins={
        "tickets": whole_table(support_tickets),
        "categories": whole_table(support_ticket_categories),
        "deliveries": all_days(support_deliveries),
    },
)
def support_volume_forecaster(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    lake: Lake,
    tickets: TableRef,
    categories: TableRef,
    deliveries: TableRef,
) -> Output[VolumeForecaster]:
    """Daily tickets created per category (delivered, else predicted) and for all tickets:
    AutoETS, MSTL and AutoTheta against SeasonalNaive(7) (statsforecast), chosen per series
    by a rolling-origin backtest of 14-day windows; the baseline alone when history is too
    short for one window."""
    with warehouse.connect() as con:
        first_day, as_of_day = con.execute(
            f"SELECT min(date), max(date) FROM {deliveries.rows}"
        ).fetchall()[0]
        daily = con.execute(
            model_inputs.daily_created_sql(tickets.rows, categories.rows, deliveries.rows)
        ).df()
    previous = _reusable(lake, support_volume_forecaster)
    forecaster = fit_forecaster(
        series_frame(daily, first_day, as_of_day), as_of_day, previous=previous
    )
    if reason := forecaster.baseline_reason:
        context.log.warning(f"volume forecast fell back to the baseline: {reason}")
    return Output(
        forecaster,
        metadata={
            "as_of_day": str(as_of_day),
            "history_days": forecaster.history_days,
            "reused_stored_model": forecaster is previous,
            "training_rows": int(daily["tickets"].sum()) if len(daily) else 0,
            "backtest_windows": forecaster.windows,
            "fell_back": forecaster.fell_back,
            "fallback_reason": forecaster.baseline_reason or "",
            "unscored_series": MetadataValue.json(list(forecaster.unscored)),
            "chosen_models": MetadataValue.json(forecaster.chosen),
            **{key: value for key, value in coverage(forecaster).items() if value is not None},
            "backtest": MetadataValue.md(backtest_markdown(forecaster)),
        },
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.VolumeForecast,
    partitioned=False,
    grain=["date", "category"],
    ins={"forecaster": whole_table(support_volume_forecaster)},
)
def support_volume_forecast(forecaster: VolumeForecaster) -> Output[DayRows]:
    """Per forecast day (the 14 days after the as-of day) and category (delivered, else
    predicted) plus `all`: tickets expected to be created, 80% and 95% intervals, the model
    chosen by backtest, its MASE and the seasonal-naive baseline's."""
    table = validate_derived(schemas.VolumeForecast, forecast_table(forecaster))
    return Output(
        DayRows(table),
        metadata={"as_of_day": str(forecaster.as_of_day), "fell_back": forecaster.fell_back},
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.AssignmentPlan,
    partitioned=False,
    grain=["ticket_id"],
    ins={
        "tickets": whole_table(support_tickets),
        "agents": whole_table(support_agents),
        "categories": whole_table(support_ticket_categories),
    },
)
def support_assignment_plan(
    warehouse: Warehouse, tickets: TableRef, agents: TableRef, categories: TableRef
) -> Output[pd.DataFrame]:
    """Every open ticket without an agent, with the agent to take it: only agents with the
    category (delivered, else predicted) in their skills, never above their capacity
    (open tickets count), optimal for most urgent first, then earliest SLA deadline, then
    balanced load (scipy milp). `reason` says why a ticket got no agent."""
    with warehouse.connect() as con:
        waiting = con.execute(
            model_inputs.unassigned_open_tickets_sql(tickets.rows, categories.rows)
        ).df()
        crew = con.execute(model_inputs.agent_capacity_sql(agents.rows, tickets.rows)).df()
    plan = plan_assignments(waiting, crew)
    report = plan.report
    return Output(
        validate_derived(schemas.AssignmentPlan, plan.assignments),
        metadata={
            "open_tickets_without_agent": report["tickets"],
            "agents": report["agents"],
            "planned": report["optimal"]["planned"],
            "greedy_planned": report["greedy"]["planned"],
            "objective": report["optimal"]["objective"],
            "greedy_objective": report["greedy"]["objective"],
            "comparison": MetadataValue.json(report),
        },
    )
