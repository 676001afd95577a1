"""Text for the run report: cell formatters, the table model the templates draw, the template
environment.

The report's markup lives in ``templates/`` (Jinja2, autoescape on): every value reaches the HTML
escaped by the template engine, so the formatters here return plain text. A :class:`Table` is
what the ``table`` macro of ``templates/_macros.html.j2`` draws: headers, then rows of formatted
cells (numeric cells right-aligned) with an optional CSS class per row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import jinja2
import pandas as pd

Formatter = Callable[[object], str]
#: A table column: header, frame column, formatter of its values.
Column = tuple[str, str, Formatter]


def missing(value: object) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def finite(value: object) -> bool:
    return not missing(value) and math.isfinite(float(value))  # type: ignore[arg-type]


def text(value: object) -> str:
    return "–" if missing(value) else str(value)


def fmt_int(value: object) -> str:
    return "–" if missing(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def fmt_num(value: object) -> str:
    return "–" if missing(value) else f"{float(value):,.1f}"  # type: ignore[arg-type]


def fmt_money(value: object) -> str:
    return "–" if missing(value) else f"{float(value):,.2f}"  # type: ignore[arg-type]


def fmt_pct(value: object) -> str:
    return "–" if missing(value) else f"{float(value):.0%}"  # type: ignore[arg-type]


def fmt_change(value: object) -> str:
    """A demand multiplier as a change: 1.112 -> +11.2%."""
    return "–" if missing(value) else f"{float(value) - 1:+.1%}"  # type: ignore[arg-type]


def fmt_date(value: object) -> str:
    return "–" if missing(value) else f"{pd.Timestamp(value):%Y-%m-%d}"  # type: ignore[arg-type]


def fmt_time(value: object) -> str:
    return "–" if missing(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"  # type: ignore[arg-type]


NUMERIC_FORMATS = (fmt_int, fmt_num, fmt_money, fmt_pct, fmt_change)


def anchor(title: str) -> str:
    """The id of a section (and the link to it) from its title."""
    return title.lower().replace(" ", "-")


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


@dataclass(frozen=True)
class Row:
    cells: list[Cell]
    css: str


@dataclass(frozen=True)
class Table:
    """A frame as formatted text: no rows means the template says there is nothing to show."""

    headers: list[str]
    rows: list[Row]


def table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    row_class: Callable[[pd.Series], str] | None = None,
) -> Table:
    """The rows of ``frame`` formatted per column; ``row_class`` gives a row its CSS class."""
    if frame.empty:
        return Table([], [])
    numeric = {name for _, name, fmt in columns if fmt in NUMERIC_FORMATS}
    rows = []
    for _, row in frame.iterrows():
        css = row_class(row) if row_class else ""
        cells = [Cell(fmt(row[name]), name in numeric) for _, name, fmt in columns]
        rows.append(Row(cells, css))
    return Table([h for h, _, _ in columns], rows)


@cache
def environment() -> jinja2.Environment:
    """The report's templates (package data of ``forecast.publish``), autoescaped, with the
    formatters as filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forecast.publish", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        anchor=anchor,
        text=text,
        fmt_int=fmt_int,
        fmt_num=fmt_num,
        fmt_money=fmt_money,
        fmt_pct=fmt_pct,
        fmt_date=fmt_date,
        fmt_time=fmt_time,
    )
    return env
