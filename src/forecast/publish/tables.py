"""Terminal tables that fit: one renderer every ``forecast`` listing command calls.

A command names its columns (:class:`Col`: source column, header, kind, priority); the
renderer formats each cell by kind (dates as dates, numbers right-aligned with fixed decimals,
rates as percentages, nothing missing shown as None/NaN/NaT but as ``-``), keeps key columns
(``sku@location``) whole, and drops the columns of highest ``priority`` first until the table
fits the terminal width: a wider terminal shows more. ``--format csv`` / ``json`` write the
same columns unformatted for piping.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import pandas as pd
from rich.console import Console
from rich.table import Table

Kind = Literal["text", "key", "wrap", "int", "num", "pct", "date", "datetime", "signed"]
Format = Literal["table", "csv", "json"]
FORMATS: tuple[str, ...] = ("table", "csv", "json")
RIGHT = ("int", "num", "pct", "signed")
MISSING = "-"
#: Characters a column costs besides its text: rich's padding (1 each side) and a border.
COLUMN_OVERHEAD = 3
#: A wrapped text column (messages, explanations) is given at least this many characters.
WRAP_MIN = 24


@dataclass(frozen=True)
class Col:
    """A column of a terminal table.

    ``source``: the frame's column; ``kind``: how cells are written (``key``: kept whole, never
    wrapped; ``wrap``: long text folded over lines); ``decimals`` for ``num``, ``pct`` and
    ``signed``; ``priority``: 0 always shown, higher numbers are dropped first when the terminal
    is too narrow."""

    source: str
    header: str | None = None
    kind: Kind = "text"
    decimals: int = 0
    priority: int = 0

    @property
    def title(self) -> str:
        return self.header or self.source


def missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def cell(value: object, kind: Kind = "text", decimals: int = 0) -> str:
    """One value as table text; missing values (None, NaN, NaT) are ``-``."""
    if missing(value):
        return MISSING
    if kind in ("int", "num", "signed"):
        number = float(value)  # type: ignore[arg-type]
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        places = 0 if kind == "int" else decimals
        text = f"{number:{'+' if kind == 'signed' else ''},.{places}f}"
        return "0" if text in ("-0", "+0", "-0.0") and kind == "int" else text
    if kind == "pct":
        return f"{float(value):.{decimals}%}"  # type: ignore[arg-type]
    if kind == "date":
        return pd.Timestamp(value).date().isoformat()  # type: ignore[arg-type]
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[arg-type]
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def with_sku_at(frame: pd.DataFrame, name: str = "sku@location") -> pd.DataFrame:
    """The frame with a ``sku@location`` column (SKU and location in full, one key)."""
    if frame.empty:
        return frame.assign(**{name: pd.Series(dtype=str)})
    return frame.assign(**{name: frame["sku"].astype(str) + "@" + frame["location"].astype(str)})


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` when set), 100 when unknown."""
    return shutil.get_terminal_size((100, 24)).columns


def fit_columns(frame: pd.DataFrame, columns: Sequence[Col], width: int) -> list[Col]:
    """The columns that fit ``width``: drop the highest-priority ones (the last listed among
    equals) until the estimated table width fits; priority-0 columns always stay."""
    kept = [c for c in columns if c.source in frame.columns]
    texts = {c.source: [cell(v, c.kind, c.decimals) for v in frame[c.source]] for c in kept}

    def need(c: Col) -> int:
        longest = max((len(t) for t in texts[c.source]), default=0)
        words = max((len(w) for t in texts[c.source] for w in t.split()), default=0)
        text = min(max(longest, WRAP_MIN), max(words, WRAP_MIN)) if c.kind == "wrap" else longest
        return max(text, len(c.title) if c.kind != "wrap" else 4) + COLUMN_OVERHEAD

    while sum(need(c) for c in kept) + 1 > width:
        droppable = [c for c in kept if c.priority > 0]
        if not droppable:
            break
        worst = max(droppable, key=lambda c: (c.priority, kept.index(c)))
        kept.remove(worst)
    return kept


def rich_table(frame: pd.DataFrame, columns: Sequence[Col], title: str | None = None,
               width: int | None = None, caption: str | None = None) -> Table:
    """A rich table of ``frame`` with the columns that fit ``width``."""
    shown = fit_columns(frame, columns, width or terminal_width())
    table = Table(title=title, caption=caption, expand=False)
    for c in shown:
        whole = c.kind != "wrap"
        longest = max((len(cell(v, c.kind, c.decimals)) for v in frame[c.source]), default=0)
        table.add_column(
            c.title, justify="right" if c.kind in RIGHT else "left", no_wrap=whole,
            min_width=max(longest, 1) if c.kind == "key" else None,
            overflow="fold",
        )
    for row in frame[[c.source for c in shown]].itertuples(index=False):
        table.add_row(*(cell(v, c.kind, c.decimals) for v, c in zip(row, shown, strict=True)))
    return table


def _plain(value: object) -> object:
    if missing(value):
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    return value


def records(frame: pd.DataFrame, columns: Sequence[Col]) -> list[dict]:
    """Rows as JSON-ready dicts of the listed columns (missing = null, dates ISO)."""
    sources = [c.source for c in columns if c.source in frame.columns]
    return [{k: _plain(v) for k, v in zip(sources, row, strict=True)}
            for row in frame[sources].itertuples(index=False)]


def render(frame: pd.DataFrame, columns: Sequence[Col], fmt: str = "table", *, title: str | None = None,
           caption: str | None = None, console: Console | None = None, empty: str = "no rows") -> None:
    """Print ``frame`` as a table that fits the terminal, or as CSV / JSON on stdout."""
    if fmt == "json":
        sys.stdout.write(json.dumps(records(frame, columns), indent=1, default=str) + "\n")
        return
    if fmt == "csv":
        sources = [c.source for c in columns if c.source in frame.columns]
        frame[sources].to_csv(sys.stdout, index=False)
        return
    if fmt != "table":
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    width = terminal_width()
    out = console or Console(width=width)
    out.width = width  # the terminal's width now (a module-level console read it at import)
    if frame.empty:
        out.print(empty)
        return
    out.print(rich_table(frame, columns, title, width, caption))


def auto_columns(frame: pd.DataFrame, decimals: int = 3) -> list[Col]:
    """Columns inferred from the dtypes (first column the key; later ones dropped first): for
    frames whose columns vary (backtest metrics, replay rules)."""
    cols = []
    for i, name in enumerate(frame.columns):
        dtype = frame[name].dtype
        if i == 0:
            kind: Kind = "key"
        elif pd.api.types.is_bool_dtype(dtype):
            kind = "text"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "int"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "num"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "date"
        else:
            kind = "text"
        cols.append(Col(str(name), kind=kind, decimals=decimals, priority=i))
    return cols
