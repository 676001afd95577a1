"""The exponential-smoothing (ETS) state-space kernel shared by SES, Holt, damped trend and
Holt-Winters (:mod:`.ses`, :mod:`.holt_winters`, :mod:`.damped`; Theta's SES part too).

All models run as pure numpy kernels over the whole ``(n_series, T)`` matrix, looping over time
only (and over blocks of series sized to stay in cache). This module holds the recursion
(``_ets_kernel``), its evaluation for many parameter sets block by block (``_run_blocks``), the
least-squares initial states (``_improve_initial_states``) and the forecast function
(``_ets_forecast``); initial states come from :mod:`.ets_initial`, the parameter search from
:mod:`.ets_fit`.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Series x grid points per block: keeps the kernel's working arrays in cache.
_BLOCK_ELEMENTS = 1 << 15
_SEASON_FLOOR = 1e-2  # multiplicative season divisor floor (relative to an index of 1)


@dataclass(frozen=True)
class _Spec:
    trend: bool
    damped: bool
    seasonal: str | None  # None, "add", "mul"


@dataclass
class _Prepared:
    """The series of one fit in the kernel's layout (made by ``ets_initial._prepare``): rows
    sorted by their first observation, time-major arrays, initial states per sorted row."""

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
# Forecast
# ---------------------------------------------------------------------------------------------
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
