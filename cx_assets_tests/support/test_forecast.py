"""The support forecast as plain functions: on series with a known weekly pattern the chosen
model beats the seasonal-naive baseline (its MASE and interval coverage worked by hand),
too little history falls back and says so, and the days without tickets a check reports are
those of the all-tickets series at zero."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from cx_assets.support.models.forecast import (
    BASELINE,
    SHORT_FALLBACK,
    backtest_markdown,
    backtest_windows,
    coverage,
    days_without_tickets,
    fit_forecaster,
    forecast_table,
    series_frame,
)

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


def test_the_forecast_rows_come_by_day_then_category_name(fitted):
    """A day's rows together, its categories by name (`all` among them; docs/support.md),
    the same on every run: the series came out category after category."""
    first, table = fitted.as_of_day + timedelta(days=1), forecast_table(fitted)
    assert list(zip(table["date"], table["category"], strict=True)) == [
        (first + timedelta(days=day), category)
        for day in range(14)
        for category in ("all", "billing", "shipping")
    ]


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
    assert forecaster.reason == (
        f"{days} days of history, 35 needed for a backtest: {model} for every series"
    )
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
    assert forecaster.baseline_reason.endswith(f": {BASELINE} for it")  # one series
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


def test_a_forecaster_is_kept_while_its_series_are_unchanged_and_refitted_otherwise(fitted):
    last = FIRST + timedelta(days=62)
    history = series_frame(_daily(63), FIRST, last)
    assert fit_forecaster(history.copy(), last, previous=fitted) is fitted
    short_last = FIRST + timedelta(days=9)
    short = fit_forecaster(series_frame(_daily(10), FIRST, short_last), short_last)
    other = series_frame(_daily(10, seed=4), FIRST, short_last)
    assert fit_forecaster(other, short_last, previous=short) is not short


def test_a_category_named_all_counts_in_the_all_series_and_does_not_replace_it():
    """`all` is the series of every ticket. A category delivered (or predicted) as `all`
    replaced it: on a day of 2 such tickets and 5 billing ones, the `all` series said 2,
    and the day after 2 billing tickets alone was a day "without tickets"."""
    daily = pd.DataFrame(
        {
            "day": [FIRST, FIRST, FIRST + timedelta(days=1)],
            "category": ["all", "billing", "billing"],
            "tickets": [2, 5, 2],
        }
    )
    frame = series_frame(daily, FIRST, FIRST + timedelta(days=1))
    assert sorted(frame["unique_id"].unique()) == ["all", "billing"]
    assert frame[frame["unique_id"] == "all"]["y"].tolist() == [7.0, 2.0]
    assert days_without_tickets(frame) == ()


def test_the_days_without_tickets_are_those_of_the_all_series_at_zero():
    # March 3 has one ticket: a day of few tickets is not a day without any
    history = series_frame(
        pd.DataFrame({"day": [date(2024, 3, 1), date(2024, 3, 3)], "category": ["billing", None],
                      "tickets": [4, 1]}),
        date(2024, 2, 29), date(2024, 3, 4),
    )  # fmt: skip
    assert days_without_tickets(history) == ("2024-02-29", "2024-03-02", "2024-03-04")


def test_only_the_latest_26_weeks_are_learned_from():
    """Every support run refits on a new day: the whole history made that grow with no end.
    A year of history fits on its latest 182 days, and the days before change nothing."""
    days = 365
    last = FIRST + timedelta(days=days - 1)
    daily = _daily(days)
    forecaster = fit_forecaster(series_frame(daily, FIRST, last), last)
    assert forecaster.history_days == 182
    # the year's first half, ten times larger: the same forecast
    early = daily["day"] <= last - timedelta(days=182)
    louder = daily.assign(tickets=daily["tickets"].where(~early, daily["tickets"] * 10))
    again = fit_forecaster(series_frame(louder, FIRST, last), last, previous=forecaster)
    assert again is forecaster  # its inputs were the same days


def test_a_category_holding_markdown_keeps_its_backtest_row_in_its_columns(fitted):
    """Found in a hostile-input audit: a delivered category is written into the backtest's
    Markdown table (the model's metadata in the Dagster UI) as typed, so `billing | refunds`
    made a row of one cell more, every figure after it under the wrong header, and `**`
    made it bold. Markdown's marks are escaped in a cell."""
    import dataclasses

    series = fitted.backtest["series"].replace("billing", "billing | refunds **x**")
    table = backtest_markdown(
        dataclasses.replace(fitted, backtest=fitted.backtest.assign(series=series))
    )

    def cells(line: str) -> int:
        return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))

    header, _, *rows = table.splitlines()
    assert {cells(row) for row in rows} == {cells(header)}
    assert any(row.startswith("| billing \\| refunds \\*\\*x\\*\\* |") for row in rows), rows


def test_each_series_takes_the_lowest_mase_then_the_lowest_mae_then_the_first_listed():
    """A backtest by hand: for `billing` AutoETS has the lower MASE (0.9 against 1.0) though
    the higher MAE, and wins; for `shipping` the MASEs tie (0.8) and MSTL's lower MAE wins;
    for `gifts` MASE and MAE tie and the first listed, AutoETS, wins; `returns` has no MASE
    (unscored) and keeps the baseline."""
    from cx_assets.support.models.forecast import _chosen_models

    rows = [
        ("billing", "AutoETS", 0, 0.9, 5.0), ("billing", "MSTL", 1, 1.0, 3.0),
        ("shipping", "AutoETS", 0, 0.8, 4.0), ("shipping", "MSTL", 1, 0.8, 2.0),
        ("gifts", "AutoETS", 0, 0.7, 2.0), ("gifts", "MSTL", 1, 0.7, 2.0),
        ("returns", "AutoETS", 0, np.nan, 1.0), ("returns", "MSTL", 1, np.nan, 2.0),
    ]  # fmt: skip
    backtest = pd.DataFrame(rows, columns=["series", "model", "order", "mase", "mae"])
    assert _chosen_models(backtest, ("returns",)) == {
        "billing": "AutoETS", "gifts": "AutoETS", "returns": BASELINE, "shipping": "MSTL",
    }  # fmt: skip


def test_the_candidates_are_the_documented_models_each_with_a_7_day_season():
    """docs: AutoETS, MSTL (weekly seasonality, an AutoETS trend) and AutoTheta, all with a
    7-day season, against the baseline SeasonalNaive(7)."""
    from cx_assets.support.models.forecast import ForecastSettings, candidates

    models = candidates(ForecastSettings())
    assert [(repr(m), m.season_length) for m in models] == [
        ("AutoETS", 7),
        ("MSTL", [7]),  # a list of seasons: the weekly one alone
        ("AutoTheta", 7),
        ("SeasonalNaive", 7),
    ]
    assert repr(models[1].trend_forecaster) == "AutoETS"
    assert models[1].trend_forecaster.model == "ZZN"  # a trend, no season of its own


def test_one_day_of_history_falls_back_to_naive_and_says_day():
    """One day of 3 billing tickets: Naive, the last day's count, 3 for each of the 14 days,
    and the reason in the singular."""
    forecaster = fit_forecaster(
        series_frame(pd.DataFrame({"day": [FIRST], "category": ["billing"], "tickets": [3]}),
                     FIRST, FIRST),
        FIRST,
    )  # fmt: skip
    assert forecaster.reason == (
        f"1 day of history, 35 needed for a backtest: {SHORT_FALLBACK} for every series"
    )
    table = forecast_table(forecaster)
    assert table["forecast"].tolist() == [3.0] * 28  # all and billing, 14 days each


def test_the_forecast_and_its_intervals_are_clipped_at_0():
    """Five days of 0, 4, 0, 4, 0 billing tickets: Naive forecasts the last day's 0, and
    its intervals around 0 (the day-to-day changes are 4) reach below it: a count is never
    below 0, so the lower bounds are 0 and the upper ones above."""
    days = [FIRST + timedelta(days=n) for n in range(5)]
    daily = pd.DataFrame({"day": days, "category": "billing", "tickets": [0, 4, 0, 4, 0]})
    forecaster = fit_forecaster(series_frame(daily, FIRST, days[-1]), days[-1])
    table = forecast_table(forecaster)
    assert set(table["model"]) == {SHORT_FALLBACK}
    assert (table["forecast"] == 0).all()
    assert (table["lo_80"] == 0).all() and (table["lo_95"] == 0).all()
    assert (table["hi_80"] > 0).all() and (table["hi_95"] > table["hi_80"]).all()


def test_the_backtest_mae_is_the_mean_absolute_error_over_the_windows(fitted):
    """The backtest's MAE (the tie-break after MASE, and the metadata's table): SeasonalNaive's
    mean |truth - forecast| over the 42 backtest days, worked by hand; a day forecast too high
    and one too low do not cancel."""
    history = series_frame(_daily(63), FIRST, fitted.as_of_day)
    backtest = fitted.backtest.set_index(["series", "model"])
    for series in ("all", "billing", "shipping"):
        y = history.loc[history["unique_id"] == series, "y"].to_numpy()
        errors = [
            abs(y[c + 1 + h] - y[c + 1 - 7 + h % 7]) for c in LAST_TRAINING_DAYS for h in range(14)
        ]
        assert backtest.loc[(series, BASELINE), "mae"] == pytest.approx(np.mean(errors), rel=1e-9)
