"""Levels that meet a fill rate against negative binomial demand: (r,Q) reorder points, pooled
(r,Q) reorder points (least stock for a pool's fill rate) and (R,S) order-up-to levels.

Each solves its fill-rate equation exactly with the negative binomial loss of
:mod:`forecast.planning.inventory.loss` (slow and erratic items keep their skewed demand),
for all SKUs at once. Sources: S&S Ch. 5; Axsater Ch. 5; SPT, probabilistic-demand,
periodic-review and aggregate-considerations chapters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from forecast.planning.inventory._common import (
    FloatOut,
    _check_nonnegative,
    _check_positive,
    _check_service_level,
    _out,
)
from forecast.planning.inventory.loss import _nb_loss, _nb_sf, _nb_shape


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
    lowest_fill_rate: ArrayLike = 0.5,
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
    linear interpolation). No item falls below ``lowest_fill_rate`` (one level for all, or
    one per item: a floor under each item's own target). A pool of one item gets
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
    lowest = _check_service_level(lowest_fill_rate, "lowest_fill_rate")
    pool = np.asarray(pool)
    *arrays, pool = np.broadcast_arrays(beta, q, rate, mean, var, cost, lowest, pool)
    shape = pool.shape
    beta, q, rate, mean, var, cost, lowest = (np.atleast_1d(a).astype(float).ravel() for a in arrays)
    _, group = np.unique(np.atleast_1d(pool).ravel(), return_inverse=True)
    n = len(beta)

    # Grid of reorder points per item: from its lowest-fill point (the start) up to mu + 6 sigma.
    start = np.maximum(
        np.asarray(rq_fill_rate_reorder_point(lowest, q, mean, var)), minimum
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
