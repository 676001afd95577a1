"""The one reader of the published snapshot: what the report, the notebooks and the read commands see.

The nightly run publishes one Parquet file per table (:meth:`Warehouse.publish_snapshot`). Readers
open it here, never the warehouse file, so they neither block nor wait for a running pipeline.
Table names are checked against :data:`SNAPSHOT_TABLES` or come from the snapshot's own files;
every data value is a bound parameter.

Every query of the snapshot lives here, as a named function over a connection of
:func:`open_snapshot` (the report, :mod:`forecast.analysis` and the notebooks pass one around) or
over a snapshot folder (``read_*``):

- whole tables and the analysts' readers: :func:`read_snapshot`, :func:`read_table`,
  :func:`sales_frame`, :func:`as_of_date`, :func:`last_sales_date`, :func:`top_skus`;
- one series for the starter notebook: :func:`top_series`, :func:`series_history`,
  :func:`series_forecast`;
- the run report (:mod:`forecast.publish.report`): the run it is about, the header counts and
  one reader per section. These return an empty frame (or ``None``) when a table they need is
  missing from the snapshot, so every section can say there is nothing to show.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from forecast.ingest.warehouse import SNAPSHOT_TABLES, _ident, _sql_path

__all__ = [
    "SNAPSHOT_TABLES",
    "Connection",
    "alert_counts",
    "alert_list",
    "allocation_lines",
    "as_of_date",
    "at_risk_count",
    "backorder_book",
    "campaign_uplift",
    "cancellation_curve",
    "customer_messages",
    "dropship_products",
    "flash_sales",
    "forecast_series_count",
    "forecasts_of",
    "has_column",
    "last_sales_date",
    "latest_run_id",
    "open_snapshot",
    "order_totals",
    "orders_to_place",
    "outputs_run_id",
    "policy_levels_of",
    "preorder_recommendations",
    "published_plan",
    "ranked_risk",
    "read_last_sales_date",
    "read_snapshot",
    "read_snapshot_table",
    "read_table",
    "revenue_lost_by_policy",
    "risk_bands_of",
    "risk_by_class",
    "risk_distribution",
    "run_parameters",
    "run_record",
    "sales_frame",
    "sales_history_of",
    "series_breakdown",
    "series_forecast",
    "series_history",
    "simulated_series_count",
    "snapshot_tables",
    "stockout_likely_count",
    "stockout_probability_of",
    "supplier_scorecard",
    "top_series",
    "top_skus",
    "waiting_lines_by_policy",
]

#: A connection to the snapshot (:func:`open_snapshot`): what the readers below take.
Connection = duckdb.DuckDBPyConnection
#: Series as (sku, location) pairs.
Keys = Sequence[tuple[str, str]]


# -- the snapshot and its tables ---------------------------------------------------------------


def open_snapshot(snapshot_dir: str | Path) -> Connection:
    """An in-memory DuckDB connection with one view per table of a published snapshot.

    Never touches the warehouse file, so it neither blocks nor waits for a running pipeline.
    """
    snapshot_dir = Path(snapshot_dir)
    if not snapshot_dir.is_dir():
        raise FileNotFoundError(
            f"{snapshot_dir}: no snapshot yet; run `forecast demo` or `forecast run` first"
        )
    con = duckdb.connect()
    for file in sorted(snapshot_dir.glob("*.parquet")):
        con.execute(
            f"CREATE VIEW {_ident(file.stem)} AS SELECT * FROM read_parquet('{_sql_path(file)}')"
        )
    return con


def read_snapshot(
    snapshot_dir: str | Path, names: tuple[str, ...], skus: list[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Tables of a published snapshot, optionally only the rows of ``skus`` (tables with a sku
    column); tables missing from the snapshot come back empty."""
    con = open_snapshot(snapshot_dir)
    try:
        present = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        frames = {}
        for name in names:
            if name not in present:
                frames[name] = pd.DataFrame()
                continue
            cols = {r[0] for r in con.execute(f"DESCRIBE {_ident(name)}").fetchall()}
            if skus is not None and "sku" in cols:
                frames[name] = con.execute(
                    f"SELECT * FROM {_ident(name)} WHERE list_contains(?, sku)", [list(skus)]
                ).df()
            else:
                frames[name] = con.execute(f"SELECT * FROM {_ident(name)}").df()
        return frames
    finally:
        con.close()


def read_snapshot_table(snapshot_dir: str | Path, name: str) -> pd.DataFrame:
    """One table of a published snapshot (empty when the snapshot lacks it)."""
    return read_snapshot(snapshot_dir, (name,))[name]


def read_last_sales_date(snapshot_dir: str | Path) -> date | None:
    """The last sales date of a published snapshot (None without sales)."""
    con = open_snapshot(snapshot_dir)
    try:
        return last_sales_date(con)
    finally:
        con.close()


#: The published plan's tables a what-if starts from (forecast.scenarios.whatif).
PLAN_TABLES = ("forecasts", "forecast_models", "policies", "recommendations", "risk",
               "allocations", "flash_sales", "alerts")


def published_plan(snapshot_dir: str | Path, skus: list[str]) -> dict[str, pd.DataFrame]:
    """The published plan's rows of ``skus`` (:data:`PLAN_TABLES`, without ``run_id``): the
    "before" of a what-if, exactly as exported."""
    frames = read_snapshot(snapshot_dir, PLAN_TABLES, skus)
    return {name: frame.drop(columns="run_id", errors="ignore") for name, frame in frames.items()}


def run_parameters(snapshot_dir: str | Path) -> dict[str, object]:
    """The settings the published run was made with (the ``runs`` row of the run whose rows
    the plan tables hold; empty when the snapshot does not say)."""
    con = open_snapshot(snapshot_dir)
    try:
        run = run_record(con, outputs_run_id(con))
    finally:
        con.close()
    try:
        return dict(json.loads(str(run.get("parameters") or "{}")))
    except json.JSONDecodeError:
        return {}


def snapshot_tables(con: Connection) -> frozenset[str]:
    """Names of the tables (views) the snapshot connection holds."""
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return frozenset(r[0] for r in rows)


def has_column(con: Connection, table: str, column: str) -> bool:
    """Whether the snapshot has ``table`` and it has ``column`` (older snapshots lack some)."""
    if table not in snapshot_tables(con):
        return False
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
        [table, column],
    ).fetchall()[0][0])


def read_table(con: Connection, name: str) -> pd.DataFrame:
    """A whole snapshot table without its ``run_id``; empty when the snapshot lacks it."""
    if name not in SNAPSHOT_TABLES:
        raise KeyError(f"unknown table {name!r}; snapshot tables: {', '.join(SNAPSHOT_TABLES)}")
    if name not in snapshot_tables(con):
        return pd.DataFrame()
    # The name is one of SNAPSHOT_TABLES (checked above), never user data.
    return con.execute(f'SELECT * FROM "{name}"').df().drop(columns="run_id", errors="ignore")


def _read(
    con: Connection, sql: str, params: Sequence[object] = (), *, needs: Sequence[str]
) -> pd.DataFrame:
    """Run ``sql``; an empty frame when one of the tables it ``needs`` is not there."""
    if not set(needs) <= snapshot_tables(con):
        return pd.DataFrame()
    return con.execute(sql, list(params)).df()


def _scalar(
    con: Connection, sql: str, params: Sequence[object] = (), *, needs: Sequence[str]
) -> object:
    frame = _read(con, sql, params, needs=needs)
    return None if frame.empty else frame.iloc[0, 0]


def _key_lists(keys: Keys) -> list[list[str]]:
    """The bound parameters of :data:`_KEYS_SQL`: the SKUs and the locations of ``keys``."""
    return [[k[0] for k in keys], [k[1] for k in keys]]


# -- the analysts' readers -----------------------------------------------------------------------

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


def sales_frame(con: Connection, series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sales rows (all series, or those of ``series``: sku, location) with the product's
    ``category`` and a ``stockout`` flag (on_hand <= 0: sales understate demand that day)."""
    if series is None:
        return con.execute(_SALES_SQL).df()
    return con.execute(_SERIES_SALES_SQL, [list(series["sku"]), list(series["location"])]).df()


def last_sales_date(con: Connection) -> date | None:
    """The last date of the snapshot's sales (None when it holds no sales rows)."""
    value = con.execute("SELECT max(date) FROM sales").fetchall()[0][0]
    return None if value is None else pd.Timestamp(value).date()


def as_of_date(con: Connection) -> date | None:
    """The forecast origin of the published run (last history date), else the last sales date."""
    if "forecast_models" in snapshot_tables(con):
        value = con.execute("SELECT max(history_end) FROM forecast_models").fetchall()[0][0]
        if value is not None:
            return pd.Timestamp(value).date()
    return last_sales_date(con)


def top_skus(con: Connection, n: int = 2) -> list[str]:
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


def top_series(
    con: Connection, n: int = 10, as_of: date | None = None
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
    con: Connection, sku: str, location: str, days: int = 180
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


def series_forecast(con: Connection, sku: str, location: str) -> pd.DataFrame:
    """The published forecast of one series (mean and quantiles per date)."""
    return con.execute(
        "SELECT * FROM forecasts WHERE sku = ? AND location = ? ORDER BY date", [sku, location]
    ).df()


def series_policy(con: Connection, sku: str, location: str) -> pd.DataFrame:
    """The published stock policy of one series (thresholds, order quantity, explanation)."""
    return con.execute(
        "SELECT * FROM policies WHERE sku = ? AND location = ?", [sku, location]
    ).df()


# -- the run report: which run, header counts ----------------------------------------------------

#: The plan tables whose rows tell which run the snapshot's outputs come from, in order.
_OUTPUT_RUN_TABLES = ("recommendations", "forecasts", "risk")


def outputs_run_id(con: Connection) -> str | None:
    """The run whose rows the snapshot's plan tables hold (None when they are empty)."""
    for name in _OUTPUT_RUN_TABLES:
        # The name is one of _OUTPUT_RUN_TABLES, never user data.
        run_id = _scalar(con, f"SELECT any_value(run_id) FROM {_ident(name)}", needs=[name])
        if isinstance(run_id, str):
            return run_id
    return None


def latest_run_id(con: Connection) -> object:
    """The run id of the latest started run in ``runs`` (None without runs)."""
    return _scalar(con, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1", needs=["runs"])


def run_record(con: Connection, run_id: object) -> dict[str, object]:
    """The ``runs`` row of ``run_id`` as a dict (empty when unknown)."""
    row = _read(con, "SELECT * FROM runs WHERE run_id = ?", [run_id], needs=["runs"])
    return row.iloc[0].to_dict() if len(row) else {}


def forecast_series_count(con: Connection) -> object:
    """Series (sku, location) with a forecast."""
    return _scalar(
        con,
        "SELECT count(*) FROM (SELECT DISTINCT sku, location FROM forecasts)",
        needs=["forecasts"],
    )


_SERIES_BREAKDOWN_SQL = """
SELECT count(*) AS series,
       count(*) FILTER (WHERE m.model = ?) AS preorder_series,
       count(*) FILTER (WHERE coalesce(p.dropship, false)) AS dropship_series
FROM (SELECT DISTINCT sku, location FROM forecasts) f
LEFT JOIN forecast_models m USING (sku, location)
LEFT JOIN (SELECT sku, any_value(dropship) AS dropship FROM products GROUP BY sku) p USING (sku)
"""


def series_breakdown(con: Connection, preorder_model: str) -> dict[str, int]:
    """How the forecast series count (the same figure as the CLI and ``forecast.csv``): all
    ``series``, the ``preorder_series`` forecast before launch (model ``preorder_model``) and
    the ``dropship_series`` (forecast only, no stock policy); empty without the tables."""
    frame = _read(con, _SERIES_BREAKDOWN_SQL, [preorder_model],
                  needs=["forecasts", "forecast_models", "products"])
    return {k: int(v) for k, v in frame.iloc[0].items()} if len(frame) else {}


def order_totals(con: Connection, as_of: date | None) -> pd.DataFrame:
    """One row: recommended orders due on ``as_of`` (urgent or order-by date reached) and all,
    with their values (``today``, ``today_value``, ``all_orders``, ``all_value``)."""
    return _read(
        con,
        """SELECT count(*) FILTER (WHERE due) AS today,
                  CASE WHEN count(*) FILTER (WHERE due) = 0 THEN 0
                       ELSE sum(line_value) FILTER (WHERE due) END AS today_value,
                  count(*) AS all_orders,
                  CASE WHEN count(*) = 0 THEN 0 ELSE sum(line_value) END AS all_value
           FROM (SELECT *, coalesce(urgent OR order_by <= ?::DATE, false) AS due FROM recommendations)""",
        [as_of],
        needs=["recommendations"],
    )


def simulated_series_count(con: Connection) -> object:
    """Series with a simulated stockout probability."""
    return _scalar(
        con, "SELECT count(*) FROM risk WHERE stockout_probability IS NOT NULL", needs=["risk"]
    )


def alert_counts(con: Connection) -> pd.DataFrame:
    """Alerts per severity and kind (``n``)."""
    return _read(
        con,
        "SELECT severity, kind, count(*) AS n FROM alerts GROUP BY ALL ORDER BY severity, n DESC",
        needs=["alerts"],
    )


def waiting_lines_by_policy(con: Connection) -> pd.DataFrame:
    """Per allocation policy: customer lines not allocated now (``waiting``) and all ``lines``."""
    return _read(
        con,
        """SELECT policy, count(*) FILTER (WHERE status IS DISTINCT FROM 'allocated') AS waiting,
                  count(*) AS lines FROM allocations GROUP BY ALL ORDER BY policy""",
        needs=["allocations"],
    )


def at_risk_count(con: Connection, above: float) -> int:
    """Series at risk (``risk.at_risk``: fill rate 5+ points under plan, or a stockout before
    the next receipt, see forecast.backorders.risk); for snapshots without that column, series
    whose stockout probability is over ``above``."""
    sql = (_AT_RISK_COUNT_SQL if has_column(con, "risk", "at_risk")
           else "SELECT count(*) FROM risk WHERE stockout_probability > ?")
    params = [] if has_column(con, "risk", "at_risk") else [above]
    return int(_scalar(con, sql, params, needs=["risk"]) or 0)


_AT_RISK_COUNT_SQL = "SELECT count(*) FROM risk WHERE coalesce(at_risk, false)"


def stockout_likely_count(con: Connection, above: float) -> int:
    """Series whose stockout probability within the horizon is over ``above``."""
    return int(_scalar(con, "SELECT count(*) FROM risk WHERE stockout_probability > ?", [above],
                       needs=["risk"]) or 0)


_RISK_BY_CLASS_SQL = """
SELECT p.abc_class, count(*) AS series,
       sum(p.mean_daily_demand * p.service_level) / nullif(sum(p.mean_daily_demand), 0) AS target,
       sum(p.mean_daily_demand * p.planned_fill_rate) / nullif(sum(p.mean_daily_demand), 0) AS planned,
       sum(p.mean_daily_demand * r.fill_rate) / nullif(sum(p.mean_daily_demand), 0) AS simulated,
       min(p.planned_fill_rate) AS lowest_planned,
       count(*) FILTER (WHERE r.stockout_probability > ?) AS stockout_likely,
       count(*) FILTER (WHERE coalesce(r.at_risk, false)) AS at_risk,
       count(*) FILTER (WHERE r.at_risk_reason LIKE '%under plan%') AS under_plan,
       count(*) FILTER (WHERE r.at_risk_reason LIKE '%before next receipt%') AS out_before_receipt
FROM risk r JOIN policies p USING (sku, location)
WHERE r.fill_rate IS NOT NULL
GROUP BY p.abc_class ORDER BY p.abc_class
"""


def risk_by_class(con: Connection, above: float) -> pd.DataFrame:
    """Per ABC class: series, the demand-weighted target, planned and simulated fill rates,
    the lowest planned fill rate, and how many series are at risk and why; empty for
    snapshots without the risk measures."""
    if not has_column(con, "risk", "at_risk"):
        return pd.DataFrame()
    return _read(con, _RISK_BY_CLASS_SQL, [above], needs=["risk", "policies"])


# -- the run report: one reader per section ------------------------------------------------------

#: The series of ``keys`` as a relation to join on (bound: the SKU list, then the location list).
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
SELECT f.sku, f.location, f.date, f.mean, f.q05, f.q25, f.q75, f.q95,
       greatest(f.mean, coalesce(m.rate_floor, 0.0)) AS planned
FROM forecasts f JOIN {_KEYS_SQL} k USING (sku, location)
LEFT JOIN forecast_models m USING (sku, location)
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

_PROBABILITY_SQL = f"""
SELECT r.sku, r.location, r.stockout_probability
FROM risk r JOIN {_KEYS_SQL} k USING (sku, location)
"""

_RISK_RANKED_SQL = """
SELECT sku, location, stockout_probability, fill_rate, expected_backorders,
       first_stockout_p10, first_stockout_p50
FROM risk WHERE stockout_probability > ?
ORDER BY stockout_probability DESC, expected_backorders DESC NULLS LAST, sku, location
LIMIT ?
"""
_AT_RISK_RANKED_SQL = """
SELECT sku, location, stockout_probability, fill_rate, planned_fill_rate, fill_rate_gap,
       expected_backorders, first_stockout_p10, first_stockout_p50, next_receipt_date,
       stockout_before_receipt_probability, units_short_before_receipt, at_risk, at_risk_reason
FROM risk WHERE coalesce(at_risk, false) OR ? < 0
ORDER BY coalesce(at_risk, false) DESC, stockout_before_receipt_probability DESC NULLS LAST,
         fill_rate_gap NULLS LAST, expected_backorders DESC NULLS LAST, sku, location
LIMIT ?
"""

_ORDERS_SQL = """
SELECT sku, location, supplier, order_quantity, order_by, expected_arrival, line_value,
       explanation, coalesce(urgent, false) AS urgent,
       coalesce(urgent OR order_by <= ?::DATE, false) AS due_today
FROM recommendations
ORDER BY urgent DESC NULLS LAST, order_by NULLS LAST, line_value DESC NULLS LAST, sku, location
"""

_SUPPLIER_SCORECARD_SQL = (
    "SELECT * FROM supplier_scorecard ORDER BY CASE rating WHEN 'unreliable' THEN 0 "
    "WHEN 'slower_than_quoted' THEN 1 WHEN 'often_late' THEN 2 WHEN 'reliable' THEN 3 "
    "ELSE 4 END, overdue_pos DESC, supplier"
)


def ranked_risk(con: Connection, above: float, limit: int) -> pd.DataFrame:
    """At most ``limit`` series at risk (see :func:`at_risk_count`), those that run out before
    the next receipt first, then the largest shortfall against the planned fill rate; with
    ``above`` < 0 every series, at-risk ones first. Older snapshots: the series with a
    stockout probability over ``above``, most likely first."""
    if has_column(con, "risk", "at_risk"):
        return _read(con, _AT_RISK_RANKED_SQL, [above, limit], needs=["risk"])
    return _read(con, _RISK_RANKED_SQL, [above, limit], needs=["risk"])


def orders_to_place(con: Connection, as_of: date | None) -> pd.DataFrame:
    """Recommended orders, urgent first, then by order-by date and value; ``due_today``: urgent
    or the order-by date on or before ``as_of``."""
    return _read(con, _ORDERS_SQL, [as_of], needs=["recommendations"])


def alert_list(con: Connection) -> pd.DataFrame:
    """Every alert, by date, kind and series."""
    return _read(
        con,
        "SELECT severity, kind, sku, location, date, message FROM alerts "
        "ORDER BY date NULLS LAST, kind, sku, location",
        needs=["alerts"],
    )


def sales_history_of(
    con: Connection, keys: Keys, as_of: date | None, periods: int
) -> pd.DataFrame:
    """Sales of the series ``keys`` over the last ``periods`` sales dates up to ``as_of``, with
    the stockout days flagged."""
    return _read(
        con,
        _HISTORY_SQL,
        [as_of, as_of, periods, *_key_lists(keys), as_of, as_of],
        needs=["sales"],
    )


def forecasts_of(con: Connection, keys: Keys) -> pd.DataFrame:
    """The forecast mean and 5/25/75/95% quantiles of the series ``keys``, and ``planned``: the
    distribution's mean the quantiles are of, max(mean, a slow mover's ``rate_floor``)."""
    return _read(con, _FORECASTS_SQL, _key_lists(keys), needs=["forecasts", "forecast_models"])


def risk_bands_of(con: Connection, keys: Keys) -> pd.DataFrame:
    """The simulated net stock bands (10-50-90%) of the series ``keys``."""
    return _read(con, _BANDS_SQL, _key_lists(keys), needs=["risk_bands"])


def policy_levels_of(con: Connection, keys: Keys) -> pd.DataFrame:
    """Reorder point and max level of the series ``keys``."""
    return _read(con, _POLICY_LINES_SQL, _key_lists(keys), needs=["policies"])


def stockout_probability_of(con: Connection, keys: Keys) -> pd.DataFrame:
    """The simulated stockout probability of the series ``keys``."""
    return _read(con, _PROBABILITY_SQL, _key_lists(keys), needs=["risk"])


def risk_distribution(con: Connection) -> pd.DataFrame:
    """Stockout probability and fill rate of every simulated series."""
    return _read(con, "SELECT stockout_probability, fill_rate FROM risk", needs=["risk"])


_ALLOCATION_LINES_SQL = """
SELECT a.* REPLACE (coalesce(a.segment, '(none)') AS segment),
       coalesce(o.unit_price, p.unit_price) AS unit_price
FROM allocations a
LEFT JOIN (SELECT order_id, sku, location, any_value(unit_price) AS unit_price
           FROM customer_orders GROUP BY ALL) o USING (order_id, sku, location)
LEFT JOIN (SELECT sku, any_value(unit_price) AS unit_price FROM products GROUP BY sku) p USING (sku)
ORDER BY a.policy, a.sku, a.location, a.order_id
"""


def allocation_lines(con: Connection) -> pd.DataFrame:
    """Customer order lines as each allocation policy serves them (segment '(none)' if unknown),
    with each line's ``unit_price``: the order line's, else the product's list price."""
    lines = _read(con, _ALLOCATION_LINES_SQL, needs=["allocations", "customer_orders", "products"])
    if lines.empty:
        lines = _read(con, "SELECT * REPLACE (coalesce(segment, '(none)') AS segment) "
                      "FROM allocations", needs=["allocations"])
    return lines.drop(columns="run_id", errors="ignore")


def backorder_book(con: Connection) -> pd.DataFrame:
    """The backorder book: every waiting order line of the policy in use."""
    return _read(con, "SELECT * FROM backorders", needs=["backorders"])


def customer_messages(con: Connection) -> pd.DataFrame:
    """Every message sent to waiting customers (the ``customer_messages`` history), newest
    first."""
    return _read(con, "SELECT * FROM customer_messages ORDER BY day DESC, customer_id",
                 needs=["customer_messages"])


def cancellation_curve(con: Connection) -> pd.DataFrame:
    """The fitted cancellation curve (one row)."""
    return _read(con, "SELECT * FROM cancellation_curve", needs=["cancellation_curve"])


def revenue_lost_by_policy(con: Connection) -> pd.DataFrame:
    """Per allocation policy: expected revenue lost to cancellations and late lines; empty for
    snapshots whose allocations have no ``expected_revenue_lost``."""
    if not has_column(con, "allocations", "expected_revenue_lost"):
        return pd.DataFrame()
    return _read(
        con,
        "SELECT policy, sum(expected_revenue_lost) AS expected_revenue_lost, "
        "count(*) FILTER (WHERE delay_days > 0 OR status = 'no_supply_planned') AS late "
        "FROM allocations GROUP BY policy ORDER BY expected_revenue_lost",
        needs=["allocations"],
    )


def supplier_scorecard(con: Connection) -> pd.DataFrame:
    """The supplier scorecard, least reliable suppliers first."""
    return _read(con, _SUPPLIER_SCORECARD_SQL, needs=["supplier_scorecard"])


def flash_sales(con: Connection) -> pd.DataFrame:
    """The planned flash sales, by start date."""
    return _read(
        con, "SELECT * FROM flash_sales ORDER BY start_date, sku, location", needs=["flash_sales"]
    )


def preorder_recommendations(con: Connection) -> pd.DataFrame:
    """The first purchases of pre-order products (recommendations explained 'pre-order: ...')."""
    return _read(
        con,
        "SELECT sku, location, order_quantity, order_by, expected_arrival, explanation "
        "FROM recommendations WHERE starts_with(explanation, 'pre-order:') ORDER BY order_by, sku",
        needs=["recommendations"],
    )


def dropship_products(con: Connection) -> pd.DataFrame:
    """The SKUs of dropship products."""
    return _read(con, "SELECT sku FROM products WHERE dropship ORDER BY sku", needs=["products"])


def campaign_uplift(con: Connection) -> pd.DataFrame:
    """Estimated campaign uplift per kind and category, largest first within a kind."""
    return _read(
        con,
        "SELECT kind, category, campaigns, uplift, post_dip FROM campaign_uplift "
        "ORDER BY kind, uplift DESC",
        needs=["campaign_uplift"],
    )
