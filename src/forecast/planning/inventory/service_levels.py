"""Service levels and safety stock: lead-time demand spread, safety factors for a cycle service
level or a fill rate, safety stock, reorder point, and the service a reorder point gives.

Normal lead-time demand (mean mu_L, s.d. sigma_L). Sources: SPT, probabilistic-demand chapter
(P1 and P2 criteria); Chopra & Meindl Ch. 12 (Examples 12-1 to 12-4).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from forecast.planning.inventory._common import (
    FloatOut,
    _check_nonnegative,
    _check_positive,
    _check_service_level,
    _newton_decreasing,
    _out,
)
from forecast.planning.inventory.loss import _std_loss, normal_loss


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
