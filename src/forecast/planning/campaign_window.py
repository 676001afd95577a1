"""Which forecast periods of each series fall under a planned campaign.

The plan reports how far the lead-time demand it protects lies above (or below) the forecast's
usual rate, and names the cause: a planned campaign inside the protection interval, or else the
forecast's own shape (season, events, a lumpy part's repeated peak). The campaigns are mapped
onto the series exactly as the forecast's covariates map them (by SKU, or by the product's
category; at one location or at every one: :func:`forecast.forecasting.features.build_covariates`),
so a campaign counts for the plan where it counted for the forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.features import build_covariates
from forecast.forecasting.series import DAILY, Frequency, detect_frequency


def _frequency(dates: pd.DatetimeIndex, period_days: float) -> Frequency:
    """The forecast's frequency from its dates; from ``period_days`` for a one-period forecast."""
    if len(dates) >= 2:
        return detect_frequency(dates)
    if period_days >= 27:
        return Frequency("M", "MS", 365.25 / 12, 12)
    if period_days >= 6:
        return Frequency("W", f"W-{dates[0].day_name()[:3].upper()}", 7.0, 52)
    return DAILY


def campaign_periods(
    forecast: DemandForecast,
    campaigns: pd.DataFrame | None,
    products: pd.DataFrame | None,
    period_days: float = 1.0,
) -> np.ndarray:
    """(n, h) bool: forecast period j of series i is covered by a campaign (any kind).

    >>> from forecast.forecasting.distribution import DemandForecast
    >>> keys = pd.DataFrame({"sku": ["A", "B"], "location": ["s1", "s1"]})
    >>> fc = DemandForecast(keys, pd.date_range("2024-01-01", periods=4), np.ones((2, 4)),
    ...                     np.full(2, np.inf), np.zeros(2), np.array(["ets", "ets"]))
    >>> camp = pd.DataFrame({"sku": ["A"], "category": [""], "location": [""],
    ...     "start_date": ["2024-01-02"], "end_date": ["2024-01-03"], "kind": ["promotion"]})
    >>> campaign_periods(fc, camp, None).astype(int).tolist()
    [[0, 1, 1, 0], [0, 0, 0, 0]]
    """
    n, h = forecast.mean.shape
    if campaigns is None or campaigns.empty or n == 0 or h == 0:
        return np.zeros((n, h), dtype=bool)
    freq = _frequency(pd.DatetimeIndex(forecast.dates), period_days)
    before = pd.DatetimeIndex([forecast.dates[0] - to_offset(freq.pandas_freq)])
    cov = build_covariates(forecast.keys[["sku", "location"]], before, h, freq, campaigns=campaigns,
                           products=products, country=None)
    return cov.campaign_active[:, 1:] > 0


def covered_within(periods: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(n,) bool: a covered period among the first ``ceil(length)`` of each row (the periods
    a protection interval of that many periods, starting now, touches).

    >>> covered_within(np.array([[0, 0, 1], [0, 0, 1]], bool), np.array([2.5, 2.0])).tolist()
    [True, False]
    """
    n, h = periods.shape
    if h == 0:
        return np.zeros(n, dtype=bool)
    reach = np.clip(np.ceil(np.asarray(length, dtype=float) - 1e-9), 0, h).astype(int)
    seen = np.cumsum(periods, axis=1) > 0
    return np.where(reach > 0, seen[np.arange(n), np.maximum(reach - 1, 0)], False)
