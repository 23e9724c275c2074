"""Daily ticket volume forecast per category and for all tickets, with statsforecast.

- Series: tickets created per UTC day and category (delivered, else predicted) and `all`,
  from the first delivered day to the as-of day, days without tickets counted as 0; the
  latest 182 days (26 weeks) of them are learned from.
- Candidates: AutoETS, MSTL (weekly seasonality, AutoETS trend) and AutoTheta, all with a
  7-day season, against the baseline SeasonalNaive(7).
- Choice per series by a rolling-origin backtest (`cross_validation`): up to
  `max_windows` windows of 14 days, each trained on everything before it, as history
  allows (at least `min_train_days` before the first window). The candidate (baseline
  included) with the lowest mean MASE over the windows wins; MASE scales each window's
  MAE by the in-sample MAE of the seasonal-naive forecast of that window's training data
  (utilsforecast's `mase`). A window whose training data repeats itself week on week (a
  category with no tickets before it) has no MASE and is left out of the mean; a series
  with no window scored keeps the baseline, and `unscored` names it (a WARN check). The
  backtest also tells how often the 80% and 95% intervals held the truth.
- Too little history for one window: no backtest; the baseline SeasonalNaive(7) (Naive
  with fewer than 8 days) is fitted and `fell_back` says why (a WARN check).
- Forecasts and intervals are clipped at 0 (counts); clipping keeps them ordered.
- Series unchanged since the stored forecaster (and the same as-of day, settings,
  statsforecast and this module's code): it is kept (`fingerprint`); a refit would be equal.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_assets.lakehouse.markdown import markdown_cell
from cx_assets.support.models.fingerprint import source_digest, training_fingerprint
from cx_assets.support.rules import ALL_SERIES

# statsforecast (and statsmodels, scipy under it) is imported inside the functions that fit:
# importing it costs ~0.6 s, and every run of every domain loads this module.
if TYPE_CHECKING:
    from statsforecast import StatsForecast

BASELINE = "SeasonalNaive"
SHORT_FALLBACK = "Naive"
LEVELS = (80, 95)


# A backtest's columns per series and candidate (`run_backtest`), before the choice.
BACKTEST_COLUMNS = (
    "series", "model", "mase", "windows_scored", "mae", "coverage_80", "coverage_95",
)  # fmt: skip


@dataclass(frozen=True)
class ForecastSettings:
    horizon: int = 14
    season_length: int = 7
    min_train_days: int = 21
    max_windows: int = 3
    # The latest days learned from (26 weeks): a weekly season and a trend need no more, and
    # every support run refits on a new day: on the whole history that took 3 s at half a
    # year, 6 s at a year and 14 s at two (a long-history audit), growing with no end.
    max_history_days: int = 182


def recent_history(history: pd.DataFrame, settings: ForecastSettings) -> pd.DataFrame:
    """`series_frame`'s rows of the latest `max_history_days` days."""
    if history.empty:
        return history
    first = history["ds"].max() - pd.Timedelta(days=settings.max_history_days - 1)
    return history[history["ds"] >= first].reset_index(drop=True)


@dataclass
class VolumeForecaster:
    """A fitted forecaster: what `forecast_table` needs, and what the backtest found."""

    model: StatsForecast | None  # fitted on the latest `max_history_days` of the history
    chosen: dict[str, str]  # series -> model name
    backtest: pd.DataFrame  # BACKTEST_COLUMNS and `chosen`
    as_of_day: date | None
    history_days: int
    windows: int
    fell_back: bool
    reason: str | None = None
    settings: ForecastSettings = field(default_factory=ForecastSettings)
    # Series the backtest could not score (no window with a MASE): they keep the baseline.
    unscored: tuple[str, ...] = ()
    fingerprint: str | None = None  # of what it was fitted from (`fit_forecaster`)
    # Days of the history on which no ticket was created (`days_without_tickets`).
    empty_days: tuple[str, ...] = ()

    @property
    def baseline_reason(self) -> str | None:
        """Why the baseline forecasts some or every series instead of the chosen model, or
        None when the backtest chose for every series."""
        if self.fell_back:
            return self.reason
        if self.unscored:
            return (
                f"no backtest window could score {', '.join(self.unscored)} (its training days "
                f"repeat week on week, as with no tickets before the window): {BASELINE} for "
                f"{'it' if len(self.unscored) == 1 else 'them'}"
            )
        return None

    def mase_of(self, series: str, model: str) -> float | None:
        rows = self.backtest[
            (self.backtest["series"] == series) & (self.backtest["model"] == model)
        ]
        if rows.empty or not np.isfinite(rows["mase"].iloc[0]):
            return None
        return float(rows["mase"].iloc[0])


def series_frame(
    daily: pd.DataFrame, first_day: date | None, as_of_day: date | None
) -> pd.DataFrame:
    """statsforecast's long frame (unique_id, ds, y) from tickets per day and category
    (`day`, `category`, `tickets`): one series per category plus `all`, zero-filled (a
    category named `all` has no series of its own)."""
    if first_day is None or as_of_day is None or as_of_day < first_day:
        return pd.DataFrame({"unique_id": [], "ds": pd.to_datetime([]), "y": []})
    days = pd.date_range(first_day, as_of_day, freq="D")
    daily = daily.assign(day=pd.to_datetime(daily["day"]))
    total = daily.groupby("day")["tickets"].sum().reindex(days, fill_value=0)
    series = {ALL_SERIES: total}
    for category, rows in daily.dropna(subset=["category"]).groupby("category"):
        if str(category) == ALL_SERIES:
            # A category called `all` counts in the series of every ticket only: its own
            # series would take that one's name and replace it.
            continue
        series[str(category)] = rows.set_index("day")["tickets"].reindex(days, fill_value=0)
    return pd.concat(
        [
            pd.DataFrame({"unique_id": name, "ds": days, "y": values.to_numpy(dtype=float)})
            for name, values in sorted(series.items())
        ],
        ignore_index=True,
    )


def candidates(settings: ForecastSettings) -> list[Any]:
    from statsforecast.models import MSTL, AutoETS, AutoTheta, SeasonalNaive

    season = settings.season_length
    return [
        AutoETS(season_length=season),
        MSTL(season_length=season, trend_forecaster=AutoETS(model="ZZN")),
        AutoTheta(season_length=season),
        SeasonalNaive(season_length=season),
    ]


def backtest_windows(history_days: int, settings: ForecastSettings = ForecastSettings()) -> int:
    """How many 14-day windows the history allows (0: too little for one)."""
    spare = history_days - settings.min_train_days
    return max(0, min(settings.max_windows, spare // settings.horizon))


def fit_forecaster(
    history: pd.DataFrame,
    as_of_day: date | None,
    settings: ForecastSettings = ForecastSettings(),
    previous: VolumeForecaster | None = None,
) -> VolumeForecaster:
    """Backtest the candidates, choose one per series and fit them on the history's latest
    `max_history_days` days. `previous` (the stored forecaster) is returned as it is when it
    was fitted from exactly these inputs (the same series, as-of day, settings, statsforecast
    and this module)."""
    import statsforecast

    history = recent_history(history, settings)
    fingerprint = training_fingerprint(
        history, as_of_day, settings, statsforecast.__version__, source_digest(__file__)
    )
    if previous is not None and getattr(previous, "fingerprint", None) == fingerprint:
        return previous
    forecaster = _fitted_forecaster(history, as_of_day, settings)
    forecaster.fingerprint = fingerprint
    forecaster.empty_days = days_without_tickets(history)
    return forecaster


def days_without_tickets(history: pd.DataFrame) -> tuple[str, ...]:
    """The days of `history` (`series_frame`'s) on which no ticket at all was created. The
    series count them as zero; a day whose files never landed looks the same, and pulls the
    forecast down (a run of a day with nothing landed made it 12-15% lower in an audit)."""
    if history.empty:
        return ()
    total = history[history["unique_id"] == ALL_SERIES]
    return tuple(str(day.date()) for day in total.loc[total["y"] == 0, "ds"])


def _fitted_forecaster(
    history: pd.DataFrame, as_of_day: date | None, settings: ForecastSettings
) -> VolumeForecaster:
    history_days = history["ds"].nunique() if len(history) else 0
    windows = backtest_windows(history_days, settings)
    if history_days == 0:
        return VolumeForecaster(
            None, {}, _no_backtest(), as_of_day, 0, 0, True, "no tickets delivered yet", settings
        )
    if windows == 0:
        return _fallback_forecaster(history, as_of_day, history_days, settings)
    backtest = run_backtest(history, windows, settings)
    unscored = tuple(name for name, rows in backtest.groupby("series") if rows["mase"].isna().all())
    chosen = _chosen_models(backtest, unscored)
    backtest["chosen"] = [
        chosen[s] == m for s, m in zip(backtest["series"], backtest["model"], strict=True)
    ]
    model = _fitted(candidates(settings), history)
    return VolumeForecaster(
        model,
        chosen,
        backtest.drop(columns="order"),
        as_of_day,
        history_days,
        windows,
        False,
        None,
        settings,
        unscored=unscored,
    )


def _no_backtest() -> pd.DataFrame:
    """The backtest table of a forecaster that ran none: its columns, no rows."""
    return pd.DataFrame(columns=[*BACKTEST_COLUMNS, "chosen"])


def _fallback_forecaster(
    history: pd.DataFrame, as_of_day: date | None, history_days: int, settings: ForecastSettings
) -> VolumeForecaster:
    """Too little history for one backtest window: the seasonal baseline for every series
    (plain Naive with a season of history or less), and the reason said."""
    from statsforecast.models import Naive, SeasonalNaive

    fallback = (
        SeasonalNaive(season_length=settings.season_length)
        if history_days > settings.season_length
        else Naive()
    )
    name = BASELINE if isinstance(fallback, SeasonalNaive) else SHORT_FALLBACK
    needed = settings.min_train_days + settings.horizon
    reason = (
        f"{history_days} day{'s' if history_days != 1 else ''} of history, {needed} "
        f"needed for a backtest: {name} for every series"
    )
    series = sorted(history["unique_id"].unique())
    return VolumeForecaster(
        _fitted([fallback], history),
        dict.fromkeys(series, name),
        _no_backtest(),
        as_of_day,
        history_days,
        0,
        True,
        reason,
        settings,
    )


def _chosen_models(backtest: pd.DataFrame, unscored: Sequence[str]) -> dict[str, str]:
    """Each series' model: the lowest MASE, then MAE, then the candidates' order. A series
    without a MASE keeps the baseline (choosing by MAE would pick whichever model is listed
    first among equals, with nothing to say it beat anything)."""
    return {
        name: BASELINE
        if name in unscored
        else str(rows.sort_values(["mase", "mae", "order"]).iloc[0]["model"])
        for name, rows in backtest.groupby("series")
    }


def run_backtest(history: pd.DataFrame, windows: int, settings: ForecastSettings) -> pd.DataFrame:
    """Per series and candidate: mean MASE over the windows that have one, the number of
    those windows, mean MAE over all of them, interval coverage."""
    from statsforecast import StatsForecast
    from utilsforecast.losses import mase

    models = candidates(settings)
    names = [repr(m) for m in models]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folds = StatsForecast(models=models, freq="D", n_jobs=1).cross_validation(
            df=history,
            h=settings.horizon,
            n_windows=windows,
            step_size=settings.horizon,
            level=list(LEVELS),
        )
    folds = folds.reset_index(drop=True) if "unique_id" in folds.columns else folds.reset_index()
    scaled = mase(folds, names, settings.season_length, history).replace([np.inf, -np.inf], np.nan)
    rows = []
    for order, name in enumerate(names):
        errors = (folds[name] - folds["y"]).abs()
        for series, of_series in folds.groupby("unique_id"):
            index = of_series.index
            covered = {
                level: float(
                    (
                        (folds.loc[index, f"{name}-lo-{level}"] <= folds.loc[index, "y"])
                        & (folds.loc[index, "y"] <= folds.loc[index, f"{name}-hi-{level}"])
                    ).mean()
                )
                for level in LEVELS
            }
            per_window = scaled.loc[scaled["unique_id"] == series, name]
            rows.append(
                {
                    "series": series,
                    "model": name,
                    "order": order,
                    # NaN where the window's training data has no seasonal-naive error
                    "mase": float(per_window.mean()) if per_window.notna().any() else np.nan,
                    "windows_scored": int(per_window.notna().sum()),
                    "mae": float(errors[index].mean()),
                    "coverage_80": covered[80],
                    "coverage_95": covered[95],
                }
            )
    return pd.DataFrame(rows).sort_values(["series", "order"], ignore_index=True)


def _fitted(models: list[Any], history: pd.DataFrame) -> StatsForecast:
    from statsforecast import StatsForecast

    model = StatsForecast(models=models, freq="D", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(history)
    return model


FORECAST_COLUMNS = [
    "date", "category", "forecast", "lo_80", "hi_80", "lo_95", "hi_95",
    "model", "backtest_mase", "baseline_mase",
]  # fmt: skip


def forecast_table(forecaster: VolumeForecaster) -> pd.DataFrame:
    """The next `horizon` days after the as-of day, per series, from its chosen model."""
    if forecaster.model is None or forecaster.as_of_day is None:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    settings = forecaster.settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = forecaster.model.predict(h=settings.horizon, level=list(LEVELS))
    predicted = predicted.reset_index() if "unique_id" not in predicted.columns else predicted
    frames = []
    for series, rows in predicted.groupby("unique_id"):
        name = forecaster.chosen[series]
        values = {
            "forecast": rows[name],
            "lo_80": rows[f"{name}-lo-80"],
            "hi_80": rows[f"{name}-hi-80"],
            "lo_95": rows[f"{name}-lo-95"],
            "hi_95": rows[f"{name}-hi-95"],
        }
        frames.append(
            pd.DataFrame(
                {
                    "date": rows["ds"].dt.date.to_numpy(),
                    "category": series,
                    **{
                        key: np.clip(column.to_numpy(dtype=float), 0, None)
                        for key, column in values.items()
                    },
                    "model": name,
                    # NaN, not None: a column of None beside float ones is concatenated
                    # by a rule pandas deprecates
                    "backtest_mase": _float(forecaster.mase_of(series, name)),
                    "baseline_mase": _float(forecaster.mase_of(series, BASELINE)),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)[FORECAST_COLUMNS]
    first = forecaster.as_of_day + timedelta(days=1)
    assert table["date"].min() == first, "forecast must start the day after the as-of day"
    return table.sort_values(["date", "category"], ignore_index=True)


def _float(value: float | None) -> float:
    return np.nan if value is None else value


def backtest_markdown(forecaster: VolumeForecaster) -> str:
    """The backtest as a markdown table (model metadata)."""
    if forecaster.backtest.empty:
        return f"No backtest: {forecaster.reason}."
    lines = [
        "| series | model | chosen | MASE | windows with a MASE | MAE | 80% coverage "
        "| 95% coverage |",
        "| --- | --- | :---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in forecaster.backtest.itertuples():
        mase = "—" if pd.isna(row.mase) else f"{row.mase:.3f}"
        lines.append(
            f"| {markdown_cell(row.series)} | {markdown_cell(row.model)} | {'✓' if row.chosen else ''} | {mase} | "
            f"{row.windows_scored} of {forecaster.windows} | {row.mae:.1f} | "
            f"{row.coverage_80:.0%} | {row.coverage_95:.0%} |"
        )
    return "\n".join(lines)


def coverage(forecaster: VolumeForecaster) -> dict[str, float | None]:
    """Share of backtest days whose truth lay inside the chosen models' intervals."""
    chosen = (
        forecaster.backtest[forecaster.backtest["chosen"].astype(bool)]
        if len(forecaster.backtest)
        else forecaster.backtest
    )
    if chosen.empty:
        return {"coverage_80": None, "coverage_95": None}
    return {
        "coverage_80": float(chosen["coverage_80"].mean()),
        "coverage_95": float(chosen["coverage_95"].mean()),
    }
