"""Which customers to tell about their waiting orders, and what to tell them.

Compares the new allocation (one policy, rows of :func:`forecast.backorders.allocation.allocate`) with what
each order line's customer was last told (the ``notifications`` history in the warehouse: one
row per notice sent; the latest per order line counts). A line is notified when:

* it is newly backordered: it was allocated (or never told: at order time the customer was told
  the promised date) and is now ``backordered``, ``partial`` or ``no_supply_planned``;
* its ETA moved by ``min_change_days`` or more against the ETA last told;
* its supply changed: it had no planned supply and now has an ETA, or the other way round;
* it is available again: it was told it is delayed and now ships in full (good news);
* it is a dropship line (shipped by the supplier) expected after its promised date, told once:
  its ETA (as-of date + lead time) moves with every run while it waits, which is not news.

Lines allocated now and never told anything need no notice. Recording the notices
(:func:`history_rows` then ``Warehouse.record_notifications``) updates the history, so a rerun
on unchanged data lists no one a second time.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

LINE_KEY = ["order_id", "sku", "location"]
HISTORY_COLUMNS = [
    "order_id", "sku", "location", "customer_id", "told_status", "told_eta", "promised_date",
    "kind", "message", "policy", "run_id", "notified_at",
]
NOTICE_COLUMNS = [
    "order_id", "customer_id", "sku", "location", "quantity", "allocated_now", "status",
    "previous_status", "promised_date", "previous_eta", "eta", "eta_change_days", "kind",
    "message", "policy",
]
WAITING = ("backordered", "partial", "no_supply_planned")


def customer_notices(
    allocations: pd.DataFrame, history: pd.DataFrame | None = None, min_change_days: int = 1
) -> pd.DataFrame:
    """The order lines whose customer should be told, with the new ETA and a message.

    ``allocations``: one policy's rows of ``allocate`` (order_id, customer_id, sku, location,
    quantity, allocated_now, promised_date, eta, status, policy). ``history``: what was last
    told per line (order_id, sku, location, told_status, told_eta; more rows per line are fine:
    the last one by ``notified_at`` counts). Columns: ``NOTICE_COLUMNS``; ``kind`` is one of
    delayed | backordered | no_supply | dated | earlier | available.
    """
    if "policy" in allocations and allocations["policy"].nunique() > 1:
        raise ValueError("customer_notices takes the allocation of one policy; got "
                         f"{sorted(allocations['policy'].unique())}")
    if allocations.empty:
        return pd.DataFrame(columns=NOTICE_COLUMNS)
    last = latest_told(history)
    lines = allocations.merge(last, on=LINE_KEY, how="left")
    told = lines["told_status"].notna()
    previous_status = lines["told_status"].where(told, "allocated")
    status = lines["status"]
    eta = pd.to_datetime(lines["eta"])
    previous_eta = pd.to_datetime(lines["told_eta"]).where(told)
    change = (eta - previous_eta).dt.days

    was_fine = previous_status == "allocated"
    waiting = status.isin(WAITING)
    newly_backordered = was_fine & waiting
    # ETAs of lines allocated on both runs are "today" and move with the as-of date: not news.
    moved = told & ~was_fine & waiting & eta.notna() & previous_eta.notna() & (
        change.abs() >= min_change_days)
    supply_changed = told & ~was_fine & waiting & (eta.isna() != previous_eta.isna())
    available = told & ~was_fine & (status == "allocated")
    promised = pd.to_datetime(lines["promised_date"])
    dropship_late = (status == "dropship") & eta.notna() & promised.notna() & (eta > promised) & (
        previous_status != "dropship")
    notify = newly_backordered | moved | supply_changed | available | dropship_late

    out = lines[notify].copy()
    out["previous_status"] = previous_status[notify].where(told[notify])
    out["previous_eta"] = previous_eta[notify].dt.date
    out["eta_change_days"] = change[notify].astype(float)
    out["kind"] = _kinds(out)
    out["message"] = [_message(row) for row in out.itertuples(index=False)]
    if "policy" not in out:
        out["policy"] = None
    return out[NOTICE_COLUMNS].sort_values(["customer_id", "order_id", "sku"]).reset_index(
        drop=True)


def _kinds(out: pd.DataFrame) -> np.ndarray:
    eta = pd.to_datetime(out["eta"])
    promised = pd.to_datetime(out["promised_date"])
    return np.select(
        [
            out["status"] == "allocated",
            eta.isna(),
            promised.isna() | (eta > promised),
            out["previous_status"].isna() | (out["previous_status"] == "allocated"),
            out["eta_change_days"] < 0,
        ],
        ["available", "no_supply", "delayed", "backordered", "earlier"],
        default="dated",
    )


def _units(value: float) -> str:
    return f"{value:g}"


def _day(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _message(row: object) -> str:
    """One sentence for the customer (the row of a notice)."""
    what = f"Your order {row.order_id} ({_units(row.quantity)} x {row.sku})"
    promised = f" (promised {_day(row.promised_date)})" if pd.notna(row.promised_date) else ""
    part = ""
    if row.status == "partial":
        part = f" {_units(row.allocated_now)} of {_units(row.quantity)} can ship now;"
    if row.kind == "available":
        return f"Good news: {what} is ready to ship{promised}."
    if row.kind == "no_supply":
        return (f"{what} is delayed:{part} we have no supply date yet and will tell you as soon "
                f"as we do{promised}.")
    if row.kind == "delayed" and row.status == "dropship":
        return (f"{what} ships from our supplier and is delayed: expected ship date "
                f"{_day(row.eta)}{promised}.")
    if row.kind == "delayed":
        return f"{what} is delayed:{part} new expected ship date {_day(row.eta)}{promised}."
    if row.kind == "earlier":
        return f"{what} will ship earlier:{part} new expected ship date {_day(row.eta)}{promised}."
    return f"{what} has a new expected ship date:{part} {_day(row.eta)}{promised}."


def latest_told(history: pd.DataFrame | None) -> pd.DataFrame:
    """The last notice per order line: order_id, sku, location, told_status, told_eta."""
    columns = [*LINE_KEY, "told_status", "told_eta"]
    if history is None or history.empty:
        return pd.DataFrame(columns=columns).astype({"told_status": object, "told_eta": object})
    frame = history
    if "notified_at" in frame:
        frame = frame.sort_values("notified_at", kind="stable")
    return frame.drop_duplicates(LINE_KEY, keep="last")[columns].reset_index(drop=True)


def history_rows(
    notices: pd.DataFrame, run_id: str | None = None, notified_at: datetime | None = None
) -> pd.DataFrame:
    """Rows for the ``notifications`` history table: what each notified customer was told."""
    stamp = notified_at or datetime.now()
    return pd.DataFrame(
        {
            "order_id": notices["order_id"].to_numpy(),
            "sku": notices["sku"].to_numpy(),
            "location": notices["location"].to_numpy(),
            "customer_id": notices["customer_id"].to_numpy(),
            "told_status": notices["status"].to_numpy(),
            "told_eta": pd.to_datetime(notices["eta"]).dt.date.to_numpy(),
            "promised_date": pd.to_datetime(notices["promised_date"]).dt.date.to_numpy(),
            "kind": notices["kind"].to_numpy(),
            "message": notices["message"].to_numpy(),
            "policy": notices["policy"].to_numpy(),
            "run_id": run_id,
            "notified_at": pd.Timestamp(stamp),
        },
        columns=HISTORY_COLUMNS,
    )


#: Columns of ``customer_notifications.csv`` (written by forecast.publish.exports.write_notices).
NOTICE_CSV_COLUMNS = ["customer_id", "order_id", "sku", "location", "quantity", "status",
                      "promised_date", "previous_eta", "eta", "kind", "message"]
