"""The support models as plain functions: the forecast on series with a known weekly pattern
(the chosen model beats the seasonal-naive baseline) and its fallbacks; the classifier on a
tiny labelled set and the keyword baseline; the assignment on small cases solved by hand,
and against brute force."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from cx_assets.support.models import assign
from cx_assets.support.models.assign import (
    ALL_FULL,
    NO_CATEGORY,
    NO_SKILL,
    OUTRANKED,
    plan_assignments,
)
from cx_assets.support.models.categorize import (
    ClassifierSettings,
    TicketClassifier,
    beats_baselines,
    keyword_predictions,
    predict_categories,
    train_classifier,
)
from cx_assets.support.models.forecast import (
    BASELINE,
    SHORT_FALLBACK,
    backtest_windows,
    coverage,
    fit_forecaster,
    forecast_table,
    series_frame,
)

# --------------------------------------------------------------------------- forecast

FIRST = date(2024, 1, 1)  # a Monday
WEEK = np.array([1.5, 1.2, 1.05, 1.0, 0.9, 0.45, 0.4])


def _daily(days: int, seed: int = 3) -> pd.DataFrame:
    """Tickets per day for two categories: a strong weekly pattern, a trend and noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for category, level in (("billing", 200), ("shipping", 120)):
        for offset in range(days):
            expected = level * WEEK[offset % 7] * (1 + 0.004 * offset)
            rows.append(
                {
                    "day": FIRST + timedelta(days=offset),
                    "category": category,
                    "tickets": int(rng.poisson(expected)),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fitted():
    days = 63
    last = FIRST + timedelta(days=days - 1)
    return fit_forecaster(series_frame(_daily(days), FIRST, last), last)


def test_series_hold_each_category_and_all_zero_filled():
    daily = pd.DataFrame(
        {
            "day": [FIRST, FIRST + timedelta(days=2)],
            "category": ["billing", None],
            "tickets": [3, 4],
        }
    )
    frame = series_frame(daily, FIRST, FIRST + timedelta(days=2))
    assert sorted(frame["unique_id"].unique()) == ["all", "billing"]
    assert frame[frame["unique_id"] == "all"]["y"].tolist() == [3.0, 0.0, 4.0]
    assert frame[frame["unique_id"] == "billing"]["y"].tolist() == [3.0, 0.0, 0.0]


def test_the_chosen_model_beats_the_seasonal_naive_baseline_on_a_weekly_series(fitted):
    assert not fitted.fell_back and fitted.windows == 3
    assert set(fitted.chosen) == {"all", "billing", "shipping"}
    for series, model in fitted.chosen.items():
        assert model != BASELINE, series
        assert fitted.mase_of(series, model) < fitted.mase_of(series, BASELINE), series
    covered = fitted.backtest[fitted.backtest["chosen"]]
    assert covered["coverage_95"].between(0, 1).all()


def test_the_forecast_covers_14_days_after_the_as_of_day_with_ordered_intervals(fitted):
    table = forecast_table(fitted)
    assert len(table) == 14 * 3
    assert table["date"].min() == fitted.as_of_day + timedelta(days=1)
    assert table["date"].max() == fitted.as_of_day + timedelta(days=14)
    ordered = (
        (table["lo_95"] <= table["lo_80"])
        & (table["lo_80"] <= table["forecast"])
        & (table["forecast"] <= table["hi_80"])
        & (table["hi_80"] <= table["hi_95"])
    )
    assert ordered.all() and (table["lo_95"] >= 0).all()
    assert table["backtest_mase"].notna().all() and table["baseline_mase"].notna().all()
    monday = table[(table["category"] == "all") & (pd.to_datetime(table["date"]).dt.dayofweek == 0)]
    sunday = table[(table["category"] == "all") & (pd.to_datetime(table["date"]).dt.dayofweek == 6)]
    assert monday["forecast"].mean() > 2 * sunday["forecast"].mean()  # the weekly pattern


# docs: one window needs 35 days (21 of training before 14), so 34 fall back; Naive with
# fewer than 8 days (7 is too few), SeasonalNaive(7) from 8.
@pytest.mark.parametrize(
    ("days", "model"),
    [(34, BASELINE), (20, BASELINE), (8, BASELINE), (7, SHORT_FALLBACK), (5, SHORT_FALLBACK)],
)
def test_too_little_history_falls_back_and_says_so(days, model):
    last = FIRST + timedelta(days=days - 1)
    forecaster = fit_forecaster(series_frame(_daily(days), FIRST, last), last)
    assert forecaster.fell_back and forecaster.windows == 0
    assert f"{days} days of history" in forecaster.reason
    table = forecast_table(forecaster)
    assert set(table["model"]) == {model} and len(table) == 14 * 3
    assert table["backtest_mase"].isna().all()


def test_a_category_new_in_the_backtest_is_scored_on_the_windows_that_can_be(fitted):
    """Found by hand: a category first delivered after a window's training days has no MASE
    in that window (its seasonal-naive error there is 0), and one such window made every
    candidate's mean NaN: the model was then chosen by MAE, first listed among equals, with
    null MASEs and no warning."""
    days = 63
    last = FIRST + timedelta(days=days - 1)
    rng = np.random.default_rng(5)
    late = [
        {"day": FIRST + timedelta(days=offset), "category": category,
         "tickets": int(rng.poisson(60 * WEEK[offset % 7]))}
        for category, first in (("refunds", 40), ("returns", 55))
        for offset in range(first, days)
    ]  # fmt: skip
    daily = pd.concat([_daily(days), pd.DataFrame(late)], ignore_index=True)
    forecaster = fit_forecaster(series_frame(daily, FIRST, last), last)
    assert not forecaster.fell_back and forecaster.windows == 3
    backtest = forecaster.backtest.set_index(["series", "model"])
    # Windows train on days 0-20, 0-34 and 0-48: refunds (from day 40) only the last.
    refunds = backtest.loc["refunds"]
    assert (refunds["windows_scored"] == 1).all() and refunds["mase"].notna().all()
    assert forecaster.chosen["refunds"] == refunds["mase"].idxmin()
    assert (backtest.loc["billing", "windows_scored"] == 3).all()
    # Returns (from day 55) has no window to score: the baseline, and the check says so.
    assert backtest.loc["returns", "mase"].isna().all()
    assert forecaster.unscored == ("returns",)
    assert forecaster.chosen["returns"] == BASELINE
    assert forecaster.baseline_reason.startswith("no backtest window could score returns ")
    table = forecast_table(forecaster)
    returns = table[table["category"] == "returns"]
    assert set(returns["model"]) == {BASELINE} and returns["backtest_mase"].isna().all()
    assert table[table["category"] == "refunds"]["backtest_mase"].notna().all()
    assert fitted.baseline_reason is None


@pytest.mark.parametrize(
    ("days", "windows"),
    [(0, 0), (34, 0), (35, 1), (48, 1), (49, 2), (62, 2), (63, 3), (120, 3)],
)
def test_the_backtest_has_a_window_per_14_days_after_21_of_training_up_to_3(days, windows):
    """docs: 14-day windows, at least 21 days before the first one, up to 3: one window
    needs 35 days of history, two 49, three 63."""
    assert backtest_windows(days) == windows


def test_the_intervals_of_a_constant_series_hold_its_every_day():
    """35 days of 10 tickets a day: one window (21 + 14 days). The seasonal-naive forecast
    is 10 with no error to widen it, lo = hi = 10 = the truth: the bounds are inclusive, so
    its coverage is 1.0 at both levels (and there is no MASE: its training days repeat)."""
    days = 35
    last = FIRST + timedelta(days=days - 1)
    daily = pd.DataFrame(
        {"day": [FIRST + timedelta(days=n) for n in range(days)], "category": "billing",
         "tickets": 10}
    )  # fmt: skip
    forecaster = fit_forecaster(series_frame(daily, FIRST, last), last)
    assert not forecaster.fell_back and forecaster.windows == 1
    baseline = forecaster.backtest[forecaster.backtest["model"] == BASELINE].set_index("series")
    assert baseline.loc[["all", "billing"], "coverage_80"].tolist() == [1.0, 1.0]
    assert baseline.loc[["all", "billing"], "coverage_95"].tolist() == [1.0, 1.0]


def _seasonal_naive_mase(history: pd.DataFrame, series: str, last_training_days) -> float:
    """By hand, SeasonalNaive(7)'s mean MASE over the windows: a window after training days
    0..c forecasts day c + 1 + h as day c + 1 - 7 + h % 7 (the last week again); its MAE over
    the 14 days, divided by the mean |y[t] - y[t - 7]| over the training days."""
    y = history.loc[history["unique_id"] == series, "y"].to_numpy()
    scores = []
    for c in last_training_days:
        train, truth = y[: c + 1], y[c + 1 : c + 15]
        forecast = np.array([train[c + 1 - 7 + h % 7] for h in range(14)])
        scale = np.abs(train[7:] - train[:-7]).mean()
        scores.append(np.abs(truth - forecast).mean() / scale)
    return float(np.mean(scores))


# 63 days, 3 windows of 14: trained on days 0-20, 0-34 and 0-48.
LAST_TRAINING_DAYS = (20, 34, 48)


def test_the_backtest_mase_is_the_mean_over_the_windows(fitted):
    """docs: MASE = each window's MAE ÷ the seasonal-naive MAE inside that window's training
    data, averaged over the windows; the baseline's, worked by hand, for every series."""
    history = series_frame(_daily(63), FIRST, fitted.as_of_day)
    backtest = fitted.backtest.set_index(["series", "model"])
    for series in ("all", "billing", "shipping"):
        expected = _seasonal_naive_mase(history, series, LAST_TRAINING_DAYS)
        assert backtest.loc[(series, BASELINE), "mase"] == pytest.approx(expected, rel=1e-9)
        assert backtest.loc[(series, BASELINE), "windows_scored"] == 3


def test_the_baseline_mase_of_the_forecast_is_seasonal_naives(fitted):
    """Contract 4.4: `baseline_mase` is SeasonalNaive(7)'s MASE in the same backtest (worked
    by hand), beside the chosen model's `backtest_mase` (never the baseline here)."""
    history = series_frame(_daily(63), FIRST, fitted.as_of_day)
    table = forecast_table(fitted)
    for series in ("all", "billing", "shipping"):
        rows = table[table["category"] == series]
        expected = _seasonal_naive_mase(history, series, LAST_TRAINING_DAYS)
        assert rows["baseline_mase"].to_numpy() == pytest.approx([expected] * 14, rel=1e-9)
        assert (rows["backtest_mase"] < rows["baseline_mase"]).all()


def test_the_80_interval_holds_the_truth_no_more_often_than_the_95_one(fitted):
    """The 80% interval lies inside the 95% one, so it covers at most as often, and on 42
    noisy backtest days per series it misses some day the 95% one holds."""
    backtest = fitted.backtest
    assert (backtest["coverage_80"] <= backtest["coverage_95"]).all()
    assert (backtest["coverage_80"] < backtest["coverage_95"]).any()


def test_the_coverage_in_the_metadata_is_the_chosen_models(fitted):
    """docs: the metadata's coverage is how often the chosen models' intervals held the
    truth in the backtest: the mean over series of the chosen model's row, no other model's."""
    backtest = fitted.backtest.set_index(["series", "model"])
    chosen = list(fitted.chosen.items())
    expected = {
        level: float(np.mean([backtest.loc[key, level] for key in chosen]))
        for level in ("coverage_80", "coverage_95")
    }
    assert coverage(fitted) == pytest.approx(expected)


def test_no_history_gives_an_empty_forecast():
    forecaster = fit_forecaster(series_frame(_daily(0), None, None), None)
    assert forecaster.fell_back and forecast_table(forecaster).empty


# --------------------------------------------------------------------------- categorization

KEYWORDS = {"billing": ("invoice", "refund"), "shipping": ("package", "tracking")}
WORDS = {
    "billing": ["invoice", "refund", "charged", "payment", "card"],
    "shipping": ["package", "tracking", "courier", "delivery", "parcel"],
    "account": ["password", "login", "profile", "locked", "email"],
}


def _labelled(count: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(count):
        category = ("billing", "shipping", "billing", "account")[n % 4]
        words = [*rng.choice(WORDS[category], 3), "my", "order", "please", "help"]
        rows.append(
            {
                "ticket_id": f"T{n:04d}",
                "created_at": pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=n),
                "text": " ".join(rng.permutation(words)),
                "category": category,
            }
        )
    return pd.DataFrame(rows)


def test_the_classifier_beats_both_baselines_on_a_small_labelled_set():
    classifier = train_classifier(_labelled(92), KEYWORDS, date(2024, 1, 4))
    metrics = classifier.metrics
    assert classifier.pipeline is not None
    assert metrics["training_rows"] == 92 and metrics["holdout_rows"] == 18
    assert metrics["model_accuracy"] > 0.9
    assert metrics["majority_accuracy"] < 0.6  # billing, half of the tickets
    # the keyword rule knows nothing of accounts (a quarter): they fall back to billing
    assert metrics["keyword_accuracy"] < 0.8
    assert beats_baselines(classifier)
    predicted = predict_categories(classifier, ["refund for my invoice", "tracking of my parcel"])
    assert predicted["predicted_category"].tolist() == ["billing", "shipping"]
    assert predicted["confidence"].between(0, 1).all()


def test_the_stored_classifier_keeps_no_term_seen_once():
    """A name written in one ticket (a rare term, dropped by `min_df`) is not in the pickled
    model, which lives outside bronze. (scikit-learn before 1.5 kept such terms in the
    vectorizer's `stop_words_`, CVE-2024-5206; we require 1.6 or later.)"""
    import io

    import joblib

    rows = _labelled(92)
    rows.loc[5, "text"] += " signed zebedeu vasconcelos"
    classifier = train_classifier(rows, KEYWORDS, date(2024, 1, 4))
    stored = io.BytesIO()
    joblib.dump(classifier, stored)
    assert b"zebedeu" not in stored.getvalue() and b"vasconcelos" not in stored.getvalue()
    assert b"invoice" in stored.getvalue()  # the vocabulary it learned from is kept
    predicted = predict_categories(classifier, ["refund for my invoice"])
    assert predicted["predicted_category"].tolist() == ["billing"]


def test_the_holdout_is_the_newest_rows_and_training_is_capped():
    rows = _labelled(120)
    settings = ClassifierSettings(max_training_rows=60, holdout_share=0.25)
    classifier = train_classifier(rows, KEYWORDS, None, settings)
    assert classifier.metrics["training_rows"] == 60
    assert classifier.metrics["holdout_rows"] == 15


def test_the_training_cap_keeps_the_newest_rows():
    """docs: the classifier learns from the most recent rows (the cap). The older 45 rows are
    billing and shipping, the newer 45 billing and account: with a cap of 40, the 40 newest,
    the model knows account and not shipping."""
    rows = _labelled(120)
    older, newer = rows.iloc[:60], rows.iloc[60:]
    rows = pd.concat(
        [older[older["category"] != "account"], newer[newer["category"] != "shipping"]],
        ignore_index=True,
    )
    settings = ClassifierSettings(max_training_rows=40)
    classifier = train_classifier(rows, KEYWORDS, None, settings)
    assert classifier.metrics["training_rows"] == 40
    assert classifier.categories == ("account", "billing")


def _two_category_holdout() -> pd.DataFrame:
    """25 tickets, oldest first: 12 billing and 8 shipping, then the holdout (the newest 20%,
    5): 4 billing and 1 shipping."""
    categories = ["billing", "shipping"] * 8 + ["billing"] * 8 + ["shipping"]
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "ticket_id": [f"T{n:02d}" for n in range(len(categories))],
            "created_at": [
                pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=n)
                for n in range(len(categories))
            ],
            "text": [" ".join([*rng.choice(WORDS[c], 3), "my", "order"]) for c in categories],
            "category": categories,
        }
    )


def test_the_holdout_scores_are_macro_f1_a_small_category_counting_as_much():
    """The majority baseline says billing for all 5 holdout tickets: billing F1 = 2 * 0.8 *
    1 / 1.8 = 8/9, shipping (never said) 0, macro-F1 = (8/9 + 0) / 2 = 4/9; accuracy 4/5
    (which micro-F1 would equal)."""
    classifier = train_classifier(_two_category_holdout(), KEYWORDS, date(2024, 1, 2))
    metrics = classifier.metrics
    assert (metrics["training_rows"], metrics["holdout_rows"]) == (25, 5)
    assert metrics["majority_macro_f1"] == pytest.approx(4 / 9)
    assert metrics["majority_accuracy"] == pytest.approx(0.8)


BEATEN = {"majority_macro_f1": 0.3, "majority_accuracy": 0.5, "keyword_macro_f1": 0.6,
          "keyword_accuracy": 0.65, "model_macro_f1": 0.8, "model_accuracy": 0.8}  # fmt: skip


@pytest.mark.parametrize(
    "tie", [None, "majority_macro_f1", "majority_accuracy", "keyword_macro_f1", "keyword_accuracy"]
)
def test_beating_the_baselines_means_above_both_on_both_measures_a_tie_is_not(tie):
    """docs: the model must beat both baselines on macro-F1 and accuracy; equalling one on
    one measure (above everything else) is not beating it."""
    metrics = {**BEATEN, **({tie: 0.8} if tie else {})}
    classifier = TicketClassifier("a fitted pipeline", ("billing",), metrics, pd.DataFrame(), None)
    assert beats_baselines(classifier) is (tie is None)


def test_a_classifier_is_kept_while_its_inputs_are_unchanged_and_refitted_otherwise():
    rows = _labelled(92)
    first = train_classifier(rows, KEYWORDS, date(2024, 1, 4))
    assert train_classifier(rows.copy(), KEYWORDS, date(2024, 1, 4), previous=first) is first
    # keeping it is only right because a refit on the same inputs is the same model
    again = train_classifier(rows, KEYWORDS, date(2024, 1, 4))
    texts = rows["text"].tolist()
    pd.testing.assert_frame_equal(
        predict_categories(again, texts), predict_categories(first, texts)
    )
    relabelled = rows.assign(category=rows["category"].where(rows.index != 0, "shipping"))
    for changed in (
        train_classifier(relabelled, KEYWORDS, date(2024, 1, 4), previous=first),
        train_classifier(rows, KEYWORDS, date(2024, 1, 5), previous=first),
        train_classifier(rows, {"billing": ("invoice",)}, date(2024, 1, 4), previous=first),
    ):
        assert changed is not first and changed.fingerprint != first.fingerprint


def test_a_forecaster_is_kept_while_its_series_are_unchanged_and_refitted_otherwise(fitted):
    last = FIRST + timedelta(days=62)
    history = series_frame(_daily(63), FIRST, last)
    assert fit_forecaster(history.copy(), last, previous=fitted) is fitted
    short_last = FIRST + timedelta(days=9)
    short = fit_forecaster(series_frame(_daily(10), FIRST, short_last), short_last)
    other = series_frame(_daily(10, seed=4), FIRST, short_last)
    assert fit_forecaster(other, short_last, previous=short) is not short


def test_too_few_categorized_tickets_give_no_model_and_null_predictions():
    classifier = train_classifier(_labelled(6), KEYWORDS, None)
    assert classifier.pipeline is None and "needed" in classifier.reason
    assert not beats_baselines(classifier)
    predicted = predict_categories(classifier, ["anything"])
    assert predicted["predicted_category"].isna().all() and predicted["confidence"].isna().all()


def _two_categories(count: int) -> pd.DataFrame:
    """`count` tickets, billing and shipping in turn."""
    rows = _labelled(count * 2)
    return rows[rows["category"].isin(["billing", "shipping"])].head(count)


@pytest.mark.parametrize("count", [20, 22])
def test_twenty_categorized_tickets_are_enough_for_a_model(count):
    """The minimum counts every ticket the model learns from: 22 (11 a category) once gave
    no model, "18 categorized tickets to learn from, 20 needed" (the older 80% alone)."""
    classifier = train_classifier(_two_categories(count), KEYWORDS, date(2024, 1, 4))
    assert classifier.pipeline is not None, classifier.reason
    assert classifier.metrics["training_rows"] == count
    assert set(classifier.categories) == {"billing", "shipping"}


def test_nineteen_categorized_tickets_are_not_enough_and_the_reason_counts_them_all():
    classifier = train_classifier(_two_categories(19), KEYWORDS, date(2024, 1, 4))
    assert classifier.pipeline is None
    assert classifier.reason == "19 categorized tickets to learn from, 20 needed"


@pytest.mark.parametrize(
    "text",
    [
        "x",  # one letter: no token
        "123 456 7-8 (9)",  # digits and signs only
    ],
)
def test_tickets_without_a_word_to_learn_give_no_model_and_say_why(text):
    """Enough categorized tickets, but TF-IDF finds no term in them: scikit-learn refuses
    to fit ("empty vocabulary"), which failed the model's step and every table after it."""
    rows = _labelled(92).assign(text=text)
    classifier = train_classifier(rows, KEYWORDS, date(2024, 1, 4))
    assert classifier.pipeline is None
    # all 92, not the older part fitted first to score the holdout (an audit saw 32 of 40)
    assert classifier.reason.startswith("no word to learn from in 92 categorized tickets")
    assert classifier.metrics["training_rows"] == 92
    assert not beats_baselines(classifier)
    assert predict_categories(classifier, ["refund"])["predicted_category"].isna().all()


def test_words_each_in_one_ticket_only_are_no_words_either():
    rows = _labelled(92)
    rows["text"] = [f"word{chr(97 + n % 26)}{chr(97 + n // 26)}" for n in range(len(rows))]
    rows["text"] = rows["text"].str.replace(r"\d", "", regex=True)
    assert rows["text"].is_unique  # min_df=2 keeps no term
    classifier = train_classifier(rows, KEYWORDS, date(2024, 1, 4))
    assert classifier.pipeline is None and classifier.reason.startswith("no word to learn")


def test_the_keyword_baseline_counts_hits_breaks_ties_alphabetically_and_falls_back():
    texts = [
        "refund for the invoice of my package",  # billing 2, shipping 1
        "package refund",  # a tie: billing before shipping
        "Tracking, please",  # case and punctuation do not matter
        "nothing to see here",
    ]
    assert keyword_predictions(texts, KEYWORDS, "account").tolist() == [
        "billing",
        "billing",
        "shipping",
        "account",
    ]


# --------------------------------------------------------------------------- assignment

DEADLINE = pd.Timestamp("2024-03-01 12:00", tz="UTC")


def _tickets(*rows: tuple) -> pd.DataFrame:
    """(ticket_id, priority, category[, minutes to deadline])."""
    return pd.DataFrame(
        columns=["ticket_id", "priority", "category", "sla_deadline"],
        data=[
            {
                "ticket_id": row[0],
                "priority": row[1],
                "category": row[2],
                "sla_deadline": DEADLINE + pd.Timedelta(minutes=row[3] if len(row) > 3 else 0),
            }
            for row in rows
        ],
    )


def _agents(*rows: tuple) -> pd.DataFrame:
    """(agent_id, skills, max_open_tickets, open_tickets)."""
    return pd.DataFrame(rows, columns=["agent_id", "skills", "max_open_tickets", "open_tickets"])


def _planned(plan) -> dict[str, str | None]:
    return dict(zip(plan.assignments["ticket_id"], plan.assignments["agent_id"], strict=True))


def test_binding_capacity_goes_to_the_most_urgent_then_the_earliest_deadline():
    plan = plan_assignments(
        _tickets(
            ("T1", "low", "billing", -600),
            ("T2", "urgent", "billing", 30),
            ("T3", "high", "billing", 10),
            ("T4", "high", "billing", -5),  # already breached: earliest deadline
        ),
        _agents(("A1", "billing", 4, 2)),  # room for 2
    )
    assert _planned(plan) == {"T2": "A1", "T4": "A1", "T3": None, "T1": None}
    reasons = plan.assignments.set_index("ticket_id")["reason"]
    assert reasons["T3"] == OUTRANKED.format(category="billing")
    assert pd.isna(reasons["T2"])


def test_a_skill_nobody_has_no_category_and_full_agents_are_explained():
    plan = plan_assignments(
        _tickets(("T1", "urgent", "legal"), ("T2", "high", None), ("T3", "low", "billing")),
        _agents(("A1", "billing;returns", 3, 3), ("A2", "technical", 5, 0)),
    )
    reasons = plan.assignments.set_index("ticket_id")["reason"]
    assert reasons["T1"] == NO_SKILL.format(category="legal")
    assert reasons["T2"] == NO_CATEGORY
    assert reasons["T3"] == ALL_FULL.format(category="billing")
    assert plan.assignments["agent_id"].isna().all()


def test_the_optimum_reroutes_where_greedy_gets_stuck():
    # A1 takes billing and technical, A2 billing only, one free slot each. Greedy gives the
    # urgent billing ticket to A1 (tie on load, first by id) and strands the technical one.
    plan = plan_assignments(
        _tickets(("T1", "urgent", "billing"), ("T2", "high", "technical")),
        _agents(("A1", "Billing; Technical", 1, 0), ("A2", "billing", 1, 0)),
    )
    assert _planned(plan) == {"T1": "A2", "T2": "A1"}
    assert plan.report["optimal"]["planned"] == 2
    assert plan.report["greedy"]["planned"] == 1
    assert plan.report["optimal"]["objective"] > plan.report["greedy"]["objective"]


def test_ties_are_broken_by_ticket_id_and_load_is_balanced():
    plan = plan_assignments(
        _tickets(
            ("T2", "medium", "billing"), ("T1", "medium", "billing"), ("T3", "medium", "billing")
        ),
        # A1 is 80% full, A2 20%: relative room decides, then agent_id
        _agents(("A1", "billing", 10, 8), ("A2", "billing", 10, 2)),
    )
    assert plan.assignments["ticket_id"].tolist() == ["T1", "T2", "T3"]  # rank order
    assert _planned(plan) == {"T1": "A2", "T2": "A2", "T3": "A2"}
    even = plan_assignments(
        _tickets(("T1", "medium", "billing"), ("T2", "medium", "billing")),
        _agents(("A1", "billing", 10, 5), ("A2", "billing", 10, 5)),
    )
    assert _planned(even) == {"T1": "A1", "T2": "A2"}


def test_least_utilised_is_by_share_of_capacity_not_by_tickets_held():
    """Utilisation is (open + new) ÷ max (docs, Assignment), for the plan and the greedy
    baseline alike. A1 holds 2 of 20 (0.10), A2 1 of 2 (0.50): the one billing ticket goes
    to A1 in both, whose utilisations after are then 3/20 and 1/2 (greedy's max 0.5)."""
    plan = plan_assignments(
        _tickets(("T1", "medium", "billing")),
        _agents(("A1", "billing", 20, 2), ("A2", "billing", 2, 1)),
    )
    assert _planned(plan) == {"T1": "A1"}
    assert plan.report["greedy"]["max_utilisation_after"] == pytest.approx(0.5)
    # Seven tickets; A1 holds 2 of 25, A2 1 of 6. The free slots cost (open + k) / max after
    # the k-th: A1 .12 .16 .20 .24 .28 .32 .36.., A2 .333 .5..: the cheapest seven are A1's
    # first six and A2's first. Handed out in rank order to the least utilised: T1-T3 to A1
    # (2, 3, 4 of 25 = .08 .12 .16 < 1/6), T4 to A2 (5/25 = .20 > 1/6), T5-T7 to A1.
    plan = plan_assignments(
        _tickets(*((f"T{n}", "medium", "billing") for n in range(1, 8))),
        _agents(("A1", "billing", 25, 2), ("A2", "billing", 6, 1)),
    )
    assert _planned(plan) == {f"T{n}": "A2" if n == 4 else "A1" for n in range(1, 8)}


def test_no_tickets_or_no_agents_give_an_empty_or_unplanned_plan():
    assert plan_assignments(_tickets(), _agents()).assignments.empty
    plan = plan_assignments(_tickets(("T1", "high", "billing")), _agents())
    assert plan.assignments["reason"].tolist() == [NO_SKILL.format(category="billing")]


@pytest.mark.parametrize("seed", [0, 3])
def test_the_load_is_exactly_balanced_on_many_tickets_and_roomy_agents(seed):
    """Seen in an audit: with the balance scaled below one unit of ticket weight, the
    differences between plans (~1e-8 on thousands of free slots) fell under the solver's
    tolerances, and a single move improved the plan. Checked against an independent exact
    assignment of the planned tickets to free slots, each costing its utilisation after."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(seed)
    categories = [f"c{n}" for n in range(6)]
    tickets = _tickets(*(
        (f"T{n:04d}", rng.choice(["urgent", "high", "medium", "low"]), rng.choice(categories),
         int(rng.integers(-600, 600)))
        for n in range(400)
    ))  # fmt: skip
    capacity = rng.integers(5, 400, 40)
    agents = _agents(*(
        (f"A{n:03d}", ";".join(rng.choice(categories, 2, replace=False)), int(capacity[n]),
         int(rng.integers(0, capacity[n])))
        for n in range(40)
    ))  # fmt: skip
    plan = plan_assignments(tickets, agents)
    crew = assign._Agents.of(agents)
    planned = plan.assignments.dropna(subset=["agent_id"])
    of_agent = {agent_id: n for n, agent_id in enumerate(crew.ids)}
    load = sum(
        crew.utilisation_after(agent, k)
        for agent, count in planned["agent_id"].map(of_agent).value_counts().items()
        for k in range(count)
    )
    slots = [(agent, k) for agent in range(len(crew.ids)) for k in range(int(crew.room[agent]))]
    skilled = np.array(
        [[assign._skill(c) in crew.skills[a] for a, _ in slots] for c in planned["category"]]
    )
    cost = np.where(skilled, [crew.utilisation_after(a, k) for a, k in slots], 1e6)
    rows, columns = linear_sum_assignment(cost)
    assert load == pytest.approx(cost[rows, columns].sum(), rel=1e-12, abs=1e-9)


def _brute_force_objective(tickets: pd.DataFrame, agents: pd.DataFrame) -> float:
    order = assign.ranked(tickets)
    crew = assign._Agents.of(agents)
    options = [[None, *crew.skilled(skill)] if skill else [None] for skill in order["skill"]]
    best = 0.0
    for combo in itertools.product(*options):
        used = np.bincount([a for a in combo if a is not None], minlength=len(crew.ids))
        if (used > crew.room).any():
            continue
        chosen = {i: a for i, a in enumerate(combo) if a is not None}
        best = max(best, assign._score(order, crew, chosen)["objective"])
    return best


def test_the_plan_is_optimal_against_brute_force_on_random_small_cases():
    rng = np.random.default_rng(11)
    categories = ["billing", "technical", "shipping", None]
    for _ in range(40):
        tickets = _tickets(
            *(
                (
                    f"T{n}",
                    rng.choice(["urgent", "high", "low"]),
                    rng.choice(categories),
                    int(rng.integers(-60, 60)),
                )
                for n in range(int(rng.integers(1, 6)))
            )
        )
        agents = _agents(
            *(
                (
                    f"A{n}",
                    ";".join(rng.choice(categories[:3], 2, replace=False)),
                    int(rng.integers(1, 4)),
                    int(rng.integers(0, 3)),
                )
                for n in range(int(rng.integers(1, 4)))
            )
        )
        plan = plan_assignments(tickets, agents)
        assert plan.report["optimal"]["objective"] == pytest.approx(
            _brute_force_objective(tickets, agents), abs=1e-9
        )
