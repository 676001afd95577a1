"""Initial states of the ETS models: the kernel's data layout and the heuristic starting values.

``_prepare`` turns a ``(n_series, T)`` matrix into the time-major, start-sorted layout of
:mod:`.ets_kernel` with heuristic initial level, slope and seasonal states
(``_heuristic_initial_states``, after Hyndman, Koehler, Ord & Snyder 2008, ch. 2) or the ones
given by the caller. ``_level_and_slope`` and ``_centred_moving_average`` (the classical
decomposition trend, FPP3 sec. 3.4) are also used by the Theta method.
"""

from __future__ import annotations

import numpy as np

from forecast.forecasting.forecasters.base import first_observed
from forecast.forecasting.forecasters.ets_kernel import _SEASON_FLOOR, _Prepared, _Spec

#: Initial-state windows (the heuristic of Hyndman et al. 2008, ch. 2).
INIT_NONSEASONAL_OBS = 10
INIT_MAX_CYCLES = 4


def _prepare(
    y: np.ndarray,
    m: int,
    spec: _Spec,
    initial_level: np.ndarray | None = None,
    initial_trend: np.ndarray | None = None,
    initial_seasonal: np.ndarray | None = None,
) -> _Prepared:
    n, n_periods = y.shape
    observed = ~np.isnan(y)
    start = first_observed(observed)
    level0, slope0, season_by_offset, seasonal_ok = _heuristic_initial_states(
        y, start, m, spec.trend, spec.seasonal
    )
    if initial_level is not None:
        level0 = _per_series(initial_level, n, "initial_level")
    if initial_trend is not None:
        slope0 = _per_series(initial_trend, n, "initial_trend")
    if initial_seasonal is not None and spec.seasonal is not None:
        season_by_offset = np.broadcast_to(
            np.asarray(initial_seasonal, dtype=np.float64), (n, m)
        ).copy()
        seasonal_ok = np.ones(n, dtype=bool)
    season0 = None
    if spec.seasonal is not None:
        # offset j (j-th period after the start) sits at calendar position (start + j) % m
        positions = (start[:, None] + np.arange(m)) % m
        season0 = np.empty((n, m))
        np.put_along_axis(season0, positions, season_by_offset, axis=1)
    level_floor = None
    if spec.seasonal == "mul":
        count = observed.sum(axis=1)
        scale = np.where(observed, y, 0.0).sum(axis=1) / np.maximum(count, 1)
        level_floor = np.where(scale > 0, 1e-3 * scale, 1e-8)

    order = np.argsort(start, kind="stable")
    sorted_start = start[order]
    n_active = np.searchsorted(sorted_start, np.arange(n_periods), side="right")
    y_sorted = y[order]
    return _Prepared(
        order=order,
        y_t=np.ascontiguousarray(np.nan_to_num(y_sorted, nan=0.0).T),
        w_t=np.ascontiguousarray((~np.isnan(y_sorted)).T.astype(np.float64)),
        n_active=n_active,
        m=m,
        seasonal_ok=seasonal_ok[order],
        level0=level0[order],
        slope0=slope0[order],
        season0=None if season0 is None else np.ascontiguousarray(season0[order].T),
        level_floor=None if level_floor is None else level_floor[order],
    )


def _per_series(value: float | np.ndarray, n: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim > 1 or (array.ndim == 1 and array.shape[0] != n):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {array.shape}")
    return np.broadcast_to(array, (n,)).copy()


def _heuristic_initial_states(
    y: np.ndarray, start: np.ndarray, m: int, trend: bool, seasonal: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Initial level, slope and seasonal indices (by offset from each series' start).

    Heuristic after Hyndman, Koehler, Ord & Snyder (2008, ch. 2, initialisation):

    - seasonal models use the first ``c`` full seasons, ``2 <= c <= 4`` (series with fewer than
      two seasons of history fall back to the non-seasonal model: indices 0 or 1 and
      ``gamma = 0``): a centred moving average of order ``m`` (``2 x m`` for even ``m``)
      gives a trend, the seasonal index of each position is the mean de-trended value
      (difference or ratio) at that position, normalised to sum 0 (additive) or mean 1
      (multiplicative);
    - the level (and slope) come from the seasonally adjusted values of that window, or from
      the first 10 observations of non-seasonal models: with a trend, a least-squares line on
      calendar time (the level is the line one period before the first observation, so that
      the first prediction is ``l0 + b0``); without, their mean.

    NaNs are skipped throughout. Returns ``level0 (n,)``, ``slope0 (n,)``,
    ``season (n, m)`` by offset, ``seasonal_ok (n,)``.
    """
    n, n_periods = y.shape
    observed = ~np.isnan(y)
    span = n_periods - start
    seasonal_ok = np.zeros(n, dtype=bool)
    if seasonal is not None:
        cycles = np.minimum(span // m, INIT_MAX_CYCLES)
        seasonal_ok = cycles >= 2
    neutral = 1.0 if seasonal == "mul" else 0.0
    season = np.full((n, m), neutral)

    if seasonal is not None and seasonal_ok.any():
        width = INIT_MAX_CYCLES * m
        offsets = np.arange(width)
        columns = start[:, None] + offsets
        inside = offsets < (np.where(seasonal_ok, cycles, 0) * m)[:, None]
        window = np.take_along_axis(y, np.minimum(columns, n_periods - 1), axis=1)
        window = np.where(inside, window, np.nan)
        trend_ma = _centred_moving_average(window, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            if seasonal == "mul":
                detrended = np.where(trend_ma > 0, window / trend_ma, np.nan)
            else:
                detrended = window - trend_ma
        by_position = detrended.reshape(n, INIT_MAX_CYCLES, m)
        counts = np.sum(~np.isnan(by_position), axis=1)
        index = np.where(counts > 0, np.nansum(by_position, axis=1) / np.maximum(counts, 1), np.nan)
        index = np.where(np.isnan(index), neutral, index)
        if seasonal == "mul":
            mean_index = index.mean(axis=1, keepdims=True)
            index = np.where(mean_index > 0, index / np.where(mean_index > 0, mean_index, 1), 1.0)
        else:
            index = index - index.mean(axis=1, keepdims=True)
        season = np.where(seasonal_ok[:, None], index, neutral)
        with np.errstate(invalid="ignore", divide="ignore"):
            tiled = np.tile(season, INIT_MAX_CYCLES)
            if seasonal == "mul":
                adjusted = np.where(tiled > _SEASON_FLOOR, window / tiled, np.nan)
            else:
                adjusted = window - tiled
        seasonal_level, seasonal_slope = _level_and_slope(adjusted, offsets, trend)

    # non-seasonal window: the first INIT_NONSEASONAL_OBS observations, at their calendar times
    rank = np.cumsum(observed, axis=1)
    use = observed & (rank <= INIT_NONSEASONAL_OBS)
    values = np.where(use, y, np.nan)
    times = np.arange(n_periods)[None, :] - start[:, None]
    level0, slope0 = _level_and_slope(values, times, trend)
    if seasonal is not None and seasonal_ok.any():
        level0 = np.where(seasonal_ok, seasonal_level, level0)
        slope0 = np.where(seasonal_ok, seasonal_slope, slope0)
    level0 = np.where(np.isnan(level0), 0.0, level0)
    slope0 = np.where(np.isnan(slope0), 0.0, slope0)
    return level0, slope0, season, seasonal_ok


def _level_and_slope(
    values: np.ndarray, times: np.ndarray, trend: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares line through the non-NaN ``values`` at ``times`` (time 0 = first period).

    Returns the line's value at time -1 and its slope (with ``trend``), or the mean and 0.
    """
    use = ~np.isnan(values)
    count = use.sum(axis=1)
    safe = np.maximum(count, 1)
    mean_y = np.where(use, values, 0.0).sum(axis=1) / safe
    if not trend:
        return np.where(count > 0, mean_y, np.nan), np.zeros(values.shape[0])
    times = np.broadcast_to(times, values.shape)
    mean_t = np.where(use, times, 0.0).sum(axis=1) / safe
    dt = np.where(use, times - mean_t[:, None], 0.0)
    dy = np.where(use, values - mean_y[:, None], 0.0)
    sxx = (dt * dt).sum(axis=1)
    slope = np.where(sxx > 0, (dt * dy).sum(axis=1) / np.where(sxx > 0, sxx, 1.0), 0.0)
    level = mean_y + slope * (-1.0 - mean_t)
    return np.where(count > 0, level, np.nan), slope


def _centred_moving_average(y: np.ndarray, m: int) -> np.ndarray:
    """NaN-aware centred moving average of order ``m`` (``2 x m`` when ``m`` is even).

    Classical decomposition trend (FPP3 sec. 3.4). A value is produced only where the whole
    window lies between the row's first and last observation; NaNs inside are skipped by
    re-normalising the weights (at least half of the weight must be observed).
    """
    n, n_periods = y.shape
    if m % 2 == 0:
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        weights = np.ones(m) / m
    half = len(weights) // 2
    if n_periods < len(weights):
        return np.full((n, n_periods), np.nan)
    observed = ~np.isnan(y)
    filled = np.where(observed, y, 0.0)
    windows_y = np.lib.stride_tricks.sliding_window_view(filled, len(weights), axis=1)
    windows_w = np.lib.stride_tricks.sliding_window_view(observed, len(weights), axis=1)
    num = windows_y @ weights
    den = windows_w @ weights
    out = np.full((n, n_periods), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, half : n_periods - half] = np.where(den >= 0.5, num / den, np.nan)
    # a window must not reach before the row's first or after its last possible column
    not_ended = np.cumsum(observed[:, ::-1], axis=1)[:, ::-1] > 0  # observed at/after t
    began = np.cumsum(observed, axis=1) > 0  # observed at/before t
    inside = np.zeros_like(observed)
    inside[:, half : n_periods - half] = began[:, : n_periods - 2 * half] & not_ended[:, 2 * half :]
    return np.where(inside, out, np.nan)
