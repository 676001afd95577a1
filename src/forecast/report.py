"""Reading a published snapshot and plotting it (notebooks and the run report call these)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from forecast.warehouse import open_snapshot


def open_results(snapshot_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """Connection to the latest published results; never blocks a running pipeline."""
    return open_snapshot(snapshot_dir)


def top_series(con: duckdb.DuckDBPyConnection, n: int = 10) -> pd.DataFrame:
    """The n series with the most units sold over the last 365 days of history."""
    return con.execute(
        """
        SELECT sku, location, sum(quantity) AS units
        FROM sales
        WHERE date > (SELECT max(date) FROM sales) - INTERVAL 365 DAY
        GROUP BY ALL ORDER BY units DESC, sku, location LIMIT ?
        """,
        [n],
    ).df()


def series_history(con: duckdb.DuckDBPyConnection, sku: str, location: str, days: int = 180) -> pd.DataFrame:
    """Recent sales of one series, with the stockout (censored) days flagged."""
    return con.execute(
        """
        SELECT date, quantity, on_hand, coalesce(on_hand <= 0, false) AS stockout
        FROM sales
        WHERE sku = ? AND location = ? AND date > (SELECT max(date) FROM sales) - to_days(?)
        ORDER BY date
        """,
        [sku, location, days],
    ).df()


def series_forecast(con: duckdb.DuckDBPyConnection, sku: str, location: str) -> pd.DataFrame:
    return con.execute(
        "SELECT * FROM forecasts WHERE sku = ? AND location = ? ORDER BY date", [sku, location]
    ).df()


def plot_series(history: pd.DataFrame, forecast: pd.DataFrame, title: str = "", ax=None):
    """History (stockout days marked) and forecast with its 50% and 90% intervals."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4))
    ax.plot(history["date"], history["quantity"], color="0.3", lw=1, label="sales")
    out = history[history["stockout"]]
    if len(out):
        ax.scatter(out["date"], out["quantity"], color="red", s=12, zorder=3, label="stockout day")
    ax.fill_between(forecast["date"], forecast["q05"], forecast["q95"], alpha=0.2, color="C0", label="90% interval")
    ax.fill_between(forecast["date"], forecast["q25"], forecast["q75"], alpha=0.35, color="C0", label="50% interval")
    ax.plot(forecast["date"], forecast["mean"], color="C0", lw=2, label="forecast mean")
    ax.set_title(title)
    ax.set_ylabel("units")
    ax.legend(loc="upper left", fontsize=8)
    return ax
