"""Stock movements on top of the stock snapshot: on hand, open purchase orders and open
customer lines as they stand after the movements (vectorised over every SKU and location).

The rule that keeps a movement from being counted twice: the stock snapshot (the ``inventory``
table, each row as of its ``as_of`` date, else the plan's as-of date) already holds everything
that happened up to the end of its day, so only movements dated after it count. The nightly run
counts those up to its as-of date (:func:`current_state` with ``until``); an intraday sync counts
all of them. Once a newer snapshot arrives (the next night's ``inventory`` file), the movements
of the days it covers drop out by the same rule.

Per SKU and location, in order of ``moved_at`` (ties: the order they were loaded in, by
movement id): a ``count`` sets on hand to the counted level; every other kind adds its signed
quantity (sales and transfers out are negative). So on hand after the movements is the last
count's level (else the snapshot) plus the quantities after that count. A receipt whose
``reference`` names an open purchase order of the same SKU and location reduces that order's
open quantity (never below 0); a sale whose reference names an open customer order of the same
SKU and location ships that line (its open quantity falls by the units sold).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from forecast.ingest.contract import MOVEMENT_COUNT

KEYS = ["sku", "location"]
MOVEMENT_COLUMNS = ["movement_id", "sku", "location", "kind", "quantity", "moved_at", "reference"]


@dataclass
class StockState:
    """Stock, open purchase orders and open customer lines after the movements."""

    stock: pd.DataFrame  # sku, location, on_hand (the recorded figure; may be negative)
    purchase_orders: pd.DataFrame  # the open orders, quantities net of receipts
    customer_orders: pd.DataFrame  # the open lines, quantities net of shipments
    movements: pd.DataFrame  # the movements counted (MOVEMENT_COLUMNS)
    #: Per series: the latest movement counted (NaT: none).
    stock_as_of: pd.DataFrame


def counted_movements(movements: pd.DataFrame, snapshot: pd.DataFrame, as_of: date,
                      until: date | None = None) -> pd.DataFrame:
    """The movements dated after their series' snapshot day (the snapshot's ``as_of`` column,
    else ``as_of``) and, with ``until``, on or before that day; sorted by series and time."""
    if movements is None or movements.empty:
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    moves = movements[MOVEMENT_COLUMNS].copy()
    moves["moved_at"] = pd.to_datetime(moves["moved_at"])
    moves["quantity"] = moves["quantity"].astype(float)
    day = _snapshot_days(snapshot, as_of)
    moves = moves.merge(day, on=KEYS, how="left")
    after = moves["snapshot_day"].fillna(pd.Timestamp(as_of)) + pd.Timedelta(days=1)
    keep = moves["moved_at"] >= after
    if until is not None:
        keep &= moves["moved_at"] < pd.Timestamp(until) + pd.Timedelta(days=1)
    moves = moves[keep.to_numpy()].drop(columns="snapshot_day")
    return moves.sort_values([*KEYS, "moved_at", "movement_id"], kind="stable").reset_index(drop=True)


def _snapshot_days(snapshot: pd.DataFrame, as_of: date) -> pd.DataFrame:
    if "as_of" not in snapshot or snapshot.empty:
        return pd.DataFrame(columns=[*KEYS, "snapshot_day"])
    days = pd.to_datetime(snapshot["as_of"]).fillna(pd.Timestamp(as_of))
    frame = snapshot[KEYS].assign(snapshot_day=days.to_numpy())
    return frame.groupby(KEYS, as_index=False)["snapshot_day"].max()


def apply_to_stock(snapshot: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    """On hand per series after ``moves`` (sorted, from :func:`counted_movements`): the last
    count's level, else the snapshot's figure (0 for a series with none), plus what moved after.
    Columns: sku, location, on_hand, stock_as_of (the last movement; NaT when none)."""
    base = snapshot.groupby(KEYS, as_index=False)["on_hand"].sum() if len(snapshot) else \
        pd.DataFrame(columns=[*KEYS, "on_hand"])
    if moves.empty:
        return base.assign(stock_as_of=pd.NaT)
    is_count = (moves["kind"] == MOVEMENT_COUNT).to_numpy()
    group = moves.groupby(KEYS, sort=False).ngroup().to_numpy()
    # counts at or after each row, per series: a row after the last count has none after it
    later_counts = pd.Series(is_count[::-1]).groupby(group[::-1]).cumsum().to_numpy()[::-1]
    after_last = later_counts == 0
    last_count = is_count & (later_counts == 1)
    frame = moves[KEYS].copy()
    frame["delta"] = np.where(after_last & ~is_count, moves["quantity"].to_numpy(), 0.0)
    frame["level"] = np.where(last_count, moves["quantity"].to_numpy(), np.nan)
    frame["stock_as_of"] = moves["moved_at"].to_numpy()
    per = frame.groupby(KEYS, as_index=False).agg(
        delta=("delta", "sum"), level=("level", "max"), stock_as_of=("stock_as_of", "max"))
    out = base.merge(per, on=KEYS, how="outer")
    start = out["level"].where(out["level"].notna(), out["on_hand"].astype(float).fillna(0.0))
    known = out["on_hand"].notna() | out["level"].notna() | out["delta"].notna()
    out["on_hand"] = np.where(known, start + out["delta"].fillna(0.0), np.nan)
    return out[[*KEYS, "on_hand", "stock_as_of"]]


def net_of_references(orders: pd.DataFrame, moves: pd.DataFrame, kind: str, id_column: str,
                      sign: float) -> pd.DataFrame:
    """``orders`` with the quantity of each row reduced by the movements of ``kind`` whose
    reference is its ``id_column`` (same SKU and location), ``sign`` x quantity each, in row
    order within an id, never below 0; rows left with nothing are dropped."""
    if orders.empty or moves.empty:
        return orders
    hits = moves[(moves["kind"] == kind) & (moves["reference"].fillna("") != "")]
    if hits.empty:
        return orders
    done = (hits.assign(units=sign * hits["quantity"])
            .groupby(["reference", *KEYS], as_index=False)["units"].sum()
            .rename(columns={"reference": id_column}))
    out = orders.reset_index(drop=True).merge(done, on=[id_column, *KEYS], how="left")
    units = out["units"].fillna(0.0).clip(lower=0.0)
    # several rows of one id (a PO with two dates): the earliest rows are reduced first
    before = out.groupby([id_column, *KEYS])["quantity"].cumsum() - out["quantity"]
    taken = np.clip(units - before, 0.0, out["quantity"].astype(float))
    out["quantity"] = out["quantity"].astype(float) - taken
    return out[out["quantity"] > 1e-9].drop(columns="units").reset_index(drop=True)


def current_state(snapshot: pd.DataFrame, movements: pd.DataFrame, purchase_orders: pd.DataFrame,
                  customer_orders: pd.DataFrame, as_of: date, until: date | None = None) -> StockState:
    """The stock position inputs after the movements the snapshot does not hold yet (see the
    module docstring): ``until`` = the nightly run's as-of date; None = every movement (sync)."""
    moves = counted_movements(movements, snapshot, as_of, until)
    stock = apply_to_stock(snapshot, moves)
    pos = net_of_references(purchase_orders, moves, "receipt", "po_id", 1.0)
    lines = net_of_references(customer_orders, moves, "sale", "order_id", -1.0)
    return StockState(stock[[*KEYS, "on_hand"]], pos, lines, moves, stock[[*KEYS, "stock_as_of"]])
