"""Stockout before the next receipt: the alert that says a SKU will run out before anything can
arrive, when, for how long, by how much, and what to do.

The ``will_cross_min`` alert says the position reaches the reorder point; it does not say the
shelf goes empty. This one projects the stock on hand a buyer can ship (usable on hand less the
open customer orders) with the forecast mean, day by day:

    net(t) = on_hand - committed - D(1..t)

and compares the day it reaches zero with the next receipt R: the first open purchase order,
or an order placed today, arriving one lead time L later, whichever is sooner (an order cannot
come faster than L). Receipts are not added before R because there are none. When net(t) <= 0
for some day t < R, the alert ``stockout_before_receipt`` (high) gives

- the date it runs out: as_of + t (today when the open orders already exceed the stock);
- the days short: R - t, days with nothing to ship;
- the units short: D(1..R) - (on_hand - committed), the demand (and the open orders beyond the
  stock) that cannot be served before R;
- the open customer lines affected: the waiting lines (oldest first) that the stock on hand does
  not cover;
- what to do: expedite the purchase order (or order now and ask for the fastest delivery),
  transfer stock from another location, and tell the waiting customers their new date.

This is the deterministic projection of the plan (the forecast mean); the simulation gives its
probability (``risk.stockout_before_receipt_probability``, :mod:`forecast.backorders.risk`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast

KEYS = ["sku", "location"]
ALERT_KIND = "stockout_before_receipt"


def next_receipt_days(
    keys: pd.DataFrame, purchase_orders: pd.DataFrame, lead_time_days: np.ndarray, as_of: date
) -> tuple[np.ndarray, np.ndarray]:
    """Per series: days from ``as_of`` to the next receipt (the first open purchase order, else
    or if later an order placed today after ``lead_time_days``; overdue orders count as
    arriving tomorrow) and whether it is a purchase order.

    >>> keys = pd.DataFrame({"sku": ["A", "B"], "location": "x"})
    >>> pos = pd.DataFrame({"sku": ["A"], "location": "x", "expected_date": ["2026-01-04"]})
    >>> days, is_po = next_receipt_days(keys, pos, np.array([10.0, 10.0]), date(2026, 1, 1))
    >>> days.tolist(), is_po.tolist()
    ([3.0, 10.0], [True, False])
    """
    lead = np.maximum(np.ceil(np.nan_to_num(np.asarray(lead_time_days, dtype=float), nan=0.0)), 1)
    first_po = np.full(len(keys), np.inf)
    if len(purchase_orders):
        due = (pd.to_datetime(purchase_orders["expected_date"]) - pd.Timestamp(as_of)).dt.days
        po = purchase_orders[KEYS].astype(str).assign(days=due.clip(lower=1).to_numpy(float))
        earliest = po.groupby(KEYS)["days"].min()
        index = pd.MultiIndex.from_frame(keys[KEYS].astype(str))
        first_po = earliest.reindex(index).to_numpy(dtype=float)
        first_po = np.where(np.isnan(first_po), np.inf, first_po)
    is_po = first_po <= lead
    return np.where(is_po, first_po, lead), is_po


def affected_lines(customer_orders: pd.DataFrame, on_hand: pd.Series) -> pd.DataFrame:
    """Per series (sku, location): the open customer lines the stock on hand does not cover,
    allocated oldest first (``lines``, ``units``: their quantity beyond the stock).

    >>> orders = pd.DataFrame({"sku": "A", "location": "x", "quantity": [4.0, 5.0, 3.0],
    ...                        "order_date": ["2026-01-01", "2026-01-02", "2026-01-03"]})
    >>> stock = pd.Series([6.0], index=pd.MultiIndex.from_tuples([("A", "x")], names=KEYS))
    >>> affected_lines(orders, stock).to_dict("records")
    [{'sku': 'A', 'location': 'x', 'lines': 2, 'units': 6.0}]
    """
    columns = [*KEYS, "lines", "units"]
    if customer_orders.empty:
        return pd.DataFrame(columns=columns)
    lines = customer_orders.assign(**{k: customer_orders[k].astype(str) for k in KEYS})
    lines = lines.sort_values([*KEYS, "order_date"], kind="stable")
    cumulative = lines.groupby(KEYS)["quantity"].cumsum()
    stock = on_hand.reindex(pd.MultiIndex.from_frame(lines[KEYS])).fillna(0.0).to_numpy()
    uncovered = np.clip(cumulative.to_numpy() - stock, 0.0, lines["quantity"].to_numpy())
    lines = lines.assign(uncovered=uncovered)
    hit = lines[lines["uncovered"] > 0]
    return hit.groupby(KEYS, as_index=False).agg(
        lines=("uncovered", "size"), units=("uncovered", "sum"))[columns]


def stockout_before_receipt_alerts(
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    forecast: DemandForecast,
    purchase_orders: pd.DataFrame,
    customer_orders: pd.DataFrame,
    as_of: date,
    period_days: float = 1.0,
) -> pd.DataFrame:
    """``stockout_before_receipt`` alerts (columns of the ``alerts`` table); see the module
    docstring for the projection and the figures in each message."""
    columns = ["sku", "location", "kind", "severity", "date", "message"]
    plan = policies[[*KEYS, "lead_time_days", "mean_daily_demand"]].merge(
        positions[[*KEYS, "on_hand", "committed"]], on=KEYS, how="inner")
    plan = plan[np.isfinite(plan["on_hand"].to_numpy(dtype=float))
                & (plan["mean_daily_demand"].to_numpy(dtype=float) > 0)].reset_index(drop=True)
    if plan.empty:
        return pd.DataFrame(columns=columns)
    index = pd.MultiIndex.from_frame(forecast.keys[KEYS].astype(str))
    rows = index.get_indexer(pd.MultiIndex.from_frame(plan[KEYS].astype(str)))
    plan, rows = plan[rows >= 0].reset_index(drop=True), rows[rows >= 0]
    receipt_days, is_po = next_receipt_days(plan, purchase_orders,
                                            plan["lead_time_days"].to_numpy(float), as_of)
    periods = np.ceil(receipt_days / period_days).astype(int)
    horizon = max(int(periods.max(initial=1)), 1)
    demand = np.cumsum(forecast._extend(horizon)[rows], axis=1)  # D(1..t), t = 1..horizon
    net0 = plan["on_hand"].to_numpy(float) - plan["committed"].to_numpy(float)
    net = net0[:, None] - demand
    before = np.arange(1, horizon + 1)[None, :] < periods[:, None]
    empty = (net <= 0) & before
    out_period = np.where(net0 <= 0, 0, np.where(empty.any(axis=1), empty.argmax(axis=1) + 1, -1))
    hit = out_period >= 0
    if not hit.any():
        return pd.DataFrame(columns=columns)
    plan = plan[hit].reset_index(drop=True)
    out_days = out_period[hit] * period_days
    days_to_receipt = receipt_days[hit]
    at_receipt = demand[hit, np.minimum(periods[hit], horizon) - 1]
    short = np.maximum(at_receipt - net0[hit], 0.0)
    stock = plan.set_index(KEYS)["on_hand"]
    lines = plan[KEYS].astype(str).merge(affected_lines(customer_orders, stock), on=KEYS,
                                         how="left")
    start = pd.Timestamp(as_of)
    runs_out = start + pd.to_timedelta(out_days, unit="D")
    receipt = start + pd.to_timedelta(days_to_receipt, unit="D")
    messages = [
        _message(sku, location, out if days > 0 else None, arrive, po, gap, units, n_lines,
                 n_units)
        for sku, location, out, days, arrive, po, gap, units, n_lines, n_units in zip(
            plan["sku"], plan["location"], runs_out, out_days, receipt, is_po[hit],
            days_to_receipt - out_days, short, lines["lines"].fillna(0).astype(int),
            lines["units"].fillna(0.0), strict=True)
    ]
    return pd.DataFrame({
        "sku": plan["sku"].to_numpy(), "location": plan["location"].to_numpy(),
        "kind": ALERT_KIND, "severity": "high", "date": runs_out.date, "message": messages,
    })[columns]


def _message(
    sku: str, location: str, runs_out: pd.Timestamp | None, receipt: pd.Timestamp, is_po: bool,
    days_short: float, units_short: float, lines: int, line_units: float,
) -> str:
    when = "now (open orders exceed the stock)" if runs_out is None else \
        f"around {runs_out:%Y-%m-%d}"
    supply = (f"the next open purchase order is due {receipt:%Y-%m-%d}" if is_po
              else f"no purchase order is open; an order placed today arrives about "
                   f"{receipt:%Y-%m-%d}")
    waiting = (f"; {lines} open customer line(s) ({line_units:,.0f} units) wait beyond the stock "
               "on hand" if lines else "")
    act = ("expedite that order" if is_po else "order today and ask for the fastest delivery")
    return (f"{sku}@{location}: runs out {when}, {days_short:,.0f} day(s) before supply arrives "
            f"({supply}): about {units_short:,.0f} units short{waiting}. To do: {act}, transfer "
            "stock from another location, and tell the waiting customers their new date")
