"""A chunked forecast equals the unchunked one: the global model is fitted once per run on all
series, only the per-series models and the predictions are chunked, and the choice and the
calibration see every series (forecast.forecasting.engine.forecast_panel, candidates)."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting import candidates
from forecast.forecasting.engine import EngineConfig, concat_results, forecast_panel
from forecast.forecasting.features import build_covariates
from forecast.forecasting.series import DAILY, Panel

# Per-series ensembles, so that the global model has a weight in most series.
CFG = EngineConfig(models=("seasonal_naive", "ets", "tsb", "adida", "gbm"), selection="ensemble",
                   gbm_rows=6_000, gbm_backtest_rows=6_000, folds=2)
HORIZON = 7


@pytest.fixture(scope="module")
def problem():
    """30 daily series (smooth and intermittent, weekly pattern, a few censored days)."""
    rng = np.random.default_rng(3)
    n, days = 30, 160
    level = np.where(rng.random(n) < 0.3, rng.uniform(0.1, 0.5, n), rng.uniform(2, 20, n))
    weekly = 1 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7 + rng.uniform(0, 6, (n, 1)))
    y = rng.poisson(level[:, None] * weekly).astype(float)
    y[rng.random((n, days)) < 0.02] = np.nan
    keys = pd.DataFrame({"sku": [f"S{i:03d}" for i in range(n)], "location": "main"})
    dates = pd.date_range("2025-01-01", periods=days, freq="D")
    panel = Panel(keys, dates, y, np.nan_to_num(y), np.isnan(y), np.full((n, days), 3.0), DAILY)
    products = pd.DataFrame({"sku": keys["sku"], "category": [f"c{i % 3}" for i in range(n)]})
    cov = build_covariates(keys, dates, HORIZON, DAILY, products=products, price=panel.price)
    return panel, cov


@pytest.fixture(scope="module")
def whole(problem):
    panel, cov = problem
    return forecast_panel(panel, HORIZON, CFG, cov)


def _threads(fn, items):
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda args: fn(*args), items))


def test_a_chunked_forecast_equals_the_unchunked_one(problem, whole, monkeypatch) -> None:
    panel, cov = problem
    assert (whole.weights["gbm"] > 0).mean() > 0.5
    fits = []
    original = candidates._predict_model

    def counting(name, *args, **kwargs):
        fits.append(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(candidates, "_predict_model", counting)
    for chunk_size, mapper in ((7, None), (11, _threads)):
        fits.clear()
        chunked = forecast_panel(panel, HORIZON, CFG, cov, chunk_size=chunk_size, mapper=mapper)
        # the final fit once per run, not once per chunk (the fold model is fitted once beside it)
        assert fits.count("gbm") == 1
        np.testing.assert_array_equal(chunked.forecast.mean, whole.forecast.mean)
        np.testing.assert_array_equal(chunked.forecast.size, whole.forecast.size)
        np.testing.assert_array_equal(chunked.forecast.level_var, whole.forecast.level_var)
        np.testing.assert_array_equal(chunked.forecast.model, whole.forecast.model)
        pd.testing.assert_frame_equal(chunked.weights, whole.weights)
        assert chunked.calibration == whole.calibration


def test_forecasting_each_chunk_on_its_own_differs(problem, whole) -> None:
    """What the chunked run avoids: a global model, a choice and a calibration per chunk."""
    panel, cov = problem
    rows = [np.arange(0, 15), np.arange(15, 30)]
    from forecast.forecasting.candidates import _take_rows

    parts = concat_results([forecast_panel(panel.take(r), HORIZON, CFG, _take_rows(cov, r)) for r in rows])
    assert not np.allclose(parts.forecast.mean, whole.forecast.mean)


def test_one_thread_or_two_give_the_same_forecast(problem, whole) -> None:
    panel, cov = problem
    one = forecast_panel(panel, HORIZON, dataclasses.replace(CFG, threads=1), cov)
    np.testing.assert_array_equal(one.forecast.mean, whole.forecast.mean)


def test_the_final_global_fit_stops_when_the_choice_gives_it_no_weight(monkeypatch) -> None:
    """A weekly pattern without noise: the seasonal naive forecast is exact, the choice gives
    the global model no weight, and its final fit (held here until the choice is made, so the
    test does not race it) ends at its first tree instead of growing all 150."""
    from forecast.forecasting.forecasters import gbm

    n, days = 12, 140
    pattern = np.array([3.0, 4, 5, 6, 8, 12, 2])
    y = np.tile(pattern, (n, days // 7)) * (1 + np.arange(n))[:, None]
    keys = pd.DataFrame({"sku": [f"S{i:03d}" for i in range(n)], "location": "main"})
    dates = pd.date_range("2025-01-06", periods=days, freq="D")
    panel = Panel(keys, dates, y, y, np.zeros_like(y, bool), np.full((n, days), 3.0), DAILY)
    cov = build_covariates(keys, dates, HORIZON, DAILY, price=panel.price)
    stopped: list[str] = []
    original = gbm._LightGBM.fit

    def held(self, *args, **kwargs):
        if self.stop is not None:  # the final fit: wait for the choice
            self.stop.wait(60)
        try:
            return original(self, *args, **kwargs)
        except gbm.FitStopped as exc:
            stopped.append(str(exc))
            raise

    monkeypatch.setattr(gbm._LightGBM, "fit", held)
    cfg = EngineConfig(models=("seasonal_naive", "gbm"), selection="global", folds=2,
                       gbm_rows=5_000, gbm_backtest_rows=5_000)
    result = forecast_panel(panel, HORIZON, cfg, cov)
    assert (result.weights["gbm"] == 0).all()
    assert "fit:gbm (stopped)" in result.seconds
    assert stopped == ["stopped after 1 of 150 trees"]
    np.testing.assert_allclose(result.forecast.mean, np.tile(pattern, (n, 1)) * (1 + np.arange(n))[:, None])
