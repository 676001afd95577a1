"""Flash sales: the forecast capped by the stock set aside, and the largest set-aside the
sale can promise.

**Flash sales** (campaign kind :data:`forecast.ingest.contract.FLASH_SALE` with ``stock_quantity`` S).
The engine forecasts the sale like any campaign kind (its uplift is learned per kind and
category). The sale sells only the S units set aside for it, so demand inside the sale window W
is sold through until S runs out: on a sample path with uncapped daily demand D_t,

    capped D'_t = min(C_t, S) - min(C_{t-1}, S),   C_t = sum of D_u for u in W, u <= t,

so the window sum is min(X, S), X = sum over W of D_t. Daily means inside W are scaled by one
factor per sale, f = E[min(X, S)] / E[X] (estimated on ``cap_paths`` sample paths of the
forecast model with a fixed seed), so the stored forecast, the recommendations and the
simulation see the capped expectation; the daily quantiles come from the scaled mean (and never
exceed S). Planning reads a :class:`CappedForecast`: window means are the sums of those scaled
daily means, window standard deviations are the model's scaled by sd(capped sums) / sd(uncapped
sums) on common sample paths, and window quantiles inside a sale never exceed S. One set-aside
per SKU and location the campaign covers (a campaign for a category or for every location sets
aside S at each of them). Sale windows are cut at the forecast horizon; a sale wholly beyond it
gets no forecast figures but its promise is still checked.

**Available to promise** (the largest set-aside the sale can promise without backordering other
customers' orders). Cumulative ATP with look-ahead (APICS Dictionary, "available-to-promise";
Vollmann, Berry, Whybark & Jacobs, *Manufacturing Planning and Control for Supply Chain
Management*, 5th ed., Ch. 6, cumulative ATP), on days d after ``as_of``:

    A(d) = on hand + receipts arriving by d (open POs and recommended orders)
           - committed (open customer order lines) - regular demand of days 1..d
           - safety stock (the policy's, at least 0)
    max promisable = max(0, min over d in [sale start, max(sale start, R)] of A(d))

R = as_of + lead time is the first day a new order placed today can arrive: until then only
the stock and supply already planned can cover what the sale takes, after it more can be
bought. Regular demand is the forecast outside flash-sale windows and the series' baseline rate
(:func:`forecast.planning.policies.baseline_rate`, campaign-free) inside them: the customers who would
have bought anyway keep coming and must be served from the stock not set aside. Promising x
lowers every A(d) from the sale start by x, so x <= min A(d) keeps every A(d) >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.ingest.contract import FLASH_SALE
from forecast.planning.sales_models.common import (
    ALERT_COLUMNS,
    KEYS,
    SalesModelConfig,
    product_flags,
)

#: Columns of the ``flash_sales`` output table (and ``exports/flash_sales.csv``).
FLASH_SALE_COLUMNS = [
    "sku", "location", "start_date", "end_date", "stock_quantity", "forecast_uncapped",
    "forecast_capped", "sellout_probability", "cap_factor", "on_hand", "committed",
    "safety_stock", "next_receipt_date", "max_promisable", "max_promisable_confirmed",
    "binding_date", "shortfall", "verdict",
]


# -- flash sales: windows and the cap on sample paths ---------------------------------------
def _covered_periods(
    start: pd.Series, end: pd.Series, dates: pd.DatetimeIndex, period_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last forecast period overlapping [start, end] (days inclusive); -1
    when none does (the sale lies beyond the horizon). Period t covers
    [dates[t], dates[t] + period_days)."""
    lo = dates.values[None, :]
    hi = (dates + pd.to_timedelta(period_days, unit="D")).values[None, :]
    s = pd.to_datetime(start).values[:, None]
    e = (pd.to_datetime(end) + pd.Timedelta(days=1)).values[:, None]  # end day is in the sale
    overlap = (lo < e) & (hi > s)
    any_ = overlap.any(axis=1)
    first = np.where(any_, overlap.argmax(axis=1), -1)
    last = np.where(any_, overlap.shape[1] - overlap[:, ::-1].argmax(axis=1), -1)
    return first, last


def flash_sale_windows(
    campaigns: pd.DataFrame,
    keys: pd.DataFrame,
    products: pd.DataFrame,
    dates: pd.DatetimeIndex,
    period_days: float,
    as_of: date,
) -> pd.DataFrame:
    """One row per flash sale and series it covers that has not ended by ``as_of``.

    A campaign names an ``sku`` or a ``category``; an empty ``location`` covers every location.
    Columns: sku, location, start_date, end_date, stock_quantity, row (the series' row in
    ``keys``), start, stop (forecast periods [start, stop); -1 beyond the horizon)."""
    columns = ["sku", "location", "start_date", "end_date", "stock_quantity", "row", "start", "stop"]
    if campaigns.empty or "kind" not in campaigns:
        return pd.DataFrame(columns=columns)
    kind = campaigns["kind"].fillna("").astype(str).str.strip().str.lower()
    sales = campaigns[kind == FLASH_SALE].reindex(columns=[*campaigns.columns, "stock_quantity"]
                                                   if "stock_quantity" not in campaigns else campaigns.columns)
    # the contract rejects a flash sale without its stock; an ended sale caps nothing
    sales = sales[(pd.to_datetime(sales["end_date"]) > pd.Timestamp(as_of))
                  & sales["stock_quantity"].notna()]
    if sales.empty:
        return pd.DataFrame(columns=columns)
    for col in ("sku", "category", "location"):
        sales[col] = sales[col].fillna("").astype(str) if col in sales else ""
    series = keys[KEYS].astype(str).reset_index(drop=True)
    series["row"] = np.arange(len(series))
    series = series.merge(product_flags(products)[["sku", "category"]], on="sku", how="left")
    series["category"] = series["category"].fillna("")
    sales["_id"] = np.arange(len(sales))
    by_sku = sales[sales["sku"] != ""].merge(
        series.rename(columns={"location": "series_location"}).drop(columns="category"),
        on="sku")
    by_cat = sales[(sales["sku"] == "") & (sales["category"] != "")].drop(columns="sku").merge(
        series.rename(columns={"location": "series_location"}), on="category")
    pairs = pd.concat([by_sku, by_cat], ignore_index=True)
    pairs = pairs[(pairs["location"] == "") | (pairs["location"] == pairs["series_location"])]
    pairs = pairs.drop(columns="location").rename(columns={"series_location": "location"})
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    # A series named by its SKU and by its category in the same sale counts once.
    pairs = pairs.drop_duplicates(["_id", "row"]).sort_values(["row", "start_date", "_id"])
    pairs["start_date"] = pd.to_datetime(pairs["start_date"])
    pairs["end_date"] = pd.to_datetime(pairs["end_date"])
    pairs["stock_quantity"] = pairs["stock_quantity"].astype(float)
    start, stop = _covered_periods(pairs["start_date"], pairs["end_date"], dates, period_days)
    pairs["start"], pairs["stop"] = start, stop
    return pairs[columns].reset_index(drop=True)


def cap_paths(
    paths: np.ndarray, rows: np.ndarray, starts: np.ndarray, stops: np.ndarray, stock: np.ndarray
) -> np.ndarray:
    """Sample paths (n, paths, h) with each sale's demand sold through its set-aside stock.

    For sale k on series ``rows[k]`` over periods [starts[k], stops[k]) with stock S:
    D'_t = min(C_t, S) - min(C_{t-1}, S), C_t the cumulative demand of the window up to t, so
    the window sum is min(X, S) and nothing sells after the stock is gone. One vectorised pass
    per sale (there are a handful), in the given order.

    >>> p = np.array([[[3.0, 4.0, 5.0, 6.0]]])
    >>> cap_paths(p, np.array([0]), np.array([1]), np.array([4]), np.array([7.0]))[0, 0].tolist()
    [3.0, 4.0, 3.0, 0.0]
    """
    out = np.array(paths, dtype=float, copy=True)
    for r, a, b, s in zip(rows, starts, stops, stock, strict=True):
        b = min(int(b), out.shape[2])
        if int(a) >= b:
            continue
        cum = np.minimum(np.cumsum(out[r, :, a:b], axis=-1), s)
        out[r, :, a:b] = np.diff(cum, axis=-1, prepend=0.0)
    return out


def _window_weights(start: np.ndarray, length: np.ndarray, h: int) -> np.ndarray:
    """(n, h) weight of each period in [start, start + length), fractional ends as in
    :meth:`DemandForecast.window_moments`."""
    t = np.arange(h)[None, :]
    s = np.asarray(start, dtype=float)[:, None]
    e = s + np.asarray(length, dtype=float)[:, None]
    return np.clip(np.minimum(t + 1, e) - np.maximum(t, s), 0.0, 1.0)


@dataclass
class CappedForecast(DemandForecast):
    """A forecast whose flash-sale windows are capped by the stock set aside.

    ``mean`` holds the capped expectation (scaled inside the windows); ``base_mean`` the
    forecast without the cap; ``caps`` one row per sale inside the horizon (row, start, stop,
    stock). Sample paths are drawn from ``base_mean`` and capped (:func:`cap_paths`); window
    moments and quantiles follow the module doc; draws behind them use ``cap_seed``.
    """

    base_mean: np.ndarray = field(default=None)  # type: ignore[assignment]
    caps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["row", "start", "stop", "stock"]))
    cap_paths: int = 2000
    cap_seed: int = 0

    def __post_init__(self) -> None:
        if self.base_mean is None:
            self.base_mean = self.mean

    def base(self) -> DemandForecast:
        """The same forecast without the cap."""
        return DemandForecast(self.keys, self.dates, self.base_mean, self.size, self.level_var, self.model,
                              self.floor)

    def take(self, rows: np.ndarray) -> CappedForecast:
        rows = np.asarray(rows, dtype=int)
        new_index = np.full(len(self.keys), -1)
        new_index[rows] = np.arange(len(rows))
        caps = self.caps.assign(row=new_index[self.caps["row"].to_numpy(dtype=int)])
        part = DemandForecast.take(self, rows)
        return CappedForecast(
            part.keys, part.dates, part.mean, part.size, part.level_var, part.model, part.floor,
            base_mean=self.base_mean[rows], caps=caps[caps["row"] >= 0].reset_index(drop=True),
            cap_paths=self.cap_paths, cap_seed=self.cap_seed,
        )

    def _cap_arrays(self, caps: pd.DataFrame, rows: np.ndarray | None = None):
        index = caps["row"].to_numpy(dtype=int)
        if rows is not None:
            index = np.searchsorted(rows, index)
        return (index, caps["start"].to_numpy(dtype=int), caps["stop"].to_numpy(dtype=int),
                caps["stock"].to_numpy(dtype=float))

    def sample_paths(self, n_paths: int, rng: np.random.Generator, horizon: int | None = None) -> np.ndarray:
        """Paths of the uncapped model, each sale then sold through its stock."""
        paths = self.base().sample_paths(n_paths, rng, horizon)
        return cap_paths(paths, *self._cap_arrays(self.caps))

    def capped_rows(self) -> np.ndarray:
        return np.unique(self.caps["row"].to_numpy(dtype=int))

    def _paths(self, rows: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """(uncapped, capped) paths of ``rows`` (sorted), from ``cap_seed``."""
        rng = np.random.default_rng(self.cap_seed)
        uncapped = self.base().take(rows).sample_paths(self.cap_paths, rng, horizon)
        return uncapped, cap_paths(uncapped, *self._cap_arrays(self.caps, rows))

    def window_moments(self, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean: sum of the capped daily means. S.d.: the uncapped model's, times
        sd(capped sums) / sd(uncapped sums) on common sample paths (1 for windows a sale does
        not touch)."""
        start = np.asarray(start, dtype=float)
        length = np.asarray(length, dtype=float)
        total, _ = DemandForecast.window_moments(self, start, length)
        _, sd = self.base().window_moments(start, length)
        rows = self.capped_rows()
        if len(rows) == 0 or len(length) == 0:
            return total, sd
        horizon = max(self.mean.shape[1], int(np.ceil(np.nanmax(start[rows] + length[rows]))), 1)
        uncapped, capped = self._paths(rows, horizon)
        weight = _window_weights(start[rows], length[rows], horizon)[:, None, :]
        sd_u = (uncapped * weight).sum(axis=2).std(axis=1)
        sd_c = (capped * weight).sum(axis=2).std(axis=1)
        ratio = np.divide(sd_c, sd_u, out=np.ones_like(sd_u), where=sd_u > 0)
        sd = sd.copy()
        sd[rows] = sd[rows] * ratio
        return total, sd

    def _inside_cap(self, start: np.ndarray, length: np.ndarray) -> np.ndarray:
        """Per series: the smallest stock of a sale whose window holds all of
        [start, start + length) (inf when none does)."""
        bound = np.full(len(self.keys), np.inf)
        if self.caps.empty:
            return bound
        r, a, b, s = self._cap_arrays(self.caps)
        inside = (start[r] >= a) & (start[r] + length[r] <= b)
        np.minimum.at(bound, r[inside], s[inside])
        return bound

    def window_quantiles(self, start, length, levels):
        """As :meth:`DemandForecast.window_quantiles` on the capped moments, never above the
        stock of a sale whose window holds the whole query window."""
        start = np.asarray(start, dtype=float)
        length = np.asarray(length, dtype=float)
        out = DemandForecast.window_quantiles(self, start, length, levels)
        bound = self._inside_cap(start, length)
        return {q: np.minimum(v, bound) for q, v in out.items()}

    def quantiles(self, levels):
        """Per-period quantiles of the scaled mean, never above the sale's stock."""
        out = DemandForecast.quantiles(self, levels)
        if self.caps.empty:
            return out
        bound = np.full(self.mean.shape, np.inf)
        r, a, b, s = self._cap_arrays(self.caps)
        for i, lo, hi, stock in zip(r, a, b, s, strict=True):  # one slice per sale
            bound[i, lo:hi] = np.minimum(bound[i, lo:hi], stock)
        return {q: np.minimum(v, bound) for q, v in out.items()}


def cap_flash_sales(
    forecast: DemandForecast, windows: pd.DataFrame, cfg: SalesModelConfig | None = None
) -> tuple[DemandForecast, pd.DataFrame]:
    """Cap each flash sale's forecast by its stock; returns the capped forecast and one row per
    sale and series: sku, location, start_date, end_date, stock_quantity, forecast_uncapped
    (E[X], the window's mean), forecast_capped (E[min(X, S)] = f E[X]), sellout_probability
    (P(X >= S)) and cap_factor f (NaN beyond the horizon).

    f = mean of the capped window sums / mean of the uncapped ones on ``cfg.cap_paths`` common
    sample paths (seed ``cfg.seed``); daily means inside the window are multiplied by f."""
    cfg = cfg or SalesModelConfig()
    summary = windows[["sku", "location", "start_date", "end_date", "stock_quantity"]].copy()
    for col in ("forecast_uncapped", "forecast_capped", "sellout_probability", "cap_factor"):
        summary[col] = np.nan
    inside = (windows["start"] >= 0).to_numpy() if len(windows) else np.zeros(0, bool)
    if not inside.any():
        return forecast, summary
    caps = pd.DataFrame({
        "row": windows["row"].to_numpy(dtype=int)[inside],
        "start": windows["start"].to_numpy(dtype=int)[inside],
        "stop": windows["stop"].to_numpy(dtype=int)[inside],
        "stock": windows["stock_quantity"].to_numpy(dtype=float)[inside],
    })
    capped = CappedForecast(
        forecast.keys, forecast.dates, forecast.mean.copy(), forecast.size, forecast.level_var,
        forecast.model, forecast.floor, base_mean=forecast.mean, caps=caps, cap_paths=cfg.cap_paths,
        cap_seed=cfg.seed,
    )
    rows = capped.capped_rows()
    uncapped_paths, capped_paths = capped._paths(rows, forecast.mean.shape[1])
    local = np.searchsorted(rows, caps["row"].to_numpy())
    expected, capped_mean, sellout, factor = (np.zeros(len(caps)) for _ in range(4))
    mean = forecast.mean.copy()
    for k, (i, r, a, b, s) in enumerate(zip(local, caps["row"], caps["start"], caps["stop"],
                                             caps["stock"], strict=True)):
        x_u = uncapped_paths[i, :, a:b].sum(axis=1)
        x_c = capped_paths[i, :, a:b].sum(axis=1)
        factor[k] = x_c.mean() / x_u.mean() if x_u.mean() > 0 else 1.0
        expected[k] = forecast.mean[r, a:b].sum()
        capped_mean[k] = factor[k] * expected[k]
        sellout[k] = float(np.mean(x_u >= s)) if s > 0 else 1.0
        mean[r, a:b] = mean[r, a:b] * factor[k]
    capped.mean = mean
    summary.loc[inside, "forecast_uncapped"] = expected
    summary.loc[inside, "forecast_capped"] = capped_mean
    summary.loc[inside, "sellout_probability"] = sellout
    summary.loc[inside, "cap_factor"] = factor
    return capped, summary


def restore_caps(
    forecast: DemandForecast, flash_sales: pd.DataFrame, period_days: float,
    cfg: SalesModelConfig | None = None,
) -> DemandForecast:
    """The :class:`CappedForecast` behind a stored forecast (whose means are already capped)
    and its ``flash_sales`` rows: the uncapped means inside each window are the stored ones
    divided by ``cap_factor`` (kept as stored when the factor is 0: a sale with no stock)."""
    cfg = cfg or SalesModelConfig()
    if flash_sales.empty or forecast.mean.shape[1] == 0:
        return forecast
    sales = flash_sales.dropna(subset=["cap_factor"])
    index = pd.MultiIndex.from_frame(forecast.keys[KEYS].astype(str))
    row = index.get_indexer(pd.MultiIndex.from_frame(sales[KEYS].astype(str)))
    sales = sales[row >= 0].assign(row=row[row >= 0])
    if sales.empty:
        return forecast
    start, stop = _covered_periods(sales["start_date"], sales["end_date"], forecast.dates, period_days)
    keep = start >= 0
    caps = pd.DataFrame({"row": sales["row"].to_numpy()[keep], "start": start[keep],
                         "stop": stop[keep], "stock": sales["stock_quantity"].to_numpy(float)[keep]})
    base = forecast.mean.copy()
    for r, a, b, f in zip(caps["row"], caps["start"], caps["stop"],
                          sales["cap_factor"].to_numpy(float)[keep], strict=True):
        if f > 0:
            base[r, a:b] = forecast.mean[r, a:b] / f
    return CappedForecast(
        forecast.keys, forecast.dates, forecast.mean, forecast.size, forecast.level_var,
        forecast.model, forecast.floor, base_mean=base, caps=caps, cap_paths=cfg.cap_paths, cap_seed=cfg.seed,
    )


# -- flash sales: available to promise ---------------------------------------------------
def cumulative_atp(
    on_hand: np.ndarray,
    committed: np.ndarray,
    safety_stock: np.ndarray,
    receipts: np.ndarray,
    regular_demand: np.ndarray,
    first_day: np.ndarray,
    last_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Largest quantity promisable from ``first_day`` without backordering other orders, and
    the day where the cumulative available is smallest (the binding day).

    Arrays per sale k; ``receipts`` and ``regular_demand`` are (K, G): column j is day j + 1
    after as_of. A(d) = on_hand + receipts[1..d] - committed - regular_demand[1..d]
    - safety_stock; the result is max(0, min over first_day <= d <= last_day of A(d))
    (module doc: cumulative ATP with look-ahead, APICS / Vollmann et al.).

    >>> atp, day = cumulative_atp(np.array([100.0]), np.array([30.0]), np.array([10.0]),
    ...     np.eye(1, 14, 9) * 50, np.full((1, 14), 5.0), np.array([3]), np.array([14]))
    >>> float(atp[0]), int(day[0])
    (15.0, 9)
    """
    g = receipts.shape[1]
    available = (
        (on_hand - committed - safety_stock)[:, None]
        + np.cumsum(receipts, axis=1) - np.cumsum(regular_demand, axis=1)
    )
    day = np.arange(1, g + 1)[None, :]
    window = (day >= np.asarray(first_day)[:, None]) & (day <= np.asarray(last_day)[:, None])
    masked = np.where(window, available, np.inf)
    lowest = masked.min(axis=1, initial=np.inf)
    binding = masked.argmin(axis=1) + 1
    return np.where(np.isfinite(lowest), np.maximum(lowest, 0.0), np.nan), binding


def _days_after(values: pd.Series, as_of: date) -> np.ndarray:
    return (pd.to_datetime(values) - pd.Timestamp(as_of)).dt.days.to_numpy(dtype=float)


def _daily_receipts(
    flash: pd.DataFrame, receipts: pd.DataFrame, as_of: date, days: int
) -> np.ndarray:
    """(K, days) receipt quantities of each sale's series by day after as_of (overdue receipts
    count on day 1; later ones than ``days`` are left out)."""
    out = np.zeros((len(flash), days))
    if receipts.empty or not len(flash):
        return out
    sale = flash[KEYS].astype(str).reset_index(drop=True).assign(_k=np.arange(len(flash)))
    got = receipts.assign(sku=receipts["sku"].astype(str),
                          location=receipts["location"].astype(str)).merge(sale, on=KEYS)
    day = np.clip(_days_after(got["date"], as_of), 1, None)
    ok = day <= days
    np.add.at(out, (got["_k"].to_numpy()[ok], day[ok].astype(int) - 1),
              got["quantity"].to_numpy(dtype=float)[ok])
    return out


def _daily_regular_demand(
    forecast: DemandForecast, rows: np.ndarray, windows: list[tuple[int, int, int]],
    days: int, period_days: float,
) -> np.ndarray:
    """(K, days) regular demand per day: the forecast spread over the days of each period,
    with the baseline rate inside every flash-sale window of the series."""
    from forecast.planning.policies import baseline_rate

    periods = max(int(np.ceil(days / period_days)), 1)
    base = forecast.base() if isinstance(forecast, CappedForecast) else forecast
    mean = forecast._extend(max(periods, forecast.mean.shape[1]))[rows].copy()
    rate = baseline_rate(base.expected()[rows], period_days)
    for r, a, b in windows:  # (local row, start, stop) of every sale on these series
        mean[r, a:b] = rate[r]
    day = np.arange(days)
    return mean[:, np.minimum((day // period_days).astype(int), mean.shape[1] - 1)] / period_days


def flash_sale_promise(
    flash: pd.DataFrame,
    forecast: DemandForecast,
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    purchase_orders: pd.DataFrame,
    recommendations: pd.DataFrame,
    as_of: date,
    period_days: float = 1.0,
    dropship: np.ndarray | None = None,
) -> pd.DataFrame:
    """``flash`` (from :func:`cap_flash_sales`) with the promise check: on_hand, committed,
    safety_stock, next_receipt_date (R), max_promisable (receipts = open POs and recommended
    orders), max_promisable_confirmed (open POs only: what holds if no new order is placed),
    binding_date, shortfall (set-aside - max_promisable, when positive) and verdict."""
    out = flash.reindex(columns=FLASH_SALE_COLUMNS).copy()
    if out.empty:
        return out
    info = out[KEYS].astype(str).merge(
        policies[[*KEYS, "safety_stock", "lead_time_days"]], on=KEYS, how="left"
    ).merge(positions[[*KEYS, "on_hand", "committed"]], on=KEYS, how="left")
    index = pd.MultiIndex.from_frame(forecast.keys[KEYS].astype(str))
    row = index.get_indexer(pd.MultiIndex.from_frame(out[KEYS].astype(str)))
    lead = info["lead_time_days"].to_numpy(dtype=float)
    start_day = np.maximum(_days_after(out["start_date"], as_of), 1)
    next_receipt = np.ceil(np.nan_to_num(lead, nan=0.0))
    last_day = np.maximum(start_day, next_receipt)
    known = (row >= 0) & np.isfinite(lead) & info["on_hand"].notna().to_numpy()
    atp, confirmed, binding = (np.full(len(out), np.nan) for _ in range(3))
    if known.any():
        days = int(np.nanmax(last_day[known]))
        local_rows, local = np.unique(row[known], return_inverse=True)
        starts, stops = flash_sale_windows_on(out[known], forecast.dates, period_days)
        windows = [(int(local[i]), int(a), int(b))
                   for i, (a, b) in enumerate(zip(starts, stops, strict=True)) if a >= 0]
        demand = _daily_regular_demand(forecast, local_rows, windows, days, period_days)[local]
        ordered = purchase_orders.rename(columns={"expected_date": "date"}).reindex(
            columns=[*KEYS, "date", "quantity"]).dropna(subset=["date", "quantity"])
        planned = recommendations.rename(
            columns={"expected_arrival": "date", "order_quantity": "quantity"}).reindex(
            columns=[*KEYS, "date", "quantity"]).dropna(subset=["date", "quantity"])
        base = (info["on_hand"].to_numpy(float)[known],
                info["committed"].fillna(0.0).to_numpy(float)[known],
                # a negative safety stock (a fill-rate policy with a large Q) reserves nothing
                info["safety_stock"].fillna(0.0).clip(lower=0.0).to_numpy(float)[known])
        for receipts, target in ((pd.concat([ordered, planned], ignore_index=True), atp),
                                 (ordered, confirmed)):
            got, day = cumulative_atp(*base, _daily_receipts(out[known], receipts, as_of, days),
                                      demand, start_day[known], last_day[known])
            target[known] = got
            if target is atp:
                binding[known] = day
    stamp = pd.Timestamp(as_of)

    def dated(days: np.ndarray) -> pd.Series:
        return pd.Series(stamp + pd.to_timedelta(np.nan_to_num(days), unit="D")).where(
            np.isfinite(days)).dt.date

    out["on_hand"] = info["on_hand"].to_numpy(dtype=float)
    out["committed"] = info["committed"].to_numpy(dtype=float)
    out["safety_stock"] = info["safety_stock"].to_numpy(dtype=float)
    out["next_receipt_date"] = dated(np.where(np.isfinite(lead), next_receipt, np.nan))
    out["max_promisable"] = np.floor(atp + 1e-9)
    out["max_promisable_confirmed"] = np.floor(confirmed + 1e-9)
    out["binding_date"] = dated(binding)
    stock = out["stock_quantity"].to_numpy(dtype=float)
    out["shortfall"] = np.where(np.isfinite(atp), np.maximum(stock - out["max_promisable"], 0.0),
                                np.nan)
    is_dropship = out["sku"].astype(str).isin([] if dropship is None else dropship).to_numpy()
    out["verdict"] = _verdicts(out, is_dropship, as_of)
    return out[FLASH_SALE_COLUMNS]


def flash_sale_windows_on(
    flash: pd.DataFrame, dates: pd.DatetimeIndex, period_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast periods [start, stop) of stored flash-sale rows (-1 beyond the horizon)."""
    return _covered_periods(flash["start_date"], flash["end_date"], dates, period_days)


def _verdicts(out: pd.DataFrame, dropship: np.ndarray, as_of: date) -> list[str]:
    """One line per sale; an over-committed sale that starts after the next possible receipt
    also says by when an extra order would arrive in time (start - lead time)."""
    text = []
    for r, ship in zip(out.itertuples(index=False), dropship, strict=True):  # one line per sale
        if ship:
            text.append("dropship item: the supplier ships the sale; nothing is set aside here")
        elif not np.isfinite(r.max_promisable):
            text.append("no stock figure or policy: the set-aside cannot be checked")
        elif r.shortfall > 0:
            fix = "set aside at most that"
            start, receipt = pd.Timestamp(r.start_date), pd.Timestamp(r.next_receipt_date)
            if receipt < start:
                order_by = start - (receipt - pd.Timestamp(as_of))
                fix += f", or order {r.shortfall:.0f} more by {order_by:%Y-%m-%d} to arrive before the start"
            text.append(
                f"set-aside {r.stock_quantity:.0f} exceeds what can be promised "
                f"({r.max_promisable:.0f}): the sale would backorder {r.shortfall:.0f} units of "
                f"other orders (tightest on {r.binding_date:%Y-%m-%d}); {fix}"
            )
        elif r.stock_quantity > r.max_promisable_confirmed:
            text.append(
                f"ok if the recommended orders arrive as planned: set-aside {r.stock_quantity:.0f}"
                f" within {r.max_promisable:.0f}, but stock and open POs alone promise only "
                f"{r.max_promisable_confirmed:.0f}"
            )
        else:
            text.append(f"ok: set-aside {r.stock_quantity:.0f} within the {r.max_promisable:.0f} "
                        "that can be promised")
    return text


def flash_sale_alerts(flash: pd.DataFrame) -> pd.DataFrame:
    """``flash_sale_overcommitted`` (high) for every sale whose set-aside exceeds the
    promisable quantity; dated on the sale's start."""
    bad = flash[flash["shortfall"].fillna(0) > 0]
    if bad.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    label = bad["sku"].astype(str) + "@" + bad["location"].astype(str)
    start = pd.to_datetime(bad["start_date"])
    message = (
        label + ": flash sale " + start.dt.strftime("%Y-%m-%d") + " to "
        + pd.to_datetime(bad["end_date"]).dt.strftime("%Y-%m-%d") + ": " + bad["verdict"].astype(str)
    )
    return pd.DataFrame({"sku": bad["sku"], "location": bad["location"],
                         "kind": "flash_sale_overcommitted", "severity": "high",
                         "date": start.dt.date, "message": message})[ALERT_COLUMNS]
