"""Who gets scarce stock: allocation of on-hand and incoming supply to waiting order lines.

Supply for an SKU and location is its usable stock now, then each projected receipt (open
purchase orders on their expected dates, then recommended orders on their expected arrival).
Lines are served in the policy's order; a line's ETA is the date cumulative supply first covers
the cumulative quantity of the lines ahead of it plus its own (waiting orders are served before
new demand). A line that no planned supply covers is marked ``no_supply_planned``.

Policies:
* ``fifo`` - first come, first served by order date;
* ``priority`` - by a score from segment, lifetime value, express shipping, order age and line
  value (weights in :class:`PriorityWeights`), ties broken by order date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

Policy = Literal["fifo", "priority"]


@dataclass(frozen=True)
class PriorityWeights:
    segment: dict[str, float] = field(
        default_factory=lambda: {"vip": 3.0, "loyal": 2.0, "regular": 1.0, "new": 1.0}
    )
    express: float = 2.0
    per_week_waiting: float = 0.5
    per_log10_lifetime_value: float = 0.5
    per_log10_line_value: float = 0.25


def priority_score(lines: pd.DataFrame, as_of: date, weights: PriorityWeights) -> pd.Series:
    """Higher is served first."""
    seg = lines["segment"].map(weights.segment).fillna(1.0)
    express = (lines["shipping"] == "express").astype(float) * weights.express
    age = (pd.Timestamp(as_of) - pd.to_datetime(lines["order_date"])).dt.days.clip(lower=0) / 7
    ltv = np.log10(1 + lines["lifetime_value"].fillna(0).clip(lower=0))
    value = np.log10(1 + (lines["quantity"] * lines["unit_price"].fillna(0)).clip(lower=0))
    return (
        seg + express + weights.per_week_waiting * age
        + weights.per_log10_lifetime_value * ltv + weights.per_log10_line_value * value
    )


def allocate(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    stock: pd.DataFrame,
    receipts: pd.DataFrame,
    as_of: date,
    policy: Policy = "fifo",
    weights: PriorityWeights | None = None,
) -> pd.DataFrame:
    """One row per order line: allocated now, ETA, delay against the promise, status.

    ``stock``: sku, location, on_hand. ``receipts``: sku, location, date, quantity.
    """
    columns = [
        "policy", "order_id", "customer_id", "segment", "sku", "location", "quantity",
        "allocated_now", "order_date", "promised_date", "eta", "delay_days", "status",
    ]
    if orders.empty:
        return pd.DataFrame(columns=columns)
    lines = orders.merge(
        customers[["customer_id", "segment", "lifetime_value"]] if not customers.empty
        else pd.DataFrame(columns=["customer_id", "segment", "lifetime_value"]),
        on="customer_id", how="left",
    )
    lines["segment"] = lines["segment"].fillna("regular")
    for col in ("shipping", "unit_price", "lifetime_value", "promised_date"):
        if col not in lines:
            lines[col] = np.nan
    if policy == "priority":
        lines["_rank"] = -priority_score(lines, as_of, weights or PriorityWeights())
    elif policy == "fifo":
        lines["_rank"] = 0.0
    else:
        raise ValueError(f"unknown allocation policy {policy!r} (fifo or priority)")
    lines = lines.sort_values(["sku", "location", "_rank", "order_date", "order_id"]).reset_index(drop=True)
    lines["cum_need"] = lines.groupby(["sku", "location"])["quantity"].cumsum()

    on_hand = stock.groupby(["sku", "location"], as_index=False)["on_hand"].sum()
    on_hand["on_hand"] = on_hand["on_hand"].clip(lower=0)
    lines = lines.merge(on_hand, on=["sku", "location"], how="left")
    lines["on_hand"] = lines["on_hand"].fillna(0.0)
    before = lines["cum_need"] - lines["quantity"]
    lines["allocated_now"] = (lines["on_hand"] - before).clip(lower=0).clip(upper=lines["quantity"])

    supply = pd.concat(
        [
            on_hand.assign(date=pd.Timestamp(as_of)).rename(columns={"on_hand": "quantity"}),
            receipts[["sku", "location", "date", "quantity"]].assign(
                date=lambda r: pd.to_datetime(r["date"]).clip(lower=pd.Timestamp(as_of))
            ),
        ],
        ignore_index=True,
    )
    supply = supply[supply["quantity"] > 0].sort_values(["sku", "location", "date"])
    supply["cum_supply"] = supply.groupby(["sku", "location"])["quantity"].cumsum()
    left = lines.sort_values("cum_need")
    right = supply.sort_values("cum_supply")[["sku", "location", "cum_supply", "date"]]
    left["cum_need"] = left["cum_need"].astype(float)
    right = right.assign(cum_supply=right["cum_supply"].astype(float))
    matched = pd.merge_asof(
        left, right, left_on="cum_need", right_on="cum_supply", by=["sku", "location"],
        direction="forward",
    )
    matched["eta"] = pd.to_datetime(matched["date"]).dt.date
    promised = pd.to_datetime(matched["promised_date"])
    matched["delay_days"] = (pd.to_datetime(matched["eta"]) - promised).dt.days.astype(float)
    full_now = matched["allocated_now"] >= matched["quantity"]
    matched["status"] = np.select(
        [full_now, matched["eta"].isna(), matched["allocated_now"] > 0],
        ["allocated", "no_supply_planned", "partial"],
        default="backordered",
    )
    matched["policy"] = policy
    return matched[columns].sort_values(["sku", "location", "order_date", "order_id"]).reset_index(drop=True)


def summarise_allocation(allocations: pd.DataFrame) -> pd.DataFrame:
    """Per policy and segment: lines, share on time, mean and 90th-percentile delay, revenue at risk
    is computed by the caller when prices are known."""
    frame = allocations.assign(
        on_time=(allocations["delay_days"].fillna(np.inf) <= 0) | (allocations["status"] == "allocated"),
        late_days=allocations["delay_days"].clip(lower=0),
    )
    return (
        frame.groupby(["policy", "segment"])
        .agg(lines=("order_id", "size"), on_time=("on_time", "mean"),
             mean_delay=("late_days", "mean"), p90_delay=("late_days", lambda s: s.quantile(0.9)),
             no_supply=("status", lambda s: (s == "no_supply_planned").sum()))
        .reset_index()
    )
