"""Files for people: CSV exports with stable columns and the purchasing workbook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from forecast.backorders.book import BOOK_COLUMNS
from forecast.backorders.messages import MESSAGE_COLUMNS
from forecast.planning.sales_models import FLASH_SALE_COLUMNS
from forecast.planning.suppliers import SCORECARD_COLUMNS

#: Export file -> (output table, column order). Columns are part of the documented contract.
EXPORTS: dict[str, tuple[str, list[str]]] = {
    "forecast.csv": (
        "forecasts",
        ["sku", "location", "date", "mean", "q05", "q10", "q25", "q50", "q75", "q90", "q95", "q99", "model"],
    ),
    "policies.csv": (
        "policies",
        ["sku", "location", "abc_class", "xyz_class", "service_level", "planned_fill_rate", "service_kind", "service_source",
         "policy", "review_period_days", "lead_time_days", "lead_time_sd_days", "lead_time_source",
         "mean_daily_demand", "sd_daily_demand", "lead_time_demand", "lead_time_demand_sd",
         "campaign_uplift_pct", "safety_stock", "reorder_point", "order_quantity", "max_level",
         "unit_cost", "supplier", "moq", "pack_size", "lead_time_sd_source", "order_quantity_basis"],
    ),
    "reorder_recommendations.csv": (
        "recommendations",
        ["supplier", "sku", "location", "order_quantity", "order_by", "expected_arrival", "urgent",
         "unit_cost", "line_value", "on_hand", "on_order", "backordered", "allocated",
         "inventory_position", "reorder_point", "max_level", "days_of_cover_now",
         "days_of_cover_after", "explanation"],
    ),
    "alerts.csv": ("alerts", ["severity", "kind", "sku", "location", "date", "message"]),
    "backorder_risk.csv": (
        "risk",
        ["sku", "location", "stockout_probability", "fill_rate", "expected_backorders",
         "expected_days_out", "first_stockout_p10", "first_stockout_p50", "horizon_days", "paths"],
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


def write_csv_exports(tables: dict[str, pd.DataFrame], exports_dir: Path) -> list[Path]:
    """Write every export whose table is given; returns the paths written."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, (table, columns) in EXPORTS.items():
        if table not in tables:
            continue
        frame = tables[table].reindex(columns=columns)
        path = exports_dir / filename
        frame.to_csv(path, index=False, float_format="%.4g")
        written.append(path)
    return written


def write_customer_messages(messages: pd.DataFrame, exports_dir: Path) -> list[Path]:
    """``customer_messages.csv`` and ``.json``: one row per message a run created
    (``MESSAGE_COLUMNS``); ``lines`` is a JSON text in the CSV and a list in the JSON."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    frame = messages.reindex(columns=MESSAGE_COLUMNS)
    csv_path = exports_dir / "customer_messages.csv"
    frame.to_csv(csv_path, index=False)
    records = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
        row["lines"] = json.loads(row["lines"]) if row["lines"] else []
        records.append(row)
    json_path = exports_dir / "customer_messages.json"
    json_path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def write_rejects(rejects: pd.DataFrame, exports_dir: Path) -> Path:
    path = exports_dir / "rejects.csv"
    rejects.reindex(columns=["table_name", "file", "line", "column_name", "value", "reason"]).to_csv(
        path, index=False
    )
    return path


def write_purchasing_workbook(
    recommendations: pd.DataFrame, path: Path, scorecard: pd.DataFrame | None = None
) -> Path:
    """Excel workbook: a summary sheet (spend, lines and urgent lines per supplier), the supplier
    scorecard when given (on-time rate, real lead times, open and overdue POs, verdict), and one
    sheet per supplier with its order lines, ready to send."""
    columns = EXPORTS["reorder_recommendations.csv"][1]
    recs = recommendations.reindex(columns=columns).copy()
    recs["supplier"] = recs["supplier"].fillna("(no supplier)")
    summary = (
        recs.groupby("supplier")
        .agg(lines=("sku", "size"), units=("order_quantity", "sum"), spend=("line_value", "sum"),
             urgent_lines=("urgent", "sum"), first_order_by=("order_by", "min"))
        .reset_index()
        .sort_values("spend", ascending=False)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        summary.to_excel(writer, sheet_name="summary", index=False)
        used: set[str] = {"summary"}
        if scorecard is not None and len(scorecard):
            scorecard.reindex(columns=SCORECARD_COLUMNS).to_excel(
                writer, sheet_name="supplier scorecard", index=False
            )
            used.add("supplier scorecard")
        for supplier, lines in recs.groupby("supplier"):
            name = _sheet_name(str(supplier), used)
            lines.drop(columns=["supplier"]).to_excel(writer, sheet_name=name, index=False)
        for sheet in writer.book.worksheets:
            for column in sheet.columns:
                width = max(len(str(c.value or "")) for c in column[:50])
                sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
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
