"""Rolling-origin backtest of the engine: every candidate model and the automatic choice.

For each outer fold the engine runs once on the history before the fold's cut (its own model
choice uses only inner folds inside that history, never the period being scored) with
``keep_all`` so each candidate's own forecast is scored beside the automatic choice.
Metrics come from :mod:`forecast.forecasting.evaluation` (MASE, RMSSE, WRMSSE, WAPE, bias, scaled pinball
loss, 90% interval coverage, also counted by the non-randomized PIT, pinball loss of the 14-period demand sum at 0.9 and 0.95).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.forecasting import evaluation as ev
from forecast.forecasting.engine import EngineConfig, EngineResult, _cut_covariates, forecast_panel
from forecast.forecasting.series import Panel

AUTO = "auto"
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


@dataclass
class BacktestReport:
    per_series: pd.DataFrame  # model, series, fold, metrics..., sku, location
    summary: pd.DataFrame  # one row per model: overall metrics


def _cut_panel(panel: Panel, end: int) -> Panel:
    return dataclasses.replace(
        panel, dates=panel.dates[:end], demand=panel.demand[:, :end], sales=panel.sales[:, :end],
        censored=panel.censored[:, :end], price=panel.price[:, :end],
    )


def run_backtest(
    panel: Panel,
    horizon: int,
    folds: int,
    cfg: EngineConfig | None = None,
    covariates: object | None = None,
    progress: Callable[[str], None] | None = None,
) -> BacktestReport:
    """Backtest the engine's candidates and its automatic choice over ``folds`` outer folds."""
    cfg = dataclasses.replace(cfg or EngineConfig(), keep_all=True)
    say = progress or (lambda message: None)
    cache: dict[int, EngineResult] = {}

    def engine_at(end: int) -> EngineResult:
        if end not in cache:
            say(f"outer fold: history to {panel.dates[end - 1]:%Y-%m-%d}")
            cov = _cut_covariates(covariates, end, horizon) if covariates is not None else None
            cache[end] = forecast_panel(_cut_panel(panel, end), horizon, cfg, cov)
        return cache[end]

    def forecast_fn_for(model: str):
        def forecast_fn(y_train: np.ndarray, h: int) -> dict:
            result = engine_at(y_train.shape[1])
            fc = result.forecast if model == AUTO else result.model_forecasts.get(model)
            if fc is None:  # the model was not available (e.g. no covariates for gbm)
                nan = np.full((y_train.shape[0], h), np.nan)
                return {"mean": nan}
            quantiles = fc.quantiles(QUANTILES)
            n = y_train.shape[0]
            sums = fc.window_quantiles(np.zeros(n), np.full(n, float(sum_window)), (0.9, 0.95))
            return {"mean": fc.mean[:, :h], "quantiles": quantiles, "sum14": sums,
                    "cdf": lambda x: fc.cdf(x[:, : fc.mean.shape[1]])}

        return forecast_fn

    prices = panel.price if np.isfinite(panel.price).any() else None
    # "14-day" demand sum, in periods of the data (2 weeks; 1 month), at most the horizon.
    sum_window = int(min(max(round(14 / panel.freq.period_days), 1), horizon))
    models = [m for m in cfg.models if m != "prophet" or cfg.prophet_series > 0]
    frames = []
    for model in [*models, AUTO]:
        frame = ev.backtest(
            panel.demand, forecast_fn_for(model), horizon, folds,
            season_length=panel.freq.season_length, prices=prices, quantiles=QUANTILES,
            sum_window=sum_window,
        )
        frame.insert(0, "model", model)
        frames.append(frame)
    per_series = pd.concat(frames, ignore_index=True)
    per_series["sku"] = panel.keys["sku"].to_numpy()[per_series["series"].to_numpy()]
    per_series["location"] = panel.keys["location"].to_numpy()[per_series["series"].to_numpy()]
    rows = []
    for model, frame in per_series.groupby("model", sort=False):
        scored = frame.dropna(subset=["rmsse"])
        if scored.empty:
            continue
        summary = ev.summarise_backtest(scored)
        rows.append({"model": model, **summary.to_dict()})
    summary = pd.DataFrame(rows)
    return BacktestReport(per_series, summary)
