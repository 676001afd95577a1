"""Intermittent-demand forecasters: Croston, SBA and TSB, vectorised across series.

For slow movers with many zero days: smoothing the demand sizes and the demand occurrence
separately gives a per-period demand rate that does not collapse towards zero after each
quiet spell, as simple exponential smoothing does.

NaN-aware: a censored or missing day is skipped entirely. It is neither a zero (no update of
the occurrence) nor a period in an inter-demand interval, so the result equals that of the
series with those days removed.

Smoothing constants: a fixed value (default 0.1, the common choice in the literature), or
``None`` to choose per series from ``alpha_grid`` (default 0.05, 0.1, 0.2, 0.3, the range
recommended by Syntetos & Boylan 2005) by the smallest in-sample mean squared one-step error of
the per-period forecast, over the periods where a forecast exists. All grid points of all series
are evaluated at once.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from forecast.forecasting.forecasters.base import Forecaster

DEFAULT_ALPHA_GRID = (0.05, 0.1, 0.2, 0.3)


def _croston_kernel(
    y: np.ndarray, alpha: np.ndarray, factor: np.ndarray, keep: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Croston's recursions for every series (rows of ``y``) and every column of ``alpha``.

    ``alpha`` and ``factor`` (the bias correction: 1 for Croston, ``1 - alpha/2`` for SBA) are
    ``(n, G)`` or ``(1, G)``. On a period with demand ``y_t > 0`` after an interval of ``q_t``
    observed periods (``q`` counts from the series' first observation for the first demand)::

        z <- z + alpha (y_t - z)     (z = y_t at the first demand)
        p <- p + alpha (q_t - p)     (p = q_t at the first demand)

    Zero periods change nothing but ``q``; NaN periods change nothing at all. The one-step
    forecast is ``factor * z / p`` (NaN before the first demand). Returns the squared-error sum
    ``(n, G)`` (the mean would rank the grid identically), final ``z``, ``p``, the fitted path
    (``keep``, ``G == 1``) and whether a demand was seen.
    """
    n, n_periods = y.shape
    n_grid = np.broadcast_shapes(alpha.shape, factor.shape, (n, 1))[1]
    size = np.zeros((n, n_grid))
    interval = np.ones((n, n_grid))
    since_last = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    sse = np.zeros((n, n_grid))
    fitted = np.full((n, n_periods), np.nan) if keep else None
    for t in range(n_periods):
        y_now = y[:, t]
        observed = ~np.isnan(y_now)
        demand = observed & (y_now > 0)
        forecast = factor * size / interval
        if keep:
            fitted[:, t] = np.where(seen, forecast[:, 0], np.nan)
        scored = observed & seen
        error = np.where(scored[:, None], np.nan_to_num(y_now)[:, None] - forecast, 0.0)
        sse += error * error
        since_last += observed
        first = demand & ~seen
        later = demand & seen
        y_col = np.nan_to_num(y_now)[:, None]
        q_col = since_last[:, None]
        size = np.where(
            first[:, None], y_col, np.where(later[:, None], size + alpha * (y_col - size), size)
        )
        interval = np.where(
            first[:, None],
            q_col,
            np.where(later[:, None], interval + alpha * (q_col - interval), interval),
        )
        seen |= demand
        since_last[demand] = 0.0
    return sse, size, interval, fitted, seen


def _tsb_kernel(
    y: np.ndarray, alpha_demand: np.ndarray, alpha_probability: np.ndarray, keep: bool = False
):
    """Teunter-Syntetos-Babai recursions for every series and grid column.

    Every observed period updates the demand probability ``d`` with the occurrence indicator
    ``o_t = 1[y_t > 0]``; demand periods also update the size ``z``::

        d <- d + alpha_probability (o_t - d)   (d = o_t at the first observed period)
        z <- z + alpha_demand (y_t - z)         (z = y_t at the first demand)

    Forecast ``d * z`` (0 before the first demand). Initial values follow statsforecast's
    ``_tsb`` (first value of each smoothed sequence). NaN periods change nothing. Returns the
    squared-error sum ``(n, G)``, final ``d``, ``z`` and (``keep``) the fitted path.
    """
    n, n_periods = y.shape
    n_grid = np.broadcast_shapes(alpha_demand.shape, alpha_probability.shape, (n, 1))[1]
    probability = np.zeros((n, n_grid))
    size = np.zeros((n, n_grid))
    started = np.zeros(n, dtype=bool)
    seen = np.zeros(n, dtype=bool)
    sse = np.zeros((n, n_grid))
    fitted = np.full((n, n_periods), np.nan) if keep else None
    for t in range(n_periods):
        y_now = y[:, t]
        observed = ~np.isnan(y_now)
        demand = observed & (y_now > 0)
        forecast = probability * size
        if keep:
            fitted[:, t] = np.where(started, forecast[:, 0], np.nan)
        scored = observed & started
        y_col = np.nan_to_num(y_now)[:, None]
        error = np.where(scored[:, None], y_col - forecast, 0.0)
        sse += error * error
        occurrence = demand[:, None].astype(np.float64)
        probability = np.where(
            (observed & ~started)[:, None],
            occurrence,
            np.where(
                (observed & started)[:, None],
                probability + alpha_probability * (occurrence - probability),
                probability,
            ),
        )
        size = np.where(
            (demand & ~seen)[:, None],
            y_col,
            np.where((demand & seen)[:, None], size + alpha_demand * (y_col - size), size),
        )
        started |= observed
        seen |= demand
    return sse, probability, size, fitted


def _check_alpha(name: str, value: float | None) -> None:
    if value is not None and not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} must be in (0, 1] or None, got {value!r}")


def _check_grid(grid) -> np.ndarray:
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or (grid <= 0).any() or (grid > 1).any():
        raise ValueError(f"alpha_grid must be a non-empty sequence in (0, 1], got {grid!r}")
    return grid


class Croston(Forecaster):
    """Croston's method (Croston 1972): smoothed demand size over smoothed interval.

    ``y_hat = z / p`` for every horizon, where ``z`` and ``p`` are simple exponential smoothing
    of the non-zero demand sizes and of the intervals between them (in observed periods), both
    with ``alpha`` and updated only in periods with demand (see ``_croston_kernel``). Initial
    values: the first demand and its interval from the series' first observation, as in
    statsforecast's ``_croston_classic``. ``fitted_`` is the one-step-ahead rate forecast
    (NaN before the first demand). ``alpha=None`` chooses it per series from ``alpha_grid``
    by in-sample mean squared error (module docstring).

    Example
    -------
    >>> y = np.array([[0.0, 3.0, 0.0, 0.0, 5.0, 0.0]])
    >>> Croston(alpha=0.1).fit(y).predict(2).round(4)  # 3.2 / 2.1
    array([[1.5238, 1.5238]])
    """

    _bias_corrected = False

    def __init__(self, alpha: float | None = 0.1, alpha_grid=DEFAULT_ALPHA_GRID):
        self.alpha = alpha
        self.alpha_grid = alpha_grid

    def _factor(self, alpha: np.ndarray) -> np.ndarray:
        return 1.0 - alpha / 2.0 if self._bias_corrected else np.ones_like(alpha)

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        _check_alpha("alpha", self.alpha)
        n = y.shape[0]
        if self.alpha is None:
            grid = _check_grid(self.alpha_grid)[None, :]
            sse, *_ = _croston_kernel(y, grid, self._factor(grid))
            alpha = grid[0, np.argmin(sse, axis=1)]  # ties (e.g. all-zero rows): first point
        else:
            alpha = np.full(n, float(self.alpha))
        self.alpha_ = alpha
        _, size, interval, fitted, seen = _croston_kernel(
            y, alpha[:, None], self._factor(alpha[:, None]), keep=True
        )
        self.size_ = size[:, 0]
        self.interval_ = interval[:, 0]
        self.has_demand_ = seen
        self.fitted_ = fitted

    def _predict(self, h: int) -> np.ndarray:
        rate = np.where(
            self.has_demand_, self._factor(self.alpha_) * self.size_ / self.interval_, 0.0
        )
        return np.repeat(rate[:, None], h, axis=1)


class SBA(Croston):
    """Syntetos-Boylan approximation (Syntetos & Boylan 2005): Croston times ``1 - alpha/2``.

    Croston's ratio ``z / p`` is biased upwards; multiplying by ``1 - alpha/2`` removes most of
    the bias. Same parameters, initialisation and NaN handling as ``Croston``; ``fitted_`` is
    the corrected one-step rate.

    Example
    -------
    >>> y = np.array([[0.0, 3.0, 0.0, 0.0, 5.0, 0.0]])
    >>> SBA(alpha=0.1).fit(y).predict(1).round(4)  # 0.95 * 3.2 / 2.1
    array([[1.4476]])
    """

    _bias_corrected = True


class TSB(Forecaster):
    """Teunter-Syntetos-Babai method (Teunter, Syntetos & Babai 2011).

    Smooths the demand probability every period and the demand size in demand periods, and
    forecasts ``y_hat = d * z`` for every horizon (see ``_tsb_kernel``). Unlike Croston the
    forecast decays during long runs of zeros, which suits items that are dying out.
    ``alpha_demand`` / ``alpha_probability`` set to ``None`` are chosen per series from
    ``alpha_grid`` (jointly, over the grid's product) by in-sample mean squared error.

    Example
    -------
    >>> y = np.array([[0.0, 3.0, 0.0, 0.0, 5.0, 0.0]])
    >>> TSB(alpha_demand=0.1, alpha_probability=0.1).fit(y).predict(1).round(6)
    array([[0.497952]])
    """

    def __init__(
        self,
        alpha_demand: float | None = 0.1,
        alpha_probability: float | None = 0.1,
        alpha_grid=DEFAULT_ALPHA_GRID,
    ):
        self.alpha_demand = alpha_demand
        self.alpha_probability = alpha_probability
        self.alpha_grid = alpha_grid

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        _check_alpha("alpha_demand", self.alpha_demand)
        _check_alpha("alpha_probability", self.alpha_probability)
        n = y.shape[0]
        if self.alpha_demand is None or self.alpha_probability is None:
            grid = _check_grid(self.alpha_grid)
            demand_levels = grid if self.alpha_demand is None else [float(self.alpha_demand)]
            probability_levels = (
                grid if self.alpha_probability is None else [float(self.alpha_probability)]
            )
            points = np.array(list(product(demand_levels, probability_levels)))
            sse, *_ = _tsb_kernel(y, points[None, :, 0], points[None, :, 1])
            best = points[np.argmin(sse, axis=1)]
            alpha_demand, alpha_probability = best[:, 0], best[:, 1]
        else:
            alpha_demand = np.full(n, float(self.alpha_demand))
            alpha_probability = np.full(n, float(self.alpha_probability))
        self.alpha_demand_ = alpha_demand
        self.alpha_probability_ = alpha_probability
        _, probability, size, fitted = _tsb_kernel(
            y, alpha_demand[:, None], alpha_probability[:, None], keep=True
        )
        self.probability_ = probability[:, 0]
        self.size_ = size[:, 0]
        self.fitted_ = fitted

    def _predict(self, h: int) -> np.ndarray:
        return np.repeat((self.probability_ * self.size_)[:, None], h, axis=1)
