"""The backorder book: every waiting customer order line, one row each, and how it is going.

Built at publish from the allocation of the policy in use (``RunSettings.allocation_policy``):
per open line its status (allocated, partial, backordered, no_supply_planned, dropship), days
waiting (as-of date - order date), ETA, the ETA of the last published run and the change in
days (the ``eta_history`` table, appended at every publish and never pruned), days late at the
ETA against the promised date, customer segment, the cancellation probability before the ETA
and the expected revenue lost (:mod:`forecast.backorders.cancellation`), and what the customer was last
told and when (the ``notifications`` history, including the notices of this run), and the day
a customer message first offered to cancel the line (:mod:`forecast.backorders.messages`).

A line is *late* when its ETA is after its promised date or no supply is planned for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import numpy as np
import pandas as pd

LINE_KEY = ["order_id", "sku", "location"]
BOOK_COLUMNS = [
    "order_id", "customer_id", "segment", "sku", "location", "supplier", "quantity",
    "allocated_now", "status", "order_date", "days_waiting", "promised_date", "eta",
    "previous_eta", "eta_change_days", "previous_status", "delay_days", "late",
    "cancel_probability", "expected_revenue_lost", "last_told_at", "last_told_kind",
    "last_told_status", "last_told_eta", "last_told_message", "policy", "cancel_offered_on",
]
HISTORY_COLUMNS = ["run_id", "as_of", "recorded_at", "policy", "order_id", "sku", "location",
                   "status", "eta"]


def backorder_book(
    allocations: pd.DataFrame,
    as_of: date,
    eta_history: pd.DataFrame | None = None,
    notifications: pd.DataFrame | None = None,
    cancel_offers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per open order line (``BOOK_COLUMNS``), the riskiest first.

    ``allocations``: one policy's rows of :func:`forecast.backorders.allocation.allocate`.
    ``eta_history``: earlier runs' ETAs (``HISTORY_COLUMNS``; the latest row per line by
    ``recorded_at`` counts). ``notifications``: notices sent (the ``notifications`` table; the
    latest per line by ``notified_at`` counts). ETA change = ETA - previous ETA in days (NaN
    when either is missing: a new line, or no supply date then or now; 0 for a line allocated
    now in both runs, whose ETA is each run's as-of date). ``cancel_offers``: order_id, sku,
    location, cancel_offered_on (the day a customer message first offered to cancel the line,
    :func:`forecast.backorders.messages.cancel_offers`).
    """
    if "policy" in allocations and allocations["policy"].nunique() > 1:
        raise ValueError("backorder_book takes the allocation of one policy; got "
                         f"{sorted(allocations['policy'].unique())}")
    if allocations.empty:
        return pd.DataFrame(columns=BOOK_COLUMNS)
    book = allocations.copy()
    for col in ("supplier", "cancel_probability", "expected_revenue_lost"):
        if col not in book:
            book[col] = np.nan
    previous = _latest(eta_history, "recorded_at", {"eta": "previous_eta",
                                                     "status": "previous_status"})
    book = book.merge(previous, on=LINE_KEY, how="left")
    told = _latest(notifications, "notified_at", {
        "notified_at": "last_told_at", "kind": "last_told_kind", "told_status": "last_told_status",
        "told_eta": "last_told_eta", "message": "last_told_message"})
    book = book.merge(told, on=LINE_KEY, how="left")
    if cancel_offers is not None and len(cancel_offers):
        book = book.merge(cancel_offers[[*LINE_KEY, "cancel_offered_on"]], on=LINE_KEY, how="left")
    else:
        book["cancel_offered_on"] = None

    eta = pd.to_datetime(book["eta"])
    previous_eta = pd.to_datetime(book["previous_eta"])
    book["days_waiting"] = (pd.Timestamp(as_of) - pd.to_datetime(book["order_date"])).dt.days
    change = (eta - previous_eta).dt.days.astype(float)
    # Allocated now in both runs: the ETA is "today" both times, not a move.
    both_now = (book["status"] == "allocated") & (book["previous_status"] == "allocated")
    book["eta_change_days"] = change.where(~both_now, 0.0)
    book["previous_eta"] = previous_eta.dt.date
    book["last_told_eta"] = pd.to_datetime(book["last_told_eta"]).dt.date
    book["late"] = late_lines(book)
    book = book.sort_values(["expected_revenue_lost", "days_waiting", "order_id"],
                            ascending=[False, False, True], na_position="last")
    return book[BOOK_COLUMNS].reset_index(drop=True)


def late_lines(book: pd.DataFrame) -> pd.Series:
    """True where the ETA is after the promised date or no supply is planned."""
    return (book["delay_days"].fillna(0) > 0) | (book["status"] == "no_supply_planned")


def filter_book(
    book: pd.DataFrame,
    skus: Iterable[str] | None = None,
    customers: Iterable[str] | None = None,
    segments: Iterable[str] | None = None,
    late_only: bool = False,
) -> pd.DataFrame:
    """The rows of the given SKUs, customers and segments (any of each list; case-insensitive
    for segments), and only the late ones with ``late_only``."""
    keep = pd.Series(True, index=book.index)
    if skus:
        keep &= book["sku"].astype(str).isin([str(s) for s in skus])
    if customers:
        keep &= book["customer_id"].astype(str).isin([str(c) for c in customers])
    if segments:
        keep &= book["segment"].astype(str).str.lower().isin([s.lower() for s in segments])
    if late_only:
        keep &= late_lines(book).astype(bool)
    return book[keep].reset_index(drop=True)


def book_summary(book: pd.DataFrame) -> dict[str, float]:
    """Counts of a (filtered) book: lines, late, without supply, ETA changed since the last
    run, and the expected revenue lost to cancellations."""
    change = pd.to_numeric(book["eta_change_days"], errors="coerce")
    return {
        "lines": len(book),
        "late": int(late_lines(book).sum()),
        "no_supply": int((book["status"] == "no_supply_planned").sum()),
        "eta_changed": int((change.abs() >= 1).sum()),
        "expected_revenue_lost": float(pd.to_numeric(book["expected_revenue_lost"]).sum()),
    }


def eta_history_rows(
    allocations: pd.DataFrame, run_id: str, as_of: date, recorded_at: datetime | None = None
) -> pd.DataFrame:
    """Rows for the ``eta_history`` table: each line's status and ETA in this run."""
    return pd.DataFrame(
        {
            "run_id": run_id,
            "as_of": pd.Timestamp(as_of).date(),
            "recorded_at": pd.Timestamp(recorded_at or datetime.now()),
            "policy": allocations["policy"].to_numpy() if "policy" in allocations else None,
            "order_id": allocations["order_id"].to_numpy(),
            "sku": allocations["sku"].to_numpy(),
            "location": allocations["location"].to_numpy(),
            "status": allocations["status"].to_numpy(),
            "eta": pd.to_datetime(allocations["eta"]).dt.date.to_numpy(),
        },
        columns=HISTORY_COLUMNS,
    )


def _latest(history: pd.DataFrame | None, stamp: str, rename: dict[str, str]) -> pd.DataFrame:
    """The latest row per line of ``history`` by ``stamp``, its columns renamed."""
    columns = [*LINE_KEY, *rename.values()]
    if history is None or history.empty:
        return pd.DataFrame(columns=columns).astype({c: object for c in rename.values()})
    frame = history.sort_values(stamp, kind="stable").drop_duplicates(LINE_KEY, keep="last")
    frame = frame.rename(columns=rename)
    return frame.reindex(columns=columns).reset_index(drop=True)
