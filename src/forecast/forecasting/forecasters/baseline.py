"""Benchmark forecasters: seasonal naive and (seasonal) moving averages.

Simple methods that every other model has to beat (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, 3rd ed., section 5.2 "Some simple forecasting methods"). All are
NaN-aware: a censored or missing day is skipped, never read as zero demand.
"""

from __future__ import annotations

import numpy as np

from forecast.forecasting.forecasters.base import Forecaster, compress_observed, first_observed


class SeasonalNaive(Forecaster):
    """Seasonal naive: each future day repeats the last observed value at its seasonal position.

    ``y_hat[T+k] = y[t]`` where ``t`` is the last observed period with ``t = T+k (mod m)``
    (FPP3 section 5.2). NaN-aware: a censored day leaves the previous value of that position in
    place. A position never observed, and every position of a series whose history (from its
    first observation) is shorter than one season, falls back to the non-seasonal naive forecast
    (the last observed value). ``season_length=1`` is the plain naive method.

    Parameters
    ----------
    season_length:
        Season length ``m``; ``None`` uses the ``season_length`` passed to ``fit``.

    Example
    -------
    >>> y = np.array([[1.0, 2.0, 3.0, 4.0, np.nan, 6.0]])
    >>> SeasonalNaive(season_length=3).fit(y).predict(3)
    array([[4., 2., 6.]])
    """

    def __init__(self, season_length: int | None = None):
        self.season_length = season_length

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        m = season_length if self.season_length is None else int(self.season_length)
        if m < 1:
            raise ValueError(f"season_length must be >= 1, got {self.season_length!r}")
        self.season_length_ = m
        self.fitted_, self.last_by_position_, self.last_value_ = _seasonal_naive_path(y, m)

    def _predict(self, h: int) -> np.ndarray:
        m = self.season_length_
        positions = (self.n_periods_ - 1 + np.arange(1, h + 1)) % m
        forecast = self.last_by_position_[:, positions]
        return np.where(np.isnan(forecast), self.last_value_[:, None], forecast)


def _seasonal_naive_path(y: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-step seasonal-naive predictions, last value per seasonal position, last value.

    Positions are calendar positions ``t % m``. Series with less than one season of history
    keep all positions NaN so that the caller falls back to the last value.
    """
    n, n_periods = y.shape
    observed = ~np.isnan(y)
    seasonal_ok = (n_periods - first_observed(observed)) >= m
    last_by_position = np.full((n, m), np.nan)
    last_value = np.full(n, np.nan)
    fitted = np.full((n, n_periods), np.nan)
    for t in range(n_periods):
        p = t % m
        prediction = np.where(seasonal_ok, last_by_position[:, p], np.nan)
        fitted[:, t] = np.where(np.isnan(prediction), last_value, prediction)
        obs_t = observed[:, t]
        last_by_position[:, p] = np.where(obs_t, y[:, t], last_by_position[:, p])
        last_value = np.where(obs_t, y[:, t], last_value)
    last_by_position[~seasonal_ok] = np.nan
    return fitted, last_by_position, last_value


class MovingAverage(Forecaster):
    """Moving average: the mean of the last ``window`` observed values, forecast flat.

    ``y_hat[T+k] = mean(last window observed y)`` for every ``k`` (FPP3 section 5.2 "average
    method" restricted to a trailing window). Censored/missing days are skipped, so the window
    always holds ``window`` real observations when the history has that many.
    ``fitted_[:, t]`` is the same mean over observations before ``t``.

    Example
    -------
    >>> y = np.array([[5.0, 1.0, np.nan, 3.0]])
    >>> MovingAverage(window=2).fit(y).predict(2)
    array([[2., 2.]])
    """

    def __init__(self, window: int = 28):
        self.window = window

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        window = _check_window(self.window)
        self.fitted_, self.level_ = _moving_average_path(y, window)

    def _predict(self, h: int) -> np.ndarray:
        return np.repeat(self.level_[:, None], h, axis=1)


class SeasonalMovingAverage(Forecaster):
    """Seasonal moving average: mean of the last ``window`` observed values at the same position.

    ``y_hat[T+k] = mean of the last `window` observed y[t] with t = T+k (mod m)``, i.e. the
    average of the same weekday over the last ``window`` weeks for daily data with ``m = 7``
    (a smoothed seasonal naive, FPP3 section 5.2). Positions without any observation, and series
    shorter than one season, fall back to the moving average of the last ``window * m``
    observed values.

    Example
    -------
    >>> y = np.array([[1.0, 10.0, 3.0, 12.0, np.nan, 14.0]])
    >>> SeasonalMovingAverage(window=2, season_length=2).fit(y).predict(2)
    array([[ 2., 13.]])
    """

    def __init__(self, window: int = 4, season_length: int | None = None):
        self.window = window
        self.season_length = season_length

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        window = _check_window(self.window)
        m = season_length if self.season_length is None else int(self.season_length)
        if m < 1:
            raise ValueError(f"season_length must be >= 1, got {self.season_length!r}")
        self.season_length_ = m
        n, n_periods = y.shape
        fallback_fitted, self.fallback_level_ = _moving_average_path(y, window * m)
        seasonal_ok = (n_periods - first_observed(~np.isnan(y))) >= m
        fitted = np.full((n, n_periods), np.nan)
        level_by_position = np.full((n, m), np.nan)
        for p in range(min(m, n_periods)):  # loop over seasonal positions, not series
            columns = np.arange(p, n_periods, m)
            fitted[:, columns], level_by_position[:, p] = _moving_average_path(
                y[:, columns], window
            )
        fitted[~seasonal_ok] = np.nan
        level_by_position[~seasonal_ok] = np.nan
        self.fitted_ = np.where(np.isnan(fitted), fallback_fitted, fitted)
        self.level_by_position_ = level_by_position

    def _predict(self, h: int) -> np.ndarray:
        positions = (self.n_periods_ - 1 + np.arange(1, h + 1)) % self.season_length_
        forecast = self.level_by_position_[:, positions]
        return np.where(np.isnan(forecast), self.fallback_level_[:, None], forecast)


def _check_window(window: int) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    return int(window)


def _moving_average_path(y: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean of the last ``window`` observed values: one-step path and final level.

    With ``S(k)`` the sum of a row's first ``k`` observations and ``c_t`` the number observed
    before ``t``, the prediction at ``t`` is ``(S(c_t) - S(c_t - w')) / w'``, ``w' = min(c_t, w)``.
    """
    n, n_periods = y.shape
    values, counts = compress_observed(y)
    cumulative = np.zeros((n, n_periods + 1))
    np.cumsum(np.nan_to_num(values), axis=1, out=cumulative[:, 1:])
    seen_before = np.cumsum(~np.isnan(y), axis=1) - ~np.isnan(y)  # observations before t
    counts_all = np.concatenate([seen_before, counts[:, None]], axis=1)
    used = np.minimum(counts_all, window)
    total = np.take_along_axis(cumulative, counts_all, axis=1) - np.take_along_axis(
        cumulative, counts_all - used, axis=1
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(used > 0, total / np.maximum(used, 1), np.nan)
    return mean[:, :-1], mean[:, -1]
