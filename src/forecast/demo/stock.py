"""The stock simulation behind ``sales``, ``inventory``, ``receipts`` and ``purchase_orders``.

A buyer orders when the inventory position falls below a reorder point; deliveries arrive
after the supplier's true lead time (:class:`forecast.demo.suppliers._Reliability`); forced
stockout spells hold deliveries back. So ``inventory`` and the open ``purchase_orders`` are
consistent with the last day of ``sales``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from forecast.demo.common import _HORIZON, _Calendar
from forecast.demo.demand import _Demand
from forecast.demo.products import _Catalogue
from forecast.demo.roles import _Roles
from forecast.demo.suppliers import (
    _NEW_SUPPLIER,
    _SUPPLIER_INDEX,
    _SUPPLIERS,
    _reliability_arrays,
)


@dataclass(frozen=True)
class _LeadTimePlan:
    """Per (day, series): the quoted lead time of an order placed that day, its supplier
    (index into `_SUPPLIERS`), and the truth around the quote: offset = bias + late tail
    (B * E, drawn in advance) and the normal spread sd."""

    quoted: np.ndarray
    supplier: np.ndarray
    offset: np.ndarray
    sd: np.ndarray


@dataclass(frozen=True)
class _PlacedOrders:
    day: np.ndarray
    series: np.ndarray
    quantity: np.ndarray
    lead_time: np.ndarray


class _StockRun(NamedTuple):
    sales: np.ndarray
    on_hand: np.ndarray
    arrivals: np.ndarray
    held: np.ndarray
    orders: _PlacedOrders


def _lead_time_plan(
    rng: np.random.Generator,
    quoted: np.ndarray,
    supplier: np.ndarray,
    days: int,
    switch_series: np.ndarray,
    switch_day: int,
) -> _LeadTimePlan:
    """Quoted lead time and supplier of an order placed on each (day, series).

    `quoted` and `supplier` are per series; from `switch_day` on, `switch_series` order from
    the new supplier at its quoted lead time. The late tail B * E is drawn here.
    """
    n_series = quoted.size
    quoted_ds = np.broadcast_to(quoted, (days, n_series)).copy()
    supplier_ds = np.broadcast_to(supplier, (days, n_series)).copy()
    new = _SUPPLIER_INDEX[_NEW_SUPPLIER]
    quoted_ds[switch_day:, switch_series] = _SUPPLIERS[new][2]
    supplier_ds[switch_day:, switch_series] = new
    bias, sd, p_late, late_mean = _reliability_arrays(supplier_ds)
    late = rng.random((days, n_series)) < p_late
    tail = rng.exponential(size=(days, n_series)) * late_mean
    return _LeadTimePlan(quoted_ds, supplier_ds, bias + np.where(late, tail, 0.0), sd)


def _simulate_stock(
    rng: np.random.Generator,
    demand: np.ndarray,
    mu: np.ndarray,
    dispersion: np.ndarray,
    launch_series: np.ndarray,
    spells: list[tuple[int, int, int]],
    lead_time: np.ndarray,
    lead_time_sd: np.ndarray,
    pack: np.ndarray,
    moq: np.ndarray,
    lead_times: _LeadTimePlan,
) -> _StockRun:
    """Replenishment sawtooth with forced stockout spells, vectorised across series.

    A buyer who knows the demand mean orders when the inventory position falls to
    ``1.3 * D_P + 3 * sd_P + 1``, where D_P is the mean demand over the protection interval
    (lead time + 2.5 lead-time sd + 1 day) and sd_P its negative-binomial sd, a quantity
    covering 7-21 days, rounded up to packs and at least the MOQ. During a spell deliveries are
    held back and released the day after it (with an emergency delivery if nothing was due);
    on its first day the shelf holds less than that day's demand. Outside spells a same-day
    transfer from the distribution centre tops the shelf up whenever it could not cover the
    day (a long lead-time draw), so the spells are the only censored days.

    The buyer plans with the stated ``lead_time`` / ``lead_time_sd`` (master data); an order
    placed on day d really takes ``rint(quoted + offset + sd * Z)`` days (`lead_times`, the
    supplier's :class:`_Reliability`), at least 1.

    Inputs are (series, day) for demand and (series, grid day) for mu. Returns sales and
    end-of-day on_hand (series, day), the arrivals (series, grid day), goods held back at
    the end (series,) and every order placed (day, series, quantity, lead time).
    """
    n_series, days = demand.shape
    n_grid = mu.shape[1]
    series = np.arange(n_series)
    cycle = rng.integers(7, 22, size=n_series)
    cs = np.concatenate([np.zeros((n_series, 1)), np.cumsum(mu, axis=1)], axis=1)
    t = np.arange(days)[None, :]
    protection = (lead_time + np.ceil(2.5 * lead_time_sd)).astype(np.int64) + 1
    cover_end = np.minimum(t + 1 + protection[:, None], n_grid)
    cover_demand = cs[series[:, None], cover_end] - cs[:, 1 : days + 1]
    cycle_end = np.minimum(cover_end + cycle[:, None], n_grid)
    cycle_demand = cs[series[:, None], cycle_end] - cs[series[:, None], cover_end]
    cover_sd = np.sqrt(
        cover_demand * (1 + cover_demand / (dispersion[:, None] * protection[:, None]))
    )
    reorder_point = (1.3 * cover_demand + 3.0 * cover_sd + 1.0).T  # (day, series) for the loop
    packs = np.ceil(np.maximum(cycle_demand, 1.0) / pack[:, None])
    order_qty = np.maximum(packs * pack[:, None], moq[:, None]).astype(np.int64).T
    lt_draw = np.rint(
        lead_times.quoted + lead_times.offset + lead_times.sd * rng.normal(size=(days, n_series))
    )
    lt_draw = np.clip(lt_draw, 1, _HORIZON - 1).astype(np.int64)

    blocked = np.zeros((days, n_series), dtype=bool)
    first = np.zeros((days, n_series), dtype=bool)
    release = np.zeros((days, n_series), dtype=bool)
    for n, a, b in spells:
        blocked[a : b + 1, n] = True
        first[a, n] = True
        if b + 1 < days:
            release[b + 1, n] = True
    demand_t = demand.T
    first_cap = np.floor(demand_t * rng.uniform(0.0, 0.8, size=(days, n_series)))

    arrivals = np.zeros((n_grid, n_series), dtype=np.int64)
    launch = launch_series.astype(np.int64)
    initial = order_qty[launch, series] + np.ceil(reorder_point[launch, series])
    arrivals[launch, series] = initial.astype(np.int64)
    on_order = arrivals.sum(axis=0)
    on_hand = np.zeros(n_series, dtype=np.int64)
    held = np.zeros(n_series, dtype=np.int64)
    sales = np.zeros((days, n_series), dtype=np.int64)
    stock = np.zeros((days, n_series), dtype=np.int64)
    placed: list[tuple[np.ndarray, np.ndarray]] = []
    for d in range(days):
        arriving = arrivals[d]
        on_order -= arriving
        held += np.where(blocked[d], arriving, 0)
        received = np.where(blocked[d], 0, arriving) + np.where(release[d], held, 0)
        held = np.where(release[d], 0, held)
        available = on_hand + received
        available = np.where(first[d], np.minimum(available, first_cap[d]), available)
        emergency = release[d] & (available <= 0)
        available = np.where(emergency, order_qty[d], available)
        transfer = ~blocked[d] & (available <= demand_t[d]) & (d >= launch)
        topped_up = available + np.maximum(order_qty[d], demand_t[d] - available + 1)
        available = np.where(transfer, topped_up, available)
        sold = np.minimum(demand_t[d], available)
        on_hand = available - sold
        sales[d], stock[d] = sold, on_hand
        position = on_hand + on_order + held
        place = np.flatnonzero((position <= reorder_point[d]) & (d > launch))
        if place.size:
            qty = order_qty[d, place]
            arrivals[d + lt_draw[d, place], place] += qty
            on_order[place] += qty
            placed.append((np.full(place.size, d), place))
    order_day = np.concatenate([p[0] for p in placed]) if placed else np.zeros(0, np.int64)
    order_series = np.concatenate([p[1] for p in placed]) if placed else np.zeros(0, np.int64)
    orders = _PlacedOrders(
        day=order_day,
        series=order_series,
        quantity=order_qty[order_day, order_series],
        lead_time=lt_draw[order_day, order_series],
    )
    return _StockRun(sales.T, stock.T, arrivals.T, held, orders)


@dataclass(frozen=True)
class _Simulation:
    """What every table is read from: the grid, the catalogue, the demand truth, which SKUs
    play which part, the lead time of every possible order and the stock run."""

    cal: _Calendar
    catalogue: _Catalogue
    demand: _Demand
    roles: _Roles
    plan: _LeadTimePlan
    run: _StockRun

    @property
    def final(self) -> np.ndarray:
        """On hand at the end of the history, per series."""
        return self.run.on_hand[:, -1]


def _simulate(
    rng: np.random.Generator,
    rng_x: np.random.Generator,
    cal: _Calendar,
    catalogue: _Catalogue,
    roles: _Roles,
    demand: _Demand,
) -> _Simulation:
    """The lead times of every possible order (from `rng_x`) and the stock run (from `rng`),
    with each series' master data: true lead time and sd, pack size, MOQ, supplier."""
    products = catalogue.products
    sku_rep = np.repeat(np.arange(catalogue.n_skus), cal.n_locations)
    lead_time = products["_lt_true"].to_numpy(dtype=np.int64)[sku_rep]
    lead_time_sd = products["_lt_sd_true"].to_numpy(dtype=float)[sku_rep]
    pack = products["pack_size"].to_numpy()[sku_rep]
    moq = products["moq"].to_numpy()[sku_rep]
    supplier_idx = products["supplier"].map(_SUPPLIER_INDEX).to_numpy()[sku_rep]
    plan = _lead_time_plan(
        rng_x, lead_time, supplier_idx, cal.days, roles.switch_series, roles.switch_day
    )
    run = _simulate_stock(
        rng,
        demand.demand,
        demand.mu_series,
        demand.dispersion,
        roles.launch_series,
        roles.spells,
        lead_time,
        lead_time_sd,
        pack,
        moq,
        plan,
    )
    return _Simulation(cal, catalogue, demand, roles, plan, run)
