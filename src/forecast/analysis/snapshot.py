"""Reading the published snapshot for the notebooks, and the helpers every section shares.

The readers (:func:`tables`, :func:`read_table`, :func:`sales_frame`, :func:`as_of_date`,
:func:`top_skus`) are those of :mod:`forecast.ingest.published`, the one reader of the snapshot;
they take the connection of :func:`forecast.publish.report.open_results`. The rest are small
computations over frames in the long layout (one row per ``sku, location[, date]``).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from forecast.ingest.published import Connection, as_of_date, read_table, sales_frame, top_skus
from forecast.ingest.published import snapshot_tables as tables

__all__ = [
    "KEYS",
    "as_of_date",
    "campaign_window",
    "for_series",
    "overview",
    "read_table",
    "sales_frame",
    "tables",
    "top_skus",
]

KEYS = ["sku", "location"]


def overview(sales: pd.DataFrame) -> pd.DataFrame:
    """One row about the history: rows, series, SKUs, locations, first and last date, units,
    and the share of rows that are stockout days (censored)."""
    return pd.DataFrame(
        {
            "rows": [len(sales)],
            "series": [len(sales[KEYS].drop_duplicates())],
            "skus": [sales["sku"].nunique()],
            "locations": [sales["location"].nunique()],
            "first": [sales["date"].min()],
            "last": [sales["date"].max()],
            "units": [sales["quantity"].sum()],
            "stockout_share": [_stockout(sales).mean() if len(sales) else np.nan],
        }
    )


def campaign_window(
    con: Connection,
    start: str | date | None = None,
    days: int = 10,
    offset_days: int = 7,
) -> tuple[str, str]:
    """(start, end) ISO dates of a planned campaign of ``days`` days: from ``start``, or by
    default ``offset_days`` after the forecast origin (:func:`as_of_date`)."""
    if days < 1:
        raise ValueError(f"a campaign lasts at least one day, got {days}")
    if start is None:
        origin = as_of_date(con)
        if origin is None:
            raise ValueError("the snapshot has no sales: give the campaign start")
        first = pd.Timestamp(origin) + pd.Timedelta(days=offset_days)
    else:
        first = pd.Timestamp(start)
    last = first + pd.Timedelta(days=days - 1)
    return f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"


def for_series(frame: pd.DataFrame, sku: str, location: str) -> pd.DataFrame:
    """The rows of one series."""
    return frame[(frame["sku"] == sku) & (frame["location"] == location)]


def _stockout(sales: pd.DataFrame) -> pd.Series:
    if "stockout" in sales:
        return sales["stockout"].fillna(False).astype(bool)
    if "on_hand" in sales:
        return (sales["on_hand"] <= 0).fillna(False).astype(bool)
    return pd.Series(False, index=sales.index)


def _keys_in(frame: pd.DataFrame) -> list[str]:
    return [k for k in KEYS if k in frame]
