"""1. Sales exploration: weekly totals, seasonality profiles, stockout spells, campaign windows,
demand patterns (ADI / CV^2) and ABC/XYZ classes recomputed from the history."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.analysis.snapshot import KEYS, _keys_in, _stockout
from forecast.forecasting.series import build_panel, detect_frequency
from forecast.planning import inventory

#: Syntetos-Boylan-Croston cut-offs: average inter-demand interval and squared CV of sizes.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CLASS_AXES = {"abc_class": ("A", "B", "C"), "xyz_class": ("X", "Y", "Z")}


def weekly_totals(sales: pd.DataFrame, by: str | Sequence[str] = "category") -> pd.DataFrame:
    """Units sold per week (weeks start on Monday) and group(s) ``by``, with stockout days.

    For daily data only complete weeks (all 7 days present in the data) are kept, so a part
    week at either end does not look like a drop in demand.
    """
    by = [by] if isinstance(by, str) else list(by)
    frame = sales.assign(
        week=sales["date"].dt.to_period("W-SUN").dt.start_time,
        stockout_day=_stockout(sales).astype(int),
    )
    if detect_frequency(frame["date"]).code == "D":
        days = frame.groupby("week")["date"].nunique()
        frame = frame[frame["week"].isin(days.index[days == 7])]
    return (
        frame.groupby(["week", *by], as_index=False)
        .agg(units=("quantity", "sum"), stockout_days=("stockout_day", "sum"))
        .sort_values(["week", *by], ignore_index=True)
    )


def seasonality_profile(
    sales: pd.DataFrame, by: str = "category", period: str = "weekday"
) -> pd.DataFrame:
    """Seasonal index per group ``by`` and position (weekday 0-6 or month 1-12).

    Stockout days are left out (their sales understate demand). With m_s(j) the mean demand of
    series s at position j and m_s its overall mean, the index of a group is the ratio of sums
    I(j) = sum_s m_s(j) / sum_s m_s (series weighted by their volume, robust to a changing SKU
    mix), scaled so that it averages 1 over the positions: 1.2 = 20% above an average day.

    >>> days = pd.date_range("2024-01-01", periods=14)  # two full weeks from a Monday
    >>> sales = pd.DataFrame({"date": days, "sku": "A", "location": "s", "category": "c",
    ...     "quantity": [7.0, 7, 7, 7, 7, 14, 14] * 2})
    >>> seasonality_profile(sales)["index"].round(3).tolist()
    [0.778, 0.778, 0.778, 0.778, 0.778, 1.556, 1.556]
    """
    if period not in ("weekday", "month"):
        raise ValueError(f"period must be 'weekday' or 'month', got {period!r}")
    observed = sales.loc[~_stockout(sales)]
    position = observed["date"].dt.dayofweek if period == "weekday" else observed["date"].dt.month
    series = list(dict.fromkeys([by, *_keys_in(observed)]))
    frame = observed.assign(position=position.to_numpy())
    at_position = frame.groupby([*series, "position"], as_index=False)["quantity"].mean()
    overall = frame.groupby(series, as_index=False)["quantity"].mean()
    at_position = at_position.merge(overall, on=series, suffixes=("", "_overall"))
    ratio = at_position.groupby([by, "position"], as_index=False)[
        ["quantity", "quantity_overall"]
    ].sum()
    ratio["index"] = np.divide(
        ratio["quantity"].to_numpy(dtype=float),
        ratio["quantity_overall"].to_numpy(dtype=float),
        out=np.full(len(ratio), np.nan),
        where=ratio["quantity_overall"].to_numpy(dtype=float) > 0,
    )
    ratio["index"] = ratio["index"] / ratio.groupby(by)["index"].transform("mean")
    names = _WEEKDAYS if period == "weekday" else _MONTHS
    offset = 0 if period == "weekday" else 1
    ratio["label"] = [names[p - offset] for p in ratio["position"]]
    return ratio[[by, "position", "label", "index"]].sort_values(
        [by, "position"], ignore_index=True
    )


def stockout_spells(sales: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive stockout (censored) rows per series: start, end, days, units sold.

    A frame without sku/location columns is read as one series. Longest spells first.

    >>> rows = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=6),
    ...     "quantity": [3.0, 0, 0, 2, 0, 1], "on_hand": [5, 0, 0, 4, 0, 2]})
    >>> stockout_spells(rows)[["start", "days"]].astype(str).values.tolist()
    [['2024-01-02', '2'], ['2024-01-05', '1']]
    """
    keys = _keys_in(sales)
    frame = sales.sort_values([*keys, "date"]).reset_index(drop=True)
    out = _stockout(frame).to_numpy()
    new_series = np.zeros(len(frame), dtype=bool)
    if len(frame):
        new_series[0] = True
    for key in keys:
        values = frame[key].to_numpy()
        new_series[1:] |= values[1:] != values[:-1]
    previous_out = np.concatenate([[False], out[:-1]])
    starts = out & (~previous_out | new_series)
    spell = np.cumsum(starts)
    spells = frame.assign(spell=spell)[out]
    columns = [*keys, "start", "end", "days", "units_sold"]
    if spells.empty:
        return pd.DataFrame(columns=columns)
    agg = {k: (k, "first") for k in keys}
    result = spells.groupby("spell").agg(
        **agg,
        start=("date", "min"),
        end=("date", "max"),
        days=("date", "size"),
        units_sold=("quantity", "sum"),
    )
    return result.sort_values(["days", "start"], ascending=[False, True], ignore_index=True)[
        columns
    ]


def campaigns_for(
    campaigns: pd.DataFrame, products: pd.DataFrame, sku: str, location: str
) -> pd.DataFrame:
    """The campaigns that reach one series: on the SKU itself or on its category (a campaign
    names one or the other), at its location or at every location (empty location)."""
    if campaigns.empty:
        return campaigns
    category = products.loc[products["sku"] == sku, "category"] if len(products) else []
    category = category.iloc[0] if len(category) and pd.notna(category.iloc[0]) else ""
    c_sku = campaigns["sku"].fillna("").astype(str)
    c_category = campaigns["category"].fillna("").astype(str)
    c_location = campaigns["location"].fillna("").astype(str)
    reaches = (c_sku == sku) | ((c_sku == "") & (c_category != "") & (c_category == category))
    reaches &= (c_location == "") | (c_location == location)
    found = campaigns[reaches].copy()
    found["scope"] = np.where(c_sku[reaches] == sku, "sku", "category")
    return found.sort_values("start_date", ignore_index=True)


def example_series(
    sales: pd.DataFrame,
    campaigns: pd.DataFrame,
    products: pd.DataFrame,
    days: int = 365,
    candidates: int = 10,
    sku: str | None = None,
) -> tuple[str, str]:
    """A good series to look at: among the ``candidates`` best sellers of the last ``days``
    (of ``sku`` only, when given), one with both campaigns and stockout days in that window
    (else campaigns, else stockouts, else simply the best seller)."""
    start = sales["date"].max() - pd.Timedelta(days=days)
    recent = sales[sales["date"] > start]
    if sku is not None:
        recent = recent[recent["sku"] == sku]
    ranked = (
        recent.assign(stockout_day=_stockout(recent).astype(int))
        .groupby(KEYS, as_index=False)
        .agg(units=("quantity", "sum"), stockout_days=("stockout_day", "sum"))
        .sort_values(["units", "sku", "location"], ascending=[False, True, True])
        .head(candidates)
    )
    if ranked.empty:
        raise ValueError(f"no sales in the last {days} days" + (f" for {sku}" if sku else ""))
    n_campaigns = []
    for row in ranked.itertuples():
        found = campaigns_for(campaigns, products, row.sku, row.location)
        n_campaigns.append(
            int((pd.to_datetime(found["end_date"]) > start).sum()) if len(found) else 0
        )
    ranked["campaigns"] = n_campaigns
    ranked["score"] = 2 * (ranked["campaigns"] > 0) + (ranked["stockout_days"] > 0)
    best = ranked.sort_values("score", ascending=False, kind="stable").iloc[0]
    return str(best["sku"]), str(best["location"])


def demand_patterns(
    sales: pd.DataFrame,
    days: int = 365,
    adi_cutoff: float = ADI_CUTOFF,
    cv2_cutoff: float = CV2_CUTOFF,
) -> pd.DataFrame:
    """Demand pattern per series (Syntetos, Boylan & Croston 2005) over the last ``days``.

    On the observed periods (stockouts left out): ADI = periods / periods with demand (the
    average interval between demands) and CV^2 = (s.d. / mean)^2 of the non-zero demand sizes
    (sample s.d.; 0 with a single demand). Classes: smooth (ADI < 1.32, CV^2 < 0.49),
    erratic (ADI < 1.32, CV^2 >= 0.49), intermittent (ADI >= 1.32, CV^2 < 0.49), lumpy (both
    above); ``no_demand`` when nothing was sold. ``intermittent`` flags ADI >= 1.32 (the
    intermittent and lumpy classes, where Croston-type models are meant to help).
    Source: Syntetos, Boylan & Croston (2005), "On the categorization of demand patterns",
    JORS 56(5), 495-503.

    >>> sales = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=12).repeat(2),
    ...     "sku": ["A", "B"] * 12, "location": "s",
    ...     "quantity": [5.0, 0] * 3 + [5.0, 3] + [5.0, 0] * 7 + [5.0, 3]})
    >>> demand_patterns(sales)[["sku", "adi", "cv2", "pattern"]].values.tolist()
    [['A', 1.0, 0.0, 'smooth'], ['B', 6.0, 0.0, 'intermittent']]
    """
    start = sales["date"].max() - pd.Timedelta(days=days)
    recent = sales[sales["date"] > start]
    observed = recent.loc[~_stockout(recent)]
    keys = _keys_in(observed)
    periods = observed.groupby(keys).size().rename("periods")
    sizes = (
        observed[observed["quantity"] > 0]
        .groupby(keys)["quantity"]
        .agg(demand_periods="size", size_mean="mean", size_sd="std")
    )
    frame = pd.concat([periods, sizes], axis=1).reset_index()
    frame["demand_periods"] = frame["demand_periods"].fillna(0).astype(int)
    demand = frame["demand_periods"].to_numpy() > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["adi"] = np.where(demand, frame["periods"] / frame["demand_periods"], np.inf)
        cv = frame["size_sd"].fillna(0.0) / frame["size_mean"]
    frame["cv2"] = np.where(demand, cv**2, np.nan)
    long_gaps = frame["adi"].to_numpy() >= adi_cutoff
    variable = frame["cv2"].to_numpy() >= cv2_cutoff
    frame["pattern"] = np.select(
        [~demand, long_gaps & variable, long_gaps, variable],
        ["no_demand", "lumpy", "intermittent", "erratic"],
        default="smooth",
    )
    frame["intermittent"] = long_gaps
    return frame[[*keys, "periods", "demand_periods", "adi", "cv2", "pattern", "intermittent"]]


def history_classes(
    sales: pd.DataFrame,
    products: pd.DataFrame,
    abc_thresholds: tuple[float, float] = (0.8, 0.95),
    xyz_thresholds: tuple[float, float] = (0.5, 1.0),
    days: int = 364,
    default_unit_cost: float = 1.0,
) -> pd.DataFrame:
    """ABC and XYZ classes from the sales history, with the formulas the plan uses.

    Annual value = mean daily demand over the last ``days`` (stockout days left out) x 365 x
    unit cost (else unit price, else ``default_unit_cost``) -> :func:`inventory.abc_classes`;
    CV = s.d. / mean of demand per period over the same window -> :func:`inventory.xyz_classes`.
    The plan (``policies``) takes the mean demand from the *forecast*, so its ABC classes can
    differ where demand is changing; its XYZ classes use the same history window.
    """
    panel = build_panel(sales[[c for c in sales if c not in ("stockout", "category")]])
    window = min(panel.demand.shape[1], max(round(days / panel.freq.period_days), 4))
    recent = panel.demand[:, -window:]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: series not yet sold
        mean = np.nanmean(recent, axis=1)
        cv = np.nanstd(recent, axis=1) / mean
    frame = panel.keys.copy()
    costs = frame.merge(_product_costs(products), on="sku", how="left")
    unit_cost = (
        costs["unit_cost"].fillna(costs["unit_price"]).fillna(default_unit_cost).to_numpy(float)
    )
    frame["mean_daily_demand"] = np.nan_to_num(mean) / panel.freq.period_days
    frame["annual_value"] = frame["mean_daily_demand"] * 365.0 * unit_cost
    frame["cv"] = cv
    frame["abc_class"] = inventory.abc_classes(frame["annual_value"].to_numpy(), abc_thresholds)
    frame["xyz_class"] = np.asarray(inventory.xyz_classes(cv, xyz_thresholds))
    return frame


def _product_costs(products: pd.DataFrame) -> pd.DataFrame:
    columns = ["sku", "unit_cost", "unit_price"]
    costs = products.reindex(columns=columns) if len(products) else pd.DataFrame(columns=columns)
    return costs.astype({"unit_cost": float, "unit_price": float})


def class_counts(
    frame: pd.DataFrame, rows: str = "abc_class", columns: str = "xyz_class"
) -> pd.DataFrame:
    """Series per class pair (ABC rows x XYZ columns by default), every class shown."""
    table = pd.crosstab(frame[rows], frame[columns])
    return (
        table.reindex(
            index=_CLASS_AXES.get(rows, table.index),
            columns=_CLASS_AXES.get(columns, table.columns),
        )
        .fillna(0)
        .astype(int)
    )


def compare_classes(plan: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The plan's ABC/XYZ classes beside those recomputed from history, per series."""
    cols = [*KEYS, "abc_class", "xyz_class"]
    both = plan[cols].merge(history[cols], on=KEYS, suffixes=("_plan", "_history"))
    both["same_abc"] = both["abc_class_plan"] == both["abc_class_history"]
    both["same_xyz"] = both["xyz_class_plan"] == both["xyz_class_history"]
    return both
