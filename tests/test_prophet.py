"""ProphetForecaster: estimator shape, what it learns, fallbacks, covariates, parallel = sequential.

Few, small series (each Prophet fit is ~0.15-0.25 s); the whole module runs in ~15 s.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.forecasters.base import NotFittedError
from forecast.forecasting.forecasters.prophet import REGRESSORS, ProphetForecaster

START = "2023-01-02"
HOLDOUT = 28


def seasonal_demand(n_days: int, seed: int, level: float = 40.0) -> np.ndarray:
    """Poisson demand with a weekly (weekend peak) and a yearly (summer peak) pattern."""
    t = np.arange(n_days)
    dates = pd.date_range(START, periods=n_days, freq="D")
    weekly = np.where(dates.day_of_week >= 5, 1.6, 0.85)
    yearly = 1.0 + 0.4 * np.sin(2 * np.pi * (t - 90) / 365.25)
    return np.random.default_rng(seed).poisson(level * weekly * yearly).astype(float)


def campaign_covariates(n_series: int, n_days: int, history: int) -> SimpleNamespace:
    """Campaigns every ~7 weeks in the history, one planned on future days 10-14."""
    active = np.zeros((n_series, n_days))
    for start in range(20, history - 10, 50):
        active[:, start : start + 5] = 1.0
    active[:, history + 10 : history + 15] = 1.0
    return SimpleNamespace(
        dates=pd.date_range(START, periods=n_days, freq="D"),
        n_history=history,
        campaign_active=active,
        campaign_discount=0.3 * active,
        event=np.zeros((n_series, n_days)),  # never varies: must not be used
    )


def test_refuses_to_predict_before_fit() -> None:
    with pytest.raises(NotFittedError):
        ProphetForecaster().predict(3)


def test_params_are_stored_untouched() -> None:
    model = ProphetForecaster(country=None, n_jobs=1, max_horizon=7)
    assert model.get_params()["country"] is None
    assert model.get_params()["max_horizon"] == 7
    assert model.get_params()["seasonality_mode"] == "multiplicative"


def test_recovers_weekly_and_yearly_pattern_better_than_a_flat_mean() -> None:
    n_history = 800  # > 2 years: Prophet's "auto" turns the yearly seasonality on
    y = seasonal_demand(n_history + HOLDOUT, seed=1)
    dates = pd.date_range(START, periods=n_history, freq="D")
    model = ProphetForecaster(country=None, n_jobs=1).fit(y[None, :n_history], 7, dates=dates)
    forecast = model.predict(HOLDOUT)[0]
    actual = y[n_history:]

    assert not model.fallback_[0]
    flat_mean = np.full(HOLDOUT, y[:n_history].mean())
    last_four_weeks = np.full(HOLDOUT, y[n_history - 28 : n_history].mean())
    mae = np.abs(forecast - actual).mean()
    assert mae < 0.6 * np.abs(flat_mean - actual).mean()
    assert mae < 0.75 * np.abs(last_four_weeks - actual).mean()
    # the weekend peak is there: Saturdays and Sundays above the weekdays
    weekend = model.future_dates_.day_of_week >= 5
    assert forecast[weekend].mean() > 1.4 * forecast[~weekend].mean()
    assert model.fitted_.shape == (1, n_history)
    assert np.isfinite(model.fitted_).all()


def test_planned_campaign_raises_the_forecast_on_its_days() -> None:
    n_history = 400
    covariates = campaign_covariates(1, n_history + HOLDOUT, n_history)
    lift = 1.0 + 0.8 * covariates.campaign_active[0]
    y = np.random.default_rng(2).poisson(30 * lift)[None, :n_history].astype(float)
    dates = covariates.dates[:n_history]
    model = ProphetForecaster(country=None, n_jobs=1)
    model.fit(y, 7, dates=dates, covariates=covariates)
    forecast = model.predict(HOLDOUT)[0]

    assert model.regressors_used_[0].tolist() == [True, True, False]  # event never varies
    on_campaign = forecast[10:15]
    same_weekdays_before = forecast[3:8]
    assert on_campaign.mean() > 1.5 * same_weekdays_before.mean()
    assert on_campaign.mean() == pytest.approx(30 * 1.8, rel=0.15)


def test_holidays_us_versus_none() -> None:
    n_history = 800
    dates = pd.date_range(START, periods=n_history, freq="D")
    y = seasonal_demand(n_history, seed=3)
    closed = dates.isin(pd.to_datetime(["2023-07-04", "2023-12-25", "2024-07-04", "2024-12-25"]))
    y[closed] = 2.0  # stores nearly closed on the big holidays
    without = ProphetForecaster(country=None, n_jobs=1).fit(y[None], 7, dates=dates)
    with_us = ProphetForecaster(country="US", n_jobs=1).fit(y[None], 7, dates=dates)

    assert without.holidays_ is None
    assert {"Christmas Day", "Independence Day"} <= set(with_us.holidays_["holiday"])
    error_without = np.abs(without.fitted_[0, closed] - y[closed]).mean()
    error_with = np.abs(with_us.fitted_[0, closed] - y[closed]).mean()
    assert error_with < 0.5 * error_without
    assert np.isfinite(with_us.predict(HOLDOUT)).all()


def test_unknown_country_is_refused() -> None:
    dates = pd.date_range(START, periods=10, freq="D")
    with pytest.raises(ValueError, match="country='XX'"):
        ProphetForecaster(country="XX", n_jobs=1).fit(np.ones((1, 10)), dates=dates)


def test_short_and_sparse_series_fall_back_to_the_recent_mean() -> None:
    dates = pd.date_range(START, periods=10, freq="D")
    y = np.array([[3.0, 5, 4, 0, 6, 2, 4, 5, 3, 4], [np.nan] * 10])
    model = ProphetForecaster(n_jobs=1).fit(y, 7, dates=dates)

    assert model.fallback_.tolist() == [True, True]
    assert model.fallback_reason_.tolist() == ["short history", "no observations"]
    np.testing.assert_allclose(model.predict(3), [[3.6] * 3, [0.0] * 3])
    assert np.isnan(model.seconds_per_series_)

    sparse = np.zeros((1, 100))
    sparse[0, ::4] = 5.0  # 75% zeros: intermittent, not Prophet's job
    long_dates = pd.date_range(START, periods=100, freq="D")
    model = ProphetForecaster(n_jobs=1, fallback_window=20).fit(sparse, 7, dates=long_dates)
    assert model.fallback_reason_.tolist() == ["mostly zeros"]
    np.testing.assert_allclose(model.predict(2), [[1.25, 1.25]])


def test_nan_history_is_left_out_of_the_fit() -> None:
    n_history = 500
    dates = pd.date_range(START, periods=n_history, freq="D")
    y = seasonal_demand(n_history, seed=4)
    y[:40] = np.nan  # not yet listed
    y[200:230] = np.nan  # a month of stockout
    y[np.random.default_rng(5).choice(n_history, 25, replace=False)] = np.nan
    model = ProphetForecaster(country="US", n_jobs=1).fit(y[None], 7, dates=dates)

    assert not model.fallback_[0]
    assert np.isfinite(model.predict(HOLDOUT)).all()
    assert np.isnan(model.fitted_[0, :40]).all()
    assert np.isfinite(model.fitted_[0, 40:]).all()  # censored days get a demand estimate
    # the estimate over the stockout month is near the uncensored level, not zero
    assert model.fitted_[0, 200:230].mean() > 0.7 * np.nanmean(y[170:200])


def test_weekly_history_forecasts_weekly_dates() -> None:
    dates = pd.date_range("2022-01-03", periods=160, freq="W-MON")
    t = np.arange(160)
    y = np.random.default_rng(6).poisson(200 * (1 + 0.3 * np.sin(2 * np.pi * t / 52.18)))
    model = ProphetForecaster(n_jobs=1, max_horizon=8).fit(y[None].astype(float), dates=dates)

    assert model.frequency_.pandas_freq == "W-MON"
    assert model.future_dates_[0] == dates[-1] + pd.Timedelta(weeks=1)
    assert (model.holidays_["ds"].dt.day_of_week == 0).all()  # on the period labels
    assert model.predict(8).shape == (1, 8)
    assert not model.fallback_[0]


def test_parallel_equals_sequential_exactly() -> None:
    n_history = 400
    n_series = 4
    covariates = campaign_covariates(n_series, n_history + HOLDOUT, n_history)
    y = np.stack([seasonal_demand(n_history, seed=10 + i) for i in range(n_series)])
    y[:, :n_history] *= 1.0 + 0.5 * covariates.campaign_active[:, :n_history]
    y[1, 50:60] = np.nan
    y[3, :-12] = np.nan  # too short: falls back
    dates = covariates.dates[:n_history]
    sequential = ProphetForecaster(n_jobs=1).fit(y, 7, dates=dates, covariates=covariates)
    parallel = ProphetForecaster(n_jobs=2).fit(y, 7, dates=dates, covariates=covariates)

    assert sequential.fallback_.tolist() == [False, False, False, True]
    np.testing.assert_array_equal(parallel.predict(HOLDOUT), sequential.predict(HOLDOUT))
    np.testing.assert_array_equal(parallel.fitted_, sequential.fitted_)
    np.testing.assert_array_equal(parallel.regressors_used_, sequential.regressors_used_)
    assert parallel.seconds_per_series_ > 0 and parallel.seconds_total_ > 0


def test_max_series_keeps_the_highest_volume_rows() -> None:
    n_history = 60
    dates = pd.date_range(START, periods=n_history, freq="D")
    y = np.stack([seasonal_demand(n_history, seed=20, level=level) for level in (5, 50, 20)])
    model = ProphetForecaster(country=None, n_jobs=1, max_series=1).fit(y, 7, dates=dates)
    assert model.fallback_reason_.tolist() == ["max_series", "", "max_series"]


def test_boundary_checks() -> None:
    dates = pd.date_range(START, periods=40, freq="D")
    y = np.ones((2, 40))
    model = ProphetForecaster(n_jobs=1, max_horizon=5)
    with pytest.raises(TypeError):
        model.fit(y, 7)  # dates are required
    with pytest.raises(ValueError, match="dates has 39 entries"):
        model.fit(y, 7, dates=dates[1:])
    short = SimpleNamespace(
        dates=pd.date_range(START, periods=43, freq="D"),
        n_history=40,
        campaign_active=np.zeros((2, 43)),
    )
    with pytest.raises(ValueError, match="cover 3 future periods but max_horizon=5"):
        model.fit(y, 7, dates=dates, covariates=short)
    wrong_shape = SimpleNamespace(
        dates=pd.date_range(START, periods=45, freq="D"),
        n_history=40,
        campaign_active=np.zeros((3, 45)),
    )
    with pytest.raises(ValueError, match="campaign_active has shape"):
        model.fit(y, 7, dates=dates, covariates=wrong_shape)
    model.fit(y, 7, dates=dates)  # constant series: all rows fine, none crash
    with pytest.raises(ValueError, match="exceeds max_horizon=5"):
        model.predict(6)
    assert model.regressors_used_.shape == (2, len(REGRESSORS))


def test_intervals_when_uncertainty_samples_are_asked_for() -> None:
    dates = pd.date_range(START, periods=120, freq="D")
    y = seasonal_demand(120, seed=30)[None]
    runs = [
        ProphetForecaster(country=None, n_jobs=1, uncertainty_samples=50, max_horizon=7).fit(
            y, 7, dates=dates
        )
        for _ in range(2)
    ]
    model = runs[0]
    forecast = model.predict(7)
    assert (model.forecast_lower_ <= forecast).all() and (forecast <= model.forecast_upper_).all()
    np.testing.assert_array_equal(runs[0].forecast_lower_, runs[1].forecast_lower_)  # seeded
    assert ProphetForecaster(n_jobs=1).fit(y, 7, dates=dates).forecast_lower_ is None


def test_a_failing_prophet_fit_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from prophet import Prophet

    def broken_fit(self, df, **kwargs):
        raise RuntimeError("optimisation failed")

    monkeypatch.setattr(Prophet, "fit", broken_fit)
    dates = pd.date_range(START, periods=60, freq="D")
    y = seasonal_demand(60, seed=31)[None]
    with pytest.warns(RuntimeWarning, match="Prophet failed on 1 series"):
        model = ProphetForecaster(country=None, n_jobs=1).fit(y, 7, dates=dates)
    assert model.fallback_reason_.tolist() == ["prophet error: RuntimeError: optimisation failed"]
    np.testing.assert_allclose(model.predict(2), [[y[0, -28:].mean()] * 2])
