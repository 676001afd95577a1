"""The ``customer_orders`` table: the order history, the open book and the pre-orders.

Three sources of order lines, numbered together by order date (:func:`_number_orders`):

- the history of the last `_HISTORY_DAYS` days (:func:`_order_history`): lines shipped (late
  when ordered during a stockout spell, after a handling delay or a late dropship supplier),
  cancelled after a delay with a known Weibull curve, or still open past their promise;
- the open book at the end date (:func:`_open_book`): recent orders, about 20% express, old
  backordered ones, and the scenario lines that oversell a few SKU-locations;
- open pre-order lines for the products launching after the end (:func:`_preorder_lines`).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from forecast.demo.common import _HORIZON, _N_CUSTOMERS
from forecast.demo.stock import _LeadTimePlan, _Simulation
from forecast.demo.suppliers import _reliability_arrays

# Customer order history: how lines are shipped, delayed and cancelled.
_HISTORY_DAYS = 180  # shipped and cancelled lines over this many days before the end
_HANDLING_DELAY_PROBABILITY = 0.15  # a warehouse / carrier delay past the promised date ...
_HANDLING_DELAY_MEAN_DAYS = 12.0  # ... of ceil(Exponential(mean)) days
# A waiting line d days past its promised date is cancelled by then with probability
# limit * (1 - exp(-(d / scale)^shape)): a share `limit` of customers would cancel at some
# point, after a Weibull time (shape > 1: their hazard grows with the delay); the rest wait.
_CANCEL_LIMIT = 0.6
_CANCEL_SHAPE = 1.5
_CANCEL_SCALE_DAYS = 15.0
_EARLY_CANCEL_PROBABILITY = 0.01  # change of mind before the promise, whatever the delay

# Pre-order products: launched after the end; orders taken before launch.
_PREORDER_SHARE = 0.15  # pre-orders per day = share * daily demand after launch

_LINE_COLUMNS = [
    "_day", "_src", "_order", "sku", "location", "customer", "quantity", "express",
    "promised_day", "unit_price", "status", "status_day",
]  # fmt: skip


def _open_book(
    rng: np.random.Generator,
    days: int,
    weight: np.ndarray,
    on_hand: np.ndarray,
    price: np.ndarray,
    scenario_lines: list[tuple[int, int, int]],
    dropship_lead_time: np.ndarray,
) -> pd.DataFrame:
    """Open order lines at the end date; `weight`, `on_hand` are (sku, location).

    Most open lines are from the last 4 days and not yet due; about 15% of orders are 6-20 days
    old, open only because they are backordered, so they lean to SKU-locations without stock.
    `scenario_lines` = (sku, location, quantity) lines added on purpose, one order each.
    Promises: express 1-2 days, standard 3-7; a dropship SKU (``dropship_lead_time`` >= 0, the
    supplier's quoted days) is promised that lead time + 1 (express) or + 3 days.
    Returns unnumbered lines (:data:`_LINE_COLUMNS`, indices for SKU, location and days).
    """
    n_skus, n_loc = weight.shape
    n_orders = max(15, round(0.75 * n_skus * n_loc))
    orders: list[tuple[int, int, int, bool, list[tuple[int, int]]]] = []
    for _ in range(n_orders):
        old = rng.random() < 0.15
        age = int(rng.integers(6, 21)) if old else int(rng.integers(0, 4))
        loc = int(rng.integers(n_loc))
        w = weight[:, loc] * (np.where(on_hand[:, loc] == 0, 20.0, 1.0) if old else 1.0)
        n_lines = min(1 + int(rng.binomial(3, 0.25)), int(np.count_nonzero(w)))
        picked = np.sort(rng.choice(n_skus, size=n_lines, replace=False, p=w / w.sum()))
        lines = [
            (int(s), int(rng.integers(6, 25)) if rng.random() < 0.05 else 1 + int(rng.poisson(1.2)))
            for s in picked
        ]
        orders.append((age, loc, int(rng.integers(_N_CUSTOMERS)), rng.random() < 0.2, lines))
    for s, loc, qty in scenario_lines:
        age = int(rng.integers(2, 11))
        orders.append((age, loc, int(rng.integers(_N_CUSTOMERS)), rng.random() < 0.3, [(s, qty)]))

    rows = []
    for k in sorted(range(len(orders)), key=lambda k: (-orders[k][0], k)):
        age, loc, customer, express, lines = orders[k]
        day = days - 1 - age
        promise = int(rng.integers(1, 3)) if express else int(rng.integers(3, 8))
        for s, qty in lines:
            own = int(dropship_lead_time[s])
            days_promised = own + (1 if express else 3) if own >= 0 else promise
            rows.append(
                (day, 1, k, s, loc, customer, qty, express, day + days_promised,
                 float(price[s, loc, day]), "open", -1)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=_LINE_COLUMNS)


def _scenario_lines(
    rng: np.random.Generator,
    terminal: np.ndarray,
    oversold: np.ndarray,
    final: np.ndarray,
    n_locations: int,
) -> list[tuple[int, int, int]]:
    """(sku, location, quantity) lines added to the open book on purpose, one order each: 2-8
    units on each series out of stock at the end (`terminal`), and four lines on each
    `oversold` series that together ask for 3-12 units more than its stock (`final`)."""
    scenario_lines = [
        (int(n) // n_locations, int(n) % n_locations, int(rng.integers(2, 9))) for n in terminal
    ]
    scenario_lines += [
        (
            int(n) // n_locations,
            int(n) % n_locations,
            max(1, (int(final[n]) + int(rng.integers(3, 13))) // 4),
        )
        for n in oversold
        for _ in range(4)
    ]
    return scenario_lines


def _open_orders(
    rng: np.random.Generator, sim: _Simulation, oversold: np.ndarray, price: np.ndarray
) -> pd.DataFrame:
    """The open book (:func:`_open_book`): lines weighted by sqrt(recent mean demand), the
    scenario lines, dropship SKUs promised after their supplier's lead time."""
    cal, catalogue, demand, roles, final = sim.cal, sim.catalogue, sim.demand, sim.roles, sim.final
    n_skus, n_locations = catalogue.n_skus, cal.n_locations
    final_sl = final.reshape(n_skus, n_locations)
    weight = np.sqrt(demand.recent_mean).reshape(n_skus, n_locations)
    scenario_lines = _scenario_lines(rng, roles.terminal, oversold, final, n_locations)
    quoted_by_sku = catalogue.products["_lt_true"].to_numpy(dtype=np.int64)
    return _open_book(
        rng,
        cal.days,
        weight,
        final_sl,
        price,
        scenario_lines,
        np.where(roles.is_dropship, quoted_by_sku, -1),
    )


#: Above this many (order x SKU) cells the order lines are drawn by successive sampling.
_GUMBEL_CELLS = 500_000_000


def _lines_gumbel(
    rng: np.random.Generator, mu: np.ndarray, loc: np.ndarray, o_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lines per order and up to 4 distinct SKUs per order (Gumbel top-k over every SKU), in
    blocks of orders (the Gumbel draws run block by block in the same order: the same bytes as
    one draw)."""
    n_skus, n_orders = mu.shape[0], o_day.size
    block = max(1, 20_000_000 // max(n_skus, 1))
    starts = range(0, n_orders, block)
    live = np.concatenate(
        [(mu[:, loc[a : a + block], o_day[a : a + block]] > 0).sum(axis=0) for a in starts]
        or [np.zeros(0, dtype=np.int64)]
    )
    n_lines = np.minimum(1 + rng.binomial(3, 0.25, size=n_orders), live)
    k = min(4, n_skus)
    top = np.zeros((n_orders, k), dtype=np.int64)
    for a in starts:
        w = np.sqrt(mu[:, loc[a : a + block], o_day[a : a + block]].T)  # (order, sku)
        with np.errstate(divide="ignore"):
            keys = np.log(w) + rng.gumbel(size=w.shape)
        part = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(keys, part, axis=1)
        rank = np.argsort(-best, axis=1, kind="stable")
        top[a : a + block] = np.take_along_axis(part, rank, axis=1)
    return n_lines, top


def _lines_successive(
    rng: np.random.Generator, mu: np.ndarray, loc: np.ndarray, o_day: np.ndarray, first: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same distribution as :func:`_lines_gumbel` (successive sampling without
    replacement: draws with replacement, duplicates skipped) without an (order x SKU) array:
    8 draws per order by inverse CDF of the order's (day, location) weights; an order whose 8
    draws hold fewer distinct SKUs than its lines gets fewer lines (rare)."""
    n_skus, n_loc = mu.shape[:2]
    n_orders = o_day.size
    group = (o_day - first) * n_loc + loc
    n_groups = (int(o_day.max()) - first + 1) * n_loc if n_orders else 0
    days = first + np.arange(n_groups) // n_loc
    w = np.sqrt(mu[:, np.arange(n_groups) % n_loc, days].T)  # (group, sku)
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1:]
    cum = np.divide(cum, total, out=np.zeros_like(cum), where=total > 0)
    live = (w > 0).sum(axis=1)[group]
    n_lines = np.minimum(1 + rng.binomial(3, 0.25, size=n_orders), live)
    draws = rng.random((n_orders, 8))
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    pick = np.searchsorted(flat, draws + group[:, None], side="right")
    pick = np.clip(pick - group[:, None] * n_skus, 0, n_skus - 1)
    fresh = np.ones(pick.shape, dtype=bool)
    for j in range(1, pick.shape[1]):
        fresh[:, j] = ~(pick[:, :j] == pick[:, j : j + 1]).any(axis=1)
    rank = np.cumsum(fresh, axis=1) - 1
    k = min(4, n_skus)
    top = np.zeros((n_orders, k), dtype=np.int64)
    rows, cols = np.nonzero(fresh & (rank < k))
    top[rows, rank[rows, cols]] = pick[rows, cols]
    n_lines = np.minimum(n_lines, fresh.sum(axis=1))
    return n_lines, top


def _order_history(
    rng: np.random.Generator,
    days: int,
    mu: np.ndarray,
    price: np.ndarray,
    on_hand: np.ndarray,
    dropship: np.ndarray,
    plan: _LeadTimePlan,
) -> pd.DataFrame:
    """Customer order lines of the last `_HISTORY_DAYS` days with their outcome.

    Orders arrive ~ Poisson(max(4, 0.15 x series)) a day, at a random location, 1-4 lines
    picked with probability ~ sqrt(mean demand that day); promises as in the open book.
    A stocked line ships 0-2 days after the order, or, if the SKU-location is out of stock
    (a stockout spell: on_hand 0), on the first day it has stock again; with probability
    `_HANDLING_DELAY_PROBABILITY` a warehouse / carrier delay pushes it to
    ``promised + ceil(Exponential(_HANDLING_DELAY_MEAN_DAYS))``. A dropship line ships when the
    supplier does: order day + its true lead time (:class:`_Reliability`).

    Cancellation (a mixture cure model, Boag 1949): with probability `_CANCEL_LIMIT` a line's
    customer would cancel C ~ scale * Weibull(shape) days past the promise, else never; a line
    late by D > C days is cancelled on ``promised + ceil(C)``, so
    P(cancelled by t days late) = limit * (1 - exp(-(t / scale)^shape)). Apart from that, with
    probability `_EARLY_CANCEL_PROBABILITY` a customer changes their mind on a day between the
    order and the promise, before the line ships (not caused by a delay). Lines resolved by
    the end are shipped / cancelled with that date; lines still waiting past their promise are
    open (backordered); lines not yet due are left to the open book. `mu` and `price` are
    (sku, location, grid day), `on_hand` (series, day).
    """
    n_skus, n_loc = mu.shape[:2]
    first = days - _HISTORY_DAYS
    per_day = rng.poisson(max(4.0, 0.15 * n_skus * n_loc), size=_HISTORY_DAYS)
    o_day = np.repeat(np.arange(first, days), per_day)
    n_orders = o_day.size
    loc = rng.integers(n_loc, size=n_orders)
    customer = rng.integers(_N_CUSTOMERS, size=n_orders)
    express = rng.random(n_orders) < 0.2
    promise = np.where(express, rng.integers(1, 3, n_orders), rng.integers(3, 8, n_orders))

    # 1-4 distinct SKUs per order, weighted by sqrt(mean demand), without replacement.
    if n_orders * n_skus <= _GUMBEL_CELLS:
        n_lines, top = _lines_gumbel(rng, mu, loc, o_day)
    else:  # a large catalogue (the 10,000-SKU pipeline bench)
        n_lines, top = _lines_successive(rng, mu, loc, o_day, first)
    order, slot = np.nonzero(np.arange(top.shape[1])[None, :] < n_lines[:, None])
    sku = top[order, slot]
    line = pd.DataFrame({"order": order, "sku": sku}).sort_values(["order", "sku"], kind="stable")
    order, sku = line["order"].to_numpy(), line["sku"].to_numpy()
    n = order.size
    day, lc = o_day[order], loc[order]
    series = sku * n_loc + lc
    quantity = np.where(rng.random(n) < 0.05, rng.integers(6, 25, n), 1 + rng.poisson(1.2, n))

    # stocked lines: ship when picked and in stock, sometimes held up past the promise
    stocked_day = np.where(on_hand > 0, np.arange(days)[None, :], days + _HORIZON)
    next_stocked = np.minimum.accumulate(stocked_day[:, ::-1], axis=1)[:, ::-1]
    promised = day + promise[order]
    ship = np.maximum(
        day + rng.integers(0, np.where(express[order], 2, 3)), next_stocked[series, day]
    )
    held_up = rng.random(n) < _HANDLING_DELAY_PROBABILITY
    extra = np.ceil(rng.exponential(_HANDLING_DELAY_MEAN_DAYS, n)).astype(np.int64)
    ship = np.where(held_up, np.maximum(ship, promised + extra), ship)
    # dropship lines: the supplier ships after its true lead time
    quoted, supplier = plan.quoted[day, series], plan.supplier[day, series]
    bias, sd, p_late, late_mean = _reliability_arrays(supplier)
    late = rng.random(n) < p_late
    actual = np.rint(
        quoted + bias + sd * rng.normal(size=n) + late * rng.exponential(size=n) * late_mean
    )
    is_dropship = dropship[sku]
    promised = np.where(is_dropship, day + quoted + np.where(express[order], 1, 3), promised)
    ship = np.where(is_dropship, day + np.clip(actual, 1, _HORIZON - 1).astype(np.int64), ship)

    would = rng.random(n) < _CANCEL_LIMIT
    wait = np.where(would, _CANCEL_SCALE_DAYS * rng.weibull(_CANCEL_SHAPE, n), np.inf)
    delay = ship - promised
    cancelled = (delay > 0) & (wait < delay)
    cancel_day = promised + np.maximum(np.ceil(np.where(cancelled, wait, 1.0)), 1).astype(np.int64)
    status_day = np.where(cancelled, cancel_day, ship)
    # changes of mind: a day from the order to the promise, before the line ships
    before = np.minimum(ship, promised + 1) - day  # days on which it can still happen
    early = (rng.random(n) < _EARLY_CANCEL_PROBABILITY) & (before > 0)
    early_day = day + (rng.random(n) * np.maximum(before, 1)).astype(np.int64)
    cancelled |= early
    status_day = np.where(early, early_day, status_day)
    resolved = status_day <= days - 1
    waiting = ~resolved & (promised < days - 1)
    status = np.where(resolved, np.where(cancelled, "cancelled", "shipped"), "open")
    keep = resolved | waiting
    out = pd.DataFrame(
        {
            "_day": day,
            "_src": 0,
            "_order": order,
            "sku": sku,
            "location": lc,
            "customer": customer[order],
            "quantity": quantity,
            "express": express[order],
            "promised_day": promised,
            "unit_price": price[sku, lc, day],
            "status": status,
            "status_day": np.where(resolved, status_day, -1),
        }
    )
    return out[keep].reset_index(drop=True)


def _preorder_lines(
    rng: np.random.Generator, days: int, preorders: list[dict], n_loc: int
) -> pd.DataFrame:
    """Open pre-order lines: from `window_start` to the end, ~ Poisson(`_PREORDER_SHARE` x the
    daily demand after launch) orders a day per location, one line of 1 + Poisson(0.3) units,
    promised on the launch date or up to 3 days after. SKU indices come from `preorders`."""
    rows = []
    k = 0
    for p in preorders:
        for day in range(p["window_start"], days):
            counts = rng.poisson(_PREORDER_SHARE * p["level"])  # per location
            for loc in range(n_loc):
                for _ in range(int(counts[loc])):
                    express = bool(rng.random() < 0.2)
                    rows.append(
                        (day, 2, k, p["sku"], loc, int(rng.integers(_N_CUSTOMERS)),
                         1 + int(rng.poisson(0.3)), express,
                         p["launch_day"] + int(rng.integers(0, 4)), p["price"], "open", -1)
                    )  # fmt: skip
                    k += 1
    return pd.DataFrame(rows, columns=_LINE_COLUMNS)


def _number_orders(
    lines: list[pd.DataFrame],
    start: date,
    skus: np.ndarray,
    locations: list[str],
) -> pd.DataFrame:
    """One ``customer_orders`` table: orders numbered by order date (SO000001, ...), dates and
    names filled in."""
    df = pd.concat(lines, ignore_index=True)
    df = df.sort_values(["_day", "_src", "_order", "sku"], kind="stable").reset_index(drop=True)
    number = pd.factorize(df["_src"].to_numpy() * 10**9 + df["_order"].to_numpy())[0]
    dates = np.array(
        [
            (start + timedelta(days=i)).isoformat()
            for i in range(
                int(max(df["_day"].max(), df["promised_day"].max(), df["status_day"].max())) + 1
            )
        ]
    )
    return pd.DataFrame(
        {
            "order_id": [f"SO{i + 1:06d}" for i in number],
            "customer_id": [f"C{c + 1:05d}" for c in df["customer"]],
            "sku": skus[df["sku"].to_numpy()],
            "location": np.array(locations)[df["location"].to_numpy()],
            "quantity": df["quantity"].to_numpy(dtype=np.int64),
            "order_date": dates[df["_day"].to_numpy()],
            "shipping": np.where(df["express"].to_numpy(dtype=bool), "express", "standard"),
            "promised_date": dates[df["promised_day"].to_numpy()],
            "unit_price": df["unit_price"].to_numpy(dtype=float),
            "status": df["status"].to_numpy(),
            "status_date": np.where(
                df["status_day"] >= 0, dates[df["status_day"].clip(lower=0)], ""
            ),
        }
    )
