"""Covariates aligned with a :class:`~forecast.forecasting.series.Panel`: campaigns, events, holidays, price.

Every array is ``(n_series, T + h)``: the ``T`` history periods of the panel followed by ``h``
future periods, so that a model reads the same column for "the campaign on that day" whether
the day is in the history (training) or in the forecast window (planned campaigns, known
events). All functions here are pure: tables and arrays in, arrays out.

This module holds :class:`Covariates` and :func:`build_covariates`, which assembles them from
the themed modules (and re-exports their public names):

- :mod:`.covariate_calendar`: the period grid (which period a dated fact marks), calendar
  features, events and public holidays;
- :mod:`.covariate_campaigns`: campaigns mapped onto series and periods, overlaps;
- :mod:`.covariate_prices`: prices, regular price, the other series of a group;
- :mod:`.campaign_uplift`: the uplift of past campaigns (:func:`estimate_campaign_uplift`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.forecasting.campaign_uplift import estimate_campaign_uplift
from forecast.forecasting.covariate_calendar import (
    _event_flags,
    _holiday_flags,
    _period_edges,
    _text,
    calendar_features,
)
from forecast.forecasting.covariate_campaigns import (
    AFTER_CAP_DAYS,
    _campaign_covariates,
    _days_after_campaign,
)
from forecast.forecasting.covariate_prices import (
    REGULAR_PRICE_DAYS,
    OthersInGroup,
    _price_matrix,
    mean_of_others,
    regular_price_matrix,
)
from forecast.forecasting.series import Frequency, detect_frequency

__all__ = [
    "Covariates",
    "OthersInGroup",
    "build_covariates",
    "calendar_features",
    "estimate_campaign_uplift",
    "mean_of_others",
    "regular_price_matrix",
]

UNKNOWN_CATEGORY = "unknown"


@dataclass
class Covariates:
    """Covariates of ``n`` series over ``T`` history periods and ``h`` future periods.

    Arrays are ``(n, T + h)`` unless stated; column ``n_history - 1`` is the last history
    period. Flags are float32 0/1, codes are small integers.
    """

    dates: pd.DatetimeIndex  # history dates followed by the future dates (T + h)
    n_history: int  # T
    campaign_active: np.ndarray  # 0/1
    campaign_discount: np.ndarray  # discount fraction 0..1 (0 when none)
    campaign_kind: np.ndarray  # int code, 0 = none; indexes kind_names
    kind_names: list[str]  # kind_names[0] == "none"
    days_into_campaign: np.ndarray  # 0, 1, 2 .. periods since the campaign began; -1 outside
    days_after_campaign: np.ndarray  # periods since the last campaign ended (1..cap); 0 otherwise
    event: np.ndarray  # 0/1 any event at the series' location (events with empty location: all)
    holiday: np.ndarray  # 0/1 country public holiday
    price: np.ndarray  # unit price (history forward-filled, future = regular x (1 - discount))
    category: np.ndarray  # (n,) int code, 0 = unknown; indexes category_names
    category_names: list[str]  # category_names[0] == "unknown"
    # -- extras used by the GBM and by the uplift estimate ---------------------------------
    after_kind: np.ndarray | None = None  # kind code of the last ended campaign (0 otherwise)
    campaign_id: np.ndarray | None = None  # row of ``campaigns`` describing the cell, -1 none
    campaigns: pd.DataFrame | None = None  # normalised campaign rows (see _normalise_campaigns)
    events_by_kind: dict[str, np.ndarray] = field(default_factory=dict)  # 0/1 per event kind
    # 0/1 per campaign kind: every campaign covering the cell, not only the strongest one (a
    # feature ad running in a week with an in-store deal keeps its own flag).
    campaigns_by_kind: dict[str, np.ndarray] = field(default_factory=dict)
    regular_price: np.ndarray | None = None  # highest price of the last REGULAR_PRICE_DAYS
    location_code: np.ndarray | None = None  # (n,) int code of the series' location
    # What the other series at the same location do in that period (cross-effects: a deal on
    # a competing brand takes sales away): share of them in a campaign, their mean price
    # relative to their regular price. NaN for a series alone at its location.
    location_campaign_share: np.ndarray | None = None
    location_relative_price: np.ndarray | None = None
    location_share_by_kind: dict[str, np.ndarray] = field(default_factory=dict)  # per kind
    period_days: float = 1.0

    @property
    def n_series(self) -> int:
        return int(self.category.shape[0])

    @property
    def horizon(self) -> int:
        """Number of future periods covered."""
        return len(self.dates) - self.n_history


def _series_categories(
    keys: pd.DataFrame, products: pd.DataFrame | None
) -> tuple[np.ndarray, list[str]]:
    names = [UNKNOWN_CATEGORY]
    if products is None or "category" not in products or products.empty:
        return np.zeros(len(keys), dtype=np.int16), names
    by_sku = pd.Series(_text(products["category"]), index=_text(products["sku"]))
    by_sku = by_sku[~by_sku.index.duplicated(keep="last")]
    series_cat = by_sku.reindex(_text(keys["sku"])).fillna("").to_numpy(dtype=object)
    known = sorted({c for c in series_cat if c and c != UNKNOWN_CATEGORY})
    names += known
    code = pd.Index(names).get_indexer(series_cat)
    return np.where(code < 0, 0, code).astype(np.int16), names


# --------------------------------------------------------------------------------------------
# covariates
# --------------------------------------------------------------------------------------------
def build_covariates(
    keys: pd.DataFrame,
    dates: pd.DatetimeIndex,
    horizon: int,
    freq: Frequency | None = None,
    *,
    campaigns: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    price: np.ndarray | None = None,
    country: str | None = "US",
) -> Covariates:
    """Covariates for the series ``keys`` (sku, location) over ``dates`` and ``horizon`` more.

    - campaigns: active / discount / kind / days into / days after (see
      :mod:`.covariate_campaigns` for the mapping and overlaps); ``days_after_campaign`` counts 1.. up to 28 days (in periods)
      after a campaign's last period, 0 inside a campaign or when none ended recently;
    - events: any row of ``events`` at the series' location or with an empty location, and
      the same flag per event ``kind`` in ``events_by_kind``;
    - holidays: public holidays of ``country`` (``holidays`` package; ``None`` = none);
    - price: history = ``price`` (the panel's ``(n, T)`` prices) forward-filled, then
      back-filled before the first known price; future = the last *regular* price (the last
      one seen outside a discounted campaign, else the last one divided by ``1 - discount``)
      x ``(1 - planned discount)``. Without ``price`` the product's ``unit_price`` is the
      regular price everywhere (NaN when unknown);
    - regular price: the highest price of the last 182 days (:func:`regular_price_matrix`), so
      that a deal recorded only as a lower price (Dominick's) shows as ``price / regular < 1``;
    - per campaign kind: 0/1 flags of every campaign covering a cell (``campaigns_by_kind``);
    - the location (other series with the same location, cross-effects of competing brands):
      share of them in a campaign (``location_campaign_share``, and per kind), their mean
      ``price / regular`` (``location_relative_price``), via :func:`mean_of_others`.

    Example: a 20% promotion on SKU ``A`` from 2 to 3 January marks exactly those days.

    >>> keys = pd.DataFrame({"sku": ["A", "B"], "location": ["s1", "s1"]})
    >>> camp = pd.DataFrame({"sku": ["A"], "category": [""], "location": [""],
    ...     "start_date": ["2024-01-02"], "end_date": ["2024-01-03"], "kind": ["price_promo"],
    ...     "discount_pct": [20.0]})
    >>> cov = build_covariates(keys, pd.date_range("2024-01-01", periods=4), 1, campaigns=camp)
    >>> cov.campaign_discount.tolist()
    [[0.0, 0.20000000298023224, 0.20000000298023224, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
    >>> cov.days_after_campaign[0].tolist()
    [0, 0, 0, 1, 2]
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
        raise ValueError(f"horizon must be a non-negative integer, got {horizon!r}")
    dates = pd.DatetimeIndex(dates)
    if len(dates) == 0:
        raise ValueError("dates is empty: no history to align covariates with")
    freq = freq or detect_frequency(dates)
    n, t_hist = len(keys), len(dates)
    future = pd.date_range(dates[-1], periods=horizon + 1, freq=freq.pandas_freq)[1:]
    all_dates = dates.append(future)
    n_periods = len(all_dates)
    edges = _period_edges(all_dates, freq)
    series_location = _text(keys["location"])
    category, category_names = _series_categories(keys, products)
    cap = max(1, int(np.ceil(AFTER_CAP_DAYS / freq.period_days)))

    camp = _campaign_covariates(
        campaigns, keys, products, category, category_names, edges, freq, n_periods
    )
    days_after, after_kind = _days_after_campaign(camp.active, camp.kind, cap)
    event, events_by_kind = _event_flags(events, series_location, edges, n, n_periods)
    holiday = _holiday_flags(country, all_dates, edges, n, n_periods)

    # -- price --------------------------------------------------------------------------------
    price_all = _price_matrix(price, products, keys, camp.discount, t_hist)
    window = max(1, round(REGULAR_PRICE_DAYS / freq.period_days))
    regular_price = regular_price_matrix(price_all, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative_price = np.where(regular_price > 0, price_all / regular_price, np.nan)
    location_code = pd.Index(pd.unique(series_location)).get_indexer(series_location)

    return Covariates(
        dates=all_dates,
        n_history=t_hist,
        campaign_active=camp.active,
        campaign_discount=camp.discount,
        campaign_kind=camp.kind,
        kind_names=camp.kind_names,
        days_into_campaign=camp.days_into,
        days_after_campaign=days_after,
        event=event,
        holiday=holiday,
        price=price_all,
        category=category,
        category_names=category_names,
        after_kind=after_kind,
        campaign_id=camp.campaign_id,
        campaigns=camp.table,
        events_by_kind=events_by_kind,
        campaigns_by_kind=camp.by_kind,
        regular_price=regular_price,
        location_code=location_code.astype(np.int32),
        location_campaign_share=mean_of_others(camp.active, location_code),
        location_relative_price=mean_of_others(relative_price, location_code),
        location_share_by_kind={
            name: mean_of_others(flags, location_code) for name, flags in camp.by_kind.items()
        },
        period_days=freq.period_days,
    )
