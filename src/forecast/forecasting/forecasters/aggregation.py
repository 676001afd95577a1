"""Temporal-aggregation forecasters for intermittent demand: ADIDA and IMAPA, vectorised.

Summing an intermittent series over buckets of ``k`` periods removes most of its zeros, so
simple exponential smoothing of the bucket sums sees a smoother series; the per-period
forecast is the bucket forecast divided by ``k``.

- **ADIDA** (Nikolopoulos, Syntetos, Boylan, Petropoulos & Assimakopoulos 2011, "An aggregate-
  disaggregate intermittent demand approach (ADIDA) to forecasting: an empirical proposition
  and analysis", JORS 62(3), 544-554): one level ``k = round(mean inter-demand interval)``,
  ``y_hat = SES(bucket sums of k) / k``.
- **IMAPA** (Petropoulos & Kourentzes 2015, "Forecast combinations for intermittent demand",
  JORS 66(6), 914-924): the mean of the ADIDA forecasts of every level ``1..k``,
  ``y_hat = (1/k) sum_{j=1..k} SES(bucket sums of j) / j``.

Details follow statsforecast's ``_adida`` / ``_imapa``: the mean inter-demand interval is
``(position of the last demand + 1) / number of demands`` (intervals counted from the start,
the first one included); buckets are cut from the end, the ``len % k`` oldest periods are
dropped; SES starts at the first bucket (fitted_1 = x_1, fitted_{i+1} = alpha x_i + (1 - alpha)
fitted_i) and its alpha minimises the in-sample squared one-step error within [0.1, 0.3]
(statsforecast: golden-section search; here the grid ``ALPHA_GRID``, every series and grid
point at once). A series without demand forecasts 0; one with fewer observations than ``k``
the mean of its observations.

NaN-aware: periods not observed are dropped (the series is its observed values in order), as
the other intermittent models do.
"""

from __future__ import annotations

import numpy as np

from forecast.forecasting.forecasters.base import Forecaster

ALPHA_GRID = tuple(np.round(np.linspace(0.1, 0.3, 11), 3))


def _right_aligned(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Each row's observed values moved to the right end, in order (NaN before them), their
    count, and the map (rows, original columns, aligned columns) to put results back."""
    observed = ~np.isnan(y)
    counts = observed.sum(axis=1)
    rows, columns = np.nonzero(observed)
    row_end = np.cumsum(counts)
    position = np.arange(rows.size) - row_end[rows] + y.shape[1]
    out = np.full(y.shape, np.nan)
    out[rows, position] = y[rows, columns]
    return out, counts, (rows, columns, position)


def mean_intervals(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean inter-demand interval of right-aligned rows (NaN for a row without demand).

    >>> mean_intervals(np.array([[0.0, 2.0, 0.0, 0.0, 1.0, 0.0]]), np.array([6]))
    array([2.5])
    """
    t = x.shape[1]
    demand = np.nan_to_num(x) > 0
    n_demands = demand.sum(axis=1)
    last = t - 1 - np.argmax(demand[:, ::-1], axis=1)  # column of the last demand
    position = last - (t - counts)  # 0-based position within the observed values
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_demands > 0, (position + 1) / n_demands, np.nan)


def _ses_levels(sums: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SES over the columns of ``sums`` (leading NaN skipped) for every column of ``alpha``:
    the squared one-step error sum and the final level, both (n, G), and the level before each
    bucket for the first grid column (n, B; NaN up to the first bucket)."""
    n, buckets = sums.shape
    level = np.full((n, alpha.shape[1]), np.nan)
    sse = np.zeros_like(level)
    before = np.full((n, buckets), np.nan)
    for b in range(buckets):
        value = sums[:, b][:, None]
        seen = ~np.isnan(value)
        started = ~np.isnan(level)
        before[:, b] = level[:, 0]
        error = np.where(seen & started, value - level, 0.0)
        sse += error * error
        updated = np.where(started, level + alpha * (value - level), value)
        level = np.where(seen, updated, level)
    return sse, level, before


def ses_bucket_forecast(x: np.ndarray, level: int, grid, keep: bool = False):
    """SES one-step forecast of the sums of ``level``-period buckets cut from the right end of
    right-aligned rows ``x`` (leading NaN buckets are skipped), alpha chosen per row from
    ``grid`` by in-sample squared one-step error; NaN for rows without a full bucket. With
    ``keep`` also the fitted path (n, T): each bucket's one-step forecast / ``level`` on its
    periods.

    >>> x = np.array([[1.0, 0.0, 3.0, 0.0, 0.0, 2.0]])
    >>> float(ses_bucket_forecast(x, 2, [0.5])[0])  # sums 1, 3, 2: 1 -> 2 -> 2
    2.0
    """
    n, t = x.shape
    buckets = t // level
    sums = x[:, t - buckets * level :].reshape(n, buckets, level).sum(axis=2)  # NaN if partial
    grid = np.asarray(grid, dtype=float)
    sse, final, _ = _ses_levels(sums, grid[None, :])
    best = np.argmin(sse, axis=1)  # ties (one bucket, flat series): the first grid point
    forecast = final[np.arange(n), best]
    if not keep:
        return forecast
    _, _, before = _ses_levels(sums, grid[best][:, None])
    fitted = np.full((n, t), np.nan)
    fitted[:, t - buckets * level :] = np.repeat(before / level, level, axis=1)
    return forecast, fitted


class _TemporalAggregation(Forecaster):
    """Shared fit of ADIDA and IMAPA: the aggregation level per series, then ``_rate``.
    ``max_level`` caps the level (None: no cap but the series' number of observations)."""

    def __init__(self, alpha_grid=ALPHA_GRID, max_level: int | None = None):
        self.alpha_grid = alpha_grid
        self.max_level = max_level

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        grid = np.asarray(self.alpha_grid, dtype=float)
        if grid.ndim != 1 or grid.size == 0 or (grid <= 0).any() or (grid > 1).any():
            raise ValueError(f"alpha_grid must be a non-empty sequence in (0, 1], got {self.alpha_grid!r}")
        x, counts, (rows, columns, position) = _right_aligned(y)
        interval = mean_intervals(x, counts)
        has_demand = np.isfinite(interval)
        # round half to even, as Python's round(mean_interval) in statsforecast
        level = np.maximum(np.round(np.where(has_demand, interval, 1.0)), 1)
        cap = np.minimum(counts, self.max_level or y.shape[1])
        level = np.minimum(level, np.maximum(cap, 1)).astype(int)
        rate, path = self._rate(x, level, grid)
        self.aggregation_level_ = level
        self.rate_ = np.where(has_demand, np.maximum(np.nan_to_num(rate), 0.0), 0.0)
        self.fitted_ = np.full(y.shape, np.nan)
        self.fitted_[rows, columns] = path[rows, position]

    def _rate(self, x, level, grid) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, h: int) -> np.ndarray:
        return np.repeat(self.rate_[:, None], h, axis=1)


class ADIDA(_TemporalAggregation):
    """ADIDA (Nikolopoulos et al. 2011): SES on sums over buckets of the mean inter-demand
    interval, divided by the bucket length (module docstring). ``aggregation_level_`` is ``k``
    per series, ``rate_`` the per-period forecast.

    Example: intervals 2, 3, 1 (mean 2, so k = 2); bucket sums 1, 0, 2; SES with alpha 0.1
    (the grid's best): 1 -> 0.9 -> 1.01; per period 1.01 / 2.

    >>> y = np.array([[0.0, 1.0, 0.0, 0.0, 1.0, 1.0]])
    >>> ADIDA().fit(y).predict(2).round(6)
    array([[0.505, 0.505]])
    """

    def _rate(self, x, level, grid) -> tuple[np.ndarray, np.ndarray]:
        rate, path = np.full(x.shape[0], np.nan), np.full(x.shape, np.nan)
        for k in np.unique(level):
            rows = np.nonzero(level == k)[0]
            forecast, fitted = ses_bucket_forecast(x[rows], int(k), grid, keep=True)
            rate[rows], path[rows] = forecast / k, fitted
        return rate, path


class IMAPA(_TemporalAggregation):
    """IMAPA (Petropoulos & Kourentzes 2015): the mean of the ADIDA forecasts at every
    aggregation level from 1 to ``k`` (module docstring).

    Example (k = 2, alpha 0.1): level 1 SES of 0, 1, 0, 0, 1, 1 gives 0.25561; level 2 SES of
    the sums 1, 0, 2 gives 1.01, per period 0.505; IMAPA = (0.25561 + 0.505) / 2.

    >>> y = np.array([[0.0, 1.0, 0.0, 0.0, 1.0, 1.0]])
    >>> IMAPA(alpha_grid=(0.1,)).fit(y).predict(1).round(6)
    array([[0.380305]])
    """

    def _rate(self, x, level, grid) -> tuple[np.ndarray, np.ndarray]:
        total, path, paths = np.zeros(x.shape[0]), np.zeros(x.shape), np.zeros(x.shape)
        for j in range(1, int(level.max()) + 1):
            rows = np.nonzero(level >= j)[0]
            forecast, fitted = ses_bucket_forecast(x[rows], j, grid, keep=True)
            total[rows] += np.nan_to_num(forecast / j)  # level <= count: a full bucket exists
            path[rows] += np.nan_to_num(fitted)
            paths[rows] += ~np.isnan(fitted)
        # fitted: the mean over the levels that have a one-step forecast for that period
        return total / level, np.divide(path, paths, out=np.full(x.shape, np.nan), where=paths > 0)
