"""The analyses behind the notebooks: snapshot readers, pure functions over frames, and plots.

Readers take the connection of :func:`forecast.publish.report.open_results` (views over the published
Parquet snapshot), so a notebook never blocks, or waits for, a pipeline writing the warehouse.
Computations take and return DataFrames in the long layout of the warehouse (one row per
``sku, location[, date]``); plot helpers draw on a matplotlib ``Axes`` (a new figure when none
is given) and return it.

Sections, in the order of the notebooks:

1. sales exploration: weekly totals, seasonality profiles, stockout spells, campaign windows,
   demand patterns (ADI / CV^2) and ABC/XYZ classes recomputed from the history;
2. forecast diagnostics: backtest results (stored, or computed on the snapshot), metrics by
   segment, model choice, a holdout forecast and its quantile coverage, the worst series;
3. stock policy and risk: policy by class, the service-level / safety-stock trade-off curve,
   the risk ranking, stock projection, allocation by customer segment;
4. what-if: side-by-side tables and plots of :func:`forecast.scenarios.whatif.what_if` results.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from forecast.backorders.allocation import summarise_allocation
from forecast.forecasting.distribution import QUANTILE_COLUMNS
from forecast.forecasting.series import build_panel, detect_frequency
from forecast.ingest.published import SNAPSHOT_TABLES
from forecast.planning import inventory
from forecast.publish.report import plot_stock_projection  # noqa: F401 - notebooks call it from here

if TYPE_CHECKING:
    from matplotlib.axes import Axes

KEYS = ["sku", "location"]
#: Syntetos-Boylan-Croston cut-offs: average inter-demand interval and squared CV of sizes.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
#: Per-series backtest metrics shown by segment (lower is better, except coverage_90 -> 0.9).
BACKTEST_METRICS = ("mase", "rmsse", "wape", "bias", "spl", "coverage_90")
#: Service levels of the trade-off curve.
SERVICE_LEVEL_GRID = (*np.round(np.linspace(0.80, 0.98, 19), 3), 0.985, 0.99, 0.995, 0.998, 0.999)
SEGMENT_ORDER = ("vip", "loyal", "regular", "new")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CLASS_AXES = {"abc_class": ("A", "B", "C"), "xyz_class": ("X", "Y", "Z")}

_SALES_SQL = """
SELECT s.date, s.sku, s.location, s.quantity, s.price, s.on_hand,
       coalesce(s.on_hand <= 0, false) AS stockout,
       coalesce(nullif(p.category, ''), 'uncategorised') AS category
FROM sales s LEFT JOIN products p USING (sku)
ORDER BY s.sku, s.location, s.date
"""

_SERIES_SALES_SQL = """
SELECT s.date, s.sku, s.location, s.quantity, s.price, s.on_hand,
       coalesce(s.on_hand <= 0, false) AS stockout,
       coalesce(nullif(p.category, ''), 'uncategorised') AS category
FROM sales s
JOIN (SELECT unnest(?::VARCHAR[]) AS sku, unnest(?::VARCHAR[]) AS location) k USING (sku, location)
LEFT JOIN products p USING (sku)
ORDER BY s.sku, s.location, s.date
"""


# -- reading the snapshot ------------------------------------------------------------------------


def tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Names of the tables (views) the snapshot connection holds."""
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return frozenset(r[0] for r in rows)


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """A whole snapshot table without its ``run_id``; empty when the snapshot lacks it."""
    if name not in SNAPSHOT_TABLES:
        raise KeyError(f"unknown table {name!r}; snapshot tables: {', '.join(SNAPSHOT_TABLES)}")
    if name not in tables(con):
        return pd.DataFrame()
    # The name is one of SNAPSHOT_TABLES (checked above), never user data.
    return con.execute(f'SELECT * FROM "{name}"').df().drop(columns="run_id", errors="ignore")


def sales_frame(con: duckdb.DuckDBPyConnection, series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sales rows (all series, or those of ``series``: sku, location) with the product's
    ``category`` and a ``stockout`` flag (on_hand <= 0: sales understate demand that day)."""
    if series is None:
        return con.execute(_SALES_SQL).df()
    return con.execute(_SERIES_SALES_SQL, [list(series["sku"]), list(series["location"])]).df()


def as_of_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The forecast origin of the published run (last history date), else the last sales date."""
    if "forecast_models" in tables(con):
        value = con.execute("SELECT max(history_end) FROM forecast_models").fetchall()[0][0]
        if value is not None:
            return pd.Timestamp(value).date()
    value = con.execute("SELECT max(date) FROM sales").fetchall()[0][0]
    return None if value is None else pd.Timestamp(value).date()


def top_skus(con: duckdb.DuckDBPyConnection, n: int = 2) -> list[str]:
    """The ``n`` SKUs with the most units sold over the last 365 days (all locations)."""
    return list(
        con.execute(
            """
            SELECT sku FROM sales WHERE date > (SELECT max(date) FROM sales) - INTERVAL 365 DAY
            GROUP BY sku ORDER BY sum(quantity) DESC, sku LIMIT ?
            """,
            [n],
        ).df()["sku"]
    )


def overview(sales: pd.DataFrame) -> pd.DataFrame:
    """One row about the history: rows, series, SKUs, locations, first and last date, units,
    and the share of rows that are stockout days (censored)."""
    return pd.DataFrame(
        {
            "rows": [len(sales)],
            "series": [len(sales[KEYS].drop_duplicates())],
            "skus": [sales["sku"].nunique()],
            "locations": [sales["location"].nunique()],
            "first": [sales["date"].min()],
            "last": [sales["date"].max()],
            "units": [sales["quantity"].sum()],
            "stockout_share": [_stockout(sales).mean() if len(sales) else np.nan],
        }
    )


def campaign_window(
    con: duckdb.DuckDBPyConnection,
    start: str | date | None = None,
    days: int = 10,
    offset_days: int = 7,
) -> tuple[str, str]:
    """(start, end) ISO dates of a planned campaign of ``days`` days: from ``start``, or by
    default ``offset_days`` after the forecast origin (:func:`as_of_date`)."""
    if days < 1:
        raise ValueError(f"a campaign lasts at least one day, got {days}")
    if start is None:
        origin = as_of_date(con)
        if origin is None:
            raise ValueError("the snapshot has no sales: give the campaign start")
        first = pd.Timestamp(origin) + pd.Timedelta(days=offset_days)
    else:
        first = pd.Timestamp(start)
    last = first + pd.Timedelta(days=days - 1)
    return f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"


def for_series(frame: pd.DataFrame, sku: str, location: str) -> pd.DataFrame:
    """The rows of one series."""
    return frame[(frame["sku"] == sku) & (frame["location"] == location)]


def _stockout(sales: pd.DataFrame) -> pd.Series:
    if "stockout" in sales:
        return sales["stockout"].fillna(False).astype(bool)
    if "on_hand" in sales:
        return (sales["on_hand"] <= 0).fillna(False).astype(bool)
    return pd.Series(False, index=sales.index)


def _keys_in(frame: pd.DataFrame) -> list[str]:
    return [k for k in KEYS if k in frame]


# -- 1. sales exploration ------------------------------------------------------------------------


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


# -- 2. forecast diagnostics ---------------------------------------------------------------------


@dataclass(frozen=True)
class Backtest:
    """Backtest results: one row per model, series and fold; one per model; where they came from."""

    per_series: pd.DataFrame
    summary: pd.DataFrame
    source: str

    @property
    def empty(self) -> bool:
        return self.per_series.empty


def load_backtest(
    con: duckdb.DuckDBPyConnection, exports_dir: str | Path | None = None
) -> Backtest:
    """The latest stored backtest (``forecast backtest``): the snapshot's tables, else the
    ``backtest_*.csv`` files in ``exports_dir``; empty (source ``"none"``) without either.

    The snapshot only holds a backtest after a pipeline run has published it, while the
    exports are written as soon as the backtest ends: both are files, so neither blocks.
    """
    per_series = read_table(con, "backtest_series")
    if len(per_series):
        per_series["cutoff"] = pd.to_datetime(per_series["cutoff"])
        return Backtest(per_series, read_table(con, "backtest_summary"), "snapshot")
    if exports_dir is not None:
        path = Path(exports_dir) / "backtest_series.csv"
        if path.is_file():
            per_series = pd.read_csv(path, parse_dates=["cutoff"])
            summary_path = path.with_name("backtest_summary.csv")
            summary = pd.read_csv(summary_path) if summary_path.is_file() else pd.DataFrame()
            return Backtest(per_series, summary, str(path))
    return Backtest(pd.DataFrame(), pd.DataFrame(), "none")


def _forecast_inputs(
    con: duckdb.DuckDBPyConnection, sales: pd.DataFrame, horizon: int, country: str | None
):
    """Panel of ``sales`` and its covariates (campaigns, events, prices) from the snapshot."""
    from forecast.forecasting.features import build_covariates

    panel = build_panel(sales[[c for c in sales if c not in ("stockout", "category")]])
    covariates = build_covariates(
        panel.keys,
        panel.dates,
        horizon,
        panel.freq,
        campaigns=read_table(con, "campaigns"),
        events=read_table(con, "events"),
        products=read_table(con, "products"),
        price=panel.price,
        country=country,
    )
    return panel, covariates


def _series_or_top(
    con: duckdb.DuckDBPyConnection, series: pd.DataFrame | None, top_n: int
) -> pd.DataFrame:
    from forecast.publish.report import top_series

    return series[KEYS] if series is not None else top_series(con, top_n)[KEYS]


def snapshot_backtest(
    con: duckdb.DuckDBPyConnection,
    horizon: int = 28,
    folds: int = 2,
    series: pd.DataFrame | None = None,
    top_n: int = 30,
    models: tuple[str, ...] | None = None,
    seed: int = 0,
    country: str | None = "US",
) -> Backtest:
    """Rolling-origin backtest (:func:`forecast.forecasting.backtesting.run_backtest`) of the snapshot's
    ``series`` (default: the ``top_n`` sellers), for when no stored backtest exists."""
    from forecast.forecasting.backtesting import run_backtest
    from forecast.forecasting.engine import EngineConfig

    chosen = _series_or_top(con, series, top_n)
    panel, covariates = _forecast_inputs(con, sales_frame(con, chosen), horizon, country)
    cfg = EngineConfig(models=models or EngineConfig().models, seed=seed)
    report = run_backtest(panel, horizon, folds, cfg, covariates)
    per_series = report.per_series.copy()
    per_series["cutoff"] = panel.dates[per_series["cutoff"].to_numpy()]
    source = f"computed here: {len(chosen)} series, {folds} fold(s) x {horizon} periods"
    return Backtest(per_series, report.summary, source)


def holdout_forecast(
    con: duckdb.DuckDBPyConnection,
    horizon: int = 28,
    cutoff: str | date | None = None,
    series: pd.DataFrame | None = None,
    top_n: int = 20,
    models: tuple[str, ...] | None = None,
    seed: int = 0,
    country: str | None = "US",
) -> pd.DataFrame:
    """Forecast ``series`` (default: the ``top_n`` sellers) from the history up to ``cutoff``
    (default: ``horizon`` periods before the last sales date) and put the actuals beside it.

    Long rows: sku, location, date, mean, q05 ... q99, model, actual, stockout, cutoff, and
    any other columns of ``series`` (a segment, say). ``actual`` is NaN on stockout days (sales
    understate demand) and after the data ends. Campaign uplift is estimated, as in the nightly
    run, on every series of the snapshot, from their history up to the cutoff only.
    """
    from forecast.forecasting.engine import EngineConfig, forecast_panel
    from forecast.forecasting.features import estimate_campaign_uplift

    chosen = _series_or_top(con, series, top_n)
    sales = sales_frame(con, chosen)
    if sales.empty:
        raise ValueError("no sales for the chosen series in the snapshot")
    dates = pd.DatetimeIndex(sales["date"].drop_duplicates().sort_values())
    if cutoff is None:
        if len(dates) <= horizon + 1:
            raise ValueError(
                f"history of {len(dates)} periods is too short for a {horizon}-period holdout"
            )
        cut = dates[-horizon - 1]
    else:
        cut = pd.Timestamp(cutoff)
    everything = sales_frame(con)
    all_panel, all_covariates = _forecast_inputs(
        con, everything[everything["date"] <= cut], 0, country
    )
    uplift = estimate_campaign_uplift(all_panel.demand, all_covariates)
    panel, covariates = _forecast_inputs(con, sales[sales["date"] <= cut], horizon, country)
    cfg = EngineConfig(models=models or EngineConfig().models, seed=seed)
    frame = forecast_panel(panel, horizon, cfg, covariates, uplift=uplift).forecast.to_frame()
    later = sales.loc[sales["date"] > cut, [*KEYS, "date", "quantity", "stockout"]]
    frame = frame.merge(later, on=[*KEYS, "date"], how="left")
    frame["stockout"] = frame["stockout"].astype("boolean").fillna(False).astype(bool)
    frame["actual"] = frame["quantity"].where(~frame["stockout"])
    frame["cutoff"] = cut
    if series is not None and len(series.columns) > len(KEYS):
        extra = series.drop_duplicates(KEYS).drop(columns=["model", "cutoff"], errors="ignore")
        frame = frame.merge(extra, on=KEYS, how="left")
    return frame.drop(columns="quantity")


def quantile_coverage(holdout: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Share of actuals below each forecast quantile (q05 ... q99), per group ``by`` if given.

    Demand is a count, so a quantile q_tau of a calibrated forecast satisfies
    P(Y < q_tau) <= tau <= P(Y <= q_tau): ``below`` (actual < q) and ``at_or_below``
    (actual <= q) bracket the nominal level. Calibrated: below <= level <= at_or_below;
    at_or_below < level means the quantile is too low, below > level too high.

    >>> h = pd.DataFrame({"actual": [0.0, 1, 2, 3], "q50": [1.0, 1, 1, 1]})
    >>> quantile_coverage(h)[["quantile", "level", "below", "at_or_below", "n"]].values.tolist()
    [['q50', 0.5, 0.25, 0.5, 4]]
    """
    scored = holdout.dropna(subset=["actual"])
    groups = [((), scored)] if by is None else scored.groupby(by)
    rows = []
    for key, part in groups:
        actual = part["actual"].to_numpy(dtype=float)
        for name, level in QUANTILE_COLUMNS.items():
            if name not in part:
                continue
            q = part[name].to_numpy(dtype=float)
            row = {
                "quantile": name,
                "level": level,
                "below": float(np.mean(actual < q)),
                "at_or_below": float(np.mean(actual <= q)),
                "n": len(part),
            }
            if by is not None:
                row = {by: key[0] if isinstance(key, tuple) else key, **row}
            rows.append(row)
    return pd.DataFrame(rows)


def series_segments(
    con: duckdb.DuckDBPyConnection, patterns: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per series: category, units sold over the last 365 days, the plan's ABC/XYZ classes,
    the chosen model (and its lead model without the ``ensemble:`` prefix), the demand pattern
    (:func:`demand_patterns`) and ``demand``: intermittent (intermittent, lumpy or no demand)
    or smooth (smooth or erratic)."""
    sales = sales_frame(con)
    recent = sales[sales["date"] > sales["date"].max() - pd.Timedelta(days=365)]
    frame = sales[[*KEYS, "category"]].drop_duplicates(KEYS).reset_index(drop=True)
    units = recent.groupby(KEYS, as_index=False)["quantity"].sum()
    frame = frame.merge(units.rename(columns={"quantity": "units"}), on=KEYS, how="left")
    frame["units"] = frame["units"].fillna(0.0)
    policies = read_table(con, "policies")
    if len(policies):
        frame = frame.merge(policies[[*KEYS, "abc_class", "xyz_class"]], on=KEYS, how="left")
    models = read_table(con, "forecast_models")
    if len(models):
        frame = frame.merge(models[[*KEYS, "model"]], on=KEYS, how="left")
        frame["lead_model"] = frame["model"].str.replace("ensemble:", "", regex=False)
    patterns = demand_patterns(sales) if patterns is None else patterns
    frame = frame.merge(patterns[[*KEYS, "pattern"]], on=KEYS, how="left")
    frame["pattern"] = frame["pattern"].astype(object).where(frame["pattern"].notna(), "unknown")
    gappy = frame["pattern"].isin(["intermittent", "lumpy", "no_demand"])
    frame["demand"] = np.where(
        gappy, "intermittent", np.where(frame["pattern"] == "unknown", "unknown", "smooth")
    )
    return frame


def pick_series(segments: pd.DataFrame, by: str = "demand", per_group: int = 10) -> pd.DataFrame:
    """The ``per_group`` best sellers (``units``) of each group ``by``: a small sample that
    still covers every segment (top sellers alone are nearly all smooth)."""
    ranked = segments.sort_values(["units", "sku", "location"], ascending=[False, True, True])
    return ranked.groupby(by, sort=True).head(per_group)[[*KEYS, by]].reset_index(drop=True)


def metrics_by_segment(
    per_series: pd.DataFrame,
    segments: pd.DataFrame,
    by: str = "abc_class",
    metrics: Sequence[str] = BACKTEST_METRICS,
) -> pd.DataFrame:
    """Mean of each backtest metric per segment and model (over series and folds)."""
    metrics = [m for m in metrics if m in per_series]
    frame = per_series.merge(segments[[*KEYS, by]].drop_duplicates(KEYS), on=KEYS, how="left")
    frame[by] = frame[by].astype(object).where(frame[by].notna(), "unknown")
    table = frame.groupby([by, "model"], as_index=False).agg(
        rows=("sku", "size"), **{m: (m, "mean") for m in metrics}
    )
    return table.sort_values([by, "model"], ignore_index=True)


def model_choice(
    segments: pd.DataFrame, by: str = "abc_class", margins: bool = False
) -> pd.DataFrame:
    """Series per lead model (rows) and segment (columns): which model was chosen where;
    ``margins`` adds "all" totals."""
    column = "lead_model" if "lead_model" in segments else "model"
    return pd.crosstab(segments[column], segments[by], margins=margins, margins_name="all")


def worst_series(
    per_series: pd.DataFrame, model: str = "auto", metric: str = "mase", n: int = 5
) -> pd.DataFrame:
    """The ``n`` series ``model`` forecast worst by ``metric`` (mean over folds; by its size
    for ``bias``, else higher is worse), with the other metrics beside it."""
    if model not in set(per_series["model"]):
        raise ValueError(
            f"model {model!r} is not in the backtest: {sorted(set(per_series['model']))}"
        )
    metrics = [m for m in BACKTEST_METRICS if m in per_series]
    table = per_series[per_series["model"] == model].groupby(KEYS, as_index=False)[metrics].mean()
    order = table[metric].abs() if metric == "bias" else table[metric]
    return table.loc[order.sort_values(ascending=False).index].head(n).reset_index(drop=True)


def uplift_matrix(uplift: pd.DataFrame, value: str = "uplift") -> pd.DataFrame:
    """Campaign kind (rows) x category (columns) of the estimated uplift as a % change
    (uplift 1.25 -> +25), or of ``campaigns`` counts with ``value="campaigns"``."""
    table = uplift.pivot_table(index="kind", columns="category", values=value, aggfunc="first")
    return (table - 1.0) * 100.0 if value in ("uplift", "post_dip") else table


# -- 3. stock policy and risk --------------------------------------------------------------------


def with_category(frame: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with a sku column) plus the product category ('uncategorised' when unknown)."""
    cats = products.reindex(columns=["sku", "category"]) if len(products) else None
    if cats is None:
        return frame.assign(category="uncategorised")
    out = frame.drop(columns="category", errors="ignore").merge(cats, on="sku", how="left")
    out["category"] = (
        out["category"]
        .astype(object)
        .where(out["category"].notna() & (out["category"] != ""), "uncategorised")
    )
    return out


def main_category(policies: pd.DataFrame) -> str:
    """The category holding the most stock value at the max level (max_level x unit cost)."""
    value = (policies["max_level"] * policies["unit_cost"]).groupby(policies["category"]).sum()
    if value.empty:
        raise ValueError("no policies with a category")
    return str(value.sort_values(ascending=False, kind="stable").index[0])


def policy_by_class(policies: pd.DataFrame, by: str | Sequence[str] = "abc_class") -> pd.DataFrame:
    """Per class: series, mean service level, safety stock (units and value), cycle stock value
    (order quantity / 2 x unit cost: the average stock between orders), median reorder point
    (the minimum), median max level and median safety stock in days of demand."""
    by = [by] if isinstance(by, str) else list(by)
    daily = policies["mean_daily_demand"].to_numpy(dtype=float)
    frame = policies.assign(
        safety_stock_value=policies["safety_stock"] * policies["unit_cost"],
        cycle_stock_value=policies["order_quantity"] / 2.0 * policies["unit_cost"],
        safety_days=np.divide(
            policies["safety_stock"].to_numpy(dtype=float),
            daily,
            out=np.full(len(policies), np.nan),
            where=daily > 0,
        ),
    )
    return frame.groupby(by, as_index=False).agg(
        series=("sku", "size"),
        service_level=("service_level", "mean"),
        safety_stock=("safety_stock", "sum"),
        safety_stock_value=("safety_stock_value", "sum"),
        cycle_stock_value=("cycle_stock_value", "sum"),
        median_reorder_point=("reorder_point", "median"),
        median_max_level=("max_level", "median"),
        median_safety_days=("safety_days", "median"),
    )


def service_level_curve(
    policies: pd.DataFrame,
    levels: Sequence[float] = SERVICE_LEVEL_GRID,
    kinds: Sequence[str] | None = None,
    scope: str = "class",
) -> pd.DataFrame:
    """Safety stock (units and value) of ``policies`` if every series had each service level.

    Same formulas as the plan (:func:`forecast.planning.policies.compute_policies`), from the stored
    lead-time demand mean mu_P and s.d. sigma_P, order quantity Q and unit cost: for a
    ``cycle`` service level ss = max(z sigma_P, 0) with z = Phi^-1(level); for a ``fill_rate``
    the exact negative binomial fill-rate level (:func:`forecast.planning.policies.fill_rate_safety_stock`),
    with the SKUs the plan pooled by class (``service_source`` "class", ``scope`` "class", not
    (R,S)) sharing their class's demand-weighted level; 0 for series without forecast demand.
    For (R,S) rows the lead-time part of the protection interval is taken as L/(L+R) of it.
    ``kinds`` defaults to the kind(s) the plan used. One row per kind and level: level, kind,
    safety_stock, safety_stock_value, series.

    >>> p = pd.DataFrame({"lead_time_demand_sd": [707.1068], "lead_time_demand": [1000.0],
    ...     "order_quantity": [10000.0], "unit_cost": [2.0], "mean_daily_demand": [100.0],
    ...     "service_kind": ["cycle"]})
    >>> service_level_curve(p, [0.975])[["safety_stock", "safety_stock_value"]].round(1).values.tolist()
    [[1385.9, 2771.8]]
    """
    levels = np.asarray(levels, dtype=float)
    sd = np.nan_to_num(policies["lead_time_demand_sd"].to_numpy(dtype=float))
    cost = np.nan_to_num(policies["unit_cost"].to_numpy(dtype=float))
    demand = policies["mean_daily_demand"].to_numpy(dtype=float) > 0
    if kinds is None:
        kinds = list(pd.unique(policies["service_kind"].dropna())) or ["fill_rate"]
    frames = []
    for kind in kinds:
        if kind == "cycle":
            z = np.asarray(inventory.safety_factor_cycle_service(levels), dtype=float)[:, None]
            z = np.broadcast_to(z, (len(levels), len(sd)))
            safety = np.where(demand[None, :], np.maximum(z * sd[None, :], 0.0), 0.0)
        elif kind == "fill_rate":
            safety = np.stack([_fill_rate_curve_row(policies, level, scope) for level in levels])
        else:
            raise ValueError(f"kind must be 'cycle' or 'fill_rate', got {kind!r}")
        frames.append(
            pd.DataFrame(
                {
                    "level": levels,
                    "kind": kind,
                    "safety_stock": safety.sum(axis=1),
                    "safety_stock_value": (safety * cost[None, :]).sum(axis=1),
                    "series": len(sd),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _fill_rate_curve_row(policies: pd.DataFrame, level: float, scope: str) -> np.ndarray:
    """Safety stock per series at fill rate ``level``, as the plan computes it."""
    from forecast.planning.policies import fill_rate_safety_stock

    n = len(policies)

    def col(name: str, default: float = np.nan) -> np.ndarray:
        if name not in policies:
            return np.full(n, default)
        return pd.to_numeric(policies[name], errors="coerce").to_numpy(dtype=float)

    ltd_mean, ltd_sd = np.nan_to_num(col("lead_time_demand")), np.nan_to_num(col("lead_time_demand_sd"))
    daily = np.nan_to_num(col("mean_daily_demand"))
    order_q = np.maximum(np.nan_to_num(col("order_quantity")), 1.0)
    policy = policies["policy"].astype(str).to_numpy() if "policy" in policies else np.full(n, "sQ")
    periodic = policy == "RS"
    lead_days, review = np.nan_to_num(col("lead_time_days")), np.nan_to_num(col("review_period_days"))
    share = np.where(lead_days + review > 0, lead_days / np.maximum(lead_days + review, 1e-12), 1.0)
    source = policies["service_source"].astype(str).to_numpy() if "service_source" in policies else np.full(n, "class")
    pool = None
    if scope == "class" and "abc_class" in policies:
        pool = np.where((source == "class") & ~periodic, policies["abc_class"].astype(str).to_numpy(), "")
    safety = np.zeros(n)
    for rows in (~periodic, periodic):
        if not rows.any():
            continue
        lead = (ltd_mean[rows] * share[rows], ltd_sd[rows] * np.sqrt(share[rows])) if rows is periodic else None
        safety[rows], _ = fill_rate_safety_stock(
            np.full(int(rows.sum()), level), order_q[rows], ltd_mean[rows], ltd_sd[rows], daily[rows] > 0,
            lead, None if pool is None else pool[rows], daily[rows], np.ones(int(rows.sum())),
        )
    return safety


def risk_ranking(
    risk: pd.DataFrame,
    policies: pd.DataFrame,
    products: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
    n: int = 15,
) -> pd.DataFrame:
    """The ``n`` series most likely to stock out in the simulation, with their class, category,
    thresholds and the order recommended for them (if any)."""
    columns = [*KEYS, "abc_class", "xyz_class", "reorder_point", "max_level", "safety_stock"]
    frame = risk.merge(policies.reindex(columns=columns), on=KEYS, how="left")
    if products is not None and len(products):
        frame = with_category(frame, products)
    if recommendations is not None and len(recommendations):
        ordered = recommendations.groupby(KEYS, as_index=False).agg(
            order_quantity=("order_quantity", "sum"),
            order_by=("order_by", "min"),
            urgent=("urgent", "max"),
        )
        frame = frame.merge(ordered, on=KEYS, how="left")
    frame = frame.dropna(subset=["stockout_probability"])
    return frame.sort_values(
        ["stockout_probability", "expected_backorders", "sku", "location"],
        ascending=[False, False, True, True],
        ignore_index=True,
    ).head(n)


def allocation_by_segment(
    allocations: pd.DataFrame, orders: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Outcome per customer segment under each allocation policy, side by side: the measures
    of :func:`forecast.backorders.allocation.summarise_allocation` (lines, share on time, mean and
    90th-percentile days late, lines without planned supply ...; ``orders`` gives it the unit
    prices for revenue at risk). Columns are (measure, policy); known segments come first."""
    frame = allocations.assign(
        segment=allocations["segment"]
        .astype(object)
        .where(allocations["segment"].notna(), "unknown")
    )
    summary = summarise_allocation(frame) if orders is None else summarise_allocation(frame, orders)
    wide = summary.pivot(index="segment", columns="policy")
    known = [s for s in SEGMENT_ORDER if s in wide.index]
    others = sorted(s for s in wide.index if s not in SEGMENT_ORDER and s != "all")
    return wide.reindex(known + others + (["all"] if "all" in wide.index else []))


# -- 4. what-if ----------------------------------------------------------------------------------


def scenario_table(results: Mapping[str, object], changes: bool = False) -> pd.DataFrame:
    """The comparisons of several :func:`forecast.scenarios.whatif.what_if` results side by side.

    ``results`` maps a scenario name to a result with a ``comparison`` frame (sku, location,
    metric, before, after, change). Returns one row per sku, location and metric with the
    ``before`` value and each scenario's ``after`` value (or, with ``changes``, each scenario's
    change against before).
    """
    if not results:
        raise ValueError("no scenarios to compare")
    index = [*KEYS, "metric"]
    before = None
    columns = []
    for name, result in results.items():
        comparison = result.comparison.set_index(index)  # type: ignore[attr-defined]
        before = (
            comparison["before"] if before is None else before.combine_first(comparison["before"])
        )
        columns.append(comparison["change" if changes else "after"].rename(name))
    parts = columns if changes else [before.rename("before"), *columns]
    table = pd.concat(parts, axis=1)
    metric_order = list(dict.fromkeys(m for r in results.values() for m in r.comparison["metric"]))  # type: ignore[attr-defined]
    table = table.reset_index()
    table["metric"] = pd.Categorical(table["metric"], categories=metric_order, ordered=True)
    return table.sort_values(index, ignore_index=True).astype({"metric": str})


# -- plots ---------------------------------------------------------------------------------------


def _axes(ax: Axes | None, figsize: tuple[float, float] = (11, 4)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_heatmap(
    matrix: pd.DataFrame,
    title: str = "",
    fmt: str = "{:.0f}",
    cmap: str = "Blues",
    center: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A labelled, annotated heatmap of a small matrix (class counts, uplift by kind/category).
    ``center`` puts that value at the middle of a diverging colour map."""
    ax = _axes(ax, (6, 4))
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    if center is not None:
        spread = max(np.max(np.abs(finite - center)) if finite.size else 1.0, 1e-9)
        low, high = center - spread, center + spread
    high = high if high > low else low + 1.0
    image = ax.imshow(values, cmap=cmap, vmin=low, vmax=high, aspect="auto")
    labels = [str(c) for c in matrix.columns]
    slanted = max(map(len, labels), default=0) > 4
    ax.set_xticks(
        range(matrix.shape[1]),
        labels,
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
    )
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in matrix.index])
    ax.set_xlabel(str(matrix.columns.name or ""))
    ax.set_ylabel(str(matrix.index.name or ""))
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            # Light text on the dark end(s) of the colour map.
            share = (v - low) / (high - low)
            dark = abs(share - 0.5) > 0.3 if center is not None else share > 0.6
            ax.text(
                j,
                i,
                fmt.format(v),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "black",
            )
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    return ax


def plot_weekly(
    weekly: pd.DataFrame, by: str = "category", title: str = "", ax: Axes | None = None
) -> Axes:
    """Weekly units per group ``by`` (summed over any other columns), one line per group."""
    ax = _axes(ax)
    wide = weekly.pivot_table(index="week", columns=by, values="units", aggfunc="sum")
    for name in wide.columns:
        ax.plot(wide.index, wide[name], lw=1.2, label=str(name))
    ax.set_ylabel("units per week")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=min(len(wide.columns), 4), loc="upper left")
    return ax


def plot_profiles(
    profile: pd.DataFrame, by: str = "category", title: str = "", ax: Axes | None = None
) -> Axes:
    """Seasonal indices (:func:`seasonality_profile`), one line per group; 1 = average."""
    ax = _axes(ax, (7, 4))
    for name, part in profile.groupby(by):
        ax.plot(part["position"], part["index"], marker="o", ms=3, lw=1.2, label=str(name))
    first = profile.drop_duplicates("position").sort_values("position")
    ax.set_xticks(first["position"], first["label"])
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_ylabel("index (1 = average)")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    return ax


_KIND_COLOURS = {"price_promo": "C1", "feature_ad": "C2", "email": "C4", "promotion": "C5"}


def plot_sales_context(
    history: pd.DataFrame,
    campaigns: pd.DataFrame | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Daily sales of one series with its campaigns shaded (colour per kind) and its stockout
    spells (censored days, whose sales understate demand) in red."""
    ax = _axes(ax)
    ax.plot(history["date"], history["quantity"], color="0.25", lw=1, label="sales")
    start, end = history["date"].min(), history["date"].max()
    seen: set[str] = set()
    if campaigns is not None and len(campaigns):
        shown = campaigns[
            (pd.to_datetime(campaigns["end_date"]) >= start)
            & (pd.to_datetime(campaigns["start_date"]) <= end)
        ]
        for row in shown.itertuples():
            kind = str(row.kind)
            ax.axvspan(
                pd.Timestamp(row.start_date),
                pd.Timestamp(row.end_date) + pd.Timedelta(days=1),
                color=_KIND_COLOURS.get(kind, "C5"),
                alpha=0.2,
                label=None if kind in seen else f"campaign: {kind}",
            )
            seen.add(kind)
    for i, spell in enumerate(stockout_spells(history).itertuples()):
        ax.axvspan(
            spell.start,
            spell.end + pd.Timedelta(days=1),
            color="red",
            alpha=0.3,
            label="stockout spell" if i == 0 else None,
        )
    ax.set_ylabel("units")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return ax


def plot_stockout_timeline(
    spells: pd.DataFrame, n: int = 20, title: str = "", ax: Axes | None = None
) -> Axes:
    """Stockout spells of the ``n`` series with the most stockout days, one row per series."""
    totals = spells.groupby(KEYS)["days"].sum().sort_values(ascending=False).head(n)
    ax = _axes(ax, (11, max(2.5, 0.28 * len(totals) + 1)))
    for i, (sku, location) in enumerate(totals.index):
        rows = for_series(spells, sku, location)
        ax.broken_barh(
            [
                (pd.Timestamp(s), pd.Timedelta(days=int(d)))
                for s, d in zip(rows["start"], rows["days"], strict=True)
            ],
            (i - 0.4, 0.8),
            color="red",
            alpha=0.6,
        )
    ax.set_yticks(range(len(totals)), [f"{s} @ {loc}" for s, loc in totals.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title)
    return ax


def plot_patterns(patterns: pd.DataFrame, title: str = "", ax: Axes | None = None) -> Axes:
    """ADI against CV^2 per series with the Syntetos-Boylan-Croston cut-offs."""
    ax = _axes(ax, (7, 5))
    shown = patterns[np.isfinite(patterns["adi"]) & patterns["cv2"].notna()]
    for pattern, part in shown.groupby("pattern"):
        ax.scatter(part["adi"], part["cv2"], s=18, alpha=0.7, label=f"{pattern} ({len(part)})")
    ax.axvline(ADI_CUTOFF, color="0.4", ls="--", lw=0.8)
    ax.axhline(CV2_CUTOFF, color="0.4", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ADI (periods per demand)")
    ax.set_ylabel("CV$^2$ of demand sizes")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_metric_by_segment(
    table: pd.DataFrame,
    metric: str = "mase",
    by: str = "abc_class",
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Grouped bars of one metric (:func:`metrics_by_segment`): segments on x, one bar per model."""
    ax = _axes(ax)
    wide = table.pivot(index=by, columns="model", values=metric)
    wide.plot.bar(ax=ax, width=0.85, rot=0)
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} by {by} and model")
    ax.legend(fontsize=7, ncol=min(len(wide.columns), 4))
    return ax


def plot_calibration(coverage: pd.DataFrame, title: str = "", ax: Axes | None = None) -> Axes:
    """Observed share of actuals below each quantile (:func:`quantile_coverage`) against its
    level: the bar spans ``below`` .. ``at_or_below``; a calibrated forecast crosses the
    diagonal."""
    ax = _axes(ax, (5, 5))
    ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=0.8, label="perfect calibration")
    ax.vlines(
        coverage["level"],
        coverage["below"],
        coverage["at_or_below"],
        color="C0",
        lw=6,
        alpha=0.6,
        label="share of actuals < q .. <= q",
    )
    ax.scatter(
        coverage["level"], (coverage["below"] + coverage["at_or_below"]) / 2, color="C0", s=12
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("quantile level")
    ax.set_ylabel("share of actuals below the quantile")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_calibration_grid(coverage: pd.DataFrame, by: str, title: str = "") -> Sequence[Axes]:
    """:func:`plot_calibration` for each group ``by`` of a :func:`quantile_coverage` table."""
    import matplotlib.pyplot as plt

    groups = list(coverage.groupby(by))
    fig, axes = plt.subplots(
        1, max(len(groups), 1), figsize=(5 * max(len(groups), 1), 5), squeeze=False
    )
    for ax, (name, part) in zip(axes[0], groups, strict=False):
        n = int(part["n"].iloc[0])
        plot_calibration(part, title=f"{by} = {name} ({n} actuals)", ax=ax)
    fig.suptitle(title)
    return list(axes[0])


def plot_holdout(
    history: pd.DataFrame, holdout: pd.DataFrame, title: str = "", ax: Axes | None = None
) -> Axes:
    """One series' history (through the holdout) against the forecast made at the cutoff."""
    from forecast.publish.report import plot_series

    ax = plot_series(history, holdout, title=title, ax=_axes(ax))
    if len(holdout):
        ax.axvline(holdout["cutoff"].iloc[0], color="0.4", ls=":", lw=1)
    return ax


def plot_policy_by_class(
    summary: pd.DataFrame, by: str = "abc_class", title: str = "", ax: Axes | None = None
) -> Axes:
    """Stacked bars of safety stock and cycle stock value per class (:func:`policy_by_class`)."""
    ax = _axes(ax, (6, 4))
    labels = summary[by].astype(str)
    ax.bar(labels, summary["safety_stock_value"], color="C3", label="safety stock")
    ax.bar(
        labels,
        summary["cycle_stock_value"],
        bottom=summary["safety_stock_value"],
        color="C0",
        alpha=0.7,
        label="cycle stock (Q/2)",
    )
    ax.set_ylabel("stock value")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_min_max(
    policies: pd.DataFrame, n: int = 20, title: str = "", ax: Axes | None = None
) -> Axes:
    """Per series (the ``n`` with the largest max level): safety stock, the rest of the reorder
    point (lead-time demand) and the order quantity up to the max level, as stacked bars."""
    top = policies.sort_values("max_level", ascending=False).head(n).iloc[::-1]
    ax = _axes(ax, (9, max(2.5, 0.3 * len(top) + 1)))
    labels = [f"{s} @ {loc}" for s, loc in zip(top["sku"], top["location"], strict=True)]
    safety = top["safety_stock"].to_numpy(dtype=float)
    reorder = top["reorder_point"].to_numpy(dtype=float)
    high = top["max_level"].to_numpy(dtype=float)
    ax.barh(labels, safety, color="C3", label="safety stock")
    ax.barh(labels, reorder - safety, left=safety, color="C1", alpha=0.7, label="lead-time demand")
    ax.barh(
        labels, high - reorder, left=reorder, color="C0", alpha=0.5, label="up to max (order qty)"
    )
    ax.set_xlabel("units (reorder point = end of orange, max = end of blue)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_service_curve(
    curve: pd.DataFrame, current_value: float | None = None, title: str = "", ax: Axes | None = None
) -> Axes:
    """Safety-stock value against service level (:func:`service_level_curve`), one line per kind."""
    ax = _axes(ax, (7, 4))
    for kind, part in curve.groupby("kind"):
        ax.plot(
            part["level"], part["safety_stock_value"], marker="o", ms=2.5, label=f"{kind} target"
        )
    if current_value is not None:
        ax.axhline(current_value, color="0.4", ls=":", lw=1, label="today's plan")
    ax.set_xlabel("service level (same for every series)")
    ax.set_ylabel("safety stock value")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_risk_ranking(ranking: pd.DataFrame, title: str = "", ax: Axes | None = None) -> Axes:
    """Stockout probability of the ranked series (:func:`risk_ranking`), coloured by ABC class,
    with the simulated fill rate written beside each bar."""
    shown = ranking.iloc[::-1]
    ax = _axes(ax, (9, max(2.5, 0.32 * len(shown) + 1)))
    colours = {"A": "C3", "B": "C1", "C": "C0"}
    classes = shown.get("abc_class", pd.Series("?", index=shown.index)).fillna("?")
    labels = [
        f"{s} @ {loc} ({c})"
        for s, loc, c in zip(shown["sku"], shown["location"], classes, strict=True)
    ]
    ax.barh(labels, shown["stockout_probability"], color=[colours.get(c, "0.5") for c in classes])
    for y, (p, fill) in enumerate(
        zip(shown["stockout_probability"], shown["fill_rate"], strict=True)
    ):
        if np.isfinite(fill):
            ax.text(p + 0.01, y, f"fill {fill:.0%}", va="center", fontsize=7)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("probability of a stockout within the simulation horizon (colour = ABC class)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title)
    return ax


def plot_allocation(
    table: pd.DataFrame, title: str = "", axes: Sequence[Axes] | None = None
) -> Sequence[Axes]:
    """Share on time and mean delay per segment, one bar per allocation policy
    (:func:`allocation_by_segment`)."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    table["on_time"].plot.bar(ax=axes[0], rot=0)
    axes[0].set_ylim(0, 1.05)
    axes[0].set_ylabel("share of lines on time")
    table["mean_delay"].plot.bar(ax=axes[1], rot=0)
    axes[1].set_ylabel("mean days late")
    for ax in axes:
        ax.legend(title="policy", fontsize=8)
    axes[0].figure.suptitle(title)
    return axes


def plot_before_after(
    history: pd.DataFrame,
    before: pd.DataFrame,
    after: pd.DataFrame,
    window: tuple[str | date, str | date] | None = None,
    title: str = "",
    ax: Axes | None = None,
    legend: bool = True,
) -> Axes:
    """One series: recent sales, then the forecast before (grey) and after (colour) a scenario,
    each with its 90% interval; ``window`` (start, end) is shaded."""
    ax = _axes(ax, (6, 3.5))
    if len(history):
        ax.plot(history["date"], history["quantity"], color="0.3", lw=1, label="sales")
    for frame, colour, label in ((before, "0.5", "before"), (after, "C3", "after")):
        ax.fill_between(frame["date"], frame["q05"], frame["q95"], color=colour, alpha=0.18)
        ax.plot(frame["date"], frame["mean"], color=colour, lw=1.8, label=f"forecast {label}")
    if window is not None:
        ax.axvspan(
            pd.Timestamp(window[0]),
            pd.Timestamp(window[1]) + pd.Timedelta(days=1),
            color="C1",
            alpha=0.15,
            label="scenario window",
        )
    ax.set_ylabel("units")
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_what_if(
    results: Mapping[str, object],
    sales: pd.DataFrame,
    windows: Mapping[str, tuple[str, str]] | None = None,
    history_days: int = 42,
) -> np.ndarray:
    """Grid of :func:`plot_before_after`: one row per series, one column per scenario.

    ``results`` maps scenario names to :func:`forecast.scenarios.whatif.what_if` results; ``sales`` holds
    the series' sales rows (the last ``history_days`` before the forecast are drawn);
    ``windows`` maps a scenario name to the (start, end) to shade."""
    import matplotlib.pyplot as plt

    names = list(results)
    first = results[names[0]].forecast_before  # type: ignore[attr-defined]
    series = first[KEYS].drop_duplicates().sort_values(KEYS).itertuples(index=False)
    series = list(series)
    origin = pd.Timestamp(first["date"].min())
    recent = sales[sales["date"] > origin - pd.Timedelta(days=history_days + 1)]
    fig, axes = plt.subplots(
        len(series),
        len(names),
        figsize=(5 * len(names), 3.3 * len(series)),
        squeeze=False,
        sharey="row",
    )
    for i, (sku, location) in enumerate(series):
        history = for_series(recent, sku, location)
        for j, name in enumerate(names):
            result = results[name]
            plot_before_after(
                history,
                for_series(result.forecast_before, sku, location),  # type: ignore[attr-defined]
                for_series(result.forecast_after, sku, location),  # type: ignore[attr-defined]
                window=(windows or {}).get(name),
                title=f"{sku} @ {location}: {name}",
                ax=axes[i, j],
                legend=i == 0,
            )
    fig.tight_layout()
    return axes


def plot_scenario_changes(
    changes: pd.DataFrame,
    metrics: Sequence[str],
    title: str = "",
    axes: Sequence[Axes] | None = None,
) -> Sequence[Axes]:
    """One panel per metric: the change each scenario makes, per series
    (:func:`scenario_table` with ``changes=True``)."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5), squeeze=False)
        axes = list(axes[0])
    scenarios = [c for c in changes.columns if c not in (*KEYS, "metric")]
    for ax, metric in zip(axes, metrics, strict=True):
        part = changes[changes["metric"] == metric].set_index(KEYS)[scenarios]
        part.index = [f"{s}\n@ {loc}" for s, loc in part.index]
        part.plot.bar(ax=ax, rot=0, legend=False)
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_title(f"change in {metric}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    fig = axes[0].figure
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="upper center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, 1.0)
    )
    fig.suptitle(title, y=1.06)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return axes
