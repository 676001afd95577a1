"""Pre-orders: an early forecast for a product sold before its launch, and its first purchase.

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
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from forecast.forecasting.distribution import DemandForecast
from forecast.forecasting.series import Panel
from forecast.ingest.contract import DEFAULT_LOCATION
from forecast.planning import inventory
from forecast.planning.sales_models.common import (
    ALERT_COLUMNS,
    KEYS,
    SalesModelConfig,
    product_flags,
)
from forecast.planning.sales_models.dropship import dropship_skus
from forecast.planning.sales_models.flash_sales import CappedForecast

PREORDER_MODEL = "preorder_category_profile"
#: How a first purchase's explanation starts (readers pick first purchases out by it).
PREORDER_PREFIX = "pre-order:"
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
