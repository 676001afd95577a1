"""The period grid of the covariates and the calendar covariates: calendar features, events,
public holidays (used by :func:`forecast.forecasting.features.build_covariates`).

Periods. A panel date labels the *start* of its period (a day, the week starting that day, the
month starting on the 1st). A dated fact (an event, a holiday, a campaign day) marks the period
that contains it, so for weekly and monthly panels a campaign marks every period it overlaps.
The helpers here say which period contains a date (``_period_of``) and carry values forward
along the periods (``_forward_fill``); all are pure: arrays in, arrays out.
"""

from __future__ import annotations

import holidays
import numpy as np
import pandas as pd

from forecast.forecasting.series import Frequency


# --------------------------------------------------------------------------------------------
# calendar
# --------------------------------------------------------------------------------------------
def calendar_features(dates: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Calendar features of each date, float32 arrays of ``len(dates)``.

    ``day_of_week`` (Mon = 0), ``day_of_month``, ``day_of_year_sin`` / ``_cos``
    (``sin/cos(2 pi doy / 365.25)``, so 31 Dec and 1 Jan are neighbours), ``month`` (1-12),
    ``week_of_year`` (ISO), ``is_month_start`` / ``is_month_end``.

    >>> f = calendar_features(pd.DatetimeIndex(["2024-01-01", "2024-01-31"]))
    >>> f["day_of_week"].tolist(), f["is_month_end"].tolist()
    ([0.0, 2.0], [0.0, 1.0])
    """
    dates = pd.DatetimeIndex(dates)
    angle = 2.0 * np.pi * dates.day_of_year.to_numpy() / 365.25
    out = {
        "day_of_week": dates.day_of_week.to_numpy(),
        "day_of_month": dates.day.to_numpy(),
        "day_of_year_sin": np.sin(angle),
        "day_of_year_cos": np.cos(angle),
        "month": dates.month.to_numpy(),
        "week_of_year": dates.isocalendar().week.to_numpy(),
        "is_month_start": dates.is_month_start,
        "is_month_end": dates.is_month_end,
    }
    return {name: np.asarray(values, dtype=np.float32) for name, values in out.items()}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _text(values: pd.Series) -> np.ndarray:
    """Text column with missing cells as "" and surrounding blanks stripped."""
    return values.fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _period_edges(all_dates: pd.DatetimeIndex, freq: Frequency) -> np.ndarray:
    """Start of every period plus the end of the last one, as datetime64[D]."""
    end = pd.date_range(all_dates[-1], periods=2, freq=freq.pandas_freq)[1]
    return all_dates.append(pd.DatetimeIndex([end])).values.astype("datetime64[D]")


def _period_of(days: np.ndarray, edges: np.ndarray, period_days: float = 1.0) -> np.ndarray:
    """Period index containing each day: negative before the first period (counted back in
    periods of ``period_days``), ``len(edges) - 1`` (one past the last period) after the end."""
    inside = np.searchsorted(edges, days, side="right") - 1
    days_before = (days - edges[0]).astype(np.int64)
    before = np.floor(days_before / period_days).astype(np.int64)
    return np.where(inside < 0, np.minimum(before, -1), inside)


def _forward_fill_index(mask: np.ndarray) -> np.ndarray:
    """Column of the latest True at or before each cell (-1 when none), per row."""
    idx = np.where(mask, np.arange(mask.shape[1], dtype=np.int32)[None, :], np.int32(-1))
    return np.maximum.accumulate(idx, axis=1)


def _forward_fill(values: np.ndarray) -> np.ndarray:
    """Carry the last non-NaN value of each row forward (leading NaNs stay NaN)."""
    last = _forward_fill_index(~np.isnan(values))
    rows = np.arange(values.shape[0])[:, None]
    return np.where(last >= 0, values[rows, np.maximum(last, 0)], np.nan)


# --------------------------------------------------------------------------------------------
# events and holidays
# --------------------------------------------------------------------------------------------
def _location_flags(
    dates: np.ndarray,
    locations: np.ndarray,
    series_location: np.ndarray,
    edges: np.ndarray,
    n_periods: int,
) -> np.ndarray:
    """(n, n_periods) 0/1: a dated fact at the series' location (or at every location, "")."""
    loc_names = pd.Index(pd.unique(series_location))
    n_loc = len(loc_names)
    period = _period_of(dates, edges)
    inside = (period >= 0) & (period < n_periods)
    loc_code = loc_names.get_indexer(locations)  # -1: a location with no series
    code = np.where(locations == "", n_loc, loc_code)  # row n_loc = "every location"
    use = inside & (code >= 0)
    flags = np.zeros((n_loc + 1, n_periods), dtype=np.float32)
    flags[code[use], period[use]] = 1.0
    series_code = loc_names.get_indexer(series_location)
    return np.maximum(flags[series_code], flags[n_loc][None, :])


def _event_flags(
    events: pd.DataFrame | None,
    series_location: np.ndarray,
    edges: np.ndarray,
    n: int,
    n_periods: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """0/1 any event at the series' location (or at every location), and the same per kind."""
    event = np.zeros((n, n_periods), dtype=np.float32)
    events_by_kind: dict[str, np.ndarray] = {}
    if events is not None and len(events):
        ev_dates = pd.to_datetime(events["date"]).values.astype("datetime64[D]")
        ev_loc = _text(events["location"]) if "location" in events else np.full(len(events), "")
        ev_kind = _text(events["kind"]) if "kind" in events else np.full(len(events), "event")
        event = _location_flags(ev_dates, ev_loc, series_location, edges, n_periods)
        for k in sorted(set(ev_kind)):
            sel = ev_kind == k
            events_by_kind[k or "event"] = _location_flags(
                ev_dates[sel], ev_loc[sel], series_location, edges, n_periods
            )
    return event, events_by_kind


def _holiday_flags(
    country: str | None,
    all_dates: pd.DatetimeIndex,
    edges: np.ndarray,
    n: int,
    n_periods: int,
) -> np.ndarray:
    """0/1 public holiday of ``country`` (``holidays`` package; None = none), every series."""
    holiday_row = np.zeros(n_periods, dtype=np.float32)
    if country:
        years = list(range(all_dates[0].year, all_dates[-1].year + 2))
        try:
            calendar = holidays.country_holidays(country, years=years)
        except NotImplementedError as err:
            raise ValueError(f"country {country!r} is unknown to the holidays package") from err
        hol_days = np.array(sorted(calendar), dtype="datetime64[D]")
        period = _period_of(hol_days, edges)
        period = period[(period >= 0) & (period < n_periods)]
        holiday_row[period] = 1.0
    return np.broadcast_to(holiday_row, (n, n_periods)).copy()
