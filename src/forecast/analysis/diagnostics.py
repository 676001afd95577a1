"""2. Forecast diagnostics: backtest results (stored, or computed on the snapshot), metrics by
segment, model choice, a holdout forecast and its quantile coverage, the worst series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.analysis.sales import demand_patterns
from forecast.analysis.snapshot import KEYS, read_table, sales_frame
from forecast.forecasting.distribution import QUANTILE_COLUMNS
from forecast.forecasting.series import build_panel
from forecast.ingest.published import Connection, top_series

#: Per-series backtest metrics shown by segment (lower is better, except coverage_90 and
#: pit_coverage_90 -> 0.9; a slow mover's coverage_90 is 0.95 or more even when calibrated,
#: its zeros all lie inside [q05, q95]: pit_coverage_90 is the one to read for it).
BACKTEST_METRICS = ("mase", "rmsse", "wape", "bias", "spl", "coverage_90", "pit_coverage_90")


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
    con: Connection, exports_dir: str | Path | None = None
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
    con: Connection, sales: pd.DataFrame, horizon: int, country: str | None
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
    con: Connection, series: pd.DataFrame | None, top_n: int
) -> pd.DataFrame:
    return series[KEYS] if series is not None else top_series(con, top_n)[KEYS]


def snapshot_backtest(
    con: Connection,
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
    con: Connection,
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
    con: Connection, patterns: pd.DataFrame | None = None
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
