"""(r, Q) policies: exact costs and performance with normal or Poisson lead-time demand, the
optimal reorder point for a given Q, the classical approximations (EOQ + safety stock, EOQB,
loss-function, EIL) and the exact Poisson optimum.

Costs per time unit (per year with the S&S examples), full backordering. Sources: S&S Ch. 5;
Hadley & Whitin; Federgruen & Zheng (1992); Axsater Ch. 5.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from forecast.planning.inventory._common import (
    FloatOut,
    IntOut,
    _check_integer,
    _check_nonnegative,
    _check_positive,
    _costs,
    _newton_decreasing,
    _out,
)
from forecast.planning.inventory.loss import (
    _normal_loss,
    _normal_second_loss,
    _poisson_loss,
    _poisson_second_loss,
    _std_loss,
)
from forecast.planning.inventory.newsvendor import (
    _poisson_newsvendor_cost,
    _poisson_newsvendor_level,
)
from forecast.planning.inventory.service_levels import _inverse_std_loss


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
