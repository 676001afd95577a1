"""Cell formats of the purchasing workbook, so a buyer can send it as it is: dates as Excel
dates, units as whole numbers (an item sold in fractions, such as kilograms, keeps its decimals, so
the workbook shows what the CSV shows), money with 2 decimals and the currency, rates as percentages,
a frozen header row with filters, and column widths fitted to the contents."""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd

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
    """Python values for cells: missing -> None, numbers as int or float, timestamps as
    datetimes, dates as dates."""
    values = series.astype(object).where(series.notna(), None).tolist()
    out = []
    for v in values:
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        elif hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalars
            v = v.item()
        out.append(v)
    return out


def _column_width(header: str, values: list[object], fmt: str | None) -> int:
    """Characters the widest cell of a column needs (numbers: the largest and the smallest)."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    others = [v for v in values if v is not None and (isinstance(v, bool) or not isinstance(v, int | float))]
    probes = ([max(numbers), min(numbers)] if numbers else []) + others
    return max([len(header), *(_text_width(v, fmt) for v in probes)])


class _Formats:
    """The workbook's cell formats, one object per (number format, bold, wrap)."""

    def __init__(self, book) -> None:
        self.book, self.cache = book, {}

    def __call__(self, num_format: str | None = None, bold: bool = False, wrap: bool = False):
        key = (num_format, bold, wrap)
        if key not in self.cache:
            spec = {"num_format": num_format} if num_format else {}
            if bold:
                spec["bold"] = True
            if wrap:
                spec.update(text_wrap=True, valign="top")
            self.cache[key] = self.book.add_format(spec) if spec else None
        return self.cache[key]


def write_sheet(book, formats: _Formats, title: str, frame: pd.DataFrame, currency: str,
                total_row: bool = False) -> None:
    """One sheet of an XlsxWriter workbook: a bold header row, frozen, with filters over the
    data; number formats by column name, widths fitted to header and contents (wider text wraps
    inside :data:`MAX_WIDTH`); a total row in bold. Text is always written as text (never a
    formula, link or number)."""
    sheet = book.add_worksheet(title)
    headers = [str(c) for c in frame.columns]
    kinds = [number_format(h, currency) for h in headers]
    columns = [_cell_values(frame[c]) for c in frame.columns]
    widths = [_column_width(h, col, f) for h, col, f in zip(headers, columns, kinds, strict=True)]
    for index, width in enumerate(widths):
        sheet.set_column(index, index, min(width + 2, MAX_WIDTH))
    sheet.freeze_panes(1, 0)
    last_data = len(frame) - (1 if total_row and len(frame) else 0)
    if headers:
        sheet.autofilter(0, 0, max(last_data, 0), len(headers) - 1)
    for c, header in enumerate(headers):
        sheet.write_string(0, c, header, formats(bold=True))
    wraps = [w > MAX_WIDTH for w in widths]
    for r, row in enumerate(zip(*columns, strict=True) if columns else [], start=1):
        bold = total_row and r == len(frame)
        for c, value in enumerate(row):
            _write_cell(sheet, r, c, value, formats, kinds[c], bold, wraps[c])


def _write_cell(sheet, r: int, c: int, value: object, formats: _Formats, kind: str | None,
                bold: bool, wrap: bool) -> None:
    if value is None:
        if bold or wrap:
            sheet.write_blank(r, c, None, formats(None, bold, wrap))
        return
    num_format = _cell_format(kind, value) if kind is not None else None
    cell_format = formats(num_format, bold, wrap)
    if isinstance(value, bool):
        sheet.write_boolean(r, c, value, cell_format)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value, cell_format)
    elif isinstance(value, datetime):
        sheet.write_datetime(r, c, value, cell_format)
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime.combine(value, datetime.min.time()), cell_format)
    else:
        sheet.write_string(r, c, str(value), cell_format)


def workbook(path):
    """An XlsxWriter workbook at ``path`` that never turns text into formulas, links or numbers,
    and its shared cell formats."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False})
    return book, _Formats(book)
