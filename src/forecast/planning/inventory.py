"""Inventory formulas: loss functions, newsvendor, base-stock, EOQ, (r,Q), (s,S), safety stock.

Every function is vectorised over SKUs: arguments are scalars or numpy arrays that broadcast
against each other, and a scalar-only call returns a plain Python ``float``/``int``/``str``
(arrays in, arrays out). Costs and demands must use one time unit per call (per period for the
newsvendor and base-stock models, per year for EOQ and (r,Q), whatever the caller picks).

Notation (Snyder & Shen): h holding cost per unit per time unit, p stockout (backorder) cost per
unit per time unit, K fixed cost per order, lambda demand rate, L lead time, mu/sigma mean and
standard deviation of the demand over the relevant interval, Phi/phi the standard normal cdf/pdf.

Sources cited in the docstrings:

- Snyder & Shen, *Fundamentals of Supply Chain Theory*, 2nd ed. (2019) -- "S&S".
- Silver, Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th ed. (2017)
  -- "SPT".
- Chopra & Meindl, *Supply Chain Management: Strategy, Planning and Operation*, 6th ed., Ch. 12.
- Axsater, *Inventory Control*, Ch. 4 (deterministic lot sizing) and Ch. 5 (reorder points).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy.stats import poisson

__all__ = [
    "BaseStockPerformance",
    "BaseStockSolution",
    "EOQBackorderSolution",
    "NewsvendorSolution",
    "PooledFillRate",
    "RQPerformance",
    "RQPolicy",
    "SSPolicy",
    "abc_classes",
    "base_stock_normal",
    "base_stock_poisson_performance",
    "critical_ratio",
    "cycle_service_level",
    "eoq",
    "eoq_cost",
    "eoq_with_backorders",
    "expected_shortage_per_cycle",
    "fill_rate",
    "lead_time_demand_sd",
    "negative_binomial_loss",
    "negative_binomial_sf",
    "newsvendor_normal",
    "newsvendor_normal_cost",
    "newsvendor_poisson",
    "newsvendor_poisson_cost",
    "normal_loss",
    "normal_second_order_loss",
    "poisson_complementary_loss",
    "poisson_loss",
    "poisson_second_order_loss",
    "reorder_point",
    "round_order_quantity",
    "rq_cost_normal",
    "rq_cost_poisson",
    "rq_eil_approximation",
    "rq_eoq_plus_safety_stock",
    "rq_eoqb_approximation",
    "rq_fill_rate_reorder_point",
    "rq_loss_function_approximation",
    "rq_normal_performance",
    "rq_optimal_poisson",
    "rq_optimal_reorder_point_normal",
    "rq_poisson_performance",
    "rq_pooled_fill_rate_reorder_points",
    "rs_fill_rate_order_up_to",
    "safety_factor_cycle_service",
    "safety_factor_fill_rate",
    "safety_stock",
    "ss_cost_poisson",
    "ss_optimal_poisson",
    "standard_normal_complementary_loss",
    "standard_normal_loss",
    "standard_normal_second_order_loss",
    "xyz_classes",
]

FloatOut = float | NDArray[np.float64]
IntOut = int | NDArray[np.int64]
StrOut = str | NDArray[np.str_]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# helpers: validation and output
# --------------------------------------------------------------------------------------------


def _out(x: ArrayLike) -> float | int | str | np.ndarray:
    """A 0-d result becomes a Python scalar; arrays are returned as they are."""
    arr = np.asarray(x)
    return arr.item() if arr.ndim == 0 else arr


def _first_offender(arr: np.ndarray, bad: np.ndarray) -> str:
    if arr.ndim == 0:
        return repr(arr.item())
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = index[0] if len(index) == 1 else index
    return f"{arr[index].item()!r} at index {where}"


def _check_service_level(value: ArrayLike, name: str) -> np.ndarray:
    """Service levels are fractions strictly inside (0, 1); NaN is rejected too."""
    arr = np.asarray(value, dtype=float)
    bad = ~((arr > 0.0) & (arr < 1.0))
    if bad.any():
        hint = " (service levels are fractions: 95% is 0.95)" if np.any(arr > 1) else ""
        raise ValueError(
            f"{name} must be strictly between 0 and 1; got {_first_offender(arr, bad)}{hint}"
        )
    return arr


def _check_nonnegative(value: ArrayLike, name: str) -> np.ndarray:
    """NaN passes (it propagates to a NaN result); negative numbers are rejected."""
    arr = np.asarray(value, dtype=float)
    bad = arr < 0
    if bad.any():
        raise ValueError(f"{name} must be >= 0; got {_first_offender(arr, bad)}")
    return arr


def _check_positive(value: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    bad = ~(arr > 0)
    if bad.any():
        raise ValueError(f"{name} must be > 0; got {_first_offender(arr, bad)}")
    return arr


def _check_integer(value: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    bad = ~(np.isfinite(arr) & (arr == np.round(arr)))
    if bad.any():
        raise ValueError(f"{name} must be integer-valued; got {_first_offender(arr, bad)}")
    return arr.astype(np.int64)


def _newton_decreasing(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    lo: np.ndarray,
    hi: np.ndarray,
    x0: np.ndarray,
    *,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> np.ndarray:
    """Elementwise root of a decreasing function with fun(lo) >= 0 >= fun(hi).

    Newton steps, kept inside the shrinking bracket by falling back to bisection, so it
    converges for every element and in a handful of iterations for smooth functions.
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    for _ in range(max_iter):
        f, fprime = fun(x)
        positive = f > 0
        lo = np.where(positive, x, lo)
        hi = np.where(positive, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_new = np.where(f == 0, x, x - f / fprime)
        outside = ~((x_new >= lo) & (x_new <= hi))
        x_new = np.where(outside, 0.5 * (lo + hi), x_new)
        scale = np.maximum(1.0, np.abs(x_new))
        done = (np.abs(x_new - x) <= tol * scale) | (hi - lo <= tol * scale) | np.isnan(x_new)
        x = x_new
        if done.all():
            return x
    raise RuntimeError("root finding did not converge")  # pragma: no cover - defensive


# --------------------------------------------------------------------------------------------
# loss functions
# --------------------------------------------------------------------------------------------


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / _SQRT_2PI


def _std_loss(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        loss = _phi(z) - z * special.ndtr(-z)
    # z = +inf gives inf * 0; the loss there is 0.
    return np.where(np.isposinf(z), 0.0, loss)


def _std_second_loss(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        loss = 0.5 * ((z * z + 1.0) * special.ndtr(-z) - z * _phi(z))
    return np.where(np.isposinf(z), 0.0, loss)


def standard_normal_loss(z: ArrayLike) -> FloatOut:
    """First-order standard normal loss L(z) = E[(Z - z)+] = phi(z) - z(1 - Phi(z)).

    Also written G(k) or G_u(k) (SPT, normal-distribution appendix and the fill-rate
    sections of the probabilistic-demand chapter). Source: S&S Appendix C (loss functions).

    >>> round(standard_normal_loss(0.3), 6)
    0.266761
    >>> standard_normal_loss([0.0, 3.1]).round(6).tolist()
    [0.398942, 0.000267]
    """
    return _out(_std_loss(np.asarray(z, dtype=float)))


def standard_normal_complementary_loss(z: ArrayLike) -> FloatOut:
    """Complementary standard normal loss Lbar(z) = E[(z - Z)+] = z + L(z).

    Source: S&S Appendix C.

    >>> round(standard_normal_complementary_loss(0.3), 6)
    0.566761
    """
    z = np.asarray(z, dtype=float)
    return _out(z + _std_loss(z))


def standard_normal_second_order_loss(z: ArrayLike) -> FloatOut:
    """Second-order standard normal loss L2(z) = 1/2 E[((Z - z)+)^2].

    L2(z) = 1/2 [(z^2 + 1)(1 - Phi(z)) - z phi(z)]; it is the integral of L from z to infinity.
    Source: S&S Appendix C (second-order loss functions), used for (r,Q) costs in Ch. 5.

    >>> round(standard_normal_second_order_loss(0.0), 6)
    0.25
    """
    return _out(_std_second_loss(np.asarray(z, dtype=float)))


def _normal_loss(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = sd * _std_loss((x - mean) / sd)
    return np.where(sd > 0, scaled, np.maximum(mean - x, 0.0))


def _normal_second_loss(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = sd * sd * _std_second_loss((x - mean) / sd)
    return np.where(sd > 0, scaled, 0.5 * np.maximum(mean - x, 0.0) ** 2)


def normal_loss(x: ArrayLike, mean: ArrayLike, sd: ArrayLike) -> FloatOut:
    """Normal first-order loss n(x) = E[(D - x)+] = sigma L((x - mu)/sigma), D ~ N(mu, sigma^2).

    With sigma = 0 it is (mu - x)+. This is the expected shortage per cycle (ESC) of a reorder
    point x (Chopra & Meindl Ch. 12) and the expected backorders of a base-stock level x.
    Source: S&S Appendix C.

    >>> round(normal_loss(40, 50, 8), 6)
    10.404695
    """
    sd = _check_nonnegative(sd, "sd")
    x, mean = np.asarray(x, dtype=float), np.asarray(mean, dtype=float)
    return _out(_normal_loss(x, mean, sd))


def normal_second_order_loss(x: ArrayLike, mean: ArrayLike, sd: ArrayLike) -> FloatOut:
    """Normal second-order loss n2(x) = 1/2 E[((D - x)+)^2] = sigma^2 L2((x - mu)/sigma).

    Source: S&S Appendix C.

    >>> round(normal_second_order_loss(50, 50, 8), 6)
    16.0
    """
    sd = _check_nonnegative(sd, "sd")
    x, mean = np.asarray(x, dtype=float), np.asarray(mean, dtype=float)
    return _out(_normal_second_loss(x, mean, sd))


def _poisson_loss(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    # For real x: E[(X - x)+] = lam P(X >= floor(x)) - x P(X > floor(x)).
    k = np.floor(x)
    return lam * poisson.sf(k - 1, lam) - x * poisson.sf(k, lam)


def _poisson_second_loss(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    d = x - lam
    return 0.5 * ((d * d + x) * poisson.sf(x, lam) - lam * d * poisson.pmf(x, lam))


def poisson_loss(x: ArrayLike, lam: ArrayLike) -> FloatOut:
    """Poisson first-order loss n(x) = E[(X - x)+] for X ~ Poisson(lam).

    For integer x: n(x) = (lam - x)(1 - F(x)) + lam f(x). It equals the expected backorders of a
    base-stock level x when lead-time demand is Poisson. Source: S&S Appendix C.

    >>> round(poisson_loss(5, 7), 6)
    2.2926
    >>> poisson_loss([5, 220], [7, 200]).round(6).tolist()
    [2.2926, 0.536006]
    """
    lam = _check_nonnegative(lam, "lam")
    return _out(_poisson_loss(np.asarray(x, dtype=float), lam))


def poisson_complementary_loss(x: ArrayLike, lam: ArrayLike) -> FloatOut:
    """Complementary Poisson loss nbar(x) = E[(x - X)+] = x - lam + n(x).

    Equals the expected on-hand inventory of a base-stock level x with Poisson lead-time
    demand. Source: S&S Appendix C.

    >>> round(poisson_complementary_loss(5, 7), 6)
    0.2926
    """
    lam = _check_nonnegative(lam, "lam")
    x = np.asarray(x, dtype=float)
    return _out(x - lam + _poisson_loss(x, lam))


def poisson_second_order_loss(x: ArrayLike, lam: ArrayLike) -> FloatOut:
    """Poisson second-order loss n2(x) = 1/2 E[(X - x)+ (X - x - 1)+] for integer x.

    n2(x) = 1/2 [((x - lam)^2 + x)(1 - F(x)) - lam (x - lam) f(x)] = sum_{y > x} n(y), so
    sum_{y=r+1}^{r+Q} n(y) = n2(r) - n2(r+Q). Source: S&S Appendix C; used for the exact
    Poisson (r,Q) cost of S&S Ch. 5.

    >>> round(poisson_second_order_loss(0, 2), 6)
    2.0
    """
    lam = _check_nonnegative(lam, "lam")
    x = _check_integer(x, "x").astype(float)
    return _out(_poisson_second_loss(x, lam))


_NB_SIZE_MAX = 1e6  # a negative binomial with a larger size is Poisson for all practical purposes


def _nb_shape(mean: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean/variance (1-d, or their broadcast shape) and which are NB, Poisson or a point mass."""
    mean, variance = np.broadcast_arrays(
        np.atleast_1d(np.asarray(mean, float)), np.atleast_1d(np.asarray(variance, float))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        size = mean**2 / (variance - mean)
    nb = (mean > 0) & (variance > mean) & (size < _NB_SIZE_MAX)
    pois = (mean > 0) & (variance > 0) & ~nb
    return mean, variance, np.where(nb, size, np.nan), nb, pois


def _count_sf(
    k: np.ndarray, mean: np.ndarray, size: np.ndarray, nb: np.ndarray, pois: np.ndarray
) -> np.ndarray:
    """P(X > k) for integer-valued k (as floats) of the NB(size, mean) / Poisson(mean) rows;
    rows that are neither are a point mass at ``mean``."""
    out = (k < mean).astype(float)  # point mass
    ok = k >= 0
    sel = nb & ok
    if sel.any():  # P(X > k) = I_{1-p}(k + 1, size), p = size / (size + mean)
        s = size[sel]
        out[sel] = special.betainc(k[sel] + 1.0, s, mean[sel] / (s + mean[sel]))
    sel = pois & ok
    if sel.any():  # P(X > k) = P(k + 1, mean), the regularised lower incomplete gamma
        out[sel] = special.gammainc(k[sel] + 1.0, mean[sel])
    out[(nb | pois) & ~ok] = 1.0
    return out


def _nb_sf(x: np.ndarray, mean, size, nb, pois) -> np.ndarray:
    return _count_sf(np.floor(x), mean, size, nb, pois)


def _nb_loss(x: np.ndarray, mean, size, nb, pois) -> np.ndarray:
    # E[(X - x)+] = mu P(Y >= floor(x)) - x P(X > floor(x)), Y ~ NB(size + 1, p) (the same p,
    # so mean mu (size + 1) / size); for the Poisson Y is X.
    k = np.floor(x)
    mean_y = np.where(nb, mean * (size + 1.0) / size, mean)
    upper = _count_sf(k - 1.0, mean_y, np.where(nb, size + 1.0, np.nan), nb, pois)
    loss = mean * upper - x * _count_sf(k, mean, size, nb, pois)
    return np.where(nb | pois, np.maximum(loss, 0.0), np.maximum(mean - x, 0.0))


def negative_binomial_sf(x: ArrayLike, mean: ArrayLike, variance: ArrayLike) -> FloatOut:
    """P(X > x) for the negative binomial X with the given mean and variance.

    size k = mu^2 / (var - mu), p = k / (k + mu); P(X > x) = I_{1-p}(floor(x) + 1, k) (the
    regularised incomplete beta function). A variance at or below the mean (no over-dispersion)
    gives the Poisson(mu) (a little wider than asked when below); a variance of 0 a point mass
    at mu. Source: Johnson, Kemp & Kotz, *Univariate Discrete Distributions*, 3rd ed., 5.1.

    >>> round(negative_binomial_sf(2, 1.0, 2.0), 6)  # geometric, p = 1/2: P(X > 2) = 1/8
    0.125
    """
    mean, variance = _check_nonnegative(mean, "mean"), _check_nonnegative(variance, "variance")
    x = np.asarray(x, dtype=float)
    x, mean, variance = np.broadcast_arrays(x, mean, variance)
    shape = x.shape
    mean, variance, size, nb, pois = _nb_shape(mean, variance)
    return _out(_nb_sf(np.atleast_1d(x).astype(float), mean, size, nb, pois).reshape(shape))


def negative_binomial_loss(x: ArrayLike, mean: ArrayLike, variance: ArrayLike) -> FloatOut:
    """Negative binomial first-order loss n(x) = E[(X - x)+], X with the given mean and variance.

    n(x) = mu P(Y >= floor(x)) - x P(X > floor(x)), Y ~ NB(k + 1, p), X ~ NB(k, p),
    k = mu^2 / (var - mu), p = k / (k + mu): from the identity y f_k(y) = mu f_{k+1}(y - 1) of the
    NB probabilities. It is exact at integer x and linear in between (X takes integer values).
    The variance rules of :func:`negative_binomial_sf` apply (Poisson, point mass). It is the
    expected shortage of a stock x against over-dispersed (gamma-Poisson) demand, the lead-time
    demand of slow and erratic items for which the normal loss is poor. Sources: S&S Appendix C
    (discrete loss functions n(x) = sum_{y > x} (y - x) f(y)); Johnson, Kemp & Kotz 5.1.

    >>> round(negative_binomial_loss(2, 1.0, 2.0), 6)  # geometric, p = 1/2: (1 - p)^3 / p = 1/4
    0.25
    >>> round(negative_binomial_loss(5, 7.0, 7.0), 6)  # variance = mean: the Poisson loss
    2.2926
    """
    mean, variance = _check_nonnegative(mean, "mean"), _check_nonnegative(variance, "variance")
    x = np.asarray(x, dtype=float)
    x, mean, variance = np.broadcast_arrays(x, mean, variance)
    shape = x.shape
    mean, variance, size, nb, pois = _nb_shape(mean, variance)
    return _out(_nb_loss(np.atleast_1d(x).astype(float), mean, size, nb, pois).reshape(shape))


def _fill_rate_level(
    allowed: np.ndarray,
    shortage: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lo: np.ndarray,
    hi: np.ndarray,
    x0: np.ndarray,
    *,
    tol: float = 1e-9,
    max_iter: int = 200,
) -> np.ndarray:
    """x with shortage(x) = allowed, for a decreasing shortage bracketed by lo and hi.

    ``shortage(x, rows)`` gives (value, -slope) of the elements ``rows`` at x. It is piecewise
    linear in x (integer-valued demand), so a Newton step lands on the root once inside its
    piece; a step that does not fall strictly inside the shrinking bracket is replaced by
    bisection (Newton can bounce between the ends where the shortage is concave). Only the
    elements still moving are evaluated.
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    active = np.arange(len(x))
    for _ in range(max_iter):
        value, slope = shortage(x[active], active)
        f = value - allowed[active]
        xa, la, ha = x[active], lo[active], hi[active]
        la = np.where(f > 0, xa, la)
        ha = np.where(f > 0, ha, xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = xa - f / -slope
        inside = np.isfinite(step) & (step > la) & (step < ha)
        new = np.where(f == 0, xa, np.where(inside, step, 0.5 * (la + ha)))
        scale = np.maximum(1.0, np.abs(new))
        done = (f == 0) | (np.abs(new - xa) <= tol * scale) | (ha - la <= tol * scale)
        x[active], lo[active], hi[active] = new, la, ha
        active = active[~done]
        if not len(active):
            return x
    raise RuntimeError("fill-rate level did not converge")  # pragma: no cover - defensive


def rq_fill_rate_reorder_point(
    fill_rate: ArrayLike,
    order_quantity: ArrayLike,
    mean_lead_time_demand: ArrayLike,
    variance_lead_time_demand: ArrayLike,
) -> FloatOut:
    """Reorder point r of an (r, Q) policy with fill rate beta: 1 - [n(r) - n(r + Q)] / Q = beta.

    n is the negative binomial loss (:func:`negative_binomial_loss`) of the lead-time demand
    with the given mean and variance, so slow and erratic items get their skewed distribution
    rather than a normal one. n(r) - n(r + Q) is the expected shortage per replenishment cycle
    (inventory position uniform on (r, r + Q], full backordering): unlike the classical
    sigma L(z) = (1 - beta) Q it does not count the previous cycle's shortage again, and r may
    fall below the mean (negative safety stock) when Q is large against the spread, which is
    what a fill rate below 1 then asks for. r is real (n is linear between integers); with
    Poisson demand and an integer answer it is the r of :func:`rq_poisson_performance`.
    Sources: S&S Ch. 5 ((r,Q) fill rate with backorders); Axsater Ch. 5 ((R,Q), compound
    Poisson demand); SPT, probabilistic-demand chapter (the P2 criterion).

    >>> round(rq_fill_rate_reorder_point(0.830496, 1, 7.0, 7.0), 3)  # Poisson 7: r = 9
    9.0
    >>> round(rq_fill_rate_reorder_point(0.95, 100, 10.0, 0.0), 6)  # no spread: 5 short
    5.0
    """
    beta = _check_service_level(fill_rate, "fill rate beta")
    q = _check_positive(order_quantity, "order_quantity")
    mean = _check_nonnegative(mean_lead_time_demand, "mean_lead_time_demand")
    var = _check_nonnegative(variance_lead_time_demand, "variance_lead_time_demand")
    beta, q, mean, var = np.broadcast_arrays(beta, q, mean, var)
    shape = beta.shape
    beta, q = np.atleast_1d(beta).astype(float), np.atleast_1d(q).astype(float)
    mean, var, size, nb, pois = _nb_shape(mean, var)

    def shortage(r: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at = (mean[rows], size[rows], nb[rows], pois[rows])
        value = _nb_loss(r, *at) - _nb_loss(r + q[rows], *at)
        slope = _nb_sf(r, *at) - _nb_sf(r + q[rows], *at)
        return value, slope

    allowed = (1.0 - beta) * q
    # shortage(-Q) = Q > allowed.
    return _out(_bracketed_fill_rate_level(allowed, shortage, mean, var, -q).reshape(shape))


def _bracketed_fill_rate_level(allowed, shortage, mean, var, lo):
    """The level where ``shortage`` falls to ``allowed``, searched in [lo, hi] from a normal
    first guess: above hi the loss is below allowed (a one-sided Chebyshev bound:
    n(mu + t) <= (sqrt(var + t^2) - t) / 2 <= var / (4 t))."""
    sd = np.sqrt(var)
    hi = mean + sd * np.maximum(10.0, sd / (4.0 * allowed)) + 1.0
    x0 = mean + sd * special.ndtri(np.clip(1.0 - allowed / np.maximum(sd, 1e-12), 0.5, 1 - 1e-9))
    return _fill_rate_level(allowed, shortage, lo, hi, x0)


class PooledFillRate(NamedTuple):
    """Reorder points of pooled items and the fill rate each then gets."""

    reorder_point: FloatOut
    fill_rate: FloatOut


def rq_pooled_fill_rate_reorder_points(
    fill_rate: ArrayLike,
    order_quantity: ArrayLike,
    demand_rate: ArrayLike,
    mean_lead_time_demand: ArrayLike,
    variance_lead_time_demand: ArrayLike,
    pool: ArrayLike,
    weight: ArrayLike = 1.0,
    *,
    minimum: float = 0.0,
    lowest_fill_rate: float = 0.5,
    grid: int = 33,
) -> PooledFillRate:
    """(r, Q) reorder points that meet a fill rate per pool of items with the least stock.

    For each pool g: minimise sum_i c_i r_i subject to
        sum_{i in g} lambda_i [n_i(r_i) - n_i(r_i + Q_i)] / Q_i <= sum_{i in g} lambda_i (1 - beta_i),
    i.e. the pool's demand-weighted fill rate (units short / units demanded) reaches the
    demand-weighted target, with n_i the negative binomial loss of item i's lead-time demand
    (as in :func:`rq_fill_rate_reorder_point`), lambda_i its demand rate, c_i the ``weight``
    of a unit of its stock (1: units; unit cost: value) and r_i >= ``minimum``. Holding one
    fill rate per item is not the cheapest way to a fill rate over many items: a unit of stock
    buys more fill on some (steady, short-cycle) items than on others (erratic, long-cycle). At
    the optimum (Lagrange) every item's marginal fill per unit of stock,
    (lambda_i / Q_i) P(r_i < D_i <= r_i + Q_i) / c_i, is equal; it is found by marginal
    analysis: each item's reorder point runs over a grid (``grid`` points from its
    ``lowest_fill_rate`` point to mu + 6 sigma) and the steps that cut the pool's shortage most
    per unit of stock are taken first until the target is reached (the last one in part, by
    linear interpolation). No item falls below ``lowest_fill_rate``. A pool of one item gets
    its own fill rate (to the grid's precision). The stock saved over the fixed fill rate per
    item is the point; the fill rate each item gets comes back with its reorder point.
    Sources: SPT, aggregate-considerations chapter (minimising total stock subject to an
    aggregate service level, equal marginal service per unit of stock); Fox, "Discrete
    optimization via marginal analysis", Management Science 13 (1966).

    >>> res = rq_pooled_fill_rate_reorder_points(0.95, 50.0, 10.0, 50.0, 50.0, "A")
    >>> round(res.fill_rate, 3), round(res.reorder_point, 2)  # alone: its own target
    (0.95, 50.68)
    """
    beta = _check_service_level(fill_rate, "fill rate beta")
    q = _check_positive(order_quantity, "order_quantity")
    rate = _check_nonnegative(demand_rate, "demand_rate")
    mean = _check_nonnegative(mean_lead_time_demand, "mean_lead_time_demand")
    var = _check_nonnegative(variance_lead_time_demand, "variance_lead_time_demand")
    cost = _check_positive(weight, "weight")
    _check_service_level(lowest_fill_rate, "lowest_fill_rate")
    pool = np.asarray(pool)
    beta, q, rate, mean, var, cost, pool = np.broadcast_arrays(beta, q, rate, mean, var, cost, pool)
    shape = beta.shape
    beta, q, rate, mean, var, cost = (
        np.atleast_1d(a).astype(float).ravel() for a in (beta, q, rate, mean, var, cost)
    )
    _, group = np.unique(np.atleast_1d(pool).ravel(), return_inverse=True)
    n = len(beta)

    # Grid of reorder points per item: from its lowest-fill point (the start) up to mu + 6 sigma.
    start = np.maximum(
        np.asarray(rq_fill_rate_reorder_point(np.full(n, lowest_fill_rate), q, mean, var)), minimum
    )
    sd = np.sqrt(var)
    top = np.maximum(mean + 6.0 * sd + 1.0, start)
    steps = np.linspace(0.0, 1.0, max(int(grid), 2))
    r = start[:, None] + (top - start)[:, None] * steps[None, :] ** 2  # finer near the start
    rows = np.repeat(np.arange(n), r.shape[1])
    m, _, size, nb, pois = _nb_shape(mean[rows], var[rows])
    flat = r.ravel()
    short = (
        _nb_loss(flat, m, size, nb, pois) - _nb_loss(flat + q[rows], m, size, nb, pois)
    ).reshape(r.shape)
    short = np.minimum.accumulate(short, axis=1)  # numerically non-increasing
    per_day = rate[:, None] / q[:, None] * short  # units short per unit time

    # Marginal analysis: steps (item, k -> k + 1) by shortage cut per unit of stock cost.
    cut = per_day[:, :-1] - per_day[:, 1:]
    spend = cost[:, None] * (r[:, 1:] - r[:, :-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(spend > 0, cut / spend, np.inf)
    ratio = np.minimum.accumulate(ratio, axis=1)  # concave envelope: an item's steps in order
    need = np.bincount(group, per_day[:, 0], minlength=group.max() + 1) - np.bincount(
        group, rate * (1.0 - beta), minlength=group.max() + 1
    )
    item = np.repeat(np.arange(n), cut.shape[1])
    order = np.lexsort((np.tile(np.arange(cut.shape[1]), n), -ratio.ravel(), group[item]))
    g_sorted = group[item[order]]
    cut_sorted = cut.ravel()[order]
    done = np.cumsum(cut_sorted)
    first = np.searchsorted(g_sorted, np.arange(group.max() + 1))  # where each pool starts
    before = np.where(first > 0, done[np.maximum(first - 1, 0)], 0.0)
    done_in_pool = done - before[g_sorted]
    prior = done_in_pool - cut_sorted
    goal = need[g_sorted]
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(
            goal <= prior,
            0.0,
            np.where(
                goal >= done_in_pool,
                1.0,
                (goal - prior) / np.where(cut_sorted > 0, cut_sorted, 1.0),
            ),
        )
    taken = np.zeros(cut.size)
    taken[order] = np.clip(part, 0.0, 1.0)
    taken = taken.reshape(cut.shape)
    level = start + (taken * (r[:, 1:] - r[:, :-1])).sum(axis=1)
    k = np.minimum((taken >= 1.0).sum(axis=1), cut.shape[1])  # steps fully taken
    frac = np.where(k < cut.shape[1], taken[np.arange(n), np.minimum(k, cut.shape[1] - 1)], 0.0)
    short_at = short[np.arange(n), k] - frac * (
        short[np.arange(n), k] - short[np.arange(n), np.minimum(k + 1, r.shape[1] - 1)]
    )
    fill = 1.0 - short_at / q
    # Inside a step the shortage was read off the chord; the exact reorder point for that
    # shortage is a little lower (the shortage is convex in r there).
    inside = (frac > 0) & (frac < 1)
    if inside.any():
        exact = rq_fill_rate_reorder_point(
            np.clip(fill[inside], 1e-12, 1 - 1e-12), q[inside], mean[inside], var[inside]
        )
        level[inside] = np.maximum(np.asarray(exact, dtype=float), minimum)
    return PooledFillRate(_out(level.reshape(shape)), _out(fill.reshape(shape)))


def rs_fill_rate_order_up_to(
    fill_rate: ArrayLike,
    mean_protection_demand: ArrayLike,
    variance_protection_demand: ArrayLike,
    mean_lead_time_demand: ArrayLike,
    variance_lead_time_demand: ArrayLike,
) -> FloatOut:
    """Order-up-to level S of an (R, S) policy with fill rate beta.

    Expected shortage per review cycle = n_{L+R}(S) - n_L(S) (demand over the protection
    interval L + R that S does not cover, less what was already short before the cycle's
    order arrived), tolerated up to (1 - beta) x the expected demand of a review period
    mu_{L+R} - mu_L; n the negative binomial loss of each interval's demand (mean, variance).
    Sources: SPT, periodic-review chapter ((R,S), the P2 criterion with the exact shortage);
    Axsater Ch. 5 (periodic review).

    >>> round(rs_fill_rate_order_up_to(0.95, 12.0, 0.0, 5.0, 0.0), 6)  # no spread: S = 11.65
    11.65
    """
    beta = _check_service_level(fill_rate, "fill rate beta")
    m_p = _check_nonnegative(mean_protection_demand, "mean_protection_demand")
    v_p = _check_nonnegative(variance_protection_demand, "variance_protection_demand")
    m_l = _check_nonnegative(mean_lead_time_demand, "mean_lead_time_demand")
    v_l = _check_nonnegative(variance_lead_time_demand, "variance_lead_time_demand")
    beta, m_p, v_p, m_l, v_l = np.broadcast_arrays(beta, m_p, v_p, m_l, v_l)
    shape = beta.shape
    beta, m_p, v_p, m_l, v_l = (np.atleast_1d(a).astype(float) for a in (beta, m_p, v_p, m_l, v_l))
    review = m_p - m_l
    if np.any(review <= 0):
        raise ValueError("mean_protection_demand must exceed mean_lead_time_demand (R > 0)")
    protect = _nb_shape(m_p, v_p)
    protect = (protect[0], *protect[2:])
    lead = _nb_shape(m_l, v_l)
    lead = (lead[0], *lead[2:])

    def shortage(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at_p = tuple(a[rows] for a in protect)
        at_l = tuple(a[rows] for a in lead)
        value = _nb_loss(x, *at_p) - _nb_loss(x, *at_l)
        slope = _nb_sf(x, *at_p) - _nb_sf(x, *at_l)
        return value, slope

    allowed = (1.0 - beta) * review
    lo = np.zeros_like(m_p) - 1.0
    return _out(_bracketed_fill_rate_level(allowed, shortage, m_p, v_p, lo).reshape(shape))


# --------------------------------------------------------------------------------------------
# newsvendor and base-stock
# --------------------------------------------------------------------------------------------


class NewsvendorSolution(NamedTuple):
    """Optimal stocking level and its expected cost."""

    level: FloatOut
    cost: FloatOut


class BaseStockSolution(NamedTuple):
    """Order-up-to level, the safety stock inside it, and the expected cost per period."""

    level: FloatOut
    safety_stock: FloatOut
    cost: FloatOut


class BaseStockPerformance(NamedTuple):
    """Long-run performance of a one-for-one base-stock policy."""

    fill_rate: FloatOut
    expected_backorders: FloatOut
    expected_on_hand: FloatOut
    expected_wait: FloatOut
    expected_wait_if_backordered: FloatOut


def _costs(holding_cost: ArrayLike, stockout_cost: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return _check_positive(holding_cost, "holding_cost"), _check_positive(
        stockout_cost, "stockout_cost"
    )


def critical_ratio(holding_cost: ArrayLike, stockout_cost: ArrayLike) -> FloatOut:
    """Newsvendor critical ratio alpha = p / (p + h).

    Source: S&S Ch. 4 (newsvendor problem, eq. for S* = F^-1(p/(p+h))).

    >>> round(critical_ratio(1, 4), 6)
    0.8
    """
    h, p = _costs(holding_cost, stockout_cost)
    return _out(p / (p + h))


def _newsvendor_normal_cost(level, h, p, mean, sd):
    return h * (level - mean) + (h + p) * _normal_loss(level, mean, sd)


def newsvendor_normal(
    holding_cost: ArrayLike, stockout_cost: ArrayLike, mean: ArrayLike, sd: ArrayLike
) -> NewsvendorSolution:
    """Newsvendor with normal demand: S* = mu + sigma Phi^-1(p/(p+h)), g(S*) = (h+p) sigma phi(z).

    Source: S&S Ch. 4, newsvendor with normal demand (Example 4.3).

    >>> sol = newsvendor_normal(0.18, 0.70, 50, 8)
    >>> round(sol.level, 4), round(sol.cost, 4)
    (56.604, 1.9976)
    """
    h, p = _costs(holding_cost, stockout_cost)
    sd = _check_nonnegative(sd, "sd")
    z = special.ndtri(p / (p + h))
    level = np.asarray(mean, dtype=float) + z * sd
    cost = (h + p) * sd * _phi(z)
    return NewsvendorSolution(_out(level), _out(cost))


def newsvendor_normal_cost(
    level: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    mean: ArrayLike,
    sd: ArrayLike,
) -> FloatOut:
    """Expected newsvendor cost at any level S with normal demand.

    g(S) = h E[(S - D)+] + p E[(D - S)+] = h (S - mu) + (h + p) n(S), n the normal loss.
    Source: S&S Ch. 4 (newsvendor cost function; Example 4.3).

    >>> round(newsvendor_normal_cost(40, 0.18, 0.70, 50, 8), 4)
    7.3561
    """
    h, p = _costs(holding_cost, stockout_cost)
    sd = _check_nonnegative(sd, "sd")
    level, mean = np.asarray(level, dtype=float), np.asarray(mean, dtype=float)
    return _out(_newsvendor_normal_cost(level, h, p, mean, sd))


def _poisson_newsvendor_level(h, p, mean):
    alpha = p / (p + h)
    level = poisson.ppf(alpha, mean)
    # Guard the ppf against rounding at the boundary: smallest S with F(S) >= alpha.
    level = np.where(poisson.cdf(level, mean) < alpha, level + 1, level)
    level = np.where(poisson.cdf(level - 1, mean) >= alpha, level - 1, level)
    return level.astype(np.int64)


def _poisson_newsvendor_cost(level, h, p, mean):
    return h * (level - mean) + (h + p) * _poisson_loss(level, mean)


def newsvendor_poisson(
    holding_cost: ArrayLike, stockout_cost: ArrayLike, mean: ArrayLike
) -> NewsvendorSolution:
    """Newsvendor with Poisson demand: smallest integer S with F(S) >= p/(p+h), and g(S).

    Also the optimal periodic-review base-stock level when ``mean`` is the mean demand over
    the protection interval (lead time + one period). Source: S&S Ch. 4, discrete demand
    (Example 4.7).

    >>> sol = newsvendor_poisson(1, 4, 6)
    >>> sol.level, round(sol.cost, 4)
    (8, 3.5701)
    """
    h, p = _costs(holding_cost, stockout_cost)
    mean = _check_nonnegative(mean, "mean")
    level = _poisson_newsvendor_level(h, p, mean)
    cost = _poisson_newsvendor_cost(level.astype(float), h, p, mean)
    return NewsvendorSolution(_out(level), _out(cost))


def newsvendor_poisson_cost(
    level: ArrayLike, holding_cost: ArrayLike, stockout_cost: ArrayLike, mean: ArrayLike
) -> FloatOut:
    """Expected newsvendor cost at level S with Poisson demand: g(S) = h nbar(S) + p n(S).

    Source: S&S Ch. 4 (Example 4.7).

    >>> round(newsvendor_poisson_cost(8, 1, 4, 6), 4)
    3.5701
    """
    h, p = _costs(holding_cost, stockout_cost)
    mean = _check_nonnegative(mean, "mean")
    return _out(_poisson_newsvendor_cost(np.asarray(level, dtype=float), h, p, mean))


def base_stock_normal(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    mean_demand: ArrayLike,
    sd_demand: ArrayLike,
    lead_time: ArrayLike,
    review_period: ArrayLike = 1,
) -> BaseStockSolution:
    """Periodic-review base-stock (order-up-to) level over the protection interval T = L + R.

    S = T mu + z sigma sqrt(T) with z = Phi^-1(p/(p+h)); safety stock = z sigma sqrt(T);
    cost = (h + p) sigma sqrt(T) phi(z), the expected holding + backorder cost per period
    (exact for review_period = 1, the S&S model; for R > 1 it is the newsvendor cost over the
    protection interval). mean/sd are per period, lead_time and review_period in periods.
    Source: S&S Ch. 4, base-stock with lead time (Example 4.4); SPT, order-up-to (R, S) system.

    >>> sol = base_stock_normal(0.18, 0.70, 50, 8, lead_time=4)
    >>> round(sol.level, 4), round(sol.safety_stock, 4), round(sol.cost, 4)
    (264.7669, 14.7669, 4.4668)
    """
    h, p = _costs(holding_cost, stockout_cost)
    sd = _check_nonnegative(sd_demand, "sd_demand")
    protection = _check_nonnegative(lead_time, "lead_time") + _check_positive(
        review_period, "review_period"
    )
    z = special.ndtri(p / (p + h))
    sd_protection = sd * np.sqrt(protection)
    safety = z * sd_protection
    level = np.asarray(mean_demand, dtype=float) * protection + safety
    cost = (h + p) * sd_protection * _phi(z)
    return BaseStockSolution(_out(level), _out(safety), _out(cost))


def base_stock_poisson_performance(
    base_stock_level: ArrayLike, demand_rate: ArrayLike, lead_time: ArrayLike
) -> BaseStockPerformance:
    """One-for-one continuous-review base-stock S, Poisson unit demand, fixed lead time L.

    IL = S - D_L with D_L ~ Poisson(lambda L), full backordering (by Palm's theorem the same
    holds for i.i.d. random lead times with mean L):

    - fill rate = P(IL >= 1) = F(S - 1)
    - E[B] = n(S), E[I] = nbar(S)
    - expected wait per demand = E[B] / lambda (Little's law)
    - expected wait of a backordered demand = E[B] / (lambda (1 - fill rate)); NaN when no
      demand waits.

    Sources: S&S Ch. 5 (Poisson demand); Axsater Ch. 5 (S-1, S policies); Little's law.

    >>> perf = base_stock_poisson_performance(10, 1.0, 7)
    >>> round(perf.fill_rate, 4), round(perf.expected_backorders, 4), round(perf.expected_on_hand, 4)
    (0.8305, 0.2013, 3.2013)
    >>> round(perf.expected_wait_if_backordered, 4)
    1.1877
    """
    level = np.asarray(base_stock_level, dtype=float)
    rate = _check_positive(demand_rate, "demand_rate")
    mean = rate * _check_nonnegative(lead_time, "lead_time")
    fill = poisson.cdf(level - 1, mean)
    backorders = _poisson_loss(level, mean)
    on_hand = level - mean + backorders
    wait = backorders / rate
    stockout = 1.0 - fill
    with np.errstate(divide="ignore", invalid="ignore"):
        wait_if_backordered = np.where(stockout > 0, wait / stockout, np.nan)
    return BaseStockPerformance(
        _out(fill), _out(backorders), _out(on_hand), _out(wait), _out(wait_if_backordered)
    )


# --------------------------------------------------------------------------------------------
# EOQ
# --------------------------------------------------------------------------------------------


class EOQBackorderSolution(NamedTuple):
    """EOQ with planned backorders: order quantity, fraction of demand backordered, cost."""

    order_quantity: FloatOut
    stockout_fraction: FloatOut
    cost: FloatOut


def eoq(order_cost: ArrayLike, holding_cost: ArrayLike, annual_demand: ArrayLike) -> FloatOut:
    """Economic order quantity Q* = sqrt(2 K lambda / h).

    ``holding_cost`` is per unit per year (unit cost x carrying rate). Zero demand gives 0.
    Sources: S&S Ch. 3 (EOQ, Example 3.1); SPT, EOQ chapter; Axsater 4.1.

    >>> round(eoq(8, 0.225, 1300), 4)
    304.0468
    """
    k = _check_nonnegative(order_cost, "order_cost")
    h = _check_positive(holding_cost, "holding_cost")
    demand = _check_nonnegative(annual_demand, "annual_demand")
    return _out(np.sqrt(2.0 * k * demand / h))


def eoq_cost(
    order_cost: ArrayLike,
    holding_cost: ArrayLike,
    annual_demand: ArrayLike,
    order_quantity: ArrayLike | None = None,
) -> FloatOut:
    """Annual ordering + holding cost K lambda / Q + h Q / 2; at Q* it is sqrt(2 K lambda h).

    ``order_quantity`` defaults to Q*. Source: S&S Ch. 3 (Example 3.1); Axsater 4.1.

    >>> round(eoq_cost(8, 0.225, 1300), 4)
    68.4105
    >>> round(eoq_cost(8, 0.225, 1300, order_quantity=400), 4)
    71.0
    """
    k = _check_nonnegative(order_cost, "order_cost")
    h = _check_positive(holding_cost, "holding_cost")
    demand = _check_nonnegative(annual_demand, "annual_demand")
    if order_quantity is None:
        return _out(np.sqrt(2.0 * k * demand * h))
    q = _check_positive(order_quantity, "order_quantity")
    return _out(k * demand / q + h * q / 2.0)


def eoq_with_backorders(
    order_cost: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    annual_demand: ArrayLike,
) -> EOQBackorderSolution:
    """EOQ with planned backorders (EOQB).

    Q* = sqrt(2 K lambda (h + p) / (h p)), x* = h / (h + p) (fraction of each cycle, and of
    demand, that is backordered), cost = sqrt(2 K lambda h p / (h + p)); p is the backorder
    cost per unit per year. Sources: S&S Ch. 3 (planned backorders, Example 3.8); Axsater 4.4.

    >>> sol = eoq_with_backorders(8, 0.225, 5, 1300)
    >>> round(sol.order_quantity, 4), round(sol.stockout_fraction, 6), round(sol.cost, 4)
    (310.8126, 0.043062, 66.9214)
    """
    k = _check_nonnegative(order_cost, "order_cost")
    h, p = _costs(holding_cost, stockout_cost)
    demand = _check_nonnegative(annual_demand, "annual_demand")
    q = np.sqrt(2.0 * k * demand * (h + p) / (h * p))
    fraction = h / (h + p)
    cost = np.sqrt(2.0 * k * demand * h * p / (h + p))
    return EOQBackorderSolution(_out(q), _out(fraction), _out(cost))


# --------------------------------------------------------------------------------------------
# service levels and safety stock
# --------------------------------------------------------------------------------------------


def lead_time_demand_sd(
    mean_daily_demand: ArrayLike,
    sd_daily_demand: ArrayLike,
    lead_time: ArrayLike,
    sd_lead_time: ArrayLike,
) -> FloatOut:
    """Standard deviation of lead-time demand with random lead time: sqrt(L sd_d^2 + d^2 sd_L^2).

    Demand per period i.i.d. (mean d, sd sd_d), lead time independent of demand (mean L, sd
    sd_L), all in the same period unit. Sources: SPT, probabilistic-demand chapter (variability
    in the replenishment lead time); Chopra & Meindl Ch. 12 (impact of lead-time uncertainty).

    >>> round(lead_time_demand_sd(30, 3, 7, 4), 2)
    120.26
    >>> lead_time_demand_sd([30, 2500], [3, 500], [7, 2], [4, 0]).round(1).tolist()
    [120.3, 707.1]
    """
    d = _check_nonnegative(mean_daily_demand, "mean_daily_demand")
    sd_d = _check_nonnegative(sd_daily_demand, "sd_daily_demand")
    lt = _check_nonnegative(lead_time, "lead_time")
    sd_lt = _check_nonnegative(sd_lead_time, "sd_lead_time")
    return _out(np.sqrt(lt * sd_d**2 + d**2 * sd_lt**2))


def safety_factor_cycle_service(alpha: ArrayLike) -> FloatOut:
    """Safety factor for a cycle service level (type 1): z = Phi^-1(alpha).

    alpha = probability of no stockout in a replenishment cycle, strictly inside (0, 1).
    Sources: SPT, probabilistic-demand chapter (P1 criterion); Chopra & Meindl Ch. 12
    (Example 12-3).

    >>> round(safety_factor_cycle_service(0.9), 4)
    1.2816
    """
    return _out(special.ndtri(_check_service_level(alpha, "cycle service level alpha")))


def _inverse_std_loss(target: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """z in [lo, hi] with L(z) = target, for L(lo) >= target >= L(hi) > 0.

    Newton on log L (concave and decreasing, so the iteration is well behaved in the tail).
    """
    log_target = np.log(target)

    def fun(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        loss = _std_loss(z)
        with np.errstate(divide="ignore"):
            return np.log(loss) - log_target, -special.ndtr(-z) / loss

    # Start near the root: L(z) ~ -z on the left; 0 otherwise.
    return _newton_decreasing(fun, lo, hi, np.clip(-target, lo, hi))


def safety_factor_fill_rate(
    beta: ArrayLike,
    order_quantity: ArrayLike,
    sd_lead_time_demand: ArrayLike,
    *,
    z_min: float = -1.0,
    z_max: float = 5.0,
) -> FloatOut:
    """Safety factor for a fill rate (type 2): solve sigma_L L(z) = (1 - beta) Q for z.

    The expected shortage per cycle sigma_L L(z) must equal the tolerated shortage (1 - beta) Q.
    The answer is clipped to [z_min, z_max] (z_min when even z_min over-delivers; z_max when
    the target needs more than z_max); sigma_L = 0 gives 0; NaN inputs give NaN. Solved for all
    SKUs at once by safeguarded Newton iterations on log L (milliseconds for 10,000 SKUs).
    Sources: SPT, probabilistic-demand chapter (P2 criterion, G_u(k) = Q(1 - P2)/sigma_L);
    Chopra & Meindl Ch. 12 (Example 12-4).

    >>> round(safety_factor_fill_rate(0.975, 10000, 707.1068), 4)
    0.0943
    >>> safety_factor_fill_rate([0.975, 0.9999], 10000, [707.1068, 0.0]).round(4).tolist()
    [0.0943, 0.0]
    """
    beta = _check_service_level(beta, "fill rate beta")
    q = _check_nonnegative(order_quantity, "order_quantity")
    sd = _check_nonnegative(sd_lead_time_demand, "sd_lead_time_demand")
    if not z_min < z_max:
        raise ValueError(f"z_min must be below z_max; got z_min={z_min}, z_max={z_max}")
    beta, q, sd = np.broadcast_arrays(beta, q, sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = (1.0 - beta) * q / sd
    z = np.full(target.shape, np.nan)
    lo_loss, hi_loss = _std_loss(np.float64(z_min)), _std_loss(np.float64(z_max))
    z[target >= lo_loss] = z_min
    z[target <= hi_loss] = z_max
    solve = (target < lo_loss) & (target > hi_loss)
    if solve.any():
        t = target[solve]
        z[solve] = _inverse_std_loss(t, np.full(t.shape, z_min), np.full(t.shape, z_max))
    z = np.where(sd == 0, 0.0, z)
    z = np.where(np.isnan(q) | np.isnan(sd), np.nan, z)
    return _out(z)


def safety_stock(
    sd_lead_time_demand: ArrayLike,
    service_level: ArrayLike,
    kind: Literal["cycle", "fill_rate"] = "cycle",
    order_quantity: ArrayLike | None = None,
) -> FloatOut:
    """Safety stock z sigma_L for a cycle service level or a fill rate.

    kind="cycle": z = Phi^-1(alpha). kind="fill_rate": z from sigma_L L(z) = (1 - beta) Q
    (needs ``order_quantity``; z clipped to [-1, 5] as in :func:`safety_factor_fill_rate`).
    Sources: Chopra & Meindl Ch. 12 (Examples 12-3 and 12-4); SPT, probabilistic-demand
    chapter.

    >>> round(safety_stock(707.1068, 0.90), 1)
    906.2
    >>> round(safety_stock(707.1068, 0.975, kind="fill_rate", order_quantity=10000), 1)
    66.7
    """
    sd = _check_nonnegative(sd_lead_time_demand, "sd_lead_time_demand")
    if kind == "cycle":
        z = np.asarray(safety_factor_cycle_service(service_level))
    elif kind == "fill_rate":
        if order_quantity is None:
            raise ValueError("safety_stock(kind='fill_rate') needs order_quantity")
        z = np.asarray(safety_factor_fill_rate(service_level, order_quantity, sd))
    else:
        raise ValueError(f"kind must be 'cycle' or 'fill_rate'; got {kind!r}")
    return _out(z * sd)


def reorder_point(mean_lead_time_demand: ArrayLike, safety_stock: ArrayLike) -> FloatOut:
    """Reorder point ROP = mean lead-time demand + safety stock (the 'min' of a min/max system).

    Source: Chopra & Meindl Ch. 12 (ROP = D_L + ss); SPT, (s, Q) systems.

    >>> reorder_point(5000, 1000)
    6000.0
    """
    return _out(np.asarray(mean_lead_time_demand, dtype=float) + np.asarray(safety_stock, float))


def cycle_service_level(
    reorder_point: ArrayLike, mean_lead_time_demand: ArrayLike, sd_lead_time_demand: ArrayLike
) -> FloatOut:
    """Cycle service level of a reorder point: CSL = Phi((ROP - mu_L) / sigma_L).

    sigma_L = 0 gives 1 when ROP >= mu_L, else 0. Source: Chopra & Meindl Ch. 12 (Example 12-1).

    >>> round(cycle_service_level(6000, 5000, 707.1068), 4)
    0.9214
    """
    sd = _check_nonnegative(sd_lead_time_demand, "sd_lead_time_demand")
    gap = np.asarray(reorder_point, dtype=float) - np.asarray(mean_lead_time_demand, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        csl = special.ndtr(gap / sd)
    return _out(np.where(sd > 0, csl, (gap >= 0).astype(float)))


def expected_shortage_per_cycle(
    reorder_point: ArrayLike, mean_lead_time_demand: ArrayLike, sd_lead_time_demand: ArrayLike
) -> FloatOut:
    """Expected shortage per replenishment cycle ESC = sigma_L L(ss / sigma_L), ss = ROP - mu_L.

    Source: Chopra & Meindl Ch. 12 (Example 12-2); SPT (sigma_L G_u(k)).

    >>> round(expected_shortage_per_cycle(6000, 5000, 707.1068), 2)
    25.13
    """
    return normal_loss(reorder_point, mean_lead_time_demand, sd_lead_time_demand)


def fill_rate(
    reorder_point: ArrayLike,
    order_quantity: ArrayLike,
    mean_lead_time_demand: ArrayLike,
    sd_lead_time_demand: ArrayLike,
) -> FloatOut:
    """Fill rate (type 2) of a (ROP, Q) policy: fr = 1 - ESC / Q.

    The classical approximation that ignores the shortage left over from the previous cycle
    (see :func:`rq_normal_performance` for the exact normal-model value).
    Source: Chopra & Meindl Ch. 12 (Example 12-2); SPT (P2 = 1 - sigma_L G_u(k) / Q).

    >>> round(fill_rate(6000, 10000, 5000, 707.1068), 4)
    0.9975
    """
    q = _check_positive(order_quantity, "order_quantity")
    esc = np.asarray(
        expected_shortage_per_cycle(reorder_point, mean_lead_time_demand, sd_lead_time_demand)
    )
    return _out(1.0 - esc / q)


# --------------------------------------------------------------------------------------------
# (r, Q) policies
# --------------------------------------------------------------------------------------------


class RQPolicy(NamedTuple):
    """Reorder point r, order quantity Q and expected cost per time unit g(r, Q)."""

    reorder_point: FloatOut | IntOut
    order_quantity: FloatOut | IntOut
    cost: FloatOut


class RQPerformance(NamedTuple):
    """Long-run performance of an (r, Q) policy with full backordering."""

    fill_rate: FloatOut
    expected_backorders: FloatOut
    expected_on_hand: FloatOut


def _rq_inputs(holding_cost, stockout_cost, order_cost, demand_rate, demand_sd, lead_time):
    h, p = _costs(holding_cost, stockout_cost)
    k = _check_nonnegative(order_cost, "order_cost")
    rate = _check_positive(demand_rate, "demand_rate")
    sd = _check_nonnegative(demand_sd, "demand_sd")
    lt = _check_nonnegative(lead_time, "lead_time")
    return h, p, k, rate, rate * lt, sd * np.sqrt(lt)


def _rq_cost_normal(r, q, h, p, k, rate, mu, sigma):
    # g(r,Q) = [K lambda + int_r^{r+Q} g(y) dy] / Q with g(y) = h(y - mu) + (h+p) n(y).
    second = _normal_second_loss(r, mu, sigma) - _normal_second_loss(r + q, mu, sigma)
    return k * rate / q + h * (r - mu + q / 2.0) + (h + p) * second / q


def rq_cost_normal(
    reorder_point: ArrayLike,
    order_quantity: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    demand_rate: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
) -> FloatOut:
    """Exact expected cost per year of (r, Q) with normal lead-time demand.

    g(r, Q) = [K lambda + int_r^{r+Q} g(y) dy] / Q
            = K lambda / Q + h (r - mu + Q/2) + (h + p) [n2(r) - n2(r + Q)] / Q,
    mu = lambda L, sigma = tau sqrt(L) (tau = demand_sd per sqrt-year), n2 the normal
    second-order loss. Source: S&S Ch. 5 (exact (r,Q) cost, Example 5.1).

    >>> round(rq_cost_normal(126.8, 328.5, 0.225, 7.5, 8, 1300, 150, 1 / 12), 4)
    78.0712
    """
    h, p, k, rate, mu, sigma = _rq_inputs(
        holding_cost, stockout_cost, order_cost, demand_rate, demand_sd, lead_time
    )
    q = _check_positive(order_quantity, "order_quantity")
    r = np.asarray(reorder_point, dtype=float)
    return _out(_rq_cost_normal(r, q, h, p, k, rate, mu, sigma))


def rq_normal_performance(
    reorder_point: ArrayLike,
    order_quantity: ArrayLike,
    mean_lead_time_demand: ArrayLike,
    sd_lead_time_demand: ArrayLike,
) -> RQPerformance:
    """Fill rate, expected backorders and on-hand of (r, Q) with normal lead-time demand.

    Inventory position uniform on [r, r + Q]:
    E[B] = [n2(r) - n2(r + Q)] / Q, E[I] = r - mu + Q/2 + E[B],
    fill rate = 1 - [n(r) - n(r + Q)] / Q. Source: S&S Ch. 5 ((r,Q) with continuous demand).

    >>> perf = rq_normal_performance(126.8, 328.5, 1300 / 12, 150 / 12 ** 0.5)
    >>> round(perf.fill_rate, 4), round(perf.expected_backorders, 4)
    (0.9708, 0.6862)
    """
    sd = _check_nonnegative(sd_lead_time_demand, "sd_lead_time_demand")
    q = _check_positive(order_quantity, "order_quantity")
    r, mu = np.asarray(reorder_point, dtype=float), np.asarray(mean_lead_time_demand, float)
    backorders = (_normal_second_loss(r, mu, sd) - _normal_second_loss(r + q, mu, sd)) / q
    on_hand = r - mu + q / 2.0 + backorders
    fill = 1.0 - (_normal_loss(r, mu, sd) - _normal_loss(r + q, mu, sd)) / q
    return RQPerformance(_out(fill), _out(backorders), _out(on_hand))


def _optimal_r_for_q_normal(q, h, p, mu, sigma):
    """Solve g(r) = g(r + Q), i.e. n(r) - n(r + Q) = h Q / (h + p), for r."""
    q, h, p, mu, sigma = np.broadcast_arrays(q, h, p, mu, sigma)
    ratio = h / (h + p)
    r = np.array(mu - ratio * q, dtype=float)  # the sigma = 0 answer
    scaled = sigma > 0
    if scaled.any():
        qz = q[scaled] / sigma[scaled]
        c = ratio[scaled]

        def fun(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            f = _std_loss(z) - _std_loss(z + qz) - c * qz
            return f, special.ndtr(z) - special.ndtr(z + qz)

        # f -> (1 - c) q > 0 as z -> -inf and f -> -c q < 0 as z -> +inf.
        z0 = special.ndtri(1.0 - c) - qz / 2.0
        z = _newton_decreasing(fun, -qz - 40.0, np.full(qz.shape, 40.0), z0)
        r[scaled] = mu[scaled] + sigma[scaled] * z
    return r


def rq_optimal_reorder_point_normal(
    order_quantity: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    demand_rate: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
) -> FloatOut:
    """Optimal reorder point r(Q) for a given Q, normal lead-time demand: g(r) = g(r + Q).

    Equivalently n(r) - n(r + Q) = h Q / (h + p). Source: S&S Ch. 5 (optimal r for given Q,
    Example 5.2).

    >>> round(rq_optimal_reorder_point_normal(300, 0.225, 7.5, 1300, 150, 1 / 12), 4)
    129.4273
    """
    h, p, _, _, mu, sigma = _rq_inputs(
        holding_cost, stockout_cost, 0.0, demand_rate, demand_sd, lead_time
    )
    q = _check_positive(order_quantity, "order_quantity")
    return _out(_optimal_r_for_q_normal(q, h, p, mu, sigma))


def rq_eoq_plus_safety_stock(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    demand_rate: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
) -> RQPolicy:
    """EOQ + safety stock heuristic: Q = sqrt(2 K lambda / h), r = mu_L + z sigma_L.

    z = Phi^-1(p/(p+h)); mu_L = lambda L, sigma_L = tau sqrt(L). ``cost`` is the exact normal
    g(r, Q) of the resulting policy. Source: S&S Ch. 5 (EOQ+SS approximation, Example 5.5).

    >>> pol = rq_eoq_plus_safety_stock(0.225, 7.5, 8, 1300, 150, 1 / 12)
    >>> round(pol.reorder_point, 4), round(pol.order_quantity, 4)
    (190.337, 304.0468)
    """
    h, p, k, rate, mu, sigma = _rq_inputs(
        holding_cost, stockout_cost, order_cost, demand_rate, demand_sd, lead_time
    )
    q = np.sqrt(2.0 * k * rate / h)
    r = mu + special.ndtri(p / (p + h)) * sigma
    return RQPolicy(_out(r), _out(q), _out(_rq_cost_normal(r, q, h, p, k, rate, mu, sigma)))


def rq_eoqb_approximation(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    demand_rate: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
) -> RQPolicy:
    """EOQB approximation: Q = sqrt(2 K lambda (h + p) / (h p)), r = r(Q) from g(r) = g(r + Q).

    ``cost`` is the exact normal g(r, Q). Source: S&S Ch. 5 (EOQB approximation, after Zheng
    1992; Example 5.2 data).

    >>> pol = rq_eoqb_approximation(0.225, 7.5, 8, 1300, 150, 1 / 12)
    >>> round(pol.reorder_point, 4), round(pol.order_quantity, 4)
    (128.6378, 308.5738)
    """
    h, p, k, rate, mu, sigma = _rq_inputs(
        holding_cost, stockout_cost, order_cost, demand_rate, demand_sd, lead_time
    )
    q = np.sqrt(2.0 * k * rate * (h + p) / (h * p))
    r = _optimal_r_for_q_normal(q, h, p, mu, sigma)
    return RQPolicy(_out(r), _out(q), _out(_rq_cost_normal(r, q, h, p, k, rate, mu, sigma)))


def _fixed_point(step, r, q, tol, max_iter, name):
    for _ in range(max_iter):
        r_new, q_new = step(r, q)
        if np.all(np.abs(r_new - r) <= tol) and np.all(np.abs(q_new - q) <= tol):
            return r_new, q_new
        r, q = r_new, q_new
    raise RuntimeError(f"{name} did not converge in {max_iter} iterations")


def _normal_loss_inverse(target, mu, sigma):
    """x with n(x) = target (> 0) for N(mu, sigma^2); sigma = 0 gives mu - target."""
    target, mu, sigma = np.broadcast_arrays(target, mu, sigma)
    x = np.array(mu - target, dtype=float)
    scaled = sigma > 0
    if scaled.any():
        t = target[scaled] / sigma[scaled]
        lo, hi = -t - 1.0, np.full(t.shape, 37.0)  # L(-t - 1) > t; L(37) ~ 1e-301
        x[scaled] = mu[scaled] + sigma[scaled] * _inverse_std_loss(np.maximum(t, 1e-300), lo, hi)
    return x


def rq_loss_function_approximation(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    demand_rate: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
    *,
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> RQPolicy:
    """Loss-function approximation of Hadley & Whitin, solved by fixed-point iteration.

    n(r) = h Q / (h + p) and Q = sqrt(2 [K lambda + (h + p) n2(r)] / h), n, n2 the first and
    second-order normal loss of lead-time demand; start Q = EOQ, iterate until r and Q move
    less than ``tol``. ``cost`` is the exact normal g(r, Q). Source: S&S Ch. 5 (loss-function
    approximation, Example 5.6).

    >>> pol = rq_loss_function_approximation(0.225, 7.5, 8, 1300, 150, 1 / 12)
    >>> round(pol.reorder_point, 4), round(pol.order_quantity, 4)
    (126.8671, 328.4491)
    """
    h, p, k, rate, mu, sigma = _rq_inputs(
        holding_cost, stockout_cost, order_cost, demand_rate, demand_sd, lead_time
    )

    def step(r, q):
        r = _normal_loss_inverse(h * q / (h + p), mu, sigma)
        q = np.sqrt(2.0 * (k * rate + (h + p) * _normal_second_loss(r, mu, sigma)) / h)
        return r, q

    q0 = np.sqrt(2.0 * k * rate / h)
    r, q = _fixed_point(step, np.zeros_like(q0), q0, tol, max_iter, "loss-function approx.")
    return RQPolicy(_out(r), _out(q), _out(_rq_cost_normal(r, q, h, p, k, rate, mu, sigma)))


def rq_eil_approximation(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    demand_rate: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
    *,
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> RQPolicy:
    """Expected-inventory-level (EIL) approximation (Whitin; Hadley & Whitin).

    1 - F(r) = Q h / (p lambda) and Q = sqrt(2 lambda [K + p n(r)] / h), iterated from
    Q = EOQ; needs Q h < p lambda at every step. ``cost`` is the exact normal g(r, Q) (not the
    EIL approximate cost). Source: S&S Ch. 5 (EIL approximation, Example 5.2 data).

    >>> pol = rq_eil_approximation(0.225, 7.5, 8, 1300, 150, 1 / 12)
    >>> round(pol.reorder_point, 4), round(pol.order_quantity, 4)
    (213.9704, 318.5902)
    """
    h, p, k, rate, mu, sigma = _rq_inputs(
        holding_cost, stockout_cost, order_cost, demand_rate, demand_sd, lead_time
    )

    def step(r, q):
        tail = q * h / (p * rate)
        if np.any(tail >= 1):
            raise ValueError("EIL approximation needs Q h < p lambda; use another method")
        r = mu + sigma * special.ndtri(1.0 - tail)
        q = np.sqrt(2.0 * rate * (k + p * _normal_loss(r, mu, sigma)) / h)
        return r, q

    q0 = np.sqrt(2.0 * k * rate / h)
    r, q = _fixed_point(step, np.zeros_like(q0), q0, tol, max_iter, "EIL approximation")
    return RQPolicy(_out(r), _out(q), _out(_rq_cost_normal(r, q, h, p, k, rate, mu, sigma)))


def _rq_cost_poisson(r, q, h, p, k, rate, mu):
    # [K lambda + sum_{y=r+1}^{r+Q} g(y)] / Q with g(y) = h (y - mu) + (h + p) n(y).
    second = _poisson_second_loss(r, mu) - _poisson_second_loss(r + q, mu)
    return k * rate / q + h * (r + (q + 1.0) / 2.0 - mu) + (h + p) * second / q


def _poisson_rq_args(reorder_point, order_quantity):
    r = _check_integer(reorder_point, "reorder_point").astype(float)
    q = _check_integer(order_quantity, "order_quantity").astype(float)
    _check_positive(q, "order_quantity")
    return r, q


def rq_cost_poisson(
    reorder_point: ArrayLike,
    order_quantity: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    demand_rate: ArrayLike,
    lead_time: ArrayLike,
) -> FloatOut:
    """Exact expected cost per time unit of (r, Q) with Poisson demand (integer r, Q).

    g(r, Q) = [K lambda + sum_{y=r+1}^{r+Q} g(y)] / Q
            = K lambda / Q + h (r + (Q + 1)/2 - mu) + (h + p) [n2(r) - n2(r + Q)] / Q,
    mu = lambda L, n2 the Poisson second-order loss. Source: S&S Ch. 5 (Poisson demand,
    Example 5.8); Axsater Ch. 5 ((R,Q) with Poisson demand).

    >>> round(rq_cost_poisson(3, 5, 20, 150, 100, 1.5, 2), 6)
    107.923581
    """
    r, q = _poisson_rq_args(reorder_point, order_quantity)
    h, p = _costs(holding_cost, stockout_cost)
    k = _check_nonnegative(order_cost, "order_cost")
    rate = _check_positive(demand_rate, "demand_rate")
    mu = rate * _check_nonnegative(lead_time, "lead_time")
    return _out(_rq_cost_poisson(r, q, h, p, k, rate, mu))


def rq_poisson_performance(
    reorder_point: ArrayLike,
    order_quantity: ArrayLike,
    demand_rate: ArrayLike,
    lead_time: ArrayLike,
) -> RQPerformance:
    """Fill rate, expected backorders and on-hand of (r, Q) with Poisson demand (exact).

    Inventory position uniform on {r+1, ..., r+Q}, IL = IP - D_L, D_L ~ Poisson(lambda L):
    fill rate = P(IL >= 1) = 1 - [n(r) - n(r + Q)] / Q, E[B] = [n2(r) - n2(r + Q)] / Q,
    E[I] = r + (Q + 1)/2 - lambda L + E[B]. Q = 1 gives the base-stock S = r + 1.
    Sources: S&S Ch. 5 (Poisson demand); Axsater Ch. 5 ((R,Q) with Poisson demand).

    >>> perf = rq_poisson_performance(9, 1, 1.0, 7)
    >>> round(perf.fill_rate, 4), round(perf.expected_backorders, 4), round(perf.expected_on_hand, 4)
    (0.8305, 0.2013, 3.2013)
    """
    r, q = _poisson_rq_args(reorder_point, order_quantity)
    rate = _check_positive(demand_rate, "demand_rate")
    mu = rate * _check_nonnegative(lead_time, "lead_time")
    backorders = (_poisson_second_loss(r, mu) - _poisson_second_loss(r + q, mu)) / q
    on_hand = r + (q + 1.0) / 2.0 - mu + backorders
    fill = 1.0 - (_poisson_loss(r, mu) - _poisson_loss(r + q, mu)) / q
    return RQPerformance(_out(fill), _out(backorders), _out(on_hand))


def rq_optimal_poisson(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    demand_rate: ArrayLike,
    lead_time: ArrayLike,
) -> RQPolicy:
    """Optimal (r, Q) for Poisson demand (Federgruen & Zheng 1992), all SKUs at once.

    For each Q the best {r+1, ..., r+Q} is the Q smallest values of the convex newsvendor cost
    g(y) of lead-time demand, so the set grows one level at a time from y* = argmin g, adding
    the cheaper neighbour, while the average [K lambda + sum g] / Q does not increase. The loop
    runs max(Q*) times, vectorised across SKUs. Source: S&S Ch. 5 (exact algorithm for Poisson
    demand, Example 5.8).

    >>> rq_optimal_poisson(20, 150, 100, 1.5, 2)[:2]
    (3, 5)
    >>> round(rq_optimal_poisson(20, 150, 100, 1.5, 2).cost, 6)
    107.923581
    """
    h, p = _costs(holding_cost, stockout_cost)
    k = _check_nonnegative(order_cost, "order_cost")
    rate = _check_positive(demand_rate, "demand_rate")
    lt = _check_nonnegative(lead_time, "lead_time")
    h, p, k, rate, lt = np.broadcast_arrays(h, p, k, rate, lt)
    shape = h.shape
    h, p, k, rate = h.ravel(), p.ravel(), k.ravel(), rate.ravel()
    mu = rate * lt.ravel()

    def g(y, i):
        return _poisson_newsvendor_cost(y.astype(float), h[i], p[i], mu[i])

    everyone = np.arange(h.size)
    lo = _poisson_newsvendor_level(h, p, mu)
    hi = lo.copy()
    q = np.ones(h.size, dtype=np.int64)
    total = k * rate + g(lo, everyone)
    cost = total.copy()
    active = everyone
    while active.size:
        g_left, g_right = g(lo[active] - 1, active), g(hi[active] + 1, active)
        go_left = g_left < g_right
        g_next = np.where(go_left, g_left, g_right)
        new_cost = (total[active] + g_next) / (q[active] + 1)
        better = new_cost <= cost[active]
        idx = active[better]
        lo[idx] -= go_left[better]
        hi[idx] += ~go_left[better]
        q[idx] += 1
        total[idx] += g_next[better]
        cost[idx] = new_cost[better]
        active = idx
    return RQPolicy(
        _out((lo - 1).reshape(shape)), _out(q.reshape(shape)), _out(cost.reshape(shape))
    )


# --------------------------------------------------------------------------------------------
# (s, S) policies, periodic review, Poisson demand
# --------------------------------------------------------------------------------------------


class SSPolicy(NamedTuple):
    """Reorder point s, order-up-to level S and expected cost per period."""

    reorder_point: IntOut
    order_up_to_level: IntOut
    cost: FloatOut


def _renewal_masses(pmf: np.ndarray) -> np.ndarray:
    """m(0..W-1): m(0) = 1/(1 - p0), m(j) = m(0) sum_{l=1}^{j} p_l m(j - l), rows are SKUs.

    m(j) is the expected number of periods the inventory position spends j units below S
    (Zheng & Federgruen 1991; S&S Ch. 4).
    """
    n, width = pmf.shape
    m = np.zeros((n, width))
    m[:, 0] = 1.0 / (1.0 - pmf[:, 0])
    for j in range(1, width):  # bounded by the largest S - s, vectorised across SKUs
        m[:, j] = m[:, 0] * np.einsum("ij,ij->i", pmf[:, 1 : j + 1], m[:, j - 1 :: -1])
    return m


def _ss_inputs(holding_cost, stockout_cost, order_cost, mean_demand, lead_time):
    h, p = _costs(holding_cost, stockout_cost)
    k = _check_nonnegative(order_cost, "order_cost")
    lam = _check_positive(mean_demand, "mean_demand")
    lt = _check_integer(_check_nonnegative(lead_time, "lead_time"), "lead_time")
    return h, p, k, lam, lt


def _ss_cost(s, big_s, h, p, k, lam, mu_g):
    """Flat arrays; c(s,S) = [K + sum_{d=0}^{S-s-1} m(d) G(S-d)] / M(S-s)."""
    q = big_s - s
    width = int(q.max())
    d = np.arange(width)
    pmf = poisson.pmf(d[None, :], lam[:, None])
    m = _renewal_masses(pmf)
    levels = (big_s[:, None] - d[None, :]).astype(float)
    g = _poisson_newsvendor_cost(levels, h[:, None], p[:, None], mu_g[:, None])
    terms = np.where(d[None, :] < q[:, None], m * g, 0.0)
    big_m = np.take_along_axis(np.cumsum(m, axis=1), (q - 1)[:, None], axis=1)[:, 0]
    return (k + terms.sum(axis=1)) / big_m


def ss_cost_poisson(
    reorder_point: ArrayLike,
    order_up_to_level: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    mean_demand: ArrayLike,
    lead_time: ArrayLike = 0,
) -> FloatOut:
    """Exact expected cost per period of a periodic-review (s, S) policy, Poisson demand.

    c(s, S) = [K + sum_{d=0}^{S-s-1} m(d) G(S - d)] / M(S - s), M(j) = sum_{i<j} m(i), with
    G(y) = h E[(y - D)+] + p E[(D - y)+] for D ~ Poisson(mean_demand (lead_time + 1)) and m the
    renewal masses of one-period demand (Zheng & Federgruen 1991). Integer s < S; lead_time in
    whole periods. Source: S&S Ch. 4 ((s,S) policies, Example 4.7).

    >>> round(ss_cost_poisson(4, 10, 1, 4, 5, 6), 6)
    8.034112
    """
    s = _check_integer(reorder_point, "reorder_point")
    big_s = _check_integer(order_up_to_level, "order_up_to_level")
    h, p, k, lam, lt = _ss_inputs(holding_cost, stockout_cost, order_cost, mean_demand, lead_time)
    arrays = np.broadcast_arrays(s, big_s, h, p, k, lam, lt)
    shape = arrays[0].shape
    s, big_s, h, p, k, lam, lt = (a.ravel() for a in arrays)
    if np.any(big_s <= s):
        bad = big_s <= s
        raise ValueError(
            f"order_up_to_level must exceed reorder_point; got S={big_s[bad][0]}, s={s[bad][0]}"
        )
    return _out(_ss_cost(s, big_s, h, p, k, lam, lam * (lt + 1)).reshape(shape))


def ss_optimal_poisson(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    order_cost: ArrayLike,
    mean_demand: ArrayLike,
    lead_time: ArrayLike = 0,
) -> SSPolicy:
    """Optimal periodic-review (s, S) policy for Poisson demand, exact, all SKUs at once.

    Uses the Zheng & Federgruen (1991) optimality conditions: with c* the optimal cost and G
    the one-period cost, G(s*+1) <= c* and G(S*) <= c*, and G(y) >= max(h (y - mu), p (mu - y)).
    Any policy's cost c_ub bounds c*, so s* + 1 and S* lie in [mu - c_ub/p, mu + c_ub/h]; all
    (s, S) pairs in that window are then evaluated with the exact renewal formula of
    :func:`ss_cost_poisson` (loop over S - s, vectorised across SKUs and S). c_ub is the better
    of the base-stock policy (y* - 1, y*) and an EOQ-sized policy around y*.
    Source: S&S Ch. 4 (exact algorithm for (s,S) with discrete demand, Example 4.7).

    >>> ss_optimal_poisson(1, 4, 5, 6)[:2]
    (4, 10)
    >>> round(ss_optimal_poisson(1, 4, 5, 6).cost, 6)
    8.034112
    """
    h, p, k, lam, lt = _ss_inputs(holding_cost, stockout_cost, order_cost, mean_demand, lead_time)
    arrays = np.broadcast_arrays(h, p, k, lam, lt)
    shape = arrays[0].shape
    h, p, k, lam, lt = (a.ravel() for a in arrays)
    mu_g = lam * (lt + 1)
    y_star = _poisson_newsvendor_level(h, p, mu_g)

    # Upper bounds on c*: order up to y* whenever anything was sold, or an EOQ-sized batch.
    c_base = _poisson_newsvendor_cost(y_star.astype(float), h, p, mu_g) + k * -np.expm1(-lam)
    q_eoq = np.maximum(1, np.rint(np.sqrt(2.0 * k * lam / h))).astype(np.int64)
    s_eoq = y_star - (q_eoq + 1) // 2
    c_ub = np.minimum(c_base, _ss_cost(s_eoq, s_eoq + q_eoq, h, p, k, lam, mu_g))

    # Window of G values: s+1 >= mu - c_ub/p and S <= mu + c_ub/h (one unit of slack each side).
    base = np.minimum(np.floor(mu_g - c_ub / p).astype(np.int64) - 1, y_star - 1)
    top = np.maximum(np.ceil(mu_g + c_ub / h).astype(np.int64) + 1, y_star)
    width = int((top - base).max()) + 1
    levels = base[:, None] + np.arange(width)[None, :]
    g = _poisson_newsvendor_cost(levels.astype(float), h[:, None], p[:, None], mu_g[:, None])
    pmf = poisson.pmf(np.arange(width)[None, :], lam[:, None])
    m = _renewal_masses(pmf)
    big_m = np.cumsum(m, axis=1)

    # acc[:, j] = sum_{d<Q} m(d) G(level_j - d) for S at grid index j and s = S - Q.
    acc = np.zeros((h.size, width))
    best_cost = np.full(h.size, np.inf)
    best_s = np.zeros(h.size, dtype=np.int64)
    best_big_s = np.zeros(h.size, dtype=np.int64)
    for q in range(1, width):  # bounded by the window width, vectorised across SKUs and S
        acc[:, q - 1 :] += m[:, q - 1 : q] * g[:, : width - q + 1]
        # s = S - q must sit at or above base - 1, i.e. S at grid index >= q - 1.
        cost = (k[:, None] + acc[:, q - 1 :]) / big_m[:, q - 1 : q]
        j = np.argmin(cost, axis=1)
        c = cost[np.arange(h.size), j]
        better = c < best_cost
        best_cost = np.where(better, c, best_cost)
        best_big_s = np.where(better, levels[np.arange(h.size), q - 1 + j], best_big_s)
        best_s = np.where(better, best_big_s - q, best_s)
    return SSPolicy(
        _out(best_s.reshape(shape)), _out(best_big_s.reshape(shape)), _out(best_cost.reshape(shape))
    )


# --------------------------------------------------------------------------------------------
# planning helpers: order rounding, ABC / XYZ
# --------------------------------------------------------------------------------------------


def _no_constraint(value: ArrayLike | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, active) where NaN, 0 or None mean 'no constraint'."""
    arr = _check_nonnegative(np.nan if value is None else value, name)
    active = ~np.isnan(arr) & (arr > 0)
    return np.where(active, arr, 0.0), active


def round_order_quantity(
    quantity: ArrayLike, moq: ArrayLike | None = None, pack_size: ArrayLike | None = None
) -> FloatOut:
    """Raise an order to the minimum order quantity, then round it up to whole packs.

    q' = ceil(max(q, MOQ) / pack) * pack for q > 0; q <= 0 gives 0 (nothing to order); a NaN
    quantity stays NaN. NaN, 0 or None for ``moq``/``pack_size`` mean no constraint. A tiny
    tolerance keeps 0.3/0.1 from becoming 4 packs through floating-point noise.
    Cf. SPT, EOQ chapter (practical adjustments to the lot size: minimum and discrete units).

    >>> round_order_quantity([0, 3, 17, 130], moq=50, pack_size=12).tolist()
    [0.0, 60.0, 60.0, 132.0]
    >>> round_order_quantity(17.5, np.nan, 0)
    17.5
    """
    q = np.asarray(quantity, dtype=float)
    moq_value, _ = _no_constraint(moq, "moq")
    pack, has_pack = _no_constraint(pack_size, "pack_size")
    raised = np.maximum(q, moq_value)
    with np.errstate(divide="ignore", invalid="ignore"):
        packs = np.ceil(np.round(raised / np.where(has_pack, pack, 1.0), 9))
    rounded = np.where(has_pack, packs * pack, raised)
    return _out(np.where(q <= 0, 0.0, rounded))


def _check_thresholds(thresholds: tuple[float, float], name: str) -> tuple[float, float]:
    first, second = (float(t) for t in thresholds)
    if not 0 < first < second:
        raise ValueError(f"{name} must satisfy 0 < first < second; got {thresholds!r}")
    return first, second


def abc_classes(
    annual_value: ArrayLike, thresholds: tuple[float, float] = (0.8, 0.95)
) -> NDArray[np.str_]:
    """ABC (Pareto) classes by cumulative share of annual value (usage x unit cost).

    SKUs are ranked by value, descending (stable for ties). An SKU is "A" while the share of
    value ranked above it is below thresholds[0], "B" below thresholds[1], else "C"; so the SKU
    that crosses 80% is still "A" and one dominant SKU is always "A". Zero or NaN value -> "C".
    Returns an array of "A"/"B"/"C" in the input order. Source: SPT Ch. 2 (ABC classification).

    >>> abc_classes([5, 50, 0, 30, 10, 3, 2]).tolist()
    ['B', 'A', 'C', 'A', 'B', 'C', 'C']
    """
    first, second = _check_thresholds(thresholds, "thresholds")
    value = np.asarray(annual_value, dtype=float)
    if value.ndim != 1:
        raise ValueError(f"annual_value must be one-dimensional; got shape {value.shape}")
    value = np.nan_to_num(_check_nonnegative(value, "annual_value"), nan=0.0)
    classes = np.full(value.shape, "C", dtype="<U1")
    total = value.sum()
    if total <= 0:
        return classes
    order = np.argsort(-value, kind="stable")
    ranked = value[order]
    share_above = (np.cumsum(ranked) - ranked) / total
    ranked_classes = np.where(share_above < first, "A", np.where(share_above < second, "B", "C"))
    ranked_classes = np.where(ranked > 0, ranked_classes, "C")
    classes[order] = ranked_classes
    return classes


def xyz_classes(cv: ArrayLike, thresholds: tuple[float, float] = (0.5, 1.0)) -> StrOut:
    """XYZ classes by coefficient of variation of demand (sd / mean).

    cv <= thresholds[0] -> "X" (steady), cv <= thresholds[1] -> "Y", else "Z" (erratic); NaN
    (e.g. no demand history) -> "Z". XYZ is a practitioner companion to ABC (SPT Ch. 2) rather
    than a textbook formula; 0.5 / 1.0 are common default thresholds.

    >>> xyz_classes([0.2, 0.5, 0.8, 1.5, np.nan]).tolist()
    ['X', 'X', 'Y', 'Z', 'Z']
    """
    first, second = _check_thresholds(thresholds, "thresholds")
    cv = _check_nonnegative(cv, "cv")
    classes = np.where(cv <= first, "X", np.where(cv <= second, "Y", "Z"))
    return _out(classes.astype("<U1"))
