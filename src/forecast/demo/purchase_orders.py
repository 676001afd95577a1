"""The ``receipts`` and ``purchase_orders`` tables: the simulated orders, delivered or due.

Every simulated purchase order delivered by the end is a receipt (expected = order date +
quoted lead time, received = order date + the true lead time, or the day after a stockout
spell that held it back); deliveries still due after the end are the open purchase orders,
numbered after the receipts.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from forecast.demo.common import _HORIZON
from forecast.demo.stock import _LeadTimePlan, _PlacedOrders, _Simulation
from forecast.demo.suppliers import _NEW_SUPPLIER, _SUPPLIERS


def _purchase_orders(
    rng: np.random.Generator,
    arrivals: np.ndarray,
    held: np.ndarray,
    zero_with_po: np.ndarray,
    zero_no_po: np.ndarray,
    moq: np.ndarray,
    end: date,
    series_sku: np.ndarray,
    locations: list[str],
    series_supplier: np.ndarray,
    first_number: int,
    no_stock: np.ndarray,
) -> pd.DataFrame:
    """Open POs: the simulated deliveries still due after the end, for ~30% of series.

    Grid day ``days + d`` arrives ``d + 1`` days after the end; goods held back by a spell
    running to the end are due the next day. Expected dates are kept within 1-30 days. The
    "stock 0, no PO" scenario series lose theirs; the "stock 0, PO coming" ones always have one;
    `no_stock` series (dropship) have none. Ids continue after the received POs (`first_number`).
    """
    days = arrivals.shape[1] - _HORIZON
    n_series = arrivals.shape[0]
    due_series, due_day = np.nonzero(arrivals[:, days:])
    open_po = [(int(n), int(d), int(arrivals[n, days + d])) for n, d in zip(due_series, due_day)]
    open_po += [(int(n), 0, int(held[n])) for n in np.flatnonzero(held)]
    keep = set(zero_with_po.tolist())
    rest = sorted(
        {n for n, _, _ in open_po} - keep - set(zero_no_po.tolist()) - set(no_stock.tolist())
    )
    target = round(0.3 * n_series)
    if len(keep) + len(rest) > target:
        rest = rng.choice(rest, size=max(0, target - len(keep)), replace=False).tolist()
    keep |= set(rest)
    rows = [(n, min(d, 29), q) for n, d, q in open_po if n in keep]
    for n in zero_with_po:
        if not any(row[0] == n for row in rows):
            rows.append((int(n), int(rng.integers(0, 30)), int(moq[n])))
    rows.sort(key=lambda row: (row[1], row[0]))
    return pd.DataFrame(
        {
            "po_id": [f"PO{first_number + i:06d}" for i in range(len(rows))],
            "sku": [series_sku[n] for n, _, _ in rows],
            "location": [locations[n % len(locations)] for n, _, _ in rows],
            "supplier": [series_supplier[n] for n, _, _ in rows],
            "quantity": [q for _, _, q in rows],
            "expected_date": [(end + timedelta(days=d + 1)).isoformat() for _, d, _ in rows],
        }
    )


def _open_purchase_orders(
    rng: np.random.Generator, sim: _Simulation, first_number: int
) -> pd.DataFrame:
    """The ``purchase_orders`` table (:func:`_purchase_orders`); the switched SKU orders from
    its new supplier."""
    cal, catalogue, roles, run = sim.cal, sim.catalogue, sim.roles, sim.run
    products = catalogue.products
    sku_rep = np.repeat(np.arange(catalogue.n_skus), cal.n_locations)
    series_supplier = products["supplier"].to_numpy()[sku_rep].copy()
    series_supplier[roles.switch_series] = _NEW_SUPPLIER
    return _purchase_orders(
        rng,
        run.arrivals,
        run.held,
        roles.zero_with_po,
        roles.zero_no_po,
        products["moq"].to_numpy()[sku_rep],
        cal.end,
        catalogue.skus[sku_rep],
        cal.locations,
        series_supplier,
        first_number,
        roles.dropship_series,
    )


def _receipts(
    orders: _PlacedOrders,
    plan: _LeadTimePlan,
    spells: list[tuple[int, int, int]],
    days: int,
    no_stock: np.ndarray,
) -> pd.DataFrame:
    """Received purchase orders: every simulated order delivered by the end.

    expected = order day + quoted lead time; received = order day + the true lead time, or,
    when that day falls in a stockout spell (deliveries held back), the day after the spell.
    Orders still due (or still held) at the end are open POs, not receipts; `no_stock`
    (dropship) series have none. Columns hold series and day indices, sorted by order day.
    """
    n_series = plan.quoted.shape[1]
    receive_day = np.tile(np.arange(days + _HORIZON), (n_series, 1))
    for n, a, b in spells:
        receive_day[n, a : b + 1] = b + 1
    arrival = orders.day + orders.lead_time
    received = receive_day[orders.series, arrival]
    keep = (received < days) & ~np.isin(orders.series, no_stock)
    out = pd.DataFrame(
        {
            "series": orders.series[keep],
            "order_day": orders.day[keep],
            "expected_day": orders.day[keep] + plan.quoted[orders.day[keep], orders.series[keep]],
            "received_day": received[keep],
            "supplier": plan.supplier[orders.day[keep], orders.series[keep]],
            "quantity": orders.quantity[keep],
        }
    )
    return out.sort_values(["order_day", "series"], kind="stable").reset_index(drop=True)


def _receipts_table(sim: _Simulation) -> pd.DataFrame:
    """The ``receipts`` table (:func:`_receipts`), numbered PO000001, ... by order date."""
    cal, skus, roles = sim.cal, sim.catalogue.skus, sim.roles
    n_locations, locations = cal.n_locations, cal.locations
    received = _receipts(sim.run.orders, sim.plan, roles.spells, cal.days, roles.dropship_series)
    supplier_names = np.array([row[0] for row in _SUPPLIERS])
    return pd.DataFrame(
        {
            "po_id": [f"PO{i + 1:06d}" for i in range(len(received))],
            "sku": skus[received["series"].to_numpy() // n_locations],
            "location": np.array(locations)[received["series"].to_numpy() % n_locations],
            "supplier": supplier_names[received["supplier"].to_numpy()],
            "order_date": cal.date_str[received["order_day"].to_numpy()],
            "expected_date": [cal.iso(d) for d in received["expected_day"]],
            "received_date": cal.date_str[received["received_day"].to_numpy()],
            "quantity": received["quantity"].to_numpy(),
        }
    )
