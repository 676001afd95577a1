"""(s, S) policies with periodic review and Poisson demand: the exact cost of a policy and the
exact optimum, all SKUs at once.

Costs per period, lead time in whole periods. Sources: S&S Ch. 4 ((s,S) policies, Example
4.7); Zheng & Federgruen (1991).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import poisson

from forecast.planning.inventory._common import (
    FloatOut,
    IntOut,
    _check_integer,
    _check_nonnegative,
    _check_positive,
    _costs,
    _out,
)
from forecast.planning.inventory.newsvendor import (
    _poisson_newsvendor_cost,
    _poisson_newsvendor_level,
)


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
