"""Newsvendor and base-stock: optimal levels and costs with normal or Poisson demand, and the
long-run performance of a one-for-one base-stock policy.

Costs and demands are per period. Sources: S&S Ch. 4 (newsvendor, base-stock with lead time)
and Ch. 5 (Poisson demand); SPT, order-up-to (R, S) system; Axsater Ch. 5.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special
from scipy.stats import poisson

from forecast.planning.inventory._common import (
    FloatOut,
    _check_nonnegative,
    _check_positive,
    _costs,
    _out,
)
from forecast.planning.inventory.loss import _normal_loss, _phi, _poisson_loss


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
