"""Sales models beyond "sell from stock": flash sales, pre-orders and dropship items.

The engine forecasts every series as usual; this module adjusts its output and the plan built
on it (issue #8, items 4-6). It is called from :mod:`forecast.pipeline` (forecast and plan
steps) and never changes the engine or the planning formulas themselves.

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

**Pre-orders** (``products.preorder`` with ``launch_date``). A pre-order product not launched
yet (or with no sales history) has no series in the panel, so it gets an early forecast at every
location with pre-order lines (else the default location, :data:`forecast.ingest.contract.DEFAULT_LOCATION`,
or the location with the most series):

    mean_t = r x shape_c[t] x (share of period t on or after the launch date)
    r = pre-ordered units / pre-order window days x conversion

The engine has no separate new-SKU model to borrow (new SKUs with a short history are fitted
like any series, with the product category as a feature of the global model), so the category
profile is taken from the engine's own output: shape_c[t] = sum of the category's forecast means
in period t / sum of their average means (it averages 1 over the horizon and carries the
category's weekly pattern, season and category-wide campaigns); the NB size is the category's
median and the level variance the category's median, at least ``preorder_min_level_var`` (a
level known only from pre-orders is uncertain). The pre-order window runs from the first
pre-order to ``as_of`` (at least ``preorder_min_window_days``); cancelled lines are not demand.
The conversion is estimated from past pre-order launches in the data (post-launch demand per day
over the first ``preorder_fit_days`` / pre-order rate before launch, pooled, with at least
``preorder_min_launches`` launches: :func:`estimate_preorder_conversion`). Without them the
stated assumption applies, ``preorder_conversion`` = 5: those who pre-order are about a fifth of
the buyers a day once the product is on the shelf (few customers see a product before launch;
it is also the demo generator's assumption, 0.15 pre-order lines of ~1.3 units per unit of
post-launch daily demand). With no pre-order yet, r is the category's median SKU rate.

First purchase (replaces the regular recommendation of a pre-order series):

    quantity = open pre-order units + mean demand of the first cover period after launch
               + safety stock - on hand - on order          (raised to MOQ, rounded to packs)
    safety stock = z sigma, z = Phi^-1(service level), sigma the s.d. of the cover-period demand
    order by = launch date - lead time (today when that is past; then urgent)

The cover period is ``preorder_cover_days``, by default the lead time (an order placed at launch
arrives then). A product without a stock record counts as 0 on hand. Pre-order customer lines
stay in the allocation like any waiting line (they cannot ship before the launch date).

**Dropship** (``products.dropship``): the supplier ships to the customer, so the SKU gets no
policy row, no recommendation, no stock alert and no stock simulation; its forecast is kept
(the supplier's expected volume) and its order lines are passed on by the allocation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import Panel
from forecast.ingest.contract import DEFAULT_LOCATION, FLASH_SALE
from forecast.planning import inventory

KEYS = ["sku", "location"]
PREORDER_MODEL = "preorder_category_profile"
#: How a first purchase's explanation starts (readers pick first purchases out by it).
PREORDER_PREFIX = "pre-order:"
#: Columns of the ``flash_sales`` output table (and ``exports/flash_sales.csv``).
FLASH_SALE_COLUMNS = [
    "sku", "location", "start_date", "end_date", "stock_quantity", "forecast_uncapped",
    "forecast_capped", "sellout_probability", "cap_factor", "on_hand", "committed",
    "safety_stock", "next_receipt_date", "max_promisable", "max_promisable_confirmed",
    "binding_date", "shortfall", "verdict",
]
ALERT_COLUMNS = ["sku", "location", "kind", "severity", "date", "message"]
#: Alerts that make no sense for a pre-order product before launch (its orders wait for the
#: launch by design): replaced by one ``preorder_first_purchase`` alert.
_PREORDER_REPLACED_ALERTS = ("below_min", "will_cross_min", "orders_exceed_stock")


@dataclass(frozen=True)
class SalesModelConfig:
    """Settings of the flash-sale cap and of the pre-order forecast (see the module doc)."""

    cap_paths: int = 2000  # sample paths behind the cap factor and the capped window s.d.
    seed: int = 0
    preorder_conversion: float = 5.0  # post-launch daily demand / pre-order daily rate (default)
    preorder_min_launches: int = 3  # past pre-order launches needed to estimate the conversion
    preorder_fit_days: float = 28.0  # post-launch days compared with the pre-order rate
    preorder_min_window_days: float = 7.0
    preorder_min_level_var: float = 0.25  # level s.d. of at least 50% for a pre-order level
    preorder_cover_days: float | None = None  # None: the lead time

    def __post_init__(self) -> None:
        if self.cap_paths < 100:
            raise ValueError(f"cap_paths must be at least 100, got {self.cap_paths}")
        if not (self.preorder_conversion > 0 and math.isfinite(self.preorder_conversion)):
            raise ValueError(f"preorder_conversion must be > 0, got {self.preorder_conversion}")
        if not self.preorder_min_window_days >= 1:
            raise ValueError(
                f"preorder_min_window_days must be >= 1, got {self.preorder_min_window_days}"
            )
        if not self.preorder_min_level_var >= 0:
            raise ValueError(
                f"preorder_min_level_var must be >= 0, got {self.preorder_min_level_var}"
            )
        if self.preorder_min_launches < 1:
            raise ValueError(f"preorder_min_launches must be >= 1, got {self.preorder_min_launches}")
        if not self.preorder_fit_days >= 7:
            raise ValueError(f"preorder_fit_days must be >= 7, got {self.preorder_fit_days}")
        if self.preorder_cover_days is not None and not self.preorder_cover_days > 0:
            raise ValueError(f"preorder_cover_days must be > 0, got {self.preorder_cover_days}")


# -- product flags ------------------------------------------------------------------------------
def product_flags(products: pd.DataFrame) -> pd.DataFrame:
    """sku, category, preorder, launch_date, dropship per product (defaults when absent)."""
    frame = pd.DataFrame({"sku": products["sku"].astype(str).to_numpy()} if "sku" in products
                         else {"sku": pd.Series([], dtype=str)})
    for col, default in (("preorder", False), ("dropship", False)):
        values = products[col] if col in products else pd.Series(default, index=products.index)
        frame[col] = values.astype("boolean").fillna(default).astype(bool).to_numpy()
    frame["launch_date"] = (
        pd.to_datetime(products["launch_date"]).to_numpy() if "launch_date" in products
        else pd.NaT
    )
    frame["category"] = (
        products["category"].astype(str).to_numpy() if "category" in products else ""
    )
    return frame


def dropship_skus(products: pd.DataFrame) -> np.ndarray:
    """SKUs the supplier ships directly to the customer."""
    flags = product_flags(products)
    return flags.loc[flags["dropship"], "sku"].to_numpy()


def stocked_rows(keys: pd.DataFrame, products: pd.DataFrame) -> np.ndarray:
    """Rows of ``keys`` that are stocked (not dropship): the ones that get a stock policy."""
    return np.flatnonzero(~keys["sku"].astype(str).isin(dropship_skus(products)).to_numpy())


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
        return DemandForecast(self.keys, self.dates, self.base_mean, self.size, self.level_var, self.model)

    def take(self, rows: np.ndarray) -> CappedForecast:
        rows = np.asarray(rows, dtype=int)
        new_index = np.full(len(self.keys), -1)
        new_index[rows] = np.arange(len(rows))
        caps = self.caps.assign(row=new_index[self.caps["row"].to_numpy(dtype=int)])
        part = DemandForecast.take(self, rows)
        return CappedForecast(
            part.keys, part.dates, part.mean, part.size, part.level_var, part.model,
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
        forecast.model, base_mean=forecast.mean, caps=caps, cap_paths=cfg.cap_paths,
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
        forecast.model, base_mean=base, caps=caps, cap_paths=cfg.cap_paths, cap_seed=cfg.seed,
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
    rate = baseline_rate(base.mean[rows], period_days)
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


# -- pre-orders ---------------------------------------------------------------------------
PREORDER_COLUMNS = [
    "sku", "location", "category", "launch_date", "preorder_units", "open_units",
    "first_order_date", "window_days", "preorder_rate", "conversion", "conversion_source",
    "daily_rate", "rate_source",
]


def preorder_products(products: pd.DataFrame, panel_skus: np.ndarray | pd.Series, as_of: date) -> pd.DataFrame:
    """Pre-order products that need an early forecast: not launched by ``as_of``, or without
    a series in the panel (``panel_skus``). Dropship products are left out (not stocked)."""
    flags = product_flags(products)
    flags = flags[flags["preorder"] & flags["launch_date"].notna() & ~flags["dropship"]]
    in_panel = flags["sku"].isin(pd.Series(panel_skus, dtype=object).astype(str))
    return flags[(flags["launch_date"] > pd.Timestamp(as_of)) | ~in_panel][
        ["sku", "category", "launch_date"]].reset_index(drop=True)


def _preorder_lines(order_history: pd.DataFrame, skus: pd.Series, as_of: date) -> pd.DataFrame:
    """Pre-ordered units and the first order date per (sku, location): lines not cancelled,
    ordered by ``as_of``."""
    if order_history.empty:
        return pd.DataFrame(columns=[*KEYS, "preorder_units", "first_order_date"])
    lines = order_history.assign(sku=order_history["sku"].astype(str),
                                 location=order_history["location"].astype(str))
    status = (lines["status"].fillna("open").astype(str).str.lower() if "status" in lines
              else pd.Series("open", index=lines.index))
    lines = lines[(status != "cancelled") & (pd.to_datetime(lines["order_date"]) <= pd.Timestamp(as_of))
                  & lines["sku"].isin(skus)]
    return lines.groupby(KEYS, as_index=False).agg(
        preorder_units=("quantity", "sum"), first_order_date=("order_date", "min"))


def preorder_signal(
    series: pd.DataFrame,
    order_history: pd.DataFrame,
    open_orders: pd.DataFrame,
    as_of: date,
    cfg: SalesModelConfig | None = None,
) -> pd.DataFrame:
    """Per pre-order series (sku, location, category, launch_date): pre-ordered units (not
    cancelled), open units, first order date, the pre-order window in days (first order to
    ``as_of``, at least ``preorder_min_window_days``) and the pre-order rate (units a day)."""
    cfg = cfg or SalesModelConfig()
    frame = series[["sku", "location", "category", "launch_date"]].astype(
        {"sku": str, "location": str}).merge(
        _preorder_lines(order_history, series["sku"].astype(str), as_of), on=KEYS, how="left")
    if len(open_orders):
        waiting = open_orders.assign(sku=open_orders["sku"].astype(str),
                                     location=open_orders["location"].astype(str)
                                     ).groupby(KEYS, as_index=False)["quantity"].sum()
    else:
        waiting = pd.DataFrame(columns=[*KEYS, "quantity"])
    frame = frame.merge(waiting.rename(columns={"quantity": "open_units"}), on=KEYS, how="left")
    frame["preorder_units"] = frame["preorder_units"].astype(float).fillna(0.0)
    frame["open_units"] = frame["open_units"].astype(float).fillna(0.0)
    frame["first_order_date"] = pd.to_datetime(frame["first_order_date"])
    frame["launch_date"] = pd.to_datetime(frame["launch_date"])
    span = (pd.Timestamp(as_of) - frame["first_order_date"]).dt.days.to_numpy(dtype=float) + 1
    frame["window_days"] = np.maximum(np.nan_to_num(span, nan=0.0), cfg.preorder_min_window_days)
    frame["preorder_rate"] = frame["preorder_units"] / frame["window_days"]
    return frame.sort_values(KEYS).reset_index(drop=True)


def _default_location(locations: np.ndarray | pd.Series) -> str:
    """The contract's default location when the data uses it (or has none), else the location
    with the most series."""
    values = pd.Series(np.asarray(locations, dtype=object)).astype(str)
    if values.empty or (values == DEFAULT_LOCATION).any():
        return DEFAULT_LOCATION
    counts = values.value_counts()
    return str(min(counts[counts == counts.max()].index))


def category_profiles(
    forecast: DemandForecast, categories: np.ndarray | pd.Series, min_level_var: float = 0.0
) -> pd.DataFrame:
    """Per category of the forecast's selling series: the demand shape over the horizon
    shape[t] = sum_i m_it / sum_i mean_i (it averages 1), the median SKU rate per period and
    the median NB size and level variance (the latter at least ``min_level_var``). The row
    with category ``""`` pools every selling series (for a category with none)."""
    cats = pd.Series(np.asarray(categories, dtype=object)).fillna("").astype(str).to_numpy()
    mean = forecast.mean
    level = mean.mean(axis=1) if mean.shape[1] else np.zeros(len(cats))
    selling = level > 0
    rows = []
    for cat in [*sorted(set(cats[selling]) - {""}), ""]:  # one row per category (a few dozen)
        members = selling & (cats == cat) if cat else selling
        if members.any():
            shape = mean[members].sum(axis=0) / level[members].sum()
            rate = float(np.median(level[members]))
            size = float(np.median(forecast.size[members]))
            level_var = float(np.median(forecast.level_var[members]))
        else:
            shape, rate, size, level_var = np.ones(mean.shape[1]), 0.0, np.inf, 0.0
        rows.append({"category": cat, "shape": shape, "rate": rate, "size": size,
                     "level_var": max(level_var, min_level_var)})
    return pd.DataFrame(rows).set_index("category")


def _peers(forecast: DemandForecast, products: pd.DataFrame) -> tuple[DemandForecast, np.ndarray]:
    """The engine's own stocked series (no pre-order or dropship series) and their categories:
    where a pre-order product's profile comes from."""
    skus = forecast.keys["sku"].astype(str)
    keep = np.flatnonzero(~skus.isin(dropship_skus(products)).to_numpy()
                          & (np.asarray(forecast.model, dtype=object) != PREORDER_MODEL))
    peers = forecast.take(keep)
    by_sku = product_flags(products).set_index("sku")["category"]
    return peers, peers.keys["sku"].astype(str).map(by_sku).fillna("").to_numpy()


def estimate_preorder_conversion(
    products: pd.DataFrame,
    order_history: pd.DataFrame,
    panel: Panel | None,
    as_of: date,
    cfg: SalesModelConfig | None = None,
) -> tuple[float, str]:
    """Post-launch daily demand / pre-order daily rate, from past pre-order launches, and
    where the figure comes from (``"history (n launches)"`` or ``"default"``).

    A past launch: a pre-order product launched at least 14 days before ``as_of`` with
    pre-order lines (not cancelled, ordered before launch) and sales history. Its pre-order
    rate is units / days from the first pre-order to the day before launch (at least
    ``preorder_min_window_days``); its post-launch rate the mean observed demand per day, all
    locations, over the first ``preorder_fit_days`` after launch. The conversion is the pooled
    ratio sum(post-launch rates) / sum(pre-order rates) over at least
    ``preorder_min_launches`` launches; otherwise ``cfg.preorder_conversion``."""
    cfg = cfg or SalesModelConfig()
    default = (cfg.preorder_conversion, "default")
    if panel is None or order_history.empty:
        return default
    flags = product_flags(products)
    stamp = pd.Timestamp(as_of)
    launched = flags[flags["preorder"] & (flags["launch_date"] <= stamp - pd.Timedelta(days=13))]
    if len(launched) < cfg.preorder_min_launches:
        return default
    lines = order_history.assign(sku=order_history["sku"].astype(str),
                                 order_date=pd.to_datetime(order_history["order_date"]))
    status = (lines["status"].fillna("open").astype(str).str.lower() if "status" in lines
              else pd.Series("open", index=lines.index))
    lines = lines[status != "cancelled"].merge(launched[["sku", "launch_date"]], on="sku")
    lines = lines[lines["order_date"] < lines["launch_date"]]
    pre = lines.groupby("sku").agg(units=("quantity", "sum"), first=("order_date", "min"),
                                   launch=("launch_date", "first"))
    pre["rate"] = pre["units"] / np.maximum((pre["launch"] - pre["first"]).dt.days,
                                            cfg.preorder_min_window_days)
    skus = panel.keys["sku"].astype(str).to_numpy()
    dates = panel.dates.values
    post = {}
    for sku, launch in pre["launch"].items():  # one slice per past launch (a handful)
        cols = (dates >= launch.to_datetime64()) & (
            dates < (launch + pd.Timedelta(days=cfg.preorder_fit_days)).to_datetime64())
        block = panel.demand[np.ix_(skus == sku, cols)]
        seen = ~np.isnan(block).all(axis=0)
        if seen.sum() > 0:
            post[sku] = np.nansum(block[:, seen]) / (seen.sum() * panel.freq.period_days)
    both = pre.loc[pre.index.isin(list(post)) & (pre["rate"] > 0)]
    if len(both) < cfg.preorder_min_launches:
        return default
    ratio = sum(post[s] for s in both.index) / both["rate"].sum()
    return float(ratio), f"history ({len(both)} launches)"


def _rates(signal: pd.DataFrame, profiles: pd.DataFrame, conversion: tuple[float, str],
           period_days: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The signal with the post-launch ``daily_rate``, its ``rate_source`` and the
    ``conversion`` used, and each series' category profile row."""
    cat = signal["category"].fillna("").astype(str)
    profile = profiles.loc[cat.where(cat.isin(profiles.index), "").to_numpy()]
    from_orders = signal["preorder_units"].to_numpy() > 0
    daily = np.where(from_orders, signal["preorder_rate"].to_numpy() * conversion[0],
                     profile["rate"].to_numpy(dtype=float) / period_days)
    signal = signal.assign(
        daily_rate=daily, conversion=conversion[0], conversion_source=conversion[1],
        rate_source=np.where(from_orders, "pre-orders", "category median"))
    return signal, profile


def add_preorder_series(
    forecast: DemandForecast,
    products: pd.DataFrame,
    order_history: pd.DataFrame,
    open_orders: pd.DataFrame,
    as_of: date,
    period_days: float = 1.0,
    cfg: SalesModelConfig | None = None,
    panel: Panel | None = None,
) -> tuple[DemandForecast, pd.DataFrame]:
    """The forecast with an early forecast for every pre-order series (module doc) in place of
    any the engine made for such an SKU; also returns the pre-order signal
    (:data:`PREORDER_COLUMNS`). ``panel`` (the history) estimates the conversion from past
    launches (:func:`estimate_preorder_conversion`)."""
    cfg = cfg or SalesModelConfig()
    pending = preorder_products(products, forecast.keys["sku"], as_of)
    if pending.empty:
        return forecast, pd.DataFrame(columns=PREORDER_COLUMNS)
    ordered = _preorder_lines(order_history, pending["sku"], as_of)
    others = forecast.keys[~forecast.keys["sku"].astype(str).isin(pending["sku"])]
    default = _default_location(others["location"])
    missing = pending.loc[~pending["sku"].isin(ordered["sku"]), ["sku"]].assign(location=default)
    series = pd.concat([ordered[KEYS], missing], ignore_index=True).merge(pending, on="sku")
    signal = preorder_signal(series, order_history, open_orders, as_of, cfg)
    keep = np.flatnonzero(~forecast.keys["sku"].astype(str).isin(pending["sku"]).to_numpy())
    kept = forecast.take(keep)
    peers, cats = _peers(kept, products)
    conversion = estimate_preorder_conversion(products, order_history, panel, as_of, cfg)
    signal, profile = _rates(signal, category_profiles(peers, cats, cfg.preorder_min_level_var),
                             conversion, period_days)
    shape = np.vstack(profile["shape"].to_numpy())
    launch = signal["launch_date"].values[:, None]
    starts = forecast.dates.values[None, :]
    ends = (forecast.dates + pd.to_timedelta(period_days, unit="D")).values[None, :]
    after = np.clip((ends - np.maximum(starts, launch)) / (ends - starts), 0.0, 1.0)
    early = DemandForecast(
        signal[KEYS].reset_index(drop=True), forecast.dates,
        signal["daily_rate"].to_numpy()[:, None] * period_days * shape * after,
        profile["size"].to_numpy(dtype=float), profile["level_var"].to_numpy(dtype=float),
        np.full(len(signal), PREORDER_MODEL, dtype=object),
    )
    return DemandForecast.concat([kept, early]), signal[PREORDER_COLUMNS]


def planned_preorders(
    forecast: DemandForecast, inputs: dict[str, pd.DataFrame], as_of: date,
    period_days: float = 1.0, cfg: SalesModelConfig | None = None, panel: Panel | None = None,
) -> pd.DataFrame:
    """The pre-order signal of the series that carry an early forecast (model
    :data:`PREORDER_MODEL`), as the forecast step computed it (same inputs, same figures)."""
    cfg = cfg or SalesModelConfig()
    mine = np.asarray(forecast.model, dtype=object) == PREORDER_MODEL
    if not mine.any():
        return pd.DataFrame(columns=PREORDER_COLUMNS)
    products = inputs["products"]
    flags = product_flags(products)[["sku", "category", "launch_date"]]
    series = forecast.keys.loc[mine, KEYS].astype(str).merge(flags, on="sku")
    history = inputs.get("order_history", inputs["customer_orders"])
    signal = preorder_signal(series, history, inputs["customer_orders"], as_of, cfg)
    uncapped = forecast.base() if isinstance(forecast, CappedForecast) else forecast
    peers, cats = _peers(uncapped, products)
    conversion = estimate_preorder_conversion(products, history, panel, as_of, cfg)
    signal, _ = _rates(signal, category_profiles(peers, cats, cfg.preorder_min_level_var),
                       conversion, period_days)
    return signal[PREORDER_COLUMNS]


RECOMMENDATION_COLUMNS = [
    "sku", "location", "supplier", "on_hand", "on_order", "backordered", "allocated",
    "inventory_position", "reorder_point", "max_level", "order_quantity", "order_by",
    "expected_arrival", "days_of_cover_now", "days_of_cover_after", "unit_cost", "line_value",
    "urgent", "explanation",
]


def first_purchase_orders(
    signal: pd.DataFrame,
    forecast: DemandForecast,
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    as_of: date,
    period_days: float = 1.0,
    cfg: SalesModelConfig | None = None,
) -> pd.DataFrame:
    """The first purchase of each pre-order series as recommendation rows (module doc).

    Cover-period demand: the series' forecast where the period lies in the horizon, the
    post-launch ``daily_rate`` beyond it; its s.d. from the same negative-binomial and level
    error model (:meth:`DemandForecast.window_moments`)."""
    cfg = cfg or SalesModelConfig()
    plan = signal.astype({"sku": str, "location": str}).merge(policies, on=KEYS).merge(
        positions, on=KEYS, how="left")
    index = pd.MultiIndex.from_frame(forecast.keys[KEYS].astype(str))
    rows = index.get_indexer(pd.MultiIndex.from_frame(plan[KEYS])) if len(plan) else np.zeros(0, int)
    plan, rows = plan[rows >= 0].reset_index(drop=True), rows[rows >= 0]
    if plan.empty:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    n = len(plan)
    stamp = pd.Timestamp(as_of)
    lead = plan["lead_time_days"].to_numpy(dtype=float)
    cover_days = (np.full(n, float(cfg.preorder_cover_days)) if cfg.preorder_cover_days
                  else np.maximum(lead, period_days))
    cover = np.maximum(np.ceil(cover_days / period_days), 1).astype(int)
    launch = pd.to_datetime(plan["launch_date"])
    first = np.maximum(np.floor((launch - forecast.dates[0]).dt.days.to_numpy(float) / period_days), 0)
    h = forecast.mean.shape[1]
    offset = np.arange(cover.max())[None, :]
    period = first.astype(int)[:, None] + offset
    rate = plan["daily_rate"].to_numpy(dtype=float) * period_days
    known = forecast.mean[rows[:, None], np.minimum(period, h - 1)]
    window = np.where(period < h, known, rate[:, None]) * (offset < cover[:, None])
    cover_fc = DemandForecast(plan[KEYS], pd.date_range(forecast.dates[0], periods=window.shape[1]),
                              window, forecast.size[rows], forecast.level_var[rows], forecast.model[rows])
    mu, sigma = cover_fc.window_moments(np.zeros(n), cover.astype(float))
    z = np.asarray(inventory.safety_factor_cycle_service(plan["service_level"].to_numpy(float)), dtype=float)
    safety = np.maximum(z * sigma, 0.0)
    on_hand = plan["on_hand"].astype(float).fillna(0.0).to_numpy()
    on_order = plan["on_order"].astype(float).fillna(0.0).to_numpy()
    committed = plan["committed"].astype(float).fillna(0.0).to_numpy()
    raw = committed + mu + safety - on_hand - on_order
    qty = np.asarray(inventory.round_order_quantity(
        raw, plan["moq"].to_numpy(dtype=float), plan["pack_size"].to_numpy(dtype=float)), dtype=float)
    lead_td = pd.to_timedelta(np.ceil(np.nan_to_num(lead)), unit="D")
    latest = launch - lead_td
    order_by = latest.where(latest > stamp, stamp)
    arrival = order_by + lead_td
    daily = plan["daily_rate"].to_numpy(dtype=float)
    allocated = np.minimum(on_hand, committed)
    position = on_hand + on_order - committed
    unit_cost = plan["unit_cost"].to_numpy(dtype=float)
    out = pd.DataFrame({
        "sku": plan["sku"], "location": plan["location"], "supplier": plan["supplier"],
        "on_hand": on_hand, "on_order": on_order, "backordered": committed - allocated,
        "allocated": allocated, "inventory_position": position,
        "reorder_point": plan["reorder_point"].to_numpy(dtype=float),
        "max_level": plan["max_level"].to_numpy(dtype=float), "order_quantity": qty,
        "order_by": order_by.dt.date, "expected_arrival": arrival.dt.date,
        "days_of_cover_now": np.divide(on_hand - allocated, daily, out=np.full(n, np.inf),
                                       where=daily > 0),
        "days_of_cover_after": np.divide(np.maximum(position + qty, 0.0), daily,
                                         out=np.full(n, np.inf), where=daily > 0),
        "unit_cost": unit_cost, "line_value": qty * unit_cost,
        "urgent": (latest <= stamp).to_numpy(),
    })
    out["explanation"] = _first_purchase_text(
        plan, committed, mu, safety, cover_days, on_hand, on_order, raw, qty, latest, arrival, stamp)
    return out[qty > 0][RECOMMENDATION_COLUMNS].reset_index(drop=True)


def _first_purchase_text(plan, committed, mu, safety, cover_days, on_hand, on_order, raw, qty,
                         latest, arrival, stamp) -> list[str]:
    """One line per first purchase a buyer can read (a handful of pre-order series)."""
    text = []
    for i, r in enumerate(plan.itertuples(index=False)):
        launch = pd.Timestamp(r.launch_date)
        if r.rate_source == "pre-orders":
            basis = (f"{r.daily_rate:.1f}/d after launch = {r.preorder_units:.0f} pre-ordered over "
                     f"{r.window_days:.0f} d x conversion {r.conversion:.3g} ({r.conversion_source})")
        else:
            basis = f"no pre-orders yet: category median {r.daily_rate:.1f}/d"
        rounding = (f", MOQ/pack {max(raw[i], 0):.0f} -> {qty[i]:.0f}"
                    if abs(qty[i] - max(raw[i], 0)) >= 0.5 else "")
        when = (f"by {latest[i]:%Y-%m-%d} (launch less lead time {r.lead_time_days:.0f} d)"
                if latest[i] > stamp else
                f"today: the last date was {latest[i]:%Y-%m-%d}, it arrives {arrival[i]:%Y-%m-%d}"
                f" ({(arrival[i] - launch).days:+d} d from launch)")
        text.append(
            f"{PREORDER_PREFIX} {committed[i]:.0f} units ordered by customers before launch "
            f"{launch:%Y-%m-%d} + forecast {mu[i]:.0f} for the first {cover_days[i]:.0f} d after "
            f"launch ({basis}, category profile) + safety stock {safety[i]:.0f} for "
            f"{100 * r.service_level:.0f}% - on hand {on_hand[i]:.0f} - on order "
            f"{on_order[i]:.0f}{rounding} -> order {qty[i]:.0f} {when}"
        )
    return text


def preorder_alerts(orders: pd.DataFrame, signal: pd.DataFrame) -> pd.DataFrame:
    """``preorder_first_purchase`` per first purchase: high when it is due today, else medium."""
    if orders.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    rows = orders.merge(signal[[*KEYS, "launch_date", "open_units"]], on=KEYS, how="left")
    label = rows["sku"].astype(str) + "@" + rows["location"].astype(str)
    message = (
        label + ": pre-order product launches "
        + pd.to_datetime(rows["launch_date"]).dt.strftime("%Y-%m-%d") + " with "
        + rows["open_units"].map("{:.0f}".format) + " units waiting; place the first purchase of "
        + rows["order_quantity"].map("{:.0f}".format) + " by "
        + pd.to_datetime(rows["order_by"]).dt.strftime("%Y-%m-%d")
        + " (see reorder recommendations)"
    )
    return pd.DataFrame({
        "sku": rows["sku"], "location": rows["location"], "kind": "preorder_first_purchase",
        "severity": np.where(rows["urgent"].astype(bool), "high", "medium"),
        "date": rows["order_by"], "message": message,
    })[ALERT_COLUMNS]


# -- the pipeline's hooks -------------------------------------------------------------------
def adjust_forecast(
    forecast: DemandForecast,
    inputs: dict[str, pd.DataFrame],
    as_of: date,
    period_days: float = 1.0,
    cfg: SalesModelConfig | None = None,
    panel: Panel | None = None,
) -> tuple[DemandForecast, pd.DataFrame]:
    """Forecast step: add the pre-order series, then cap every flash sale by its stock.

    ``inputs``: products, campaigns, customer_orders (open lines) and order_history (every
    line). Returns the forecast to store and the forecast part of the ``flash_sales`` rows."""
    cfg = cfg or SalesModelConfig()
    products = inputs["products"]
    forecast, _ = add_preorder_series(
        forecast, products, inputs.get("order_history", inputs["customer_orders"]),
        inputs["customer_orders"], as_of, period_days, cfg, panel)
    windows = flash_sale_windows(inputs["campaigns"], forecast.keys, products, forecast.dates,
                                 period_days, as_of)
    return cap_flash_sales(forecast, windows, cfg)


def planning_forecast(
    forecast: DemandForecast, flash_sales: pd.DataFrame, products: pd.DataFrame,
    period_days: float = 1.0, cfg: SalesModelConfig | None = None,
) -> DemandForecast:
    """Plan and simulate steps: the stored forecast with its flash-sale caps restored and
    without the dropship series (they get no stock policy)."""
    forecast = restore_caps(forecast, flash_sales, period_days, cfg)
    return forecast.take(stocked_rows(forecast.keys, products))


@dataclass
class PlanAdjustment:
    """What :func:`adjust_plan` returns."""

    recommendations: pd.DataFrame
    alerts: pd.DataFrame
    flash_sales: pd.DataFrame
    preorders: pd.DataFrame  # the pre-order signal (PREORDER_COLUMNS)
    first_purchases: pd.DataFrame


def adjust_plan(
    policies: pd.DataFrame,
    positions: pd.DataFrame,
    recommendations: pd.DataFrame,
    alerts: pd.DataFrame,
    forecast: DemandForecast,
    inputs: dict[str, pd.DataFrame],
    flash_sales: pd.DataFrame,
    as_of: date,
    period_days: float = 1.0,
    cfg: SalesModelConfig | None = None,
    panel: Panel | None = None,
) -> PlanAdjustment:
    """Plan step: a pre-order series' first purchase replaces its regular recommendation, and
    its below-min / will-cross-min / orders-exceed-stock alerts (its orders wait for the
    launch by design) give way to one ``preorder_first_purchase`` alert; every flash sale gets
    its promise check (:func:`flash_sale_promise`, with the final recommendations as receipts)
    and, when over-committed, a ``flash_sale_overcommitted`` alert."""
    cfg = cfg or SalesModelConfig()
    signal = planned_preorders(forecast, inputs, as_of, period_days, cfg, panel)
    firsts = first_purchase_orders(signal, forecast, policies, positions, as_of, period_days, cfg)
    preorder_keys = pd.MultiIndex.from_frame(signal[KEYS].astype(str)) if len(signal) else None

    def regular(frame: pd.DataFrame) -> np.ndarray:
        if preorder_keys is None or frame.empty:
            return np.ones(len(frame), dtype=bool)
        return ~pd.MultiIndex.from_frame(frame[KEYS].astype(str)).isin(preorder_keys)

    parts = [recommendations[regular(recommendations)], firsts]
    recs = pd.concat([p for p in parts if len(p)] or [recommendations.iloc[0:0]], ignore_index=True)
    recs = recs.sort_values(["order_by", "line_value", "sku", "location"],
                            ascending=[True, False, True, True]).reset_index(drop=True)
    kept = alerts[regular(alerts) | ~alerts["kind"].isin(_PREORDER_REPLACED_ALERTS).to_numpy()]
    flash = flash_sale_promise(
        flash_sales, forecast, policies, positions, inputs["purchase_orders"], recs, as_of,
        period_days, dropship_skus(inputs["products"]))
    parts = [kept, preorder_alerts(firsts, signal), flash_sale_alerts(flash)]
    merged = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=ALERT_COLUMNS)],
                       ignore_index=True)
    return PlanAdjustment(recs, merged, flash, signal, firsts)


def plan_counts(adjustment: PlanAdjustment, products: pd.DataFrame) -> dict[str, float]:
    """Counts for the plan step's summary (the CLI prints them)."""
    flash = adjustment.flash_sales
    return {
        "flash_sales": len(flash),
        "flash_sales_overcommitted": int((flash["shortfall"].fillna(0) > 0).sum()) if len(flash) else 0,
        "preorder_series": len(adjustment.preorders),
        "first_purchases": len(adjustment.first_purchases),
        "first_purchase_units": float(adjustment.first_purchases["order_quantity"].sum())
        if len(adjustment.first_purchases) else 0.0,
        "dropship_skus": len(dropship_skus(products)),
    }


def first_purchases(recommendations: pd.DataFrame) -> pd.DataFrame:
    """The pre-order first purchases among stored recommendations."""
    if recommendations.empty:
        return recommendations
    return recommendations[recommendations["explanation"].astype(str).str.startswith(PREORDER_PREFIX)]
