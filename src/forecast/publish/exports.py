"""Files for people: CSV exports with stable columns and the purchasing workbook.

Every frame goes through :func:`neutralise_frame` at the write boundary (``write_csv``, the
workbook's sheets): a text cell a spreadsheet would read as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe, as the OWASP
CSV-injection guidance recommends, so a supplier named ``=HYPERLINK(...)`` shows as text and
runs nothing. Numbers, dates and booleans are written as they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.backorders.book import BOOK_COLUMNS
from forecast.backorders.messages import MESSAGE_COLUMNS
from forecast.backorders.notifications import NOTICE_CSV_COLUMNS
from forecast.planning.sales_models import FLASH_SALE_COLUMNS
from forecast.planning.suppliers import SCORECARD_COLUMNS

#: First characters that make a spreadsheet read a text cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    r"""``value`` with a leading ``'`` when it is text that a spreadsheet would run as a formula.

    >>> neutralise_cell('=HYPERLINK("http://evil.example","click")')
    '\'=HYPERLINK("http://evil.example","click")'
    >>> neutralise_cell("SKU0001"), neutralise_cell(-5.0)
    ('SKU0001', -5.0)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`neutralise_cell` applied to every text column."""
    text = [c for c in frame.columns
            if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object]
    if not text:
        return frame
    return frame.assign(**{c: _neutralise_column(frame[c]) for c in text})


def _neutralise_column(column: pd.Series) -> pd.Series:
    """:func:`neutralise_cell` of a column: vectorised where every value is text (or missing)."""
    try:
        risky = column.str.startswith(FORMULA_STARTS)
    except AttributeError:  # not text (dates held as objects): cell by cell
        return column.map(neutralise_cell)
    if risky.isna().sum() != column.isna().sum():  # some values are not text
        return column.map(neutralise_cell)
    risky = risky.fillna(False).astype(bool)
    if not risky.any():
        return column
    return column.where(~risky, "'" + column.astype(str))


def write_csv(
    frame: pd.DataFrame, path: Path, *, full_precision: bool = False, **options: object
) -> Path:
    """Write one CSV export, neutralised (the one place exports reach ``to_csv``); with
    ``full_precision`` numbers are written by :func:`format_numbers` (after neutralising, so a
    negative number is never taken for a formula)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = neutralise_frame(frame)
    if full_precision:
        frame = format_numbers(frame)
    frame.to_csv(path, index=False, **options)
    return path


#: Export file -> (output table, column order). Columns are part of the documented contract.
EXPORTS: dict[str, tuple[str, list[str]]] = {
    "forecast.csv": (
        "forecasts",
        ["sku", "location", "date", "mean", "q05", "q10", "q25", "q50", "q75", "q90", "q95", "q99", "model",
         "planned_mean"],
    ),
    "policies.csv": (
        "policies",
        ["sku", "location", "abc_class", "xyz_class", "service_level", "planned_fill_rate", "service_kind", "service_source",
         "policy", "review_period_days", "lead_time_days", "lead_time_sd_days", "lead_time_source",
         "mean_daily_demand", "sd_daily_demand", "lead_time_demand", "lead_time_demand_sd",
         "campaign_uplift_pct", "seasonal_uplift_pct", "safety_stock", "reorder_point", "order_quantity", "max_level",
         "unit_cost", "supplier", "moq", "pack_size", "lead_time_sd_source", "order_quantity_basis",
         "recommended_reorder_point", "recommended_max_level", "recommended_order_quantity",
         "recommended_service_level", "recommended_policy", "override"],
    ),
    "reorder_recommendations.csv": (
        "recommendations",
        ["supplier", "sku", "location", "order_quantity", "order_by", "expected_arrival", "urgent",
         "unit_cost", "line_value", "on_hand", "on_order", "backordered", "allocated",
         "inventory_position", "reorder_point", "max_level", "days_of_cover_now",
         "days_of_cover_after", "explanation", "override"],
    ),
    "alerts.csv": ("alerts", ["severity", "kind", "sku", "location", "date", "message"]),
    "backorder_risk.csv": (
        "risk",
        ["sku", "location", "stockout_probability", "fill_rate", "planned_fill_rate",
         "fill_rate_gap", "expected_backorders", "expected_days_out", "first_stockout_p10",
         "first_stockout_p50", "next_receipt_date", "stockout_before_receipt_probability",
         "units_short_before_receipt", "at_risk", "at_risk_reason", "horizon_days", "paths"],
    ),
    "allocations.csv": (
        "allocations",
        ["policy", "order_id", "customer_id", "segment", "sku", "location", "quantity",
         "allocated_now", "order_date", "promised_date", "eta", "delay_days", "status",
         "supplier", "cancel_probability", "expected_revenue_lost"],
    ),
    "backorders.csv": ("backorders", BOOK_COLUMNS),
    "supplier_scorecard.csv": ("supplier_scorecard", SCORECARD_COLUMNS),
    "flash_sales.csv": ("flash_sales", FLASH_SALE_COLUMNS),
}


#: Money columns: written with 2 decimals.
MONEY_COLUMNS = frozenset({"unit_cost", "line_value", "expected_revenue_lost"})
#: Rates and probabilities (shares of 1): written with 4 decimals.
RATE_COLUMNS = frozenset({
    "service_level", "planned_fill_rate", "stockout_probability", "fill_rate",
    "fill_rate_gap", "stockout_before_receipt_probability",
    "cancel_probability", "on_time_rate", "late_units_share", "dropship_late_share",
    "sellout_probability", "cap_factor",
})


def format_number(value: float, decimals: int | None = None) -> str:
    """A number as CSV text without scientific notation: ``decimals`` fixed decimals, or (None)
    the shortest text that reads back as the same float (``1.179e+04`` was 11791.44); whole
    numbers without a decimal point; NaN as an empty field.

    >>> format_number(11791.44), format_number(36.0), format_number(0.123456, 4), format_number(1e-7)
    ('11791.44', '36', '0.1235', '0.0000001')
    """
    if value is None or not np.isfinite(value):
        return ""
    if decimals is not None:
        text = f"{value:.{decimals}f}"
        return text.lstrip("-") if float(text) == 0 else text  # no "-0.00"
    return np.format_float_positional(float(value), unique=True, trim="-")


def format_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its float columns as text for a CSV export: money with 2 decimals
    (:data:`MONEY_COLUMNS`), rates with 4 (:data:`RATE_COLUMNS`), every other number at full
    precision (whole quantities as integers), never in scientific notation."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_float_dtype(out[column]):
            continue
        decimals = 2 if column in MONEY_COLUMNS else 4 if column in RATE_COLUMNS else None
        out[column] = _format_column(out[column].to_numpy(dtype=float), decimals)
    return out


def _format_column(values: np.ndarray, decimals: int | None) -> np.ndarray:
    """:func:`format_number` of every value; whole numbers (most quantities) in one vectorised
    step, as integers."""
    text = np.full(len(values), "", dtype=object)
    finite = np.isfinite(values)
    rest = finite
    if decimals is None:
        whole = finite & (np.abs(values) < 2.0**53) & (values == np.round(values))
        text[whole] = values[whole].astype(np.int64).astype(str)
        rest = finite & ~whole
    text[rest] = [format_number(v, decimals) for v in values[rest]]
    return text


def write_csv_exports(tables: dict[str, pd.DataFrame], exports_dir: Path) -> list[Path]:
    """Write every export whose table is given; returns the paths written."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, (table, columns) in EXPORTS.items():
        if table not in tables:
            continue
        frame = tables[table].reindex(columns=columns)
        written.append(write_csv(frame, exports_dir / filename, full_precision=True))
    return written


def write_customer_messages(messages: pd.DataFrame, exports_dir: Path) -> list[Path]:
    """``customer_messages.csv`` and ``.json``: one row per message a run created
    (``MESSAGE_COLUMNS``); ``lines`` is a JSON text in the CSV and a list in the JSON."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    frame = messages.reindex(columns=MESSAGE_COLUMNS)
    csv_path = write_csv(frame, exports_dir / "customer_messages.csv")
    records = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
        row["lines"] = json.loads(row["lines"]) if row["lines"] else []
        records.append(row)
    json_path = exports_dir / "customer_messages.json"
    json_path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def write_rejects(rejects: pd.DataFrame, exports_dir: Path) -> Path:
    columns = ["table_name", "file", "line", "column_name", "value", "reason"]
    return write_csv(rejects.reindex(columns=columns), exports_dir / "rejects.csv")


def write_notices(notices: pd.DataFrame, path: Path) -> Path:
    """``customer_notifications.csv``: one row per customer to tell, with the message."""
    return write_csv(notices[NOTICE_CSV_COLUMNS], path)


def purchasing_summary(recs: pd.DataFrame, suppliers: list[str] | None = None) -> pd.DataFrame:
    """Per supplier: lines, units, spend, urgent lines and the first order-by date, largest
    spend first; every supplier in ``suppliers`` appears, with 0 lines when it has no order;
    a last ``total`` row sums the lines, units, spend and urgent lines."""
    summary = (
        recs.groupby("supplier")
        .agg(lines=("sku", "size"), units=("order_quantity", "sum"), spend=("line_value", "sum"),
             urgent_lines=("urgent", "sum"), first_order_by=("order_by", "min"))
        .reset_index()
    )
    idle = sorted(set(suppliers or []) - set(summary["supplier"]))
    if idle:
        zeros = pd.DataFrame({"supplier": idle, "lines": 0, "units": 0.0, "spend": 0.0,
                              "urgent_lines": 0, "first_order_by": pd.NaT})
        summary = pd.concat([summary, zeros], ignore_index=True) if len(summary) else zeros
    summary = summary.sort_values(["spend", "supplier"], ascending=[False, True])
    total = pd.DataFrame([{"supplier": "total", "lines": summary["lines"].sum(),
                           "units": summary["units"].sum(), "spend": summary["spend"].sum(),
                           "urgent_lines": summary["urgent_lines"].sum(),
                           "first_order_by": pd.to_datetime(summary["first_order_by"]).min()}])
    return pd.concat([summary, total], ignore_index=True)


def write_purchasing_workbook(
    recommendations: pd.DataFrame, path: Path, scorecard: pd.DataFrame | None = None,
    currency: str = "USD",
) -> Path:
    """Excel workbook a buyer can send: the summary sheet first (lines, units, spend, urgent
    lines and first order-by date per supplier, every supplier of the scorecard included with
    0 lines, a total row), the supplier scorecard when given (on-time rate, real lead times,
    open and overdue POs, verdict), and one sheet per supplier with its order lines. Formats
    in :mod:`forecast.publish.workbook` (dates, whole units, money in ``currency``, rates as
    percentages, frozen headers, filters, fitted widths)."""
    from forecast.publish.workbook import excel_ready, workbook, write_sheet

    columns = EXPORTS["reorder_recommendations.csv"][1]
    recs = recommendations.reindex(columns=columns).copy()
    recs["supplier"] = recs["supplier"].fillna("(no supplier)")
    known = [] if scorecard is None or scorecard.empty else scorecard["supplier"].dropna().astype(str).tolist()
    summary = purchasing_summary(recs, known)
    path.parent.mkdir(parents=True, exist_ok=True)
    book, formats = workbook(path)
    write_sheet(book, formats, "summary", excel_ready(neutralise_frame(summary)), currency, total_row=True)
    used: set[str] = {"summary"}
    if scorecard is not None and len(scorecard):
        write_sheet(book, formats, "supplier scorecard",
                    excel_ready(neutralise_frame(scorecard.reindex(columns=SCORECARD_COLUMNS))), currency)
        used.add("supplier scorecard")
    for supplier, lines in recs.groupby("supplier"):
        write_sheet(book, formats, _sheet_name(str(supplier), used),
                    excel_ready(neutralise_frame(lines.drop(columns=["supplier"]))), currency)
    book.close()
    return path


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, no []:*?/\\ and unique."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "supplier"
    candidate, i = base, 1
    while candidate.lower() in {u.lower() for u in used}:
        i += 1
        candidate = f"{base[:28]}_{i}"
    used.add(candidate)
    return candidate
