"""Support's own checks, where no declaration fits (keys, grains and reconciliation are
declared on the assets). Each takes the asset definitions it reads, never a table name.

| check | on | severity |
| --- | --- | --- |
| `sla_flags_consistent` | gold ticket analytics | ERROR: targets, minutes and breach flags agree with the priority, the timestamps and the breach rule as of the as-of time |
| `breach_share_in_band` | gold ticket analytics | WARN (run config): breached tickets ÷ tickets created in the 7 days ending on the as-of day |
| `forecast_intervals_ordered` | gold volume forecast | ERROR: lo_95 ≤ lo_80 ≤ forecast ≤ hi_80 ≤ hi_95 |
| `forecast_fell_back_to_baseline` | volume forecaster | WARN (run config): too little history for a backtest, or a series no window could score |
| `forecast_history_without_empty_days` | volume forecaster | WARN (run config): a day of the history on which no ticket was created (as when a day's files never landed) |
| `classifier_beats_baselines` | ticket classifier | WARN (run config): macro-F1 and accuracy above the majority-class and keyword baselines |
| `plan_within_skills_and_capacity` | gold assignment plan | ERROR: no ticket to an agent without its skill, no agent over capacity |
"""

from datetime import timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetsDefinition,
    Field,
    MetadataValue,
    asset_check,
)

from cx_assets.lakehouse.check_settings import CheckSettings
from cx_assets.lakehouse.checks import CONFIGURED_SEVERITY_BLOCKS, band_config, severity_config
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.sql import qualified
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets.lakehouse.warehouse_tables import scalar, table_exists
from cx_assets.support import rules
from cx_assets.support.assets import (
    support_agents,
    support_assignment_plan,
    support_deliveries,
    support_ticket_analytics,
    support_ticket_classifier,
    support_tickets,
    support_volume_forecast,
    support_volume_forecaster,
)
from cx_assets.support.model_assets import stored_model
from cx_assets.support.models.categorize import beats_baselines

SLA_FLAGS_CONSISTENT = "sla_flags_consistent"
# How many rows (tickets, agents) a failing check of the forecast or the plan names.
EXAMPLES_SHOWN = 5
BREACH_SHARE_IN_BAND = "breach_share_in_band"
FORECAST_INTERVALS_ORDERED = "forecast_intervals_ordered"
FORECAST_FELL_BACK = "forecast_fell_back_to_baseline"
FORECAST_EMPTY_DAYS = "forecast_history_without_empty_days"
CLASSIFIER_BEATS_BASELINES = "classifier_beats_baselines"
PLAN_WITHIN_SKILLS_AND_CAPACITY = "plan_within_skills_and_capacity"

RULES = rules.DEFAULT_RULES


# The config of a check that takes none: Dagster takes any config for a step declaring
# none, and ignores it (a severity set under an ERROR check's step, unsaid).
NO_SETTINGS: dict = {}


def _name(asset_def: AssetsDefinition) -> str:
    return qualified(*asset_def.key.path)


def _missing(con, *assets: AssetsDefinition) -> AssetCheckResult | None:
    """An ERROR whatever a check's configured severity: a table its asset's step wrote, or an
    upstream one, is not there (a check run alone on a data root that never built it), so
    nothing can be judged."""
    for asset_def in assets:
        if not table_exists(con, *asset_def.key.path):
            return AssetCheckResult(
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                description=f"{asset_def.key.to_user_string()} does not exist",
            )
    return None


def sla_flags_check(
    analytics: AssetsDefinition, deliveries: AssetsDefinition
) -> AssetChecksDefinition:
    @asset_check(
        asset=analytics,
        name=SLA_FLAGS_CONSISTENT,
        description="ERROR unless every row's targets match its priority, its minutes its "
        "timestamps, and its breach flags the rule as of the end of the latest day.",
        blocking=True,
        config_schema=NO_SETTINGS,
    )
    def sla_flags_consistent(warehouse: Warehouse) -> AssetCheckResult:
        with warehouse.connect() as con:
            if missing := _missing(con, analytics, deliveries):
                return missing
            as_of = rules.as_of_sql(_name(deliveries))
            count = int(
                scalar(
                    con,
                    f"SELECT count(*) FROM "
                    f"({rules.sla_inconsistencies_sql(_name(analytics), as_of, RULES)})",
                )
            )
            examples = [
                {"date": day.isoformat(), "ticket_id": ticket, "fields": list(fields)}
                for day, ticket, fields in (
                    con.execute(
                        rules.sla_inconsistency_examples_sql(
                            _name(analytics), as_of, EXAMPLES_SHOWN, RULES
                        )
                    ).fetchall()
                    if count
                    else []
                )
            ]
        first = examples[0] if examples else None
        tickets = "1 ticket's" if count == 1 else f"{count} tickets'"
        return AssetCheckResult(
            passed=count == 0,
            severity=AssetCheckSeverity.ERROR,
            description=(
                f"{tickets} SLA fields disagree with the rule, "
                f"such as {first['ticket_id']} (created {first['date']}): "
                f"{', '.join(first['fields'])}"
            )
            if first
            else None,
            metadata={"inconsistent_tickets": count}
            | ({"inconsistent_examples": MetadataValue.json(examples)} if examples else {}),
        )

    return sla_flags_consistent


def breach_share_check(
    analytics: AssetsDefinition, deliveries: AssetsDefinition
) -> AssetChecksDefinition:
    low, high = RULES.breach_share_band

    @asset_check(
        asset=analytics,
        name=BREACH_SHARE_IN_BAND,
        description="Tickets with either SLA target breached ÷ tickets created in the "
        f"{RULES.breach_share_window_days} days ending on the as-of day. WARN by default "
        f"outside [{low}, {high}] (run config).",
        blocking=CONFIGURED_SEVERITY_BLOCKS,
        # A window of no days (refused when a run is created) held no ticket: no share,
        # passed whatever the breaches.
        config_schema=CheckSettings(
            {
                **band_config(low, high),
                "window_days": Field(int, default_value=RULES.breach_share_window_days),
            }
        ),
    )
    def breach_share_in_band(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> AssetCheckResult:
        config = context.op_execution_context.op_config
        with warehouse.connect() as con:
            if missing := _missing(con, analytics, deliveries):
                return missing
            as_of_day = rules.as_of_day_sql(_name(deliveries))
            tickets, breached, share = con.execute(
                rules.breach_share_sql(_name(analytics), as_of_day, config["window_days"])
            ).fetchall()[0]
            last_day = con.execute(f"SELECT {as_of_day}").fetchall()[0][0]
        # The days judged: the window ends on the as-of day, which moves with every run, and
        # begins no earlier than the lake's first day (a window of "everything", a million
        # days, would begin before year 1, which Python's dates do not hold).
        first_day = (
            last_day
            - timedelta(
                days=min(
                    config["window_days"] - 1,
                    max(0, (last_day - daily_partitions.start.date()).days),
                )
            )
            if last_day
            else None
        )
        inside = share is None or config["low"] <= share <= config["high"]
        return AssetCheckResult(
            passed=inside,
            severity=config["severity"],
            description=None
            if inside
            else f"breach share {share:.3f} ({int(breached)} of {int(tickets)} tickets created "
            f"{first_day}..{last_day}) outside [{config['low']}, {config['high']}]",
            metadata={
                "tickets": int(tickets),
                "breached": int(breached),
                "share": float(share) if share is not None else None,
                "low": config["low"],
                "high": config["high"],
                "first_day": first_day.isoformat() if first_day else None,
                "last_day": last_day.isoformat() if last_day else None,
            },
        )

    return breach_share_in_band


def intervals_check(forecast: AssetsDefinition) -> AssetChecksDefinition:
    @asset_check(
        asset=forecast,
        name=FORECAST_INTERVALS_ORDERED,
        description="ERROR unless every forecast row has lo_95 ≤ lo_80 ≤ forecast ≤ hi_80 ≤ hi_95.",
        blocking=True,
        config_schema=NO_SETTINGS,
    )
    def forecast_intervals_ordered(warehouse: Warehouse) -> AssetCheckResult:
        with warehouse.connect() as con:
            if missing := _missing(con, forecast):
                return missing
            broken = int(scalar(con, rules.misordered_intervals_sql(_name(forecast))))
            examples = [
                {"date": day.isoformat(), "category": category}
                for day, category in con.execute(
                    rules.misordered_interval_examples_sql(_name(forecast), EXAMPLES_SHOWN)
                ).fetchall()
            ]
        first = f" (e.g. {examples[0]['date']} {examples[0]['category']})" if examples else ""
        rows = "1 row" if broken == 1 else f"{broken} rows"
        return AssetCheckResult(
            passed=broken == 0,
            severity=AssetCheckSeverity.ERROR,
            description=f"{rows} with intervals out of order{first}" if broken else None,
            metadata={"misordered_rows": broken}
            | ({"misordered_examples": MetadataValue.json(examples)} if examples else {}),
        )

    return forecast_intervals_ordered


# A model's judgement (WARN by default): its severity is run config under its own op, and
# it is declared blocking like every check whose severity is config.
JUDGEMENT = {
    "config_schema": {"severity": severity_config()},
    "blocking": CONFIGURED_SEVERITY_BLOCKS,
}


def _severity(context: AssetCheckExecutionContext) -> AssetCheckSeverity:
    return context.op_execution_context.op_config["severity"]


# What either forecaster check says before a forecaster was stored.
NO_FORECASTER_STORED = AssetCheckResult(
    passed=False, severity=AssetCheckSeverity.WARN, description="no forecaster stored"
)


def fell_back_check(forecaster: AssetsDefinition) -> AssetChecksDefinition:
    @asset_check(
        asset=forecaster,
        name=FORECAST_FELL_BACK,
        description="WARN (run config `severity`) when the forecaster fell back to the "
        "seasonal-naive baseline: too little history for a backtest, or a series no backtest "
        "window could score.",
        **JUDGEMENT,
    )
    def forecast_fell_back_to_baseline(
        context: AssetCheckExecutionContext, lake: Lake
    ) -> AssetCheckResult:
        model = stored_model(lake, forecaster)
        if model is None:
            return NO_FORECASTER_STORED
        # A model stored before `unscored` existed reads the class default, ().
        reason = model.baseline_reason
        return AssetCheckResult(
            passed=reason is None,
            severity=_severity(context),
            description=reason,
            metadata={
                "history_days": model.history_days,
                "backtest_windows": model.windows,
                "chosen_models": MetadataValue.json(model.chosen),
                "unscored_series": MetadataValue.json(list(model.unscored)),
            },
        )

    return forecast_fell_back_to_baseline


def empty_days_check(forecaster: AssetsDefinition) -> AssetChecksDefinition:
    @asset_check(
        asset=forecaster,
        name=FORECAST_EMPTY_DAYS,
        description="WARN (run config `severity`) when a day of the forecaster's history had "
        "no ticket created: it counts as zero, as a day whose files never landed does, and "
        "pulls the forecast down.",
        **JUDGEMENT,
    )
    def forecast_history_without_empty_days(
        context: AssetCheckExecutionContext, lake: Lake
    ) -> AssetCheckResult:
        model = stored_model(lake, forecaster)
        if model is None:
            return NO_FORECASTER_STORED
        days = list(model.empty_days)
        shown = ", ".join(days[:5]) + (f" and {len(days) - 5} more" if len(days) > 5 else "")
        return AssetCheckResult(
            passed=not days,
            severity=_severity(context),
            description=(
                f"no ticket created on {shown}: the forecast counts "
                f"{'it' if len(days) == 1 else 'them'} as zero; if the day's files had not "
                "landed, run it once they have"
            )
            if days
            else None,
            metadata={"days_without_tickets": MetadataValue.json(days)},
        )

    return forecast_history_without_empty_days


def classifier_check(classifier: AssetsDefinition) -> AssetChecksDefinition:
    @asset_check(
        asset=classifier,
        name=CLASSIFIER_BEATS_BASELINES,
        description="WARN (run config `severity`) unless the classifier's holdout macro-F1 "
        "and accuracy are above both the majority-class and the keyword baseline.",
        **JUDGEMENT,
    )
    def classifier_beats_baselines(
        context: AssetCheckExecutionContext, lake: Lake
    ) -> AssetCheckResult:
        model = stored_model(lake, classifier)
        if model is None:
            return AssetCheckResult(
                passed=False, severity=AssetCheckSeverity.WARN, description="no classifier stored"
            )
        if model.pipeline is None:  # it learnt no model: it beats no baseline
            return AssetCheckResult(
                passed=False, severity=_severity(context), description=f"no model: {model.reason}"
            )
        passed = beats_baselines(model)
        scores = {k: v for k, v in model.metrics.items() if k.endswith(("_f1", "_accuracy"))}
        failing = (
            "the classifier does not beat both baselines: " + _scores(model.metrics)
            if model.metrics.get("model_macro_f1") is not None
            else "not evaluated: the tickets before the holdout are of one category"
        )
        return AssetCheckResult(
            passed=passed,
            severity=_severity(context),
            description=None if passed else failing,
            metadata={key: float(value) for key, value in scores.items() if value is not None},
        )

    return classifier_beats_baselines


def _scores(metrics: dict) -> str:
    """The holdout scores a classifier is judged on, beside its baselines': what
    `cx-lakehouse run` shows of a failing `classifier_beats_baselines`."""
    return ", ".join(
        f"{label} {metrics[f'model_{measure}']:.3g} (majority "
        f"{metrics[f'majority_{measure}']:.3g}, keyword {metrics[f'keyword_{measure}']:.3g})"
        for measure, label in (("macro_f1", "macro-F1"), ("accuracy", "accuracy"))
    )


def plan_check(
    plan: AssetsDefinition, agents: AssetsDefinition, tickets: AssetsDefinition
) -> AssetChecksDefinition:
    @asset_check(
        asset=plan,
        name=PLAN_WITHIN_SKILLS_AND_CAPACITY,
        description="ERROR when a planned ticket goes to an agent without its category as a "
        "skill, or an agent's open plus planned tickets exceed max_open_tickets.",
        blocking=True,
        config_schema=NO_SETTINGS,
    )
    def plan_within_skills_and_capacity(warehouse: Warehouse) -> AssetCheckResult:
        with warehouse.connect() as con:
            if missing := _missing(con, plan, agents, tickets):
                return missing
            names = _name(plan), _name(agents), _name(tickets)
            without_skill, over_capacity = con.execute(
                rules.plan_violations_sql(*names)
            ).fetchall()[0]
            examples = _plan_examples(con, names, without_skill, over_capacity)
        broken = []
        if without_skill:
            noun = "ticket" if without_skill == 1 else "tickets"
            broken.append(f"{without_skill} {noun} to agents without the skill")
        if over_capacity:
            noun = "agent" if over_capacity == 1 else "agents"
            broken.append(f"{over_capacity} {noun} over capacity")
        return AssetCheckResult(
            passed=not broken,
            severity=AssetCheckSeverity.ERROR,
            description="; ".join(broken) or None,
            metadata={"without_skill": int(without_skill), "over_capacity": int(over_capacity)}
            | {name: MetadataValue.json(found) for name, found in examples.items() if found},
        )

    return plan_within_skills_and_capacity


def _plan_examples(
    con, names: tuple[str, str, str], without_skill: int, over_capacity: int
) -> dict:
    """The first tickets without the skill and agents over capacity, each kind only when the
    plan has some: what the UI shows of a failing check."""
    tickets_sql, agents_sql = rules.plan_violation_examples_sql(*names, EXAMPLES_SHOWN)
    tickets = [
        {"ticket_id": ticket, "agent_id": agent, "category": category}
        for ticket, agent, category in (
            con.execute(tickets_sql).fetchall() if without_skill else []
        )
    ]
    agents = [
        {
            "agent_id": agent,
            "open_tickets": int(held_now),
            "planned_tickets": int(planned),
            "max_open_tickets": int(most),
        }
        for agent, held_now, planned, most in (
            con.execute(agents_sql).fetchall() if over_capacity else []
        )
    ]
    return {"tickets_without_skill": tickets, "agents_over_capacity": agents}


domain_checks = [
    sla_flags_check(support_ticket_analytics, support_deliveries),
    breach_share_check(support_ticket_analytics, support_deliveries),
    intervals_check(support_volume_forecast),
    fell_back_check(support_volume_forecaster),
    empty_days_check(support_volume_forecaster),
    classifier_check(support_ticket_classifier),
    plan_check(support_assignment_plan, support_agents, support_tickets),
]
