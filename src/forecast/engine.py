"""Fits many series at once and returns a probabilistic forecast.

The point model here is the first, simple one of the foundation (a seasonal profile: the
recent level times the seasonal shape of the last few seasons); the dispersion model turns any
point forecast into a :class:`~forecast.distribution.DemandForecast`:

* over-dispersion ``k`` per series from in-sample seasonal differences,
  ``sigma^2 = mean((y_t - y_{t-m})^2) / 2`` and ``k = mu^2 / (sigma^2 - mu)`` (Poisson when
  ``sigma^2 <= mu``), pooled towards the median of all series for short histories;
* level-error variance ``v`` from how well the recent level predicted the next ``h`` periods at
  past origins (a small backtest inside the history), net of the noise already in ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.distribution import DemandForecast
from forecast.series import Panel


@dataclass(frozen=True)
class EngineConfig:
    """Parameters of the foundation engine."""

    level_window: int | None = None  # periods in the recent level; None -> 4 seasons (28 days)
    profile_seasons: int = 8  # seasons used for the seasonal shape
    min_level_var: float = 0.005
    max_level_var: float = 1.0


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    count = np.sum(~np.isnan(a), axis=axis)
    total = np.nansum(a, axis=axis)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def seasonal_profile_forecast(y: np.ndarray, m: int, h: int, cfg: EngineConfig) -> np.ndarray:
    """Level of the last ``level_window`` observed periods x seasonal index of the last seasons.

    The seasonal index of position j is mean(y at position j) / mean(y) over the last
    ``profile_seasons`` seasons (1 when the history is shorter than two seasons or m == 1).
    """
    n, t = y.shape
    window = cfg.level_window or (4 * m if m <= 12 else 13)
    window = min(window, t)
    level = _nanmean(y[:, t - window :], axis=1)
    level = np.where(np.isnan(level), _nanmean(y, axis=1), level)
    level = np.nan_to_num(level, nan=0.0)
    index = np.ones((n, m))
    if m > 1 and t >= 2 * m:
        span = min(cfg.profile_seasons * m, (t // m) * m)
        recent = y[:, t - span :].reshape(n, span // m, m)
        pos_mean = _nanmean(recent, axis=1)  # (n, m)
        overall = _nanmean(recent.reshape(n, -1), axis=1)[:, None]
        enough = np.sum(~np.isnan(recent), axis=1) >= 2
        raw = np.divide(pos_mean, overall, out=np.ones_like(pos_mean), where=overall > 0)
        index = np.where(enough & ~np.isnan(raw), raw, 1.0)
        index = index / index.mean(axis=1, keepdims=True)
        # Correct the level for the seasonal mix inside the level window.
        pos = (np.arange(t - window, t)) % m
        seen = ~np.isnan(y[:, t - window :])
        mix = np.divide(
            (index[:, pos] * seen).sum(axis=1), seen.sum(axis=1),
            out=np.ones(n), where=seen.sum(axis=1) > 0,
        )
        level = level / np.where(mix > 0, mix, 1.0)
    future_pos = np.arange(t, t + h) % m
    return np.maximum(level[:, None] * index[:, future_pos], 0.0)


def dispersion(y: np.ndarray, m: int, h: int, cfg: EngineConfig) -> tuple[np.ndarray, np.ndarray]:
    """Negative-binomial size ``k`` and level-error variance ``v`` per series (see module doc)."""
    n, t = y.shape
    tail = y[:, max(0, t - 365) :]
    mu = _nanmean(tail, axis=1)
    lag = m if tail.shape[1] > 2 * m else 1
    diff = tail[:, lag:] - tail[:, :-lag] if tail.shape[1] > lag else np.full((n, 1), np.nan)
    sigma2 = _nanmean(diff**2, axis=1) / 2
    excess = sigma2 - mu
    k = np.where(excess > 1e-9, mu**2 / np.maximum(excess, 1e-12), np.inf)
    pooled = np.nanmedian(np.where(np.isfinite(k), k, np.nan)) if np.isfinite(k).any() else np.inf
    k = np.where(np.isnan(k), pooled, k)

    window = 4 * m if m <= 12 else 13
    errs = []
    for origin in range(t - h, max(window, t - 365) - 1, -max(h, 1)):
        pred = _nanmean(y[:, origin - window : origin], axis=1)
        act = _nanmean(y[:, origin : origin + h], axis=1)
        seen = np.sum(~np.isnan(y[:, origin : origin + h]), axis=1)
        noise = np.divide(pred, seen, out=np.full(n, np.nan), where=seen > 0)
        noise = noise + np.where(np.isfinite(k), pred**2 / np.maximum(seen, 1) / k, 0.0)
        rel = np.divide((act - pred) ** 2 - noise, pred**2, out=np.full(n, np.nan), where=pred > 0)
        errs.append(rel)
    if errs:
        v = np.nanmedian(np.vstack(errs), axis=0) if len(errs) > 2 else _nanmean(np.vstack(errs), axis=0)
    else:
        v = np.full(n, np.nan)
    pooled_v = np.nanmedian(v) if np.isfinite(v).any() else 0.05
    v = np.where(np.isnan(v), pooled_v, v)
    return k, np.clip(v, cfg.min_level_var, cfg.max_level_var)


def forecast_panel(panel: Panel, horizon: int, cfg: EngineConfig | None = None) -> DemandForecast:
    """Probabilistic forecast of every series in ``panel`` for ``horizon`` periods."""
    cfg = cfg or EngineConfig()
    y = panel.demand
    m = panel.freq.season_length
    mean = seasonal_profile_forecast(y, m, horizon, cfg)
    never = np.isnan(y).all(axis=1)
    mean[never] = 0.0
    k, v = dispersion(y, m, horizon, cfg)
    return DemandForecast(
        keys=panel.keys,
        dates=panel.future_dates(horizon),
        mean=mean,
        size=k,
        level_var=v,
        model=np.full(panel.n_series, "seasonal_profile", dtype=object),
    )


def forecast_frame(forecast: DemandForecast) -> pd.DataFrame:
    return forecast.to_frame()
