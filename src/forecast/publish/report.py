"""The per-run HTML report, and the snapshot readers and plots the notebooks call from here.

The report (:func:`write_html_report`) is one self-contained HTML file: plots are inline base64
PNGs, the CSS is inline, there is no script and nothing is fetched. It reads only the snapshot
connection (:func:`open_results`), so it never blocks and is never blocked by a running pipeline.
A snapshot holds one run's rows per output table (see ``Warehouse.publish_snapshot``).

Each section is a function here that reads its rows (through :mod:`forecast.ingest.published`,
the one reader of the snapshot) and returns the data its template draws, or None when there is
nothing to show (data sets without inventory or customer orders have no risk or allocation rows):
the markup lives in ``templates/`` (``report.html.j2`` and one include per section, Jinja2 with
autoescape on), the figures in :mod:`forecast.publish.report_plots`, the cell formatters in
:mod:`forecast.publish.report_format`.

The notebooks also use :func:`open_results`, :func:`top_series`, :func:`series_history`,
:func:`series_forecast`, :func:`series_policy`, :func:`plot_series` and
:func:`plot_stock_projection` from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from forecast.backorders.allocation import summarise_allocation
from forecast.backorders.book import book_summary
from forecast.backorders.messages import MOMENTS
from forecast.ingest import published
from forecast.ingest.published import (
    Connection,
    open_snapshot,
    series_forecast,
    series_history,
    series_policy,
    top_series,
)
from forecast.planning.sales_models import PREORDER_MODEL
from forecast.publish import report_plots
from forecast.publish.report_format import (
    Column,
    Table,
    environment,
    finite,
    fmt_change,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    table,
    text,
)
from forecast.publish.report_plots import plot_series, plot_stock_projection

__all__ = [
    "AT_RISK_PROBABILITY",
    "SECTION_TITLES",
    "open_results",
    "plot_series",
    "plot_stock_projection",
    "series_forecast",
    "series_history",
    "series_policy",
    "top_series",
    "write_html_report",
    "write_snapshot_report",
]

#: "Stockout likely": a stockout within the horizon on more than this share of simulated paths
#: (shown beside the headline, which counts the series ``at_risk`` in ``risk``: fill rate more
#: than 5 points under plan, or out before the next receipt; forecast.backorders.risk).
AT_RISK_PROBABILITY = 0.5
#: What the headline "at risk" count measures (printed with it).
AT_RISK_MEASURE = ("simulated fill rate more than 5 points under the planned one, or a stockout "
                   "before the next possible receipt on more than half the paths")
#: Section titles, in order (the tests look for them).
SECTION_TITLES = (
    "Orders to place",
    "Alerts",
    "Forecasts",
    "Stock projection",
    "Risk overview",
    "Allocation by customer segment",
    "Backorder book",
    "Customer messages",
    "Supplier scorecard",
    "Flash sales and pre-orders",
    "Campaign uplift",
)
HISTORY_PERIODS = 120
MAX_ORDER_ROWS = 50
MAX_ALERT_ROWS = 100  # per severity
TOP_RISK_ROWS = 15
MAX_BOOK_ROWS = 30
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

Key = tuple[str, str]


def open_results(snapshot_dir: str | Path) -> Connection:
    """Connection to the latest published results; never blocks a running pipeline."""
    return open_snapshot(snapshot_dir)


@dataclass(frozen=True)
class _Snapshot:
    """The connection, which tables it has, and the run the report is about."""

    con: Connection
    tables: frozenset[str]
    run_id: str | None
    as_of: date | None
    run: dict[str, object]


def write_html_report(
    con: Connection,
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
    at_risk_total = published.at_risk_count(con, AT_RISK_PROBABILITY)
    at_risk = published.ranked_risk(con, AT_RISK_PROBABILITY, max(max_risk_plots, 0))
    top = top_series(con, max(top_n, 0), snap.as_of) if "sales" in snap.tables else pd.DataFrame()
    title = f"Forecast run {snap.run_id or '(unknown)'}"
    document = environment().get_template("report.html.j2").render(
        title=title,
        section_titles=SECTION_TITLES,
        header=_header(snap, at_risk_total),
        orders=_orders_section(snap),
        alerts=_alerts_section(snap),
        forecasts=_forecasts_section(snap, top, at_risk, at_risk_total),
        projection=_projection_section(snap, top, at_risk, at_risk_total, top_n),
        risk=_risk_section(snap),
        allocation=_allocation_section(snap),
        backorders=_backorders_section(snap),
        messages=_messages_section(snap),
        suppliers=_supplier_section(snap),
        sales_models=_sales_models_section(snap),
        campaigns=_campaign_section(snap),
        written=f"{datetime.now():%Y-%m-%d %H:%M}",
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


def _open(con: Connection, run_id: str | None) -> _Snapshot:
    """The run the report is about: ``run_id``, else the run of the plan tables, else the latest
    run; its as-of date, else the last sales date."""
    tables = published.snapshot_tables(con)
    outputs_run = published.outputs_run_id(con)
    if run_id is None:
        run_id = outputs_run if outputs_run is not None else published.latest_run_id(con)
    run = published.run_record(con, run_id)
    run["outputs_run"] = outputs_run
    as_of = run.get("as_of")
    if as_of is None or pd.isna(as_of):
        as_of = published.last_sales_date(con) if "sales" in tables else None
    as_of = None if as_of is None or pd.isna(as_of) else pd.Timestamp(as_of).date()
    return _Snapshot(con, tables, run_id, as_of, run)


# -- sections: each returns what its template draws (None: nothing to show) ----------------------


def _header(snap: _Snapshot, at_risk_total: int) -> dict[str, object]:
    orders = published.order_totals(snap.con, snap.as_of)
    o = orders.iloc[0] if len(orders) else pd.Series(dtype=object)
    policy_in_use = _parameter(snap.run, "allocation_policy")
    waiting = [
        f"{fmt_int(r.waiting)} of {fmt_int(r.lines)} ({r.policy}"
        + (", policy in use" if r.policy == policy_in_use else "")
        + ")"
        for r in published.waiting_lines_by_policy(snap.con).itertuples()
    ]
    outputs_run = snap.run.get("outputs_run")
    return {
        "run_id": snap.run_id or "(unknown)",
        "as_of": snap.as_of,
        "series": published.forecast_series_count(snap.con),
        "breakdown": published.series_breakdown(snap.con, PREORDER_MODEL),
        "orders_today": o.get("today"),
        "orders_all": o.get("all_orders"),
        "value_today": o.get("today_value"),
        "value_all": o.get("all_value"),
        "at_risk_above": AT_RISK_PROBABILITY,
        "at_risk": at_risk_total,
        "at_risk_measure": AT_RISK_MEASURE,
        "stockout_likely": published.stockout_likely_count(snap.con, AT_RISK_PROBABILITY),
        "simulated": published.simulated_series_count(snap.con),
        "waiting": waiting,
        "alerts": _alert_groups(published.alert_counts(snap.con)),
        "data_dir": str(snap.run["data_dir"]) if snap.run.get("data_dir") else None,
        "started_at": snap.run.get("started_at"),
        "outputs_run": outputs_run
        if isinstance(outputs_run, str) and snap.run_id and outputs_run != snap.run_id
        else None,
    }


def _alert_groups(alerts: pd.DataFrame) -> list[dict[str, object]]:
    """Alert counts per severity (most severe first), with the count of each kind."""
    if alerts.empty:
        return []
    alerts = alerts.assign(rank=alerts["severity"].map(_SEVERITY_ORDER).fillna(9))
    groups = []
    for _, group in alerts.sort_values(["rank", "n"], ascending=[True, False]).groupby(
        "rank", sort=True
    ):
        groups.append(
            {
                "severity": group["severity"].iloc[0],
                "total": group["n"].sum(),
                "kinds": [
                    f"{k} {fmt_int(n)}" for k, n in zip(group["kind"], group["n"], strict=True)
                ],
            }
        )
    return groups


_ORDER_COLUMNS: list[Column] = [
    ("SKU", "sku", text),
    ("location", "location", text),
    ("supplier", "supplier", text),
    ("quantity", "order_quantity", fmt_int),
    ("order by", "order_by", fmt_date),
    ("arrival", "expected_arrival", fmt_date),
    ("value", "line_value", fmt_money),
    ("urgent", "urgent", lambda v: "yes" if v else ""),
    ("why", "explanation", text),
]


def _orders_section(snap: _Snapshot) -> dict[str, object] | None:
    orders = published.orders_to_place(snap.con, snap.as_of)
    if orders.empty:
        return None
    shown = orders.head(MAX_ORDER_ROWS)
    return {
        "total": len(orders),
        "shown": len(shown),
        "due": int(orders["due_today"].sum()),
        "as_of": snap.as_of,
        "table": table(shown, _ORDER_COLUMNS, row_class=lambda r: "due" if r["due_today"] else ""),
    }


_ALERT_COLUMNS: list[Column] = [
    ("SKU", "sku", text),
    ("location", "location", text),
    ("kind", "kind", text),
    ("date", "date", fmt_date),
    ("message", "message", text),
]


def _alerts_section(snap: _Snapshot) -> list[dict[str, object]]:
    """One group per severity, most severe first (an empty list: no alerts)."""
    alerts = published.alert_list(snap.con)
    if alerts.empty:
        return []
    alerts["rank"] = alerts["severity"].map(_SEVERITY_ORDER).fillna(9)
    groups = []
    for _, group in alerts.groupby("rank", sort=True):
        kinds = group["kind"].value_counts()
        shown = group.head(MAX_ALERT_ROWS)
        groups.append(
            {
                "severity": str(group["severity"].iloc[0]),
                "total": len(group),
                "shown": len(shown),
                "kinds": [f"{k} {fmt_int(n)}" for k, n in kinds.items()],
                "table": table(shown, _ALERT_COLUMNS),
            }
        )
    return groups


def _forecasts_section(
    snap: _Snapshot, top: pd.DataFrame, at_risk: pd.DataFrame, at_risk_total: int
) -> dict[str, object] | None:
    if top.empty and at_risk.empty:
        return None
    top_keys = _keys(top)
    risk_keys = [k for k in _keys(at_risk) if k not in set(top_keys)]
    keys = top_keys + risk_keys
    history = published.sales_history_of(snap.con, keys, snap.as_of, HISTORY_PERIODS)
    forecasts = published.forecasts_of(snap.con, keys)
    histories = _by_key(history, ["date", "quantity", "stockout"])
    futures = _by_key(forecasts, ["date", "mean", "q05", "q25", "q75", "q95", "planned"])
    probability = _risk_lookup(at_risk)

    def grid(chosen: list[Key]) -> str | None:
        if not chosen:
            return None
        figure = report_plots.forecast_grid(
            chosen, histories, futures, probability, AT_RISK_PROBABILITY
        )
        return report_plots.png_base64(figure)

    return {
        "periods": HISTORY_PERIODS,
        "top": len(top_keys),
        "top_png": grid(top_keys),
        "risk_png": grid(risk_keys),
        "at_risk_total": at_risk_total,
        "plotted": len(at_risk),
        "among_top": len(at_risk) - len(risk_keys),
        "floored": sum(report_plots.floored(futures[k]) for k in keys if k in futures),
    }


def _projection_section(
    snap: _Snapshot, top: pd.DataFrame, at_risk: pd.DataFrame, at_risk_total: int, top_n: int
) -> dict[str, object] | None:
    keys = _keys(at_risk)
    for key in _keys(top):  # few at risk: fill up with the top sellers
        if len(keys) >= top_n:
            break
        if key not in keys:
            keys.append(key)
    bands = published.risk_bands_of(snap.con, keys) if keys else pd.DataFrame()
    bands = bands.dropna(subset=["stock_p50"]) if len(bands) else bands
    if bands.empty:
        return None
    by_key = _by_key(bands, ["date", "stock_p10", "stock_p50", "stock_p90"])
    lines = published.policy_levels_of(snap.con, keys)
    probability = _risk_lookup(published.stockout_probability_of(snap.con, keys))
    keys = [k for k in keys if k in by_key]
    levels = {(r.sku, r.location): (r.reorder_point, r.max_level) for r in lines.itertuples()}
    figure = report_plots.projection_grid(keys, by_key, levels, probability, AT_RISK_PROBABILITY)
    n_risk = sum(k in set(_keys(at_risk)) for k in keys)
    return {
        "at_risk": n_risk,
        "at_risk_total": at_risk_total,
        "top": len(keys) - n_risk,
        "png": report_plots.png_base64(figure),
    }


_RISK_COLUMNS: list[Column] = [
    ("SKU", "sku", text),
    ("location", "location", text),
    ("at risk", "at_risk_reason", text),
    ("fill rate", "fill_rate", fmt_pct),
    ("planned fill", "planned_fill_rate", fmt_pct),
    ("next receipt", "next_receipt_date", fmt_date),
    ("P(out before it)", "stockout_before_receipt_probability", fmt_pct),
    ("units short before it", "units_short_before_receipt", fmt_num),
    ("P(stockout in horizon)", "stockout_probability", fmt_pct),
    ("expected units short", "expected_backorders", fmt_num),
    ("first stockout p50", "first_stockout_p50", fmt_date),
]
_CLASS_COLUMNS: list[Column] = [
    ("class", "abc_class", text),
    ("series", "series", fmt_int),
    ("target", "target", fmt_pct),
    ("planned", "planned", fmt_pct),
    ("simulated", "simulated", fmt_pct),
    ("lowest planned SKU", "lowest_planned", fmt_pct),
    ("at risk", "at_risk", fmt_int),
    ("fill 5+ pts under plan", "under_plan", fmt_int),
    ("out before next receipt", "out_before_receipt", fmt_int),
    ("P(stockout in horizon) > 50%", "stockout_likely", fmt_int),
]


def _risk_section(snap: _Snapshot) -> dict[str, object] | None:
    risk = published.risk_distribution(snap.con)
    probability = risk["stockout_probability"].dropna() if len(risk) else pd.Series(dtype=float)
    fill = risk["fill_rate"].dropna() if len(risk) else pd.Series(dtype=float)
    if probability.empty and fill.empty:
        return None
    figure = report_plots.risk_histograms(probability, fill, AT_RISK_PROBABILITY)
    top = published.ranked_risk(snap.con, -1.0, TOP_RISK_ROWS)
    classes = published.risk_by_class(snap.con, AT_RISK_PROBABILITY)
    columns = [c for c in _RISK_COLUMNS if c[1] in top.columns]
    return {
        "png": report_plots.png_base64(figure),
        "top": len(top),
        "table": table(top, columns),
        "measure": AT_RISK_MEASURE,
        "classes": table(classes, _CLASS_COLUMNS) if len(classes) else None,
    }


def _allocation_section(snap: _Snapshot) -> dict[str, object] | None:
    allocations = published.allocation_lines(snap.con)
    if allocations.empty:
        return None
    summary = summarise_allocation(allocations)
    segments = summary.groupby("segment")["lines"].max().sort_values(ascending=False).index.tolist()
    policies = sorted(summary["policy"].unique())
    policy_in_use = _parameter(snap.run, "allocation_policy")
    figure = report_plots.allocation_bars(summary, segments, policies)
    columns: list[Column] = [
        ("policy", "policy", lambda p: f"{p} (in use)" if p == policy_in_use else str(p)),
        ("segment", "segment", text),
        ("lines", "lines", fmt_int),
        ("on time", "on_time", fmt_pct),
        ("mean days late", "mean_delay", fmt_num),
        ("p90 days late", "p90_delay", fmt_num),
        ("no supply planned", "no_supply", fmt_int),
        ("units short now", "units_short_now", fmt_int),
        ("revenue at risk", "revenue_at_risk", fmt_money),
        ("expected revenue lost", "expected_revenue_lost", fmt_money),
    ]
    return {
        "png": report_plots.png_base64(figure),
        "table": table(
            summary.sort_values(["policy", "lines"], ascending=[True, False]), columns
        ),
    }


_BOOK_STATUS_COLUMNS: list[Column] = [
    ("status", "status", text),
    ("lines", "lines", fmt_int),
    ("units", "units", fmt_int),
    ("mean days waiting", "mean_days_waiting", fmt_num),
    ("expected revenue lost", "expected_revenue_lost", fmt_money),
]
_BOOK_LINE_COLUMNS: list[Column] = [
    ("order", "order_id", text),
    ("customer", "customer_id", text),
    ("segment", "segment", text),
    ("sku", "sku", text),
    ("location", "location", text),
    ("status", "status", text),
    ("quantity", "quantity", fmt_int),
    ("days waiting", "days_waiting", fmt_int),
    ("promised", "promised_date", fmt_date),
    ("ETA", "eta", fmt_date),
    ("previous ETA", "previous_eta", fmt_date),
    ("ETA change (days)", "eta_change_days", fmt_int),
    ("days late at ETA", "delay_days", fmt_int),
    ("P(cancel)", "cancel_probability", fmt_pct),
    ("expected revenue lost", "expected_revenue_lost", fmt_money),
    ("last told", "last_told_at", fmt_date),
    ("told", "last_told_kind", text),
    ("cancellation offered on", "cancel_offered_on", fmt_date),
]


def _backorders_section(
    snap: _Snapshot, max_rows: int = MAX_BOOK_ROWS
) -> dict[str, object] | None:
    """The backorder book of the policy in use: counts, the cancellation curve, the expected
    revenue lost per policy, and the lines most likely to cost revenue (late ones first)."""
    book = published.backorder_book(snap.con)
    if book.empty:
        return None
    policy = text(book["policy"].iloc[0])
    curve = published.cancellation_curve(snap.con)
    by_status = book.groupby("status", as_index=False).agg(
        lines=("order_id", "size"), units=("quantity", "sum"),
        mean_days_waiting=("days_waiting", "mean"),
        expected_revenue_lost=("expected_revenue_lost", "sum"))
    losses = published.revenue_lost_by_policy(snap.con)
    loss_columns: list[Column] = [
        ("policy", "policy", lambda p: f"{p} (in use)" if p == policy else str(p)),
        ("late lines", "late", fmt_int),
        ("expected revenue lost", "expected_revenue_lost", fmt_money),
    ]
    shown = book.sort_values(["late", "expected_revenue_lost", "days_waiting"],
                             ascending=False).head(max_rows)
    return {
        "stats": book_summary(book),
        "policy": policy,
        "curve": _curve_note(curve.iloc[0]) if len(curve) else None,
        "by_status": table(by_status.sort_values("lines", ascending=False), _BOOK_STATUS_COLUMNS),
        "losses": table(losses, loss_columns) if len(losses) else None,
        "lines": table(shown, _BOOK_LINE_COLUMNS),
        "shown": len(shown),
        "total": len(book),
    }


def _messages_section(snap: _Snapshot) -> dict[str, object] | None:
    """Messages to waiting customers: per moment how many this run sent and how many in all
    (the history), the languages and channels, and one sample message per moment (this run's,
    else the latest)."""
    history = published.customer_messages(snap.con)
    if history.empty:
        return None
    this_run = history[history["created_for_run"] == snap.run_id]
    merged = this_run["moments"].fillna("").astype(str).str.split(",")
    counts = pd.DataFrame({
        "moment": list(MOMENTS),
        "this_run": [int((this_run["moment"] == m).sum()) for m in MOMENTS],
        "merged": [int(merged.map(lambda ms, m=m: m in ms).sum()) for m in MOMENTS],
        "all_runs": [int((history["moment"] == m).sum()) for m in MOMENTS],
    })
    samples = []
    for m in MOMENTS:
        pool = this_run[this_run["moment"] == m]
        pool = pool if len(pool) else history[history["moment"] == m]
        if len(pool):
            r = pool.iloc[0]
            samples.append({"moment": m, "message_id": r["message_id"], "day": r["day"],
                            "language": r["language"], "channel": r["channel"],
                            "subject": r["subject"], "text": r["text"], "sms": r["sms_text"]})
    return {
        "run_total": len(this_run),
        "total": len(history),
        "offers": int(this_run["cancel_url"].notna().sum()),
        "languages": [f"{k} {fmt_int(v)}" for k, v in this_run["language"].value_counts().items()],
        "channels": [f"{k} {fmt_int(v)}" for k, v in this_run["channel"].value_counts().items()],
        "counts": table(counts, [("moment", "moment", text), ("this run", "this_run", fmt_int),
                                 ("also in another moment's message", "merged", fmt_int),
                                 ("all runs", "all_runs", fmt_int)]),
        "samples": samples,
    }


def _curve_note(curve: pd.Series) -> dict[str, object]:
    """The cancellation curve's parameters: P(cancelled by d days late) =
    limit_share x (1 - exp(-(d / scale_days) ^ shape))."""
    return {
        "source": curve["source"],
        "limit_share": float(curve["limit_share"]),
        "scale_days": float(curve["scale_days"]),
        "shape": float(curve["shape"]),
        "note": curve["note"],
    }


_SUPPLIER_COLUMNS: list[Column] = [
    ("supplier", "supplier", text),
    ("POs received", "purchase_orders", fmt_int),
    ("on time", "on_time_rate", fmt_pct),
    ("mean days late", "mean_days_late", fmt_num),
    ("lead time mean", "lead_time_mean", fmt_num),
    ("lead time p90", "lead_time_p90", fmt_num),
    ("quoted", "quoted_lead_time_days", fmt_num),
    ("open POs", "open_pos", fmt_int),
    ("overdue POs", "overdue_pos", fmt_int),
    ("dropship lines", "dropship_open_lines", fmt_int),
    ("expected late", "dropship_lines_late_expected", fmt_num),
    ("verdict", "verdict", text),
]


def _supplier_section(snap: _Snapshot) -> dict[str, object] | None:
    """The supplier scorecard: reliability from receipts, open and overdue POs, dropship lines
    and the verdict; the least reliable suppliers first (rows to act on are highlighted)."""
    card = published.supplier_scorecard(snap.con)
    if card.empty:
        return None
    counts = card["rating"].value_counts()
    return {
        "total": len(card),
        "ratings": [f"{fmt_int(n)} {str(r).replace('_', ' ')}" for r, n in counts.items()],
        "measured": int((card["lead_time_used"] == "receipts").sum()),
        "table": table(
            card,
            _SUPPLIER_COLUMNS,
            row_class=lambda r: "due" if r["rating"] in ("unreliable", "slower_than_quoted")
            or r["overdue_pos"] > 0 else "",
        ),
    }


_FLASH_COLUMNS: list[Column] = [
    ("sku", "sku", text), ("location", "location", text),
    ("start", "start_date", fmt_date), ("end", "end_date", fmt_date),
    ("set aside", "stock_quantity", fmt_int),
    ("forecast", "forecast_uncapped", fmt_num), ("capped", "forecast_capped", fmt_num),
    ("P(sell out)", "sellout_probability", fmt_pct),
    ("promisable", "max_promisable", fmt_int),
    ("from stock + POs", "max_promisable_confirmed", fmt_int),
    ("short", "shortfall", fmt_int), ("verdict", "verdict", text),
]
_FIRST_PURCHASE_COLUMNS: list[Column] = [
    ("sku", "sku", text), ("location", "location", text),
    ("order", "order_quantity", fmt_int), ("order by", "order_by", fmt_date),
    ("arrives", "expected_arrival", fmt_date), ("why", "explanation", text),
]


def _sales_models_section(snap: _Snapshot) -> dict[str, object] | None:
    """Flash sales (forecast capped by the stock set aside, what each can promise), pre-order
    first purchases and dropship items (forecast.planning.sales_models)."""
    flash = published.flash_sales(snap.con)
    firsts = published.preorder_recommendations(snap.con)
    dropship = published.dropship_products(snap.con)
    if flash.empty and firsts.empty and dropship.empty:
        return None
    return {
        "flash_total": len(flash),
        "overcommitted": int((flash["shortfall"].fillna(0) > 0).sum()) if len(flash) else 0,
        "flash": table(
            flash,
            _FLASH_COLUMNS,
            row_class=lambda r: "due" if finite(r["shortfall"]) and r["shortfall"] > 0 else "",
        )
        if len(flash)
        else None,
        "firsts_total": len(firsts),
        "firsts": table(firsts, _FIRST_PURCHASE_COLUMNS) if len(firsts) else None,
        "dropship": list(dropship["sku"].astype(str)) if len(dropship) else [],
    }


_UPLIFT_COLUMNS: list[Column] = [
    ("kind", "kind", text),
    ("category", "category", text),
    ("past campaigns", "campaigns", fmt_int),
    ("uplift during", "uplift", fmt_change),
    ("after (post dip)", "post_dip", fmt_change),
]


def _campaign_section(snap: _Snapshot) -> dict[str, Table] | None:
    uplift = published.campaign_uplift(snap.con)
    if uplift.empty:
        return None
    return {"table": table(uplift, _UPLIFT_COLUMNS)}


# -- helpers -------------------------------------------------------------------------------------


def _keys(frame: pd.DataFrame) -> list[Key]:
    if frame.empty:
        return []
    return list(zip(frame["sku"].astype(str), frame["location"].astype(str), strict=True))


def _by_key(frame: pd.DataFrame, columns: list[str]) -> dict[Key, pd.DataFrame]:
    if frame.empty:
        return {}
    return {
        (str(s), str(loc)): g[columns]
        for (s, loc), g in frame.groupby(["sku", "location"], sort=False)
    }


def _risk_lookup(frame: pd.DataFrame) -> dict[Key, float]:
    if frame.empty:
        return {}
    return dict(zip(_keys(frame), frame["stockout_probability"].astype(float), strict=True))


def _parameter(run: dict[str, object], name: str) -> object:
    """A run parameter from the runs record (None when unknown)."""
    try:
        return json.loads(str(run.get("parameters") or "{}")).get(name)
    except (json.JSONDecodeError, AttributeError):
        return None
