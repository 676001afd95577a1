"""Cell formats of the purchasing workbook, so a buyer can send it as it is: dates as Excel
dates, units as whole numbers (an item sold in fractions, such as kilograms, keeps its decimals, so
the workbook shows what the CSV shows), money with 2 decimals and the currency, rates as percentages,
a frozen header row with filters, and column widths fitted to the contents."""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
from openpyxl.utils import get_column_letter

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


def _cell_values(series: pd.Series) -> list[object]:
    """Python values for cells, as pandas' Excel writer gives them: missing -> None, numbers as
    int or float, timestamps as datetimes."""
    values = series.astype(object).where(series.notna(), None).tolist()
    out = []
    for v in values:
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        elif hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalars
            v = v.item()
        out.append(v)
    return out


def write_sheet(book, title: str, frame: pd.DataFrame, currency: str, total_row: bool = False) -> None:
    """One sheet of a write-only (streamed) workbook: a bold header row, frozen, with filters
    over the data; number formats by column name, widths fitted to header and contents (wider
    text wraps inside :data:`MAX_WIDTH`); a total row in bold.

    Streaming writes each cell once (no worksheet tree to build and walk), a few times faster
    than formatting a pandas-written sheet cell by cell."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet(title)
    headers = [str(c) for c in frame.columns]
    formats = [number_format(h, currency) for h in headers]
    columns = [_cell_values(frame[c]) for c in frame.columns]
    widths = [max([len(h), *(_text_width(v, f) for v in col)]) for h, f, col in
              zip(headers, formats, columns, strict=True)]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    last_data = len(frame) + 1 - (1 if total_row and len(frame) else 0)
    if headers and last_data >= 1:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last_data}"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    sheet.append([_styled(WriteOnlyCell(sheet, value=h), font=bold) for h in headers])
    wraps = [w > MAX_WIDTH for w in widths]
    for r, row in enumerate(zip(*columns, strict=True) if columns else [], start=2):
        last = total_row and r == len(frame) + 1
        cells = []
        for value, fmt, wrapped in zip(row, formats, wraps, strict=True):
            if value is None and not (wrapped or last):
                cells.append(None)
                continue
            cell = WriteOnlyCell(sheet, value=value)
            if fmt is not None and value is not None:
                cell.number_format = _cell_format(fmt, value)
            _styled(cell, font=bold if last else None, alignment=wrap if wrapped else None)
            cells.append(cell)
        sheet.append(cells)


def _styled(cell, font=None, alignment=None):
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell
