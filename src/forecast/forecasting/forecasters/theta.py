"""The standard Theta method (Assimakopoulos & Nikolopoulos 2000; Hyndman & Billah 2003): SES
with drift on optionally deseasonalised data, SES fitted by the shared ETS code (:mod:`.ets_fit`)."""

from __future__ import annotations

import numpy as np

from forecast.forecasting.forecasters.base import Forecaster, first_observed
from forecast.forecasting.forecasters.ets_fit import SES_ALPHA_GRID, _fit_ets
from forecast.forecasting.forecasters.ets_initial import _centred_moving_average, _level_and_slope
from forecast.forecasting.forecasters.ets_kernel import _Spec


class Theta(Forecaster):
    """Standard Theta method: SES with drift equal to half the linear-trend slope.

    Assimakopoulos & Nikolopoulos (2000), in the form shown by Hyndman & Billah (2003):
    ``y_hat[T+k] = l_T + b0 (1 - 1/theta) (k - 1 + 1/alpha - (1 - alpha)^n / alpha)``, where
    ``l_T`` is the SES level (``alpha`` chosen by SSE, initial level = first observation, as in
    statsmodels' ``ThetaModel``), ``b0`` the least-squares slope of ``y`` on calendar time,
    ``n`` the number of observations and ``theta = 2`` the standard method (drift ``b0 / 2``).

    Seasonality (``deseasonalize``, when ``season_length > 1`` and the series has at least two
    full seasons): if ``seasonality_test`` is on, only series whose lag-``m`` autocorrelation
    is significant at the 90% level, ``|r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)``
    (as R's ``forecast::thetaf``), are adjusted. Adjustment is classical multiplicative
    decomposition (centred moving average, mean ratio per position, normalised to mean 1):
    the model runs on ``y / s`` and forecasts are multiplied back by ``s``. A position whose
    index is ~0 (e.g. a closed weekday) is skipped in fitting and forecast as 0.
    NaNs are skipped everywhere; ``fitted_`` is the one-step in-sample Theta forecast.
    """

    def __init__(
        self,
        theta: float = 2.0,
        deseasonalize: bool = True,
        seasonality_test: bool = True,
        alpha: float | None = None,
    ):
        self.theta = theta
        self.deseasonalize = deseasonalize
        self.seasonality_test = seasonality_test
        self.alpha = alpha

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        if self.theta < 1:
            raise ValueError(f"theta must be >= 1, got {self.theta!r}")
        n, n_periods = y.shape
        m = season_length
        observed = ~np.isnan(y)
        start = first_observed(observed)
        index = np.ones((n, m))
        seasonal = np.zeros(n, dtype=bool)
        if self.deseasonalize and m > 1:
            candidates = (n_periods - start) >= 2 * m
            if self.seasonality_test and candidates.any():  # then T >= 2m
                candidates &= _seasonality_test(y, m)
            if candidates.any():
                index[candidates] = _multiplicative_seasonal_index(y[candidates], m)
                seasonal = candidates
        self.season_ = index  # (n, m) by calendar position
        self.seasonal_ = seasonal
        factors = index[:, np.arange(n_periods) % m]
        with np.errstate(invalid="ignore", divide="ignore"):
            adjusted = np.where(factors > 1e-6, y / factors, np.nan)

        # SES part, initial level = first observation (statsmodels ThetaModel convention)
        first_value = np.where(
            start < n_periods,
            np.take_along_axis(adjusted, np.minimum(start, n_periods - 1)[:, None], 1)[:, 0],
            0.0,
        )
        first_value = np.where(np.isnan(first_value), 0.0, first_value)
        learned = _fit_ets(
            adjusted,
            1,
            _Spec(False, False, None),
            {"alpha": self.alpha},
            {"level": first_value},
            True,
            False,
            alpha_grid=SES_ALPHA_GRID,
        )
        self.alpha_ = learned["params"]["alpha"]
        self.level_ = learned["level"]
        # drift: least-squares slope on calendar time
        times = np.arange(n_periods, dtype=np.float64)[None, :] - start[:, None]
        _, self.slope_ = _level_and_slope(adjusted, times, trend=True)
        self.n_obs_ = (~np.isnan(adjusted)).sum(axis=1)
        weight = 1.0 - 1.0 / self.theta

        # one-step in-sample: SES fitted + drift with the observation count seen before t
        adjusted_obs = ~np.isnan(adjusted)
        seen_before = np.cumsum(adjusted_obs, axis=1) - adjusted_obs
        drift = (
            weight
            * self.slope_[:, None]
            * _theta_drift_factor(self.alpha_[:, None], seen_before, 1.0)
        )
        self.fitted_ = (learned["fitted"] + drift) * factors
        self.fitted_[factors <= 1e-6] = 0.0
        self.fitted_[np.arange(n_periods)[None, :] < start[:, None]] = np.nan

    def _predict(self, h: int) -> np.ndarray:
        weight = 1.0 - 1.0 / self.theta
        steps = np.arange(1, h + 1, dtype=np.float64)[None, :]
        drift = _theta_drift_factor(self.alpha_[:, None], self.n_obs_[:, None], steps)
        forecast = self.level_[:, None] + weight * self.slope_[:, None] * drift
        positions = (self.n_periods_ - 1 + np.arange(1, h + 1)) % self.season_.shape[1]
        factors = self.season_[:, positions]
        return np.where(factors > 1e-6, forecast * factors, 0.0)


def _theta_drift_factor(alpha: np.ndarray, n_obs: np.ndarray, steps) -> np.ndarray:
    """``k - 1 + 1/alpha - (1 - alpha)^n / alpha`` (Hyndman & Billah 2003, eq. for SES+drift)."""
    safe = np.maximum(alpha, 1e-12)
    return steps - 1.0 + (1.0 - (1.0 - safe) ** n_obs) / safe


def _seasonality_test(y: np.ndarray, m: int) -> np.ndarray:
    """90% test of the lag-m autocorrelation (R ``forecast::thetaf``), NaN-aware, per row."""
    observed = ~np.isnan(y)
    count = observed.sum(axis=1)
    mean = np.where(observed, y, 0.0).sum(axis=1) / np.maximum(count, 1)
    x = np.where(observed, y - mean[:, None], 0.0)
    denom = (x * x).sum(axis=1)
    r = np.stack([(x[:, k:] * x[:, : x.shape[1] - k]).sum(axis=1) for k in range(1, m + 1)], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom[:, None] > 0, r / np.where(denom > 0, denom, 1.0)[:, None], 0.0)
    limit = 1.6448536269514722 * np.sqrt(
        (1.0 + 2.0 * (r[:, :-1] ** 2).sum(axis=1)) / np.maximum(count, 1)
    )
    return np.abs(r[:, -1]) > limit


def _multiplicative_seasonal_index(y: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative decomposition index per calendar position, mean 1 (FPP3 3.4)."""
    n = y.shape[0]
    trend = _centred_moving_average(y, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(trend > 0, y / trend, np.nan)
    index = np.ones((n, m))
    for p in range(m):  # loop over seasonal positions, not series
        column = ratio[:, p::m]
        count = (~np.isnan(column)).sum(axis=1)
        total = np.nansum(column, axis=1)
        index[:, p] = np.where(count > 0, total / np.maximum(count, 1), 1.0)
    mean = index.mean(axis=1, keepdims=True)
    return np.where(mean > 0, index / np.where(mean > 0, mean, 1.0), 1.0)
