"""Support's three models on 60 days of scale-1 history, as their assets run them.

The history is generated and run once (not measured); then, reading their inputs from the
warehouse: categorization (train, evaluate, predict the uncategorized tickets), the volume
forecast (backtest, fit, forecast) and the assignment plan; plus 3,000 open tickets × 150
agents assigned optimally.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
from bench_report import last_run_line
from bench_run import CLI, LandingSets, data_root_env, days_from, fresh_root, run_measured

MODEL_DAYS = 60
TARGET_MODELS_S = 30.0
TARGET_ASSIGNMENT_S = 2.0


def _time(work):
    began = time.perf_counter()
    value = work()
    return value, time.perf_counter() - began


def bench_support_models(
    work_dir: Path, landing_sets: LandingSets, days: int = MODEL_DAYS, scale: float = 1.0
) -> dict[str, object]:
    """Support's three models on `days` of history at `scale`, as their assets run them."""
    import warnings

    import numpy as np
    import pandas as pd

    from cx_assets.support import model_inputs, rules
    from cx_assets.support.models.assign import plan_assignments
    from cx_assets.support.models.categorize import (
        ClassifierSettings,
        predict_categories,
        train_classifier,
    )
    from cx_assets.support.models.forecast import fit_forecaster, forecast_table, series_frame

    warnings.filterwarnings("ignore")
    history_days = days_from(landing_sets.first_day, days)
    landing_sets.ensure("support", scale, days)
    data_dir = fresh_root(work_dir / "support-models")
    landing_sets.link_into("support", scale, history_days, data_dir)
    print(f"[support models] {days} days at scale {scale:g}: running the history ...", flush=True)
    history_run = run_measured(
        [CLI, "run", "--date", history_days[0].isoformat(), "--to", history_days[-1].isoformat(),
         "--select", "group:support"],
        data_root_env(data_dir),
    )  # fmt: skip
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET threads = 2")
    tickets, deliveries = "silver.support_tickets", "silver.support_deliveries"
    categories, agents = "gold.support_ticket_categories", "silver.support_agents"
    settings = ClassifierSettings()
    try:
        as_of_day = con.execute(f"SELECT {rules.as_of_day_sql(deliveries)}").fetchall()[0][0]

        def categorize():
            rows = con.execute(
                model_inputs.categorized_tickets_sql(
                    tickets, rules.as_of_sql(deliveries), settings.max_training_rows
                )
            ).df()
            classifier = train_classifier(rows, rules.CATEGORY_KEYWORDS, as_of_day, settings)
            texts = con.execute(model_inputs.uncategorized_tickets_sql(tickets)).df()["text"]
            return classifier, predict_categories(classifier, texts.tolist())

        def forecast():
            first, last_day = con.execute(
                f"SELECT min(date), max(date) FROM {deliveries}"
            ).fetchall()[0]
            daily = con.execute(
                model_inputs.daily_created_sql(tickets, categories, deliveries)
            ).df()
            forecaster = fit_forecaster(series_frame(daily, first, last_day), last_day)
            return forecaster, forecast_table(forecaster)

        def assign():
            waiting = con.execute(
                model_inputs.unassigned_open_tickets_sql(tickets, categories)
            ).df()
            crew = con.execute(model_inputs.agent_capacity_sql(agents, tickets)).df()
            return plan_assignments(waiting, crew)

        (classifier, predicted), categorize_s = _time(categorize)
        (forecaster, _), forecast_s = _time(forecast)
        plan, assign_s = _time(assign)
        history = con.execute(f"SELECT count(*) FROM {tickets}").fetchall()[0][0]
    finally:
        con.close()

    rng = np.random.default_rng(7)
    skills = ["billing", "technical", "account", "shipping", "returns", "general"]
    open_tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{n:05d}" for n in range(3_000)],
            "priority": rng.choice(
                ["urgent", "high", "medium", "low"], 3_000, p=[0.06, 0.2, 0.44, 0.3]
            ),
            "category": rng.choice(skills, 3_000),
            "sla_deadline": pd.Timestamp("2024-03-01", tz="UTC")
            + pd.to_timedelta(rng.integers(-600, 4_000, 3_000), unit="min"),
        }
    )
    capacity = rng.integers(25, 71, 150)
    crew = pd.DataFrame(
        {
            "agent_id": [f"A{n:03d}" for n in range(150)],
            "skills": [
                ";".join(rng.choice(skills, rng.integers(1, 4), replace=False)) for _ in range(150)
            ],
            "max_open_tickets": capacity,
            "open_tickets": (capacity * rng.uniform(0.5, 1.05, 150)).astype(int),
        }
    )
    large, large_s = _time(lambda: plan_assignments(open_tickets, crew))
    result = {
        "history_days": days,
        "history_scale": scale,
        "history_tickets": int(history),
        "history_run_s": history_run.seconds,
        "categorize_s": categorize_s,
        "forecast_s": forecast_s,
        "assign_s": assign_s,
        "models_s": categorize_s + forecast_s + assign_s,
        "training_rows": classifier.metrics.get("training_rows"),
        "macro_f1": classifier.metrics.get("model_macro_f1"),
        "keyword_macro_f1": classifier.metrics.get("keyword_macro_f1"),
        "predicted": len(predicted),
        "windows": forecaster.windows,
        "plan_tickets": plan.report["tickets"],
        "large_s": large_s,
        "large_planned": large.report["optimal"]["planned"],
        "large_greedy_planned": large.report["greedy"]["planned"],
    }
    print(
        f"[support models] categorize {categorize_s:.1f} s, forecast {forecast_s:.1f} s, "
        f"assign {assign_s:.2f} s (together {result['models_s']:.1f} s); "
        f"3,000 x 150 assignment {large_s:.2f} s",
        flush=True,
    )
    return result


def support_models_section(r: dict[str, object], command: str) -> str:
    return "\n".join(
        [
            last_run_line(command),
            "",
            f"History: {r['history_days']} days at scale {r['history_scale']:g} ({r['history_tickets']:,} tickets), "
            f"materialized once by `cx-lakehouse run` in {r['history_run_s']:.0f} s (not part "
            "of the model times).",
            "",
            "| model | what is timed | seconds |",
            "| --- | --- | ---: |",
            f"| categorization | read {r['training_rows']:,} training rows, train and evaluate "
            f"(holdout macro-F1 {r['macro_f1']:.3f}, keyword baseline "
            f"{r['keyword_macro_f1']:.3f}), predict {r['predicted']:,} uncategorized tickets "
            f"| {r['categorize_s']:.1f} |",
            f"| volume forecast | daily series, backtest ({r['windows']} windows × 4 models), "
            f"fit, 14-day forecast | {r['forecast_s']:.1f} |",
            f"| assignment plan | {r['plan_tickets']:,} open unassigned tickets of the last "
            f"day | {r['assign_s']:.2f} |",
            f"| **the three together** | target under {TARGET_MODELS_S:.0f} s "
            f"| **{r['models_s']:.1f}** |",
            f"| assignment, 3,000 open tickets × 150 agents | optimal plan "
            f"({r['large_planned']:,} planned; greedy {r['large_greedy_planned']:,}); "
            f"target under {TARGET_ASSIGNMENT_S:.0f} s | **{r['large_s']:.2f}** |",
        ]
    )
