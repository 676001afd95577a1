"""Covariates aligned with a :class:`~forecast.forecasting.series.Panel`: campaigns, events, holidays, price.

Every array is ``(n_series, T + h)``: the ``T`` history periods of the panel followed by ``h``
future periods, so that a model reads the same column for "the campaign on that day" whether
the day is in the history (training) or in the forecast window (planned campaigns, known
events). All functions here are pure: tables and arrays in, arrays out.

Periods. A panel date labels the *start* of its period (a day, the week starting that day, the
month starting on the 1st). A dated fact (an event, a holiday, a campaign day) marks the period
that contains it, so for weekly and monthly panels a campaign marks every period it overlaps.

Campaigns (contract table ``campaigns``) name either an ``sku`` or a ``category`` (the other is
empty) and a ``location`` (empty = every location). They are mapped onto series by SKU, or by
the series' product category (``products`` table), with a vectorised interval expansion: one
``(series, period)`` cell per covered period, never a per-day Python loop. Where campaigns
overlap, the *strongest* one describes the cell: the largest discount, ties broken by the kind
whose campaigns are on average deeper (then by the later campaign row), so a price promotion
wins over an e-mail sent the same week.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import holidays
import numpy as np
import pandas as pd

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

#: Periods after a campaign for which ``days_after_campaign`` counts (28 days, in periods).
AFTER_CAP_DAYS = 28.0
#: Window of the regular price: the highest price of the last 182 days (26 weeks, 6 months).
REGULAR_PRICE_DAYS = 182.0
UNKNOWN_CATEGORY = "unknown"
NO_CAMPAIGN = "none"


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


def _normalise_campaigns(campaigns: pd.DataFrame) -> pd.DataFrame:
    """Contract columns with defaults: text as stripped str, discount as a 0..1 fraction."""
    out = pd.DataFrame(
        {
            "sku": _text(campaigns["sku"]) if "sku" in campaigns else "",
            "category": _text(campaigns["category"]) if "category" in campaigns else "",
            "location": _text(campaigns["location"]) if "location" in campaigns else "",
            "kind": _text(campaigns["kind"]) if "kind" in campaigns else "promotion",
            "start_date": pd.to_datetime(campaigns["start_date"]).to_numpy(),
            "end_date": pd.to_datetime(campaigns["end_date"]).to_numpy(),
        },
        index=pd.RangeIndex(len(campaigns)),
    )
    out.loc[out["kind"] == "", "kind"] = "promotion"
    pct = (
        pd.to_numeric(campaigns["discount_pct"], errors="coerce").to_numpy(dtype=float)
        if "discount_pct" in campaigns
        else np.zeros(len(campaigns))
    )
    out["discount"] = np.clip(np.nan_to_num(pct, nan=0.0), 0.0, 100.0) / 100.0
    return out


def _campaign_series_pairs(
    table: pd.DataFrame, keys: pd.DataFrame, category: np.ndarray, category_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(campaign row, series) pairs a campaign applies to: by SKU or by category, at its
    location or (empty location) at every location. Integer keys, no string joins."""
    sku_index = pd.Index(pd.unique(_text(keys["sku"])))
    loc_index = pd.Index(pd.unique(_text(keys["location"])))
    series_sku = sku_index.get_indexer(_text(keys["sku"])).astype(np.int64)
    series_loc = loc_index.get_indexer(_text(keys["location"])).astype(np.int64)
    series_cat = np.asarray(category, dtype=np.int64)
    n_loc = max(len(loc_index), 1)
    camp_sku = sku_index.get_indexer(table["sku"].to_numpy()).astype(np.int64)
    camp_cat = pd.Index(category_names).get_indexer(table["category"].to_numpy()).astype(np.int64)
    camp_loc = loc_index.get_indexer(table["location"].to_numpy()).astype(np.int64)
    by_sku = table["sku"].to_numpy() != ""
    by_cat = ~by_sku & (table["category"].to_numpy() != "") & (camp_cat > 0)
    every_loc = table["location"].to_numpy() == ""
    known_loc = every_loc | (camp_loc >= 0)
    rows, series = [], []
    for use, camp_key, series_key in (
        (
            by_sku & ~every_loc & known_loc,
            camp_sku * n_loc + camp_loc,
            series_sku * n_loc + series_loc,
        ),
        (by_sku & every_loc, camp_sku, series_sku),
        (
            by_cat & ~every_loc & known_loc,
            camp_cat * n_loc + camp_loc,
            series_cat * n_loc + series_loc,
        ),
        (by_cat & every_loc, camp_cat, series_cat),
    ):
        r, i = _match(np.flatnonzero(use & (camp_key >= 0)), camp_key, series_key)
        rows.append(r)
        series.append(i)
    return np.concatenate(rows), np.concatenate(series)


def _match(
    campaign_rows: np.ndarray, campaign_key: np.ndarray, series_key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All (campaign row, series) pairs with equal keys, by a sorted search on the series."""
    order = np.argsort(series_key, kind="stable")
    sorted_key = series_key[order]
    key = campaign_key[campaign_rows]
    lo = np.searchsorted(sorted_key, key, side="left")
    hi = np.searchsorted(sorted_key, key, side="right")
    owner, position = _expand_intervals(lo, hi - 1)
    return campaign_rows[owner], order[position]


def _expand_intervals(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval expansion: for intervals [first_j, last_j] return (interval j, period) per cell."""
    lengths = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(first.size), lengths)
    offsets = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, first[owner] + offsets


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

    - campaigns: active / discount / kind / days into / days after (see module doc for the
      mapping and overlaps); ``days_after_campaign`` counts 1.. up to 28 days (in periods)
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

    # -- campaigns ----------------------------------------------------------------------------
    active = np.zeros((n, n_periods), dtype=np.float32)
    discount = np.zeros((n, n_periods), dtype=np.float32)
    kind = np.zeros((n, n_periods), dtype=np.int16)
    days_into = np.full((n, n_periods), -1, dtype=np.int32)
    campaign_id = np.full((n, n_periods), -1, dtype=np.int32)
    kind_names = [NO_CAMPAIGN]
    campaigns_by_kind: dict[str, np.ndarray] = {}
    table = None
    if campaigns is not None and len(campaigns):
        table = _normalise_campaigns(campaigns)
        kind_names += sorted(set(table["kind"]) - {NO_CAMPAIGN})
        table["kind_code"] = pd.Index(kind_names).get_indexer(table["kind"]).astype(np.int16)
        table["first_period"] = _period_of(
            table["start_date"].values.astype("datetime64[D]"), edges, freq.period_days
        )
        table["last_period"] = np.minimum(
            _period_of(table["end_date"].values.astype("datetime64[D]"), edges), n_periods - 1
        )
        if products is None and ((table["sku"] == "") & (table["category"] != "")).any():
            warnings.warn(
                "campaigns name categories but no products table was given: "
                "category-wide campaigns are ignored",
                stacklevel=2,
            )
        row, series = _campaign_series_pairs(table, keys, category, category_names)
        first = table["first_period"].to_numpy()[row]
        last = table["last_period"].to_numpy()[row]
        ok = (last >= 0) & (first < n_periods) & (last >= first)
        row, series = row[ok], series[ok]
        first_c = np.maximum(first[ok], 0)
        owner, period = _expand_intervals(first_c, last[ok])
        cell_row, cell_series = row[owner], series[owner]
        flat = cell_series * n_periods + period
        # Strongest campaign per cell: max discount, then the kind deeper on average, then row.
        kind_depth = table.groupby("kind_code")["discount"].mean()
        depth_rank = kind_depth.rank(method="first").reindex(range(len(kind_names))).fillna(0)
        cell_disc = table["discount"].to_numpy()[cell_row]
        cell_kind = table["kind_code"].to_numpy()[cell_row]
        order = np.lexsort((cell_row, depth_rank.to_numpy()[cell_kind], cell_disc, flat))
        flat_sorted = flat[order]
        last_of_group = np.r_[flat_sorted[1:] != flat_sorted[:-1], True] if flat.size else []
        win = order[last_of_group]
        s_win, p_win, r_win = cell_series[win], period[win], cell_row[win]
        active[s_win, p_win] = 1.0
        discount[s_win, p_win] = cell_disc[win]
        kind[s_win, p_win] = cell_kind[win]
        campaign_id[s_win, p_win] = r_win
        start_of = table["first_period"].to_numpy()[r_win]
        days_into[s_win, p_win] = p_win - start_of  # may exceed p - 0 when it began before T0
        for code, name in enumerate(kind_names[1:], start=1):
            sel = cell_kind == code
            flags = np.zeros((n, n_periods), dtype=np.float32)
            flags[cell_series[sel], period[sel]] = 1.0
            campaigns_by_kind[name] = flags

    # Periods since the last campaign period, and the kind of that campaign.
    is_active = active > 0
    last_active = _forward_fill_index(is_active)
    since = np.arange(n_periods, dtype=np.int32)[None, :] - last_active
    recent = (~is_active) & (last_active >= 0) & (since <= cap)
    days_after = np.where(recent, since, 0).astype(np.int32)
    rows = np.arange(n)[:, None]
    after_kind = np.where(recent, kind[rows, np.maximum(last_active, 0)], 0).astype(np.int16)

    # -- events and holidays ------------------------------------------------------------------
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
    holiday = np.broadcast_to(holiday_row, (n, n_periods)).copy()

    # -- price --------------------------------------------------------------------------------
    price_all = _price_matrix(price, products, keys, discount, t_hist)
    window = max(1, round(REGULAR_PRICE_DAYS / freq.period_days))
    regular_price = regular_price_matrix(price_all, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative_price = np.where(regular_price > 0, price_all / regular_price, np.nan)
    location_code = pd.Index(pd.unique(series_location)).get_indexer(series_location)

    return Covariates(
        dates=all_dates,
        n_history=t_hist,
        campaign_active=active,
        campaign_discount=discount,
        campaign_kind=kind,
        kind_names=kind_names,
        days_into_campaign=days_into,
        days_after_campaign=days_after,
        event=event,
        holiday=holiday,
        price=price_all,
        category=category,
        category_names=category_names,
        after_kind=after_kind,
        campaign_id=campaign_id,
        campaigns=table,
        events_by_kind=events_by_kind,
        campaigns_by_kind=campaigns_by_kind,
        regular_price=regular_price,
        location_code=location_code.astype(np.int32),
        location_campaign_share=mean_of_others(active, location_code),
        location_relative_price=mean_of_others(relative_price, location_code),
        location_share_by_kind={
            name: mean_of_others(flags, location_code) for name, flags in campaigns_by_kind.items()
        },
        period_days=freq.period_days,
    )


def regular_price_matrix(price: np.ndarray, window: int) -> np.ndarray:
    """Regular (non-promotional) price: the highest price of the last ``window`` periods.

    ``regular[i, t] = max(price[i, t - window + 1 .. t])`` (NaN prices ignored; NaN when all
    are). Promotions lower the shelf price for a few periods and the price returns to its
    regular level after them, so a trailing maximum recovers the regular price from the price
    column alone (Dominick's campaigns carry no discount: the deal is in the price). Only
    prices up to ``t`` are used: in the forecast window these are the planned prices.

    >>> regular_price_matrix(np.array([[2.0, 1.5, np.nan, 2.0, 2.5, 1.0, 1.0]]), 3).tolist()
    [[2.0, 2.0, 2.0, 2.0, 2.5, 2.5, 2.5]]
    """
    from scipy.ndimage import maximum_filter1d

    values = np.asarray(price, dtype=np.float64)
    known = np.where(np.isnan(values), -np.inf, values)
    # origin shifts the window to end at t (the default centres it).
    high = maximum_filter1d(known, size=window, axis=1, mode="nearest", origin=(window - 1) // 2)
    return np.where(np.isfinite(high), high, np.nan).astype(np.float32)


def mean_of_others(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Mean of each column over the *other* rows of the same group (NaN-aware; NaN when the
    row has no other observed member), by per-group sums: ``(sum_g - own) / (count_g - 1)``.

    >>> mean_of_others(np.array([[1.0], [3.0], [5.0]]), np.array([0, 0, 1])).ravel().tolist()
    [3.0, 1.0, nan]
    """
    values = np.asarray(values, dtype=np.float64)
    known = ~np.isnan(values)
    filled = np.where(known, values, 0.0)
    n_groups = int(group.max()) + 1 if group.size else 0
    sums = np.zeros((n_groups, values.shape[1]))
    counts = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, group, filled)
    np.add.at(counts, group, known)
    other_sum = sums[group] - filled
    other_count = counts[group] - known
    out = np.divide(
        other_sum, other_count, out=np.full(values.shape, np.nan), where=other_count > 0
    )
    return out.astype(np.float32)


class OthersInGroup:
    """Mean (weighted, as :func:`mean_of_others`) and smallest value of the *other* rows of the
    same group, for single ``(row, period)`` cells, from per-group statistics: memory
    ``groups x T`` instead of ``rows x T`` per feature (10,000 series in a few categories: a few
    kilobytes instead of 30 MB per feature and fit).

    >>> v = np.array([[0.8], [0.9], [1.0], [0.7]])
    >>> others = OthersInGroup(np.array([0, 0, 0, 1]), np.array([1.0, 1.0, 2.0, 1.0]))
    >>> others.add("price", v)
    >>> rows, periods = np.arange(4), np.zeros(4, int)
    >>> [round(float(x), 3) for x in others.mean("price", rows, periods)]
    [0.967, 0.933, 0.85, nan]
    >>> [round(float(x), 2) for x in others.min("price", rows, periods)]
    [0.9, 0.8, 0.8, nan]
    """

    def __init__(self, group: np.ndarray, weights: np.ndarray | None = None):
        self.group = np.unique(np.asarray(group), return_inverse=True)[1].ravel()
        n = self.group.size
        self.weights = np.ones(n) if weights is None else np.asarray(weights, np.float64)
        # Rows sorted by group once: per-group reductions by reduceat (ufunc.at took seconds
        # per feature at 10,000 series x 758 periods).
        self._order = np.argsort(self.group, kind="stable")
        self._starts = np.flatnonzero(np.r_[True, np.diff(self.group[self._order]) != 0])
        self._values: dict[str, np.ndarray] = {}
        self._sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._mins: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def add(self, name: str, values: np.ndarray, mean: bool = True, minimum: bool = True) -> None:
        """Register ``values`` (rows x T, kept by reference) under ``name``."""
        self._values[name] = values
        if not values.size:
            return
        order, starts = self._order, self._starts
        v = np.asarray(values, dtype=np.float64)[order]
        known = ~np.isnan(v)
        if mean:
            w = self.weights[order][:, None]
            sums = np.add.reduceat(np.where(known, v, 0.0) * w, starts, axis=0)
            mass = np.add.reduceat(known * w, starts, axis=0)
            self._sums[name] = (sums, mass)
        if minimum:
            v = np.where(known, v, np.inf)
            first = np.minimum.reduceat(v, starts, axis=0)
            member = self.group[order]
            is_first = v == first[member]
            count = np.add.reduceat(is_first.astype(np.int32), starts, axis=0)
            second = np.minimum.reduceat(np.where(is_first, np.inf, v), starts, axis=0)
            self._mins[name] = (first, second, count)

    def mean(self, name: str, i: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Weighted mean of ``name`` over the other rows of row ``i``'s group in period ``t``."""
        sums, mass = self._sums[name]
        own = self._values[name][i, t].astype(np.float64)
        known = ~np.isnan(own)
        g, w = self.group[i], self.weights[i]
        num = sums[g, t] - np.where(known, own * w, 0.0)
        den = mass[g, t] - np.where(known, w, 0.0)
        ok = den > 1e-9 * np.maximum(mass[g, t], 1e-300)
        return np.divide(num, den, out=np.full(num.shape, np.nan), where=ok).astype(np.float32)

    def min(self, name: str, i: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Smallest ``name`` over the other rows of row ``i``'s group in period ``t``."""
        first, second, count = self._mins[name]
        own = self._values[name][i, t]
        g = self.group[i]
        alone_at_min = (own == first[g, t]) & (count[g, t] == 1)
        value = np.where(alone_at_min, second[g, t], first[g, t])
        return np.where(np.isinf(value), np.nan, value).astype(np.float32)


def _price_matrix(
    price: np.ndarray | None,
    products: pd.DataFrame | None,
    keys: pd.DataFrame,
    discount: np.ndarray,
    t_hist: int,
) -> np.ndarray:
    """History prices forward/back-filled; future = last regular price x (1 - discount)."""
    n = discount.shape[0]
    if price is None:
        regular = np.full(n, np.nan)
        if products is not None and "unit_price" in products:
            unit = pd.Series(
                pd.to_numeric(products["unit_price"], errors="coerce").to_numpy(dtype=float),
                index=_text(products["sku"]),
            )
            unit = unit[~unit.index.duplicated(keep="last")]
            regular = unit.reindex(_text(keys["sku"])).to_numpy(dtype=float)
        return (regular[:, None] * (1.0 - discount)).astype(np.float32)
    price = np.asarray(price, dtype=float)
    if price.shape != (n, t_hist):
        raise ValueError(f"price has shape {price.shape}, expected (n_series, T) = {(n, t_hist)}")
    hist = _forward_fill(price)
    hist = _forward_fill(hist[:, ::-1])[:, ::-1]  # leading NaNs: the first known price
    disc_hist = discount[:, :t_hist].astype(float)
    undiscounted = np.where(disc_hist > 0, np.nan, np.where(np.isnan(price), np.nan, price))
    regular = _forward_fill(undiscounted)[:, -1]
    fallback = hist[:, -1] / np.maximum(1.0 - disc_hist[:, -1], 0.05)
    regular = np.where(np.isnan(regular), fallback, regular)
    future = regular[:, None] * (1.0 - discount[:, t_hist:].astype(float))
    return np.concatenate([hist, future], axis=1).astype(np.float32)


# --------------------------------------------------------------------------------------------
# campaign uplift from past campaigns
# --------------------------------------------------------------------------------------------
def estimate_campaign_uplift(
    panel_demand: np.ndarray,
    covariates: Covariates,
    *,
    baseline_weeks: int = 4,
    post_days: float = 7.0,
    min_baseline: int = 2,
) -> pd.DataFrame:
    """Demand multiplier of past campaigns per (kind, category), and of the days after them.

    For every observed campaign period of the history (censored periods, NaN, are skipped, as
    are event and holiday periods) the *baseline* is the series' own demand on the same weekday
    over the ``baseline_weeks`` weeks before the campaign's first period (daily panels; for
    weekly / monthly panels the ``baseline_weeks`` periods before it), using only "clean"
    periods: observed, outside campaigns, outside the ``post_days`` after a campaign, no event,
    no holiday; at least ``min_baseline`` of them. Pooled per (kind, category) as a ratio of
    sums over all usable campaign periods of all series::

        uplift = sum(demand during campaigns) / sum(baseline of the same periods)
        post_dip = sum(demand in the post_days after) / sum(baseline of those periods)

    (ratio of sums: robust to the many zero-baseline periods of slow movers, and weighted by
    volume so that a few noisy small series cannot dominate). ``post_dip`` is measured on the
    ``post_days`` after a campaign of that kind (NaN when none could be measured).

    Returns a DataFrame with columns kind, category, campaigns (number of distinct campaigns
    with at least one usable period), periods (usable campaign cells), uplift, post_dip.
    """
    y = np.asarray(panel_demand, dtype=float)
    t_hist = covariates.n_history
    if y.shape != (covariates.n_series, t_hist):
        raise ValueError(
            f"panel_demand has shape {y.shape}, covariates expect {(covariates.n_series, t_hist)}"
        )
    columns = ["kind", "category", "campaigns", "periods", "uplift", "post_dip"]
    if covariates.campaign_id is None or covariates.campaigns is None:
        return pd.DataFrame(columns=columns)
    n = y.shape[0]
    rows = np.arange(n)[:, None]
    step = 7 if covariates.period_days < 1.5 else 1
    post_periods = max(1, int(np.ceil(post_days / covariates.period_days)))

    cid = covariates.campaign_id[:, :t_hist]
    active = cid >= 0
    after = covariates.days_after_campaign[:, :t_hist]
    in_post = (after > 0) & (after <= post_periods)
    special = (covariates.event[:, :t_hist] > 0) | (covariates.holiday[:, :t_hist] > 0)
    observed = ~np.isnan(y)
    clean = observed & ~active & ~in_post & ~special

    # Same-weekday sums over `baseline_weeks` weeks, backwards (ending at t) and forwards
    # (starting at t): back[t] = sum_k clean y[t - step k], fwd[t] = sum_k clean y[t + step k].
    y_clean = np.where(clean, y, 0.0)
    back_sum, fwd_sum = np.zeros_like(y_clean), np.zeros_like(y_clean)
    back_n, fwd_n = np.zeros(y.shape, dtype=np.int32), np.zeros(y.shape, dtype=np.int32)
    for k in range(baseline_weeks):
        shift = step * k
        if shift >= t_hist:
            break
        back_sum[:, shift:] += y_clean[:, : t_hist - shift]
        back_n[:, shift:] += clean[:, : t_hist - shift]
        fwd_sum[:, : t_hist - shift] += y_clean[:, shift:]
        fwd_n[:, : t_hist - shift] += clean[:, shift:]

    # Each campaign or post-campaign period refers to its campaign run: first and last period.
    t_index = np.arange(t_hist)[None, :]
    was_active = np.zeros_like(active)
    was_active[:, 1:] = active[:, :-1]
    run_start = _forward_fill_index(active & ~was_active)
    next_idle = np.where(~active, t_index, t_hist)[:, ::-1]
    next_idle = np.minimum.accumulate(next_idle, axis=1)[:, ::-1]
    last_active = _forward_fill_index(active)
    run_end = np.where(active, next_idle - 1, last_active)
    last_id = np.where(last_active >= 0, cid[rows, np.maximum(last_active, 0)], -1)

    # Baseline of period t: same weekday, the weeks just before the run and the weeks just after
    # its post-campaign window; the mean of the two sides cancels a linear trend or season.
    before = t_index - step * ((t_index - run_start) // step + 1)
    after_src = t_index + step * ((run_end + post_periods - t_index) // step + 1)
    sides = []
    for src, sums, counts in ((before, back_sum, back_n), (after_src, fwd_sum, fwd_n)):
        ok = (run_start >= 0) & (src >= 0) & (src < t_hist)
        at = np.clip(src, 0, t_hist - 1)
        c = np.where(ok, counts[rows, at], 0)
        mean = np.divide(
            np.where(ok, sums[rows, at], 0.0),
            c,
            out=np.full(y.shape, np.nan),
            where=c >= min_baseline,
        )
        sides.append(mean)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        baseline = np.nanmean(np.stack(sides), axis=0)
    good = ~np.isnan(baseline) & observed & ~special

    table = covariates.campaigns
    kind_code = table["kind_code"].to_numpy()
    category = np.broadcast_to(covariates.category[:, None], y.shape)
    frames = []
    for label, mask, ids in (
        ("uplift", good & active, cid),
        ("post_dip", good & in_post & (last_id >= 0), last_id),
    ):
        r, c = np.nonzero(mask)
        frames.append(
            pd.DataFrame(
                {
                    "measure": label,
                    "kind": kind_code[ids[r, c]],
                    "category": category[r, c],
                    "campaign": ids[r, c],
                    "actual": y[r, c],
                    "baseline": baseline[r, c],
                }
            )
        )
    cells = pd.concat(frames, ignore_index=True)
    if cells.empty:
        return pd.DataFrame(columns=columns)
    grouped = cells.groupby(["measure", "kind", "category"]).agg(
        actual=("actual", "sum"),
        baseline=("baseline", "sum"),
        campaigns=("campaign", "nunique"),
        periods=("actual", "size"),
    )
    grouped["ratio"] = grouped["actual"] / grouped["baseline"].where(grouped["baseline"] > 0)
    uplift = grouped.loc["uplift"]
    post = grouped["ratio"].get("post_dip", pd.Series(dtype=float))
    out = pd.DataFrame(
        {
            "kind": np.asarray(covariates.kind_names, dtype=object)[
                uplift.index.get_level_values("kind")
            ],
            "category": np.asarray(covariates.category_names, dtype=object)[
                uplift.index.get_level_values("category")
            ],
            "campaigns": uplift["campaigns"].to_numpy(dtype=np.int64),
            "periods": uplift["periods"].to_numpy(dtype=np.int64),
            "uplift": uplift["ratio"].to_numpy(dtype=float),
            "post_dip": post.reindex(uplift.index).to_numpy(dtype=float),
        }
    )
    return out.sort_values(["kind", "category"], ignore_index=True)
