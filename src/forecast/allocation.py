"""Who gets scarce stock: allocation of on-hand and incoming supply to waiting order lines.

Supply for an SKU and location is its usable stock now (negative stock counts as none), then
each projected receipt (open purchase orders on their expected dates, then recommended orders on
their expected arrival; receipts dated before ``as_of`` count as arriving on ``as_of``). Waiting
orders are served before new demand.

Each policy decides two things: how the stock on hand now is shared (``allocated_now``), and in
which order the rest of every line is filled from the stock left over and later receipts. A
line's ETA is the date on which cumulative supply first covers the remaining quantity of the
lines ahead of it in that fill order plus its own, so the whole line can ship; a line that fully
gets stock now has ETA ``as_of``; a line that no planned supply covers is ``no_supply_planned``.

Policies:
* ``fifo`` - first come, first served by order date (now and later);
* ``priority`` - by a score from segment, lifetime value, express shipping, order age and line
  value (weights in :class:`PriorityWeights`), ties broken by order date (now and later);
* ``fair`` - when the stock on hand cannot cover every waiting line of an SKU, each line gets
  the same fraction of its quantity, rounded down to whole units, and the units left over by
  the rounding go one each to the lines with the largest remainders (ties: earlier order first:
  the largest-remainder, or Hamilton, method); later receipts then fill lines in order-date
  order. Without a shortage every line is allocated in full.

Invariants (tests/test_allocation.py): per SKU and location the stock allocated now never
exceeds the usable stock on hand; per line 0 <= allocated_now <= quantity; every line is
allocated in full, has an ETA, or is marked ``no_supply_planned``.

Statuses: ``allocated`` (all of the line now), ``partial`` (some now, the rest on its ETA),
``backordered`` (nothing now, all on its ETA), ``no_supply_planned`` (the rest is not covered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from forecast.contract import OPEN_STATUS

Policy = Literal["fifo", "priority", "fair"]
POLICIES: tuple[str, ...] = ("fifo", "priority", "fair")
KEY = ["sku", "location"]
COLUMNS = [
    "policy", "order_id", "customer_id", "segment", "sku", "location", "quantity",
    "allocated_now", "order_date", "promised_date", "eta", "delay_days", "status",
]


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

    ``orders``: order_id, customer_id, sku, location, quantity, order_date[, promised_date,
    shipping, unit_price]. ``customers``: customer_id, segment, lifetime_value.
    ``stock``: sku, location, on_hand. ``receipts``: sku, location, date, quantity.
    Columns: ``COLUMNS`` (the warehouse ``allocations`` table).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown allocation policy {policy!r} (one of {', '.join(POLICIES)})")
    if orders.empty:
        return pd.DataFrame(columns=COLUMNS)
    lines = _lines(orders, customers)
    if policy == "priority":
        lines["_rank"] = -priority_score(lines, as_of, weights or PriorityWeights())
    else:
        lines["_rank"] = 0.0
    lines = lines.sort_values([*KEY, "_rank", "order_date", "order_id"]).reset_index(drop=True)

    on_hand = stock.groupby(KEY, as_index=False)["on_hand"].sum()
    on_hand["on_hand"] = on_hand["on_hand"].clip(lower=0)
    lines = lines.merge(on_hand, on=KEY, how="left")
    lines["on_hand"] = lines["on_hand"].fillna(0.0)
    quantity = lines["quantity"].to_numpy(dtype=float)
    if policy == "fair":
        lines["allocated_now"] = _fair_shares(lines)
    else:
        before = lines.groupby(KEY)["quantity"].cumsum().to_numpy(dtype=float) - quantity
        lines["allocated_now"] = np.clip(lines["on_hand"].to_numpy() - before, 0.0, quantity)

    # The rest of each line, in fill order, against what is left now plus later receipts.
    lines["remaining"] = quantity - lines["allocated_now"].to_numpy()
    left_now = (
        lines.groupby(KEY, as_index=False)
        .agg(on_hand=("on_hand", "first"), used=("allocated_now", "sum"))
        .assign(quantity=lambda f: (f["on_hand"] - f["used"]).clip(lower=0),
                date=pd.Timestamp(as_of))
    )
    later = receipts[[*KEY, "date", "quantity"]].assign(
        date=lambda r: pd.to_datetime(r["date"]).clip(lower=pd.Timestamp(as_of)),
        quantity=lambda r: pd.to_numeric(r["quantity"]).astype(float),
    )
    supply = pd.concat([left_now[[*KEY, "date", "quantity"]], later], ignore_index=True)
    supply = supply[supply["quantity"] > 0].sort_values([*KEY, "date"], kind="stable")
    supply[KEY] = supply[KEY].astype(str)  # merge_asof wants one key dtype on both sides
    supply["cum_supply"] = supply.groupby(KEY)["quantity"].cumsum().astype(float)

    fill_order = ["order_date", "order_id"] if policy == "fair" else ["_rank", "order_date",
                                                                      "order_id"]
    waiting = lines[lines["remaining"] > 1e-9].assign(_row=lambda f: f.index)
    waiting = waiting.sort_values([*KEY, *fill_order])
    waiting[KEY] = waiting[KEY].astype(str)
    waiting = waiting.assign(cum_need=waiting.groupby(KEY)["remaining"].cumsum().astype(float))
    matched = pd.merge_asof(
        waiting.sort_values("cum_need"),
        supply.sort_values("cum_supply")[[*KEY, "cum_supply", "date"]],
        left_on="cum_need", right_on="cum_supply", by=KEY, direction="forward",
    )
    eta = pd.Series(pd.NaT, index=lines.index, dtype="datetime64[us]")
    eta[lines["remaining"] <= 1e-9] = pd.Timestamp(as_of)
    eta[matched["_row"].to_numpy()] = pd.to_datetime(matched["date"]).to_numpy()
    lines["eta"] = eta.dt.date
    promised = pd.to_datetime(lines["promised_date"])
    lines["delay_days"] = (pd.to_datetime(lines["eta"]) - promised).dt.days.astype(float)
    full_now = lines["remaining"] <= 1e-9
    lines["status"] = np.select(
        [full_now, lines["eta"].isna(), lines["allocated_now"] > 0],
        ["allocated", "no_supply_planned", "partial"],
        default="backordered",
    )
    lines["policy"] = policy
    out = lines[COLUMNS].sort_values([*KEY, "order_date", "order_id"]).reset_index(drop=True)
    return out


def open_order_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """The lines still waiting for stock: ``status`` open (a file without ``status`` holds only
    open lines). Shipped and cancelled lines are history, kept for the cancellation curve."""
    if "status" not in orders or orders.empty:
        return orders
    status = orders["status"].fillna(OPEN_STATUS).astype(str).str.lower()
    return orders[status == OPEN_STATUS].reset_index(drop=True)


def _lines(orders: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    customer_cols = ["customer_id", "segment", "lifetime_value"]
    known = customers[customer_cols] if not customers.empty else pd.DataFrame(
        columns=customer_cols)
    lines = orders.drop(columns=[c for c in ("segment", "lifetime_value") if c in orders])
    lines = lines.merge(known, on="customer_id", how="left")
    lines["segment"] = lines["segment"].fillna("regular")
    for col in ("shipping", "unit_price", "lifetime_value", "promised_date"):
        if col not in lines:
            lines[col] = np.nan
    lines["quantity"] = lines["quantity"].astype(float)
    lines["lifetime_value"] = pd.to_numeric(lines["lifetime_value"], errors="coerce")
    lines["unit_price"] = pd.to_numeric(lines["unit_price"], errors="coerce")
    return lines


def _fair_shares(lines: pd.DataFrame) -> np.ndarray:
    """Proportional shares of a shortage, whole units, leftovers by largest remainder.

    ``lines`` is sorted by SKU, location, order date and order id; with usable stock A and
    waiting quantities q_i (total Q > A): share_i = floor(q_i A / Q), then the
    floor(A - sum share) units left go one each to the largest remainders q_i A / Q - share_i.
    """
    quantity = lines["quantity"].to_numpy(dtype=float)
    group = lines.groupby(KEY, sort=False)
    total = group["quantity"].transform("sum").to_numpy(dtype=float)
    stock = lines["on_hand"].to_numpy(dtype=float)
    short = total > stock + 1e-9
    numerator = quantity * stock  # exact for whole units (products below 2^53)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.floor(numerator / total)
        # floor(q A / Q) exactly, whatever the rounding of the division.
        share = np.where((share + 1) * total <= numerator, share + 1, share)
        share = np.where(share * total > numerator, share - 1, share)
        share = np.where(short, np.clip(share, 0.0, quantity), quantity)
        remainder = np.where(short, numerator / total - share, -np.inf)
    frame = pd.DataFrame({
        "g": group.ngroup().to_numpy(), "remainder": remainder, "pos": np.arange(len(lines)),
        "room": quantity - share >= 1 - 1e-9,
    })
    given = pd.Series(share, index=frame.index).groupby(frame["g"]).transform("sum")
    units = np.floor(np.where(short, stock - given.to_numpy(), 0.0))  # whole units left
    # Largest remainder first; ties to the earlier order (lines are in order-date order).
    ranked = frame[frame["room"] & short].sort_values(["g", "remainder", "pos"],
                                                      ascending=[True, False, True])
    ranked = ranked.assign(rank=ranked.groupby("g").cumcount())
    bonus = ranked.loc[ranked["rank"] < units[ranked["pos"].to_numpy()], "pos"].to_numpy()
    share[bonus] += 1.0
    return share


def summarise_allocation(
    allocations: pd.DataFrame, orders: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per policy and customer segment, plus an ``all`` row per policy.

    Columns: lines; on_time (share of lines whose ETA is on or before the promised date; a line
    without a promise is on time when it has an ETA); mean_delay and p90_delay (days late,
    0 for lines on time, over lines with an ETA); no_supply (lines without planned supply);
    units_short_now (quantity not allocated now); revenue_at_risk (quantity not allocated now x
    unit price, over lines whose ETA is after the promise or that have no supply planned).
    Unit prices come from ``allocations`` if it has a ``unit_price`` column, else from
    ``orders`` (order_id, sku, location, unit_price); missing prices count as 0.
    """
    if allocations.empty or "eta" not in allocations:
        return pd.DataFrame(columns=["policy", "segment", "lines", "on_time", "mean_delay", "p90_delay",
                                     "no_supply", "units_short_now", "revenue_at_risk"])
    frame = allocations.copy()
    if "unit_price" not in frame:
        if orders is not None and "unit_price" in orders:
            prices = orders[["order_id", *KEY, "unit_price"]].drop_duplicates(["order_id", *KEY])
            frame = frame.merge(prices, on=["order_id", *KEY], how="left")
        else:
            frame["unit_price"] = np.nan
    eta = pd.to_datetime(frame["eta"])
    promised = pd.to_datetime(frame["promised_date"])
    late = eta.isna() | (promised.notna() & (eta > promised))
    short_now = (frame["quantity"] - frame["allocated_now"]).clip(lower=0)
    # Days late for lines with an ETA (0 when on time or without a promise); NaN without ETA.
    late_days = frame["delay_days"].clip(lower=0).fillna(0.0).where(eta.notna())
    frame = frame.assign(
        on_time=~late,
        late_days=late_days,
        no_supply=frame["status"] == "no_supply_planned",
        units_short_now=short_now,
        revenue_at_risk=np.where(late, short_now * frame["unit_price"].fillna(0.0), 0.0),
    )
    both = pd.concat([frame, frame.assign(segment="all")], ignore_index=True)
    summary = (
        both.groupby(["policy", "segment"])
        .agg(lines=("order_id", "size"), on_time=("on_time", "mean"),
             mean_delay=("late_days", "mean"),
             p90_delay=("late_days", lambda s: s.quantile(0.9) if s.notna().any() else np.nan),
             no_supply=("no_supply", "sum"), units_short_now=("units_short_now", "sum"),
             revenue_at_risk=("revenue_at_risk", "sum"))
        .reset_index()
    )
    return summary


def compare_policies(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    stock: pd.DataFrame,
    receipts: pd.DataFrame,
    as_of: date,
    policies: Iterable[str] = POLICIES,
    weights: PriorityWeights | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Allocate under each policy: (all allocation rows, summarise_allocation of them)."""
    allocations = pd.concat(
        [allocate(orders, customers, stock, receipts, as_of, p, weights) for p in policies],
        ignore_index=True,
    )
    return allocations, summarise_allocation(allocations, orders)
