"""Reading a published snapshot, plotting it, and the per-run HTML report.

The report (:func:`write_html_report`) is one self-contained HTML file: plots are inline base64
PNGs, the CSS is inline, there is no script and nothing is fetched. It reads only the snapshot
connection (:func:`open_results`), so it never blocks and is never blocked by a running pipeline.
A snapshot holds one run's rows per output table (see ``Warehouse.publish_snapshot``).

Every section copes with empty or missing tables (data sets without inventory or customer orders
have no risk or allocation rows) by saying there is nothing to show. Figures are
``matplotlib.figure.Figure`` objects that pyplot never registers, so no global figure state is
kept and no backend has to be switched (PNG rendering is Agg).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from forecast.backorders.allocation import summarise_allocation
from forecast.backorders.book import book_summary
from forecast.ingest.published import open_snapshot

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: A series is "at risk" when it stocks out on more than this share of simulated paths.
AT_RISK_PROBABILITY = 0.5
#: Section titles, in order (the tests look for them).
SECTION_TITLES = (
    "Orders to place",
    "Alerts",
    "Forecasts",
    "Stock projection",
    "Risk overview",
    "Allocation by customer segment",
    "Backorder book",
    "Supplier scorecard",
    "Flash sales and pre-orders",
    "Campaign uplift",
)
HISTORY_PERIODS = 120
MAX_ORDER_ROWS = 50
MAX_ALERT_ROWS = 100  # per severity
TOP_RISK_ROWS = 15
MAX_BOOK_ROWS = 30
_DPI = 80
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def open_results(snapshot_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """Connection to the latest published results; never blocks a running pipeline."""
    return open_snapshot(snapshot_dir)


def top_series(
    con: duckdb.DuckDBPyConnection, n: int = 10, as_of: date | None = None
) -> pd.DataFrame:
    """The n series with the most units sold over the 365 days up to ``as_of`` (default: the
    last sales date)."""
    return con.execute(
        """
        SELECT sku, location, sum(quantity) AS units
        FROM sales
        WHERE date > coalesce(?::DATE, (SELECT max(date) FROM sales)) - INTERVAL 365 DAY
          AND (?::DATE IS NULL OR date <= ?::DATE)
        GROUP BY ALL ORDER BY units DESC, sku, location LIMIT ?
        """,
        [as_of, as_of, as_of, n],
    ).df()


def series_history(
    con: duckdb.DuckDBPyConnection, sku: str, location: str, days: int = 180
) -> pd.DataFrame:
    """Recent sales of one series, with the stockout (censored) days flagged."""
    return con.execute(
        """
        SELECT date, quantity, on_hand, coalesce(on_hand <= 0, false) AS stockout
        FROM sales
        WHERE sku = ? AND location = ? AND date > (SELECT max(date) FROM sales) - to_days(?)
        ORDER BY date
        """,
        [sku, location, days],
    ).df()


def series_forecast(con: duckdb.DuckDBPyConnection, sku: str, location: str) -> pd.DataFrame:
    return con.execute(
        "SELECT * FROM forecasts WHERE sku = ? AND location = ? ORDER BY date", [sku, location]
    ).df()


def plot_series(history: pd.DataFrame, forecast: pd.DataFrame, title: str = "", ax=None):
    """History (stockout days marked) and forecast with its 50% and 90% intervals."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4))
    ax.plot(history["date"], history["quantity"], color="0.3", lw=1, label="sales")
    out = history[history["stockout"]]
    if len(out):
        ax.scatter(out["date"], out["quantity"], color="red", s=12, zorder=3, label="stockout day")
    ax.fill_between(
        forecast["date"],
        forecast["q05"],
        forecast["q95"],
        alpha=0.2,
        color="C0",
        label="90% interval",
    )
    ax.fill_between(
        forecast["date"],
        forecast["q25"],
        forecast["q75"],
        alpha=0.35,
        color="C0",
        label="50% interval",
    )
    ax.plot(forecast["date"], forecast["mean"], color="C0", lw=2, label="forecast mean")
    ax.set_title(title)
    ax.set_ylabel("units")
    ax.legend(loc="upper left", fontsize=8)
    return ax


# -- the HTML report ---------------------------------------------------------------------------

_KEYS_SQL = "(SELECT unnest(?::VARCHAR[]) AS sku, unnest(?::VARCHAR[]) AS location)"

_HISTORY_SQL = f"""
WITH window_start AS (
    SELECT min(date) AS first FROM (
        SELECT DISTINCT date FROM sales WHERE ?::DATE IS NULL OR date <= ?::DATE
        ORDER BY date DESC LIMIT ?
    )
)
SELECT s.sku, s.location, s.date, s.quantity, coalesce(s.on_hand <= 0, false) AS stockout
FROM sales s JOIN {_KEYS_SQL} k USING (sku, location)
WHERE s.date >= (SELECT first FROM window_start) AND (?::DATE IS NULL OR s.date <= ?::DATE)
ORDER BY s.sku, s.location, s.date
"""

_FORECASTS_SQL = f"""
SELECT f.sku, f.location, f.date, f.mean, f.q05, f.q25, f.q75, f.q95
FROM forecasts f JOIN {_KEYS_SQL} k USING (sku, location)
ORDER BY f.sku, f.location, f.date
"""

_BANDS_SQL = f"""
SELECT b.sku, b.location, b.date, b.stock_p10, b.stock_p50, b.stock_p90
FROM risk_bands b JOIN {_KEYS_SQL} k USING (sku, location)
ORDER BY b.sku, b.location, b.date
"""

_POLICY_LINES_SQL = f"""
SELECT p.sku, p.location, p.reorder_point, p.max_level
FROM policies p JOIN {_KEYS_SQL} k USING (sku, location)
"""

_RISK_RANKED_SQL = """
SELECT sku, location, stockout_probability, fill_rate, expected_backorders,
       first_stockout_p10, first_stockout_p50
FROM risk WHERE stockout_probability > ?
ORDER BY stockout_probability DESC, expected_backorders DESC NULLS LAST, sku, location
LIMIT ?
"""

_ORDERS_SQL = """
SELECT sku, location, supplier, order_quantity, order_by, expected_arrival, line_value,
       explanation, coalesce(urgent, false) AS urgent,
       coalesce(urgent OR order_by <= ?::DATE, false) AS due_today
FROM recommendations
ORDER BY urgent DESC NULLS LAST, order_by NULLS LAST, line_value DESC NULLS LAST, sku, location
"""


@dataclass(frozen=True)
class _Snapshot:
    """The connection, which tables it has, and the run the report is about."""

    con: duckdb.DuckDBPyConnection
    tables: frozenset[str]
    run_id: str | None
    as_of: date | None
    run: dict[str, object]

    def read(
        self, sql: str, params: Sequence[object] = (), *, needs: Sequence[str]
    ) -> pd.DataFrame:
        """Run ``sql``; an empty frame when one of the tables it ``needs`` is not there."""
        if not set(needs) <= self.tables:
            return pd.DataFrame()
        return self.con.execute(sql, list(params)).df()

    def scalar(self, sql: str, params: Sequence[object] = (), *, needs: Sequence[str]) -> object:
        frame = self.read(sql, params, needs=needs)
        return None if frame.empty else frame.iloc[0, 0]


def write_html_report(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    run_id: str | None = None,
    top_n: int = 8,
    max_risk_plots: int = 12,
) -> Path:
    """Write the run report of the snapshot behind ``con`` to ``path`` (one HTML file).

    Sections: header counts, orders to place, alerts, forecasts of the ``top_n`` sellers and of
    the series at risk (at most ``max_risk_plots``), stock projection bands, risk overview,
    allocation by customer segment and campaign uplift. ``run_id`` defaults to the run whose
    rows the snapshot's output tables hold.
    """
    snap = _open(con, run_id)
    at_risk_total = int(
        snap.scalar(
            "SELECT count(*) FROM risk WHERE stockout_probability > ?",
            [AT_RISK_PROBABILITY],
            needs=["risk"],
        )
        or 0
    )
    at_risk = snap.read(
        _RISK_RANKED_SQL, [AT_RISK_PROBABILITY, max(max_risk_plots, 0)], needs=["risk"]
    )
    top = top_series(con, max(top_n, 0), snap.as_of) if "sales" in snap.tables else pd.DataFrame()
    sections = [
        _orders_section(snap),
        _alerts_section(snap),
        _forecasts_section(snap, top, at_risk, at_risk_total),
        _projection_section(snap, top, at_risk, at_risk_total, top_n),
        _risk_section(snap),
        _allocation_section(snap),
        _backorders_section(snap),
        _supplier_section(snap),
        _sales_models_section(snap),
        _campaign_section(snap),
    ]
    toc = " · ".join(f'<a href="#{_anchor(t)}">{_e(t)}</a>' for t in SECTION_TITLES)
    title = f"Forecast run {snap.run_id or '(unknown)'}"
    document = (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{_e(title)}</h1>\n{_header(snap, at_risk_total)}\n<nav>{toc}</nav>\n"
        + "\n".join(sections)
        + f"\n<footer>Written {datetime.now():%Y-%m-%d %H:%M} from the published snapshot.</footer>"
        "\n</body></html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path


def write_snapshot_report(snapshot_dir: str | Path, path: str | Path, **options: object) -> Path:
    """Open the snapshot in ``snapshot_dir``, write its report to ``path``, close the connection."""
    con = open_results(snapshot_dir)
    try:
        return write_html_report(con, path, **options)  # type: ignore[arg-type]
    finally:
        con.close()


def _open(con: duckdb.DuckDBPyConnection, run_id: str | None) -> _Snapshot:
    tables = frozenset(
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    )
    snap = _Snapshot(con, tables, run_id, None, {})
    outputs_run = None
    for name in ("recommendations", "forecasts", "risk"):
        outputs_run = snap.scalar(f"SELECT any_value(run_id) FROM {name}", needs=[name])
        if isinstance(outputs_run, str):
            break
    if run_id is None:
        run_id = (
            outputs_run
            if isinstance(outputs_run, str)
            else snap.scalar(
                "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1", needs=["runs"]
            )
        )
    run_row = snap.read("SELECT * FROM runs WHERE run_id = ?", [run_id], needs=["runs"])
    run = run_row.iloc[0].to_dict() if len(run_row) else {}
    run["outputs_run"] = outputs_run
    as_of = run.get("as_of")
    if as_of is None or pd.isna(as_of):
        as_of = snap.scalar("SELECT max(date) FROM sales", needs=["sales"])
    as_of = None if as_of is None or pd.isna(as_of) else pd.Timestamp(as_of).date()
    return _Snapshot(con, tables, run_id, as_of, run)


# -- sections ----------------------------------------------------------------------------------


def _header(snap: _Snapshot, at_risk_total: int) -> str:
    series = snap.scalar(
        "SELECT count(*) FROM (SELECT DISTINCT sku, location FROM forecasts)", needs=["forecasts"]
    )
    orders = snap.read(
        """SELECT count(*) FILTER (WHERE due) AS today,
                  CASE WHEN count(*) FILTER (WHERE due) = 0 THEN 0
                       ELSE sum(line_value) FILTER (WHERE due) END AS today_value,
                  count(*) AS all_orders,
                  CASE WHEN count(*) = 0 THEN 0 ELSE sum(line_value) END AS all_value
           FROM (SELECT *, coalesce(urgent OR order_by <= ?::DATE, false) AS due FROM recommendations)""",
        [snap.as_of],
        needs=["recommendations"],
    )
    simulated = snap.scalar(
        "SELECT count(*) FROM risk WHERE stockout_probability IS NOT NULL", needs=["risk"]
    )
    alerts = snap.read(
        "SELECT severity, kind, count(*) AS n FROM alerts GROUP BY ALL ORDER BY severity, n DESC",
        needs=["alerts"],
    )
    waiting = snap.read(
        """SELECT policy, count(*) FILTER (WHERE status IS DISTINCT FROM 'allocated') AS waiting,
                  count(*) AS lines FROM allocations GROUP BY ALL ORDER BY policy""",
        needs=["allocations"],
    )
    o = orders.iloc[0] if len(orders) else pd.Series(dtype=object)
    policy_in_use = _parameter(snap.run, "allocation_policy")
    waiting_text = (
        "; ".join(
            f"{_fmt_int(r.waiting)} of {_fmt_int(r.lines)} ({_e(r.policy)}"
            + (", policy in use" if r.policy == policy_in_use else "")
            + ")"
            for r in waiting.itertuples()
        )
        or "none"
    )
    if len(alerts):
        alerts = alerts.assign(rank=alerts["severity"].map(_SEVERITY_ORDER).fillna(9))
        alert_parts = []
        for severity, group in alerts.sort_values(["rank", "n"], ascending=[True, False]).groupby(
            "rank", sort=True
        ):
            kinds = ", ".join(
                f"{_e(k)} {_fmt_int(n)}" for k, n in zip(group["kind"], group["n"], strict=True)
            )
            alert_parts.append(
                f"<b>{_e(group['severity'].iloc[0])}</b> {_fmt_int(group['n'].sum())} ({kinds})"
            )
        alerts_text = "<br>".join(alert_parts)
    else:
        alerts_text = "none"
    cards = [
        ("Run", _e(snap.run_id or "(unknown)")),
        ("As of", _e(_fmt_date(snap.as_of))),
        ("Series forecast", _fmt_int(series)),
        (
            "Orders to place today",
            (
                f"{_fmt_int(o.get('today'))} <small>of {_fmt_int(o.get('all_orders'))} "
                "recommended</small>"
            ),
        ),
        (
            "Value of today's orders",
            (
                f"{_fmt_money(o.get('today_value'))} <small>all: "
                f"{_fmt_money(o.get('all_value'))}</small>"
            ),
        ),
        (
            f"Series at risk (P(stockout) &gt; {AT_RISK_PROBABILITY:g})",
            f"{_fmt_int(at_risk_total)} <small>of {_fmt_int(simulated)} simulated</small>",
        ),
        ("Customer lines waiting", f"<small>{waiting_text}</small>"),
        ("Alerts", f"<small>{alerts_text}</small>"),
    ]
    body = "".join(
        f"<div class='card'><div class='label'>{label}</div><div class='value'>{value}</div></div>"
        for label, value in cards
    )
    notes = []
    if snap.run.get("data_dir"):
        notes.append(
            f"Data folder {_e(snap.run['data_dir'])}, run started {_e(_fmt_time(snap.run.get('started_at')))}."
        )
    outputs_run = snap.run.get("outputs_run")
    if isinstance(outputs_run, str) and snap.run_id and outputs_run != snap.run_id:
        notes.append(f"<b>Note:</b> the snapshot's plan tables come from run {_e(outputs_run)}.")
    return f"<div class='cards'>{body}</div>" + "".join(f"<p class='note'>{n}</p>" for n in notes)


def _orders_section(snap: _Snapshot) -> str:
    orders = snap.read(_ORDERS_SQL, [snap.as_of], needs=["recommendations"])
    if orders.empty:
        return _section("Orders to place", _nothing("no reorder recommendations"))
    shown = orders.head(MAX_ORDER_ROWS)
    table = _table(
        shown,
        [
            ("SKU", "sku", _text),
            ("location", "location", _text),
            ("supplier", "supplier", _text),
            ("quantity", "order_quantity", _fmt_int),
            ("order by", "order_by", _fmt_date),
            ("arrival", "expected_arrival", _fmt_date),
            ("value", "line_value", _fmt_money),
            ("urgent", "urgent", lambda v: "yes" if v else ""),
            ("why", "explanation", _text),
        ],
        row_class=lambda r: "due" if r["due_today"] else "",
    )
    due = int(orders["due_today"].sum())
    intro = (
        f"<p>{_fmt_int(len(orders))} recommended orders, {_fmt_int(due)} to place today "
        f"(urgent or order-by date on or before {_e(_fmt_date(snap.as_of))}; highlighted). "
        "Urgent first, then by order-by date and value.</p>"
    )
    return _section("Orders to place", intro + table + _more(len(orders), len(shown), "orders"))


def _alerts_section(snap: _Snapshot) -> str:
    alerts = snap.read(
        "SELECT severity, kind, sku, location, date, message FROM alerts "
        "ORDER BY date NULLS LAST, kind, sku, location",
        needs=["alerts"],
    )
    if alerts.empty:
        return _section("Alerts", _nothing("no alerts"))
    alerts["rank"] = alerts["severity"].map(_SEVERITY_ORDER).fillna(9)
    parts = []
    for _, group in alerts.groupby("rank", sort=True):
        severity = str(group["severity"].iloc[0])
        kinds = group["kind"].value_counts()
        counts = ", ".join(f"{_e(k)} {_fmt_int(n)}" for k, n in kinds.items())
        shown = group.head(MAX_ALERT_ROWS)
        parts.append(
            f"<h3 class='sev-{_e(severity)}'>{_e(severity)}: {_fmt_int(len(group))} <small>({counts})</small></h3>"
            + _table(
                shown,
                [
                    ("SKU", "sku", _text),
                    ("location", "location", _text),
                    ("kind", "kind", _text),
                    ("date", "date", _fmt_date),
                    ("message", "message", _text),
                ],
            )
            + _more(len(group), len(shown), f"{severity} alerts")
        )
    return _section("Alerts", "".join(parts))


def _forecasts_section(
    snap: _Snapshot, top: pd.DataFrame, at_risk: pd.DataFrame, at_risk_total: int
) -> str:
    if top.empty and at_risk.empty:
        return _section("Forecasts", _nothing("no sales history"))
    top_keys = _keys(top)
    risk_keys = [k for k in _keys(at_risk) if k not in set(top_keys)]
    keys = top_keys + risk_keys
    sku, loc = [k[0] for k in keys], [k[1] for k in keys]
    history = snap.read(
        _HISTORY_SQL,
        [snap.as_of, snap.as_of, HISTORY_PERIODS, sku, loc, snap.as_of, snap.as_of],
        needs=["sales"],
    )
    forecasts = snap.read(_FORECASTS_SQL, [sku, loc], needs=["forecasts"])
    histories = _by_key(history, ["date", "quantity", "stockout"])
    futures = _by_key(forecasts, ["date", "mean", "q05", "q25", "q75", "q95"])
    probability = _risk_lookup(at_risk)

    def draw(ax: Axes, key: tuple[str, str], first: bool) -> None:
        hist = histories.get(key, pd.DataFrame({"date": [], "quantity": [], "stockout": []}))
        hist = hist.astype({"stockout": bool})
        future = futures.get(
            key, pd.DataFrame(columns=["date", "mean", "q05", "q25", "q75", "q95"])
        )
        plot_series(hist, future, ax=ax)
        _panel_title(ax, key, probability.get(key))
        ax.set_ylabel("units", fontsize=8)
        _tidy(ax, legend=first)

    parts = [
        (
            f"<p>Last {HISTORY_PERIODS} periods of sales (red dots: stockout days, on hand 0) and "
            "the forecast mean with its 50% and 90% intervals.</p>"
        )
    ]
    if top_keys:
        parts.append(f"<h3>Top {len(top_keys)} sellers (units over the last 365 days)</h3>")
        parts.append(_img(_grid(top_keys, draw), f"forecasts of the top {len(top_keys)} sellers"))
    if risk_keys:
        parts.append("<h3>Series at risk of stocking out (highest probability first)</h3>")
        parts.append(_img(_grid(risk_keys, draw), "forecasts of series at risk"))
    shown_risk = len(at_risk)
    if at_risk_total:
        also = len(at_risk) - len(risk_keys)
        parts.append(
            f"<p class='note'>{_fmt_int(at_risk_total)} series at risk; {_fmt_int(shown_risk)} plotted"
            + (f" ({also} of them among the top sellers, titles in red)" if also else "")
            + (
                f"; {_fmt_int(at_risk_total - shown_risk)} left out (raise max_risk_plots to see them)."
                if at_risk_total > shown_risk
                else "."
            )
            + "</p>"
        )
    else:
        parts.append("<p class='note'>No series at risk of stocking out (or no simulation).</p>")
    return _section("Forecasts", "".join(parts))


def _projection_section(
    snap: _Snapshot, top: pd.DataFrame, at_risk: pd.DataFrame, at_risk_total: int, top_n: int
) -> str:
    keys = _keys(at_risk)
    for key in _keys(top):  # few at risk: fill up with the top sellers
        if len(keys) >= top_n:
            break
        if key not in keys:
            keys.append(key)
    sku, loc = [k[0] for k in keys], [k[1] for k in keys]
    bands = snap.read(_BANDS_SQL, [sku, loc], needs=["risk_bands"]) if keys else pd.DataFrame()
    bands = bands.dropna(subset=["stock_p50"]) if len(bands) else bands
    if bands.empty:
        return _section(
            "Stock projection", _nothing("no simulated stock (no inventory or no simulation)")
        )
    by_key = _by_key(bands, ["date", "stock_p10", "stock_p50", "stock_p90"])
    keys = [k for k in keys if k in by_key]
    lines = snap.read(_POLICY_LINES_SQL, [sku, loc], needs=["policies"])
    levels = {(r.sku, r.location): (r.reorder_point, r.max_level) for r in lines.itertuples()}
    probability = _risk_lookup(
        snap.read(
            f"SELECT r.sku, r.location, r.stockout_probability FROM risk r JOIN {_KEYS_SQL} k USING (sku, location)",
            [sku, loc],
            needs=["risk"],
        )
    )

    def draw(ax: Axes, key: tuple[str, str], first: bool) -> None:
        reorder_point, max_level = levels.get(key, (np.nan, np.nan))
        plot_stock_projection(by_key[key], reorder_point, max_level, ax=ax)
        _panel_title(ax, key, probability.get(key))
        ax.set_ylabel("units", fontsize=8)
        _tidy(ax, legend=first)

    n_risk = sum(k in set(_keys(at_risk)) for k in keys)
    intro = (
        f"<p>Simulated net stock (on hand minus backorders) over the simulation horizon: median "
        f"and 10-90% band, against the reorder point (the minimum) and the maximum level. "
        f"{n_risk} series at risk"
        + (f" (of {_fmt_int(at_risk_total)})" if at_risk_total > n_risk else "")
        + (f" and {len(keys) - n_risk} top sellers" if len(keys) > n_risk else "")
        + ".</p>"
    )
    return _section("Stock projection", intro + _img(_grid(keys, draw), "stock projection bands"))


def _risk_section(snap: _Snapshot) -> str:
    risk = snap.read("SELECT stockout_probability, fill_rate FROM risk", needs=["risk"])
    probability = risk["stockout_probability"].dropna() if len(risk) else pd.Series(dtype=float)
    fill = risk["fill_rate"].dropna() if len(risk) else pd.Series(dtype=float)
    if probability.empty and fill.empty:
        return _section("Risk overview", _nothing("no simulation results"))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2), layout="constrained")
    ax_p, ax_f = fig.subplots(1, 2)
    ax_p.hist(probability, bins=np.linspace(0, 1, 21), color="C3", alpha=0.8)
    ax_p.axvline(AT_RISK_PROBABILITY, color="0.3", ls="--", lw=1, label="at-risk threshold")
    ax_p.set(title="Stockout probability over the horizon", xlabel="probability", ylabel="series")
    ax_p.legend(fontsize=8)
    low = math.floor(20 * fill.min()) / 20 if len(fill) else 0.0
    ax_f.hist(fill, bins=np.linspace(min(low, 0.95), 1, 21), color="C2", alpha=0.8)
    ax_f.set(title="Expected fill rate", xlabel="fill rate", ylabel="series")
    top = snap.read(_RISK_RANKED_SQL, [-1.0, TOP_RISK_ROWS], needs=["risk"])
    table = _table(
        top,
        [
            ("SKU", "sku", _text),
            ("location", "location", _text),
            ("P(stockout)", "stockout_probability", _fmt_pct),
            ("fill rate", "fill_rate", _fmt_pct),
            ("expected backorders", "expected_backorders", _fmt_num),
            ("first stockout p10", "first_stockout_p10", _fmt_date),
            ("first stockout p50", "first_stockout_p50", _fmt_date),
        ],
    )
    return _section(
        "Risk overview",
        _img(fig, "risk histograms") + f"<h3>Top {len(top)} by stockout probability</h3>" + table,
    )


def _allocation_section(snap: _Snapshot) -> str:
    allocations = snap.read(
        "SELECT policy, coalesce(segment, '(none)') AS segment, order_id, status, delay_days "
        "FROM allocations",
        needs=["allocations"],
    )
    if allocations.empty:
        return _section("Allocation by customer segment", _nothing("no customer order lines"))
    summary = summarise_allocation(allocations)
    segments = summary.groupby("segment")["lines"].max().sort_values(ascending=False).index.tolist()
    policies = sorted(summary["policy"].unique())
    policy_in_use = _parameter(snap.run, "allocation_policy")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    x = np.arange(len(segments))
    width = 0.8 / max(len(policies), 1)
    for i, policy in enumerate(policies):
        rows = summary[summary["policy"] == policy].set_index("segment").reindex(segments)
        offset = x + (i - (len(policies) - 1) / 2) * width
        for ax, column, fmt in zip(
            axes,
            ("on_time", "mean_delay", "no_supply"),
            ("{:.0%}", "{:.1f}", "{:.0f}"),
            strict=True,
        ):
            bars = ax.bar(
                offset,
                rows[column].to_numpy(dtype=float),
                width,
                label=_label(policy),
                color=f"C{i}",
            )
            ax.bar_label(bars, fmt=fmt, fontsize=7, padding=1)
    for ax, title in zip(
        axes,
        ("share of lines on time", "mean days late", "lines with no supply planned"),
        strict=True,
    ):
        ax.set_xticks(x, [_label(s) for s in segments])
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, max(ax.get_ylim()[1], 1) * 1.12)
        ax.tick_params(labelsize=8)
    axes[0].set_ylim(0, 1.12)
    fig.legend(
        *axes[0].get_legend_handles_labels(), title="policy", loc="outside right upper", fontsize=8
    )
    table = _table(
        summary.sort_values(["policy", "lines"], ascending=[True, False]),
        [
            ("policy", "policy", lambda p: f"{p} (in use)" if p == policy_in_use else str(p)),
            ("segment", "segment", _text),
            ("lines", "lines", _fmt_int),
            ("on time", "on_time", _fmt_pct),
            ("mean days late", "mean_delay", _fmt_num),
            ("p90 days late", "p90_delay", _fmt_num),
            ("no supply planned", "no_supply", _fmt_int),
        ],
    )
    intro = (
        "<p>Open customer order lines as each allocation policy would serve them. On time: allocated now "
        "or the ETA on or before the promised date. Days late count early lines as 0; lines "
        "with no supply planned have no ETA and are counted apart.</p>"
    )
    return _section(
        "Allocation by customer segment", intro + _img(fig, "allocation by segment") + table
    )


def _backorders_section(snap: _Snapshot, max_rows: int = MAX_BOOK_ROWS) -> str:
    """The backorder book of the policy in use: counts, the cancellation curve, the expected
    revenue lost per policy, and the lines most likely to cost revenue (late ones first)."""
    book = snap.read("SELECT * FROM backorders", needs=["backorders"])
    if book.empty:
        return _section("Backorder book", _nothing("no waiting order lines"))
    stats = book_summary(book)
    policy = _text(book["policy"].iloc[0])
    intro = (
        f"<p>{_fmt_int(stats['lines'])} open order lines under the <b>{_e(policy)}</b> policy: "
        f"{_fmt_int(stats['late'])} late (ETA after the promise, or no supply planned), "
        f"{_fmt_int(stats['no_supply'])} without supply, {_fmt_int(stats['eta_changed'])} with an "
        f"ETA changed since the last published run. Expected revenue lost to cancellations "
        f"before the ETAs: <b>{_fmt_money(stats['expected_revenue_lost'])}</b>.</p>"
    )
    parts = [intro]
    curve = snap.read("SELECT * FROM cancellation_curve", needs=["cancellation_curve"])
    if len(curve):
        c = curve.iloc[0]
        parts.append(
            f"<p class='note'>Cancellation curve ({_e(c['source'])}): P(cancelled by d days "
            f"late) = {float(c['limit_share']):.2f} &times; (1 &minus; exp(&minus;(d / "
            f"{float(c['scale_days']):.1f})<sup>{float(c['shape']):.2f}</sup>)); "
            f"{_e(c['note'])}.</p>"
        )
    by_status = book.groupby("status", as_index=False).agg(
        lines=("order_id", "size"), units=("quantity", "sum"),
        mean_days_waiting=("days_waiting", "mean"),
        expected_revenue_lost=("expected_revenue_lost", "sum"))
    parts.append(_table(by_status.sort_values("lines", ascending=False), [
        ("status", "status", _text), ("lines", "lines", _fmt_int), ("units", "units", _fmt_int),
        ("mean days waiting", "mean_days_waiting", _fmt_num),
        ("expected revenue lost", "expected_revenue_lost", _fmt_money),
    ]))
    losses = snap.read(
        "SELECT policy, sum(expected_revenue_lost) AS expected_revenue_lost, "
        "count(*) FILTER (WHERE delay_days > 0 OR status = 'no_supply_planned') AS late "
        "FROM allocations GROUP BY policy ORDER BY expected_revenue_lost",
        needs=["allocations"],
    ) if _has_column(snap, "allocations", "expected_revenue_lost") else pd.DataFrame()
    if len(losses):
        parts.append("<h3>Expected revenue lost to cancellations, by allocation policy</h3>")
        parts.append(_table(losses, [
            ("policy", "policy", lambda p: f"{p} (in use)" if p == policy else str(p)),
            ("late lines", "late", _fmt_int),
            ("expected revenue lost", "expected_revenue_lost", _fmt_money),
        ]))
    shown = book.sort_values(["late", "expected_revenue_lost", "days_waiting"],
                             ascending=False).head(max_rows)
    parts.append(f"<h3>Lines most likely to cost revenue (top {len(shown)})</h3>")
    parts.append(_table(shown, [
        ("order", "order_id", _text), ("customer", "customer_id", _text),
        ("segment", "segment", _text), ("sku", "sku", _text), ("location", "location", _text),
        ("status", "status", _text), ("quantity", "quantity", _fmt_int),
        ("days waiting", "days_waiting", _fmt_int), ("promised", "promised_date", _fmt_date),
        ("ETA", "eta", _fmt_date), ("previous ETA", "previous_eta", _fmt_date),
        ("ETA change (days)", "eta_change_days", _fmt_int),
        ("days late at ETA", "delay_days", _fmt_int),
        ("P(cancel)", "cancel_probability", _fmt_pct),
        ("expected revenue lost", "expected_revenue_lost", _fmt_money),
        ("last told", "last_told_at", _fmt_date), ("told", "last_told_kind", _text),
    ]))
    parts.append(_more(len(book), len(shown), "lines (see backorders.csv or `forecast backorders`)"))
    return _section("Backorder book", "".join(parts))


def _has_column(snap: _Snapshot, table: str, column: str) -> bool:
    if table not in snap.tables:
        return False
    return bool(snap.con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
        [table, column],
    ).fetchall()[0][0])


def _supplier_section(snap: _Snapshot) -> str:
    """The supplier scorecard: reliability from receipts, open and overdue POs, dropship lines
    and the verdict; the least reliable suppliers first (rows to act on are highlighted)."""
    card = snap.read(
        "SELECT * FROM supplier_scorecard ORDER BY CASE rating WHEN 'unreliable' THEN 0 "
        "WHEN 'slower_than_quoted' THEN 1 WHEN 'often_late' THEN 2 WHEN 'reliable' THEN 3 "
        "ELSE 4 END, overdue_pos DESC, supplier",
        needs=["supplier_scorecard"],
    )
    if card.empty:
        return _section("Supplier scorecard", _nothing("no suppliers named in the data"))
    measured = int((card["lead_time_used"] == "receipts").sum())
    counts = card["rating"].value_counts()
    rated = ", ".join(f"{_fmt_int(n)} {_e(str(r).replace('_', ' '))}" for r, n in counts.items())
    intro = (
        f"<p>{_fmt_int(len(card))} suppliers: {rated}. For {_fmt_int(measured)} of them the plan "
        "and the simulation use the lead times measured from received purchase orders "
        "(received - order date) instead of the quoted ones; the others have too few receipts. "
        "On time: received by the expected date. Dropship lines expected late: open customer "
        "lines of the supplier's dropship SKUs x its late share.</p>"
    )
    table = _table(
        card,
        [
            ("supplier", "supplier", _text),
            ("POs received", "purchase_orders", _fmt_int),
            ("on time", "on_time_rate", _fmt_pct),
            ("mean days late", "mean_days_late", _fmt_num),
            ("lead time mean", "lead_time_mean", _fmt_num),
            ("lead time p90", "lead_time_p90", _fmt_num),
            ("quoted", "quoted_lead_time_days", _fmt_num),
            ("open POs", "open_pos", _fmt_int),
            ("overdue POs", "overdue_pos", _fmt_int),
            ("dropship lines", "dropship_open_lines", _fmt_int),
            ("expected late", "dropship_lines_late_expected", _fmt_num),
            ("verdict", "verdict", _text),
        ],
        row_class=lambda r: "due" if r["rating"] in ("unreliable", "slower_than_quoted")
        or r["overdue_pos"] > 0 else "",
    )
    return _section("Supplier scorecard", intro + table)


def _sales_models_section(snap: _Snapshot) -> str:
    """Flash sales (forecast capped by the stock set aside, what each can promise), pre-order
    first purchases and dropship items (forecast.planning.sales_models)."""
    title = "Flash sales and pre-orders"
    flash = snap.read("SELECT * FROM flash_sales ORDER BY start_date, sku, location",
                      needs=["flash_sales"])
    firsts = snap.read(
        "SELECT sku, location, order_quantity, order_by, expected_arrival, explanation "
        "FROM recommendations WHERE starts_with(explanation, 'pre-order:') ORDER BY order_by, sku",
        needs=["recommendations"])
    dropship = snap.read("SELECT sku FROM products WHERE dropship ORDER BY sku", needs=["products"])
    if flash.empty and firsts.empty and dropship.empty:
        return _section(title, _nothing("no flash sales, pre-order products or dropship items"))
    parts = []
    if len(flash):
        over = int((flash["shortfall"].fillna(0) > 0).sum())
        parts.append(
            f"<p>{_fmt_int(len(flash))} flash sales ({_fmt_int(over)} set aside more than can be "
            "promised). The forecast inside a sale is capped by the stock set aside for it; "
            "<em>promisable</em> is the largest set-aside that backorders no other order: the "
            "lowest cumulative available-to-promise (stock + receipts - open orders - regular "
            "demand - safety stock) from the sale's start to the first day a new order can "
            "arrive, with the recommended orders and from stock and open POs alone.</p>")
        parts.append(_table(flash, [
            ("sku", "sku", _text), ("location", "location", _text),
            ("start", "start_date", _fmt_date), ("end", "end_date", _fmt_date),
            ("set aside", "stock_quantity", _fmt_int),
            ("forecast", "forecast_uncapped", _fmt_num), ("capped", "forecast_capped", _fmt_num),
            ("P(sell out)", "sellout_probability", _fmt_pct),
            ("promisable", "max_promisable", _fmt_int),
            ("from stock + POs", "max_promisable_confirmed", _fmt_int),
            ("short", "shortfall", _fmt_int), ("verdict", "verdict", _text),
        ], row_class=lambda r: "due" if _finite(r["shortfall"]) and r["shortfall"] > 0 else ""))
    if len(firsts):
        parts.append(
            f"<p>{_fmt_int(len(firsts))} first purchases of pre-order products: the units "
            "customers ordered before launch, the early forecast of the first cover period after "
            "it (category profile at the pre-order rate) and its safety stock, ordered a lead "
            "time before the launch.</p>")
        parts.append(_table(firsts, [
            ("sku", "sku", _text), ("location", "location", _text),
            ("order", "order_quantity", _fmt_int), ("order by", "order_by", _fmt_date),
            ("arrives", "expected_arrival", _fmt_date), ("why", "explanation", _text),
        ]))
    if len(dropship):
        parts.append(
            f"<p>{_fmt_int(len(dropship))} dropship SKUs ({_e(', '.join(dropship['sku'].astype(str)))})"
            " are shipped by their supplier: no stock policy, purchase order or stock simulation; "
            "their risk is the supplier's reliability (supplier scorecard).</p>")
    return _section(title, "".join(parts))


def _campaign_section(snap: _Snapshot) -> str:
    uplift = snap.read(
        "SELECT kind, category, campaigns, uplift, post_dip FROM campaign_uplift "
        "ORDER BY kind, uplift DESC",
        needs=["campaign_uplift"],
    )
    if uplift.empty:
        return _section("Campaign uplift", _nothing("no campaign uplift estimates"))
    table = _table(
        uplift,
        [
            ("kind", "kind", _text),
            ("category", "category", _text),
            ("past campaigns", "campaigns", _fmt_int),
            ("uplift during", "uplift", _fmt_change),
            ("after (post dip)", "post_dip", _fmt_change),
        ],
    )
    return _section(
        "Campaign uplift",
        "<p>Demand change estimated from past campaigns, per kind and category.</p>" + table,
    )


# -- plotting helpers --------------------------------------------------------------------------


def _grid(
    keys: list[tuple[str, str]], draw: Callable[[Axes, tuple[str, str], bool], None], ncols: int = 4
) -> Figure:
    """Small multiples, one panel per series."""
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, len(keys)))
    nrows = math.ceil(len(keys) / ncols)
    width, height = 3.6 * ncols, 2.6 * nrows
    fig = Figure(figsize=(width, height))
    # Fixed margins (inches) instead of a layout engine, which would draw every figure twice.
    fig.subplots_adjust(
        left=0.55 / width,
        right=1 - 0.15 / width,
        bottom=0.45 / height,
        top=1 - 0.3 / height,
        wspace=0.3,
        hspace=0.45,
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, (ax, key) in enumerate(zip(axes, keys, strict=False)):
        draw(ax, key, i == 0)
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    return fig


def _tidy(ax: Axes, legend: bool) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(labelsize=7)
    if legend:
        ax.legend(loc="upper left", fontsize=6, framealpha=0.8)
    elif ax.get_legend() is not None:
        ax.get_legend().remove()


def _panel_title(ax: Axes, key: tuple[str, str], probability: float | None) -> None:
    text = f"{key[0]} @ {key[1]}"
    at_risk = probability is not None and probability > AT_RISK_PROBABILITY
    if probability is not None and _finite(probability):
        text += f"  P(out) {probability:.0%}"
    ax.set_title(_label(text), fontsize=9, color="C3" if at_risk else "black")


def _img(fig: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    fig.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _label(text: object) -> str:
    """Text for a matplotlib label: a ``$`` in a SKU must not start mathtext."""
    return str(text).replace("$", r"\$")


def _keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    if frame.empty:
        return []
    return list(zip(frame["sku"].astype(str), frame["location"].astype(str), strict=True))


def _by_key(frame: pd.DataFrame, columns: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    if frame.empty:
        return {}
    return {
        (str(s), str(loc)): g[columns]
        for (s, loc), g in frame.groupby(["sku", "location"], sort=False)
    }


def _risk_lookup(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    if frame.empty:
        return {}
    return dict(zip(_keys(frame), frame["stockout_probability"].astype(float), strict=True))


# -- HTML helpers ------------------------------------------------------------------------------


def _section(title: str, body: str) -> str:
    return f"<section id='{_anchor(title)}'><h2>{_e(title)}</h2>\n{body}\n</section>"


def _nothing(why: str) -> str:
    return f"<p class='empty'>Nothing to show: {_e(why)}.</p>"


def _more(total: int, shown: int, what: str) -> str:
    return (
        f"<p class='note'>{_fmt_int(total - shown)} more {_e(what)} not shown.</p>"
        if total > shown
        else ""
    )


def _table(
    frame: pd.DataFrame,
    columns: list[tuple[str, str, Callable[[object], str]]],
    row_class: Callable[[pd.Series], str] | None = None,
) -> str:
    """An HTML table; the formatters return plain text, escaped here."""
    if frame.empty:
        return _nothing("no rows")
    numeric = {name for _, name, fmt in columns if fmt in _NUMERIC_FORMATS}
    head = "".join(f"<th>{_e(h)}</th>" for h, _, _ in columns)
    rows = []
    for _, row in frame.iterrows():
        css = row_class(row) if row_class else ""
        cells = "".join(
            ("<td class='num'>" if name in numeric else "<td>") + _e(fmt(row[name])) + "</td>"
            for _, name, fmt in columns
        )
        rows.append(f"<tr class='{css}'>{cells}</tr>" if css else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _anchor(title: str) -> str:
    return title.lower().replace(" ", "-")


def _e(value: object) -> str:
    return html.escape(str(value))


def _missing(value: object) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _finite(value: object) -> bool:
    return not _missing(value) and math.isfinite(float(value))  # type: ignore[arg-type]


def _text(value: object) -> str:
    return "–" if _missing(value) else str(value)


def _fmt_int(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def _fmt_num(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):,.1f}"  # type: ignore[arg-type]


def _fmt_money(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):,.2f}"  # type: ignore[arg-type]


def _fmt_pct(value: object) -> str:
    return "–" if _missing(value) else f"{float(value):.0%}"  # type: ignore[arg-type]


def _fmt_change(value: object) -> str:
    """A demand multiplier as a change: 1.112 -> +11.2%."""
    return "–" if _missing(value) else f"{float(value) - 1:+.1%}"  # type: ignore[arg-type]


def _fmt_date(value: object) -> str:
    return "–" if _missing(value) else f"{pd.Timestamp(value):%Y-%m-%d}"  # type: ignore[arg-type]


def _fmt_time(value: object) -> str:
    return "–" if _missing(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"  # type: ignore[arg-type]


_NUMERIC_FORMATS = (_fmt_int, _fmt_num, _fmt_money, _fmt_pct, _fmt_change)


def _parameter(run: dict[str, object], name: str) -> object:
    """A run parameter from the runs record (None when unknown)."""
    try:
        return json.loads(str(run.get("parameters") or "{}")).get(name)
    except (json.JSONDecodeError, AttributeError):
        return None


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1200px;
 padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin-bottom:.3em}
nav{margin:1em 0;font-size:.9em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:.6em}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em .8em;background:#fafafa}
.card .label{font-size:.8em;color:#666}.card .value{font-size:1.3em;font-weight:600}
.card small{font-weight:400;font-size:.75em;color:#444}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0;width:100%}
th,td{border-bottom:1px solid #e5e5e5;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;white-space:nowrap}
tr.due td{background:#fff4e0}
.sev-high{color:#b00020}.sev-medium{color:#a05a00}
.note{color:#555;font-size:.88em}.empty{color:#777;font-style:italic}
img{max-width:100%;height:auto;display:block;margin:.5em 0}
footer{margin-top:3em;color:#888;font-size:.8em}
"""


def plot_stock_projection(
    bands: pd.DataFrame,
    reorder_point: float | None = None,
    max_level: float | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Simulated net stock of one series (``risk_bands``: 10-50-90%) against its min and max."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(
        bands["date"],
        bands["stock_p10"],
        bands["stock_p90"],
        color="C0",
        alpha=0.25,
        label="net stock 10-90%",
    )
    ax.plot(bands["date"], bands["stock_p50"], color="C0", lw=1.5, label="median")
    ax.axhline(0, color="0.5", lw=0.8)
    if reorder_point is not None and np.isfinite(reorder_point):
        ax.axhline(reorder_point, color="C1", ls="--", lw=1.2, label="reorder point (min)")
    if max_level is not None and np.isfinite(max_level):
        ax.axhline(max_level, color="C2", ls=":", lw=1.2, label="max level")
    ax.set_ylabel("units")
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return ax
