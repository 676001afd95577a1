"""Exponential smoothing (SES, Holt, damped trend, Holt-Winters) and the Theta method.

All models run as pure numpy kernels over the whole ``(n_series, T)`` matrix, looping over time
only (and over blocks of series sized to stay in cache). Estimation, per series, minimises the
in-sample one-step sum of squared errors (SSE):

1. initial states by a heuristic (``_heuristic_initial_states``);
2. a coarse grid of smoothing parameters, the same points for all series, evaluated at once
   (state arrays of shape ``(n_series, n_grid)`` updated along time);
3. least-squares initial states (``_improve_initial_states``; the SSE of an additive model is
   quadratic in its initial state), then the grid again;
4. a vectorised compass search in logit space around each series' best point, with the
   initial states re-solved half-way (``refine``).

Steps 3-4 are what statsmodels' ``ExponentialSmoothing.fit()`` does with a general optimiser;
on seasonal test series the SSE lands within ~1% of it.

Recursions: additive-error exponential smoothing in error-correction form, Hyndman &
Athanasopoulos, *Forecasting: Principles and Practice* (FPP3), 3rd ed., ch. 8 (8.1-8.3), and
Hyndman, Koehler, Ord & Snyder (2008), *Forecasting with Exponential Smoothing*, ch. 2.
With ``e_t = y_t - y_hat_t``, ``phi = 1`` when the trend is not damped, and ``beta = alpha *
beta_star``::

    additive season:        y_hat_t = l + phi*b + s_{t-m}
                            l_t = l + phi*b + alpha*e_t
                            b_t = phi*b + alpha*beta_star*e_t
                            s_t = s_{t-m} + gamma*e_t
    multiplicative season:  y_hat_t = (l + phi*b) * s_{t-m}
                            l_t = l + phi*b + alpha*e_t / s_{t-m}
                            b_t = phi*b + alpha*beta_star*e_t / s_{t-m}
                            s_t = s_{t-m} + gamma*e_t / (l + phi*b)

(``l, b`` are ``l_{t-1}, b_{t-1}``.) These are algebraically the Holt-Winters smoothing
equations used by statsmodels' ``ExponentialSmoothing``; our ``alpha, beta, gamma, phi`` are its
``smoothing_level, smoothing_trend, smoothing_seasonal, damping_trend``.

Missing values: a NaN period contributes no error (``e_t = 0``): the state moves along its
forecast path (level + damped trend, seasonal state unchanged) and the one-step prediction
carries forward. This is the state-space treatment of a missing observation, so a censored day
neither pulls the level towards zero nor stops the calendar. Rows whose first observation is at
column ``start`` keep their initial state frozen until then.

Parameter space (the "usual" region of FPP3 ch. 8): ``0 < alpha < 1``, ``0 < beta_star < 1``
(so ``beta < alpha``), ``0 < gamma < 1 - alpha``, ``0.8 <= phi <= 0.98``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from forecast.forecasting.forecasters.base import Forecaster, first_observed

PHI_BOUNDS = (0.8, 0.98)
#: Coarse grid levels, in natural units, for each smoothing parameter.
ALPHA_GRID = (0.01, 0.03, 0.08, 0.2, 0.45, 0.8)
SES_ALPHA_GRID = (0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.22, 0.3, 0.45, 0.65, 0.9)
BETA_STAR_GRID = (0.002, 0.03, 0.25)
GAMMA_STAR_GRID = (0.005, 0.05, 0.3)
PHI_GRID = (0.85, 0.95)
#: Compass-search refinement in logit units: first step and number of rounds.
REFINE_STEP = 0.7
REFINE_ROUNDS = 8
_Z_LIMIT = 9.0  # logit bound: parameters stay within ~(1.2e-4, 1 - 1.2e-4) of their range
#: Initial-state windows (the heuristic of Hyndman et al. 2008, ch. 2).
INIT_NONSEASONAL_OBS = 10
INIT_MAX_CYCLES = 4
#: Series x grid points per block: keeps the kernel's working arrays in cache.
_BLOCK_ELEMENTS = 1 << 15
_SEASON_FLOOR = 1e-2  # multiplicative season divisor floor (relative to an index of 1)


@dataclass(frozen=True)
class _Spec:
    trend: bool
    damped: bool
    seasonal: str | None  # None, "add", "mul"


# ---------------------------------------------------------------------------------------------
# Kernel
# ---------------------------------------------------------------------------------------------
def _ets_kernel(
    y_t: np.ndarray,
    w_t: np.ndarray,
    n_active: np.ndarray,
    level: np.ndarray,
    slope: np.ndarray | None,
    season: np.ndarray | None,
    alpha: np.ndarray,
    beta: np.ndarray | None,
    gamma: np.ndarray | None,
    phi: np.ndarray | None,
    multiplicative: bool,
    level_floor: np.ndarray | None = None,
    fitted_t: np.ndarray | None = None,
    normal_eq: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Run the ETS recursion for a block of series and grid points; return the SSE.

    Layout (time-major so that each step reads contiguous memory): ``y_t, w_t`` are ``(T, n)``
    (NaN replaced by 0, and the observed mask as 0/1 floats); states ``level, slope`` are
    ``(n, G)`` and ``season`` is ``(m, n, G)`` indexed by calendar position ``t % m``; they are
    updated in place and hold the final states on return. Parameters are ``(n, G)`` or
    ``(1, G)``; ``beta`` here is the error-form ``alpha * beta_star``. Rows are sorted by start
    so that the rows active at ``t`` are the prefix ``[:n_active[t]]``. With ``G == 1``,
    ``fitted_t`` (``(T, n)``) receives the one-step predictions of active rows.

    ``normal_eq = (C, r, inv_eps)`` records what a least-squares correction of the initial
    state needs: column 0 runs from the current initial state, column ``j >= 1`` from that
    state moved by ``eps_j`` along direction ``j``; ``C[t, :, j] = w (pred_j - pred_0) / eps_j``
    is the sensitivity of the prediction (exact for additive models, whose predictions are
    affine in the initial state) and ``r[t] = w (y - pred_0)`` the residual; ``C, r`` are
    ``(T, n, p)`` and ``(T, n, 1)`` and must start as zeros.
    """
    n_periods = y_t.shape[0]
    m = season.shape[0] if season is not None else 1
    sse = np.zeros(level.shape)
    base_buf = np.empty(level.shape)
    err_buf = np.empty(level.shape)
    tmp_buf = np.empty(level.shape)
    for t in range(n_periods):
        k = int(n_active[t])
        if k == 0:
            continue
        lev = level[:k]
        base = base_buf[:k]
        err = err_buf[:k]
        tmp = tmp_buf[:k]
        if slope is not None:
            slo = slope[:k]
            if phi is not None:
                np.multiply(slo, phi[:k], out=slo)  # slope now holds phi * b_{t-1}
            np.add(lev, slo, out=base)
        else:
            base[...] = lev
        if season is not None:
            seas = season[t % m, :k]
            if multiplicative:
                np.multiply(base, seas, out=err)
            else:
                np.add(base, seas, out=err)
        else:
            err[...] = base
        if fitted_t is not None:
            fitted_t[t, :k] = err[:, 0]
        if normal_eq is not None:
            sensitivity, residual, inv_eps = normal_eq
            w_now = w_t[t, :k, None]
            np.subtract(err[:, 1:], err[:, :1], out=sensitivity[t, :k])
            sensitivity[t, :k] *= inv_eps[:k] * w_now
            np.subtract(y_t[t, :k, None], err[:, :1], out=residual[t, :k])
            residual[t, :k] *= w_now
        # err = (y - prediction) * observed
        np.subtract(y_t[t, :k, None], err, out=err)
        np.multiply(err, w_t[t, :k, None], out=err)
        np.multiply(err, err, out=tmp)
        sse[:k] += tmp
        if multiplicative:
            # e / s_{t-m} drives level and trend, e / (l + phi b) drives the season
            np.maximum(seas, _SEASON_FLOOR, out=tmp)
            np.divide(err, tmp, out=tmp)
            np.multiply(tmp, alpha[:k], out=lev)
            lev += base
            if slope is not None:
                slo += tmp * beta[:k]
            np.maximum(base, level_floor[:k], out=tmp)
            np.divide(err, tmp, out=tmp)
            tmp *= gamma[:k]
            seas += tmp
        else:
            np.multiply(err, alpha[:k], out=lev)
            lev += base
            if slope is not None:
                np.multiply(err, beta[:k], out=tmp)
                slo += tmp
            if season is not None:
                np.multiply(err, gamma[:k], out=tmp)
                seas += tmp
    return sse


def _block_inputs(data: _Prepared, spec: _Spec, params: dict[str, np.ndarray], rows: slice):
    """Slice per-series parameters to a block of rows (``(1, G)`` arrays broadcast as is)."""
    n = data.y_t.shape[1]

    def take(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        return a[rows] if a.shape[0] == n and n > 1 else a

    alpha = take(params["alpha"])
    beta = take(params.get("beta"))
    gamma = take(params.get("gamma"))
    phi = take(params.get("phi"))
    if beta is not None:
        beta = alpha * beta  # error-correction form uses alpha * beta_star
    if gamma is not None:
        gamma = gamma * data.seasonal_ok[rows, None]  # short series: no seasonal update
    level_floor = None if data.level_floor is None else data.level_floor[rows, None]
    return alpha, beta, gamma, phi, level_floor


def _block_states(data: _Prepared, spec: _Spec, rows: slice, n_grid: int):
    """Initial states of a block of rows, repeated over ``n_grid`` columns (copies)."""
    level = np.repeat(data.level0[rows, None], n_grid, axis=1)
    slope = np.repeat(data.slope0[rows, None], n_grid, axis=1) if spec.trend else None
    season = None
    if spec.seasonal is not None:
        season = np.repeat(data.season0[:, rows, None], n_grid, axis=2)
    return level, slope, season


def _blocks(n: int, n_grid: int, rows_cap: int | None = None):
    block = max(1, _BLOCK_ELEMENTS // n_grid)
    if rows_cap is not None:
        block = min(block, rows_cap)
    for lo in range(0, n, block):
        yield slice(lo, min(n, lo + block))


def _run_blocks(
    data: _Prepared,
    spec: _Spec,
    params: dict[str, np.ndarray],
    n_grid: int,
    keep: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray] | None, np.ndarray | None]:
    """Evaluate ``n_grid`` parameter sets for every series, block by block of series.

    ``params`` maps name -> ``(n, G)`` or ``(1, G)`` natural-unit arrays (``beta`` is
    ``beta_star``). Returns the SSE ``(n, G)`` and, with ``keep`` (``G == 1``), the final states
    and the one-step fitted values ``(n, T)``, in the sorted row order.
    """
    n_periods, n = data.y_t.shape
    sse = np.empty((n, n_grid))
    states = None
    fitted_t = None
    if keep:
        states = {
            "level": np.empty(n),
            "slope": np.zeros(n),
            "season": None if spec.seasonal is None else np.empty((data.m, n)),
        }
        fitted_t = np.full((n_periods, n), np.nan)
    for rows in _blocks(n, n_grid):
        alpha, beta, gamma, phi, level_floor = _block_inputs(data, spec, params, rows)
        level, slope, season = _block_states(data, spec, rows, n_grid)
        sse[rows] = _ets_kernel(
            data.y_t[:, rows],
            data.w_t[:, rows],
            np.clip(data.n_active - rows.start, 0, rows.stop - rows.start),
            level,
            slope,
            season,
            alpha,
            beta,
            gamma,
            phi,
            spec.seasonal == "mul",
            level_floor,
            None if fitted_t is None else fitted_t[:, rows],
        )
        if keep:
            states["level"][rows] = level[:, 0]
            if slope is not None:
                states["slope"][rows] = slope[:, 0]
            if season is not None:
                states["season"][:, rows] = season[:, :, 0]
    return sse, states, None if fitted_t is None else fitted_t.T


def _improve_initial_states(
    data: _Prepared, spec: _Spec, params: dict[str, np.ndarray]
) -> np.ndarray:
    """Replace the initial states by their least-squares optimum at the given parameters.

    For additive models the one-step predictions are affine in the initial state ``x0``, so the
    SSE is a quadratic in ``x0`` and one solve of the normal equations gives the optimum
    (linear innovations state-space models, Hyndman et al. 2008); for multiplicative seasons
    the step is a Gauss-Newton step on the linearised model. Directions: the level, the slope,
    and the ``m`` seasonal directions ``e_p - 1/m`` (corrections keep the seasonal states
    summing as before, which removes the level/season ambiguity); a small ridge keeps the solve
    defined. Series with fewer than ``2 * (number of directions) + 2`` observations keep their
    heuristic states; series with less than two seasons keep their seasonal states fixed.
    A series keeps its new states only if its SSE improved. ``params``: ``(n, 1)`` arrays.
    Returns the SSE with the states kept.
    """
    n_periods, n = data.y_t.shape
    m = data.m
    seasonal = spec.seasonal is not None
    n_dim = 1 + int(spec.trend) + (m if seasonal else 0)
    n_grid = 1 + n_dim
    new_level = data.level0.copy()
    new_slope = data.slope0.copy()
    new_season = None if not seasonal else data.season0.copy()
    old_sse = np.empty(n)
    n_observed = data.w_t.sum(axis=0)
    multiplicative = spec.seasonal == "mul"
    # the sensitivity paths of a block take T * rows * n_dim floats: keep them under ~64 MB
    rows_cap = max(16, int(8e6 // max(1, n_periods * n_dim)))
    for rows in _blocks(n, n_grid, rows_cap):
        k = rows.stop - rows.start
        alpha, beta, gamma, phi, level_floor = _block_inputs(data, spec, params, rows)
        level, slope, season = _block_states(data, spec, rows, n_grid)
        scale = 1.0 + np.abs(data.level0[rows])
        eps = np.empty((k, n_dim))
        eps[:, 0] = 1e-4 * scale
        level[:, 1] += eps[:, 0]
        column = 1
        if spec.trend:
            eps[:, column] = 1e-4 * scale
            slope[:, 1 + column] += eps[:, column]
            column += 1
        if seasonal:
            directions = np.eye(m) - 1.0 / m  # (direction, position)
            step = 1e-4 if multiplicative else 1e-4 * scale
            eps[:, column:] = np.broadcast_to(np.asarray(step)[..., None], (k, m))
            season[:, :, 1 + column :] += directions.T[:, None, :] * eps[None, :, column:]
        sensitivity = np.zeros((n_periods, k, n_dim))
        residual = np.zeros((n_periods, k, 1))
        sse = _ets_kernel(
            data.y_t[:, rows],
            data.w_t[:, rows],
            np.clip(data.n_active - rows.start, 0, k),
            level,
            slope,
            season,
            alpha,
            beta,
            gamma,
            phi,
            multiplicative,
            level_floor,
            None,
            (sensitivity, residual, 1.0 / eps),
        )
        old_sse[rows] = sse[:, 0]
        by_series = sensitivity.transpose(1, 2, 0)  # (k, n_dim, T)
        normal_a = by_series @ sensitivity.transpose(1, 0, 2)
        normal_g = (by_series @ residual.transpose(1, 0, 2))[..., 0]
        # too few observations to pin the state down (a single one would split its error
        # between level and slope): keep the heuristic state
        normal_g[n_observed[rows] < 2 * n_dim + 2] = 0.0
        if seasonal:
            # series fitted without a season: freeze the seasonal directions
            frozen = ~data.seasonal_ok[rows]
            seasonal_dims = slice(n_dim - m, n_dim)
            normal_a[frozen, seasonal_dims, :] = 0.0
            normal_a[frozen, :, seasonal_dims] = 0.0
            normal_g[frozen, seasonal_dims] = 0.0
        diagonal = np.einsum("kii->ki", normal_a)
        ridge = 1e-8 * diagonal.mean(axis=1) + 1e-10
        normal_a[:, np.arange(n_dim), np.arange(n_dim)] += np.where(
            diagonal > 0, ridge[:, None], 1.0
        )
        delta = np.linalg.solve(normal_a, normal_g[..., None])[..., 0]
        delta[~np.isfinite(delta).all(axis=1)] = 0.0
        new_level[rows] += delta[:, 0]
        if spec.trend:
            new_slope[rows] += delta[:, 1]
        if seasonal:
            season_delta = delta[:, n_dim - m :]
            new_season[:, rows] += (season_delta - season_delta.mean(axis=1, keepdims=True)).T

    old = (data.level0, data.slope0, data.season0)
    data.level0, data.slope0, data.season0 = new_level, new_slope, new_season
    new_sse, _, _ = _run_blocks(data, spec, params, 1)
    worse = ~(new_sse[:, 0] <= old_sse)
    data.level0 = np.where(worse, old[0], new_level)
    data.slope0 = np.where(worse, old[1], new_slope)
    if seasonal:
        data.season0 = np.where(worse[None, :], old[2], new_season)
    return np.where(worse, old_sse, new_sse[:, 0])


# ---------------------------------------------------------------------------------------------
# Data preparation and initial states
# ---------------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    order: np.ndarray  # sorted position -> original row
    y_t: np.ndarray  # (T, n) y with NaN -> 0, sorted rows
    w_t: np.ndarray  # (T, n) observed mask as float
    n_active: np.ndarray  # (T,) rows active at t (prefix of the sorted rows)
    m: int
    seasonal_ok: np.ndarray  # (n,) bool
    level0: np.ndarray
    slope0: np.ndarray
    season0: np.ndarray | None  # (m, n) by calendar position
    level_floor: np.ndarray | None


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


# ---------------------------------------------------------------------------------------------
# Parameter search
# ---------------------------------------------------------------------------------------------
def _to_natural(name: str, u: np.ndarray, alpha: np.ndarray | None, gamma_fixed) -> np.ndarray:
    """Map unit-interval coordinates to natural parameter values (constraints built in)."""
    if name == "alpha":
        return u if gamma_fixed is None else u * (1.0 - gamma_fixed)
    if name == "gamma":
        return u * (1.0 - alpha)
    if name == "phi":
        return PHI_BOUNDS[0] + (PHI_BOUNDS[1] - PHI_BOUNDS[0]) * u
    return u  # beta_star


def _to_unit(name: str, value: float, alpha: float, gamma_fixed) -> float:
    if name == "alpha":
        return value if gamma_fixed is None else value / (1.0 - gamma_fixed)
    if name == "gamma":
        return value / (1.0 - alpha)
    if name == "phi":
        return (value - PHI_BOUNDS[0]) / (PHI_BOUNDS[1] - PHI_BOUNDS[0])
    return value


def _logit(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.log(u / (1.0 - u))


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _fit_ets(
    y: np.ndarray,
    m: int,
    spec: _Spec,
    fixed: dict[str, float | None],
    initial: dict[str, np.ndarray | None],
    refine: bool,
    optimize_initial: bool,
    alpha_grid: tuple[float, ...] = ALPHA_GRID,
) -> dict[str, np.ndarray]:
    """Choose parameters (and initial states) per series by SSE, run the final pass.

    Steps: heuristic initial states; coarse grid (same points for all series); if
    ``optimize_initial`` (and no initial state was given): least-squares initial states at each
    series' best grid point, then the grid again from those states; compass search
    (``refine``, 4 rounds); least-squares initial states again and 4 finer compass rounds;
    final pass recording fitted values.
    """
    n = y.shape[0]
    if spec.seasonal is not None and m < 2:
        spec = _Spec(spec.trend, spec.damped, None)
    if spec.seasonal == "mul":
        positive = ~np.any(y <= 0, axis=1)  # NaN compares False
        if not positive.all():
            return _fit_mixed_seasonal(
                y, m, spec, fixed, initial, refine, optimize_initial, alpha_grid, positive
            )
    data = _prepare(
        y,
        m,
        spec,
        initial.get("level"),
        initial.get("trend"),
        initial.get("seasonal"),
    )
    optimize_initial = optimize_initial and all(v is None for v in initial.values())
    names = ["alpha"]
    if spec.trend:
        names.append("beta")
    if spec.seasonal is not None:
        names.append("gamma")
    if spec.trend and spec.damped:
        names.append("phi")
    for name, value in fixed.items():
        if value is not None and name in names and not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    free = [name for name in names if fixed.get(name) is None]
    gamma_fixed = fixed.get("gamma") if spec.seasonal is not None else None
    levels = {
        "alpha": alpha_grid,
        "beta": BETA_STAR_GRID,
        "gamma": GAMMA_STAR_GRID,
        "phi": PHI_GRID,
    }

    def natural(z: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Free coordinates (logit units, broadcastable) -> full natural parameter dict."""
        out: dict[str, np.ndarray] = {}
        for name in names:  # alpha first: gamma's bound depends on it
            if name in z:
                out[name] = _to_natural(name, _expit(z[name]), out.get("alpha"), gamma_fixed)
            else:
                out[name] = np.full((1, 1), float(fixed[name]))
        return out

    def per_series(z_best: np.ndarray) -> dict[str, np.ndarray]:
        params = natural({name: z_best[:, d : d + 1] for d, name in enumerate(free)})
        return {k: np.broadcast_to(v, (n, 1)).copy() for k, v in params.items()}

    if free:
        grid_units = []
        for name in free:
            if name == "gamma":
                grid_units.append(levels[name])  # gamma_star: fraction of 1 - alpha
            else:
                reference = 0.5 if fixed.get("alpha") is None else float(fixed["alpha"])
                grid_units.append([_to_unit(name, v, reference, gamma_fixed) for v in levels[name]])
        z_grid = _logit(np.array(list(product(*grid_units))))  # (G, D)
        grid_params = natural({name: z_grid[None, :, d] for d, name in enumerate(free)})

        def grid_search() -> tuple[np.ndarray, np.ndarray]:
            sse = _finite(_run_blocks(data, spec, grid_params, len(z_grid))[0])
            best = np.argmin(sse, axis=1)
            return z_grid[best], sse[np.arange(n), best]

        z_best, sse_best = grid_search()
        if optimize_initial:
            # Initial states matter most when smoothing is slow (they are forgotten quickly
            # otherwise), so solve them with the slowest trend/season smoothing of the grid:
            # this keeps low-gamma solutions reachable when the grid is searched again.
            slow = z_best.copy()
            for d, name in enumerate(free):
                if name in ("beta", "gamma"):
                    slow[:, d] = z_grid[:, d].min()
            _improve_initial_states(data, spec, per_series(slow))
            z_best, sse_best = grid_search()
        if refine:
            rounds = REFINE_ROUNDS // 2 if optimize_initial else REFINE_ROUNDS
            z_best = _compass_search(data, spec, natural, free, z_best, sse_best, rounds)
            if optimize_initial:
                # the states moved the optimum a little: re-solve them, then search finer
                sse_best = _improve_initial_states(data, spec, per_series(z_best))
                z_best = _compass_search(
                    data, spec, natural, free, z_best, sse_best, rounds, REFINE_STEP / 4
                )
        elif optimize_initial:
            _improve_initial_states(data, spec, per_series(z_best))
    elif optimize_initial:
        _improve_initial_states(data, spec, per_series(np.empty((n, 0))))
    final = per_series(np.empty((n, 0))) if not free else per_series(z_best)
    sse, states, fitted = _run_blocks(data, spec, final, 1, keep=True)

    unsort = np.empty(n, dtype=np.int64)
    unsort[data.order] = np.arange(n)
    return {
        "params": {k: v[unsort, 0] for k, v in final.items()},
        "level": states["level"][unsort],
        "slope": states["slope"][unsort],
        "season": None if states["season"] is None else states["season"][:, unsort].T.copy(),
        "sse": sse[unsort, 0],
        "fitted": fitted[unsort],
        "seasonal_ok": data.seasonal_ok[unsort],
        "multiplicative": np.full(n, spec.seasonal == "mul"),
        "spec": spec,
    }


def _fit_mixed_seasonal(
    y, m, spec, fixed, initial, refine, optimize_initial, alpha_grid, positive
) -> dict[str, np.ndarray]:
    """``seasonal="mul"`` on a mix of series: multiplicative seasonality is only defined for
    positive data (a zero level or index makes the recursion divide by zero), so rows with a
    zero get the additive season.
    """
    n = y.shape[0]
    parts = []
    for rows, seasonal in ((positive, "mul"), (~positive, "add")):
        if not rows.any():
            continue
        part_initial = {}
        for key, value in initial.items():
            if value is None:
                part_initial[key] = None
                continue
            value = np.asarray(value, dtype=np.float64)
            per_row = value.ndim == (2 if key == "seasonal" else 1)
            part_initial[key] = value[rows] if per_row else value
        part = _fit_ets(
            y[rows],
            m,
            _Spec(spec.trend, spec.damped, seasonal),
            fixed,
            part_initial,
            refine,
            optimize_initial,
            alpha_grid,
        )
        parts.append((rows, part))
    merged: dict = {"params": {}, "spec": spec}
    for rows, part in parts:
        for key, value in part["params"].items():
            merged["params"].setdefault(key, np.empty(n))[rows] = value
        for key in ("level", "slope", "sse", "seasonal_ok", "multiplicative"):
            merged.setdefault(key, np.empty(n, dtype=part[key].dtype))
            merged[key][rows] = part[key]
        merged.setdefault("season", np.empty((n, m)))[rows] = part["season"]
        merged.setdefault("fitted", np.empty(y.shape))[rows] = part["fitted"]
    return merged


def _finite(sse: np.ndarray) -> np.ndarray:
    """Diverged parameter sets (overflow to inf/NaN) must never win the argmin."""
    return np.where(np.isfinite(sse), sse, np.inf)


def _compass_search(
    data, spec, natural, free, z_best, sse_best, rounds, first_step=REFINE_STEP
) -> np.ndarray:
    """Vectorised compass search in logit units: each round tries +-step on every free
    coordinate for every series at once; a series moves to its best improving candidate or
    halves its steps (Kolda, Lewis & Torczon 2003, "Optimization by direct search")."""
    n, n_dim = z_best.shape
    step = np.full((n, n_dim), first_step)
    for _ in range(rounds):
        candidates = np.repeat(z_best[:, None, :], 2 * n_dim, axis=1)  # (n, 2D, D)
        for d in range(n_dim):
            candidates[:, 2 * d, d] += step[:, d]
            candidates[:, 2 * d + 1, d] -= step[:, d]
        np.clip(candidates, -_Z_LIMIT, _Z_LIMIT, out=candidates)
        params = natural({name: candidates[:, :, d] for d, name in enumerate(free)})
        sse = _finite(_run_blocks(data, spec, params, 2 * n_dim)[0])
        pick = np.argmin(sse, axis=1)
        sse_pick = sse[np.arange(n), pick]
        improved = sse_pick < sse_best * (1 - 1e-10)
        z_best = np.where(improved[:, None], candidates[np.arange(n), pick], z_best)
        sse_best = np.where(improved, sse_pick, sse_best)
        step = np.where(improved[:, None], step, step * 0.5)
    return z_best


def _ets_forecast(
    level: np.ndarray,
    slope: np.ndarray,
    season: np.ndarray | None,
    phi: np.ndarray | None,
    spec: _Spec,
    n_periods: int,
    h: int,
    multiplicative: np.ndarray | None = None,
) -> np.ndarray:
    """``y_hat[T+k] = l + phi_k b (+ or x) s[(T-1+k) % m]``, ``phi_k = phi + ... + phi^k``.

    ``multiplicative`` (per series) says which rows combine with the season by product.
    """
    steps = np.arange(1, h + 1, dtype=np.float64)
    if spec.trend and spec.damped:
        powers = phi[:, None] ** steps[None, :]
        trend_mult = np.cumsum(powers, axis=1)
    else:
        trend_mult = np.broadcast_to(steps, (level.shape[0], h))
    base = level[:, None] + (trend_mult * slope[:, None] if spec.trend else np.zeros((1, h)))
    if season is None:
        return base
    m = season.shape[1]
    positions = (n_periods - 1 + np.arange(1, h + 1)) % m
    seasonal = season[:, positions]
    if multiplicative is None:
        multiplicative = np.full(level.shape[0], spec.seasonal == "mul")
    return np.where(multiplicative[:, None], base * seasonal, base + seasonal)


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------
class _ExponentialSmoothingBase(Forecaster):
    """Shared fit/predict for the ETS family; subclasses define ``_spec()`` and parameters."""

    def _spec(self) -> _Spec:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fixed(self) -> dict[str, float | None]:
        return {
            "alpha": getattr(self, "alpha", None),
            "beta": getattr(self, "beta", None),
            "gamma": getattr(self, "gamma", None),
            "phi": getattr(self, "phi", None),
        }

    def _initial(self) -> dict[str, np.ndarray | None]:
        return {
            "level": getattr(self, "initial_level", None),
            "trend": getattr(self, "initial_trend", None),
            "seasonal": getattr(self, "initial_seasonal", None),
        }

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        spec = self._spec()
        if spec.seasonal not in (None, "add", "mul"):
            raise ValueError(f"seasonal must be None, 'add' or 'mul', got {spec.seasonal!r}")
        learned = _fit_ets(
            y,
            season_length,
            spec,
            self._fixed(),
            self._initial(),
            self.refine,
            self.optimize_initial,
        )
        self.spec_ = learned["spec"]
        params = learned["params"]
        self.alpha_ = params["alpha"]
        self.beta_ = params.get("beta")
        self.gamma_ = params.get("gamma")
        self.phi_ = params.get("phi")
        self.level_ = learned["level"]
        self.slope_ = learned["slope"]
        self.season_ = learned["season"]
        self.seasonal_ok_ = learned["seasonal_ok"]
        self.multiplicative_ = learned["multiplicative"]
        self.sse_ = learned["sse"]
        self.fitted_ = learned["fitted"]

    def _predict(self, h: int) -> np.ndarray:
        return _ets_forecast(
            self.level_,
            self.slope_,
            self.season_,
            self.phi_,
            self.spec_,
            self.n_periods_,
            h,
            getattr(self, "multiplicative_", None),
        )


class SimpleExpSmoothing(_ExponentialSmoothingBase):
    """Simple exponential smoothing (SES): flat forecast at the smoothed level.

    ``l_t = l_{t-1} + alpha (y_t - l_{t-1})``, ``y_hat[T+k] = l_T`` (FPP3 sec. 8.1). ``alpha``
    is chosen per series by minimum in-sample one-step SSE over a 12-point grid refined by a
    compass search (``refine``) unless given. The initial level is the mean of the first 10
    observations, then (``optimize_initial``) its least-squares optimum, unless
    ``initial_level`` is given (scalar or one value per series). A NaN day leaves the level
    unchanged, so the result equals that of the series with the day removed.

    Example
    -------
    >>> y = np.array([[10.0, 12.0, np.nan, 8.0]])
    >>> SimpleExpSmoothing(alpha=0.5, initial_level=10.0).fit(y).predict(2)
    array([[9.5, 9.5]])
    """

    def __init__(
        self,
        alpha: float | None = None,
        initial_level: float | np.ndarray | None = None,
        refine: bool = True,
        optimize_initial: bool = True,
    ):
        self.alpha = alpha
        self.initial_level = initial_level
        self.refine = refine
        self.optimize_initial = optimize_initial

    def _spec(self) -> _Spec:
        return _Spec(trend=False, damped=False, seasonal=None)

    def _fit(self, y: np.ndarray, season_length: int) -> None:
        learned = _fit_ets(
            y,
            1,
            self._spec(),
            {"alpha": self.alpha},
            {"level": self.initial_level},
            self.refine,
            self.optimize_initial,
            alpha_grid=SES_ALPHA_GRID,
        )
        self.spec_ = learned["spec"]
        self.alpha_ = learned["params"]["alpha"]
        self.phi_ = None
        self.level_ = learned["level"]
        self.slope_ = learned["slope"]
        self.season_ = None
        self.sse_ = learned["sse"]
        self.fitted_ = learned["fitted"]


class HoltWinters(_ExponentialSmoothingBase):
    """Holt-Winters exponential smoothing: level, optional (damped) trend, optional season.

    Additive-error ETS recursions of FPP3 ch. 8 (see the module docstring): ``trend=None``
    with ``seasonal=None`` is SES, ``trend="add"`` is Holt's linear method (sec. 8.2),
    ``damped=True`` Gardner & McKenzie's damped trend (sec. 8.2), ``seasonal="add"|"mul"``
    Holt-Winters (sec. 8.3). The season length is the one passed to ``fit``; with
    ``season_length == 1`` the seasonal component is dropped, and series with less than two
    full seasons of history are fitted without it (``seasonal_ok_`` is False for them).

    Smoothing parameters left as ``None`` are chosen per series by minimum in-sample one-step
    SSE (module docstring): a coarse grid (``alpha`` 6 values x ``beta_star`` 3 x
    ``gamma_star`` 3 x ``phi`` 2, as applicable) evaluated for all series at once, then
    ``refine`` runs 8 rounds of compass search in logit space around each series' best point.
    ``beta`` is FPP3's ``beta_star`` (statsmodels' ``smoothing_trend``); ``gamma < 1 - alpha``;
    ``0.8 <= phi <= 0.98``. Fixed values must lie in [0, 1].

    Initial states: a heuristic (``_heuristic_initial_states``), then, with
    ``optimize_initial``, their least-squares optimum given the smoothing parameters. Passing
    ``initial_level``, ``initial_trend`` (scalar or per series) or ``initial_seasonal``
    (``(m,)`` or ``(n_series, m)``; entry ``j`` is the seasonal state used at the ``j``-th
    period of the series, statsmodels' ``initial_seasonal``) fixes them instead (any of them
    turns ``optimize_initial`` off). With everything fixed the recursion reproduces
    statsmodels' ``fit(optimized=False)`` with ``initialization_method="known"``.

    ``seasonal="mul"`` is only defined for positive data (its recursion divides by the level
    and the seasonal index): rows with any zero get the additive season instead (``multiplicative_`` says which rows are
    multiplicative), and divisors are floored (season at 0.01, level at 0.1% of the series
    mean) to keep the recursion finite.

    Learned: ``alpha_``, ``beta_``, ``gamma_``, ``phi_`` (per series; None when not in the
    model), ``level_``, ``slope_``, ``season_`` (``(n_series, m)`` by calendar position
    ``t % m``), ``sse_``, ``seasonal_ok_``, ``multiplicative_``, ``fitted_``.

    Example
    -------
    >>> y = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    >>> model = HoltWinters(trend="add", alpha=0.5, beta=0.5, initial_level=0.0,
    ...                     initial_trend=1.0).fit(y)
    >>> model.predict(2)
    array([[7., 8.]])
    """

    def __init__(
        self,
        trend: str | None = None,
        damped: bool = False,
        seasonal: str | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        gamma: float | None = None,
        phi: float | None = None,
        initial_level: float | np.ndarray | None = None,
        initial_trend: float | np.ndarray | None = None,
        initial_seasonal: np.ndarray | None = None,
        refine: bool = True,
        optimize_initial: bool = True,
    ):
        self.trend = trend
        self.damped = damped
        self.seasonal = seasonal
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.phi = phi
        self.initial_level = initial_level
        self.initial_trend = initial_trend
        self.initial_seasonal = initial_seasonal
        self.refine = refine
        self.optimize_initial = optimize_initial

    def _spec(self) -> _Spec:
        if self.trend not in (None, "add"):
            raise ValueError(f"trend must be None or 'add', got {self.trend!r}")
        if self.damped and self.trend is None:
            raise ValueError("damped=True needs trend='add'")
        return _Spec(trend=self.trend == "add", damped=bool(self.damped), seasonal=self.seasonal)


class DampedTrend(HoltWinters):
    """Additive damped-trend exponential smoothing (Gardner & McKenzie 1985; FPP3 sec. 8.2).

    ``y_hat[T+k] = l_T + (phi + phi^2 + ... + phi^k) b_T`` (plus the season when
    ``seasonal`` is set): ``HoltWinters(trend="add", damped=True, ...)`` under its own name.
    """

    def __init__(
        self,
        seasonal: str | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        gamma: float | None = None,
        phi: float | None = None,
        initial_level: float | np.ndarray | None = None,
        initial_trend: float | np.ndarray | None = None,
        initial_seasonal: np.ndarray | None = None,
        refine: bool = True,
        optimize_initial: bool = True,
    ):
        self.seasonal = seasonal
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.phi = phi
        self.initial_level = initial_level
        self.initial_trend = initial_trend
        self.initial_seasonal = initial_seasonal
        self.refine = refine
        self.optimize_initial = optimize_initial

    def _spec(self) -> _Spec:
        return _Spec(trend=True, damped=True, seasonal=self.seasonal)


# ---------------------------------------------------------------------------------------------
# Theta
# ---------------------------------------------------------------------------------------------
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
