"""The demo's stock movements: the day after the as-of date, for ``forecast sync``.

Through that day (08:00-18:00): sales that take most of the stock of a few well-stocked
SKU-locations with no waiting orders (their positions fall under their minimum; two sell out),
one receipt of an open purchase order for the SKU-location with the most units waiting beyond
its stock (it releases waiting lines), and one count that finds two units fewer than the
record. Drawn from their own random stream (``default_rng([seed, 2])``), so every other table
stays as it was.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

KEYS = ["sku", "location"]
N_LOW = 6  # SKU-locations sold down to one unit
N_OUT = 2  # ... and sold out


def stock_movements(seed: int, end: date, inventory: pd.DataFrame, purchase_orders: pd.DataFrame,
                    customer_orders: pd.DataFrame) -> pd.DataFrame:
    """Columns: movement_id, sku, location, kind, quantity, moved_at, reference."""
    rng = np.random.default_rng([seed, 2])
    day = pd.Timestamp(end + timedelta(days=1))
    open_lines = customer_orders[customer_orders["status"] == "open"]
    waiting = open_lines.groupby(KEYS, as_index=False)["quantity"].sum()
    stock = inventory.merge(waiting, on=KEYS, how="left").fillna({"quantity": 0.0})
    rows = []
    idle = stock[(stock["quantity"] == 0) & (stock["on_hand"] >= 8)].sort_values(
        ["on_hand", "sku", "location"], ascending=[False, True, True])
    picks = idle.iloc[: N_LOW + N_OUT]
    for k, r in enumerate(picks.itertuples(index=False)):
        to_sell = int(r.on_hand) - (0 if k < N_OUT else 1)
        rows += _sales(rng, r.sku, r.location, to_sell, day)
    receipt = _receipt(stock, purchase_orders, day)
    if receipt is not None:
        rows.append(receipt)
    picked = stock.set_index(KEYS).index.isin(picks.set_index(KEYS).index)
    others = stock[(stock["on_hand"] >= 5) & ~picked].sort_values(KEYS)
    if len(others):
        c = others.iloc[len(others) // 3]
        rows.append({"sku": c["sku"], "location": c["location"], "kind": "count",
                     "quantity": float(c["on_hand"] - 2), "moved_at": day + pd.Timedelta(hours=17),
                     "reference": "CNT-0001"})
    frame = pd.DataFrame(rows).sort_values(["moved_at", "sku", "location"], kind="stable")
    frame.insert(0, "movement_id", [f"MV{day:%Y%m%d}-{k + 1:04d}" for k in range(len(frame))])
    frame["moved_at"] = frame["moved_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return frame[["movement_id", "sku", "location", "kind", "quantity", "moved_at", "reference"]]


def _sales(rng: np.random.Generator, sku: str, location: str, units: int, day: pd.Timestamp) -> list[dict]:
    """``units`` sold in a few tickets through the day."""
    n = int(min(max(units // 3, 1), 5))
    cuts = np.sort(rng.choice(np.arange(1, units), size=n - 1, replace=False)) if n > 1 else []
    parts = np.diff(np.concatenate([[0], cuts, [units]])).astype(int)
    minutes = np.sort(rng.integers(8 * 60, 18 * 60, size=len(parts)))
    return [{"sku": sku, "location": location, "kind": "sale", "quantity": -float(q),
             "moved_at": day + pd.Timedelta(minutes=int(m)), "reference": ""}
            for q, m in zip(parts, minutes, strict=True) if q > 0]


def _receipt(stock: pd.DataFrame, purchase_orders: pd.DataFrame, day: pd.Timestamp) -> dict | None:
    """The open PO of the SKU-location with the most units waiting beyond its stock, received."""
    short = stock.assign(short=stock["quantity"] - stock["on_hand"].clip(lower=0))
    short = short[short["short"] > 0].merge(purchase_orders, on=KEYS, suffixes=("", "_po"))
    if short.empty:
        return None
    best = short.sort_values(["short", "expected_date", "po_id"], ascending=[False, True, True]).iloc[0]
    return {"sku": best["sku"], "location": best["location"], "kind": "receipt",
            "quantity": float(best["quantity_po"]), "moved_at": day + pd.Timedelta(hours=11),
            "reference": best["po_id"]}
