"""Releasing arrived stock to waiting order lines between nightly runs (intraday sync).

Stock already allocated to a line stays with it: a sync never takes units from a line the
nightly plan (or an earlier sync) served. For every SKU and location whose stock or open lines
changed, each open line keeps what it held (its previous ``allocated_now``, at most its open
quantity now), and the stock left over (usable on hand minus what the lines hold) is allocated
to the rest of the waiting quantities by the configured policy
(:func:`forecast.backorders.allocation.allocate`: fifo, priority, fair or retention), with the
open purchase and recommended orders as later receipts, which date the ETAs of what is still
short. So per SKU and location the units released to waiting lines never exceed the stock that
is free, which after a receipt is what arrived plus what was free before; and no line gets more
than its open quantity.

When the stock on hand has fallen below what the lines hold (sales that named no order, a count
that found less), the held units cannot all be honoured: that SKU's open lines are allocated
afresh by the policy, as the nightly run would, and the lines that lose stock are told.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from forecast.backorders import allocation

KEYS = ["sku", "location"]
LINE_KEY = ["order_id", "sku", "location"]
WAITING = ("backordered", "partial", "no_supply_planned")


def release(previous: pd.DataFrame, lines: pd.DataFrame, customers: pd.DataFrame,
            stock: pd.DataFrame, receipts: pd.DataFrame, changed: pd.DataFrame, day: date,
            policy: str, **allocate_options) -> pd.DataFrame:
    """The allocation (rows of ``allocate``, one policy) after the sync: unchanged series keep
    ``previous``'s rows; ``changed`` series (sku, location) are allocated as the module says.

    ``previous``: the published allocation of ``policy``. ``lines``: the open customer order
    lines now. ``stock``: sku, location, on_hand now. ``receipts``: later supply (sku,
    location, date, quantity). ``allocate_options``: weights, products, curve, default lead
    time (as the nightly allocation)."""
    changed_keys = pd.MultiIndex.from_frame(changed[KEYS].astype(str))
    in_changed = _isin(lines, changed_keys)
    kept = previous[~_isin(previous, changed_keys)]
    kept = kept.merge(lines[LINE_KEY], on=LINE_KEY)  # lines no longer open leave the book
    todo = lines[in_changed].reset_index(drop=True)
    if todo.empty:
        return _ordered(kept, policy)
    held = _held(todo, previous)
    usable = stock.assign(on_hand=stock["on_hand"].astype(float).clip(lower=0).fillna(0.0))
    reserved = held.groupby(KEYS, as_index=False)["held"].sum()
    supply = usable.merge(reserved, on=KEYS, how="right").fillna({"on_hand": 0.0})
    short = supply[supply["on_hand"] + 1e-9 < supply["held"]][KEYS]
    honour = ~_isin(held, pd.MultiIndex.from_frame(short.astype(str)))
    held["held"] = np.where(honour, held["held"], 0.0)  # a short SKU is allocated afresh
    free = supply.assign(on_hand=np.where(
        _isin(supply, pd.MultiIndex.from_frame(short.astype(str))),
        supply["on_hand"], (supply["on_hand"] - supply["held"]).clip(lower=0)))[[*KEYS, "on_hand"]]
    rest = held[held["quantity"] - held["held"] > 1e-9]
    fresh = allocation.allocate(
        rest.assign(quantity=rest["quantity"] - rest["held"]).drop(columns="held"), customers,
        free, receipts, day, policy=policy, **allocate_options)
    out = _combine(held, fresh, previous, day)
    return _ordered(pd.concat([kept, out], ignore_index=True), policy)


def _isin(frame: pd.DataFrame, keys: pd.MultiIndex) -> np.ndarray:
    if frame.empty:
        return np.zeros(0, dtype=bool)
    return pd.MultiIndex.from_frame(frame[KEYS].astype(str)).isin(keys)


def _held(lines: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Each open line with what it held before (0 for a new line), at most its quantity."""
    prev = previous[[*LINE_KEY, "allocated_now"]] if len(previous) else \
        pd.DataFrame(columns=[*LINE_KEY, "allocated_now"])
    out = lines.merge(prev, on=LINE_KEY, how="left")
    qty = out["quantity"].astype(float)
    out["held"] = np.minimum(out["allocated_now"].astype(float).fillna(0.0), qty)
    return out.drop(columns="allocated_now")


def _combine(held: pd.DataFrame, fresh: pd.DataFrame, previous: pd.DataFrame,
             day: date) -> pd.DataFrame:
    """One row per line: what it held plus what the allocation gave the rest; a line held in
    full keeps its previous row, allocated in full today."""
    rows = fresh.merge(held[[*LINE_KEY, "held", "quantity"]].rename(columns={"quantity": "total"}),
                       on=LINE_KEY, how="left")
    rows["allocated_now"] = rows["allocated_now"].astype(float) + rows["held"].fillna(0.0)
    rows["quantity"] = rows["total"]
    some = (rows["held"].fillna(0.0) > 0) & (rows["status"] == "backordered")
    rows.loc[some, "status"] = "partial"
    rows = rows.drop(columns=["held", "total"])
    full = held.loc[held["quantity"] - held["held"] <= 1e-9, [*LINE_KEY, "quantity"]]
    if full.empty:
        return rows
    whole = previous.drop(columns="quantity").merge(full, on=LINE_KEY)
    whole["allocated_now"] = whole["quantity"].astype(float)
    whole["status"], whole["eta"] = "allocated", day
    promised = pd.to_datetime(whole["promised_date"])
    whole["delay_days"] = (pd.Timestamp(day) - promised).dt.days.astype(float)
    return pd.concat([f for f in (rows, whole) if len(f)], ignore_index=True)


def _ordered(frame: pd.DataFrame, policy: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=allocation.COLUMNS)
    frame = frame.assign(policy=policy)
    return frame[allocation.COLUMNS].sort_values([*KEYS, "order_date", "order_id"]).reset_index(drop=True)


def released_lines(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Lines that were waiting and got stock in the sync: order_id, customer_id, sku,
    location, quantity, allocated_before, allocated_now, released, status before and now."""
    cols = [*LINE_KEY, "allocated_now", "status"]
    merged = after.merge(before[cols].rename(columns={"allocated_now": "allocated_before",
                                                      "status": "status_before"}),
                         on=LINE_KEY, how="left")
    merged["allocated_before"] = merged["allocated_before"].astype(float).fillna(0.0)
    merged["released"] = merged["allocated_now"].astype(float) - merged["allocated_before"]
    waiting = merged["status_before"].isin(WAITING) | merged["status_before"].isna()
    got = waiting & (merged["released"] > 1e-9) & (merged["status"] != "dropship")
    return merged.loc[got, [*LINE_KEY, "customer_id", "quantity", "allocated_before",
                            "allocated_now", "released", "status_before", "status", "eta"]
                      ].reset_index(drop=True)
