"""Estimation of the ETS models: smoothing parameters and initial states per series by SSE.

Estimation, per series, minimises the in-sample one-step sum of squared errors (SSE) of the
recursion in :mod:`.ets_kernel`:

1. initial states by a heuristic (``ets_initial._heuristic_initial_states``);
2. a coarse grid of smoothing parameters, the same points for all series, evaluated at once
   (state arrays of shape ``(n_series, n_grid)`` updated along time);
3. least-squares initial states (``ets_kernel._improve_initial_states``; the SSE of an additive
   model is quadratic in its initial state), then the grid again;
4. a vectorised compass search in logit space around each series' best point, with the
   initial states re-solved half-way (``refine``).

Steps 3-4 are what statsmodels' ``ExponentialSmoothing.fit()`` does with a general optimiser;
on seasonal test series the SSE lands within ~1% of it.

Parameter space (the "usual" region of FPP3 ch. 8): ``0 < alpha < 1``, ``0 < beta_star < 1``
(so ``beta < alpha``), ``0 < gamma < 1 - alpha``, ``0.8 <= phi <= 0.98``.

``_ExponentialSmoothingBase`` is the estimator shared by :class:`.ses.SimpleExpSmoothing`,
:class:`.holt_winters.HoltWinters` and :class:`.damped.DampedTrend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from forecast.forecasting.forecasters.base import Forecaster
from forecast.forecasting.forecasters.ets_initial import _prepare
from forecast.forecasting.forecasters.ets_kernel import (
    _ets_forecast,
    _improve_initial_states,
    _Prepared,
    _run_blocks,
    _Spec,
)

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


@dataclass(frozen=True)
class _ParameterSpace:
    """The smoothing parameters of one model: which are in it, which are free, and the map
    from free coordinates (logit units) to natural values with the constraints built in."""

    names: list[str]  # parameters of the model, alpha first: gamma's bound depends on it
    free: list[str]  # those chosen by SSE (the others are fixed)
    fixed: dict[str, float | None]
    gamma_fixed: float | None
    n: int  # number of series

    def natural(self, z: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Free coordinates (logit units, broadcastable) -> full natural parameter dict."""
        out: dict[str, np.ndarray] = {}
        for name in self.names:  # alpha first: gamma's bound depends on it
            if name in z:
                out[name] = _to_natural(name, _expit(z[name]), out.get("alpha"), self.gamma_fixed)
            else:
                out[name] = np.full((1, 1), float(self.fixed[name]))
        return out

    def per_series(self, z_best: np.ndarray) -> dict[str, np.ndarray]:
        """``(n, D)`` best coordinates -> ``(n, 1)`` natural parameters of every series."""
        params = self.natural({name: z_best[:, d : d + 1] for d, name in enumerate(self.free)})
        return {k: np.broadcast_to(v, (self.n, 1)).copy() for k, v in params.items()}


def _parameter_space(spec: _Spec, fixed: dict[str, float | None], n: int) -> _ParameterSpace:
    """The parameters of ``spec``; fixed values are checked to lie in [0, 1]."""
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
    return _ParameterSpace(names, free, fixed, gamma_fixed, n)


def _parameter_grid(
    space: _ParameterSpace, alpha_grid: tuple[float, ...]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The coarse grid, the same points for all series: ``(G, D)`` free coordinates in logit
    units and the natural ``(1, G)`` parameter arrays they stand for."""
    levels = {
        "alpha": alpha_grid,
        "beta": BETA_STAR_GRID,
        "gamma": GAMMA_STAR_GRID,
        "phi": PHI_GRID,
    }
    fixed, gamma_fixed = space.fixed, space.gamma_fixed
    grid_units = []
    for name in space.free:
        if name == "gamma":
            grid_units.append(levels[name])  # gamma_star: fraction of 1 - alpha
        else:
            reference = 0.5 if fixed.get("alpha") is None else float(fixed["alpha"])
            grid_units.append([_to_unit(name, v, reference, gamma_fixed) for v in levels[name]])
    z_grid = _logit(np.array(list(product(*grid_units))))  # (G, D)
    grid_params = space.natural({name: z_grid[None, :, d] for d, name in enumerate(space.free)})
    return z_grid, grid_params


def _search_parameters(
    data: _Prepared,
    spec: _Spec,
    space: _ParameterSpace,
    alpha_grid: tuple[float, ...],
    refine: bool,
    optimize_initial: bool,
) -> np.ndarray:
    """Best free coordinates ``(n, D)`` per series (steps of :func:`_fit_ets`); with
    ``optimize_initial`` the initial states in ``data`` are re-solved along the way."""
    n, free = space.n, space.free
    z_grid, grid_params = _parameter_grid(space, alpha_grid)

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
        _improve_initial_states(data, spec, space.per_series(slow))
        z_best, sse_best = grid_search()
    if refine:
        rounds = REFINE_ROUNDS // 2 if optimize_initial else REFINE_ROUNDS
        z_best = _compass_search(data, spec, space.natural, free, z_best, sse_best, rounds)
        if optimize_initial:
            # the states moved the optimum a little: re-solve them, then search finer
            sse_best = _improve_initial_states(data, spec, space.per_series(z_best))
            z_best = _compass_search(
                data, spec, space.natural, free, z_best, sse_best, rounds, REFINE_STEP / 4
            )
    elif optimize_initial:
        _improve_initial_states(data, spec, space.per_series(z_best))
    return z_best


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
    space = _parameter_space(spec, fixed, n)
    if space.free:
        z_best = _search_parameters(data, spec, space, alpha_grid, refine, optimize_initial)
        final = space.per_series(z_best)
    else:
        if optimize_initial:
            _improve_initial_states(data, spec, space.per_series(np.empty((n, 0))))
        final = space.per_series(np.empty((n, 0)))
    sse, states, fitted = _run_blocks(data, spec, final, 1, keep=True)
    return _learned(data, spec, final, sse, states, fitted)


def _learned(
    data: _Prepared,
    spec: _Spec,
    final: dict[str, np.ndarray],
    sse: np.ndarray,
    states: dict[str, np.ndarray],
    fitted: np.ndarray,
) -> dict[str, np.ndarray]:
    """What the final pass learned, back in the caller's row order."""
    n = data.order.shape[0]
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


# ---------------------------------------------------------------------------------------------
# The shared estimator
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
