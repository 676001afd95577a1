"""Cell formats of the purchasing workbook, so a buyer can send it as it is: dates as Excel
dates, units as whole numbers (an item sold in fractions, such as kilograms, keeps its decimals, so
the workbook shows what the CSV shows), money with 2 decimals and the currency, rates as percentages,
a frozen header row with filters, and column widths fitted to the contents."""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

DATE_FORMAT = "yyyy-mm-dd"
UNITS_FORMAT = "#,##0"
#: Units of an item sold in fractions (``products.fractional``): up to 3 decimals.
FRACTIONAL_UNITS_FORMAT = "#,##0.###"
#: Decimals a fractional quantity keeps in the workbook.
UNIT_DECIMALS = 3
DAYS_FORMAT = "#,##0.0"
RATE_FORMAT = "0.0%"
#: Columns by kind, across the workbook's sheets (recommendations, summary, scorecard).
DATE_COLUMNS = {"order_by", "expected_arrival", "first_order_by"}
UNIT_COLUMNS = {"order_quantity", "on_hand", "on_order", "backordered", "allocated",
                "inventory_position", "reorder_point", "max_level", "units", "lines", "urgent_lines",
                "skus", "receipts", "purchase_orders", "open_pos", "open_units", "overdue_pos",
                "overdue_units", "dropship_skus", "dropship_open_lines", "recommended_reorder_point",
                "recommended_max_level", "recommended_order_quantity"}
MONEY_COLUMNS = {"unit_cost", "line_value", "spend"}
RATE_COLUMNS = {"on_time_rate", "late_units_share", "dropship_late_share"}
DAY_COLUMNS = {"days_of_cover_now", "days_of_cover_after", "mean_days_late", "lead_time_mean",
               "lead_time_sd", "lead_time_p50", "lead_time_p90", "quoted_lead_time_days",
               "lead_time_gap_days", "lead_time_used", "dropship_lines_late_expected"}
#: Widest a fitted column gets (an explanation wraps inside it).
MAX_WIDTH = 60


def money_format(currency: str) -> str:
    """Two decimals and the currency code after the number, e.g. ``#,##0.00 "EUR"``."""
    return '#,##0.00 "' + currency.replace('"', "") + '"'


def number_format(column: str, currency: str) -> str | None:
    if column in DATE_COLUMNS:
        return DATE_FORMAT
    if column in UNIT_COLUMNS:
        return UNITS_FORMAT
    if column in MONEY_COLUMNS:
        return money_format(currency)
    if column in RATE_COLUMNS:
        return RATE_FORMAT
    if column in DAY_COLUMNS:
        return DAYS_FORMAT
    return None


def excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as dates (no time of day), units as whole numbers where they are whole (a column
    holding a fractional quantity keeps :data:`UNIT_DECIMALS` decimals rather than being rounded
    to a number the plan does not hold), no infinite numbers (an infinite cover is left empty:
    Excel has no infinity)."""
    frame = frame.copy()
    for column in frame.columns:
        if column in DATE_COLUMNS:
            frame[column] = pd.to_datetime(frame[column]).dt.date
        elif column in UNIT_COLUMNS:
            values = pd.to_numeric(frame[column], errors="coerce").round(UNIT_DECIMALS)
            whole = values.dropna().mod(1).eq(0).all()
            frame[column] = values.astype("Int64") if whole else values
        elif column in MONEY_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").round(2)
        elif pd.api.types.is_float_dtype(frame[column].dtype):
            frame[column] = frame[column].where(frame[column].abs() != math.inf)
    return frame


def _cell_format(fmt: str, value: object) -> str:
    """The column's format, with decimals for a fractional quantity in a units column."""
    if fmt == UNITS_FORMAT and isinstance(value, float) and not value.is_integer():
        return FRACTIONAL_UNITS_FORMAT
    return fmt


def _text_width(value: object, fmt: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime | date):
        return 10
    if isinstance(value, int | float) and fmt:
        decimals = 2 if "0.00" in fmt else 1 if "0.0" in fmt else 0
        text = f"{value:,.{decimals}f}" + (" " + fmt.split('"')[1] if '"' in fmt else "")
        return len(text) + (1 if fmt == RATE_FORMAT else 0)
    return len(str(value))


def format_sheet(sheet: Worksheet, currency: str, total_row: bool = False) -> None:
    """Number formats by column name (the header row), frozen header, filters over the data,
    widths fitted to header and contents; a total row in bold."""
    from openpyxl.styles import Alignment, Font

    headers = [c.value for c in sheet[1]]
    for index, name in enumerate(headers, start=1):
        fmt = number_format(str(name), currency)
        letter = get_column_letter(index)
        width = len(str(name))
        for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell = row[0]
            if fmt is not None and cell.value is not None:
                cell.number_format = _cell_format(fmt, cell.value)
            width = max(width, _text_width(cell.value, fmt))
        sheet.column_dimensions[letter].width = min(width + 2, MAX_WIDTH)
        if width > MAX_WIDTH:
            for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                row[0].alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    last_data = sheet.max_row - (1 if total_row else 0)
    if sheet.max_column and last_data >= 1:
        sheet.auto_filter.ref = f"A1:{get_column_letter(sheet.max_column)}{last_data}"
    if total_row and sheet.max_row > 1:
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
