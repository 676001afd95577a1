"""Order quantities: the economic order quantity (with and without planned backorders) and
the rounding of an order to the minimum order quantity and whole packs.

Costs per year for EOQ. Sources: S&S Ch. 3; SPT, EOQ chapter (including the practical
adjustments to the lot size); Axsater 4.1 and 4.4.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from forecast.planning.inventory._common import (
    FloatOut,
    _check_nonnegative,
    _check_positive,
    _costs,
    _out,
)


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
