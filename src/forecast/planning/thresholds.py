"""Threshold alerts between nightly runs: raised once when a position crosses a threshold,
open until it recovers, then closed.

Three thresholds per SKU and location, against the published plan's policies (never re-planned):

- ``below_min`` (high): inventory position (on hand + on order - open customer units) at or
  below the reorder point, the SKU's minimum (series with demand, as the nightly's alert);
- ``stockout`` (high): usable stock on hand reaches 0 (series with demand or open lines);
- ``orders_exceed_stock`` (high): open customer order units exceed the stock on hand, so the
  waiting lines can no longer all be covered.

A crossing is a condition that did not hold in the previous published state (the nightly plan's
positions, or the last sync's) and holds now; it raises one alert, unless one of that kind is
open for the series already. An open alert whose condition no longer holds is closed. A rerun
on the same state finds no crossing, so it raises nothing; a killed sync published nothing, so
the next one finds the same crossing and raises it once.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

KEYS = ["sku", "location"]
KINDS = ("below_min", "stockout", "orders_exceed_stock")
ALERT_COLUMNS = ["alert_id", "sku", "location", "kind", "severity", "opened_at", "opened_by",
                 "level", "threshold", "closed_at", "closed_by", "message"]


def conditions(positions: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """Per series: sku, location, each kind's condition (bool), its level and threshold."""
    frame = positions.merge(policies[[*KEYS, "reorder_point", "mean_daily_demand"]],
                            on=KEYS, how="left")
    pos = frame["inventory_position"].to_numpy(dtype=float)
    on_hand = frame["on_hand"].to_numpy(dtype=float)
    committed = frame["committed"].to_numpy(dtype=float)
    rop = frame["reorder_point"].to_numpy(dtype=float)
    demand = np.nan_to_num(frame["mean_daily_demand"].to_numpy(dtype=float)) > 0
    known = np.isfinite(on_hand)
    out = frame[KEYS].copy()
    out["below_min"] = known & demand & np.isfinite(rop) & (pos <= rop)
    out["stockout"] = known & (demand | (committed > 0)) & (on_hand <= 0)
    out["orders_exceed_stock"] = known & (committed > np.maximum(on_hand, 0))
    out["position"], out["on_hand"], out["committed"], out["reorder_point"] = pos, on_hand, committed, rop
    return out


def reconcile(before: pd.DataFrame, now: pd.DataFrame, open_alerts: pd.DataFrame, sync_id: str,
              at: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(new alerts, alerts to close) from the conditions before and now (:func:`conditions`).

    ``open_alerts``: the open ``stock_alerts`` rows. ``now`` may carry ``stock_as_of``, per
    series the movement that brought it to its state now (the alert's ``opened_at``; else
    ``at``)."""
    merged = now.merge(before[[*KEYS, *KINDS]], on=KEYS, how="left", suffixes=("", "_before"))
    when = pd.to_datetime(merged["stock_as_of"]) if "stock_as_of" in merged else \
        pd.Series(pd.NaT, index=merged.index)
    when = when.fillna(pd.Timestamp(at))
    is_open = _open_keys(open_alerts)
    new, close = [], []
    for kind in KINDS:
        holds = merged[kind].to_numpy(dtype=bool)
        held = merged[f"{kind}_before"].fillna(False).to_numpy(dtype=bool)
        key = merged["sku"].astype(str) + "@" + merged["location"].astype(str)
        already = key.isin(is_open.get(kind, set())).to_numpy()
        raise_ = holds & ~held & ~already
        if raise_.any():
            new.append(_alerts(merged[raise_], kind, sync_id, when[raise_]))
        ended = open_alerts[(open_alerts["kind"] == kind)] if len(open_alerts) else open_alerts
        if len(ended):
            still = set(key[holds])
            gone = ~(ended["sku"].astype(str) + "@" + ended["location"].astype(str)).isin(still)
            close.append(ended[gone.to_numpy()])
    raised = pd.concat(new, ignore_index=True) if new else pd.DataFrame(columns=ALERT_COLUMNS)
    closed = pd.concat(close, ignore_index=True) if close else pd.DataFrame(columns=ALERT_COLUMNS)
    if len(closed):
        closed = closed.assign(closed_at=pd.Timestamp(at), closed_by=sync_id)
    return raised, closed


def _open_keys(open_alerts: pd.DataFrame) -> dict[str, set[str]]:
    if open_alerts.empty:
        return {}
    key = open_alerts["sku"].astype(str) + "@" + open_alerts["location"].astype(str)
    return {kind: set(key[open_alerts["kind"] == kind]) for kind in KINDS}


def _alerts(rows: pd.DataFrame, kind: str, sync_id: str, when: pd.Series) -> pd.DataFrame:
    label = rows["sku"].astype(str) + "@" + rows["location"].astype(str)
    level, threshold, text = {
        "below_min": (rows["position"], rows["reorder_point"],
                      lambda lv, th: ": position fell to " + lv + ", at or below the minimum " + th
                      + "; order now (see reorder recommendations)"),
        "stockout": (rows["on_hand"], pd.Series(0.0, index=rows.index),
                     lambda lv, th: ": sold out (on hand " + lv + "); new orders wait for the "
                     "next receipt: tell the customers their dates"),
        "orders_exceed_stock": (rows["committed"], rows["on_hand"].clip(lower=0),
                                lambda lv, th: ": open customer orders " + lv
                                + " exceed stock on hand " + th + "; expedite supply"),
    }[kind]
    return pd.DataFrame({
        "alert_id": sync_id + ":" + kind + ":" + label,
        "sku": rows["sku"].to_numpy(), "location": rows["location"].to_numpy(), "kind": kind,
        "severity": "high", "opened_at": when.to_numpy(), "opened_by": sync_id,
        "level": level.to_numpy(dtype=float), "threshold": threshold.to_numpy(dtype=float),
        "closed_at": pd.NaT, "closed_by": None,
        "message": (label + text(_num(level), _num(threshold))).to_numpy(),
    })


def _num(values: pd.Series) -> pd.Series:
    rounded = values.astype(float).round(2)
    return rounded.map(lambda v: f"{v:g}")
