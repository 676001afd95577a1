"""GlobalGBM: estimator shape, accuracy against seasonal naive, campaigns, censoring, determinism."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from forecast.features import Covariates, build_covariates
from forecast.forecasters import NotFittedError
from forecast.forecasters.gbm import GlobalGBM
from forecast.series import DAILY

H = 28
T = 336
SMALL = {"max_iter": 60, "max_rows": 40_000, "fitted_periods": 7}


@dataclass
class Synthetic:
    y: np.ndarray  # (n, T) observed history
    actual: np.ndarray  # (n, H) holdout draws
    mean: np.ndarray  # (n, T + H) true mean demand
    cov: Covariates
    planned: list[tuple[int, int, int]]  # (series, first, last) holdout day of planned promos


def synthetic(n_skus: int = 12, seed: int = 0) -> Synthetic:
    """Two locations per SKU, weekly seasonality, 30% price promos lifting demand x1.9."""
    rng = np.random.default_rng(seed)
    skus = [f"SKU{i:02d}" for i in range(n_skus)]
    keys = pd.DataFrame(
        {"sku": np.repeat(skus, 2), "location": np.tile(["north", "south"], n_skus)}
    )
    products = pd.DataFrame({"sku": skus, "category": np.where(np.arange(n_skus) % 2, "a", "b")})
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    all_dates = pd.date_range(dates[0], periods=T + H, freq="D")
    rows, planned_skus = [], []
    for s, sku in enumerate(skus):
        start = int(rng.integers(5, 40))
        while start < T - 10:
            length = int(rng.integers(4, 10))
            rows.append((sku, all_dates[start], all_dates[start + length - 1]))
            start += length + int(rng.integers(25, 60))
        if s % 2 == 0:  # a planned promotion inside the forecast window
            first = T + int(rng.integers(3, 14))
            rows.append((sku, all_dates[first], all_dates[first + 6]))
            planned_skus.append((s, first - T, first - T + 6))
    campaigns = pd.DataFrame(rows, columns=["sku", "start_date", "end_date"])
    campaigns = campaigns.assign(category="", location="", kind="price_promo", discount_pct=30.0)
    cov = build_covariates(keys, dates, H, DAILY, campaigns=campaigns, products=products)
    n = len(keys)
    t = np.arange(T + H)
    level = rng.gamma(3.0, 3.0, (n, 1)) + 0.5
    weekly = np.array([0.8, 0.85, 0.9, 1.0, 1.15, 1.4, 0.9])[(t + 0) % 7]  # 2024-01-01 is Monday
    mean = level * weekly[None, :] * (1.0 + 3.0 * cov.campaign_discount)
    draws = rng.poisson(mean).astype(float)
    planned = [(2 * s + loc, a, b) for s, a, b in planned_skus for loc in (0, 1)]
    return Synthetic(draws[:, :T], draws[:, T:], mean, cov, planned)


@pytest.fixture(scope="module")
def data() -> Synthetic:
    return synthetic()


@pytest.fixture(scope="module")
def fitted(data: Synthetic) -> tuple[GlobalGBM, np.ndarray]:
    model = GlobalGBM(**SMALL).fit(data.y, season_length=7, covariates=data.cov)
    return model, model.predict(H)


def seasonal_naive(y: np.ndarray, h: int) -> np.ndarray:
    """Last week repeated."""
    return np.tile(y[:, -7:], (1, h // 7 + 1))[:, :h]


def test_estimator_shape():
    model = GlobalGBM(max_iter=10)
    assert model.get_params()["max_iter"] == 10
    assert "GlobalGBM(loss='poisson'" in repr(model)
    with pytest.raises(NotFittedError):
        model.predict(3)
    with pytest.raises(ValueError, match="loss"):
        GlobalGBM(loss="tweedie").fit(np.ones((2, 30)))


def test_beats_seasonal_naive_on_the_holdout(data, fitted):
    _, forecast = fitted
    assert forecast.shape == (data.y.shape[0], H) and forecast.dtype == np.float64
    rmse_gbm = np.sqrt(np.mean((forecast - data.actual) ** 2))
    rmse_naive = np.sqrt(np.mean((seasonal_naive(data.y, H) - data.actual) ** 2))
    assert rmse_gbm < 0.85 * rmse_naive, (rmse_gbm, rmse_naive)
    # and it is close to the true mean on average (no overall bias)
    assert forecast.sum() / data.mean[:, T:].sum() == pytest.approx(1.0, abs=0.08)


def test_forecast_rises_inside_a_planned_campaign(data, fitted):
    _, forecast = fitted
    ratios = []
    for series, first, last in data.planned:
        inside = np.arange(first, last + 1)  # 7 days: every weekday once
        for day in inside:  # against the same weekday one or two weeks away, outside it
            same = [d for d in day + 7 * np.array([-2, -1, 1, 2]) if 0 <= d < H]
            same = [d for d in same if not first <= d <= last]
            ratios.append(forecast[series, day] / forecast[series, same].mean())
    # true lift 1 + 3 x 0.3 = 1.9
    assert np.median(ratios) > 1.5, ratios
    assert min(ratios) > 1.2, ratios


def test_censored_days_do_not_bias_the_forecast_down(data):
    rng = np.random.default_rng(1)
    y_nan = data.y.copy()
    hit = np.arange(0, y_nan.shape[0], 2)
    for i in hit:  # stockout spells covering ~30% of the history, one at the very end
        for start in rng.integers(0, T - 20, 6):
            y_nan[i, start : start + 16] = np.nan
        y_nan[i, T - 5 :] = np.nan
    y_zero = np.nan_to_num(y_nan, nan=0.0)  # the mistake: stockouts read as zero demand
    truth = data.mean[hit, T:].sum()
    with_nan = GlobalGBM(**SMALL).fit(y_nan, 7, covariates=data.cov).predict(H)[hit].sum()
    with_zero = GlobalGBM(**SMALL).fit(y_zero, 7, covariates=data.cov).predict(H)[hit].sum()
    assert with_nan / truth == pytest.approx(1.0, abs=0.1)
    assert with_zero / truth < with_nan / truth - 0.1


def test_deterministic(data, fitted):
    _, forecast = fitted
    again = GlobalGBM(**SMALL).fit(data.y, 7, covariates=data.cov).predict(H)
    np.testing.assert_array_equal(forecast, again)


def test_horizon_and_covariate_checks(data, fitted):
    model, forecast = fitted
    np.testing.assert_allclose(model.predict(7), forecast[:, :7])
    with pytest.raises(ValueError, match="exceeds"):
        model.predict(H + 1)
    with pytest.raises(ValueError, match="history periods"):
        GlobalGBM(**SMALL).fit(data.y[:, :-1], 7, covariates=data.cov)
    with pytest.raises(ValueError, match="series"):
        GlobalGBM(**SMALL).fit(data.y[:-1], 7, covariates=data.cov)
    short = GlobalGBM(max_iter=5, max_rows=5_000, max_horizon=40).fit(data.y, 7, data.cov)
    with pytest.raises(ValueError, match="covariates' future part"):
        short.predict(29)


def test_fitted_values_cover_the_last_periods(data, fitted):
    model, _ = fitted
    assert model.fitted_.shape == data.y.shape
    assert np.isnan(model.fitted_[:, : T - 7]).all()
    tail = model.fitted_[:, T - 7 :]
    assert np.isfinite(tail).all() and (tail >= 0).all()


def test_without_covariates_and_with_empty_series(data):
    y = data.y.copy()
    y[0] = 0.0
    y[1] = np.nan
    model = GlobalGBM(**SMALL, max_horizon=14).fit(y, season_length=7)
    forecast = model.predict(14)
    assert forecast.shape == (y.shape[0], 14)
    assert (forecast[:2] == 0).all()
    rmse_gbm = np.sqrt(np.mean((forecast[2:] - data.actual[2:, :14]) ** 2))
    rmse_naive = np.sqrt(np.mean((seasonal_naive(y, 14)[2:] - data.actual[2:, :14]) ** 2))
    assert rmse_gbm < rmse_naive
    with pytest.raises(ValueError, match="exceeds"):
        model.predict(15)
