"""From long sales rows to the aligned matrix every model works on.

Layout: one row per series (sku x location), one column per period, all series on the same
calendar. ``NaN`` means *not observed*: before a series' first sale, on censored days (``on_hand``
0: sales understate demand, so they are not read as demand) and on missing periods.

Frequency is detected from the dates: daily (the default), weekly (any weekday anchor) or
monthly (first of the month). Missing periods inside a series' span are read as *not observed*,
except for daily files that hold no zero rows at all (a sparse export that omits zero days), where
a missing day means zero sales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Frequency:
    """Sampling frequency of a history: pandas alias, days per period and season length."""

    code: str  # "D", "W" or "M"
    pandas_freq: str  # e.g. "D", "W-THU", "MS"
    period_days: float
    season_length: int

    def periods(self, days: float) -> float:
        """Convert a duration in days (a lead time) to periods of this frequency."""
        return days / self.period_days


DAILY = Frequency("D", "D", 1.0, 7)


def frequency_from_code(code: str) -> Frequency:
    """The frequency of a stored pandas alias ("D", "W-SUN", "MS"; ``forecast_models.frequency``).

    >>> frequency_from_code("W-SUN").period_days
    7.0
    """
    if code == "D":
        return Frequency("D", "D", 1.0, 7)
    if code.startswith("W"):
        return Frequency("W", code, 7.0, 52)
    return Frequency("M", "MS", 365.25 / 12, 12)


def detect_frequency(dates: pd.Series | pd.DatetimeIndex) -> Frequency:
    """Daily, weekly or monthly, from the median gap between distinct dates.

    >>> detect_frequency(pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-22"])).pandas_freq
    'W-MON'
    """
    unique = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(dates))).sort_values()
    if len(unique) < 2:
        return DAILY
    gap = float(np.median(np.diff(unique.values).astype("timedelta64[s]").astype(np.int64)) / 86_400)
    if gap <= 1.5:
        return DAILY
    if 6 <= gap <= 8:
        anchor = _WEEKDAYS[int(pd.Series(unique.day_of_week).mode().iloc[0])]
        return Frequency("W", f"W-{anchor}", 7.0, 52)
    if 27 <= gap <= 32 and (unique.day == 1).all():
        return Frequency("M", "MS", 365.25 / 12, 12)
    raise ValueError(
        f"cannot tell the frequency of the sales dates (median gap {gap:g} days): "
        "use daily dates, weekly dates on one weekday, or monthly dates on the 1st"
    )


@dataclass
class Panel:
    """Aligned history of many series.

    ``demand``: what the models fit (NaN = not observed); ``sales``: units sold as recorded
    (0 where nothing was recorded); ``censored``: stockout periods; ``price``: unit price or NaN.
    """

    keys: pd.DataFrame  # columns sku, location; row i is series i
    dates: pd.DatetimeIndex
    demand: np.ndarray
    sales: np.ndarray
    censored: np.ndarray
    price: np.ndarray
    freq: Frequency

    @property
    def n_series(self) -> int:
        return len(self.keys)

    def take(self, rows: np.ndarray) -> Panel:
        """The panel of a subset of series."""
        return Panel(
            self.keys.iloc[rows].reset_index(drop=True), self.dates, self.demand[rows],
            self.sales[rows], self.censored[rows], self.price[rows], self.freq,
        )

    def future_dates(self, horizon: int) -> pd.DatetimeIndex:
        return pd.date_range(self.dates[-1], periods=horizon + 1, freq=self.freq.pandas_freq)[1:]

    def first_observed(self) -> np.ndarray:
        """Index of each series' first observed period (T when never observed)."""
        seen = ~np.isnan(self.demand)
        return np.where(seen.any(axis=1), seen.argmax(axis=1), self.demand.shape[1])


def build_panel(sales: pd.DataFrame, freq: Frequency | None = None) -> Panel:
    """Pivot long sales (date, sku, location, quantity[, price, on_hand]) into a Panel."""
    if sales.empty:
        raise ValueError("no sales history to forecast from")
    sales = sales.copy()
    sales["date"] = pd.to_datetime(sales["date"])
    freq = freq or detect_frequency(sales["date"])
    if freq.code == "D":
        dates = pd.date_range(sales["date"].min(), sales["date"].max(), freq="D")
    else:
        # Snap to the period grid (weekly dates on their anchor, months on the 1st).
        dates = pd.date_range(sales["date"].min(), sales["date"].max(), freq=freq.pandas_freq)
        if len(dates) == 0 or dates[0] != sales["date"].min():
            dates = pd.DatetimeIndex([sales["date"].min()]).append(dates)
    keys = sales[["sku", "location"]].drop_duplicates().sort_values(["sku", "location"])
    keys = keys.reset_index(drop=True)
    key_index = pd.MultiIndex.from_frame(keys)
    row = key_index.get_indexer(pd.MultiIndex.from_frame(sales[["sku", "location"]]))
    col = dates.get_indexer(sales["date"])
    if (col < 0).any():
        bad = sales.loc[col < 0, "date"].iloc[0]
        raise ValueError(f"sales date {bad:%Y-%m-%d} is off the {freq.pandas_freq} calendar")
    n, t = len(keys), len(dates)
    quantity = sales["quantity"].to_numpy(dtype=float)
    recorded = np.zeros((n, t), dtype=bool)
    recorded[row, col] = True
    sales_m = np.zeros((n, t))
    sales_m[row, col] = quantity
    censored = np.zeros((n, t), dtype=bool)
    if "on_hand" in sales:
        on_hand = sales["on_hand"].to_numpy(dtype=float)
        censored[row, col] = on_hand <= 0
    price = np.full((n, t), np.nan)
    if "price" in sales:
        price[row, col] = sales["price"].to_numpy(dtype=float)

    started = np.maximum.accumulate(recorded, axis=1)
    sparse_daily = freq.code == "D" and not (quantity == 0).any()
    observed = started & (recorded | sparse_daily)
    demand = np.where(observed & ~censored, sales_m, np.nan)
    return Panel(keys, dates, demand, sales_m, censored, price, freq)


def to_long(keys: pd.DataFrame, dates: pd.DatetimeIndex, **columns: np.ndarray) -> pd.DataFrame:
    """(n_series, h) arrays -> long rows sku, location, date, <columns>."""
    n, h = len(keys), len(dates)
    frame = pd.DataFrame(
        {
            "sku": np.repeat(keys["sku"].to_numpy(), h),
            "location": np.repeat(keys["location"].to_numpy(), h),
            "date": np.tile(dates.values, n),
        }
    )
    for name, values in columns.items():
        frame[name] = np.asarray(values).reshape(n * h)
    return frame


def intermittent_rows(y: np.ndarray, adi: float = 1.32) -> np.ndarray:
    """Series whose average inter-demand interval (observed periods per non-zero one) exceeds
    ``adi`` (Syntetos, Boylan & Croston 2005: 1.32 separates smooth/erratic from intermittent/
    lumpy demand), over the last 365 periods; a series without demand counts as intermittent."""
    tail = y[:, -min(365, y.shape[1]) :]
    observed = (~np.isnan(tail)).sum(axis=1)
    demands = (np.nan_to_num(tail) > 0).sum(axis=1)
    return observed > adi * demands
