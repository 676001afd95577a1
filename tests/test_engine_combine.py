"""How the engine ranks and combines candidates on intermittent series: MASE of block sums
(``intermittent_score="mase_sums"``) and the median of the chosen models per period
(``intermittent_combine="median"``), hand-computed (forecast.forecasting.engine)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from forecast.forecasting.engine import (
    EngineConfig,
    _combine,
    _Scorer,
    _weights,
    forecast_panel,
    intermittent_rows,
)
from forecast.forecasting.series import Panel, frequency_from_code

MONTHLY = frequency_from_code("MS")

CFG = EngineConfig()


def test_intermittent_rows_combine_by_the_median_of_their_chosen_models() -> None:
    weights = pd.DataFrame({"a": [0.5, 0.5], "b": [0.3, 0.3], "c": [0.2, 0.2], "d": [0.0, 0.0]})
    preds = {"a": np.array([[1.0, 2.0], [1.0, 2.0]]), "b": np.array([[3.0, 0.0], [3.0, 0.0]]),
             "c": np.array([[30.0, 1.0], [30.0, 1.0]]), "d": np.array([[-99.0, 99.0], [-99.0, 99.0]])}
    sparse = np.array([True, False])
    out = _combine(weights, preds, sparse, CFG)
    # row 0: median of a, b, c per period (d has no weight); row 1: the weighted mean
    np.testing.assert_allclose(out[0], [3.0, 1.0])
    np.testing.assert_allclose(out[1], [0.5 * 1 + 0.3 * 3 + 0.2 * 30, 0.5 * 2 + 0.3 * 0 + 0.2 * 1])
    mean = _combine(weights, preds, sparse, dataclasses.replace(CFG, intermittent_combine="mean"))
    np.testing.assert_allclose(mean[0], mean[1])
    # two chosen models: the median is their plain mean; a model without a forecast is left out
    two = _combine(weights[["a", "b"]], {"a": preds["a"], "b": preds["b"]}, sparse, CFG)
    np.testing.assert_allclose(two[0], [2.0, 1.0])
    np.testing.assert_allclose(_combine(weights, {"a": preds["a"]}, sparse, CFG)[0], [1.0, 2.0])
    with pytest.raises(ValueError, match="intermittent_combine"):
        _combine(weights, preds, sparse, dataclasses.replace(CFG, intermittent_combine="mode"))


def test_an_intermittent_series_combines_more_models_than_a_smooth_one() -> None:
    """Per series, ``top_k`` models with inverse-score weights; an intermittent row takes its
    ``intermittent_top_k`` best instead (capped at the number of models), a smooth row keeps
    ``top_k``; the global ways ignore it; ``best`` stays one model."""
    scores = pd.DataFrame({"a": [1.0, 1.0], "b": [2.0, 2.0], "c": [4.0, 4.0], "d": [8.0, 8.0],
                           "e": [0.5, 16.0]})
    sparse = np.array([True, False])
    cfg = dataclasses.replace(CFG, top_k=2, intermittent_top_k=4)
    w = _weights(scores, cfg, "ensemble", sparse=sparse)
    # row 0 (intermittent): e, a, b, c with weights 1/score normalised; d left out
    inv = np.array([1 / 1, 1 / 2, 1 / 4, 0, 1 / 0.5])
    np.testing.assert_allclose(w.iloc[0].to_numpy(), inv / inv.sum())
    # row 1 (smooth): a and b only
    np.testing.assert_allclose(w.iloc[1].to_numpy(), np.array([1, 0.5, 0, 0, 0]) / 1.5)
    # without sparse rows, or with intermittent_top_k None, every row takes top_k
    np.testing.assert_allclose(_weights(scores, cfg, "ensemble").iloc[0].to_numpy(),
                               np.array([1, 0, 0, 0, 2]) / 3)
    off = dataclasses.replace(cfg, intermittent_top_k=None)
    np.testing.assert_allclose(_weights(scores, off, "ensemble", sparse=sparse).iloc[0].to_numpy(),
                               np.array([1, 0, 0, 0, 2]) / 3)
    capped = _weights(scores, dataclasses.replace(cfg, intermittent_top_k=50), "ensemble", sparse=sparse)
    assert (capped.iloc[0] > 0).sum() == 5
    assert (_weights(scores, cfg, "best", sparse=sparse).iloc[0] > 0).sum() == 1
    glob = _weights(scores, cfg, "global_ensemble", sparse=sparse)
    assert (glob.iloc[0] > 0).sum() == 2 and glob.iloc[0].equals(glob.iloc[1])


def test_intermittent_series_are_scored_by_the_mase_of_block_sums() -> None:
    history = np.array([[0.0, 2, 0, 0, 4, 0, 0, 0],    # intermittent: 2 demands in 8 periods
                        [5.0, 6, 5, 7, 6, 5, 6, 7]])   # smooth
    assert intermittent_rows(history).tolist() == [True, False]
    actual = np.array([[0.0, 3, 0, 1], [6.0, 6, 5, 7]])
    pred = np.array([[1.0, 1, 1, 1], [6.0, 5, 5, 5]])
    scorer = _Scorer.of(history, CFG, window=2)
    err = scorer(actual, pred)
    naive_mae = np.mean(np.abs(np.diff(history[0])))  # 12 / 7
    # blocks of 2: actual sums (3, 1), forecast sums (2, 2): mean |error| 1 over 2 x naive MAE
    assert err[0] == pytest.approx(1.0 / (2 * naive_mae))
    squared = np.mean((actual[1] - pred[1]) ** 2) / np.mean(np.diff(history[1]) ** 2)
    assert err[1] == pytest.approx(squared)
    assert scorer.squared_error(actual, pred)[0] == pytest.approx(
        np.mean((actual[0] - pred[0]) ** 2) / np.mean(np.diff(history[0]) ** 2))
    single = _Scorer.of(history, dataclasses.replace(CFG, intermittent_score="mase"), window=2)
    assert single(actual, pred)[0] == pytest.approx(np.mean(np.abs(actual[0] - pred[0])) / naive_mae)
    mse = _Scorer.of(history, dataclasses.replace(CFG, intermittent_score="mse"), window=2)
    assert mse(actual, pred)[0] == pytest.approx(scorer.squared_error(actual, pred)[0])


def test_an_intermittent_series_forecast_is_the_median_of_its_top_models() -> None:
    """Through forecast_panel: with the median the forecast of an intermittent series lies
    among its chosen models' forecasts at every period; with the mean it is their weighted
    mean, and smooth series are the weighted mean either way."""
    rng = np.random.default_rng(5)
    n, months = 12, 48
    rate = np.where(np.arange(n) < 8, 0.25, 8.0)  # 8 intermittent, 4 smooth series
    y = rng.poisson(rate[:, None], size=(n, months)).astype(float)
    keys = pd.DataFrame({"sku": [f"P{i:02d}" for i in range(n)], "location": "main"})
    dates = pd.date_range("2021-01-01", periods=months, freq="MS")
    panel = Panel(keys, dates, y, y.copy(), np.zeros_like(y, bool), np.full((n, months), 1.0), MONTHLY)
    cfg = EngineConfig(models=("seasonal_naive", "croston", "tsb", "adida", "theta"),
                       selection="ensemble", keep_all=True, folds=2)
    result = forecast_panel(panel, 6, cfg)
    sparse = intermittent_rows(y)
    assert sparse[:8].all() and not sparse[8:].any()
    w = result.weights.to_numpy()
    stack = np.stack([result.model_forecasts[m].mean for m in result.weights.columns], axis=1)
    chosen = np.where(w[:, :, None] > 0, stack, np.nan)
    np.testing.assert_allclose(result.forecast.mean[sparse], np.nanmedian(chosen, axis=1)[sparse])
    weighted = np.einsum("nk,nkh->nh", w, stack)
    np.testing.assert_allclose(result.forecast.mean[~sparse], weighted[~sparse])
    assert not np.allclose(result.forecast.mean[sparse], weighted[sparse])
    by_mean = forecast_panel(panel, 6, dataclasses.replace(cfg, intermittent_combine="mean"))
    np.testing.assert_allclose(by_mean.forecast.mean, weighted)
